// Tables over a zkarrow server (query/server_tables.h): its datasets, and
// the stream of a response that every remote table reads. The `znodes`
// mirror is in znode_tables.h (it shares the optimizer).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "arrow/ipc/reader.h"
#include "query/internal/table_source.h"
#include "query/server_tables.h"

namespace zkarrow::query::internal {

// The batches of one response. A response cut short (no end-of-stream
// marker: the server went away) fails with kUnavailable rather than
// passing for a complete one. With `keep`, only the rows it accepts are
// served, each as a one-row slice of its batch (for exact lookups that
// SQLite does not re-check).
class ResponseStream final : public BatchStream {
 public:
  using Keep = std::function<bool(const arrow::RecordBatch& batch, int64_t row)>;
  ResponseStream(std::unique_ptr<arrow::ipc::StreamReader> reader, std::string what, Keep keep);
  Result<std::optional<arrow::RecordBatch>> Next() override;
  int64_t NodesRead() const override { return rows_read_; }

 private:
  std::unique_ptr<arrow::ipc::StreamReader> reader_;
  std::string what_;
  Keep keep_;
  std::vector<arrow::RecordBatch> kept_;  // slices of the last batch read, served in order
  size_t next_kept_ = 0;
  int64_t rows_read_ = 0;
};

// Opens `resource` on `server` and checks that its columns are `schema`'s.
Result<std::unique_ptr<ResponseStream>> OpenResponse(ServerTables& server,
                                                     const transport::Resource& resource,
                                                     const arrow::Schema& schema,
                                                     ResponseStream::Keep keep);

// Row `row` of `batch` as a batch of its own, sharing the buffers.
arrow::RecordBatch SliceRow(const arrow::RecordBatch& batch, int64_t row);

// The dataset's schema is asked for now, so that its columns are known when
// the statement is prepared. REQUIRES: server outlives the source.
Result<std::unique_ptr<TableSource>> OpenRemoteDatasetSource(ServerTables& server,
                                                             const transport::StreamInfo& info);

}  // namespace zkarrow::query::internal
