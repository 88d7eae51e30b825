#include "zk/socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

namespace zkarrow::zk {

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<PendingConnect> StartConnect(const HostPort& server) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  std::string port = std::to_string(server.port);
  if (int rc = ::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return Status::IoError("resolving " + server.ToString() + ": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(raw, &::freeaddrinfo);
  const addrinfo* address = addresses.get();
  PendingConnect pending;
  pending.fd = UniqueFd(
      ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!pending.fd.valid()) return Status::FromErrno(errno, "socket()");
  int one = 1;
  ::setsockopt(pending.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(pending.fd.get(), address->ai_addr, address->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return Status::FromErrno(errno, "connecting to " + server.ToString());
    pending.in_progress = true;
  }
  return pending;
}

Status FinishConnect(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
    return Status::FromErrno(errno, "getsockopt(SO_ERROR)");
  }
  if (error != 0) return Status::FromErrno(error, "connect");
  return Status::Ok();
}

Result<IoResult> ReadSome(int fd, std::span<uint8_t> buffer) {
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) return IoResult{static_cast<size_t>(n), false};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult{0, true};
    return Status::FromErrno(errno, "recv");
  }
}

Result<IoResult> WriteSome(int fd, std::span<const uint8_t> bytes) {
  for (;;) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) return IoResult{static_cast<size_t>(n), false};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult{0, true};
    return Status::FromErrno(errno, "send");
  }
}

Result<Waker> Waker::Create() {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "eventfd");
  return Waker(std::move(fd));
}

void Waker::Wake() const {
  uint64_t one = 1;
  // A full counter still wakes the poller, so a failed write needs no action.
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof(one));
}

void Waker::Drain() const {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(fd_.get(), &count, sizeof(count));
}

}  // namespace zkarrow::zk
