// Byte sinks and sources for the IPC layer: files and file descriptors
// (stdin/stdout included), in-memory bytes, and read-only memory maps.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "arrow/buffer.h"
#include "base/status.h"

namespace zkarrow::arrow {

class OutputStream {
 public:
  virtual ~OutputStream();
  // Writes all of `bytes` or fails.
  virtual Status Write(std::span<const uint8_t> bytes) = 0;
  virtual Status Flush();
};

// True when `fd` is a pipe whose reader has closed it (poll says POLLERR),
// which otherwise only a write would tell (EPIPE; SIGPIPE ignored).
bool PipeReaderClosed(int fd);

// Writes to a file descriptor; owns (and closes) it only when opened by path.
class FileOutputStream final : public OutputStream {
 public:
  // Creates or truncates `path`.
  static Result<std::unique_ptr<FileOutputStream>> Open(const std::filesystem::path& path);
  // Wraps a descriptor the caller keeps owning, e.g. STDOUT_FILENO.
  static std::unique_ptr<FileOutputStream> FromFd(int fd);
  ~FileOutputStream() override;

  // Fails with kIoError on EPIPE (the reader closed the pipe; the process
  // must ignore SIGPIPE to see it), and with kCancelled when the cancel
  // check said so.
  Status Write(std::span<const uint8_t> bytes) override;
  // Reports close() errors, which a destructor would have to swallow.
  Status Close();

  // Makes writes cancellable: while the descriptor takes no bytes (a pipe
  // whose reader stopped reading), `cancelled` is asked every
  // kWriteCancelPollIntervalMs, and true ends the write with kCancelled
  // once the descriptor has taken no bytes for kWriteStallBeforeCancel: a
  // reader that reads slowly, pausing between reads, still gets everything.
  // Pipes and sockets are then written at most PIPE_BUF bytes at a time
  // once poll() says they take bytes, so that no write() blocks on them.
  void SetCancelCheck(std::function<bool()> cancelled);
  // For a pipe or socket (once a cancel check is set): kIoError, worded as
  // Write's on EPIPE, when its reader has closed it. A writer with nothing
  // to write (a quiet change stream) learns it here, not at its next
  // write, which may never come.
  Status CheckReader() const;

 private:
  FileOutputStream(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {}
  // The bytes the next write() may take without blocking, waiting for room.
  Result<size_t> WaitForRoom(size_t wanted);

  int fd_;
  bool owns_fd_;
  std::function<bool()> cancelled_;
  bool stream_fd_ = false;  // a pipe or socket, with a cancel check
  // When the descriptor last took bytes (or the cancel check was set).
  std::chrono::steady_clock::time_point last_taken_;
};

// How often a write blocked on its descriptor asks its cancel check.
inline constexpr int kWriteCancelPollIntervalMs = 50;
// How long a cancelled write still waits for a descriptor that takes no
// bytes: longer than a reader's pause between reads, short enough for a
// stop to end a run whose reader stopped reading.
inline constexpr std::chrono::milliseconds kWriteStallBeforeCancel{1000};

// Forwards to `sink`, counting the bytes it was given.
class CountingOutputStream final : public OutputStream {
 public:
  explicit CountingOutputStream(OutputStream& sink) : sink_(sink) {}
  Status Write(std::span<const uint8_t> bytes) override {
    count_ += static_cast<int64_t>(bytes.size());
    return sink_.Write(bytes);
  }
  Status Flush() override { return sink_.Flush(); }
  int64_t count() const { return count_; }

 private:
  OutputStream& sink_;
  int64_t count_ = 0;
};

// Collects everything written in memory.
class BufferOutputStream final : public OutputStream {
 public:
  Status Write(std::span<const uint8_t> bytes) override;
  std::span<const uint8_t> bytes() const {
    return {bytes_.data(), static_cast<size_t>(bytes_.size())};
  }
  // Hands the collected bytes over as a 64-byte aligned Buffer, without
  // copying them, and resets.
  std::shared_ptr<const Buffer> Finish() { return bytes_.Finish(); }

 private:
  BufferBuilder bytes_;
};

class InputStream {
 public:
  virtual ~InputStream();
  // Reads up to out.size() bytes; returns how many were read, 0 only at end of input.
  virtual Result<int64_t> Read(std::span<uint8_t> out) = 0;
  // Reads up to `length` bytes (fewer only at end of input) into a Buffer.
  // The default grows its allocation as bytes actually arrive, so a bogus
  // length from untrusted input never allocates more than the input holds;
  // byte-backed streams override it to return zero-copy slices.
  virtual Result<std::shared_ptr<const Buffer>> ReadBuffer(int64_t length);
};

// Reads until `out` is full or the input ends; returns the number of bytes read.
Result<int64_t> ReadFully(InputStream& in, std::span<uint8_t> out);

// Reads from a file descriptor; owns (and closes) it only when opened by path.
class FileInputStream final : public InputStream {
 public:
  static Result<std::unique_ptr<FileInputStream>> Open(const std::filesystem::path& path);
  // Wraps a descriptor the caller keeps owning, e.g. STDIN_FILENO.
  static std::unique_ptr<FileInputStream> FromFd(int fd);
  ~FileInputStream() override;

  Result<int64_t> Read(std::span<uint8_t> out) override;

 private:
  FileInputStream(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {}
  int fd_;
  bool owns_fd_;
};

// Reads from bytes already in memory; ReadBuffer() returns slices of them.
class BufferInputStream final : public InputStream {
 public:
  explicit BufferInputStream(std::shared_ptr<const Buffer> source) : source_(std::move(source)) {}
  // Copies `bytes` (convenient in tests and fuzzers).
  explicit BufferInputStream(std::span<const uint8_t> bytes) : source_(Buffer::CopyOf(bytes)) {}

  Result<int64_t> Read(std::span<uint8_t> out) override;
  Result<std::shared_ptr<const Buffer>> ReadBuffer(int64_t length) override;

 private:
  std::shared_ptr<const Buffer> source_;
  int64_t position_ = 0;
};

// Maps `path` read-only. The mapping lives as long as the returned Buffer or
// any slice of it. An empty file gives an empty buffer.
Result<std::shared_ptr<const Buffer>> MapFile(const std::filesystem::path& path);

// Reads a whole descriptor (e.g. a pipe that cannot be mapped) into memory.
Result<std::shared_ptr<const Buffer>> ReadAll(InputStream& in);

}  // namespace zkarrow::arrow
