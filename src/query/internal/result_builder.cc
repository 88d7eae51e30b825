#include "query/internal/result_builder.h"

#include <cctype>
#include <string_view>
#include <utility>

#include "arrow/record_batch_builder.h"
#include "query/internal/sql_rewrite.h"
#include "query/query_engine.h"

namespace zkarrow::query::internal {
namespace {

const char* SqlTypeName(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "integer";
    case SQLITE_FLOAT:
      return "real";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "blob";
    default:
      return "null";
  }
}

// SQLite's own text for a real (what CAST(x AS TEXT) gives).
std::string RealText(double value) {
  char text[64];
  sqlite3_snprintf(sizeof(text), text, "%!.15g", value);
  return text;
}

std::string TextOf(int type, int64_t integer, double real, const std::string& bytes) {
  if (type == SQLITE_INTEGER) return std::to_string(integer);
  if (type == SQLITE_FLOAT) return RealText(real);
  return bytes;
}

// Whether `real`, the double nearest to `integer`, is that integer itself.
// (Casting back is defined only inside int64's range, whose upper end,
// 2^63, is itself a double just outside it.)
bool IsExactDouble(int64_t integer, double real) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  return real >= -kTwoTo63 && real < kTwoTo63 && static_cast<int64_t>(real) == integer;
}

bool StartsWithNoCase(std::string_view text, std::string_view word) {
  if (text.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != word[i]) return false;
  }
  return true;
}

// The table column result column `column` copies, as kOriginMetadataKey
// says; "" for an expression. The schema is left out for the main one,
// where the engine's own tables are.
std::string OriginOf(sqlite3_stmt* statement, int column) {
  const char* table = sqlite3_column_table_name(statement, column);
  const char* origin = sqlite3_column_origin_name(statement, column);
  if (table == nullptr || origin == nullptr) return "";
  const char* database = sqlite3_column_database_name(statement, column);
  std::string out;
  if (database != nullptr && std::string_view(database) != "main") {
    out = std::string(database) + ".";
  }
  return out + table + "." + origin;
}

}  // namespace

ResultBuilder::ResultBuilder(sqlite3_stmt* statement, SchemaSink on_schema, BatchSink on_batch,
                             StatementMemory& memory)
    : statement_(statement),
      on_schema_(std::move(on_schema)),
      on_batch_(std::move(on_batch)),
      columns_(sqlite3_column_count(statement)),
      memory_(memory) {}

// Before the row's values are copied: a row that alone needs more than the
// statement may hold fails, naming its size, instead of taking it.
Status ResultBuilder::ReserveRow() {
  int64_t bytes = 0;
  for (int c = 0; c < columns_; ++c) {
    const int type = sqlite3_column_type(statement_, c);
    if (type == SQLITE_TEXT || type == SQLITE_BLOB) bytes += sqlite3_column_bytes(statement_, c);
  }
  if (bytes > memory_.limit()) {
    return Status::OutOfRange("result row " + std::to_string(rows_ + 1) + ": expected at most " +
                              std::to_string(memory_.limit()) +
                              " bytes of text and blobs (the memory a statement may hold), "
                              "found " +
                              std::to_string(bytes));
  }
  memory_.Reserve(bytes);
  reserved_ += bytes;
  return Status::Ok();
}

ResultBuilder::Cell ResultBuilder::ReadCell(int column) const {
  Cell cell;
  cell.type = sqlite3_column_type(statement_, column);
  if (cell.type == SQLITE_INTEGER) cell.integer = sqlite3_column_int64(statement_, column);
  if (cell.type == SQLITE_FLOAT) cell.real = sqlite3_column_double(statement_, column);
  if (cell.type == SQLITE_TEXT || cell.type == SQLITE_BLOB) {
    const void* bytes = cell.type == SQLITE_TEXT
                            ? static_cast<const void*>(sqlite3_column_text(statement_, column))
                            : sqlite3_column_blob(statement_, column);
    const int length = sqlite3_column_bytes(statement_, column);
    if (bytes != nullptr) cell.bytes.assign(static_cast<const char*>(bytes), length);
  }
  return cell;
}

Status ResultBuilder::AddRow() {
  ZKA_RETURN_IF_ERROR(ReserveRow());
  ++rows_;
  if (!schema_) {
    std::vector<Cell> row;
    row.reserve(static_cast<size_t>(columns_));
    for (int c = 0; c < columns_; ++c) {
      Cell cell = ReadCell(c);
      batch_bytes_ += static_cast<int64_t>(cell.bytes.size());
      row.push_back(std::move(cell));
    }
    pending_.push_back(std::move(row));
    if (static_cast<int64_t>(pending_.size()) < kBatchRows && batch_bytes_ < kBatchBytes) {
      return Status::Ok();
    }
    return DecideSchema();
  }
  for (int c = 0; c < columns_; ++c) {
    const Cell cell = ReadCell(c);
    batch_bytes_ += static_cast<int64_t>(cell.bytes.size());
    ZKA_RETURN_IF_ERROR(Append(c, cell));
  }
  if (++batch_rows_ >= kBatchRows || batch_bytes_ >= kBatchBytes) return Flush();
  return Status::Ok();
}

Status ResultBuilder::DecideSchema() {
  auto schema = std::make_shared<arrow::Schema>();
  // A compound SELECT's rows may come from other columns than the first
  // SELECT's, which SQLite names: its fields name no origin.
  const bool compound = HasCompoundSelect(sqlite3_sql(statement_));
  types_.assign(static_cast<size_t>(columns_), ColumnType::kInt64);
  for (int c = 0; c < columns_; ++c) {
    bool text = false, blob = false, real = false, integer = false;
    for (const auto& row : pending_) {
      const int type = row[static_cast<size_t>(c)].type;
      text |= type == SQLITE_TEXT;
      blob |= type == SQLITE_BLOB;
      real |= type == SQLITE_FLOAT;
      integer |= type == SQLITE_INTEGER;
    }
    ColumnType type = ColumnType::kUtf8;
    if (blob) {
      type = ColumnType::kBinary;
    } else if (text) {
      type = ColumnType::kUtf8;
    } else if (real) {
      type = ColumnType::kFloat64;
    } else if (integer) {
      type = ColumnType::kInt64;
    } else {
      // No value to go by: the declared type of a table column, if any.
      const char* declared = sqlite3_column_decltype(statement_, c);
      const std::string_view name = declared == nullptr ? "" : declared;
      if (StartsWithNoCase(name, "INT")) type = ColumnType::kInt64;
      if (StartsWithNoCase(name, "REAL")) type = ColumnType::kFloat64;
      if (StartsWithNoCase(name, "BLOB")) type = ColumnType::kBinary;
    }
    types_[static_cast<size_t>(c)] = type;
    const char* name = sqlite3_column_name(statement_, c);
    arrow::DataType arrow_type = type == ColumnType::kInt64     ? arrow::Int64()
                                 : type == ColumnType::kFloat64 ? arrow::Float64()
                                 : type == ColumnType::kBinary  ? arrow::BinaryType()
                                                                : arrow::Utf8Type();
    arrow::Field field = arrow::MakeField(name == nullptr ? "" : name, arrow_type);
    if (std::string origin = compound ? "" : OriginOf(statement_, c); !origin.empty()) {
      field.metadata.emplace_back(kOriginMetadataKey, std::move(origin));
    }
    schema->fields.push_back(std::move(field));
  }
  schema_ = schema;
  for (const arrow::Field& field : schema_->fields) {
    ZKA_ASSIGN_OR_RETURN(auto builder, arrow::MakeBuilder(field));
    builders_.push_back(std::move(builder));
  }
  ZKA_RETURN_IF_ERROR(on_schema_(*schema_));
  std::vector<std::vector<Cell>> rows = std::move(pending_);
  pending_.clear();
  const int64_t first_row = rows_ - static_cast<int64_t>(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int c = 0; c < columns_; ++c) {
      Status appended = Append(c, rows[r][static_cast<size_t>(c)]);
      if (!appended.ok()) {
        return appended.WithContext("row " +
                                    std::to_string(first_row + static_cast<int64_t>(r) + 1));
      }
    }
    ++batch_rows_;
  }
  return Flush();
}

Status ResultBuilder::Append(int column, const Cell& cell) {
  arrow::ArrayBuilder& builder = *builders_[static_cast<size_t>(column)];
  if (cell.type == SQLITE_NULL) {
    builder.AppendNull();
    return Status::Ok();
  }
  auto mismatch = [&](const char* expected) {
    return Status::InvalidData(
        "result column '" + schema_->fields[static_cast<size_t>(column)].name + "': expected " +
        expected + " (the type its first rows had), found " + SqlTypeName(cell.type) + " in row " +
        std::to_string(rows_) + "; CAST it to one type");
  };
  switch (types_[static_cast<size_t>(column)]) {
    case ColumnType::kInt64:
      if (cell.type != SQLITE_INTEGER) return mismatch("integer");
      arrow::BuilderAs<arrow::Int64Builder>(builder).Append(cell.integer);
      return Status::Ok();
    case ColumnType::kFloat64:
      if (cell.type == SQLITE_INTEGER) {
        // A real column takes integers as doubles, which hold every integer
        // up to 2^53 exactly; a larger one would silently become another
        // number, so it is refused instead.
        const auto real = static_cast<double>(cell.integer);
        if (!IsExactDouble(cell.integer, real)) {
          return Status::InvalidData(
              "result column '" + schema_->fields[static_cast<size_t>(column)].name +
              "': the integer " + std::to_string(cell.integer) + " in row " +
              std::to_string(rows_) + " has no exact float64 value (the column is real, " +
              "from the types its first rows had); CAST the column AS TEXT to keep it exact");
        }
        arrow::BuilderAs<arrow::DoubleBuilder>(builder).Append(real);
        return Status::Ok();
      }
      if (cell.type != SQLITE_FLOAT) return mismatch("real");
      arrow::BuilderAs<arrow::DoubleBuilder>(builder).Append(cell.real);
      return Status::Ok();
    case ColumnType::kUtf8:
      if (cell.type == SQLITE_BLOB) return mismatch("text");
      return arrow::BuilderAs<arrow::StringBuilder>(builder).Append(
          TextOf(cell.type, cell.integer, cell.real, cell.bytes));
    case ColumnType::kBinary:
      return arrow::BuilderAs<arrow::BinaryBuilder>(builder).Append(
          TextOf(cell.type, cell.integer, cell.real, cell.bytes));
  }
  return Status::Internal("unknown result column type");
}

Status ResultBuilder::Flush() {
  if (batch_rows_ == 0) return Status::Ok();
  arrow::RecordBatch batch;
  batch.schema = schema_;
  batch.length = batch_rows_;
  for (auto& builder : builders_) batch.columns.push_back(builder->Finish());
  batch_rows_ = 0;
  batch_bytes_ = 0;
  Status sent = on_batch_(batch);
  memory_.Release(std::exchange(reserved_, 0));  // the values left with the batch
  return sent;
}

Status ResultBuilder::Finish() {
  if (!schema_) return DecideSchema();
  return Flush();
}

}  // namespace zkarrow::query::internal
