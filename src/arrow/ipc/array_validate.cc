#include "arrow/ipc/array_validate.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/utf8.h"

namespace zkarrow::arrow::ipc {
namespace {

std::string Str(int64_t n) { return std::to_string(n); }

Status BufferTooSmall(const char* what, int64_t have, int64_t need) {
  return Status::InvalidData(std::string(what) + " buffer has " + Str(have) + " bytes, needs " +
                             Str(need));
}

int64_t BufferSize(const ArrayData& array, size_t index) {
  return array.buffers[index] ? array.buffers[index]->size() : 0;
}

// Bytes needed for `length` elements of `width` bytes, or -1 on overflow
// (or for a length of -1).
int64_t BytesFor(int64_t length, int64_t width) {
  int64_t bytes;
  if (length < 0 || __builtin_mul_overflow(length, width, &bytes)) return -1;
  return bytes;
}

Status CheckBytes(const ArrayData& array, size_t index, const char* what, int64_t length,
                  int64_t width) {
  int64_t need = BytesFor(length, width);
  int64_t have = BufferSize(array, index);
  if (need < 0 || have < need) return BufferTooSmall(what, have, need < 0 ? INT64_MAX : need);
  return Status::Ok();
}

Status ValidateValidity(const ArrayData& array) {
  if (array.null_count == 0) return Status::Ok();
  int64_t need = BytesForBits(array.length);
  if (BufferSize(array, 0) < need) return BufferTooSmall("validity", BufferSize(array, 0), need);
  const uint8_t* bits = array.buffers[0]->data();
  int64_t valid = 0;
  int64_t full_bytes = array.length / 8;
  for (int64_t i = 0; i < full_bytes; ++i) valid += std::popcount(bits[i]);
  for (int64_t i = full_bytes * 8; i < array.length; ++i) valid += GetBit(bits, i);
  if (array.length - valid != array.null_count) {
    return Status::InvalidData("null count " + Str(array.null_count) + " disagrees with the " +
                               Str(array.length - valid) + " nulls in the validity bitmap");
  }
  return Status::Ok();
}

// Checks offsets[0..length]: non-negative, non-decreasing, last <= limit.
template <typename Offset>
Status ValidateOffsets(const ArrayData& array, int64_t limit, const char* target) {
  int64_t count;  // length + 1 offsets; a length of INT64_MAX cannot have them
  if (__builtin_add_overflow(array.length, 1, &count)) count = -1;
  ZKA_RETURN_IF_ERROR(CheckBytes(array, 1, "offsets", count, sizeof(Offset)));
  const auto* offsets = array.buffers[1]->data_as<Offset>();
  if (offsets[0] < 0)
    return Status::InvalidData("first offset " + Str(offsets[0]) + " is negative");
  for (int64_t i = 0; i < array.length; ++i) {
    if (offsets[i + 1] < offsets[i]) {
      return Status::InvalidData("offsets decrease at element " + Str(i) + " (" + Str(offsets[i]) +
                                 " then " + Str(offsets[i + 1]) + ")");
    }
  }
  if (offsets[array.length] > limit) {
    return Status::InvalidData("last offset " + Str(offsets[array.length]) +
                               " is past the end of the " + target + " (" + Str(limit) + ")");
  }
  return Status::Ok();
}

Status ValidateChildLength(const ArrayData& array, size_t index, int64_t need) {
  if (need < 0 || array.children[index]->length < need) {
    return Status::InvalidData("child " + Str(static_cast<int64_t>(index)) + " has " +
                               Str(array.children[index]->length) + " elements, needs " +
                               Str(need < 0 ? INT64_MAX : need));
  }
  return Status::Ok();
}

Status ValidateUnion(const DataType& type, const ArrayData& array) {
  ZKA_RETURN_IF_ERROR(CheckBytes(array, 0, "union type ids", array.length, 1));
  // Which child each type id selects; -1 for ids the type does not declare.
  std::array<int, 128> child_of{};
  child_of.fill(-1);
  for (size_t i = 0; i < type.children.size(); ++i) {
    int32_t id = type.union_type_ids.empty() ? static_cast<int32_t>(i) : type.union_type_ids[i];
    child_of[static_cast<size_t>(id)] = static_cast<int>(i);
  }
  const auto* type_ids = array.buffers[0]->data_as<int8_t>();
  const int32_t* offsets = nullptr;
  if (type.union_mode == UnionMode::kDense) {
    ZKA_RETURN_IF_ERROR(CheckBytes(array, 1, "union offsets", array.length, 4));
    offsets = array.buffers[1]->data_as<int32_t>();
  } else {
    for (size_t i = 0; i < array.children.size(); ++i) {
      ZKA_RETURN_IF_ERROR(ValidateChildLength(array, i, array.length));
    }
  }
  for (int64_t i = 0; i < array.length; ++i) {
    int8_t id = type_ids[i];
    if (id < 0 || child_of[static_cast<size_t>(id)] < 0) {
      return Status::InvalidData("union element " + Str(i) + " has undeclared type id " + Str(id));
    }
    if (offsets != nullptr) {
      const ArrayData& child =
          *array.children[static_cast<size_t>(child_of[static_cast<size_t>(id)])];
      if (offsets[i] < 0 || offsets[i] >= child.length) {
        return Status::InvalidData("dense union element " + Str(i) + " has offset " +
                                   Str(offsets[i]) + " outside its child of " + Str(child.length) +
                                   " elements");
      }
    }
  }
  return Status::Ok();
}

// Every view, null or not, must be readable: a length that is not
// negative, inline bytes past the length zero (as the format asks), or a
// data buffer that exists and holds [offset, offset + length). Non-null
// values must also start with their prefix and, for Utf8View, be UTF-8.
Status ValidateViews(const DataType& type, const ArrayData& array) {
  ZKA_RETURN_IF_ERROR(CheckBytes(array, 1, "views", array.length, kViewBytes));
  const auto* slots = array.buffers[1]->data_as<BinaryViewSlot>();
  const auto data_buffers = static_cast<int64_t>(array.buffers.size() - kFirstViewDataBuffer);
  const bool utf8 = type.id == TypeId::kUtf8View;
  for (int64_t i = 0; i < array.length; ++i) {
    const BinaryViewSlot& slot = slots[i];
    const std::string view = "view " + Str(i);
    if (slot.length < 0) {
      return Status::InvalidData(view + " has negative length " + Str(slot.length));
    }
    std::span<const uint8_t> value;
    if (slot.length <= kViewInlineBytes) {
      for (int32_t k = slot.length; k < kViewInlineBytes; ++k) {
        if (slot.inline_or_prefix[k] != 0) {
          return Status::InvalidData(view + " of " + Str(slot.length) +
                                     " inline bytes has non-zero padding at byte " + Str(4 + k) +
                                     "; expected zeros");
        }
      }
      value = {slot.inline_or_prefix, static_cast<size_t>(slot.length)};
    } else {
      const int64_t index = slot.buffer_index();
      const int64_t offset = slot.buffer_offset();
      if (index < 0 || index >= data_buffers) {
        return Status::InvalidData(view + " refers to data buffer " + Str(index) +
                                   ", expected one of the array's " + Str(data_buffers));
      }
      const int64_t size = BufferSize(array, kFirstViewDataBuffer + static_cast<size_t>(index));
      if (offset < 0 || offset > size - slot.length) {
        return Status::InvalidData(view + " at [" + Str(offset) + ", +" + Str(slot.length) +
                                   ") lies outside data buffer " + Str(index) + " of " + Str(size) +
                                   " bytes");
      }
      value = {array.buffers[kFirstViewDataBuffer + static_cast<size_t>(index)]->data() + offset,
               static_cast<size_t>(slot.length)};
      if (array.IsValid(i) && std::memcmp(value.data(), slot.inline_or_prefix, 4) != 0) {
        return Status::InvalidData(view + "'s prefix differs from the first 4 bytes of its value");
      }
    }
    if (utf8 && array.IsValid(i)) {
      if (int64_t bad = FindInvalidUtf8(value); bad >= 0) {
        return Status::InvalidData(view + " is not UTF-8 (byte " + Str(bad) + " of " +
                                   Str(slot.length) + ")");
      }
    }
  }
  return Status::Ok();
}

// Every list view, null or not: 0 <= offset, 0 <= size, offset + size <=
// the child's length. Views may overlap and come in any order.
template <typename Offset>
Status ValidateListViews(const ArrayData& array) {
  ZKA_RETURN_IF_ERROR(CheckBytes(array, 1, "offsets", array.length, sizeof(Offset)));
  ZKA_RETURN_IF_ERROR(CheckBytes(array, 2, "sizes", array.length, sizeof(Offset)));
  const auto* offsets = array.buffers[1]->data_as<Offset>();
  const auto* sizes = array.buffers[2]->data_as<Offset>();
  const int64_t child_length = array.children[0]->length;
  for (int64_t i = 0; i < array.length; ++i) {
    const int64_t offset = offsets[i];
    const int64_t size = sizes[i];
    if (offset < 0 || size < 0 || offset > child_length || size > child_length - offset) {
      return Status::InvalidData("list view " + Str(i) + " at [" + Str(offset) + ", +" + Str(size) +
                                 ") lies outside its child of " + Str(child_length) + " elements");
    }
  }
  return Status::Ok();
}

// run_ends: non-null, positive, strictly increasing, the last one reaching
// the array's length; values: one per run at least.
Status ValidateRunEnds(const DataType& type, const ArrayData& array) {
  const ArrayData& run_ends = *array.children[0];
  const ArrayData& values = *array.children[1];
  const DataType& run_end_type = type.children[0].type;
  if (run_ends.null_count != 0) {
    return Status::InvalidData("run_ends has " + Str(run_ends.null_count) +
                               " nulls, expected none");
  }
  if (values.length < run_ends.length) {
    return Status::InvalidData("values has " + Str(values.length) + " elements for " +
                               Str(run_ends.length) + " runs");
  }
  if (array.length == 0) return Status::Ok();
  if (run_ends.length == 0) {
    return Status::InvalidData("no runs for " + Str(array.length) + " elements");
  }
  int64_t previous = 0;
  for (int64_t j = 0; j < run_ends.length; ++j) {
    const int64_t end = ReadRunEnd(run_end_type, run_ends, j);
    if (end <= previous) {
      return Status::InvalidData("run end " + Str(j) + " is " + Str(end) + ", expected more than " +
                                 Str(previous) +
                                 " (run ends are positive and strictly increasing)");
    }
    previous = end;
  }
  if (previous < array.length) {
    return Status::InvalidData("the last run ends at " + Str(previous) + ", before the array's " +
                               Str(array.length) + " elements");
  }
  return Status::Ok();
}

template <typename Index>
Status ValidateIndices(const ArrayData& indices, int64_t dictionary_length) {
  const auto* values = indices.buffers[1]->data_as<Index>();
  for (int64_t i = 0; i < indices.length; ++i) {
    if (!indices.IsValid(i)) continue;
    if constexpr (std::is_signed_v<Index>) {
      if (values[i] < 0) {
        return Status::InvalidData("dictionary index " + Str(values[i]) + " at element " + Str(i) +
                                   " is negative");
      }
    }
    if (static_cast<uint64_t>(values[i]) >= static_cast<uint64_t>(dictionary_length)) {
      return Status::InvalidData("dictionary index " + std::to_string(values[i]) + " at element " +
                                 Str(i) + " is out of range for a dictionary of " +
                                 Str(dictionary_length) + " values");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateLayout(const DataType& type, const ArrayData& array) {
  if (array.length < 0 || array.null_count < 0 || array.null_count > array.length) {
    return Status::InvalidData("length " + Str(array.length) + " / null count " +
                               Str(array.null_count) + " are inconsistent");
  }
  if (type.id == TypeId::kNull) return Status::Ok();
  if (type.id == TypeId::kUnion) return ValidateUnion(type, array);
  if (type.id == TypeId::kRunEndEncoded) return ValidateRunEnds(type, array);
  ZKA_RETURN_IF_ERROR(ValidateValidity(array));
  switch (type.id) {
    case TypeId::kBool:
      return CheckBytes(array, 1, "values", BytesForBits(array.length), 1);
    case TypeId::kBinary:
    case TypeId::kUtf8:
      return ValidateOffsets<int32_t>(array, BufferSize(array, 2), "data buffer");
    case TypeId::kLargeBinary:
    case TypeId::kLargeUtf8:
      return ValidateOffsets<int64_t>(array, BufferSize(array, 2), "data buffer");
    case TypeId::kList:
    case TypeId::kMap:
      return ValidateOffsets<int32_t>(array, array.children[0]->length, "child array");
    case TypeId::kLargeList:
      return ValidateOffsets<int64_t>(array, array.children[0]->length, "child array");
    case TypeId::kBinaryView:
    case TypeId::kUtf8View:
      return ValidateViews(type, array);
    case TypeId::kListView:
      return ValidateListViews<int32_t>(array);
    case TypeId::kLargeListView:
      return ValidateListViews<int64_t>(array);
    case TypeId::kFixedSizeList:
      return ValidateChildLength(array, 0, BytesFor(array.length, type.list_size));
    case TypeId::kStruct:
      for (size_t i = 0; i < array.children.size(); ++i) {
        ZKA_RETURN_IF_ERROR(ValidateChildLength(array, i, array.length));
      }
      return Status::Ok();
    default:
      return CheckBytes(array, 1, "values", array.length, FixedWidth(type));
  }
}

Status ValidateDictionaryIndices(const DataType& index_type, const ArrayData& indices,
                                 int64_t dictionary_length) {
  switch (index_type.bit_width) {
    case 8:
      return index_type.is_signed ? ValidateIndices<int8_t>(indices, dictionary_length)
                                  : ValidateIndices<uint8_t>(indices, dictionary_length);
    case 16:
      return index_type.is_signed ? ValidateIndices<int16_t>(indices, dictionary_length)
                                  : ValidateIndices<uint16_t>(indices, dictionary_length);
    case 32:
      return index_type.is_signed ? ValidateIndices<int32_t>(indices, dictionary_length)
                                  : ValidateIndices<uint32_t>(indices, dictionary_length);
    default:
      return index_type.is_signed ? ValidateIndices<int64_t>(indices, dictionary_length)
                                  : ValidateIndices<uint64_t>(indices, dictionary_length);
  }
}

}  // namespace zkarrow::arrow::ipc
