#include "znodes/znode_table_writer.h"

#include "arrow/layout_convert.h"

namespace zkarrow::znodes {

Result<std::unique_ptr<ZnodeTableWriter>> ZnodeTableWriter::Open(arrow::OutputStream& sink,
                                                                 ZnodeTableOptions options) {
  auto builder = std::make_unique<ZnodeBatchBuilder>(options.typed_values, options.schema_metadata,
                                                     options.columns);
  builder->ReserveRows(options.max_batch_rows);
  std::shared_ptr<const arrow::Schema> schema = builder->schema();
  if (options.string_view) {
    schema = std::make_shared<const arrow::Schema>(
        arrow::WithStringViews(*schema, {"path", "name", "parent"}));
  }
  auto writer = arrow::ipc::IpcWriter::Open(sink, *schema, options.format,
                                            {.compression = options.compression});
  if (!writer.ok()) return writer.status().WithContext("writing the znode table");
  return std::unique_ptr<ZnodeTableWriter>(new ZnodeTableWriter(
      std::move(options), std::move(builder), std::move(schema), std::move(*writer)));
}

Status ZnodeTableWriter::Append(const ZnodeRecord& record) {
  if (builder_->rows() >= options_.max_batch_rows ||
      builder_->data_bytes() >= options_.max_batch_bytes) {
    ZKA_RETURN_IF_ERROR(StartNextBatch());
  }
  Status appended = builder_->Append(record);
  if (appended.code() == StatusCode::kOutOfRange && builder_->rows() > 0) {
    ZKA_RETURN_IF_ERROR(StartNextBatch());
    appended = builder_->Append(record);
  }
  if (!appended.ok()) return appended.WithContext("appending " + std::string(record.path));
  return Status::Ok();
}

Status ZnodeTableWriter::FlushBatch(const arrow::KeyValueMetadata& message_metadata) {
  const int64_t rows = builder_->rows();
  arrow::RecordBatch batch = builder_->Finish();
  if (options_.string_view) {
    ZKA_ASSIGN_OR_RETURN(batch, arrow::ToStringViews(written_schema_, batch));
  }
  ZKA_RETURN_IF_ERROR(writer_->WriteBatch(batch, message_metadata)
                          .WithContext("writing record batch " + std::to_string(batches_written_)));
  rows_written_ += rows;
  ++batches_written_;
  return Status::Ok();
}

Status ZnodeTableWriter::StartNextBatch() {
  ZKA_RETURN_IF_ERROR(FlushBatch({}));
  builder_->ReserveRows(options_.max_batch_rows);
  return Status::Ok();
}

Status ZnodeTableWriter::Finish(const arrow::KeyValueMetadata& final_metadata) {
  // The last batch carries the final metadata, even if it has no rows.
  ZKA_RETURN_IF_ERROR(FlushBatch(final_metadata));
  return writer_->Close();
}

}  // namespace zkarrow::znodes
