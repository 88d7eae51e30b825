// Reading single elements out of ArrayData, for code that walks values one at
// a time (comparison, printing). Indices are logical: the array's own offset
// is added here. Callers have validated the arrays (the IPC reader does).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "arrow/array.h"
#include "arrow/type.h"

namespace zkarrow::arrow {

// Bytes per value of the types stored as one fixed-width slot; 0 for others.
inline int64_t FixedWidth(const DataType& type) {
  switch (type.id) {
    case TypeId::kInt:
    case TypeId::kDecimal:
    case TypeId::kTime:
      return type.bit_width / 8;
    case TypeId::kFloatingPoint:
      switch (type.float_precision) {
        case FloatPrecision::kHalf:
          return 2;
        case FloatPrecision::kSingle:
          return 4;
        case FloatPrecision::kDouble:
          return 8;
      }
      return 0;
    case TypeId::kDate:
      return type.date_unit == DateUnit::kDay ? 4 : 8;
    case TypeId::kTimestamp:
    case TypeId::kDuration:
      return 8;
    case TypeId::kInterval:
      switch (type.interval_unit) {
        case IntervalUnit::kYearMonth:
          return 4;
        case IntervalUnit::kDayTime:
          return 8;
        case IntervalUnit::kMonthDayNano:
          return 16;
      }
      return 0;
    case TypeId::kFixedSizeBinary:
      return type.byte_width;
    default:
      return 0;
  }
}

// Null, union and run-end encoded arrays have no validity bitmap.
inline bool HasValidityBitmap(TypeId id) {
  return id != TypeId::kNull && id != TypeId::kUnion && id != TypeId::kRunEndEncoded;
}

// Unlike ArrayData::IsValid, does not trust null_count: a slice may not know it.
inline bool IsValidAt(const ArrayData& data, int64_t i) {
  if (data.buffers.empty() || !data.buffers[0]) return true;
  return GetBit(data.buffers[0]->data(), data.offset + i);
}

// The bytes of element i of a fixed-width array.
inline std::span<const uint8_t> FixedWidthValue(const ArrayData& data, int64_t i, int64_t width) {
  return {data.buffers[1]->data() + (data.offset + i) * width, static_cast<size_t>(width)};
}

// A little-endian integer of 1, 2, 4 or 8 bytes, sign- or zero-extended.
inline int64_t ReadInt(std::span<const uint8_t> bytes, bool is_signed) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data(), bytes.size());
  const auto shift = static_cast<int>(64 - 8 * bytes.size());
  if (is_signed && shift > 0) {
    return static_cast<int64_t>(value << shift) >> shift;
  }
  return static_cast<int64_t>(value);
}

// Offset i of a list, map, binary or utf8 array (int64 offsets when `large`).
inline int64_t ReadOffset(const ArrayData& data, int64_t i, bool large) {
  const int64_t at = data.offset + i;
  return large ? data.buffers[1]->data_as<int64_t>()[at] : data.buffers[1]->data_as<int32_t>()[at];
}

inline bool IsLargeOffsets(TypeId id) {
  return id == TypeId::kLargeBinary || id == TypeId::kLargeUtf8 || id == TypeId::kLargeList;
}

// The bytes of element i of a binary or utf8 array.
inline std::span<const uint8_t> BinaryValue(const ArrayData& data, int64_t i, bool large) {
  const int64_t start = ReadOffset(data, i, large);
  const int64_t end = ReadOffset(data, i + 1, large);
  return {data.buffers[2]->data() + start, static_cast<size_t>(end - start)};
}

// One 16-byte element of a BinaryView/Utf8View array: the length, then
// either the bytes themselves (up to kViewInlineBytes, zero-padded) or the
// first four bytes, the index of a variadic data buffer and the offset in it.
struct BinaryViewSlot {
  int32_t length;
  uint8_t inline_or_prefix[12];  // inline bytes, or prefix[4], buffer index, offset
  int32_t buffer_index() const { return LoadInt32(8); }
  int32_t buffer_offset() const { return LoadInt32(12); }

 private:
  int32_t LoadInt32(size_t at) const {
    int32_t value;
    std::memcpy(&value, inline_or_prefix + at - 4, sizeof value);
    return value;
  }
};
static_assert(sizeof(BinaryViewSlot) == 16);
inline constexpr int32_t kViewInlineBytes = 12;
inline constexpr int64_t kViewBytes = 16;
// Where a view array's variadic data buffers start among its buffers.
inline constexpr size_t kFirstViewDataBuffer = 2;

inline const BinaryViewSlot& ViewSlot(const ArrayData& data, int64_t i) {
  return data.buffers[1]->data_as<BinaryViewSlot>()[data.offset + i];
}

// The bytes of element i of a BinaryView or Utf8View array.
inline std::span<const uint8_t> ViewValue(const ArrayData& data, int64_t i) {
  const BinaryViewSlot& slot = ViewSlot(data, i);
  const auto length = static_cast<size_t>(slot.length);
  if (slot.length <= kViewInlineBytes) return {slot.inline_or_prefix, length};
  const Buffer& buffer =
      *data.buffers[kFirstViewDataBuffer + static_cast<size_t>(slot.buffer_index())];
  return {buffer.data() + slot.buffer_offset(), length};
}

// The bytes of element i of any binary or utf8 array: offsets or views.
inline std::span<const uint8_t> BinaryLikeValue(TypeId id, const ArrayData& data, int64_t i) {
  return IsViewType(id) ? ViewValue(data, i) : BinaryValue(data, i, IsLargeOffsets(id));
}

inline bool IsUtf8Like(TypeId id) {
  return id == TypeId::kUtf8 || id == TypeId::kLargeUtf8 || id == TypeId::kUtf8View;
}

inline bool IsListViewType(TypeId id) {
  return id == TypeId::kListView || id == TypeId::kLargeListView;
}

// Where element i of a list, large list, map or list view lives in its
// child: [start, start + size).
struct ChildRange {
  int64_t start;
  int64_t size;
};
inline ChildRange ListChildRange(TypeId id, const ArrayData& data, int64_t i) {
  if (IsListViewType(id)) {
    const int64_t at = data.offset + i;
    if (id == TypeId::kLargeListView) {
      return {data.buffers[1]->data_as<int64_t>()[at], data.buffers[2]->data_as<int64_t>()[at]};
    }
    return {data.buffers[1]->data_as<int32_t>()[at], data.buffers[2]->data_as<int32_t>()[at]};
  }
  const bool large = IsLargeOffsets(id);
  const int64_t start = ReadOffset(data, i, large);
  return {start, ReadOffset(data, i + 1, large) - start};
}

// Run end j of a run-end encoded array's run_ends child (logical index j).
inline int64_t ReadRunEnd(const DataType& run_end_type, const ArrayData& run_ends, int64_t j) {
  return ReadInt(FixedWidthValue(run_ends, j, run_end_type.bit_width / 8), true);
}

// The index in the values child (and run_ends) of the run holding logical
// element i of a run-end encoded array: the first run ending after
// offset + i (binary search; the run ends were validated increasing).
inline int64_t RunIndex(const DataType& type, const ArrayData& data, int64_t i) {
  const DataType& run_end_type = type.children[0].type;
  const ArrayData& run_ends = *data.children[0];
  const int64_t position = data.offset + i;
  int64_t low = 0;
  int64_t high = run_ends.length;
  while (low < high) {
    const int64_t mid = low + (high - low) / 2;
    if (ReadRunEnd(run_end_type, run_ends, mid) <= position) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low;
}

// Index i of a dictionary-encoded array.
inline int64_t ReadDictionaryIndex(const ArrayData& data, int64_t i, const DataType& index_type) {
  return ReadInt(FixedWidthValue(data, i, index_type.bit_width / 8), index_type.is_signed);
}

// The child (position in DataType::children) that a union's type id selects, or -1.
inline int UnionChildForTypeId(const DataType& type, int8_t id) {
  if (type.union_type_ids.empty()) {
    return id >= 0 && static_cast<size_t>(id) < type.children.size() ? id : -1;
  }
  for (size_t c = 0; c < type.union_type_ids.size(); ++c) {
    if (type.union_type_ids[c] == id) return static_cast<int>(c);
  }
  return -1;
}

inline int8_t UnionTypeId(const ArrayData& data, int64_t i) {
  return data.buffers[0]->data_as<int8_t>()[data.offset + i];
}

// Where element i of a union lives in its selected child.
inline int64_t UnionChildIndex(const DataType& type, const ArrayData& data, int64_t i) {
  if (type.union_mode == UnionMode::kDense)
    return data.buffers[1]->data_as<int32_t>()[data.offset + i];
  return data.offset + i;
}

}  // namespace zkarrow::arrow
