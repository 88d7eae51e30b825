// An Arrow IPC input for the commands that read one (inspect, cat, convert):
// a path or "-" for stdin, in the file or the stream format, told apart by
// the first bytes. Files are memory-mapped; pipes and stdin are read as they
// come, except that the file format needs all of its bytes first.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "arrow/array.h"
#include "arrow/ipc/reader.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::cli {

// --max-batch-bytes and --max-dictionary-bytes, for every command that reads
// Arrow IPC; the defaults are the reader's (arrow/ipc/reader.h).
void AddIpcInputOptions(CLI::App& command, arrow::ipc::IpcReadOptions& options);

class IpcInput {
 public:
  // Errors name the input: "no such file", or "not a valid Arrow IPC file or stream".
  static Result<std::unique_ptr<IpcInput>> Open(const std::string& source,
                                                arrow::ipc::IpcReadOptions options = {});

  // The path, or "stdin" for "-".
  const std::string& name() const { return name_; }
  arrow::ipc::IpcFormat format() const { return format_; }
  const std::shared_ptr<const arrow::Schema>& schema() const;
  arrow::ipc::MetadataVersion metadata_version() const;
  // Bytes of a file-format input; nullopt for streams, whose size is known only at the end.
  std::optional<int64_t> size() const { return size_; }
  // The reader of a file-format input (for its footer), else null.
  const arrow::ipc::FileReader* file_reader() const { return file_.get(); }

  // The next record batch, or nullopt after the last.
  Result<std::optional<arrow::RecordBatch>> Next();
  // Describes the batch the last Next() returned.
  Result<arrow::ipc::BatchInfo> LastBatchInfo() const;
  // Instead of Next(): describes the next record batch from its metadata
  // and buffer prefixes (verified, not decoded), or nullopt after the last.
  Result<std::optional<arrow::ipc::BatchInfo>> NextInfo();
  // For a stream that has been read to its end: whether it ended with the
  // end-of-stream marker. Always true for the file format.
  bool ended_with_marker() const;

 private:
  // Lets Open() use std::make_unique while the constructor stays private in effect.
  struct Key {
    explicit Key() = default;
  };

 public:
  explicit IpcInput(Key) {}

 private:
  Status OpenStream(std::unique_ptr<arrow::InputStream> input,
                    const arrow::ipc::IpcReadOptions& options);

  std::string name_;
  arrow::ipc::IpcFormat format_ = arrow::ipc::IpcFormat::kStream;
  std::optional<int64_t> size_;
  std::unique_ptr<arrow::ipc::FileReader> file_;
  std::unique_ptr<arrow::ipc::StreamReader> stream_;
  int next_batch_ = 0;
};

}  // namespace zkarrow::cli
