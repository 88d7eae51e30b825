#include "arrow/testing/integration_json.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "arrow/bitmap_builder.h"
#include "arrow/buffer.h"

namespace zkarrow::arrow::testing {
namespace {

using nlohmann::json;

// --- Small parsing helpers: every error names where in the document it is. ---

Status Invalid(const std::string& where, const std::string& what) {
  return Status::InvalidData(where + ": " + what);
}

Result<const json*> Member(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) return Invalid(where, "expected an object");
  auto it = object.find(key);
  if (it == object.end()) return Invalid(where, std::string("missing \"") + key + "\"");
  return &*it;
}

const json* OptionalMember(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Result<std::string> StringMember(const json& object, const char* key, const std::string& where) {
  ZKA_ASSIGN_OR_RETURN(const json* value, Member(object, key, where));
  if (!value->is_string()) return Invalid(where, std::string("\"") + key + "\" is not a string");
  return value->get<std::string>();
}

// 64-bit integers travel as strings (JSON numbers are doubles to many
// readers); smaller ones as numbers. Both are accepted everywhere.
Result<int64_t> ToInt64(const json& value, const std::string& where) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Invalid(where, "integer " + value.dump() + " out of int64 range");
    }
    return value.get<int64_t>();
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    int64_t parsed = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (error == std::errc() && end == text.data() + text.size()) return parsed;
  }
  return Invalid(where, "expected an integer, got " + value.dump());
}

Result<uint64_t> ToUInt64(const json& value, const std::string& where) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    uint64_t parsed = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (error == std::errc() && end == text.data() + text.size()) return parsed;
  }
  return Invalid(where, "expected an unsigned integer, got " + value.dump());
}

Result<int64_t> IntMember(const json& object, const char* key, const std::string& where) {
  ZKA_ASSIGN_OR_RETURN(const json* value, Member(object, key, where));
  return ToInt64(*value, where + "." + key);
}

bool BoolMemberOr(const json& object, const char* key, bool fallback) {
  const json* value = OptionalMember(object, key);
  return value != nullptr && value->is_boolean() ? value->get<bool>() : fallback;
}

Result<const json*> ArrayMember(const json& object, const char* key, const std::string& where) {
  ZKA_ASSIGN_OR_RETURN(const json* value, Member(object, key, where));
  if (!value->is_array()) return Invalid(where, std::string("\"") + key + "\" is not an array");
  return value;
}

// Appends the low `width` bytes of `bits` (little-endian, as IPC stores them).
void AppendLittleEndian(BufferBuilder& out, uint64_t bits, int width) { out.Append(&bits, width); }

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status AppendHex(BufferBuilder& out, const json& value, const std::string& where) {
  if (!value.is_string()) return Invalid(where, "expected a hex string, got " + value.dump());
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() % 2 != 0) return Invalid(where, "odd-length hex string");
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = Hex(text[i]);
    int lo = Hex(text[i + 1]);
    if (hi < 0 || lo < 0) return Invalid(where, "not hex: \"" + text + "\"");
    out.AppendValue(static_cast<uint8_t>(hi << 4 | lo));
  }
  return Status::Ok();
}

// A decimal's unscaled value, given in base 10, as `width` bytes of two's
// complement (little-endian 32-bit limbs).
Status AppendDecimal(BufferBuilder& out, const json& value, int width, const std::string& where) {
  if (!value.is_string()) return Invalid(where, "expected a decimal string, got " + value.dump());
  std::string_view text = value.get_ref<const std::string&>();
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return Invalid(where, "empty decimal");
  std::vector<uint32_t> limbs(static_cast<size_t>(width / 4), 0);
  for (char c : text) {
    if (c < '0' || c > '9') return Invalid(where, "not a decimal integer: " + value.dump());
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (uint32_t& limb : limbs) {
      uint64_t product = uint64_t{limb} * 10 + carry;
      limb = static_cast<uint32_t>(product);
      carry = product >> 32;
    }
    if (carry != 0)
      return Invalid(where, value.dump() + " overflows " + std::to_string(width * 8) + " bits");
  }
  if (negative) {
    uint64_t carry = 1;
    for (uint32_t& limb : limbs) {
      uint64_t sum = uint64_t{static_cast<uint32_t>(~limb)} + carry;
      limb = static_cast<uint32_t>(sum);
      carry = sum >> 32;
    }
  }
  for (uint32_t limb : limbs) out.AppendValue(limb);
  return Status::Ok();
}

// IEEE 754 binary16 from a float, rounding to nearest even.
uint16_t FloatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) {  // infinity or NaN (kept quiet)
    return sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0);
  }
  if (magnitude >= 0x477ff000) return sign | 0x7c00;  // rounds past 65504
  if (magnitude < 0x38800000) {  // below 2^-14: a subnormal half, in units of 2^-24
    float absolute;
    std::memcpy(&absolute, &magnitude, sizeof absolute);
    return sign | static_cast<uint16_t>(std::nearbyint(absolute * 16777216.0f));
  }
  uint32_t half = ((magnitude >> 23) - 127 + 15) << 10 | (magnitude & 0x7fffff) >> 13;
  const uint32_t rest = magnitude & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // a carry bumps the exponent
  return sign | static_cast<uint16_t>(half);
}

int TimeUnitWidth(const DataType& type) {
  return type.id == TypeId::kTime ? type.bit_width / 8 : 8;
}

// --- Schema ---

Result<TimeUnit> ParseTimeUnit(const json& type, const std::string& where) {
  ZKA_ASSIGN_OR_RETURN(std::string unit, StringMember(type, "unit", where));
  if (unit == "SECOND") return TimeUnit::kSecond;
  if (unit == "MILLISECOND") return TimeUnit::kMillisecond;
  if (unit == "MICROSECOND") return TimeUnit::kMicrosecond;
  if (unit == "NANOSECOND") return TimeUnit::kNanosecond;
  return Invalid(where, "unknown time unit \"" + unit + "\"");
}

Result<DataType> ParseType(const json& type, std::vector<Field> children, const std::string& where);

Result<KeyValueMetadata> ParseMetadata(const json& parent, const std::string& where) {
  KeyValueMetadata metadata;
  const json* list = OptionalMember(parent, "metadata");
  if (list == nullptr || list->is_null()) return metadata;
  if (!list->is_array()) return Invalid(where, "\"metadata\" is not an array");
  for (const json& entry : *list) {
    ZKA_ASSIGN_OR_RETURN(std::string key, StringMember(entry, "key", where + ".metadata"));
    ZKA_ASSIGN_OR_RETURN(std::string value, StringMember(entry, "value", where + ".metadata"));
    metadata.emplace_back(std::move(key), std::move(value));
  }
  return metadata;
}

Result<Field> ParseField(const json& object, const std::string& parent) {
  Field field;
  ZKA_ASSIGN_OR_RETURN(field.name, StringMember(object, "name", parent));
  const std::string where = parent + "/" + field.name;
  field.nullable = BoolMemberOr(object, "nullable", true);
  std::vector<Field> children;
  if (const json* list = OptionalMember(object, "children"); list != nullptr) {
    if (!list->is_array()) return Invalid(where, "\"children\" is not an array");
    for (const json& child : *list) {
      ZKA_ASSIGN_OR_RETURN(Field parsed, ParseField(child, where));
      children.push_back(std::move(parsed));
    }
  }
  ZKA_ASSIGN_OR_RETURN(const json* type, Member(object, "type", where));
  ZKA_ASSIGN_OR_RETURN(field.type, ParseType(*type, std::move(children), where));
  if (const json* dictionary = OptionalMember(object, "dictionary"); dictionary != nullptr) {
    DictionaryEncoding encoding;
    ZKA_ASSIGN_OR_RETURN(encoding.id, IntMember(*dictionary, "id", where + ".dictionary"));
    ZKA_ASSIGN_OR_RETURN(const json* index_type,
                         Member(*dictionary, "indexType", where + ".dictionary"));
    ZKA_ASSIGN_OR_RETURN(encoding.index_type, ParseType(*index_type, {}, where + ".indexType"));
    if (encoding.index_type.id != TypeId::kInt)
      return Invalid(where, "dictionary index is not an int");
    encoding.ordered = BoolMemberOr(*dictionary, "isOrdered", false);
    field.dictionary = std::move(encoding);
  }
  ZKA_ASSIGN_OR_RETURN(field.metadata, ParseMetadata(object, where));
  return field;
}

Result<DataType> ParseType(const json& object, std::vector<Field> children,
                           const std::string& where) {
  ZKA_ASSIGN_OR_RETURN(std::string name, StringMember(object, "name", where + ".type"));
  DataType type;
  type.children = std::move(children);
  auto expect_children = [&](size_t n) -> Status {
    if (type.children.size() != n) {
      return Invalid(where, name + " needs " + std::to_string(n) + " child field(s), has " +
                                std::to_string(type.children.size()));
    }
    return Status::Ok();
  };
  if (name == "null") {
    type.id = TypeId::kNull;
  } else if (name == "bool") {
    type.id = TypeId::kBool;
  } else if (name == "int") {
    type.id = TypeId::kInt;
    ZKA_ASSIGN_OR_RETURN(int64_t width, IntMember(object, "bitWidth", where));
    if (width != 8 && width != 16 && width != 32 && width != 64) {
      return Invalid(where, "int bitWidth " + std::to_string(width));
    }
    type.bit_width = static_cast<int32_t>(width);
    type.is_signed = BoolMemberOr(object, "isSigned", true);
  } else if (name == "floatingpoint") {
    type.id = TypeId::kFloatingPoint;
    ZKA_ASSIGN_OR_RETURN(std::string precision, StringMember(object, "precision", where));
    if (precision == "HALF") {
      type.float_precision = FloatPrecision::kHalf;
    } else if (precision == "SINGLE") {
      type.float_precision = FloatPrecision::kSingle;
    } else if (precision == "DOUBLE") {
      type.float_precision = FloatPrecision::kDouble;
    } else {
      return Invalid(where, "unknown float precision \"" + precision + "\"");
    }
  } else if (name == "decimal") {
    type.id = TypeId::kDecimal;
    ZKA_ASSIGN_OR_RETURN(int64_t precision, IntMember(object, "precision", where));
    ZKA_ASSIGN_OR_RETURN(int64_t scale, IntMember(object, "scale", where));
    int64_t width = 128;
    if (OptionalMember(object, "bitWidth") != nullptr) {
      ZKA_ASSIGN_OR_RETURN(width, IntMember(object, "bitWidth", where));
    }
    if (width != 32 && width != 64 && width != 128 && width != 256) {
      return Invalid(where, "decimal bitWidth " + std::to_string(width));
    }
    type.bit_width = static_cast<int32_t>(width);
    type.decimal_precision = static_cast<int32_t>(precision);
    type.decimal_scale = static_cast<int32_t>(scale);
  } else if (name == "date") {
    type.id = TypeId::kDate;
    ZKA_ASSIGN_OR_RETURN(std::string unit, StringMember(object, "unit", where));
    if (unit != "DAY" && unit != "MILLISECOND") return Invalid(where, "date unit \"" + unit + "\"");
    type.date_unit = unit == "DAY" ? DateUnit::kDay : DateUnit::kMillisecond;
  } else if (name == "time") {
    type.id = TypeId::kTime;
    ZKA_ASSIGN_OR_RETURN(type.time_unit, ParseTimeUnit(object, where));
    ZKA_ASSIGN_OR_RETURN(int64_t width, IntMember(object, "bitWidth", where));
    if (width != 32 && width != 64) return Invalid(where, "time bitWidth " + std::to_string(width));
    type.bit_width = static_cast<int32_t>(width);
  } else if (name == "timestamp") {
    type.id = TypeId::kTimestamp;
    ZKA_ASSIGN_OR_RETURN(type.time_unit, ParseTimeUnit(object, where));
    if (const json* zone = OptionalMember(object, "timezone");
        zone != nullptr && zone->is_string()) {
      type.timezone = zone->get<std::string>();
    }
  } else if (name == "duration") {
    type.id = TypeId::kDuration;
    ZKA_ASSIGN_OR_RETURN(type.time_unit, ParseTimeUnit(object, where));
  } else if (name == "interval") {
    type.id = TypeId::kInterval;
    ZKA_ASSIGN_OR_RETURN(std::string unit, StringMember(object, "unit", where));
    if (unit == "YEAR_MONTH") {
      type.interval_unit = IntervalUnit::kYearMonth;
    } else if (unit == "DAY_TIME") {
      type.interval_unit = IntervalUnit::kDayTime;
    } else if (unit == "MONTH_DAY_NANO") {
      type.interval_unit = IntervalUnit::kMonthDayNano;
    } else {
      return Invalid(where, "unknown interval unit \"" + unit + "\"");
    }
  } else if (name == "fixedsizebinary") {
    type.id = TypeId::kFixedSizeBinary;
    ZKA_ASSIGN_OR_RETURN(int64_t width, IntMember(object, "byteWidth", where));
    type.byte_width = static_cast<int32_t>(width);
  } else if (name == "binary") {
    type.id = TypeId::kBinary;
  } else if (name == "largebinary") {
    type.id = TypeId::kLargeBinary;
  } else if (name == "utf8") {
    type.id = TypeId::kUtf8;
  } else if (name == "largeutf8") {
    type.id = TypeId::kLargeUtf8;
  } else if (name == "binaryview") {
    type.id = TypeId::kBinaryView;
  } else if (name == "utf8view") {
    type.id = TypeId::kUtf8View;
  } else if (name == "list" || name == "largelist") {
    type.id = name == "list" ? TypeId::kList : TypeId::kLargeList;
    ZKA_RETURN_IF_ERROR(expect_children(1));
  } else if (name == "listview" || name == "largelistview") {
    type.id = name == "listview" ? TypeId::kListView : TypeId::kLargeListView;
    ZKA_RETURN_IF_ERROR(expect_children(1));
  } else if (name == "runendencoded") {
    type.id = TypeId::kRunEndEncoded;
    ZKA_RETURN_IF_ERROR(expect_children(2));
  } else if (name == "fixedsizelist") {
    type.id = TypeId::kFixedSizeList;
    ZKA_RETURN_IF_ERROR(expect_children(1));
    ZKA_ASSIGN_OR_RETURN(int64_t size, IntMember(object, "listSize", where));
    type.list_size = static_cast<int32_t>(size);
  } else if (name == "struct") {
    type.id = TypeId::kStruct;
  } else if (name == "map") {
    type.id = TypeId::kMap;
    ZKA_RETURN_IF_ERROR(expect_children(1));
    type.keys_sorted = BoolMemberOr(object, "keysSorted", false);
  } else if (name == "union") {
    type.id = TypeId::kUnion;
    ZKA_ASSIGN_OR_RETURN(std::string mode, StringMember(object, "mode", where));
    if (mode != "SPARSE" && mode != "DENSE") return Invalid(where, "union mode \"" + mode + "\"");
    type.union_mode = mode == "DENSE" ? UnionMode::kDense : UnionMode::kSparse;
    if (const json* ids = OptionalMember(object, "typeIds"); ids != nullptr && ids->is_array()) {
      for (const json& id : *ids) {
        ZKA_ASSIGN_OR_RETURN(int64_t value, ToInt64(id, where + ".typeIds"));
        type.union_type_ids.push_back(static_cast<int32_t>(value));
      }
    }
  } else {
    return Status::NotImplemented(where + ": type \"" + name + "\" is not supported");
  }
  return type;
}

// Every dictionary's value field (the field with the encoding stripped), by id.
void CollectDictionaryFields(const std::vector<Field>& fields, std::map<int64_t, Field>* out) {
  for (const Field& field : fields) {
    if (field.dictionary) {
      Field values = field;
      values.dictionary.reset();
      out->emplace(field.dictionary->id, std::move(values));
    }
    CollectDictionaryFields(field.type.children, out);
  }
}

// --- Columns ---

class ColumnReader {
 public:
  explicit ColumnReader(const std::map<int64_t, std::shared_ptr<const ArrayData>>* dictionaries)
      : dictionaries_(dictionaries) {}

  Result<std::shared_ptr<const ArrayData>> Read(const Field& field, const json& column,
                                                const std::string& where) {
    auto data = std::make_shared<ArrayData>();
    ZKA_ASSIGN_OR_RETURN(data->length, IntMember(column, "count", where));
    const DataType& type = field.type;
    if (!field.dictionary && type.id == TypeId::kNull) {
      data->null_count = data->length;
      return std::shared_ptr<const ArrayData>(std::move(data));
    }
    if (field.dictionary || (type.id != TypeId::kUnion && type.id != TypeId::kRunEndEncoded)) {
      ZKA_RETURN_IF_ERROR(ReadValidity(column, data.get(), where));
    }
    if (field.dictionary) {
      ZKA_RETURN_IF_ERROR(ReadFixedWidth(field.dictionary->index_type, column, data.get(), where));
      auto it = dictionaries_->find(field.dictionary->id);
      if (it == dictionaries_->end()) {
        return Invalid(where, "no dictionary with id " + std::to_string(field.dictionary->id));
      }
      data->dictionary = it->second;
      return std::shared_ptr<const ArrayData>(std::move(data));
    }
    switch (type.id) {
      case TypeId::kBool:
        ZKA_RETURN_IF_ERROR(ReadBool(column, data.get(), where));
        break;
      case TypeId::kBinary:
      case TypeId::kUtf8:
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
        ZKA_RETURN_IF_ERROR(ReadBinary(type, column, data.get(), where));
        break;
      case TypeId::kList:
      case TypeId::kMap:
      case TypeId::kLargeList:
        ZKA_RETURN_IF_ERROR(
            ReadOffsets(column, data->length, type.id == TypeId::kLargeList, data.get(), where));
        ZKA_RETURN_IF_ERROR(ReadChildren(type, column, data.get(), where));
        break;
      case TypeId::kBinaryView:
      case TypeId::kUtf8View:
        ZKA_RETURN_IF_ERROR(ReadViews(type, column, data.get(), where));
        break;
      case TypeId::kListView:
      case TypeId::kLargeListView: {
        const int width = type.id == TypeId::kLargeListView ? 8 : 4;
        for (const char* key : {"OFFSET", "SIZE"}) {
          ZKA_ASSIGN_OR_RETURN(const json* values, Values(column, key, data->length, where));
          BufferBuilder out;
          for (const json& value : *values) {
            ZKA_RETURN_IF_ERROR(AppendInt(value, width, true, out, where + "." + key));
          }
          data->buffers.push_back(out.Finish());
        }
        ZKA_RETURN_IF_ERROR(ReadChildren(type, column, data.get(), where));
        break;
      }
      case TypeId::kFixedSizeList:
      case TypeId::kStruct:
      case TypeId::kRunEndEncoded:
        ZKA_RETURN_IF_ERROR(ReadChildren(type, column, data.get(), where));
        break;
      case TypeId::kUnion:
        ZKA_RETURN_IF_ERROR(ReadUnion(type, column, data.get(), where));
        break;
      default:
        ZKA_RETURN_IF_ERROR(ReadFixedWidth(type, column, data.get(), where));
        break;
    }
    return std::shared_ptr<const ArrayData>(std::move(data));
  }

 private:
  static Result<const json*> Values(const json& column, const char* key, int64_t expected,
                                    const std::string& where) {
    ZKA_ASSIGN_OR_RETURN(const json* values, ArrayMember(column, key, where));
    if (static_cast<int64_t>(values->size()) != expected) {
      return Invalid(where, std::string(key) + " has " + std::to_string(values->size()) +
                                " entries, expected " + std::to_string(expected));
    }
    return values;
  }

  static Status ReadValidity(const json& column, ArrayData* data, const std::string& where) {
    const json* validity = OptionalMember(column, "VALIDITY");
    if (validity == nullptr) {
      data->buffers.push_back(nullptr);
      return Status::Ok();
    }
    ZKA_ASSIGN_OR_RETURN(validity, Values(column, "VALIDITY", data->length, where));
    BitmapBuilder bits;
    bits.Reserve(data->length);
    for (const json& bit : *validity) {
      bool valid =
          bit.is_boolean() ? bit.get<bool>() : (bit.is_number() && bit.get<int64_t>() != 0);
      if (!valid) ++data->null_count;
      bits.Append(valid);
    }
    data->buffers.push_back(data->null_count > 0 ? bits.Finish() : nullptr);
    return Status::Ok();
  }

  static Status ReadBool(const json& column, ArrayData* data, const std::string& where) {
    ZKA_ASSIGN_OR_RETURN(const json* values, Values(column, "DATA", data->length, where));
    BitmapBuilder bits;
    for (const json& value : *values) {
      if (!value.is_boolean() && !value.is_number_integer()) {
        return Invalid(where, "expected a boolean, got " + value.dump());
      }
      bits.Append(value.is_boolean() ? value.get<bool>() : value.get<int64_t>() != 0);
    }
    data->buffers.push_back(bits.Finish());
    return Status::Ok();
  }

  static Status ReadFixedWidth(const DataType& type, const json& column, ArrayData* data,
                               const std::string& where) {
    ZKA_ASSIGN_OR_RETURN(const json* values, Values(column, "DATA", data->length, where));
    BufferBuilder out;
    for (size_t i = 0; i < values->size(); ++i) {
      const std::string at = where + ".DATA[" + std::to_string(i) + "]";
      ZKA_RETURN_IF_ERROR(AppendFixedWidth(type, (*values)[i], out, at));
    }
    data->buffers.push_back(out.Finish());
    return Status::Ok();
  }

  static Status AppendInt(const json& value, int width, bool is_signed, BufferBuilder& out,
                          const std::string& where) {
    const int bits = width * 8;
    if (is_signed) {
      ZKA_ASSIGN_OR_RETURN(int64_t v, ToInt64(value, where));
      if (bits < 64 && (v < -(int64_t{1} << (bits - 1)) || v >= (int64_t{1} << (bits - 1)))) {
        return Invalid(where, std::to_string(v) + " does not fit int" + std::to_string(bits));
      }
      AppendLittleEndian(out, static_cast<uint64_t>(v), width);
    } else {
      ZKA_ASSIGN_OR_RETURN(uint64_t v, ToUInt64(value, where));
      if (bits < 64 && v >= (uint64_t{1} << bits)) {
        return Invalid(where, std::to_string(v) + " does not fit uint" + std::to_string(bits));
      }
      AppendLittleEndian(out, v, width);
    }
    return Status::Ok();
  }

  static Status AppendFixedWidth(const DataType& type, const json& value, BufferBuilder& out,
                                 const std::string& where) {
    switch (type.id) {
      case TypeId::kInt:
        return AppendInt(value, type.bit_width / 8, type.is_signed, out, where);
      case TypeId::kDate:
        return AppendInt(value, type.date_unit == DateUnit::kDay ? 4 : 8, true, out, where);
      case TypeId::kTime:
      case TypeId::kTimestamp:
      case TypeId::kDuration:
        return AppendInt(value, TimeUnitWidth(type), true, out, where);
      case TypeId::kFloatingPoint: {
        if (!value.is_number()) return Invalid(where, "expected a number, got " + value.dump());
        const double v = value.get<double>();
        switch (type.float_precision) {
          case FloatPrecision::kHalf:
            out.AppendValue(FloatToHalf(static_cast<float>(v)));
            break;
          case FloatPrecision::kSingle:
            out.AppendValue(static_cast<float>(v));
            break;
          case FloatPrecision::kDouble:
            out.AppendValue(v);
            break;
        }
        return Status::Ok();
      }
      case TypeId::kDecimal:
        return AppendDecimal(out, value, type.bit_width / 8, where);
      case TypeId::kFixedSizeBinary: {
        const int64_t before = out.size();
        ZKA_RETURN_IF_ERROR(AppendHex(out, value, where));
        if (out.size() - before != type.byte_width) {
          return Invalid(where, "expected " + std::to_string(type.byte_width) + " bytes");
        }
        return Status::Ok();
      }
      case TypeId::kInterval:
        return AppendInterval(type.interval_unit, value, out, where);
      default:
        return Invalid(where, "type " + TypeToString(type) + " has no fixed-width values");
    }
  }

  static Status AppendInterval(IntervalUnit unit, const json& value, BufferBuilder& out,
                               const std::string& where) {
    switch (unit) {
      case IntervalUnit::kYearMonth:
        return AppendInt(value, 4, true, out, where);
      case IntervalUnit::kDayTime: {
        ZKA_ASSIGN_OR_RETURN(const json* days, Member(value, "days", where));
        ZKA_ASSIGN_OR_RETURN(const json* ms, Member(value, "milliseconds", where));
        ZKA_RETURN_IF_ERROR(AppendInt(*days, 4, true, out, where + ".days"));
        return AppendInt(*ms, 4, true, out, where + ".milliseconds");
      }
      case IntervalUnit::kMonthDayNano: {
        ZKA_ASSIGN_OR_RETURN(const json* months, Member(value, "months", where));
        ZKA_ASSIGN_OR_RETURN(const json* days, Member(value, "days", where));
        ZKA_ASSIGN_OR_RETURN(const json* nanos, Member(value, "nanoseconds", where));
        ZKA_RETURN_IF_ERROR(AppendInt(*months, 4, true, out, where + ".months"));
        ZKA_RETURN_IF_ERROR(AppendInt(*days, 4, true, out, where + ".days"));
        return AppendInt(*nanos, 8, true, out, where + ".nanoseconds");
      }
    }
    return Invalid(where, "unknown interval unit");
  }

  // Pushes the offsets buffer; returns the last offset through `end`.
  static Status ReadOffsets(const json& column, int64_t length, bool large, ArrayData* data,
                            const std::string& where, int64_t* end = nullptr) {
    BufferBuilder out;
    int64_t last = 0;
    if (length == 0 && OptionalMember(column, "OFFSET") == nullptr) {
      AppendLittleEndian(out, 0, large ? 8 : 4);  // writers may omit a zero-length array's offsets
    } else {
      ZKA_ASSIGN_OR_RETURN(const json* offsets, Values(column, "OFFSET", length + 1, where));
      for (size_t i = 0; i < offsets->size(); ++i) {
        ZKA_ASSIGN_OR_RETURN(int64_t offset,
                             ToInt64((*offsets)[i], where + ".OFFSET[" + std::to_string(i) + "]"));
        if (offset < last) return Invalid(where, "OFFSET decreases at " + std::to_string(i));
        last = offset;
        AppendLittleEndian(out, static_cast<uint64_t>(offset), large ? 8 : 4);
      }
    }
    data->buffers.push_back(out.Finish());
    if (end != nullptr) *end = last;
    return Status::Ok();
  }

  static Status ReadBinary(const DataType& type, const json& column, ArrayData* data,
                           const std::string& where) {
    const bool large = type.id == TypeId::kLargeBinary || type.id == TypeId::kLargeUtf8;
    const bool text = type.id == TypeId::kUtf8 || type.id == TypeId::kLargeUtf8;
    int64_t end = 0;
    ZKA_RETURN_IF_ERROR(ReadOffsets(column, data->length, large, data, where, &end));
    BufferBuilder bytes;
    if (data->length > 0) {
      ZKA_ASSIGN_OR_RETURN(const json* values, Values(column, "DATA", data->length, where));
      for (size_t i = 0; i < values->size(); ++i) {
        const json& value = (*values)[i];
        const std::string at = where + ".DATA[" + std::to_string(i) + "]";
        if (text) {
          if (!value.is_string()) return Invalid(at, "expected a string, got " + value.dump());
          const std::string& s = value.get_ref<const std::string&>();
          bytes.Append(s.data(), static_cast<int64_t>(s.size()));
        } else {
          ZKA_RETURN_IF_ERROR(AppendHex(bytes, value, at));
        }
      }
    }
    if (bytes.size() != end) {
      return Invalid(where, "DATA holds " + std::to_string(bytes.size()) +
                                " bytes but the last OFFSET is " + std::to_string(end));
    }
    data->buffers.push_back(bytes.Finish());
    return Status::Ok();
  }

  // VIEWS: {SIZE, INLINED} (text for utf8view, hex for binaryview) or
  // {SIZE, PREFIX_HEX, BUFFER_INDEX, OFFSET}; VARIADIC_DATA_BUFFERS: hex.
  static Status ReadViews(const DataType& type, const json& column, ArrayData* data,
                          const std::string& where) {
    ZKA_ASSIGN_OR_RETURN(const json* views, Values(column, "VIEWS", data->length, where));
    BufferBuilder out;
    for (size_t i = 0; i < views->size(); ++i) {
      const json& view = (*views)[i];
      const std::string at = where + ".VIEWS[" + std::to_string(i) + "]";
      ZKA_ASSIGN_OR_RETURN(int64_t size, IntMember(view, "SIZE", at));
      BufferBuilder bytes;
      AppendLittleEndian(bytes, static_cast<uint64_t>(size), 4);
      if (const json* inlined = OptionalMember(view, "INLINED"); inlined != nullptr) {
        if (type.id == TypeId::kUtf8View) {
          if (!inlined->is_string()) return Invalid(at, "INLINED is not a string");
          const std::string& text = inlined->get_ref<const std::string&>();
          bytes.Append(text.data(), static_cast<int64_t>(text.size()));
        } else {
          ZKA_RETURN_IF_ERROR(AppendHex(bytes, *inlined, at));
        }
        if (bytes.size() != 4 + size || size > 12) {
          return Invalid(at, "INLINED holds " + std::to_string(bytes.size() - 4) +
                                 " bytes for SIZE " + std::to_string(size));
        }
        bytes.AppendZeros(16 - bytes.size());
      } else {
        ZKA_ASSIGN_OR_RETURN(const json* prefix, Member(view, "PREFIX_HEX", at));
        ZKA_RETURN_IF_ERROR(AppendHex(bytes, *prefix, at));
        if (bytes.size() != 8) return Invalid(at, "PREFIX_HEX is not 4 bytes");
        ZKA_ASSIGN_OR_RETURN(const json* index, Member(view, "BUFFER_INDEX", at));
        ZKA_RETURN_IF_ERROR(AppendInt(*index, 4, true, bytes, at + ".BUFFER_INDEX"));
        ZKA_ASSIGN_OR_RETURN(const json* offset, Member(view, "OFFSET", at));
        ZKA_RETURN_IF_ERROR(AppendInt(*offset, 4, true, bytes, at + ".OFFSET"));
      }
      out.Append(bytes.data(), bytes.size());
    }
    data->buffers.push_back(out.Finish());
    ZKA_ASSIGN_OR_RETURN(const json* buffers, ArrayMember(column, "VARIADIC_DATA_BUFFERS", where));
    for (const json& buffer : *buffers) {
      BufferBuilder bytes;
      ZKA_RETURN_IF_ERROR(AppendHex(bytes, buffer, where + ".VARIADIC_DATA_BUFFERS"));
      data->buffers.push_back(bytes.Finish());
    }
    return Status::Ok();
  }

  Status ReadChildren(const DataType& type, const json& column, ArrayData* data,
                      const std::string& where) {
    const json* children = OptionalMember(column, "children");
    const size_t count = children != nullptr && children->is_array() ? children->size() : 0;
    if (count != type.children.size()) {
      return Invalid(where, "has " + std::to_string(count) + " children, the type " +
                                std::to_string(type.children.size()));
    }
    for (size_t i = 0; i < count; ++i) {
      const Field& child = type.children[i];
      ZKA_ASSIGN_OR_RETURN(auto array, Read(child, (*children)[i], where + "/" + child.name));
      data->children.push_back(std::move(array));
    }
    return Status::Ok();
  }

  Status ReadUnion(const DataType& type, const json& column, ArrayData* data,
                   const std::string& where) {
    ZKA_ASSIGN_OR_RETURN(const json* ids, Values(column, "TYPE_ID", data->length, where));
    BufferBuilder type_ids;
    for (const json& id : *ids)
      ZKA_RETURN_IF_ERROR(AppendInt(id, 1, true, type_ids, where + ".TYPE_ID"));
    data->buffers.push_back(type_ids.Finish());
    if (type.union_mode == UnionMode::kDense) {
      ZKA_ASSIGN_OR_RETURN(const json* offsets, Values(column, "OFFSET", data->length, where));
      BufferBuilder out;
      for (const json& offset : *offsets) {
        ZKA_RETURN_IF_ERROR(AppendInt(offset, 4, true, out, where + ".OFFSET"));
      }
      data->buffers.push_back(out.Finish());
    }
    return ReadChildren(type, column, data, where);
  }

  const std::map<int64_t, std::shared_ptr<const ArrayData>>* dictionaries_;
};

Result<RecordBatch> ReadBatch(const json& object, const std::shared_ptr<const Schema>& schema,
                              ColumnReader& reader, const std::string& where) {
  RecordBatch batch;
  batch.schema = schema;
  ZKA_ASSIGN_OR_RETURN(batch.length, IntMember(object, "count", where));
  ZKA_ASSIGN_OR_RETURN(const json* columns, ArrayMember(object, "columns", where));
  if (columns->size() != schema->fields.size()) {
    return Invalid(where, std::to_string(columns->size()) + " columns for " +
                              std::to_string(schema->fields.size()) + " fields");
  }
  for (size_t i = 0; i < columns->size(); ++i) {
    const Field& field = schema->fields[i];
    ZKA_ASSIGN_OR_RETURN(auto column, reader.Read(field, (*columns)[i], where + "/" + field.name));
    if (column->length != batch.length) {
      return Invalid(where + "/" + field.name, "count " + std::to_string(column->length) +
                                                   " differs from the batch's " +
                                                   std::to_string(batch.length));
    }
    batch.columns.push_back(std::move(column));
  }
  return batch;
}

Result<IntegrationJson> ParseDocument(const json& document) {
  IntegrationJson result;
  ZKA_ASSIGN_OR_RETURN(const json* schema_json, Member(document, "schema", "document"));
  auto schema = std::make_shared<Schema>();
  ZKA_ASSIGN_OR_RETURN(const json* fields, ArrayMember(*schema_json, "fields", "schema"));
  for (const json& field : *fields) {
    ZKA_ASSIGN_OR_RETURN(Field parsed, ParseField(field, "schema"));
    schema->fields.push_back(std::move(parsed));
  }
  ZKA_ASSIGN_OR_RETURN(schema->metadata, ParseMetadata(*schema_json, "schema"));
  result.schema = schema;

  ColumnReader reader(&result.dictionaries);
  if (const json* dictionaries = OptionalMember(document, "dictionaries");
      dictionaries != nullptr) {
    std::map<int64_t, Field> value_fields;
    CollectDictionaryFields(schema->fields, &value_fields);
    for (const json& dictionary : *dictionaries) {
      ZKA_ASSIGN_OR_RETURN(int64_t id, IntMember(dictionary, "id", "dictionaries"));
      const std::string where = "dictionary " + std::to_string(id);
      auto field = value_fields.find(id);
      if (field == value_fields.end()) return Invalid(where, "no field uses this id");
      ZKA_ASSIGN_OR_RETURN(const json* data, Member(dictionary, "data", where));
      ZKA_ASSIGN_OR_RETURN(const json* columns, ArrayMember(*data, "columns", where));
      if (columns->size() != 1) return Invalid(where, "expected one column");
      ZKA_ASSIGN_OR_RETURN(auto values, reader.Read(field->second, columns->front(), where));
      result.dictionaries[id] = std::move(values);
    }
  }

  ZKA_ASSIGN_OR_RETURN(const json* batches, ArrayMember(document, "batches", "document"));
  for (size_t i = 0; i < batches->size(); ++i) {
    ZKA_ASSIGN_OR_RETURN(RecordBatch batch, ReadBatch((*batches)[i], result.schema, reader,
                                                      "batch " + std::to_string(i)));
    result.batches.push_back(std::move(batch));
  }
  return result;
}

struct GzClose {
  void operator()(gzFile file) const { gzclose(file); }
};

Result<std::string> ReadMaybeGzipped(const std::filesystem::path& path) {
  // gzread passes uncompressed input through unchanged, so plain .json works too.
  std::unique_ptr<gzFile_s, GzClose> file(gzopen(path.c_str(), "rb"));
  if (!file) return Status::FromErrno(errno, "opening " + path.string());
  std::string text;
  char chunk[1 << 16];
  while (true) {
    int n = gzread(file.get(), chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      return Status::IoError("decompressing " + path.string() + ": " + gzerror(file.get(), &code));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

Result<IntegrationJson> ParseIntegrationJson(std::string_view text) {
  json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return Status::InvalidData("not valid JSON");
  // Accessors are type-checked before use; the catch only guards against a
  // check this file forgot, turning it into an error instead of a crash.
  try {
    return ParseDocument(document);
  } catch (const json::exception& e) {
    return Status::InvalidData(std::string("unexpected JSON shape: ") + e.what());
  }
}

Result<IntegrationJson> ReadIntegrationJsonFile(const std::filesystem::path& path) {
  ZKA_ASSIGN_OR_RETURN(std::string text, ReadMaybeGzipped(path));
  Result<IntegrationJson> parsed = ParseIntegrationJson(text);
  if (!parsed.ok()) return parsed.status().WithContext(path.string());
  return parsed;
}

}  // namespace zkarrow::arrow::testing
