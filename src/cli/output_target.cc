#include "cli/output_target.h"

#include <unistd.h>

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
  std::unique_ptr<OutputTarget> target(new OutputTarget());
  if (destination == "-") {
    target->file_ = arrow::FileOutputStream::FromFd(STDOUT_FILENO);
  } else {
    target->final_path_ = destination;
    target->temp_path_ = destination + ".tmp-" + std::to_string(::getpid());
    ZKA_ASSIGN_OR_RETURN(target->file_, arrow::FileOutputStream::Open(target->temp_path_));
  }
  target->stream_ = std::make_unique<CountingStream>(*target->file_);
  return target;
}

OutputTarget::~OutputTarget() {
  if (!committed_ && !temp_path_.empty()) {
    file_.reset();
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
  ZKA_RETURN_IF_ERROR(file_->Close());
  std::error_code error;
  std::filesystem::rename(temp_path_, final_path_, error);
  if (error) {
    return Status::IoError("moving " + temp_path_.string() + " to " + final_path_.string() +
                           ": " + error.message());
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace zkarrow::cli
