#include "arrow/io.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <string>

namespace zkarrow::arrow {
namespace {

// Reads of unknown-size input grow by at most this much at a time.
constexpr int64_t kReadChunk = int64_t{1} << 20;

Result<int> OpenFd(const std::filesystem::path& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path.string());
  return fd;
}

// Owns an mmap'ed region; the Buffer returned by MapFile keeps it alive.
class Mapping {
 public:
  Mapping(void* address, size_t length) : address_(address), length_(length) {}
  ~Mapping() { ::munmap(address_, length_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const uint8_t* data() const { return static_cast<const uint8_t*>(address_); }

 private:
  void* address_;
  size_t length_;
};

}  // namespace

OutputStream::~OutputStream() = default;
Status OutputStream::Flush() { return Status::Ok(); }

Result<std::unique_ptr<FileOutputStream>> FileOutputStream::Open(
    const std::filesystem::path& path) {
  ZKA_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  return std::unique_ptr<FileOutputStream>(new FileOutputStream(fd, true));
}

std::unique_ptr<FileOutputStream> FileOutputStream::FromFd(int fd) {
  return std::unique_ptr<FileOutputStream>(new FileOutputStream(fd, false));
}

FileOutputStream::~FileOutputStream() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void FileOutputStream::SetCancelCheck(std::function<bool()> cancelled) {
  cancelled_ = std::move(cancelled);
  last_taken_ = std::chrono::steady_clock::now();
  struct stat info {};
  stream_fd_ = ::fstat(fd_, &info) == 0 && (S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode));
}

bool PipeReaderClosed(int fd) {
  // A pipe without a reader polls as POLLERR, whatever the events asked.
  struct pollfd output = {.fd = fd, .events = 0, .revents = 0};
  return ::poll(&output, 1, 0) > 0 && (output.revents & POLLERR) != 0;
}

Status FileOutputStream::CheckReader() const {
  if (!stream_fd_ || fd_ < 0 || !PipeReaderClosed(fd_)) return Status::Ok();
  return Status::FromErrno(EPIPE, "write: the reader closed the pipe");
}

Result<size_t> FileOutputStream::WaitForRoom(size_t wanted) {
  while (true) {
    struct pollfd writable = {.fd = fd_, .events = POLLOUT, .revents = 0};
    const int ready = ::poll(&writable, 1, kWriteCancelPollIntervalMs);
    if (ready > 0) {
      // POLLERR/POLLHUP too: the write() that follows reports the error.
      // POLLOUT on a pipe means a free page at least, which PIPE_BUF fits.
      return stream_fd_ ? std::min(wanted, size_t{PIPE_BUF}) : wanted;
    }
    if (ready < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
    // A reader that pauses between reads is slow, not gone: only one that
    // has taken nothing for kWriteStallBeforeCancel is given up on.
    if (ready == 0 && cancelled_() &&
        std::chrono::steady_clock::now() - last_taken_ >= kWriteStallBeforeCancel) {
      return Status::Cancelled("stopped while the output took no bytes (its reader not reading); " +
                               std::to_string(wanted) + " bytes were not written");
    }
  }
}

Status FileOutputStream::Write(std::span<const uint8_t> bytes) {
  if (fd_ < 0) return Status::InvalidArgument("write to a closed file");
  while (!bytes.empty()) {
    size_t chunk = bytes.size();
    if (cancelled_) {
      ZKA_ASSIGN_OR_RETURN(chunk, WaitForRoom(chunk));
    }
    ssize_t n = ::write(fd_, bytes.data(), chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return Status::FromErrno(errno, "write: the reader closed the pipe");
      return Status::FromErrno(errno, "write");
    }
    if (n > 0) last_taken_ = std::chrono::steady_clock::now();
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FileOutputStream::Close() {
  if (!owns_fd_ || fd_ < 0) return Status::Ok();
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Status::FromErrno(errno, "close");
  return Status::Ok();
}

Status BufferOutputStream::Write(std::span<const uint8_t> bytes) {
  bytes_.Append(bytes.data(), static_cast<int64_t>(bytes.size()));
  return Status::Ok();
}

InputStream::~InputStream() = default;

Result<std::shared_ptr<const Buffer>> InputStream::ReadBuffer(int64_t length) {
  if (length < 0) return Status::InvalidArgument("negative read length");
  BufferBuilder builder;
  while (builder.size() < length) {
    int64_t want = std::min(length - builder.size(), std::max(kReadChunk, builder.size()));
    builder.Reserve(want);
    ZKA_ASSIGN_OR_RETURN(int64_t got, ReadFully(*this, {builder.mutable_data() + builder.size(),
                                                        static_cast<size_t>(want)}));
    builder.UnsafeAdvance(got);
    if (got < want) break;
  }
  return builder.Finish();
}

Result<int64_t> ReadFully(InputStream& in, std::span<uint8_t> out) {
  int64_t total = 0;
  while (!out.empty()) {
    ZKA_ASSIGN_OR_RETURN(int64_t n, in.Read(out));
    if (n == 0) break;
    total += n;
    out = out.subspan(static_cast<size_t>(n));
  }
  return total;
}

Result<std::unique_ptr<FileInputStream>> FileInputStream::Open(const std::filesystem::path& path) {
  ZKA_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_RDONLY));
  return std::unique_ptr<FileInputStream>(new FileInputStream(fd, true));
}

std::unique_ptr<FileInputStream> FileInputStream::FromFd(int fd) {
  return std::unique_ptr<FileInputStream>(new FileInputStream(fd, false));
}

FileInputStream::~FileInputStream() {
  if (owns_fd_) ::close(fd_);
}

Result<int64_t> FileInputStream::Read(std::span<uint8_t> out) {
  while (true) {
    ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) return static_cast<int64_t>(n);
    if (errno != EINTR) return Status::FromErrno(errno, "read");
  }
}

Result<int64_t> BufferInputStream::Read(std::span<uint8_t> out) {
  int64_t n = std::min(static_cast<int64_t>(out.size()), source_->size() - position_);
  if (n > 0) std::memcpy(out.data(), source_->data() + position_, static_cast<size_t>(n));
  position_ += n;
  return n;
}

Result<std::shared_ptr<const Buffer>> BufferInputStream::ReadBuffer(int64_t length) {
  if (length < 0) return Status::InvalidArgument("negative read length");
  int64_t n = std::min(length, source_->size() - position_);
  auto slice = source_->Slice(position_, n);
  position_ += n;
  return slice;
}

Result<std::shared_ptr<const Buffer>> MapFile(const std::filesystem::path& path) {
  ZKA_ASSIGN_OR_RETURN(int fd, OpenFd(path, O_RDONLY));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    Status status = Status::FromErrno(errno, "stat " + path.string());
    ::close(fd);
    return status;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path.string() + " is not a regular file and cannot be mapped");
  }
  if (info.st_size == 0) {
    ::close(fd);
    return Buffer::Zeroed(0);
  }
  size_t length = static_cast<size_t>(info.st_size);
  void* address = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);  // the mapping stays valid without the descriptor
  if (address == MAP_FAILED) return Status::FromErrno(map_errno, "mmap " + path.string());
  auto mapping = std::make_shared<const Mapping>(address, length);
  const uint8_t* data = mapping->data();
  return std::make_shared<const Buffer>(data, static_cast<int64_t>(length), std::move(mapping));
}

Result<std::shared_ptr<const Buffer>> ReadAll(InputStream& in) {
  return in.ReadBuffer(std::numeric_limits<int64_t>::max());
}

}  // namespace zkarrow::arrow
