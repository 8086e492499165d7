// Forwards TCP connections from a fixed loopback port to another address.
//
// `eddy broker --port P` uses it: librdkafka's mock cluster binds its brokers
// to ports of its own choosing, so a client bootstraps through P and is then
// told (in Kafka metadata) the brokers' real loopback addresses.
//
// Thread-safety: one accept thread plus one thread per connection; Start and
// the destructor from one thread.
#ifndef EDDY_CONNECTORS_TCP_FORWARDER_H_
#define EDDY_CONNECTORS_TCP_FORWARDER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace eddy {

class TcpForwarder {
 public:
  // Listens on 127.0.0.1:`port` and forwards each connection to
  // 127.0.0.1:`target_port`. Errors: the port is taken or invalid.
  static absl::StatusOr<std::unique_ptr<TcpForwarder>> Start(int port, int target_port);
  ~TcpForwarder();  // stops accepting and closes every connection

 private:
  TcpForwarder() = default;
  void AcceptLoop();

  int listen_fd_ = -1;
  int target_port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // touched by the accept thread only
};

}  // namespace eddy

#endif  // EDDY_CONNECTORS_TCP_FORWARDER_H_
