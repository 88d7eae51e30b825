// Turns the rows of an SQLite statement into Arrow record batches (see
// QueryEngine's BatchSink for the typing rules).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "arrow/builder.h"
#include "arrow/type.h"
#include "base/status.h"
#include "query/internal/statement_memory.h"
#include "transport/message_stream.h"

namespace zkarrow::query::internal {

class ResultBuilder {
 public:
  // A record batch ends after kBatchRows rows or with the row that brings
  // its values (text and blobs) to kBatchBytes, as every batch a server
  // serves: a result of large values is held one small batch at a time.
  // The first batch's rows also decide the types.
  static constexpr int64_t kBatchRows = transport::kServedBatchRows;
  static constexpr int64_t kBatchBytes = transport::kServedBatchBytes;

  using SchemaSink = std::function<Status(const arrow::Schema&)>;
  using BatchSink = std::function<Status(const arrow::RecordBatch&)>;

  // The rows' text and blobs, copied until their batch goes to `on_batch`,
  // are held in `memory`. REQUIRES: `statement` is prepared and, with
  // `memory`, outlives the builder.
  ResultBuilder(sqlite3_stmt* statement, SchemaSink on_schema, BatchSink on_batch,
                StatementMemory& memory);
  ~ResultBuilder() { memory_.Release(reserved_); }
  ResultBuilder(const ResultBuilder&) = delete;
  ResultBuilder& operator=(const ResultBuilder&) = delete;

  // Takes the statement's current row (after sqlite3_step returned SQLITE_ROW).
  Status AddRow();
  // Hands over what is left; calls on_schema if no row came.
  Status Finish();
  int64_t rows() const { return rows_; }

 private:
  struct Cell {
    int type = SQLITE_NULL;
    int64_t integer = 0;
    double real = 0;
    std::string bytes;  // text or blob
  };
  enum class ColumnType : uint8_t { kInt64, kFloat64, kUtf8, kBinary };

  Status ReserveRow();
  Cell ReadCell(int column) const;
  Status DecideSchema();
  Status Append(int column, const Cell& cell);
  Status Flush();

  sqlite3_stmt* statement_;
  SchemaSink on_schema_;
  BatchSink on_batch_;
  int columns_ = 0;
  std::vector<std::vector<Cell>> pending_;  // the first batch's rows, until the types are known
  std::vector<ColumnType> types_;
  std::shared_ptr<const arrow::Schema> schema_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  int64_t batch_rows_ = 0;
  int64_t batch_bytes_ = 0;  // of the values in pending_ or the builders
  int64_t rows_ = 0;
  StatementMemory& memory_;
  int64_t reserved_ = 0;  // in memory_, for the rows not yet handed over
};

}  // namespace zkarrow::query::internal
