// The operator's window into a running job: Prometheus metrics and a health
// check over plain HTTP (`eddy run --metrics-port P`).
//
//   GET /metrics  the Prometheus text exposition format (version 0.0.4)
//   GET /healthz  200 and a one-line reason while healthy, 503 otherwise
//
// Anything else is 404 (another path) or 405 (another method). Every response
// closes its connection. One connection is served at a time, each with a
// read deadline, so a stuck client delays a scrape by at most that long and
// never blocks the job: the job only publishes snapshots (see live.cc).
//
// Example:
//   auto server = MetricsServer::Start("127.0.0.1:0", [] {
//     PrometheusText text;
//     text.Counter("eddy_records_read_total", "Records read", {}, 42);
//     return text.Take();
//   }, [] { return MetricsServer::Health{true, "ok"}; });
//   // (*server)->port() is the port chosen.
#ifndef EDDY_ENGINE_METRICS_SERVER_H_
#define EDDY_ENGINE_METRICS_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace eddy {

// Builds a Prometheus text-format page. Each metric family is written once
// with its HELP and TYPE lines, then its samples; label values are escaped
// (backslash, double quote, newline) as the format requires. Families must
// be added whole (all samples of one name together).
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  PrometheusText& Counter(absl::string_view name, absl::string_view help, const Labels& labels,
                          double value);
  PrometheusText& Gauge(absl::string_view name, absl::string_view help, const Labels& labels,
                        double value);
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  void Sample(absl::string_view name, absl::string_view help, absl::string_view type,
              const Labels& labels, double value);
  std::string text_;
  std::string family_;  // the name whose HELP/TYPE were written last
};

class MetricsServer {
 public:
  struct Health {
    bool ok = true;
    std::string reason;  // one line: "ok", "stalled: no batch for 75 s", ...
  };
  // Called on the server's thread, once per request: must be thread-safe
  // with respect to whatever they read.
  using Render = std::function<std::string()>;
  using Check = std::function<Health()>;

  // Listens on `address`: "PORT" (every interface) or "HOST:PORT" (HOST a
  // numeric IPv4 address, e.g. 127.0.0.1); port 0 picks a free one.
  // Errors: InvalidArgument for a malformed address, Unavailable when the
  // address cannot be bound (in use, not local).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              Render metrics, Check health);
  // Stops serving (waits for a request in progress to finish).
  ~MetricsServer();

  int port() const { return port_; }
  // "http://HOST:PORT" (HOST 127.0.0.1 when listening on every interface).
  std::string url() const;

 private:
  MetricsServer() = default;
  void Serve();
  void Answer(int fd);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: written to stop the thread
  int port_ = 0;
  std::string host_;
  Render metrics_;
  Check health_;
  std::thread thread_;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_METRICS_SERVER_H_
