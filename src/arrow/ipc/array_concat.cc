#include "arrow/ipc/array_concat.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/buffer.h"

namespace zkarrow::arrow::ipc {
namespace {

std::string Str(int64_t n) { return std::to_string(n); }

const DataType& PhysicalType(const Field& field) {
  return field.dictionary ? field.dictionary->index_type : field.type;
}

}  // namespace

Status ByteBudget::Charge(int64_t more, const char* what) {
  int64_t total;
  if (__builtin_add_overflow(used, more, &total) || total > limit) {
    return Status::OutOfRange(std::string(what) + " need " + Str(total < used ? INT64_MAX : total) +
                              " bytes, expected at most " + Str(limit));
  }
  used = total;
  return Status::Ok();
}

// One block of bytes that grows by copying into a larger one.
struct GrowingBuffer {
  std::shared_ptr<AlignedBytes> bytes;
  int64_t size = 0;

  int64_t capacity() const { return bytes ? bytes->capacity() : 0; }
  uint8_t* data() { return bytes ? bytes->data() : nullptr; }

  Status Reserve(int64_t extra, ByteBudget& budget) {
    int64_t need;
    if (__builtin_add_overflow(size, extra, &need)) {
      return Status::OutOfRange("dictionary buffer would pass 2^63 bytes");
    }
    if (need <= capacity()) return Status::Ok();
    int64_t grown = PaddedLength(std::max({need, capacity() * 2, kBufferAlignment}));
    // The old block is charged until the copy is done, so the budget bounds
    // the peak too. Doubling is what keeps deltas linear; near the limit,
    // take what fits.
    if (!budget.Charge(grown, "dictionaries").ok()) {
      grown = PaddedLength(need);
      ZKA_RETURN_IF_ERROR(budget.Charge(grown, "dictionaries"));
    }
    auto block = std::make_shared<AlignedBytes>(grown);
    if (size > 0) std::memcpy(block->data(), bytes->data(), static_cast<size_t>(size));
    budget.Release(capacity());
    bytes = std::move(block);
    return Status::Ok();
  }

  Status Append(const uint8_t* source, int64_t n, ByteBudget& budget) {
    ZKA_RETURN_IF_ERROR(Reserve(n, budget));
    if (n > 0) std::memcpy(data() + size, source, static_cast<size_t>(n));
    size += n;
    return Status::Ok();
  }

  // Appends n bits at bit position `at` (which must be the bits in use):
  // bits [from, from + n) of `source`, or set bits when `source` is null.
  Status AppendBits(int64_t at, const uint8_t* source, int64_t from, int64_t n,
                    ByteBudget& budget) {
    int64_t need = BytesForBits(at + n);
    ZKA_RETURN_IF_ERROR(Reserve(need - size, budget));
    if (need > size) std::memset(data() + size, 0, static_cast<size_t>(need - size));
    size = need;
    uint8_t* bits = data();
    for (int64_t i = 0; i < n; ++i) {
      if (source == nullptr || GetBit(source, from + i)) SetBit(bits, at + i);
    }
    return Status::Ok();
  }

  std::shared_ptr<const Buffer> View() const {
    if (!bytes) return Buffer::Zeroed(0);
    return std::make_shared<const Buffer>(bytes->data(), size, bytes);
  }
};

struct GrowingArray::Node {
  const Field* field = nullptr;
  int64_t length = 0;
  int64_t null_count = 0;
  std::vector<GrowingBuffer> buffers;  // the IPC slots; validity always kept
  std::vector<Node> children;
  std::shared_ptr<const ArrayData> dictionary;

  const DataType& type() const { return PhysicalType(*field); }

  Status Init(const Field& of, ByteBudget& budget) {
    field = &of;
    const DataType& t = type();
    if (IsNewerThanFormat1(t) && t.id != TypeId::kDecimal) {
      return Status::NotImplemented("delta dictionaries holding " + TypeToString(t) +
                                    " values are not supported (a replacement dictionary is)");
    }
    buffers.resize(static_cast<size_t>(BufferCount(t.id, t.union_mode)));
    if (HasOffsets()) {
      // Offsets start with the one offset of an empty array.
      const int64_t zero = 0;
      ZKA_RETURN_IF_ERROR(
          buffers[1].Append(reinterpret_cast<const uint8_t*>(&zero), OffsetWidth(), budget));
    }
    children.resize(t.children.size());
    for (size_t i = 0; i < children.size(); ++i) {
      ZKA_RETURN_IF_ERROR(children[i].Init(t.children[i], budget));
    }
    return Status::Ok();
  }

  bool HasOffsets() const {
    switch (type().id) {
      case TypeId::kBinary:
      case TypeId::kUtf8:
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
      case TypeId::kList:
      case TypeId::kMap:
      case TypeId::kLargeList:
        return true;
      default:
        return false;
    }
  }

  int64_t OffsetWidth() const {
    switch (type().id) {
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
      case TypeId::kLargeList:
        return 8;
      default:
        return 4;
    }
  }

  int64_t LastOffset() {
    const uint8_t* at = buffers[1].data() + length * OffsetWidth();
    if (OffsetWidth() == 8) {
      int64_t value;
      std::memcpy(&value, at, sizeof(value));
      return value;
    }
    int32_t value;
    std::memcpy(&value, at, sizeof(value));
    return value;
  }

  // Appends offsets [from, from + n] of `source` rebased onto ours; returns
  // the range [first, last) of the source's data or child they cover.
  template <typename Offset>
  Result<std::pair<int64_t, int64_t>> AppendOffsets(const ArrayData& source, int64_t from,
                                                    int64_t n, ByteBudget& budget) {
    const Offset* offsets = source.buffers[1]->data_as<Offset>() + from;
    const int64_t base = LastOffset();
    const int64_t span = static_cast<int64_t>(offsets[n]) - offsets[0];
    if (span > std::numeric_limits<Offset>::max() - base) {
      return Status::OutOfRange("the concatenated dictionary needs offset " +
                                std::to_string(static_cast<uint64_t>(base) + span) +
                                ", expected at most " + Str(std::numeric_limits<Offset>::max()));
    }
    ZKA_RETURN_IF_ERROR(buffers[1].Reserve(n * static_cast<int64_t>(sizeof(Offset)), budget));
    for (int64_t i = 1; i <= n; ++i) {
      auto value = static_cast<Offset>(base + (offsets[i] - offsets[0]));
      std::memcpy(buffers[1].data() + buffers[1].size, &value, sizeof(value));
      buffers[1].size += static_cast<int64_t>(sizeof(value));
    }
    return std::pair<int64_t, int64_t>{offsets[0], offsets[n]};
  }

  // Appends elements [from, from + n) of `source` (from absolute in its buffers).
  Status Append(const ArrayData& source, int64_t from, int64_t n, ByteBudget& budget) {
    const DataType& t = type();
    int64_t new_length;
    if (__builtin_add_overflow(length, n, &new_length)) {
      return Status::OutOfRange("the concatenated dictionary would pass 2^63 elements");
    }
    switch (t.id) {
      case TypeId::kNull:
        null_count += n;
        break;
      case TypeId::kUnion:
        ZKA_RETURN_IF_ERROR(AppendUnion(source, from, n, budget));
        break;
      default:
        ZKA_RETURN_IF_ERROR(AppendValidity(source, from, n, budget));
        ZKA_RETURN_IF_ERROR(AppendValues(source, from, n, budget));
        break;
    }
    length = new_length;
    if (field->dictionary) dictionary = source.dictionary;
    return Status::Ok();
  }

  Status AppendValidity(const ArrayData& source, int64_t from, int64_t n, ByteBudget& budget) {
    const bool has_bitmap = source.null_count != 0 && source.buffers[0] != nullptr;
    const uint8_t* bits = has_bitmap ? source.buffers[0]->data() : nullptr;
    ZKA_RETURN_IF_ERROR(buffers[0].AppendBits(length, bits, from, n, budget));
    if (has_bitmap) {
      for (int64_t i = 0; i < n; ++i) null_count += !GetBit(bits, from + i);
    }
    return Status::Ok();
  }

  Status AppendValues(const ArrayData& source, int64_t from, int64_t n, ByteBudget& budget) {
    const DataType& t = type();
    switch (t.id) {
      case TypeId::kBool:
        return buffers[1].AppendBits(length, source.buffers[1]->data(), from, n, budget);
      case TypeId::kBinary:
      case TypeId::kUtf8: {
        ZKA_ASSIGN_OR_RETURN(auto range, AppendOffsets<int32_t>(source, from, n, budget));
        return buffers[2].Append(source.buffers[2]->data() + range.first,
                                 range.second - range.first, budget);
      }
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8: {
        ZKA_ASSIGN_OR_RETURN(auto range, AppendOffsets<int64_t>(source, from, n, budget));
        return buffers[2].Append(source.buffers[2]->data() + range.first,
                                 range.second - range.first, budget);
      }
      case TypeId::kList:
      case TypeId::kMap: {
        ZKA_ASSIGN_OR_RETURN(auto range, AppendOffsets<int32_t>(source, from, n, budget));
        return AppendChildRange(0, source, range.first, range.second - range.first, budget);
      }
      case TypeId::kLargeList: {
        ZKA_ASSIGN_OR_RETURN(auto range, AppendOffsets<int64_t>(source, from, n, budget));
        return AppendChildRange(0, source, range.first, range.second - range.first, budget);
      }
      case TypeId::kFixedSizeList: {
        int64_t start;
        int64_t count;
        if (__builtin_mul_overflow(from, t.list_size, &start) ||
            __builtin_mul_overflow(n, t.list_size, &count)) {
          return Status::OutOfRange("fixed-size list child range passes 2^63");
        }
        return AppendChildRange(0, source, start, count, budget);
      }
      case TypeId::kStruct:
        for (size_t c = 0; c < children.size(); ++c) {
          ZKA_RETURN_IF_ERROR(AppendChildRange(c, source, from, n, budget));
        }
        return Status::Ok();
      default: {
        const int64_t width = FixedWidth(t);
        return buffers[1].Append(source.buffers[1]->data() + from * width, n * width, budget);
      }
    }
  }

  // Elements [from, from + n) of the source's child c, relative to its offset.
  Status AppendChildRange(size_t c, const ArrayData& source, int64_t from, int64_t n,
                          ByteBudget& budget) {
    const ArrayData& child = *source.children[c];
    return children[c].Append(child, child.offset + from, n, budget);
  }

  Status AppendUnion(const ArrayData& source, int64_t from, int64_t n, ByteBudget& budget) {
    const DataType& t = type();
    const auto* ids = source.buffers[0]->data_as<int8_t>() + from;
    ZKA_RETURN_IF_ERROR(buffers[0].Append(reinterpret_cast<const uint8_t*>(ids), n, budget));
    if (t.union_mode == UnionMode::kSparse) {
      for (size_t c = 0; c < children.size(); ++c) {
        ZKA_RETURN_IF_ERROR(AppendChildRange(c, source, from, n, budget));
      }
      return Status::Ok();
    }
    // Dense: the source's children are appended whole, so its offsets move
    // up by the lengths our children have now.
    std::array<size_t, 128> child_of{};
    for (size_t i = 0; i < t.children.size(); ++i) {
      child_of[static_cast<size_t>(t.union_type_ids.empty() ? static_cast<int32_t>(i)
                                                            : t.union_type_ids[i])] = i;
    }
    const auto* offsets = source.buffers[1]->data_as<int32_t>() + from;
    ZKA_RETURN_IF_ERROR(buffers[1].Reserve(n * 4, budget));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t shifted = offsets[i] + children[child_of[static_cast<size_t>(ids[i])]].length;
      if (shifted > INT32_MAX) {
        return Status::OutOfRange("the concatenated dictionary needs dense union offset " +
                                  Str(shifted) + ", expected at most " + Str(INT32_MAX));
      }
      auto value = static_cast<int32_t>(shifted);
      std::memcpy(buffers[1].data() + buffers[1].size, &value, sizeof(value));
      buffers[1].size += 4;
    }
    for (size_t c = 0; c < children.size(); ++c) {
      const ArrayData& child = *source.children[c];
      ZKA_RETURN_IF_ERROR(children[c].Append(child, child.offset, child.length, budget));
    }
    return Status::Ok();
  }

  // The concatenation is checked again, cheaply: every buffer's size and
  // every child's length must be what this node's length implies. A full
  // re-validation per delta would make deltas quadratic again; the values
  // themselves come from validated pieces, rebased with overflow checks.
  Status CheckSizes() const {
    const DataType& t = type();
    auto expect = [&](int64_t have, int64_t need, const char* what) -> Status {
      if (have == need) return Status::Ok();
      return Status::Internal(std::string("concatenated dictionary: ") + what + " has " +
                              Str(have) + ", expected " + Str(need));
    };
    for (const Node& child : children) ZKA_RETURN_IF_ERROR(child.CheckSizes());
    if (t.id == TypeId::kNull) return Status::Ok();
    if (t.id == TypeId::kUnion) {
      ZKA_RETURN_IF_ERROR(expect(buffers[0].size, length, "union type ids (bytes)"));
      if (t.union_mode == UnionMode::kDense) {
        return expect(buffers[1].size, length * 4, "union offsets (bytes)");
      }
      for (const Node& child : children)
        ZKA_RETURN_IF_ERROR(expect(child.length, length, "a sparse union child (elements)"));
      return Status::Ok();
    }
    ZKA_RETURN_IF_ERROR(expect(buffers[0].size, BytesForBits(length), "the validity (bytes)"));
    if (null_count < 0 || null_count > length) {
      return Status::Internal("concatenated dictionary: null count " + Str(null_count) + " for " +
                              Str(length) + " elements");
    }
    if (HasOffsets()) {
      ZKA_RETURN_IF_ERROR(
          expect(buffers[1].size, (length + 1) * OffsetWidth(), "the offsets (bytes)"));
      const int64_t last = const_cast<Node*>(this)->LastOffset();
      if (buffers.size() > 2) return expect(last, buffers[2].size, "the last offset (data bytes)");
      return expect(last, children[0].length, "the last offset (child elements)");
    }
    switch (t.id) {
      case TypeId::kBool:
        return expect(buffers[1].size, BytesForBits(length), "the values (bytes)");
      case TypeId::kFixedSizeList:
        return expect(children[0].length, length * t.list_size, "the child (elements)");
      case TypeId::kStruct:
        for (const Node& child : children)
          ZKA_RETURN_IF_ERROR(expect(child.length, length, "a struct child (elements)"));
        return Status::Ok();
      default:
        return expect(buffers[1].size, length * FixedWidth(t), "the values (bytes)");
    }
  }

  std::shared_ptr<const ArrayData> View() const {
    auto array = std::make_shared<ArrayData>();
    array->length = length;
    array->null_count = null_count;
    for (const GrowingBuffer& buffer : buffers) array->buffers.push_back(buffer.View());
    if (HasValidityBitmap(type().id) && null_count == 0) array->buffers[0] = nullptr;
    for (const Node& child : children) array->children.push_back(child.View());
    array->dictionary = dictionary;
    return array;
  }

  int64_t AllocatedBytes() const {
    int64_t total = 0;
    for (const GrowingBuffer& buffer : buffers) total += buffer.capacity();
    for (const Node& child : children) total += child.AllocatedBytes();
    return total;
  }
};

GrowingArray::GrowingArray() = default;
GrowingArray::~GrowingArray() = default;

Result<std::unique_ptr<GrowingArray>> GrowingArray::Make(const Field& field,
                                                         const ArrayData& values,
                                                         ByteBudget& budget) {
  std::unique_ptr<GrowingArray> array(new GrowingArray());
  array->field_ = field;
  array->root_ = std::make_unique<Node>();
  Status status = [&]() -> Status {
    ZKA_RETURN_IF_ERROR(array->root_->Init(array->field_, budget));
    return array->Append(values, budget);
  }();
  if (!status.ok()) {
    budget.Release(array->allocated_bytes());
    return status;
  }
  return array;
}

Status GrowingArray::Append(const ArrayData& delta, ByteBudget& budget) {
  ZKA_RETURN_IF_ERROR(root_->Append(delta, delta.offset, delta.length, budget));
  return root_->CheckSizes();
}

Status GrowingArray::AppendRange(const ArrayData& source, int64_t from, int64_t n,
                                 ByteBudget& budget) {
  ZKA_RETURN_IF_ERROR(root_->Append(source, source.offset + from, n, budget));
  return root_->CheckSizes();
}

std::shared_ptr<const ArrayData> GrowingArray::View() const { return root_->View(); }

int64_t GrowingArray::allocated_bytes() const { return root_->AllocatedBytes(); }

}  // namespace zkarrow::arrow::ipc
