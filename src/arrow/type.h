// The logical types of the Arrow columnar format, fields and schemas: those of
// format 1.0 and the layouts added since (views, list views, run-end
// encoding, 32/64-bit decimals).
//
// DataType is a plain value: one id plus the parameters that id uses; the
// others stay at their defaults. Nested types keep their children as Fields.
// A dictionary-encoded field keeps its *value* type in Field::type and the
// encoding (id, index type) in Field::dictionary, exactly as IPC does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkarrow::arrow {

enum class TypeId : uint8_t {
  kNull,
  kBool,
  kInt,
  kFloatingPoint,
  kDecimal,
  kDate,
  kTime,
  kTimestamp,
  kDuration,
  kInterval,
  kFixedSizeBinary,
  kBinary,
  kLargeBinary,
  kUtf8,
  kLargeUtf8,
  kList,
  kLargeList,
  kFixedSizeList,
  kStruct,
  kMap,
  kUnion,
  // Newer than format 1.0 (see docs/ARCHITECTURE.md: "Arrow's newer layouts").
  kBinaryView,
  kUtf8View,
  kListView,
  kLargeListView,
  kRunEndEncoded,
};

enum class FloatPrecision : uint8_t { kHalf, kSingle, kDouble };
enum class DateUnit : uint8_t { kDay, kMillisecond };
enum class TimeUnit : uint8_t { kSecond, kMillisecond, kMicrosecond, kNanosecond };
enum class IntervalUnit : uint8_t { kYearMonth, kDayTime, kMonthDayNano };
enum class UnionMode : uint8_t { kSparse, kDense };

using KeyValueMetadata = std::vector<std::pair<std::string, std::string>>;

struct Field;

struct DataType {
  TypeId id = TypeId::kNull;
  int32_t bit_width = 0;   // kInt (8..64), kTime (32/64), kDecimal (32/64/128/256)
  bool is_signed = false;  // kInt
  FloatPrecision float_precision = FloatPrecision::kDouble;
  int32_t decimal_precision = 0;
  int32_t decimal_scale = 0;
  DateUnit date_unit = DateUnit::kDay;
  TimeUnit time_unit = TimeUnit::kMillisecond;  // kTime, kTimestamp, kDuration
  std::string timezone;                         // kTimestamp; empty = naive
  IntervalUnit interval_unit = IntervalUnit::kYearMonth;
  int32_t byte_width = 0;    // kFixedSizeBinary
  int32_t list_size = 0;     // kFixedSizeList
  bool keys_sorted = false;  // kMap
  UnionMode union_mode = UnionMode::kSparse;
  std::vector<int32_t> union_type_ids;  // kUnion; empty means 0..n-1
  // list, large list, fixed list, list views: 1; map: 1 struct; struct/union:
  // n; run-end encoded: 2 (run_ends: int16/32/64, values).
  std::vector<Field> children;

  friend bool operator==(const DataType&, const DataType&) = default;
};

struct DictionaryEncoding {
  int64_t id = 0;
  DataType index_type;  // a kInt type
  bool ordered = false;
  friend bool operator==(const DictionaryEncoding&, const DictionaryEncoding&) = default;
};

struct Field {
  std::string name;
  DataType type;
  bool nullable = true;
  std::optional<DictionaryEncoding> dictionary;
  KeyValueMetadata metadata;
  friend bool operator==(const Field&, const Field&) = default;
};

struct Schema {
  std::vector<Field> fields;
  KeyValueMetadata metadata;
  friend bool operator==(const Schema&, const Schema&) = default;
};

// Factories for the types zkarrow writes and tests use most.
DataType NullType();
DataType BoolType();
DataType IntType(int32_t bit_width, bool is_signed);
inline DataType Int8() { return IntType(8, true); }
inline DataType Int16() { return IntType(16, true); }
inline DataType Int32() { return IntType(32, true); }
inline DataType Int64() { return IntType(64, true); }
inline DataType UInt8() { return IntType(8, false); }
inline DataType UInt16() { return IntType(16, false); }
inline DataType UInt32() { return IntType(32, false); }
inline DataType UInt64() { return IntType(64, false); }
DataType FloatType(FloatPrecision precision);
inline DataType Float64() { return FloatType(FloatPrecision::kDouble); }
DataType TimestampType(TimeUnit unit, std::string timezone);
DataType Utf8Type();
DataType BinaryType();
DataType ListType(Field item);
DataType StructType(std::vector<Field> fields);

Field MakeField(std::string name, DataType type, bool nullable = true);

// Human-readable type, e.g. "timestamp[ms, tz=UTC]" or "list<item: int32>".
std::string TypeToString(const DataType& type);
std::string FieldToString(const Field& field);

// Names and metadata read from a file, made safe to print: control
// characters (which could drive a terminal, C1 included), bytes that are not
// UTF-8 and backslashes become \xNN, so the result is text that maps back to
// one byte string.
std::string EscapeText(std::string_view text);

// Number of buffers an array of this type carries in IPC (validity included,
// where the type has one): e.g. utf8 -> 3, struct -> 1, null -> 0. For the
// view types, the fixed ones (validity, views): their variadic data buffers
// come on top, as many as the RecordBatch's variadicBufferCounts say.
int BufferCount(TypeId id, UnionMode mode = UnionMode::kSparse);

// Types whose arrays carry variadic data buffers (BinaryView, Utf8View).
inline bool IsViewType(TypeId id) { return id == TypeId::kBinaryView || id == TypeId::kUtf8View; }
// Types added to the columnar format after 1.0 (decimal32/64 are kDecimal).
bool IsNewerThanFormat1(const DataType& type);

}  // namespace zkarrow::arrow
