// Reads every value a consumer of a validated array may read, as the type
// and length imply (not as the buffer sizes say): validity bits, fixed-width
// values, offsets and the bytes or child elements they point at, children,
// union members and dictionary entries by index. A validation gap then
// shows up as a sanitizer report.
#pragma once

#include <cstdint>

#include "arrow/array.h"
#include "arrow/array_access.h"
#include "arrow/type.h"

namespace zkarrow::arrow::fuzz {

class Toucher {
 public:
  // Elements [start, start + count) of `array` (relative to its offset),
  // typed by `field`.
  void Touch(const Field& field, const ArrayData& array, int64_t start, int64_t count,
             int depth = 0) {
    if (count <= 0 || depth > 200) return;
    const DataType& type = field.dictionary ? field.dictionary->index_type : field.type;
    const int64_t first = array.offset + start;
    if (HasValidityBitmap(type.id) && !array.buffers.empty() && array.buffers[0]) {
      for (int64_t i = first; i < first + count; ++i) Add(GetBit(array.buffers[0]->data(), i));
    }
    switch (type.id) {
      case TypeId::kNull:
        break;
      case TypeId::kBool:
        for (int64_t i = first; i < first + count; ++i) Add(GetBit(array.buffers[1]->data(), i));
        break;
      case TypeId::kBinary:
      case TypeId::kUtf8:
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8: {
        const bool large = IsLargeOffsets(type.id);
        for (int64_t i = start; i < start + count; ++i) {
          for (uint8_t byte : BinaryValue(array, i, large)) Add(byte);
        }
        break;
      }
      case TypeId::kBinaryView:
      case TypeId::kUtf8View:
        for (int64_t i = start; i < start + count; ++i) {
          for (uint8_t byte : ViewValue(array, i)) Add(byte);
        }
        break;
      case TypeId::kListView:
      case TypeId::kLargeListView:
        for (int64_t i = start; i < start + count; ++i) {
          const ChildRange range = ListChildRange(type.id, array, i);
          Touch(type.children[0], *array.children[0], range.start, range.size, depth + 1);
        }
        break;
      case TypeId::kRunEndEncoded:
        for (int64_t i = start; i < start + count; ++i) {
          Touch(type.children[1], *array.children[1], RunIndex(type, array, i), 1, depth + 1);
        }
        break;
      case TypeId::kList:
      case TypeId::kMap:
      case TypeId::kLargeList: {
        const bool large = IsLargeOffsets(type.id);
        const int64_t begin = ReadOffset(array, start, large);
        const int64_t end = ReadOffset(array, start + count, large);
        Touch(type.children[0], *array.children[0], begin, end - begin, depth + 1);
        break;
      }
      case TypeId::kFixedSizeList:
        Touch(type.children[0], *array.children[0], first * type.list_size, count * type.list_size,
              depth + 1);
        break;
      case TypeId::kStruct:
        for (size_t c = 0; c < type.children.size(); ++c) {
          Touch(type.children[c], *array.children[c], first, count, depth + 1);
        }
        break;
      case TypeId::kUnion:
        for (int64_t i = start; i < start + count; ++i) {
          const int child = UnionChildForTypeId(type, UnionTypeId(array, i));
          if (child < 0) continue;  // the validation let an undeclared id through
          Touch(type.children[static_cast<size_t>(child)],
                *array.children[static_cast<size_t>(child)], UnionChildIndex(type, array, i), 1,
                depth + 1);
        }
        break;
      default: {
        const int64_t width = FixedWidth(type);
        for (int64_t i = start; i < start + count; ++i) {
          for (uint8_t byte : FixedWidthValue(array, i, width)) Add(byte);
        }
        break;
      }
    }
    if (field.dictionary && array.dictionary) {
      Field values = field;
      values.dictionary.reset();
      for (int64_t i = start; i < start + count; ++i) {
        if (!IsValidAt(array, i)) continue;
        Touch(values, *array.dictionary, ReadDictionaryIndex(array, i, type), 1, depth + 1);
      }
    }
  }

  uint8_t sum() const { return sum_; }

 private:
  void Add(uint8_t byte) {
    const volatile uint8_t value = byte;
    sum_ = static_cast<uint8_t>(sum_ + value);
  }

  uint8_t sum_ = 0;
};

inline void TouchBatch(const RecordBatch& batch) {
  Toucher toucher;
  for (size_t i = 0; i < batch.columns.size() && i < batch.schema->fields.size(); ++i) {
    toucher.Touch(batch.schema->fields[i], *batch.columns[i], 0, batch.columns[i]->length);
  }
  volatile uint8_t sink = toucher.sum();
  (void)sink;
}

}  // namespace zkarrow::arrow::fuzz
