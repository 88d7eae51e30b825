#include "cli/output_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "base/huge_pages.h"
#include "cli/report.h"

namespace zkarrow::cli {
namespace {

// Names the file the user gave (or stdout) in a failed write's error: the
// data may be in a file with no name, or another name, yet.
class NamingStream final : public arrow::OutputStream {
 public:
  NamingStream(std::unique_ptr<arrow::OutputStream> sink, std::string name)
      : sink_(std::move(sink)), name_(std::move(name)) {}
  Status Write(std::span<const uint8_t> bytes) override { return Named(sink_->Write(bytes)); }
  Status Flush() override { return Named(sink_->Flush()); }

 private:
  Status Named(Status status) const { return status.ok() ? status : status.WithContext(name_); }

  const std::unique_ptr<arrow::OutputStream> sink_;
  const std::string name_;
};

// Writes `size` bytes at `offset`. A file system that accepted O_DIRECT but
// refuses a write with it (EINVAL) gets this and later writes through the
// page cache.
Status WriteAt(int fd, const uint8_t* data, size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int flags = errno == EINVAL ? ::fcntl(fd, F_GETFL) : -1;
      if (flags >= 0 && (flags & O_DIRECT) != 0 && ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0) {
        continue;
      }
      return Status::FromErrno(errno, "write");
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

// A regular file written with O_DIRECT. Bytes gather in aligned chunks; a
// full chunk is queued for a writer thread and the next one fills. A record
// batch's bytes come in a burst faster than the disk takes them, so up to
// kMaxChunks can wait (allocated only as the queue first needs them) and
// the writer drains them while the next batch is built; with two chunks the
// caller waited for the disk at every batch. Flush writes the partial last
// chunk padded to whole blocks and truncates the file to its length; the
// tail stays in the chunk, so more bytes after a Flush rewrite its block.
class DirectFileStream final : public arrow::OutputStream {
 public:
  // Offsets, lengths and addresses aligned to this suit every logical block
  // size in use (512 and 4096).
  static constexpr size_t kBlock = 4096;
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kMaxChunks = 8;

  // Null when the file system refuses O_DIRECT.
  static std::unique_ptr<DirectFileStream> Open(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return nullptr;
    return std::unique_ptr<DirectFileStream>(new DirectFileStream(fd));
  }
  ~DirectFileStream() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    writer_.join();  // after the write in progress, if any
  }
  DirectFileStream(const DirectFileStream&) = delete;
  DirectFileStream& operator=(const DirectFileStream&) = delete;

  Status Write(std::span<const uint8_t> bytes) override {
    while (!bytes.empty()) {
      const size_t n = std::min(bytes.size(), kChunkBytes - filled_);
      std::memcpy(current_ + filled_, bytes.data(), n);
      filled_ += n;
      bytes = bytes.subspan(n);
      if (filled_ == kChunkBytes) ZKA_RETURN_IF_ERROR(Submit());
    }
    return Status::Ok();
  }

  Status Flush() override {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return queued_.empty(); });
      if (!error_.ok()) return error_;
    }
    if (filled_ == 0) return Status::Ok();
    const size_t padded = (filled_ + kBlock - 1) / kBlock * kBlock;
    std::memset(current_ + filled_, 0, padded - filled_);
    ZKA_RETURN_IF_ERROR(WriteAt(fd_, current_, padded, offset_));
    if (::ftruncate(fd_, offset_ + static_cast<off_t>(filled_)) != 0) {
      return Status::FromErrno(errno, "truncate");
    }
    return Status::Ok();
  }

 private:
  // Owned, so that an allocation that throws frees the chunks before it.
  struct FreeChunk {
    void operator()(uint8_t* chunk) const { FreeHugePages(chunk, kChunkBytes); }
  };
  using Chunk = std::unique_ptr<uint8_t, FreeChunk>;
  struct Queued {
    uint8_t* chunk;
    off_t offset;
  };

  explicit DirectFileStream(int fd) : fd_(fd) {
    chunks_.reserve(kMaxChunks);  // so that adding one never throws after allocating it
    current_ = NewChunk();
    writer_ = std::thread([this] { WriteQueued(); });
  }

  uint8_t* NewChunk() {
    chunks_.emplace_back(static_cast<uint8_t*>(AllocateHugePages(kChunkBytes)));
    return chunks_.back().get();
  }

  // Queues the full chunk and continues in a free one, a new one, or the
  // first one the writer frees.
  Status Submit() {
    std::unique_lock lock(mutex_);
    if (!error_.ok()) return error_;
    queued_.push_back({current_, offset_});
    changed_.notify_all();
    offset_ += static_cast<off_t>(kChunkBytes);
    filled_ = 0;
    if (free_.empty() && chunks_.size() < kMaxChunks) {
      current_ = NewChunk();
      return Status::Ok();
    }
    changed_.wait(lock, [&] { return !free_.empty() || !error_.ok(); });
    if (!error_.ok()) return error_;
    current_ = free_.back();
    free_.pop_back();
    return Status::Ok();
  }

  // The writer thread: writes queued chunks in order until stopped; after a
  // failed write it only frees them (Submit and Flush report the error).
  void WriteQueued() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stop_ || !queued_.empty(); });
      if (stop_) return;
      const Queued next = queued_.front();
      const bool failed = !error_.ok();
      lock.unlock();
      Status written = failed ? Status::Ok() : WriteAt(fd_, next.chunk, kChunkBytes, next.offset);
      lock.lock();
      if (!written.ok()) error_ = std::move(written);
      queued_.pop_front();
      free_.push_back(next.chunk);
      changed_.notify_all();
    }
  }

  const int fd_;
  std::vector<Chunk> chunks_;   // every chunk allocated
  uint8_t* current_ = nullptr;  // the chunk being filled
  size_t filled_ = 0;           // bytes in it
  off_t offset_ = 0;            // where it goes in the file
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Queued> queued_;  // full chunks in file order, the front one being written
  std::vector<uint8_t*> free_;
  Status error_;  // the first failed write
  bool stop_ = false;
  std::thread writer_;  // last: started when the rest is ready
};

// The named temporary file of the fallback path, for the signal handler. A
// process writes one output at a time, so one slot is enough; the handler
// only reads it and calls unlink(), which is async-signal-safe.
char g_temp_path[4096];
std::atomic<bool> g_temp_path_set{false};

extern "C" void UnlinkTempAndDie(int signal_number) {
  if (g_temp_path_set.load()) ::unlink(g_temp_path);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void RegisterTempPath(const std::filesystem::path& path) {
  const std::string& text = path.native();
  if (text.size() >= sizeof(g_temp_path)) return;  // open() would have refused it
  std::memcpy(g_temp_path, text.c_str(), text.size() + 1);
  g_temp_path_set.store(true);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    struct sigaction action {};
    action.sa_handler = UnlinkTempAndDie;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    // A command that handles its own signals (watch) keeps its handler.
    struct sigaction previous {};
    if (::sigaction(signal_number, nullptr, &previous) == 0 && previous.sa_handler == SIG_DFL) {
      ::sigaction(signal_number, &action, nullptr);
    }
  }
}

void UnregisterTempPath() { g_temp_path_set.store(false); }

// 0666 less the umask. Read from /proc (Linux 4.7+) rather than by setting
// and restoring it, which would change it for the whole process meanwhile,
// while other threads (a ZooKeeper client's) may create files.
mode_t NewFileMode() {
  mode_t umask_bits = 022;  // the usual default, if /proc cannot say
  if (FILE* status = std::fopen("/proc/self/status", "re")) {
    char line[256];
    unsigned value = 0;
    while (std::fgets(line, sizeof(line), status)) {
      if (std::sscanf(line, "Umask: %o", &value) == 1) {
        umask_bits = static_cast<mode_t>(value);
        break;
      }
    }
    std::fclose(status);
  }
  return 0666 & ~umask_bits;
}

}  // namespace

Result<std::unique_ptr<OutputTarget>> OutputTarget::Open(const std::string& destination,
                                                         OutputOptions options) {
  if (destination.empty())
    return UsageError(options.option + " needs a file name, or - for stdout");
  std::unique_ptr<OutputTarget> target(new OutputTarget());
  int fd = STDOUT_FILENO;
  if (destination != "-") {
    ZKA_RETURN_IF_ERROR(target->OpenFile(destination, options));
    fd = target->fd_;
    if (options.direct_io && !target->in_place_) target->file_ = DirectFileStream::Open(fd);
  }
  if (!target->file_) {
    auto plain = arrow::FileOutputStream::FromFd(fd);
    if (options.cancel_check) plain->SetCancelCheck(std::move(options.cancel_check));
    target->plain_ = plain.get();
    target->file_ = std::move(plain);
  }
  target->file_ = std::make_unique<NamingStream>(std::move(target->file_), target->name());
  target->stream_ = std::make_unique<arrow::CountingOutputStream>(*target->file_);
  return target;
}

Status OutputTarget::OpenFile(const std::string& destination, const OutputOptions& options) {
  final_path_ = destination;
  if (options.create_new) {
    fd_ = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) return Status::FromErrno(errno, "creating " + destination);
    in_place_ = true;
    return Status::Ok();
  }
  struct stat existing {};
  if (::stat(destination.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    if (S_ISDIR(existing.st_mode)) {
      return UsageError(options.option + " " + destination + " is a directory; name a file");
    }
    // A device, FIFO or socket (-o /dev/null, a process substitution): it is
    // written in place. Renaming over it would replace a device node with a
    // file, and there is no old content to protect.
    fd_ = ::open(destination.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) return Status::FromErrno(errno, "opening " + destination);
    in_place_ = true;
    special_ = true;
    return Status::Ok();
  }
  std::filesystem::path directory = final_path_.parent_path();
  if (directory.empty()) directory = ".";
  fd_ = ::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd_ >= 0) return Status::Ok();
  const int tmpfile_error = errno;
  // EOPNOTSUPP/EISDIR: the file system (or an old kernel) has no O_TMPFILE.
  if (tmpfile_error != EOPNOTSUPP && tmpfile_error != EISDIR) {
    return Status::FromErrno(tmpfile_error, "creating " + destination);
  }
  temp_path_ = TemporaryNameFor(final_path_);
  // O_EXCL|O_NOFOLLOW: never write through a file or link someone else
  // placed at the temporary name.
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    Status status = Status::FromErrno(errno, "creating " + destination + ThroughTemporary());
    temp_path_.clear();
    return status;
  }
  RegisterTempPath(temp_path_);
  return Status::Ok();
}

OutputTarget::~OutputTarget() {
  // The streams first: a write still in flight must finish before its
  // descriptor closes (and its number is reused).
  stream_.reset();
  file_.reset();
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    UnregisterTempPath();
  }
}

int64_t OutputTarget::bytes_written() const {
  return static_cast<const arrow::CountingOutputStream&>(*stream_).count();
}

Status OutputTarget::TruncateTo(int64_t bytes) {
  if (is_stdout() || special_) return Status::Ok();
  if (::ftruncate(fd_, bytes) != 0) {
    return Status::FromErrno(errno,
                             "cutting " + name() + " back to " + std::to_string(bytes) + " bytes");
  }
  return Status::Ok();
}

Status OutputTarget::CheckReader() const {
  if (plain_ == nullptr) return Status::Ok();
  Status status = plain_->CheckReader();
  return status.ok() ? status : status.WithContext(name());
}

std::string OutputTarget::name() const { return is_stdout() ? "stdout" : final_path_.string(); }

// The temporary name's own errors (it exists, it is too long) would be
// puzzling said of the destination alone.
std::string OutputTarget::ThroughTemporary() const {
  return " (through the temporary file " + temp_path_.string() + ")";
}

// linkat cannot replace a file, so an unnamed file's data is named beside
// the destination first (RenameOver moves it); only a crash in between can
// leave that name behind. linkat through /proc/self/fd works without
// privileges (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH).
Status OutputTarget::SyncBeside() {
  struct stat existing {};
  const mode_t mode = ::stat(final_path_.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)
                          ? (existing.st_mode & 0777)  // never setuid/setgid
                          : NewFileMode();
  if (::fchmod(fd_, mode) != 0 || ::fsync(fd_) != 0) {
    return Status::FromErrno(errno, "finishing " + final_path_.string());
  }
  if (!temp_path_.empty()) return Status::Ok();
  temp_path_ = TemporaryNameFor(final_path_);
  const std::string proc_path = "/proc/self/fd/" + std::to_string(fd_);
  if (::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, temp_path_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    Status status = Status::FromErrno(errno, "naming " + final_path_.string() + ThroughTemporary());
    temp_path_.clear();
    return status;
  }
  return Status::Ok();
}

Status OutputTarget::RenameOver() {
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    return Status::FromErrno(errno, "naming " + final_path_.string() + ThroughTemporary());
  }
  UnregisterTempPath();
  temp_path_.clear();
  // The rename is durable once the directory is.
  std::filesystem::path directory = final_path_.parent_path();
  if (directory.empty()) directory = ".";
  if (int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

Status OutputTarget::Commit() {
  ZKA_RETURN_IF_ERROR(stream_->Flush());
  if (!is_stdout()) {
    if (!in_place_) ZKA_RETURN_IF_ERROR(SyncBeside());
    if (::close(std::exchange(fd_, -1)) != 0) {
      return Status::FromErrno(errno, "closing " + final_path_.string());
    }
    if (!in_place_) ZKA_RETURN_IF_ERROR(RenameOver());
  }
  committed_ = true;
  return Status::Ok();
}

Status OutputTarget::NameNow() {
  if (is_stdout() || in_place_) return Status::Ok();
  ZKA_RETURN_IF_ERROR(stream_->Flush());
  ZKA_RETURN_IF_ERROR(SyncBeside());
  ZKA_RETURN_IF_ERROR(RenameOver());
  in_place_ = true;
  return Status::Ok();
}

Status CheckArrowNotToTerminal(const std::string& destination, std::string_view file_hint) {
  if (destination != "-" || ::isatty(STDOUT_FILENO) != 1) return Status::Ok();
  return UsageError("refusing to write Arrow IPC bytes to a terminal; redirect stdout or " +
                    std::string(file_hint));
}

std::filesystem::path TemporaryNameFor(const std::filesystem::path& destination) {
  const std::string suffix = ".tmp-" + std::to_string(::getpid());
  std::string name = destination.filename().string();
  if (name.size() + suffix.size() > NAME_MAX) name.resize(NAME_MAX - suffix.size());
  return destination.parent_path() / (name + suffix);
}

Status FlushStdout() {
  // Both buffers: with sync_with_stdio(false) std::cout has its own, and
  // query --explain prints with printf.
  const bool written =
      static_cast<bool>(std::cout.flush()) && std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
  if (written) return Status::Ok();
  if (errno == EPIPE) return Status::FromErrno(errno, "stdout: the reader closed the pipe");
  return Status::IoError("writing to stdout failed");
}

}  // namespace zkarrow::cli
