#include "cli/ipc_input.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <span>
#include <vector>

#include "arrow/io.h"
#include "cli/number_checks.h"
#include "cli/report.h"

namespace zkarrow::cli {
namespace {

// Bytes enough to tell the formats apart (the file magic plus padding).
constexpr size_t kPrefixSize = 8;

// Gives back the bytes read to detect the format, then the rest of the input.
class PrefixedInputStream final : public arrow::InputStream {
 public:
  PrefixedInputStream(std::vector<uint8_t> prefix, std::unique_ptr<arrow::InputStream> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}

  Result<int64_t> Read(std::span<uint8_t> out) override {
    if (position_ < prefix_.size()) {
      const size_t n = std::min(out.size(), prefix_.size() - position_);
      std::memcpy(out.data(), prefix_.data() + position_, n);
      position_ += n;
      return static_cast<int64_t>(n);
    }
    return rest_->Read(out);
  }

 private:
  std::vector<uint8_t> prefix_;
  size_t position_ = 0;
  std::unique_ptr<arrow::InputStream> rest_;
};

Status NotArrow(const std::string& name, const Status& cause) {
  return Status(cause.code(),
                name + ": not a valid Arrow IPC file or stream (" + cause.message() + ")");
}

}  // namespace

void AddIpcInputOptions(CLI::App& command, arrow::ipc::IpcReadOptions& options) {
  command
      .add_option("--max-batch-bytes", options.max_batch_bytes,
                  "Largest record batch accepted: its stored body, and separately what decoding "
                  "it allocates (decompressed and realigned buffers), in bytes")
      ->check(kPositive)
      ->default_str(std::to_string(arrow::ipc::kDefaultMaxBatchBytes));
  command
      .add_option("--max-dictionary-bytes", options.max_dictionary_bytes,
                  "Memory the input's dictionaries may take together (deltas included), in bytes")
      ->check(kPositive)
      ->default_str(std::to_string(arrow::ipc::kDefaultMaxDictionaryBytes));
}

Result<std::unique_ptr<IpcInput>> IpcInput::Open(const std::string& source,
                                                 arrow::ipc::IpcReadOptions options) {
  auto input = std::make_unique<IpcInput>(Key());
  input->name_ = source == "-" ? "stdin" : source;
  std::error_code error;
  const bool regular = source != "-" && std::filesystem::is_regular_file(source, error);
  if (source != "-" && !regular && !std::filesystem::exists(source, error)) {
    return Status::IoError(source + ": no such file");
  }
  // Read, a directory fails with EISDIR, which names neither it nor the fix.
  if (source != "-" && std::filesystem::is_directory(source, error)) {
    return UsageError(source + " is a directory; name an Arrow IPC file or stream");
  }

  if (regular) {
    ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::MapFile(source));
    auto format = arrow::ipc::DetectFormat(
        bytes->bytes().first(std::min<size_t>(bytes->bytes().size(), kPrefixSize)));
    if (!format.ok()) return NotArrow(input->name_, format.status());
    input->format_ = *format;
    if (*format == arrow::ipc::IpcFormat::kFile) {
      input->size_ = bytes->size();
      auto reader = arrow::ipc::FileReader::Open(std::move(bytes), options);
      if (!reader.ok()) return NotArrow(input->name_, reader.status());
      input->file_ = std::move(reader).value();
      return input;
    }
    ZKA_RETURN_IF_ERROR(
        input->OpenStream(std::make_unique<arrow::BufferInputStream>(std::move(bytes)), options));
    return input;
  }

  // stdin, a pipe or a device: read the prefix, then go on from there.
  std::unique_ptr<arrow::InputStream> raw;
  if (source == "-") {
    raw = arrow::FileInputStream::FromFd(STDIN_FILENO);
  } else {
    ZKA_ASSIGN_OR_RETURN(raw, arrow::FileInputStream::Open(source));
  }
  std::vector<uint8_t> prefix(kPrefixSize);
  ZKA_ASSIGN_OR_RETURN(int64_t got, arrow::ReadFully(*raw, prefix));
  prefix.resize(static_cast<size_t>(got));
  auto format = arrow::ipc::DetectFormat(prefix);
  if (!format.ok()) return NotArrow(input->name_, format.status());
  input->format_ = *format;
  auto whole = std::make_unique<PrefixedInputStream>(std::move(prefix), std::move(raw));
  if (*format == arrow::ipc::IpcFormat::kFile) {
    ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::ReadAll(*whole));
    input->size_ = bytes->size();
    auto reader = arrow::ipc::FileReader::Open(std::move(bytes), options);
    if (!reader.ok()) return NotArrow(input->name_, reader.status());
    input->file_ = std::move(reader).value();
    return input;
  }
  ZKA_RETURN_IF_ERROR(input->OpenStream(std::move(whole), options));
  return input;
}

Status IpcInput::OpenStream(std::unique_ptr<arrow::InputStream> input,
                            const arrow::ipc::IpcReadOptions& options) {
  auto reader = arrow::ipc::StreamReader::Open(std::move(input), options);
  if (!reader.ok()) return NotArrow(name_, reader.status());
  stream_ = std::move(reader).value();
  return Status::Ok();
}

const std::shared_ptr<const arrow::Schema>& IpcInput::schema() const {
  return file_ ? file_->shared_schema() : stream_->shared_schema();
}

arrow::ipc::MetadataVersion IpcInput::metadata_version() const {
  return file_ ? file_->metadata_version() : stream_->metadata_version();
}

Result<std::optional<arrow::RecordBatch>> IpcInput::Next() {
  if (stream_) {
    auto batch = stream_->Next();
    if (!batch.ok()) return batch.status().WithContext(name_);
    ++next_batch_;
    return batch;
  }
  if (next_batch_ >= file_->num_batches()) return std::optional<arrow::RecordBatch>();
  auto batch = file_->ReadBatch(next_batch_);
  if (!batch.ok()) return batch.status().WithContext(name_);
  ++next_batch_;
  return std::optional<arrow::RecordBatch>(std::move(batch).value());
}

Result<std::optional<arrow::ipc::BatchInfo>> IpcInput::NextInfo() {
  if (stream_) {
    auto info = stream_->NextInfo();
    if (!info.ok()) return info.status().WithContext(name_);
    return info;
  }
  if (next_batch_ >= file_->num_batches()) return std::optional<arrow::ipc::BatchInfo>();
  auto info = file_->ReadBatchInfo(next_batch_);
  if (!info.ok()) return info.status().WithContext(name_);
  ++next_batch_;
  return std::optional<arrow::ipc::BatchInfo>(std::move(info).value());
}

bool IpcInput::ended_with_marker() const { return !stream_ || stream_->ended_with_marker(); }

Result<arrow::ipc::BatchInfo> IpcInput::LastBatchInfo() const {
  if (stream_) return stream_->last_batch_info();
  return file_->ReadBatchInfo(next_batch_ - 1);
}

}  // namespace zkarrow::cli
