// Where a command writes its Arrow output: stdout for "-", otherwise a file
// that appears only when the command succeeds. Writing goes to a temporary
// file beside it, renamed over the target by Commit(), so a failed or
// interrupted run never leaves a half-written file or clobbers an old one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "arrow/io.h"
#include "base/status.h"

namespace zkarrow::cli {

class OutputTarget {
 public:
  static Result<std::unique_ptr<OutputTarget>> Open(const std::string& destination);
  ~OutputTarget();  // removes the temporary file unless committed
  OutputTarget(const OutputTarget&) = delete;
  OutputTarget& operator=(const OutputTarget&) = delete;

  arrow::OutputStream& stream() { return *stream_; }
  bool is_stdout() const { return final_path_.empty(); }
  // Bytes written so far.
  int64_t bytes_written() const;

  // Flushes, closes and moves the file into place.
  Status Commit();

 private:
  OutputTarget() = default;

  int temp_fd_ = -1;  // the temporary file, closed by Commit or the destructor
  std::unique_ptr<arrow::FileOutputStream> file_;
  std::unique_ptr<arrow::OutputStream> stream_;  // counts bytes, forwards to file_
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool committed_ = false;
};

}  // namespace zkarrow::cli
