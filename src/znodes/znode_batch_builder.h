// Accumulates ZnodeRecords into the columns of one znode-table record batch.
// Concrete builders per column (no per-value virtual calls or allocations):
// the live walker appends ~100k rows a second through here.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "arrow/array.h"
#include "arrow/builder.h"
#include "base/status.h"
#include "znodes/znode_record.h"
#include "znodes/znode_schema.h"

namespace zkarrow::znodes {

class ZnodeBatchBuilder {
 public:
  // `schema_metadata` becomes the batches' schema metadata. `columns`: only
  // these columns of ZnodeTableSchema(typed_values), in this order (positions
  // as ZnodeColumnsNamed returns them); empty: all. Columns not asked for are
  // never filled, so a narrow table costs only its own columns.
  ZnodeBatchBuilder(bool typed_values, arrow::KeyValueMetadata schema_metadata = {},
                    std::vector<int> columns = {});

  // Fails with kOutOfRange, appending nothing, if any variable-length column
  // of the batch (ACL entries included) would pass the 2 GiB limit of 32-bit
  // offsets: Finish() and retry. A row that fails in an empty batch cannot be
  // stored at all.
  Status Append(const ZnodeRecord& record);

  int64_t rows() const { return rows_; }
  // Bytes of the variable-length columns (path, name, parent, data,
  // value_text, the ACL's scheme and id, error) in the batch so far, of
  // those filled: what decides when a batch is full.
  int64_t data_bytes() const;

  // The batch so far; the builder is empty afterwards.
  arrow::RecordBatch Finish();

  // Makes room for `rows` more rows in every column, and in each
  // variable-length column for as many bytes as the last batch held (so a
  // batch like the one before takes that one's memory back whole, its pages
  // already faulted in, instead of growing into fresh pages): appending then
  // rarely copies a column to grow it. Memory that stays unused is never
  // touched, so never paged in.
  void ReserveRows(int64_t rows);

  const std::shared_ptr<const arrow::Schema>& schema() const { return schema_; }

 private:
  bool fills(ZnodeColumn column) const { return fills_[column]; }
  // The columns of binary or utf8 values (not the ACL's, which stay small).
  std::array<std::pair<ZnodeColumn, arrow::BinaryBuilder*>, 6> VariableLengthColumns();
  void AppendStat(const ZnodeRecord& record);
  Status AppendTypedValue(const ZnodeRecord& record);

  std::vector<int> columns_;  // the batches' columns, in order
  // The variable-length bytes the last batch held, by column position.
  std::array<int64_t, kTypedColumnCount> last_data_bytes_{};
  std::array<bool, kTypedColumnCount> fills_{};
  std::shared_ptr<const arrow::Schema> schema_;
  int64_t rows_ = 0;

  arrow::StringBuilder path_, name_, parent_;
  arrow::Int32Builder depth_, kind_;
  arrow::BinaryBuilder data_;
  arrow::Int32Builder data_length_, num_children_, version_, cversion_, aversion_;
  arrow::Int64Builder czxid_, mzxid_, pzxid_, ephemeral_owner_;
  arrow::TimestampBuilder ctime_, mtime_;
  arrow::Int64Builder ttl_ms_;
  arrow::ListBuilder acl_;
  arrow::StringBuilder error_;
  arrow::Int32Builder value_type_;
  arrow::Int64Builder value_int_;
  arrow::DoubleBuilder value_float_;
  arrow::StringBuilder value_text_;
  // By column position: the builder of each column, and the dictionary of
  // the dictionary-encoded ones.
  std::array<arrow::ArrayBuilder*, kTypedColumnCount> builders_{};
  std::array<std::shared_ptr<const arrow::ArrayData>, kTypedColumnCount> dictionaries_;
  // acl_'s entries and their children, looked up once (a cast per row
  // otherwise).
  arrow::StructBuilder* acl_entries_;
  arrow::Int32Builder* acl_perms_;
  arrow::StringBuilder* acl_schemes_;
  arrow::StringBuilder* acl_ids_;
};

}  // namespace zkarrow::znodes
