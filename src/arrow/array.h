// Columnar data in memory. ArrayData follows the IPC buffer layout exactly, so
// reading and writing never reshuffle buffers:
//   null:               (no buffers)
//   bool, primitives:   validity, values
//   binary, utf8:       validity, offsets (int32), data       (large: int64 offsets)
//   list / large list:  validity, offsets                      + 1 child
//   fixed-size list:    validity                               + 1 child
//   struct:             validity                               + n children
//   map:                validity, offsets                      + 1 struct child
//   sparse union:       type ids                               + n children
//   dense union:        type ids, offsets (int32)              + n children
// A validity buffer may be null when null_count == 0. A dictionary-encoded
// array holds the indices in its own buffers and the values in `dictionary`.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "arrow/buffer.h"
#include "arrow/type.h"

namespace zkarrow::arrow {

struct ArrayData {
  int64_t length = 0;
  int64_t null_count = 0;
  int64_t offset = 0;  // logical start within the buffers, in elements
  std::vector<std::shared_ptr<const Buffer>> buffers;
  std::vector<std::shared_ptr<const ArrayData>> children;
  std::shared_ptr<const ArrayData> dictionary;

  // True when the element at `i` (relative to offset) is valid. Types without
  // a validity buffer (null, union) report per their own rules elsewhere.
  bool IsValid(int64_t i) const {
    if (buffers.empty() || !buffers[0]) return null_count == 0;
    int64_t bit = offset + i;
    return (buffers[0]->data()[bit >> 3] >> (bit & 7)) & 1;
  }
};

struct RecordBatch {
  std::shared_ptr<const Schema> schema;
  int64_t length = 0;
  std::vector<std::shared_ptr<const ArrayData>> columns;
};

inline bool GetBit(const uint8_t* bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
inline void SetBit(uint8_t* bits, int64_t i) { bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7)); }

}  // namespace zkarrow::arrow
