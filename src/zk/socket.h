// The few POSIX socket pieces the I/O thread needs, as RAII values: an owned
// file descriptor, a non-blocking TCP connect, and an eventfd that wakes the
// thread out of poll().
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "base/status.h"
#include "zk/connect_string.h"

namespace zkarrow::zk {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

struct PendingConnect {
  UniqueFd fd;
  bool in_progress = false;  // wait for POLLOUT, then FinishConnect
};

// Resolves `server` and starts a non-blocking connect to its first address.
Result<PendingConnect> StartConnect(const HostPort& server);
// The outcome of a connect that reported POLLOUT.
Status FinishConnect(int fd);

// Reads what is available; 0 bytes read means the peer closed. EAGAIN is
// reported as kOk with `would_block`.
struct IoResult {
  size_t bytes = 0;
  bool would_block = false;
};
Result<IoResult> ReadSome(int fd, std::span<uint8_t> buffer);
Result<IoResult> WriteSome(int fd, std::span<const uint8_t> bytes);

// Wakes a thread blocked in poll() on fd().
class Waker {
 public:
  static Result<Waker> Create();
  void Wake() const;
  void Drain() const;
  int fd() const { return fd_.get(); }

 private:
  explicit Waker(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace zkarrow::zk
