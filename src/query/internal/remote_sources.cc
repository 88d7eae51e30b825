#include "query/internal/remote_sources.h"

#include <utility>

namespace zkarrow::query::internal {
namespace {

std::string ColumnsOf(const arrow::Schema& schema) {
  std::string text = "(";
  for (const arrow::Field& field : schema.fields) {
    if (text.size() > 1) text += ", ";
    text += arrow::FieldToString(field);
  }
  return text + ")";
}

}  // namespace

ResponseStream::ResponseStream(std::unique_ptr<arrow::ipc::StreamReader> reader, std::string what,
                               Keep keep)
    : reader_(std::move(reader)), what_(std::move(what)), keep_(std::move(keep)) {}

Result<std::optional<arrow::RecordBatch>> ResponseStream::Next() {
  while (true) {
    if (next_kept_ < kept_.size()) {
      return std::optional<arrow::RecordBatch>(std::move(kept_[next_kept_++]));
    }
    Result<std::optional<arrow::RecordBatch>> batch = reader_->Next();
    if (!batch.ok()) return batch.status().WithContext("reading " + what_);
    if (!*batch) {
      if (!reader_->ended_with_marker()) {
        return Status::Unavailable("reading " + what_ +
                                   ": the response ended before its end-of-stream marker (the "
                                   "server went away?)");
      }
      return batch;
    }
    rows_read_ += (*batch)->length;
    if (!keep_) return batch;
    kept_.clear();
    next_kept_ = 0;
    for (int64_t row = 0; row < (*batch)->length; ++row) {
      if (keep_(**batch, row)) kept_.push_back(SliceRow(**batch, row));
    }
  }
}

Result<std::unique_ptr<ResponseStream>> OpenResponse(ServerTables& server,
                                                     const transport::Resource& resource,
                                                     const arrow::Schema& schema,
                                                     ResponseStream::Keep keep) {
  const std::string what = resource.ToTarget() + " from " + server.Describe();
  Result<std::unique_ptr<arrow::ipc::StreamReader>> reader = server.Open(resource);
  if (!reader.ok()) return reader.status().WithContext("reading " + what);
  if ((*reader)->schema().fields != schema.fields) {
    return Status::InvalidData("reading " + what + ": expected the columns " + ColumnsOf(schema) +
                               ", found " + ColumnsOf((*reader)->schema()));
  }
  return std::make_unique<ResponseStream>(std::move(*reader), what, std::move(keep));
}

arrow::RecordBatch SliceRow(const arrow::RecordBatch& batch, int64_t row) {
  arrow::RecordBatch slice{.schema = batch.schema, .length = 1, .columns = {}};
  for (const auto& column : batch.columns) {
    auto sliced = std::make_shared<arrow::ArrayData>(*column);
    sliced->offset += row;
    sliced->length = 1;
    slice.columns.push_back(std::move(sliced));
  }
  return slice;
}

namespace {

// A dataset: read whole by each scan (the server holds it as a file and
// streams it), so SQLite filters the rows.
class RemoteDatasetSource final : public TableSource {
 public:
  RemoteDatasetSource(ServerTables& server, transport::StreamInfo info)
      : server_(server), info_(std::move(info)) {}

  const arrow::Schema& schema() const override { return *info_.schema; }

  Result<std::unique_ptr<BatchStream>> Scan(int, const char*, int, sqlite3_value**,
                                            ScanReport* report) override {
    report->plan =
        "dataset " + info_.resource.ToTarget() + " of " + server_.Describe() + ", streamed whole";
    report->estimated_rows = info_.total_records;
    ZKA_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> stream,
                         OpenResponse(server_, info_.resource, *info_.schema, nullptr));
    return std::unique_ptr<BatchStream>(std::move(stream));
  }

 private:
  ServerTables& server_;
  transport::StreamInfo info_;
};

}  // namespace

Result<std::unique_ptr<TableSource>> OpenRemoteDatasetSource(ServerTables& server,
                                                             const transport::StreamInfo& info) {
  if (info.schema == nullptr) {
    return Status::InvalidData(info.resource.ToTarget() + " of " + server.Describe() +
                               ": the listing gave no schema");
  }
  return std::unique_ptr<TableSource>(std::make_unique<RemoteDatasetSource>(server, info));
}

}  // namespace zkarrow::query::internal
