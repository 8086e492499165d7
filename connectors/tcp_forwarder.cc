#include "connectors/tcp_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace eddy {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Copies bytes both ways until either side closes or `stop` is set.
void Pump(int a, int b, const std::atomic<bool>* stop) {
  char buf[64 * 1024];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (!stop->load()) {
    const int n = ::poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) break;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got <= 0) {
        closed = true;
        break;
      }
      const int to = fds[1 - i].fd;
      for (ssize_t sent = 0; sent < got;) {
        const ssize_t w = ::write(to, buf + sent, static_cast<size_t>(got - sent));
        if (w <= 0) {
          closed = true;
          break;
        }
        sent += w;
      }
    }
    if (closed) break;
  }
  ::close(a);
  ::close(b);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpForwarder>> TcpForwarder::Start(int port, int target_port) {
  if (port < 1 || port > 65535) return absl::InvalidArgumentError(absl::StrCat("bad port ", port));
  std::unique_ptr<TcpForwarder> f(new TcpForwarder());
  f->target_port_ = target_port;
  f->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (f->listen_fd_ < 0) return absl::UnavailableError(std::strerror(errno));
  const int one = 1;
  ::setsockopt(f->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(port);
  if (::bind(f->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(f->listen_fd_, 64) != 0) {
    const int err = errno;
    ::close(f->listen_fd_);
    f->listen_fd_ = -1;
    return absl::UnavailableError(absl::StrCat("cannot listen on 127.0.0.1:", port, ": ",
                                               std::strerror(err)));
  }
  f->acceptor_ = std::thread([raw = f.get()] { raw->AcceptLoop(); });
  return f;
}

void TcpForwarder::AcceptLoop() {
  while (!stop_.load()) {
    pollfd pfd = {listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (upstream < 0 ||
        ::connect(upstream, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      if (upstream >= 0) ::close(upstream);
      ::close(client);
      continue;
    }
    pumps_.emplace_back(Pump, client, upstream, &stop_);
  }
}

TcpForwarder::~TcpForwarder() {
  stop_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& t : pumps_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

}  // namespace eddy
