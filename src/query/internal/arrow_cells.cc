#include "query/internal/arrow_cells.h"

#include <cstring>

#include "arrow/array_access.h"
#include "arrow/print/value_format.h"
#include "query/internal/sql_rewrite.h"

namespace zkarrow::query::internal {
namespace {

using arrow::TypeId;

bool IsNested(TypeId id) {
  return id == TypeId::kList || id == TypeId::kLargeList || id == TypeId::kFixedSizeList ||
         id == TypeId::kStruct || id == TypeId::kMap || id == TypeId::kUnion;
}

}  // namespace

const char* SqlDeclaredType(const arrow::Field& field) {
  if (field.dictionary) return "TEXT";
  switch (field.type.id) {
    case TypeId::kBool:
    case TypeId::kInt:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      return "INTEGER";
    case TypeId::kFloatingPoint:
      return "REAL";
    case TypeId::kBinary:
    case TypeId::kLargeBinary:
    case TypeId::kFixedSizeBinary:
      return "BLOB";
    default:
      return "TEXT";
  }
}

std::string DeclareTableSql(const arrow::Schema& schema, std::optional<int> primary_key) {
  std::string sql = "CREATE TABLE x(";
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += QuoteIdentifier(schema.fields[i].name) + " " + SqlDeclaredType(schema.fields[i]);
    if (primary_key && static_cast<size_t>(*primary_key) == i) sql += " PRIMARY KEY";
  }
  return sql + (primary_key ? ") WITHOUT ROWID" : ")");
}

CellReader::CellReader(const arrow::Field& field) : field_(field) {
  if (field.dictionary) {
    arrow::Field values = field;
    values.dictionary.reset();
    dictionary_values_ = std::make_shared<CellReader>(values);
    width_ = field.dictionary->index_type.bit_width / 8;
    kind_ = Kind::kOther;
    return;
  }
  const arrow::DataType& type = field.type;
  switch (type.id) {
    case TypeId::kBool:
      kind_ = Kind::kBool;
      break;
    case TypeId::kInt:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      kind_ = Kind::kInt;
      width_ = arrow::FixedWidth(type);
      // Only kInt has unsigned variants; a uint64 past INT64_MAX wraps.
      is_signed_ = type.id != TypeId::kInt || type.is_signed;
      break;
    case TypeId::kFloatingPoint:
      kind_ = type.float_precision == arrow::FloatPrecision::kHalf ? Kind::kPrinted : Kind::kFloat;
      width_ = arrow::FixedWidth(type);
      break;
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8:
      kind_ = Kind::kText;
      large_ = type.id == TypeId::kLargeUtf8;
      break;
    case TypeId::kBinary:
    case TypeId::kLargeBinary:
      kind_ = Kind::kBlob;
      large_ = type.id == TypeId::kLargeBinary;
      break;
    case TypeId::kFixedSizeBinary:
      kind_ = Kind::kBlob;
      width_ = type.byte_width;
      break;
    default:
      kind_ = IsNested(type.id) ? Kind::kJson : Kind::kPrinted;
      break;
  }
}

void CellReader::Set(sqlite3_context* context, const arrow::ArrayData& data, int64_t i) const {
  const bool is_null = arrow::HasValidityBitmap(field_.type.id) && !field_.dictionary
                           ? !arrow::IsValidAt(data, i)
                           : arrow::print::IsNullAt(field_, data, i);
  if (is_null) {
    sqlite3_result_null(context);
    return;
  }
  if (dictionary_values_) {
    const int64_t index = arrow::ReadInt(arrow::FixedWidthValue(data, i, width_),
                                         field_.dictionary->index_type.is_signed);
    if (data.dictionary == nullptr || index < 0 || index >= data.dictionary->length) {
      sqlite3_result_null(context);  // the IPC reader validated indices; a builder's are in range
      return;
    }
    dictionary_values_->Set(context, *data.dictionary, index);
    return;
  }
  switch (kind_) {
    case Kind::kBool:
      sqlite3_result_int(context, arrow::GetBit(data.buffers[1]->data(), data.offset + i) ? 1 : 0);
      return;
    case Kind::kInt:
      sqlite3_result_int64(context,
                           arrow::ReadInt(arrow::FixedWidthValue(data, i, width_), is_signed_));
      return;
    case Kind::kFloat: {
      std::span<const uint8_t> bytes = arrow::FixedWidthValue(data, i, width_);
      if (width_ == 4) {
        float value = 0;
        std::memcpy(&value, bytes.data(), sizeof(value));
        sqlite3_result_double(context, value);
      } else {
        double value = 0;
        std::memcpy(&value, bytes.data(), sizeof(value));
        sqlite3_result_double(context, value);
      }
      return;
    }
    case Kind::kText:
    case Kind::kBlob: {
      const uint8_t* bytes = nullptr;
      int64_t length = 0;
      if (width_ > 0) {  // fixed-size binary
        bytes = arrow::FixedWidthValue(data, i, width_).data();
        length = width_;
      } else {
        const int64_t begin = arrow::ReadOffset(data, i, large_);
        length = arrow::ReadOffset(data, i + 1, large_) - begin;
        bytes = data.buffers[2] ? data.buffers[2]->data() + begin : nullptr;
      }
      if (length > 0x7fffffff) {
        sqlite3_result_error_toobig(context);
      } else if (kind_ == Kind::kText) {
        sqlite3_result_text(context, length == 0 ? "" : reinterpret_cast<const char*>(bytes),
                            static_cast<int>(length), SQLITE_TRANSIENT);
      } else {
        sqlite3_result_blob(context, length == 0 ? static_cast<const void*>("") : bytes,
                            static_cast<int>(length), SQLITE_TRANSIENT);
      }
      return;
    }
    case Kind::kJson:
    case Kind::kPrinted:
    case Kind::kOther: {
      std::string text;
      if (kind_ == Kind::kJson) {
        arrow::print::AppendJson(field_, data, i, &text);
      } else {
        arrow::print::AppendText(field_, data, i, &text);
      }
      sqlite3_result_text(context, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      return;
    }
  }
}

}  // namespace zkarrow::query::internal
