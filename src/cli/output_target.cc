#include "cli/output_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace zkarrow::cli {
namespace {

class CountingStream final : public arrow::OutputStream {
 public:
  explicit CountingStream(arrow::OutputStream& sink) : sink_(sink) {}
  Status Write(std::span<const uint8_t> bytes) override {
    count_ += static_cast<int64_t>(bytes.size());
    return sink_.Write(bytes);
  }
  Status Flush() override { return sink_.Flush(); }
  int64_t count() const { return count_; }

 private:
  arrow::OutputStream& sink_;
  int64_t count_ = 0;
};

}  // namespace

Result<std::unique_ptr<OutputTarget>> OutputTarget::Open(const std::string& destination) {
  if (destination.empty()) return Status::InvalidArgument("-o needs a file name, or - for stdout");
  std::unique_ptr<OutputTarget> target(new OutputTarget());
  if (destination == "-") {
    target->file_ = arrow::FileOutputStream::FromFd(STDOUT_FILENO);
  } else {
    target->final_path_ = destination;
    target->temp_path_ = destination + ".tmp-" + std::to_string(::getpid());
    // O_EXCL|O_NOFOLLOW: never write through a file or link someone else
    // placed at the temporary name. 0600 until the data is complete.
    target->temp_fd_ = ::open(target->temp_path_.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (target->temp_fd_ < 0) {
      return Status::FromErrno(errno, "creating " + target->temp_path_.string());
    }
    target->file_ = arrow::FileOutputStream::FromFd(target->temp_fd_);
  }
  target->stream_ = std::make_unique<CountingStream>(*target->file_);
  return target;
}

OutputTarget::~OutputTarget() {
  if (temp_fd_ >= 0) ::close(temp_fd_);
  if (!committed_ && !temp_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
  }
}

int64_t OutputTarget::bytes_written() const {
  return static_cast<const CountingStream&>(*stream_).count();
}

Status OutputTarget::Commit() {
  ZKA_RETURN_IF_ERROR(stream_->Flush());
  if (is_stdout()) {
    committed_ = true;
    return Status::Ok();
  }
  // Durable before it replaces anything; readable like any new file.
  const mode_t umask_bits = ::umask(0);
  ::umask(umask_bits);
  if (::fchmod(temp_fd_, 0666 & ~umask_bits) != 0 || ::fsync(temp_fd_) != 0) {
    return Status::FromErrno(errno, "finishing " + temp_path_.string());
  }
  int fd = temp_fd_;
  temp_fd_ = -1;
  if (::close(fd) != 0) return Status::FromErrno(errno, "closing " + temp_path_.string());
  std::error_code error;
  std::filesystem::rename(temp_path_, final_path_, error);
  if (error) {
    return Status::IoError("moving " + temp_path_.string() + " to " + final_path_.string() + ": " +
                           error.message());
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace zkarrow::cli
