// A bare HTTP/1.0 client for tests of the metrics endpoint: what a
// Prometheus scrape or `curl` does, on loopback.
#ifndef EDDY_TESTS_TESTING_HTTP_H_
#define EDDY_TESTS_TESTING_HTTP_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace eddy::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer
  std::string body;
};

// Sends `request` (a whole request head, e.g. "GET /metrics HTTP/1.0\r\n\r\n")
// to 127.0.0.1:`port` and reads the answer to its end.
inline HttpResponse HttpExchange(int port, const std::string& request) {
  HttpResponse out;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return out;
  }
  for (size_t at = 0; at < request.size();) {
    const ssize_t n = send(fd, request.data() + at, request.size() - at, MSG_NOSIGNAL);
    if (n <= 0) break;
    at += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return out;
  out.status = std::stoi(raw.substr(9, 3));
  const size_t body = raw.find("\r\n\r\n");
  if (body != std::string::npos) out.body = raw.substr(body + 4);
  return out;
}

inline HttpResponse HttpGet(int port, const std::string& path) {
  return HttpExchange(port, "GET " + path + " HTTP/1.0\r\n\r\n");
}

// The value of the sample `series` (name with its labels, as written, e.g.
// `eddy_sink_records_total{job="ctr",sink="predictions"}`) in a Prometheus
// text page; -1 if absent.
inline double PrometheusValue(const std::string& page, const std::string& series) {
  size_t at = 0;
  while ((at = page.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') {
      return std::stod(page.substr(at + series.size() + 1));
    }
    at += series.size();
  }
  return -1;
}

}  // namespace eddy::testing

#endif  // EDDY_TESTS_TESTING_HTTP_H_
