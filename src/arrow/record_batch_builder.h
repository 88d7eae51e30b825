// One builder per field of a schema, made from the field's type, and the
// record batch they finish together.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "arrow/array.h"
#include "arrow/builder.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow {

// The builder for a field: bool, ints, floats, date, time, timestamp,
// duration, binary, utf8, list and struct of those, and dictionary-encoded
// utf8 (a growing dictionary). Other types are kNotImplemented.
Result<std::unique_ptr<ArrayBuilder>> MakeBuilder(const Field& field);

class RecordBatchBuilder {
 public:
  static Result<RecordBatchBuilder> Make(std::shared_ptr<const Schema> schema);

  const std::shared_ptr<const Schema>& schema() const { return schema_; }
  int num_columns() const { return static_cast<int>(columns_.size()); }
  // Rows appended so far: the length of the first column.
  int64_t num_rows() const { return columns_.empty() ? 0 : columns_.front()->length(); }

  ArrayBuilder& column(int i) { return *columns_[static_cast<size_t>(i)]; }
  template <typename B>
  B& column_as(int i) {
    return BuilderAs<B>(column(i));
  }
  // Swaps in a builder the caller configured, e.g. a fixed dictionary. It
  // must build the field's type; the replaced builder's values are dropped.
  void ReplaceColumn(int i, std::unique_ptr<ArrayBuilder> builder) {
    columns_[static_cast<size_t>(i)] = std::move(builder);
  }

  // Reserves `rows` more rows in every column (top level only).
  void Reserve(int64_t rows);

  // Finishes every column; fails (after emptying the builders) when the
  // columns, or a struct's children, differ in length.
  Result<RecordBatch> Finish();

 private:
  RecordBatchBuilder(std::shared_ptr<const Schema> schema,
                     std::vector<std::unique_ptr<ArrayBuilder>> columns)
      : schema_(std::move(schema)), columns_(std::move(columns)) {}

  std::shared_ptr<const Schema> schema_;
  std::vector<std::unique_ptr<ArrayBuilder>> columns_;
};

}  // namespace zkarrow::arrow
