#include "query/internal/arrow_sources.h"

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "arrow/array_access.h"
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

// Batch i of a file at a time, read from the mapping when asked for.
class FileBatchStream final : public BatchStream {
 public:
  FileBatchStream(arrow::ipc::FileReader& file, std::filesystem::path path)
      : file_(file), path_(std::move(path)) {}
  Result<std::optional<arrow::RecordBatch>> Next() override {
    if (next_ >= file_.num_batches()) return std::optional<arrow::RecordBatch>();
    auto batch = file_.ReadBatch(next_);
    if (!batch.ok()) {
      return batch.status().WithContext(path_.string() + ": batch " + std::to_string(next_));
    }
    ++next_;
    read_ += batch->length;
    return std::optional<arrow::RecordBatch>(std::move(*batch));
  }
  int64_t NodesRead() const override { return read_; }

 private:
  arrow::ipc::FileReader& file_;
  std::filesystem::path path_;
  int next_ = 0;
  int64_t read_ = 0;
};

// A stream-format file, read from the start by each scan.
class StreamFileBatchStream final : public BatchStream {
 public:
  StreamFileBatchStream(std::unique_ptr<arrow::ipc::StreamReader> reader,
                        std::filesystem::path path)
      : reader_(std::move(reader)), path_(std::move(path)) {}
  Result<std::optional<arrow::RecordBatch>> Next() override {
    auto batch = reader_->Next();
    if (!batch.ok()) return batch.status().WithContext(path_.string());
    if (*batch) read_ += (*batch)->length;
    return std::move(*batch);
  }
  int64_t NodesRead() const override { return read_; }

 private:
  std::unique_ptr<arrow::ipc::StreamReader> reader_;
  std::filesystem::path path_;
  int64_t read_ = 0;
};

class ArrowFileSource final : public TableSource {
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
      ZKA_ASSIGN_OR_RETURN(auto stream, source->OpenStream());
      source->schema_ = stream->shared_schema();
    }
    return std::unique_ptr<TableSource>(std::move(source));
  }

  const arrow::Schema& schema() const override { return *schema_; }

  Result<std::unique_ptr<BatchStream>> Scan(int, const char*, int, sqlite3_value**,
                                            ScanReport* report) override {
    report->plan = "Arrow " + std::string(file_ ? "file (memory-mapped)" : "stream") + " " +
                   path_.string() + ", a batch at a time; only the columns used are touched";
    if (file_) {
      int64_t rows = 0;
      for (int i = 0; i < file_->num_batches(); ++i) {
        ZKA_ASSIGN_OR_RETURN(auto info, file_->ReadBatchInfo(i));
        rows += info.num_rows;
      }
      report->estimated_rows = rows;
      return std::unique_ptr<BatchStream>(std::make_unique<FileBatchStream>(*file_, path_));
    }
    report->estimated_rows = -1;
    ZKA_ASSIGN_OR_RETURN(auto stream, OpenStream());
    if (*stream->shared_schema() != *schema_) {
      return Status::InvalidData(path_.string() + ": the file changed while the query ran");
    }
    return std::unique_ptr<BatchStream>(
        std::make_unique<StreamFileBatchStream>(std::move(stream), path_));
  }

 private:
  explicit ArrowFileSource(std::filesystem::path path) : path_(std::move(path)) {}

  Result<std::unique_ptr<arrow::ipc::StreamReader>> OpenStream() const {
    auto input = arrow::FileInputStream::Open(path_);
    if (!input.ok()) return input.status().WithContext(path_.string());
    auto stream = arrow::ipc::StreamReader::Open(std::move(*input));
    if (!stream.ok()) return NotArrow(path_, stream.status());
    return std::move(*stream);
  }

  std::filesystem::path path_;
  std::shared_ptr<const arrow::Schema> schema_;
  std::unique_ptr<arrow::ipc::FileReader> file_;
};

// The log's rows are decoded once per query (the logs are read whole
// anyway); with a zxid, only the transactions up to it, as the tree.
class TxnLogSource final : public TableSource {
 public:
  TxnLogSource(std::filesystem::path dir, std::optional<int64_t> zxid)
      : dir_(std::move(dir)),
        zxid_(zxid),
        schema_(std::make_shared<const arrow::Schema>(znodes::datadir::TxnLogSchema())) {}

  const arrow::Schema& schema() const override { return *schema_; }

  Result<std::unique_ptr<BatchStream>> Scan(int, const char*, int, sqlite3_value**,
                                            ScanReport* report) override {
    if (!batches_) {
      ZKA_ASSIGN_OR_RETURN(std::vector<arrow::RecordBatch> batches, Load());
      batches_ = std::move(batches);
      for (const arrow::RecordBatch& batch : *batches_) report->nodes_read += batch.length;
    }
    report->plan = "transaction logs of " + dir_.string() + ", decoded once per query" +
                   (zxid_ ? ", up to zxid " + std::to_string(*zxid_) : std::string());
    int64_t rows = 0;
    for (const arrow::RecordBatch& batch : *batches_) rows += batch.length;
    report->estimated_rows = rows;
    return std::unique_ptr<BatchStream>(std::make_unique<VectorStream>(*batches_));
  }

 private:
  // The table's builder writes IPC; an in-memory file of it is read back
  // without copying the buffers.
  Result<std::vector<arrow::RecordBatch>> Load() {
    arrow::BufferOutputStream bytes;
    ZKA_ASSIGN_OR_RETURN(auto writer, arrow::ipc::IpcWriter::OpenFile(bytes, *schema_, {}));
    znodes::datadir::TxnLogSummary summary;
    ZKA_RETURN_IF_ERROR(znodes::datadir::WriteTxnLogTable({.dir = dir_}, *writer, &summary)
                            .WithContext("reading the transaction logs of " + dir_.string()));
    ZKA_RETURN_IF_ERROR(writer->Close());
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::Open(bytes.Finish()));
    const int zxid_column = ZxidColumn();
    if (zxid_column < 0) return Status::Internal("the txnlog table has no zxid column");
    std::vector<arrow::RecordBatch> batches;
    for (int i = 0; i < reader->num_batches(); ++i) {
      ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader->ReadBatch(i));
      if (zxid_) {
        // Rows are in zxid order: those up to the zxid are a prefix.
        const arrow::ArrayData& zxids = *batch.columns[static_cast<size_t>(zxid_column)];
        int64_t keep = 0;
        while (keep < batch.length &&
               arrow::ReadInt(arrow::FixedWidthValue(zxids, keep, 8), true) <= *zxid_)
          ++keep;
        if (keep < batch.length) {
          if (keep > 0) batches.push_back(Head(batch, keep));
          break;
        }
      }
      batches.push_back(std::move(batch));
    }
    return batches;
  }

  int ZxidColumn() const {
    for (size_t i = 0; i < schema_->fields.size(); ++i) {
      if (schema_->fields[i].name == "zxid") return static_cast<int>(i);
    }
    return -1;
  }

  // The first `rows` rows of `batch`, sharing its buffers.
  static arrow::RecordBatch Head(const arrow::RecordBatch& batch, int64_t rows) {
    arrow::RecordBatch head{.schema = batch.schema, .length = rows, .columns = {}};
    for (const auto& column : batch.columns) {
      auto sliced = std::make_shared<arrow::ArrayData>(*column);
      sliced->length = rows;
      head.columns.push_back(std::move(sliced));
    }
    return head;
  }

  std::filesystem::path dir_;
  std::optional<int64_t> zxid_;
  std::shared_ptr<const arrow::Schema> schema_;
  std::optional<std::vector<arrow::RecordBatch>> batches_;
};

}  // namespace

Result<std::unique_ptr<TableSource>> OpenArrowFileSource(const std::filesystem::path& path) {
  return ArrowFileSource::Open(path);
}

std::unique_ptr<TableSource> MakeTxnLogSource(std::filesystem::path dir,
                                              std::optional<int64_t> zxid) {
  return std::make_unique<TxnLogSource>(std::move(dir), zxid);
}

}  // namespace zkarrow::query::internal
