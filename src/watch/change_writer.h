// A change row and the writer that turns change rows into Arrow IPC record
// batches of the change table (change_schema.h).
#pragma once

#include <cstdint>
#include <memory>

#include "arrow/io.h"
#include "arrow/ipc/writer.h"
#include "base/status.h"
#include "watch/change_schema.h"
#include "znodes/znode_batch_builder.h"
#include "znodes/znode_record.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::watch {

// One row of the change stream. A view: `record` need only live until the
// sink's Append returns.
struct ChangeRow {
  ChangeEvent event = ChangeEvent::kInitial;
  // The state's zxid: the node's mzxid for initial/created/changed; for
  // deleted the highest zxid the client had seen when it learned of the
  // deletion (ZooKeeper 3.8's notifications carry no zxid); for resync the
  // highest zxid seen when the re-read started.
  int64_t zxid = 0;
  int64_t observed_at_ms = 0;  // wall clock, ms since the epoch
  // deleted and resync rows have a path but no stat or data.
  znodes::ZnodeRecord record;
};

struct ChangeWriterOptions {
  arrow::ipc::IpcFormat format = arrow::ipc::IpcFormat::kStream;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
  bool typed_values = false;
  // A batch is written when it reaches either limit, or on Flush(). The
  // limits of the snapshot's table writer, stated there once.
  int64_t max_batch_rows = znodes::ZnodeTableOptions{}.max_batch_rows;
  int64_t max_batch_bytes = znodes::ZnodeTableOptions{}.max_batch_bytes;
  arrow::KeyValueMetadata schema_metadata;
};

class ChangeWriter {
 public:
  static Result<std::unique_ptr<ChangeWriter>> Open(arrow::OutputStream& sink,
                                                    ChangeWriterOptions options);
  ~ChangeWriter();
  ChangeWriter(const ChangeWriter&) = delete;
  ChangeWriter& operator=(const ChangeWriter&) = delete;

  Status Append(const ChangeRow& row);
  // Writes the rows appended so far as a batch (if any) and flushes the sink.
  Status Flush();
  // As Flush(), with `batch_metadata` as the custom metadata of the batch
  // (none is written when no rows are pending).
  Status Flush(const arrow::KeyValueMetadata& batch_metadata);
  // Flush, then the end-of-stream marker (or file footer). Further calls fail.
  Status Finish();

  int64_t pending_rows() const;
  int64_t rows_written() const { return rows_written_; }

 private:
  class BatchBuilder;
  ChangeWriter(arrow::OutputStream& sink, ChangeWriterOptions options,
               std::unique_ptr<BatchBuilder> builder,
               std::unique_ptr<arrow::ipc::IpcWriter> writer);
  Status WriteBatch(const arrow::KeyValueMetadata& batch_metadata = {});

  arrow::OutputStream& sink_;
  ChangeWriterOptions options_;
  std::unique_ptr<BatchBuilder> builder_;
  std::unique_ptr<arrow::ipc::IpcWriter> writer_;
  int64_t rows_written_ = 0;
  int64_t batches_written_ = 0;
};

}  // namespace zkarrow::watch
