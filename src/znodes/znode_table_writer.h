// Streams ZnodeRecords into an Arrow IPC file or stream, one record batch at
// a time, so memory stays bounded by one batch whatever the tree's size.
//
// Schema metadata known at the start (source, root, start time, version) is
// in the schema. What is known only at the end (end time, zxid range, row
// count) is attached to the last record batch message as custom metadata,
// since a stream's schema is written before the first row.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "base/status.h"
#include "znodes/znode_batch_builder.h"
#include "znodes/znode_record.h"

namespace zkarrow::znodes {

// Rows per record batch of the znode table (live, offline, watch) and of
// the txnlog table, unless a caller says otherwise. A batch of this many
// rows (a few MB) reuses the pages the one before it filled, and stays
// in the caches while it is copied out; memory the process touches for the
// first time costs a page fault and a page cleared by the kernel, dear on
// a virtual machine. With 65,536-row batches the 1M-znode offline snapshot
// took about a quarter longer, and fresh pages were the largest cost of a
// 100k-transaction txnlog table.
inline constexpr int64_t kRowsPerBatch = 8 * 1024;

struct ZnodeTableOptions {
  arrow::ipc::IpcFormat format = arrow::ipc::IpcFormat::kFile;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
  bool typed_values = false;
  // path, name and parent as utf8_view instead of utf8 (format 1.4).
  bool string_view = false;
  // Only these columns (positions in ZnodeTableSchema(typed_values), in this
  // order), the only ones built; empty: all of them.
  std::vector<int> columns;
  // A batch is written when it reaches either limit.
  int64_t max_batch_rows = kRowsPerBatch;
  int64_t max_batch_bytes = 32 << 20;
  arrow::KeyValueMetadata schema_metadata;
};

class ZnodeTableWriter {
 public:
  static Result<std::unique_ptr<ZnodeTableWriter>> Open(arrow::OutputStream& sink,
                                                        ZnodeTableOptions options);

  Status Append(const ZnodeRecord& record);

  // Writes the last batch with `final_metadata` on its message, then the
  // end-of-stream marker or file footer.
  Status Finish(const arrow::KeyValueMetadata& final_metadata);

  int64_t rows_written() const { return rows_written_; }

 private:
  ZnodeTableWriter(ZnodeTableOptions options, std::unique_ptr<ZnodeBatchBuilder> builder,
                   std::shared_ptr<const arrow::Schema> written_schema,
                   std::unique_ptr<arrow::ipc::IpcWriter> writer)
      : options_(std::move(options)),
        builder_(std::move(builder)),
        written_schema_(std::move(written_schema)),
        writer_(std::move(writer)) {}
  Status FlushBatch(const arrow::KeyValueMetadata& message_metadata);
  // Writes the full batch and reserves room for the next one.
  Status StartNextBatch();

  ZnodeTableOptions options_;
  std::unique_ptr<ZnodeBatchBuilder> builder_;
  // The builder's schema (only the selected columns), or its --string-view
  // form (then batches are re-encoded).
  std::shared_ptr<const arrow::Schema> written_schema_;
  std::unique_ptr<arrow::ipc::IpcWriter> writer_;
  int64_t rows_written_ = 0;
  int64_t batches_written_ = 0;
};

}  // namespace zkarrow::znodes
