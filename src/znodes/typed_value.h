// Classifies a znode's bytes so that numeric configuration can be filtered
// and summed without parsing: the --typed columns of the znode table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace zkarrow::znodes {

enum class ValueType : uint8_t { kEmpty, kInt, kFloat, kBool, kJson, kText, kBinary };

// Names by ValueType value; also the value_type column's dictionary, in this order.
inline constexpr std::array<std::string_view, 7> kValueTypeNames = {
    "empty", "int", "float", "bool", "json", "text", "binary"};
static_assert(kValueTypeNames.size() == static_cast<size_t>(ValueType::kBinary) + 1);

inline std::string_view ValueTypeName(ValueType type) {
  return kValueTypeNames[static_cast<size_t>(type)];
}

struct TypedValue {
  ValueType type = ValueType::kEmpty;
  std::optional<int64_t> as_int;   // int; bool as 0/1
  std::optional<double> as_float;  // int and float
  bool has_text = false;           // json, text, bool, int, float: the bytes are UTF-8 text
};

// Rules, first match wins (surrounding ASCII whitespace ignored for the
// scalar forms): no bytes -> empty; "true"/"false" -> bool; a decimal
// integer that fits int64 -> int; a finite decimal or exponent number ->
// float; a JSON object or array -> json; valid UTF-8 without control
// characters other than tab/newline/carriage return -> text; else binary.
TypedValue ClassifyValue(std::span<const uint8_t> bytes);

bool IsValidUtf8(std::span<const uint8_t> bytes);

}  // namespace zkarrow::znodes
