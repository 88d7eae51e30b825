// UTF-8 as the Arrow format defines utf8 values: well-formed sequences only
// (no overlong forms, no surrogates, nothing past U+10FFFF).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace zkarrow::arrow {

// Length of the valid UTF-8 sequence starting text[i], or 0 when invalid.
inline size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto b = static_cast<uint8_t>(text[i]);
  size_t length;
  uint32_t min;
  if (b < 0x80) return 1;
  if ((b & 0xe0) == 0xc0) {
    length = 2, min = 0x80;
  } else if ((b & 0xf0) == 0xe0) {
    length = 3, min = 0x800;
  } else if ((b & 0xf8) == 0xf0) {
    length = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  uint32_t code = b & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    const auto c = static_cast<uint8_t>(text[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    code = code << 6 | (c & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// The byte offset of the first invalid sequence in `bytes`, or -1 when all
// of it is UTF-8. ASCII runs are skipped eight bytes at a time.
inline int64_t FindInvalidUtf8(std::span<const uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t word;
      __builtin_memcpy(&word, text.data() + i, sizeof word);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return static_cast<int64_t>(i);
    i += length;
  }
  return -1;
}

}  // namespace zkarrow::arrow
