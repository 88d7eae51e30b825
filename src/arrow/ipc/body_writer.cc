#include "arrow/ipc/body_writer.h"

#include <algorithm>
#include <string>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/builder.h"
#include "arrow/ipc/array_validate.h"

namespace zkarrow::arrow::ipc {
namespace {

// Data buffer bytes a view array may carry unused before a write compacts it.
constexpr int64_t kCompactionSlack = 4096;

class Appender {
 public:
  explicit Appender(BatchBody& body) : body_(body) {}

  // Appends the elements [offset, offset + length) of `array`'s buffers; the
  // offset is absolute (ArrayData::offset already included).
  Status Append(const Field& field, const ArrayData& array, int64_t offset, int64_t length) {
    Status status = AppendUnchecked(field, array, offset, length);
    return status.ok() ? status : status.WithContext("field '" + field.name + "'");
  }

 private:
  Status AppendUnchecked(const Field& field, const ArrayData& array, int64_t offset,
                         int64_t length) {
    DataType type = field.type;
    if (field.dictionary) type = field.dictionary->index_type;
    if (type.id == TypeId::kNull) {
      body_.nodes.emplace_back(length, length);
      return Status::Ok();
    }
    if (type.id == TypeId::kRunEndEncoded) return AppendRunEndEncoded(type, array, offset, length);
    size_t expected_buffers = static_cast<size_t>(BufferCount(type.id, type.union_mode));
    if (IsViewType(type.id) ? array.buffers.size() < expected_buffers
                            : array.buffers.size() != expected_buffers) {
      return Status::InvalidArgument(TypeToString(type) + " array needs " +
                                     std::to_string(expected_buffers) + " buffers, has " +
                                     std::to_string(array.buffers.size()));
    }
    if (type.id == TypeId::kUnion) return AppendUnion(type, array, offset, length);

    ZKA_ASSIGN_OR_RETURN(int64_t null_count, NullCount(array, offset, length));
    body_.nodes.emplace_back(length, null_count);
    if (null_count == 0) {
      body_.buffers.push_back(Buffer::Zeroed(0));
    } else {
      ZKA_ASSIGN_OR_RETURN(auto validity, SliceBits(array.buffers[0], offset, length));
      body_.buffers.push_back(std::move(validity));
    }
    switch (type.id) {
      case TypeId::kBool: {
        ZKA_ASSIGN_OR_RETURN(auto values, SliceBits(Required(array, 1), offset, length));
        body_.buffers.push_back(std::move(values));
        return Status::Ok();
      }
      case TypeId::kBinary:
      case TypeId::kUtf8:
        return AppendVarBinary<int32_t>(array, offset, length);
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
        return AppendVarBinary<int64_t>(array, offset, length);
      case TypeId::kList:
      case TypeId::kMap:
        return AppendList<int32_t>(type, array, offset, length);
      case TypeId::kLargeList:
        return AppendList<int64_t>(type, array, offset, length);
      case TypeId::kBinaryView:
      case TypeId::kUtf8View:
        return AppendViews(array, offset, length);
      case TypeId::kListView:
        return AppendListView(type, array, offset, length, 4);
      case TypeId::kLargeListView:
        return AppendListView(type, array, offset, length, 8);
      case TypeId::kFixedSizeList: {
        ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
        const ArrayData& child = *array.children[0];
        return Append(type.children[0], child, child.offset + offset * type.list_size,
                      length * type.list_size);
      }
      case TypeId::kStruct: {
        ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
        for (size_t i = 0; i < type.children.size(); ++i) {
          const ArrayData& child = *array.children[i];
          ZKA_RETURN_IF_ERROR(Append(type.children[i], child, child.offset + offset, length));
        }
        return Status::Ok();
      }
      default: {
        ZKA_ASSIGN_OR_RETURN(auto values,
                             SliceFixed(Required(array, 1), FixedWidth(type), offset, length));
        body_.buffers.push_back(std::move(values));
        return Status::Ok();
      }
    }
  }

  Status AppendUnion(const DataType& type, const ArrayData& array, int64_t offset, int64_t length) {
    ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
    body_.nodes.emplace_back(length, 0);  // unions have no validity of their own
    ZKA_ASSIGN_OR_RETURN(auto type_ids, SliceFixed(Required(array, 0), 1, offset, length));
    body_.buffers.push_back(std::move(type_ids));
    if (type.union_mode == UnionMode::kSparse) {
      for (size_t i = 0; i < type.children.size(); ++i) {
        const ArrayData& child = *array.children[i];
        ZKA_RETURN_IF_ERROR(Append(type.children[i], child, child.offset + offset, length));
      }
      return Status::Ok();
    }
    // Dense: the offsets point into whole children, which are written whole.
    ZKA_ASSIGN_OR_RETURN(auto offsets, SliceFixed(Required(array, 1), 4, offset, length));
    body_.buffers.push_back(std::move(offsets));
    for (size_t i = 0; i < type.children.size(); ++i) {
      const ArrayData& child = *array.children[i];
      ZKA_RETURN_IF_ERROR(Append(type.children[i], child, child.offset, child.length));
    }
    return Status::Ok();
  }

  // Views are positions in the data buffers, not relative to the array, so
  // an array whose views use most of its data buffers keeps them as they
  // are; one that uses less than half (a slice of a larger array) is
  // compacted into views and data of its own.
  Status AppendViews(const ArrayData& array, int64_t offset, int64_t length) {
    const auto& views = Required(array, 1);
    if (!views || views->size() / kViewBytes < offset + length) {
      return Status::InvalidArgument("views buffer is too short for the array");
    }
    const auto* slots = views->data_as<BinaryViewSlot>() + offset;
    int64_t used = 0;
    for (int64_t i = 0; i < length; ++i) {
      if (slots[i].length > kViewInlineBytes) used += slots[i].length;
    }
    int64_t held = 0;
    for (size_t i = kFirstViewDataBuffer; i < array.buffers.size(); ++i) {
      held += array.buffers[i] ? array.buffers[i]->size() : 0;
    }
    if (held <= 2 * used + kCompactionSlack) {
      body_.buffers.push_back(views->Slice(offset * kViewBytes, length * kViewBytes));
      for (size_t i = kFirstViewDataBuffer; i < array.buffers.size(); ++i) {
        body_.buffers.push_back(array.buffers[i] ? array.buffers[i] : Buffer::Zeroed(0));
      }
      body_.variadic_counts.push_back(
          static_cast<int64_t>(array.buffers.size() - kFirstViewDataBuffer));
      return Status::Ok();
    }
    BinaryViewBuilder compact;
    compact.Reserve(length);
    ArrayData shifted = array;
    shifted.offset = offset;
    for (int64_t i = 0; i < length; ++i) {
      if (!IsValidAt(shifted, i)) {
        compact.AppendNull();
      } else {
        ZKA_RETURN_IF_ERROR(compact.Append(ViewValue(shifted, i)));
      }
    }
    auto compacted = compact.Finish();
    for (size_t i = 1; i < compacted->buffers.size(); ++i)
      body_.buffers.push_back(compacted->buffers[i]);
    body_.variadic_counts.push_back(
        static_cast<int64_t>(compacted->buffers.size() - kFirstViewDataBuffer));
    return Status::Ok();
  }

  // Offsets and sizes point anywhere in the child, which is written whole.
  Status AppendListView(const DataType& type, const ArrayData& array, int64_t offset,
                        int64_t length, int64_t width) {
    ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
    ZKA_ASSIGN_OR_RETURN(auto offsets, SliceFixed(Required(array, 1), width, offset, length));
    ZKA_ASSIGN_OR_RETURN(auto sizes, SliceFixed(Required(array, 2), width, offset, length));
    body_.buffers.push_back(std::move(offsets));
    body_.buffers.push_back(std::move(sizes));
    const ArrayData& child = *array.children[0];
    return Append(type.children[0], child, child.offset, child.length);
  }

  // Run-end encoded: no buffers of its own. A slice keeps the runs it
  // touches, their ends rebased onto the slice and the last cut to its length.
  Status AppendRunEndEncoded(const DataType& type, const ArrayData& array, int64_t offset,
                             int64_t length) {
    ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
    body_.nodes.emplace_back(length, 0);
    const Field& run_ends_field = type.children[0];
    const Field& values_field = type.children[1];
    const ArrayData& run_ends = *array.children[0];
    const ArrayData& values = *array.children[1];
    if (length == 0) {
      ZKA_RETURN_IF_ERROR(Append(run_ends_field, run_ends, run_ends.offset, 0));
      return Append(values_field, values, values.offset, 0);
    }
    ArrayData shifted = array;
    shifted.offset = offset;
    const int64_t first = RunIndex(type, shifted, 0);
    const int64_t last = RunIndex(type, shifted, length - 1);
    if (last >= run_ends.length || values.length < run_ends.length) {
      return Status::InvalidArgument("run ends do not cover the run-end encoded array");
    }
    const int64_t runs = last - first + 1;
    const DataType& width = run_ends_field.type;
    const bool as_is = offset == 0 && first == 0 && ReadRunEnd(width, run_ends, last) == length;
    if (as_is) {
      ZKA_RETURN_IF_ERROR(Append(run_ends_field, run_ends, run_ends.offset, runs));
    } else {
      BufferBuilder rebased;
      const int64_t bytes = width.bit_width / 8;
      rebased.Reserve(runs * bytes);
      for (int64_t j = first; j <= last; ++j) {
        const uint64_t end =
            static_cast<uint64_t>(std::min(ReadRunEnd(width, run_ends, j) - offset, length));
        rebased.UnsafeAppend(&end, bytes);  // little-endian: the low bytes
      }
      body_.nodes.emplace_back(runs, 0);
      body_.buffers.push_back(Buffer::Zeroed(0));
      body_.buffers.push_back(rebased.Finish());
    }
    return Append(values_field, values, values.offset + first, runs);
  }

  template <typename Offset>
  Status AppendVarBinary(const ArrayData& array, int64_t offset, int64_t length) {
    ZKA_ASSIGN_OR_RETURN(auto range,
                         AppendRebasedOffsets<Offset>(Required(array, 1), offset, length));
    const auto& data = Required(array, 2);
    if (!data || data->size() < range.second) {
      return Status::InvalidArgument("data buffer is shorter than its offsets say");
    }
    body_.buffers.push_back(data->Slice(range.first, range.second - range.first));
    return Status::Ok();
  }

  template <typename Offset>
  Status AppendList(const DataType& type, const ArrayData& array, int64_t offset, int64_t length) {
    ZKA_RETURN_IF_ERROR(ExpectChildren(type, array));
    ZKA_ASSIGN_OR_RETURN(auto range,
                         AppendRebasedOffsets<Offset>(Required(array, 1), offset, length));
    const ArrayData& child = *array.children[0];
    if (range.second > child.length) {
      return Status::InvalidArgument("list offsets reach past the child array");
    }
    return Append(type.children[0], child, child.offset + range.first, range.second - range.first);
  }

  // Writes offsets[offset .. offset + length] minus offsets[offset]; returns
  // the referenced range [first, last).
  template <typename Offset>
  Result<std::pair<int64_t, int64_t>> AppendRebasedOffsets(
      const std::shared_ptr<const Buffer>& buffer, int64_t offset, int64_t length) {
    if (length == 0) {
      body_.buffers.push_back(Buffer::Zeroed(sizeof(Offset)));
      return std::pair<int64_t, int64_t>(0, 0);
    }
    if (!buffer || buffer->size() / static_cast<int64_t>(sizeof(Offset)) < offset + length + 1) {
      return Status::InvalidArgument("offsets buffer is too short for the array");
    }
    const auto* offsets = buffer->data_as<Offset>() + offset;
    int64_t first = offsets[0];
    int64_t last = offsets[length];
    if (first < 0 || last < first) return Status::InvalidArgument("offsets are not increasing");
    if (first == 0) {
      body_.buffers.push_back(buffer->Slice(offset * static_cast<int64_t>(sizeof(Offset)),
                                            (length + 1) * static_cast<int64_t>(sizeof(Offset))));
    } else {
      BufferBuilder rebased;
      rebased.Reserve((length + 1) * static_cast<int64_t>(sizeof(Offset)));
      for (int64_t i = 0; i <= length; ++i) {
        rebased.UnsafeAppendValue(static_cast<Offset>(offsets[i] - first));
      }
      body_.buffers.push_back(rebased.Finish());
    }
    return std::pair<int64_t, int64_t>(first, last);
  }

  static const std::shared_ptr<const Buffer>& Required(const ArrayData& array, size_t index) {
    return array.buffers[index];
  }

  static Status ExpectChildren(const DataType& type, const ArrayData& array) {
    if (array.children.size() != type.children.size()) {
      return Status::InvalidArgument(TypeToString(type) + " array needs " +
                                     std::to_string(type.children.size()) + " children, has " +
                                     std::to_string(array.children.size()));
    }
    for (const auto& child : array.children) {
      if (!child) return Status::InvalidArgument("null child array");
    }
    return Status::Ok();
  }

  static Result<int64_t> NullCount(const ArrayData& array, int64_t offset, int64_t length) {
    const auto& validity = array.buffers.empty() ? nullptr : array.buffers[0];
    bool whole = offset == array.offset && length == array.length;
    if (whole && array.null_count >= 0 && (array.null_count == 0 || validity)) {
      return array.null_count;
    }
    if (!validity) {
      if (array.null_count > 0 && whole) {
        return Status::InvalidArgument("array has nulls but no validity buffer");
      }
      return 0;
    }
    if (validity->size() * 8 < offset + length) {
      return Status::InvalidArgument("validity buffer is too short for the array");
    }
    int64_t valid = 0;
    for (int64_t i = 0; i < length; ++i) valid += GetBit(validity->data(), offset + i);
    return length - valid;
  }

  static Result<std::shared_ptr<const Buffer>> SliceBits(
      const std::shared_ptr<const Buffer>& buffer, int64_t offset, int64_t length) {
    int64_t bytes = BytesForBits(length);
    if (!buffer || buffer->size() * 8 < offset + length) {
      return Status::InvalidArgument("bitmap buffer is too short for the array");
    }
    if (offset % 8 == 0) return buffer->Slice(offset / 8, bytes);
    BufferBuilder shifted;
    shifted.AppendZeros(bytes);
    for (int64_t i = 0; i < length; ++i) {
      if (GetBit(buffer->data(), offset + i)) SetBit(shifted.mutable_data(), i);
    }
    return shifted.Finish();
  }

  static Result<std::shared_ptr<const Buffer>> SliceFixed(
      const std::shared_ptr<const Buffer>& buffer, int64_t width, int64_t offset, int64_t length) {
    if (width > 0 && (!buffer || buffer->size() / width < offset + length)) {
      return Status::InvalidArgument("values buffer is too short for the array");
    }
    if (!buffer) return Buffer::Zeroed(0);
    return buffer->Slice(offset * width, length * width);
  }

  BatchBody& body_;
};

}  // namespace

Status AppendArray(const Field& field, const ArrayData& array, BatchBody& body) {
  return Appender(body).Append(field, array, array.offset, array.length);
}

}  // namespace zkarrow::arrow::ipc
