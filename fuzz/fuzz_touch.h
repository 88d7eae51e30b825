// Reads every byte a consumer of a validated array may legitimately read:
// each buffer up to the size the type and length require, children and
// dictionaries included. A validation gap then shows up as a sanitizer report.
#pragma once

#include <cstdint>

#include "arrow/array.h"

namespace zkarrow::arrow::fuzz {

inline uint8_t TouchArray(const ArrayData& array, int depth = 0) {
  uint8_t sum = 0;
  if (depth > 200) return sum;
  for (const auto& buffer : array.buffers) {
    if (!buffer) continue;
    const volatile uint8_t* bytes = buffer->data();
    for (int64_t i = 0; i < buffer->size(); ++i) sum = static_cast<uint8_t>(sum + bytes[i]);
  }
  for (const auto& child : array.children) {
    if (child) sum = static_cast<uint8_t>(sum + TouchArray(*child, depth + 1));
  }
  if (array.dictionary) sum = static_cast<uint8_t>(sum + TouchArray(*array.dictionary, depth + 1));
  return sum;
}

inline void TouchBatch(const RecordBatch& batch) {
  volatile uint8_t sink = 0;
  for (const auto& column : batch.columns) sink = static_cast<uint8_t>(sink + TouchArray(*column));
  (void)sink;
}

}  // namespace zkarrow::arrow::fuzz
