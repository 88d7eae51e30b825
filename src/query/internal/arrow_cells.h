// Arrow columns as SQLite sees them. One mapping for every table the engine
// serves (znodes, txns, read_arrow), so a value reads the same whichever
// source it came from:
//   bool, integers, timestamps, dates, times, durations -> INTEGER (the raw
//     count of the type's unit: a timestamp[ms] is epoch milliseconds)
//   floats -> REAL; utf8 and dictionary-encoded values -> TEXT; binary -> BLOB
//   lists, structs, maps, unions -> TEXT holding their JSON (json_extract
//     works on them); decimals and intervals -> TEXT as zkarrow cat prints them
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"

namespace zkarrow::query::internal {

// The SQL type a column of `field` is declared with: INTEGER, REAL, TEXT or BLOB.
const char* SqlDeclaredType(const arrow::Field& field);

// "CREATE TABLE x(...)" for sqlite3_declare_vtab: the schema's columns; with
// a primary key column, WITHOUT ROWID (SQLite then tells rows apart by it,
// e.g. when it unites the scans of an OR).
std::string DeclareTableSql(const arrow::Schema& schema, std::optional<int> primary_key);

// Hands element i of one column to SQLite (sqlite3_result_*). Built once per
// column, so that per-value calls do no type dispatch setup or copies.
class CellReader {
 public:
  explicit CellReader(const arrow::Field& field);
  // REQUIRES: `data` is a validated array of the field's type; i < its length.
  void Set(sqlite3_context* context, const arrow::ArrayData& data, int64_t i) const;

 private:
  enum class Kind : uint8_t { kBool, kInt, kFloat, kText, kBlob, kJson, kPrinted, kOther };
  arrow::Field field_;
  Kind kind_ = Kind::kOther;
  int64_t width_ = 0;
  bool large_ = false;
  bool is_signed_ = true;
  // Dictionary-encoded columns: the reader of the values the indices select.
  std::shared_ptr<CellReader> dictionary_values_;
};

}  // namespace zkarrow::query::internal
