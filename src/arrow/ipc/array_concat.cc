#include "arrow/ipc/array_concat.h"

#include <array>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/bitmap_builder.h"
#include "arrow/ipc/array_validate.h"

namespace zkarrow::arrow::ipc {
namespace {

// Elements [offset, offset + length) of an array's buffers (offset absolute).
struct Piece {
  const ArrayData* array;
  int64_t offset;
  int64_t length;
};

int64_t PieceNulls(const Piece& piece) {
  const ArrayData& array = *piece.array;
  if (array.null_count == 0 || array.buffers.empty() || !array.buffers[0]) return 0;
  int64_t nulls = 0;
  for (int64_t i = 0; i < piece.length; ++i) {
    nulls += !GetBit(array.buffers[0]->data(), piece.offset + i);
  }
  return nulls;
}

std::shared_ptr<const Buffer> ConcatBits(const std::vector<Piece>& pieces, size_t index,
                                         int64_t total_length) {
  BufferBuilder bits;
  bits.AppendZeros(BytesForBits(total_length));
  int64_t out = 0;
  for (const Piece& piece : pieces) {
    const auto& source = piece.array->buffers[index];
    for (int64_t i = 0; i < piece.length; ++i, ++out) {
      if (!source || GetBit(source->data(), piece.offset + i)) SetBit(bits.mutable_data(), out);
    }
  }
  return bits.Finish();
}

std::shared_ptr<const Buffer> ConcatFixed(const std::vector<Piece>& pieces, size_t index,
                                          int64_t width) {
  BufferBuilder bytes;
  for (const Piece& piece : pieces) {
    bytes.Append(piece.array->buffers[index]->data() + piece.offset * width, piece.length * width);
  }
  return bytes.Finish();
}

// Rebased offsets for the concatenation, plus the ranges they cover in each piece.
template <typename Offset>
std::shared_ptr<const Buffer> ConcatOffsets(const std::vector<Piece>& pieces,
                                            std::vector<Piece>& ranges) {
  BufferBuilder offsets;
  Offset next = 0;
  offsets.AppendValue(next);
  for (const Piece& piece : pieces) {
    const auto* source = piece.array->buffers[1]->data_as<Offset>() + piece.offset;
    for (int64_t i = 0; i < piece.length; ++i) {
      next = static_cast<Offset>(next + (source[i + 1] - source[i]));
      offsets.AppendValue(next);
    }
    ranges.push_back({piece.array, source[0], source[piece.length] - source[0]});
  }
  return offsets.Finish();
}

class Concatenator {
 public:
  Result<std::shared_ptr<const ArrayData>> Concat(const Field& field,
                                                  const std::vector<Piece>& pieces) {
    const DataType& type = field.dictionary ? field.dictionary->index_type : field.type;
    auto out = std::make_shared<ArrayData>();
    for (const Piece& piece : pieces) {
      if (__builtin_add_overflow(out->length, piece.length, &out->length)) {
        return Status::InvalidData("concatenated arrays would hold more than 2^63 elements");
      }
    }
    if (type.id == TypeId::kNull) {
      out->null_count = out->length;
      return std::shared_ptr<const ArrayData>(std::move(out));
    }
    if (type.id == TypeId::kUnion) {
      ZKA_RETURN_IF_ERROR(ConcatUnion(type, pieces, *out));
      return std::shared_ptr<const ArrayData>(std::move(out));
    }
    for (const Piece& piece : pieces) out->null_count += PieceNulls(piece);
    out->buffers.push_back(out->null_count == 0 ? nullptr : ConcatBits(pieces, 0, out->length));
    switch (type.id) {
      case TypeId::kBool:
        out->buffers.push_back(ConcatBits(pieces, 1, out->length));
        break;
      case TypeId::kBinary:
      case TypeId::kUtf8:
        ConcatVarBinary<int32_t>(pieces, *out);
        break;
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
        ConcatVarBinary<int64_t>(pieces, *out);
        break;
      case TypeId::kList:
      case TypeId::kMap:
        ZKA_RETURN_IF_ERROR(ConcatList<int32_t>(type, pieces, *out));
        break;
      case TypeId::kLargeList:
        ZKA_RETURN_IF_ERROR(ConcatList<int64_t>(type, pieces, *out));
        break;
      case TypeId::kFixedSizeList:
        ZKA_RETURN_IF_ERROR(ConcatChildren(type, pieces, type.list_size, *out));
        break;
      case TypeId::kStruct:
        ZKA_RETURN_IF_ERROR(ConcatChildren(type, pieces, 1, *out));
        break;
      default:
        out->buffers.push_back(ConcatFixed(pieces, 1, FixedWidth(type)));
        break;
    }
    if (field.dictionary) out->dictionary = pieces.back().array->dictionary;
    return std::shared_ptr<const ArrayData>(std::move(out));
  }

 private:
  template <typename Offset>
  void ConcatVarBinary(const std::vector<Piece>& pieces, ArrayData& out) {
    std::vector<Piece> ranges;
    out.buffers.push_back(ConcatOffsets<Offset>(pieces, ranges));
    out.buffers.push_back(ConcatFixed(ranges, 2, 1));
  }

  template <typename Offset>
  Status ConcatList(const DataType& type, const std::vector<Piece>& pieces, ArrayData& out) {
    std::vector<Piece> ranges;
    out.buffers.push_back(ConcatOffsets<Offset>(pieces, ranges));
    std::vector<Piece> child_pieces;
    for (const Piece& range : ranges) {
      const ArrayData& child = *range.array->children[0];
      child_pieces.push_back({&child, child.offset + range.offset, range.length});
    }
    ZKA_ASSIGN_OR_RETURN(auto child, Concat(type.children[0], child_pieces));
    out.children.push_back(std::move(child));
    return Status::Ok();
  }

  // Children aligned with the parent, `scale` child elements per parent element.
  Status ConcatChildren(const DataType& type, const std::vector<Piece>& pieces, int64_t scale,
                        ArrayData& out) {
    for (size_t c = 0; c < type.children.size(); ++c) {
      std::vector<Piece> child_pieces;
      for (const Piece& piece : pieces) {
        const ArrayData& child = *piece.array->children[c];
        child_pieces.push_back({&child, child.offset + piece.offset * scale, piece.length * scale});
      }
      ZKA_ASSIGN_OR_RETURN(auto child, Concat(type.children[c], child_pieces));
      out.children.push_back(std::move(child));
    }
    return Status::Ok();
  }

  Status ConcatUnion(const DataType& type, const std::vector<Piece>& pieces, ArrayData& out) {
    out.buffers.push_back(ConcatFixed(pieces, 0, 1));
    if (type.union_mode == UnionMode::kSparse) return ConcatChildren(type, pieces, 1, out);
    // Dense: children are appended whole, so each piece's offsets move up by
    // the lengths of the same child in the pieces before it.
    std::array<int, 128> child_of{};
    for (size_t i = 0; i < type.children.size(); ++i) {
      child_of[static_cast<size_t>(type.union_type_ids.empty() ? static_cast<int32_t>(i)
                                                               : type.union_type_ids[i])] =
          static_cast<int>(i);
    }
    std::vector<int64_t> shift(type.children.size(), 0);
    BufferBuilder offsets;
    for (const Piece& piece : pieces) {
      const auto* ids = piece.array->buffers[0]->data_as<int8_t>() + piece.offset;
      const auto* source = piece.array->buffers[1]->data_as<int32_t>() + piece.offset;
      for (int64_t i = 0; i < piece.length; ++i) {
        int64_t shifted =
            source[i] + shift[static_cast<size_t>(child_of[static_cast<size_t>(ids[i])])];
        if (shifted > INT32_MAX)
          return Status::OutOfRange("dense union child exceeds 2^31 elements");
        offsets.AppendValue(static_cast<int32_t>(shifted));
      }
      for (size_t c = 0; c < type.children.size(); ++c)
        shift[c] += piece.array->children[c]->length;
    }
    out.buffers.push_back(offsets.Finish());
    for (size_t c = 0; c < type.children.size(); ++c) {
      std::vector<Piece> child_pieces;
      for (const Piece& piece : pieces) {
        const ArrayData& child = *piece.array->children[c];
        child_pieces.push_back({&child, child.offset, child.length});
      }
      ZKA_ASSIGN_OR_RETURN(auto child, Concat(type.children[c], child_pieces));
      out.children.push_back(std::move(child));
    }
    return Status::Ok();
  }
};

}  // namespace

Result<std::shared_ptr<const ArrayData>> Concatenate(const Field& field, const ArrayData& first,
                                                     const ArrayData& second) {
  std::vector<Piece> pieces = {{&first, first.offset, first.length},
                               {&second, second.offset, second.length}};
  return Concatenator().Concat(field, pieces);
}

}  // namespace zkarrow::arrow::ipc
