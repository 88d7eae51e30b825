#include "znodes/typed_value.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace zkarrow::znodes {
namespace {

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsAsciiSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsAsciiSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text.front() == '-' ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> ParseFloat(std::string_view text) {
  // Only plain decimal notation: "nan", "inf" and hex floats stay text.
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string_view::npos) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

bool HasControlCharacters(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && !IsAsciiSpace(c)) || byte == 0x7f) return true;
  }
  return false;
}

}  // namespace

bool IsValidUtf8(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint8_t lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t min_code_point;
    uint32_t code_point;
    if ((lead & 0xe0) == 0xc0) {
      extra = 1, min_code_point = 0x80, code_point = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
      extra = 2, min_code_point = 0x800, code_point = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
      extra = 3, min_code_point = 0x10000, code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (bytes.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      uint8_t next = bytes[i + k];
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid.
    if (code_point < min_code_point || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

TypedValue ClassifyValue(std::span<const uint8_t> bytes) {
  TypedValue value;
  if (bytes.empty()) return value;
  if (!IsValidUtf8(bytes)) {
    value.type = ValueType::kBinary;
    return value;
  }
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::string_view trimmed = Trim(text);
  value.has_text = true;
  if (trimmed == "true" || trimmed == "false") {
    value.type = ValueType::kBool;
    value.as_int = trimmed == "true" ? 1 : 0;
    return value;
  }
  if (auto as_int = ParseInt(trimmed)) {
    value.type = ValueType::kInt;
    value.as_int = as_int;
    value.as_float = static_cast<double>(*as_int);
    return value;
  }
  if (auto as_float = ParseFloat(trimmed)) {
    value.type = ValueType::kFloat;
    value.as_float = as_float;
    return value;
  }
  if (!trimmed.empty() && (trimmed.front() == '{' || trimmed.front() == '[') &&
      nlohmann::json::accept(trimmed)) {
    value.type = ValueType::kJson;
    return value;
  }
  if (HasControlCharacters(text)) {
    value.type = ValueType::kBinary;
    value.has_text = false;
    return value;
  }
  value.type = ValueType::kText;
  return value;
}

}  // namespace zkarrow::znodes
