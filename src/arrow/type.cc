#include "arrow/type.h"

namespace zkarrow::arrow {
namespace {

DataType Simple(TypeId id) {
  DataType type;
  type.id = id;
  return type;
}

const char* TimeUnitSuffix(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond: return "s";
    case TimeUnit::kMillisecond: return "ms";
    case TimeUnit::kMicrosecond: return "us";
    case TimeUnit::kNanosecond: return "ns";
  }
  return "?";
}

std::string ChildrenToString(const std::vector<Field>& children) {
  std::string text;
  for (size_t i = 0; i < children.size(); ++i) {
    if (i > 0) text += ", ";
    text += FieldToString(children[i]);
  }
  return text;
}

}  // namespace

DataType NullType() { return Simple(TypeId::kNull); }
DataType BoolType() { return Simple(TypeId::kBool); }
DataType Utf8Type() { return Simple(TypeId::kUtf8); }
DataType BinaryType() { return Simple(TypeId::kBinary); }

DataType IntType(int32_t bit_width, bool is_signed) {
  DataType type = Simple(TypeId::kInt);
  type.bit_width = bit_width;
  type.is_signed = is_signed;
  return type;
}

DataType FloatType(FloatPrecision precision) {
  DataType type = Simple(TypeId::kFloatingPoint);
  type.float_precision = precision;
  return type;
}

DataType TimestampType(TimeUnit unit, std::string timezone) {
  DataType type = Simple(TypeId::kTimestamp);
  type.time_unit = unit;
  type.timezone = std::move(timezone);
  return type;
}

DataType ListType(Field item) {
  DataType type = Simple(TypeId::kList);
  type.children.push_back(std::move(item));
  return type;
}

DataType StructType(std::vector<Field> fields) {
  DataType type = Simple(TypeId::kStruct);
  type.children = std::move(fields);
  return type;
}

Field MakeField(std::string name, DataType type, bool nullable) {
  Field field;
  field.name = std::move(name);
  field.type = std::move(type);
  field.nullable = nullable;
  return field;
}

std::string TypeToString(const DataType& type) {
  switch (type.id) {
    case TypeId::kNull: return "null";
    case TypeId::kBool: return "bool";
    case TypeId::kInt:
      return std::string(type.is_signed ? "int" : "uint") + std::to_string(type.bit_width);
    case TypeId::kFloatingPoint:
      switch (type.float_precision) {
        case FloatPrecision::kHalf: return "halffloat";
        case FloatPrecision::kSingle: return "float";
        case FloatPrecision::kDouble: return "double";
      }
      return "float?";
    case TypeId::kDecimal:
      return "decimal" + std::to_string(type.bit_width) + "(" +
             std::to_string(type.decimal_precision) + ", " + std::to_string(type.decimal_scale) + ")";
    case TypeId::kDate: return type.date_unit == DateUnit::kDay ? "date32[day]" : "date64[ms]";
    case TypeId::kTime:
      return "time" + std::to_string(type.bit_width) + "[" + TimeUnitSuffix(type.time_unit) + "]";
    case TypeId::kTimestamp: {
      std::string text = std::string("timestamp[") + TimeUnitSuffix(type.time_unit);
      if (!type.timezone.empty()) text += ", tz=" + type.timezone;
      return text + "]";
    }
    case TypeId::kDuration: return std::string("duration[") + TimeUnitSuffix(type.time_unit) + "]";
    case TypeId::kInterval:
      switch (type.interval_unit) {
        case IntervalUnit::kYearMonth: return "interval[year_month]";
        case IntervalUnit::kDayTime: return "interval[day_time]";
        case IntervalUnit::kMonthDayNano: return "interval[month_day_nano]";
      }
      return "interval?";
    case TypeId::kFixedSizeBinary: return "fixed_size_binary[" + std::to_string(type.byte_width) + "]";
    case TypeId::kBinary: return "binary";
    case TypeId::kLargeBinary: return "large_binary";
    case TypeId::kUtf8: return "utf8";
    case TypeId::kLargeUtf8: return "large_utf8";
    case TypeId::kList: return "list<" + ChildrenToString(type.children) + ">";
    case TypeId::kLargeList: return "large_list<" + ChildrenToString(type.children) + ">";
    case TypeId::kFixedSizeList:
      return "fixed_size_list<" + ChildrenToString(type.children) + ">[" +
             std::to_string(type.list_size) + "]";
    case TypeId::kStruct: return "struct<" + ChildrenToString(type.children) + ">";
    case TypeId::kMap:
      return std::string("map<") + ChildrenToString(type.children) +
             (type.keys_sorted ? ", keys_sorted>" : ">");
    case TypeId::kUnion:
      return std::string(type.union_mode == UnionMode::kDense ? "dense_union<" : "sparse_union<") +
             ChildrenToString(type.children) + ">";
    case TypeId::kBinaryView: return "binary_view";
    case TypeId::kUtf8View: return "utf8_view";
    case TypeId::kListView: return "list_view<" + ChildrenToString(type.children) + ">";
    case TypeId::kLargeListView: return "large_list_view<" + ChildrenToString(type.children) + ">";
    case TypeId::kRunEndEncoded:
      return "run_end_encoded<" + ChildrenToString(type.children) + ">";
  }
  return "unknown";
}

std::string FieldToString(const Field& field) {
  std::string text = field.name + ": ";
  if (field.dictionary) {
    text += "dictionary<values=" + TypeToString(field.type) +
            ", indices=" + TypeToString(field.dictionary->index_type) +
            ", id=" + std::to_string(field.dictionary->id) +
            (field.dictionary->ordered ? ", ordered>" : ">");
  } else {
    text += TypeToString(field.type);
  }
  if (!field.nullable) text += " not null";
  return text;
}

int BufferCount(TypeId id, UnionMode mode) {
  switch (id) {
    case TypeId::kNull:
    case TypeId::kRunEndEncoded: return 0;
    case TypeId::kStruct:
    case TypeId::kFixedSizeList: return 1;
    case TypeId::kUnion: return mode == UnionMode::kDense ? 2 : 1;
    case TypeId::kBinary:
    case TypeId::kLargeBinary:
    case TypeId::kUtf8:
    case TypeId::kLargeUtf8:
    case TypeId::kListView:
    case TypeId::kLargeListView: return 3;
    default: return 2;  // validity + values, offsets or views
  }
}

bool IsNewerThanFormat1(const DataType& type) {
  switch (type.id) {
    case TypeId::kBinaryView:
    case TypeId::kUtf8View:
    case TypeId::kListView:
    case TypeId::kLargeListView:
    case TypeId::kRunEndEncoded: return true;
    case TypeId::kDecimal: return type.bit_width < 128;
    default: return false;
  }
}

namespace {

// Length of the valid UTF-8 sequence at the start of `text` that is not a
// C1 control character (U+0080..U+009F, which terminals may obey), else 0.
size_t PrintableUtf8Length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t code = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool invalid = overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff);
  if (invalid || (code >= 0x80 && code <= 0x9f)) return 0;
  return length;
}

}  // namespace

std::string EscapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (size_t n = c >= 0x80 ? PrintableUtf8Length(text.substr(i)) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
    ++i;
  }
  return out;
}

}  // namespace zkarrow::arrow
