#include "arrow/ipc/body_writer.h"

#include <string>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/ipc/array_validate.h"

namespace zkarrow::arrow::ipc {
namespace {

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
    size_t expected_buffers = static_cast<size_t>(BufferCount(type.id, type.union_mode));
    if (array.buffers.size() != expected_buffers) {
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
