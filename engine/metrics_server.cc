#include "engine/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace eddy {
namespace {

// The most a request's head may take, and how long a client may take to
// send it.
constexpr size_t kMaxRequestBytes = 8192;
constexpr int kRequestDeadlineMs = 2000;

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    // Whole numbers (counters) as integers: 100000, not 1e+05.
    absl::StrAppend(&out, static_cast<int64_t>(v));
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
    out.append(buf, r.ptr);
  }
}

void AppendLabelValue(std::string& out, absl::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '"': out.append("\\\""); break;
      case '\n': out.append("\\n"); break;
      default: out.push_back(c);
    }
  }
}

void SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away: nothing to do
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void Respond(int fd, int code, absl::string_view reason, absl::string_view content_type,
             absl::string_view body, bool head) {
  std::string response =
      absl::StrCat("HTTP/1.1 ", code, " ", reason, "\r\nContent-Type: ", content_type,
                   "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n");
  if (code == 405) response.append("Allow: GET, HEAD\r\n");
  response.append("\r\n");
  if (!head) response.append(body.data(), body.size());
  SendAll(fd, response);
}

}  // namespace

void PrometheusText::Sample(absl::string_view name, absl::string_view help, absl::string_view type,
                            const Labels& labels, double value) {
  if (family_ != name) {
    family_ = std::string(name);
    absl::StrAppend(&text_, "# HELP ", name, " ");
    for (char c : help) {  // the format's HELP escapes
      if (c == '\\') {
        text_.append("\\\\");
      } else if (c == '\n') {
        text_.append("\\n");
      } else {
        text_.push_back(c);
      }
    }
    absl::StrAppend(&text_, "\n# TYPE ", name, " ", type, "\n");
  }
  text_.append(name.data(), name.size());
  if (!labels.empty()) {
    text_.push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_.push_back(',');
      absl::StrAppend(&text_, labels[i].first, "=\"");
      AppendLabelValue(text_, labels[i].second);
      text_.push_back('"');
    }
    text_.push_back('}');
  }
  text_.push_back(' ');
  AppendValue(text_, value);
  text_.push_back('\n');
}

PrometheusText& PrometheusText::Counter(absl::string_view name, absl::string_view help,
                                        const Labels& labels, double value) {
  Sample(name, help, "counter", labels, value);
  return *this;
}

PrometheusText& PrometheusText::Gauge(absl::string_view name, absl::string_view help,
                                      const Labels& labels, double value) {
  Sample(name, help, "gauge", labels, value);
  return *this;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                   Render metrics, Check health) {
  std::string host = "0.0.0.0";
  std::string port_text = address;
  const size_t colon = address.rfind(':');
  if (colon != std::string::npos) {
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
  }
  int port = 0;
  in_addr ip{};
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535 ||
      inet_pton(AF_INET, host.c_str(), &ip) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-port '", address, "': expected PORT or HOST:PORT (HOST an IPv4 address)"));
  }
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->metrics_ = std::move(metrics);
  server->health_ = std::move(health);
  server->host_ = host;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("metrics: socket: ", std::strerror(errno)));
  server->listen_fd_ = fd;  // closed by the destructor from here on
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr = ip;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 16) != 0) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-port ", address, ": cannot listen: ", std::strerror(errno)));
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  server->port_ = ntohs(sa.sin_port);
  if (pipe2(server->wake_, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("metrics: pipe: ", std::strerror(errno)));
  }
  MetricsServer* s = server.get();
  server->thread_ = std::thread([s] { s->Serve(); });
  return server;
}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    const char c = 0;
    while (write(wake_[1], &c, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

std::string MetricsServer::url() const {
  return absl::StrCat("http://", host_ == "0.0.0.0" ? "127.0.0.1" : host_, ":", port_);
}

void MetricsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client =
        (fds[0].revents & POLLIN) != 0 ? accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC) : -1;
    if (client < 0) {
      // Out of descriptors, or the socket in error: do not spin on it.
      if (errno != EINTR && errno != ECONNABORTED) {
        pollfd wake = {wake_[0], POLLIN, 0};
        if (poll(&wake, 1, 100) > 0) return;
      }
      continue;
    }
    // A client that stops reading cannot hold the thread (and the run's
    // shutdown, which joins it) for longer than the request deadline.
    const timeval send_deadline = {kRequestDeadlineMs / 1000, 0};
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_deadline, sizeof(send_deadline));
    Answer(client);
    close(client);
  }
}

void MetricsServer::Answer(int fd) {
  // The request's head, up to its blank line (a body, if any, is ignored).
  std::string request;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestDeadlineMs);
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return;  // too slow: dropped without an answer
    pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    char buf[1024];
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the client closed: answer what came, if a line did
    request.append(buf, static_cast<size_t>(n));
    if (request.size() > kMaxRequestBytes) {
      Respond(fd, 431, "Request Header Fields Too Large", "text/plain", "request too large\n", false);
      return;
    }
  }
  const std::string line = request.substr(0, request.find_first_of("\r\n"));
  const std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
  if (parts.size() != 3 || parts[2].rfind("HTTP/", 0) != 0) {
    Respond(fd, 400, "Bad Request", "text/plain", "bad request\n", false);
    return;
  }
  const bool head = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head) {
    Respond(fd, 405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", false);
    return;
  }
  const std::string path = parts[1].substr(0, parts[1].find('?'));
  if (path == "/metrics") {
    Respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics_(), head);
  } else if (path == "/healthz") {
    const Health h = health_();
    Respond(fd, h.ok ? 200 : 503, h.ok ? "OK" : "Service Unavailable", "text/plain; charset=utf-8",
            h.reason + "\n", head);
  } else {
    Respond(fd, 404, "Not Found", "text/plain", "not found (try /metrics or /healthz)\n", head);
  }
}

}  // namespace eddy
