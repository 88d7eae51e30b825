#include "arrow/print/value_format.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/print/temporal.h"
#include "arrow/utf8.h"

namespace zkarrow::arrow::print {
namespace {

void AppendInteger(int64_t value, bool is_signed, std::string* out) {
  char text[24];
  auto result = is_signed ? std::to_chars(text, text + sizeof text, value)
                          : std::to_chars(text, text + sizeof text, static_cast<uint64_t>(value));
  out->append(text, result.ptr);
}

template <typename Float>
void AppendFloat(Float value, bool json, std::string* out) {
  if (std::isnan(value)) {
    *out += json ? "\"NaN\"" : "NaN";
  } else if (std::isinf(value)) {
    *out += json ? (value > 0 ? "\"Infinity\"" : "\"-Infinity\"") : (value > 0 ? "inf" : "-inf");
  } else {
    char text[32];
    auto result = std::to_chars(text, text + sizeof text, value);  // shortest round trip
    out->append(text, result.ptr);
  }
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = uint32_t{half & 0x8000u} << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  return sign != 0 ? -magnitude : magnitude;
}

// The unscaled two's complement value in base 10, with the decimal point
// placed `scale` digits from the right.
void AppendDecimal(std::span<const uint8_t> bytes, int32_t scale, std::string* out) {
  std::vector<uint32_t> limbs(bytes.size() / 4);
  std::memcpy(limbs.data(), bytes.data(), limbs.size() * 4);
  const bool negative = (limbs.back() & 0x80000000u) != 0;
  if (negative) {  // negate: invert and add one
    uint64_t carry = 1;
    for (uint32_t& limb : limbs) {
      uint64_t sum = uint64_t{static_cast<uint32_t>(~limb)} + carry;
      limb = static_cast<uint32_t>(sum);
      carry = sum >> 32;
    }
  }
  std::string digits;  // least significant first
  bool zero = false;
  while (!zero) {
    uint64_t remainder = 0;
    zero = true;
    for (size_t k = limbs.size(); k-- > 0;) {
      uint64_t current = remainder << 32 | limbs[k];
      limbs[k] = static_cast<uint32_t>(current / 10);
      remainder = current % 10;
      zero = zero && limbs[k] == 0;
    }
    digits += static_cast<char>('0' + remainder);
  }
  if (scale < 0) digits.insert(0, static_cast<size_t>(-scale), '0');
  if (scale > 0 && digits.size() <= static_cast<size_t>(scale)) {
    digits.append(static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  if (negative) *out += '-';
  for (size_t k = digits.size(); k-- > 0;) {
    *out += digits[k];
    if (scale > 0 && k == static_cast<size_t>(scale)) *out += '.';
  }
}

void AppendEscapedBytes(std::span<const uint8_t> bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      *out += static_cast<char>(b);
    } else {
      *out += "\\x";
      *out += kHex[b >> 4];
      *out += kHex[b & 15];
    }
  }
}

void AppendBase64(std::span<const uint8_t> bytes, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  *out += '"';
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = uint32_t{bytes[i]} << 16 | uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) *out += kAlphabet[(group >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t group = uint32_t{bytes[i]} << 16 | (rest == 2 ? uint32_t{bytes[i + 1]} << 8 : 0);
    *out += kAlphabet[(group >> 18) & 63];
    *out += kAlphabet[(group >> 12) & 63];
    *out += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    *out += '=';
  }
  *out += '"';
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class Formatter {
 public:
  explicit Formatter(std::string* out) : out_(out) {}

  void Text(const Field& field, const ArrayData& data, int64_t i) {
    if (field.dictionary) return DictionaryValue(field, data, i, /*json=*/false);
    const DataType& type = field.type;
    switch (type.id) {
      case TypeId::kUtf8:
      case TypeId::kLargeUtf8:
      case TypeId::kUtf8View:
        *out_ += AsText(BinaryLikeValue(type.id, data, i));
        return;
      case TypeId::kBinary:
      case TypeId::kLargeBinary:
      case TypeId::kBinaryView:
        return AppendEscapedBytes(BinaryLikeValue(type.id, data, i), out_);
      case TypeId::kRunEndEncoded:
        return Text(type.children[1], *data.children[1], RunIndex(type, data, i));
      case TypeId::kFixedSizeBinary:
        return AppendEscapedBytes(FixedWidthValue(data, i, type.byte_width), out_);
      case TypeId::kDecimal:
        return AppendDecimal(FixedWidthValue(data, i, type.bit_width / 8), type.decimal_scale,
                             out_);
      case TypeId::kDuration:
        AppendInteger(Int64At(data, i), true, out_);
        *out_ += TimeUnitSymbol(type.time_unit);
        return;
      case TypeId::kList:
      case TypeId::kLargeList:
      case TypeId::kListView:
      case TypeId::kLargeListView:
      case TypeId::kFixedSizeList:
      case TypeId::kStruct:
      case TypeId::kMap:
      case TypeId::kUnion:
      case TypeId::kInterval:
        return Json(field, data, i);
      default:
        return Scalar(type, data, i, /*json=*/false);
    }
  }

  void Json(const Field& field, const ArrayData& data, int64_t i) {
    if (IsNullAt(field, data, i)) {
      *out_ += "null";
      return;
    }
    if (field.dictionary) return DictionaryValue(field, data, i, /*json=*/true);
    const DataType& type = field.type;
    switch (type.id) {
      case TypeId::kUtf8:
      case TypeId::kLargeUtf8:
      case TypeId::kUtf8View:
        return AppendJsonString(AsText(BinaryLikeValue(type.id, data, i)), out_);
      case TypeId::kBinary:
      case TypeId::kLargeBinary:
      case TypeId::kBinaryView:
        return AppendBase64(BinaryLikeValue(type.id, data, i), out_);
      case TypeId::kRunEndEncoded:
        return Json(type.children[1], *data.children[1], RunIndex(type, data, i));
      case TypeId::kFixedSizeBinary:
        return AppendBase64(FixedWidthValue(data, i, type.byte_width), out_);
      case TypeId::kDecimal:
        *out_ += '"';
        AppendDecimal(FixedWidthValue(data, i, type.bit_width / 8), type.decimal_scale, out_);
        *out_ += '"';
        return;
      case TypeId::kDuration:
        return AppendInteger(Int64At(data, i), true, out_);
      case TypeId::kInterval:
        return Interval(type, data, i);
      case TypeId::kList:
      case TypeId::kLargeList:
      case TypeId::kListView:
      case TypeId::kLargeListView: {
        const ChildRange range = ListChildRange(type.id, data, i);
        return JsonArray(type.children[0], *data.children[0], range.start,
                         range.start + range.size);
      }
      case TypeId::kFixedSizeList: {
        const int64_t start = (data.offset + i) * type.list_size;
        return JsonArray(type.children[0], *data.children[0], start, start + type.list_size);
      }
      case TypeId::kStruct: {
        *out_ += '{';
        for (size_t c = 0; c < type.children.size(); ++c) {
          if (c > 0) *out_ += ',';
          AppendJsonString(type.children[c].name, out_);
          *out_ += ':';
          Json(type.children[c], *data.children[c], data.offset + i);
        }
        *out_ += '}';
        return;
      }
      case TypeId::kMap:
        return Map(type, data, i);
      case TypeId::kUnion: {
        const auto c = static_cast<size_t>(UnionChildForTypeId(type, UnionTypeId(data, i)));
        return Json(type.children[c], *data.children[c], UnionChildIndex(type, data, i));
      }
      case TypeId::kDate:
      case TypeId::kTime:
      case TypeId::kTimestamp:
        *out_ += '"';
        Scalar(type, data, i, /*json=*/true);
        *out_ += '"';
        return;
      default:
        return Scalar(type, data, i, /*json=*/true);
    }
  }

 private:
  static int64_t Int64At(const ArrayData& data, int64_t i) {
    return ReadInt(FixedWidthValue(data, i, 8), true);
  }

  // null, bool, ints, floats, date, time, timestamp: the same in text and
  // JSON except for the quotes (added by the caller) and non-finite floats.
  void Scalar(const DataType& type, const ArrayData& data, int64_t i, bool json) {
    switch (type.id) {
      case TypeId::kNull:
        *out_ += "null";
        return;
      case TypeId::kBool:
        *out_ += GetBit(data.buffers[1]->data(), data.offset + i) ? "true" : "false";
        return;
      case TypeId::kInt:
        return AppendInteger(ReadInt(FixedWidthValue(data, i, type.bit_width / 8), type.is_signed),
                             type.is_signed, out_);
      case TypeId::kFloatingPoint: {
        std::span<const uint8_t> bytes = FixedWidthValue(data, i, FixedWidth(type));
        switch (type.float_precision) {
          case FloatPrecision::kHalf: {
            uint16_t half;
            std::memcpy(&half, bytes.data(), 2);
            return AppendFloat(HalfToFloat(half), json, out_);
          }
          case FloatPrecision::kSingle: {
            float value;
            std::memcpy(&value, bytes.data(), 4);
            return AppendFloat(value, json, out_);
          }
          case FloatPrecision::kDouble: {
            double value;
            std::memcpy(&value, bytes.data(), 8);
            return AppendFloat(value, json, out_);
          }
        }
        return;
      }
      case TypeId::kDate: {
        const int64_t value = ReadInt(FixedWidthValue(data, i, FixedWidth(type)), true);
        // date64 counts milliseconds, but of whole days.
        return AppendDate(type.date_unit == DateUnit::kDay ? value : value / 86400000, out_);
      }
      case TypeId::kTime:
        return AppendTimeOfDay(ReadInt(FixedWidthValue(data, i, type.bit_width / 8), true),
                               type.time_unit, out_);
      case TypeId::kTimestamp:
        return AppendTimestamp(Int64At(data, i), type.time_unit, !type.timezone.empty(), out_);
      default:
        *out_ += "?";
        return;
    }
  }

  void Interval(const DataType& type, const ArrayData& data, int64_t i) {
    std::span<const uint8_t> bytes = FixedWidthValue(data, i, FixedWidth(type));
    auto member = [&](const char* name, size_t at, size_t width, bool first) {
      if (!first) *out_ += ',';
      *out_ += '"';
      *out_ += name;
      *out_ += "\":";
      AppendInteger(ReadInt(bytes.subspan(at, width), true), true, out_);
    };
    *out_ += '{';
    switch (type.interval_unit) {
      case IntervalUnit::kYearMonth:
        member("months", 0, 4, true);
        break;
      case IntervalUnit::kDayTime:
        member("days", 0, 4, true);
        member("milliseconds", 4, 4, false);
        break;
      case IntervalUnit::kMonthDayNano:
        member("months", 0, 4, true);
        member("days", 4, 4, false);
        member("nanoseconds", 8, 8, false);
        break;
    }
    *out_ += '}';
  }

  void JsonArray(const Field& item, const ArrayData& values, int64_t start, int64_t end) {
    *out_ += '[';
    for (int64_t k = start; k < end; ++k) {
      if (k > start) *out_ += ',';
      Json(item, values, k);
    }
    *out_ += ']';
  }

  void Map(const DataType& type, const ArrayData& data, int64_t i) {
    const Field& entries = type.children[0];
    const ArrayData& entry_data = *data.children[0];
    const int64_t start = ReadOffset(data, i, false);
    const int64_t end = ReadOffset(data, i + 1, false);
    *out_ += '[';
    for (int64_t k = start; k < end; ++k) {
      if (k > start) *out_ += ',';
      *out_ += "{\"key\":";
      Json(entries.type.children[0], *entry_data.children[0], entry_data.offset + k);
      *out_ += ",\"value\":";
      Json(entries.type.children[1], *entry_data.children[1], entry_data.offset + k);
      *out_ += '}';
    }
    *out_ += ']';
  }

  void DictionaryValue(const Field& field, const ArrayData& data, int64_t i, bool json) {
    Field values = field;
    values.dictionary.reset();
    const int64_t index = ReadDictionaryIndex(data, i, field.dictionary->index_type);
    if (json) {
      Json(values, *data.dictionary, index);
    } else {
      Text(values, *data.dictionary, index);
    }
  }

  std::string* out_;
};

}  // namespace

bool IsNullAt(const Field& field, const ArrayData& data, int64_t i) {
  if (field.dictionary) {
    if (!IsValidAt(data, i)) return true;
    Field values = field;
    values.dictionary.reset();
    return IsNullAt(values, *data.dictionary,
                    ReadDictionaryIndex(data, i, field.dictionary->index_type));
  }
  switch (field.type.id) {
    case TypeId::kNull:
      return true;
    case TypeId::kRunEndEncoded:
      return IsNullAt(field.type.children[1], *data.children[1], RunIndex(field.type, data, i));
    case TypeId::kUnion: {
      const int c = UnionChildForTypeId(field.type, UnionTypeId(data, i));
      if (c < 0) return true;
      const auto child = static_cast<size_t>(c);
      return IsNullAt(field.type.children[child], *data.children[child],
                      UnionChildIndex(field.type, data, i));
    }
    default:
      return !IsValidAt(data, i);
  }
}

void AppendText(const Field& field, const ArrayData& data, int64_t i, std::string* out) {
  Formatter(out).Text(field, data, i);
}

void AppendJson(const Field& field, const ArrayData& data, int64_t i, std::string* out) {
  Formatter(out).Json(field, data, i);
}

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out += '"';
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      *out += "\xef\xbf\xbd";  // U+FFFD for a byte that is not UTF-8
      ++i;
      continue;
    }
    if (length > 1) {
      out->append(text.substr(i, length));
    } else if (c == '"' || c == '\\') {
      *out += '\\';
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) {
      *out += "\\u00";
      *out += kHex[(c >> 4) & 15];
      *out += kHex[c & 15];
    } else {
      *out += c;
    }
    i += length;
  }
  *out += '"';
}

}  // namespace zkarrow::arrow::print
