#include "watch/change_writer.h"

#include <utility>

#include "arrow/builder.h"
#include "arrow/enum_dictionary.h"

namespace zkarrow::watch {

// The znode columns come from the znode table's own builder; the three
// change columns are appended after them.
class ChangeWriter::BatchBuilder {
 public:
  BatchBuilder(bool typed_values, arrow::KeyValueMetadata metadata)
      : znodes_(typed_values),
        schema_(std::make_shared<const arrow::Schema>(
            arrow::Schema{ChangeTableSchema(typed_values).fields, std::move(metadata)})),
        event_dictionary_(arrow::MakeEnumDictionary(kChangeEventNames)) {}

  Status Append(const ChangeRow& row) {
    ZKA_RETURN_IF_ERROR(znodes_.Append(row.record));
    event_.Append(static_cast<int32_t>(row.event));
    zxid_.Append(row.zxid);
    observed_at_.Append(row.observed_at_ms);
    return Status::Ok();
  }

  int64_t rows() const { return znodes_.rows(); }
  int64_t data_bytes() { return znodes_.data_bytes(); }
  const arrow::Schema& schema() const { return *schema_; }

  arrow::RecordBatch Finish() {
    arrow::RecordBatch batch = znodes_.Finish();
    batch.schema = schema_;
    batch.columns.push_back(arrow::WithDictionary(event_.Finish(), event_dictionary_));
    batch.columns.push_back(zxid_.Finish());
    batch.columns.push_back(observed_at_.Finish());
    return batch;
  }

 private:
  znodes::ZnodeBatchBuilder znodes_;
  std::shared_ptr<const arrow::Schema> schema_;
  std::shared_ptr<const arrow::ArrayData> event_dictionary_;
  arrow::Int32Builder event_;
  arrow::Int64Builder zxid_;
  arrow::TimestampBuilder observed_at_;
};

ChangeWriter::ChangeWriter(arrow::OutputStream& sink, ChangeWriterOptions options,
                           std::unique_ptr<BatchBuilder> builder,
                           std::unique_ptr<arrow::ipc::IpcWriter> writer)
    : sink_(sink),
      options_(std::move(options)),
      builder_(std::move(builder)),
      writer_(std::move(writer)) {}

ChangeWriter::~ChangeWriter() = default;

Result<std::unique_ptr<ChangeWriter>> ChangeWriter::Open(arrow::OutputStream& sink,
                                                         ChangeWriterOptions options) {
  auto builder = std::make_unique<BatchBuilder>(options.typed_values, options.schema_metadata);
  auto writer = arrow::ipc::IpcWriter::Open(sink, builder->schema(), options.format,
                                            {.compression = options.compression});
  if (!writer.ok()) return writer.status().WithContext("writing the change table");
  // A reader of a live stream sees the schema at once, not with the first change.
  ZKA_RETURN_IF_ERROR(sink.Flush());
  return std::unique_ptr<ChangeWriter>(
      new ChangeWriter(sink, std::move(options), std::move(builder), std::move(*writer)));
}

int64_t ChangeWriter::pending_rows() const { return builder_->rows(); }

Status ChangeWriter::Append(const ChangeRow& row) {
  if (builder_->rows() >= options_.max_batch_rows ||
      builder_->data_bytes() >= options_.max_batch_bytes) {
    ZKA_RETURN_IF_ERROR(WriteBatch());
  }
  Status appended = builder_->Append(row);
  if (appended.code() == StatusCode::kOutOfRange && builder_->rows() > 0) {
    ZKA_RETURN_IF_ERROR(WriteBatch());
    appended = builder_->Append(row);
  }
  if (!appended.ok()) return appended.WithContext("appending " + std::string(row.record.path));
  return Status::Ok();
}

Status ChangeWriter::WriteBatch(const arrow::KeyValueMetadata& batch_metadata) {
  const int64_t rows = builder_->rows();
  if (rows == 0) return Status::Ok();
  arrow::RecordBatch batch = builder_->Finish();
  ZKA_RETURN_IF_ERROR(writer_->WriteBatch(batch, batch_metadata)
                          .WithContext("writing change batch " + std::to_string(batches_written_)));
  rows_written_ += rows;
  ++batches_written_;
  return Status::Ok();
}

Status ChangeWriter::Flush() { return Flush({}); }

Status ChangeWriter::Flush(const arrow::KeyValueMetadata& batch_metadata) {
  ZKA_RETURN_IF_ERROR(WriteBatch(batch_metadata));
  return sink_.Flush();
}

Status ChangeWriter::Finish() {
  ZKA_RETURN_IF_ERROR(WriteBatch());
  ZKA_RETURN_IF_ERROR(writer_->Close());
  return sink_.Flush();
}

}  // namespace zkarrow::watch
