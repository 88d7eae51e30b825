#include "query/internal/arrow_sources.h"

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "znodes/datadir/txnlog_table.h"

namespace zkarrow::query::internal {
namespace {

// Anything that does not open as Arrow IPC (a CSV file read as a stream
// fails on a huge "metadata length") gets one message that says so first.
Status NotArrow(const std::filesystem::path& path, const Status& why) {
  return Status::InvalidData(path.string() + ": not an Arrow IPC file or stream (" + why.message() +
                             ")");
}

// Batches read once and then served to every scan.
class BatchesSource : public TableSource {
 public:
  const arrow::Schema& schema() const override { return *schema_; }

  Result<ScanBatches> Scan(int, const char*, int, sqlite3_value**, ScanReport* report) override {
    if (!batches_) {
      ZKA_ASSIGN_OR_RETURN(std::vector<arrow::RecordBatch> batches, Load());
      batches_ = std::move(batches);
      for (const arrow::RecordBatch& batch : *batches_) report->nodes_read += batch.length;
    }
    report->plan = Describe();
    int64_t rows = 0;
    for (const arrow::RecordBatch& batch : *batches_) rows += batch.length;
    report->estimated_rows = rows;
    return ScanBatches{.batches = *batches_, .keep = nullptr};
  }

 protected:
  virtual Result<std::vector<arrow::RecordBatch>> Load() = 0;
  virtual std::string Describe() const = 0;

  std::shared_ptr<const arrow::Schema> schema_;
  std::optional<std::vector<arrow::RecordBatch>> batches_;
};

class ArrowFileSource final : public BatchesSource {
 public:
  static Result<std::unique_ptr<TableSource>> Open(const std::filesystem::path& path) {
    auto source = std::unique_ptr<ArrowFileSource>(new ArrowFileSource(path));
    std::ifstream probe(path, std::ios::binary);
    if (!probe) return Status::IoError(path.string() + ": cannot open the file");
    uint8_t prefix[8] = {};
    probe.read(reinterpret_cast<char*>(prefix), sizeof(prefix));
    auto format = arrow::ipc::DetectFormat(std::span(prefix, static_cast<size_t>(probe.gcount())));
    if (!format.ok()) return NotArrow(path, format.status());
    if (*format == arrow::ipc::IpcFormat::kFile) {
      auto file = arrow::ipc::FileReader::OpenPath(path);
      if (!file.ok()) return NotArrow(path, file.status());
      source->file_ = std::move(*file);
      source->schema_ = source->file_->shared_schema();
    } else {
      auto input = arrow::FileInputStream::Open(path);
      if (!input.ok()) return input.status().WithContext(path.string());
      auto stream = arrow::ipc::StreamReader::Open(std::move(*input));
      if (!stream.ok()) return NotArrow(path, stream.status());
      source->stream_ = std::move(*stream);
      source->schema_ = source->stream_->shared_schema();
    }
    return std::unique_ptr<TableSource>(std::move(source));
  }

 private:
  explicit ArrowFileSource(std::filesystem::path path) : path_(std::move(path)) {}

  Result<std::vector<arrow::RecordBatch>> Load() override {
    std::vector<arrow::RecordBatch> batches;
    if (file_) {
      for (int i = 0; i < file_->num_batches(); ++i) {
        auto batch = file_->ReadBatch(i);
        if (!batch.ok()) {
          return batch.status().WithContext(path_.string() + ": batch " + std::to_string(i));
        }
        batches.push_back(std::move(*batch));
      }
      return batches;
    }
    while (true) {
      auto batch = stream_->Next();
      if (!batch.ok()) return batch.status().WithContext(path_.string());
      if (!*batch) break;
      batches.push_back(std::move(**batch));
    }
    return batches;
  }

  std::string Describe() const override {
    return "Arrow " + std::string(file_ ? "file (memory-mapped)" : "stream") + " " +
           path_.string() + ", read once; only the columns used are touched";
  }

  std::filesystem::path path_;
  std::unique_ptr<arrow::ipc::FileReader> file_;
  std::unique_ptr<arrow::ipc::StreamReader> stream_;
};

class TxnLogSource final : public BatchesSource {
 public:
  explicit TxnLogSource(std::filesystem::path dir) : dir_(std::move(dir)) {
    schema_ = std::make_shared<const arrow::Schema>(znodes::datadir::TxnLogSchema());
  }

 private:
  // The table's builder writes IPC; an in-memory file of it is read back
  // without copying the buffers.
  Result<std::vector<arrow::RecordBatch>> Load() override {
    arrow::BufferOutputStream bytes;
    ZKA_ASSIGN_OR_RETURN(auto writer, arrow::ipc::IpcWriter::OpenFile(bytes, *schema_, {}));
    znodes::datadir::TxnLogSummary summary;
    ZKA_RETURN_IF_ERROR(znodes::datadir::WriteTxnLogTable({.dir = dir_}, *writer, &summary)
                            .WithContext("reading the transaction logs of " + dir_.string()));
    ZKA_RETURN_IF_ERROR(writer->Close());
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::Open(bytes.Finish()));
    std::vector<arrow::RecordBatch> batches;
    for (int i = 0; i < reader->num_batches(); ++i) {
      ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader->ReadBatch(i));
      batches.push_back(std::move(batch));
    }
    return batches;
  }

  std::string Describe() const override {
    return "transaction logs of " + dir_.string() + ", decoded once per query";
  }

  std::filesystem::path dir_;
};

}  // namespace

Result<std::unique_ptr<TableSource>> OpenArrowFileSource(const std::filesystem::path& path) {
  return ArrowFileSource::Open(path);
}

std::unique_ptr<TableSource> MakeTxnLogSource(std::filesystem::path dir) {
  return std::make_unique<TxnLogSource>(std::move(dir));
}

}  // namespace zkarrow::query::internal
