// The transaction-log audit table: every transaction of a data directory's
// logs as a row, in zxid order. A multi gives one row per sub-operation,
// all with the multi's zxid and a multi_index (null outside multis).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "arrow/builder.h"
#include "arrow/dictionary_builder.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "arrow/type.h"
#include "base/status.h"
#include "znodes/datadir/txn.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::znodes::datadir {

// zxid, time (timestamp[ms, UTC]), session, cxid, type (dictionary utf8),
// multi_index, path, data, version, acl, ephemeral, ttl_ms, parent_cversion,
// session_timeout_ms, error (the ZooKeeper error name of an error txn).
arrow::Schema TxnLogSchema();

// Builds batches of the table from decoded transactions.
class TxnLogBatchBuilder {
 public:
  static Result<TxnLogBatchBuilder> Make();

  // Appends the transaction's row(s).
  Status Append(const Transaction& txn);
  int64_t num_rows() const { return columns_.num_rows(); }
  // Bytes of path and data so far, for cutting batches in time.
  int64_t value_bytes();
  Result<arrow::RecordBatch> Finish();
  // Makes room for `rows` more rows in every column, and for as many bytes
  // in each variable-length one as the last batch held: the next batch then
  // takes that batch's freed buffers back whole (pages faulted in) instead
  // of growing by doubling into fresh pages.
  void Reserve(int64_t rows);

 private:
  // The builders of columns_ by type, looked up once rather than per row
  // (a checked cast each: a tenth of a 1M-transaction run).
  struct Builders {
    arrow::Int64Builder* zxid;
    arrow::TimestampBuilder* time;
    arrow::Int64Builder* session;
    arrow::Int32Builder* cxid;
    arrow::StringDictionaryBuilder* type;
    arrow::Int32Builder* multi_index;
    arrow::BinaryBuilder* path;
    arrow::BinaryBuilder* data;
    arrow::Int32Builder* version;
    arrow::ListBuilder* acl;
    arrow::StructBuilder* acl_entry;
    arrow::Int32Builder* acl_perms;
    arrow::BinaryBuilder* acl_scheme;
    arrow::BinaryBuilder* acl_id;
    arrow::BooleanBuilder* ephemeral;
    arrow::Int64Builder* ttl_ms;
    arrow::Int32Builder* parent_cversion;
    arrow::Int32Builder* session_timeout_ms;
    arrow::BinaryBuilder* error;
  };

  explicit TxnLogBatchBuilder(arrow::RecordBatchBuilder columns);
  std::array<arrow::BinaryBuilder*, 5> VariableLengthBuilders() const;
  Status AppendRow(const TxnHeader& header, const TxnOp* op, int32_t type,
                   std::optional<int32_t> multi_index);

  arrow::RecordBatchBuilder columns_;
  Builders b_;
  // The last batch's bytes per VariableLengthBuilders entry.
  std::array<int64_t, 5> last_value_bytes_{};
};

struct TxnLogOptions {
  std::filesystem::path dir;  // as DataDirOptions::dir
  // A batch ends at whichever comes first (see kRowsPerBatch for why
  // batches are small). One path or data value (at most jute.maxbuffer)
  // still stays far below the 2 GiB a binary column holds.
  int64_t rows_per_batch = kRowsPerBatch;
  int64_t value_bytes_per_batch = int64_t{8} << 20;
};

struct TxnLogSummary {
  size_t logs = 0;
  size_t transactions = 0;
  size_t rows = 0;
  int64_t first_zxid = 0;
  int64_t last_zxid = 0;
  std::vector<std::string> warnings;  // partial log tails, zxid gaps
};

// Reads every log of the directory, oldest first, and writes the table.
// A transaction that appears in two logs is written once.
Status WriteTxnLogTable(const TxnLogOptions& options, arrow::ipc::IpcWriter& writer,
                        TxnLogSummary* summary);

}  // namespace zkarrow::znodes::datadir
