#include "arrow/compare.h"

#include <algorithm>
#include <string_view>

#include "arrow/array_access.h"

namespace zkarrow::arrow {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (uint8_t b : bytes.first(std::min<size_t>(bytes.size(), 32))) {
    text += kDigits[b >> 4];
    text += kDigits[b & 15];
  }
  if (bytes.size() > 32) text += "...";
  return text;
}

// Appends instead of chaining operator+: GCC 12 at -O3 reports a false
// -Wrestrict on the chained form.
std::string Quoted(std::span<const uint8_t> bytes) {
  constexpr size_t kShown = 64;
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::string quoted;
  quoted.reserve(std::min(text.size(), kShown) + 5);
  quoted.push_back('"');
  quoted.append(text.substr(0, kShown));
  if (text.size() > kShown) quoted.append("...");
  quoted.push_back('"');
  return quoted;
}

class Comparer {
 public:
  explicit Comparer(std::string* why) : why_(why) {}

  // Compares elements [li, li + n) of `left` with [ri, ri + n) of `right`;
  // indices are logical, before each array's own offset is applied.
  bool Range(const Field& field, const ArrayData& left, int64_t li, const ArrayData& right,
             int64_t ri, int64_t n, const std::string& path) {
    if (field.dictionary) return DictionaryRange(field, left, li, right, ri, n, path);
    const DataType& type = field.type;
    for (int64_t k = 0; k < n; ++k) {
      if (!HasValidityBitmap(type.id)) break;
      bool lv = IsValidAt(left, li + k);
      bool rv = IsValidAt(right, ri + k);
      if (lv != rv) {
        return Fail(path, li + k, ri + k,
                    std::string(lv ? "valid" : "null") + " vs " + (rv ? "valid" : "null"));
      }
    }
    switch (type.id) {
      case TypeId::kNull:
        return true;
      case TypeId::kBool:
        for (int64_t k = 0; k < n; ++k) {
          if (!IsValidAt(left, li + k)) continue;
          bool l = GetBit(left.buffers[1]->data(), left.offset + li + k);
          bool r = GetBit(right.buffers[1]->data(), right.offset + ri + k);
          if (l != r) return Fail(path, li + k, ri + k, l ? "true vs false" : "false vs true");
        }
        return true;
      case TypeId::kBinary:
      case TypeId::kUtf8:
      case TypeId::kLargeBinary:
      case TypeId::kLargeUtf8:
      case TypeId::kBinaryView:
      case TypeId::kUtf8View:
        return BinaryRange(type, left, li, right, ri, n, path);
      case TypeId::kList:
      case TypeId::kLargeList:
      case TypeId::kMap:
      case TypeId::kListView:
      case TypeId::kLargeListView:
        return ListRange(type, left, li, right, ri, n, path);
      case TypeId::kRunEndEncoded:
        for (int64_t k = 0; k < n; ++k) {
          if (!Range(type.children[1], *left.children[1], RunIndex(type, left, li + k),
                     *right.children[1], RunIndex(type, right, ri + k), 1,
                     ElementPath(path, li + k))) {
            return false;
          }
        }
        return true;
      case TypeId::kFixedSizeList:
        for (int64_t k = 0; k < n; ++k) {
          if (!IsValidAt(left, li + k)) continue;
          int64_t size = type.list_size;
          if (!Range(type.children[0], *left.children[0], (left.offset + li + k) * size,
                     *right.children[0], (right.offset + ri + k) * size, size,
                     ElementPath(path, li + k))) {
            return false;
          }
        }
        return true;
      case TypeId::kStruct:
        for (int64_t k = 0; k < n; ++k) {
          if (!IsValidAt(left, li + k)) continue;
          for (size_t c = 0; c < type.children.size(); ++c) {
            if (!Range(type.children[c], *left.children[c], left.offset + li + k,
                       *right.children[c], right.offset + ri + k, 1,
                       ElementPath(path, li + k) + "." + type.children[c].name)) {
              return false;
            }
          }
        }
        return true;
      case TypeId::kUnion:
        return UnionRange(type, left, li, right, ri, n, path);
      default:
        return FixedWidthRange(type, left, li, right, ri, n, path);
    }
  }

 private:
  static std::string ElementPath(const std::string& path, int64_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  bool Fail(const std::string& path, int64_t li, int64_t ri, const std::string& what) {
    if (why_ != nullptr) {
      *why_ = ElementPath(path, li);
      if (ri != li) *why_ += " (right [" + std::to_string(ri) + "])";
      *why_ += ": " + what;
    }
    return false;
  }

  bool FixedWidthRange(const DataType& type, const ArrayData& left, int64_t li,
                       const ArrayData& right, int64_t ri, int64_t n, const std::string& path) {
    const int64_t width = FixedWidth(type);
    if (width == 0) return Fail(path, li, ri, "cannot compare type " + TypeToString(type));
    for (int64_t k = 0; k < n; ++k) {
      if (!IsValidAt(left, li + k)) continue;
      std::span<const uint8_t> l = FixedWidthValue(left, li + k, width);
      std::span<const uint8_t> r = FixedWidthValue(right, ri + k, width);
      if (!std::equal(l.begin(), l.end(), r.begin())) {
        std::string what = Hex(l) + " vs " + Hex(r);
        if (type.id == TypeId::kInt) {
          what = std::to_string(ReadInt(l, type.is_signed)) + " vs " +
                 std::to_string(ReadInt(r, type.is_signed)) + " (" + what + ")";
        }
        return Fail(path, li + k, ri + k, what);
      }
    }
    return true;
  }

  bool BinaryRange(const DataType& type, const ArrayData& left, int64_t li, const ArrayData& right,
                   int64_t ri, int64_t n, const std::string& path) {
    for (int64_t k = 0; k < n; ++k) {
      if (!IsValidAt(left, li + k)) continue;
      std::span<const uint8_t> l = BinaryLikeValue(type.id, left, li + k);
      std::span<const uint8_t> r = BinaryLikeValue(type.id, right, ri + k);
      if (!std::equal(l.begin(), l.end(), r.begin(), r.end())) {
        return Fail(
            path, li + k, ri + k,
            IsUtf8Like(type.id) ? Quoted(l) + " vs " + Quoted(r) : Hex(l) + " vs " + Hex(r));
      }
    }
    return true;
  }

  bool ListRange(const DataType& type, const ArrayData& left, int64_t li, const ArrayData& right,
                 int64_t ri, int64_t n, const std::string& path) {
    for (int64_t k = 0; k < n; ++k) {
      if (!IsValidAt(left, li + k)) continue;
      const ChildRange l = ListChildRange(type.id, left, li + k);
      const ChildRange r = ListChildRange(type.id, right, ri + k);
      if (l.size != r.size) {
        return Fail(path, li + k, ri + k,
                    std::to_string(l.size) + " vs " + std::to_string(r.size) + " elements");
      }
      if (!Range(type.children[0], *left.children[0], l.start, *right.children[0], r.start, l.size,
                 ElementPath(path, li + k))) {
        return false;
      }
    }
    return true;
  }

  bool UnionRange(const DataType& type, const ArrayData& left, int64_t li, const ArrayData& right,
                  int64_t ri, int64_t n, const std::string& path) {
    for (int64_t k = 0; k < n; ++k) {
      int8_t l_id = UnionTypeId(left, li + k);
      int8_t r_id = UnionTypeId(right, ri + k);
      if (l_id != r_id) {
        return Fail(path, li + k, ri + k,
                    "type id " + std::to_string(l_id) + " vs " + std::to_string(r_id));
      }
      int child = UnionChildForTypeId(type, l_id);
      if (child < 0) return Fail(path, li + k, ri + k, "unknown type id " + std::to_string(l_id));
      int64_t l_at = UnionChildIndex(type, left, li + k);
      int64_t r_at = UnionChildIndex(type, right, ri + k);
      const auto c = static_cast<size_t>(child);
      if (!Range(type.children[c], *left.children[c], l_at, *right.children[c], r_at, 1,
                 ElementPath(path, li + k) + "." + type.children[c].name)) {
        return false;
      }
    }
    return true;
  }

  bool DictionaryRange(const Field& field, const ArrayData& left, int64_t li,
                       const ArrayData& right, int64_t ri, int64_t n, const std::string& path) {
    if (!left.dictionary || !right.dictionary) {
      return Fail(path, li, ri,
                  std::string("no dictionary on the ") + (left.dictionary ? "right" : "left"));
    }
    Field values = field;
    values.dictionary.reset();
    const DataType& index_type = field.dictionary->index_type;
    for (int64_t k = 0; k < n; ++k) {
      bool lv = IsValidAt(left, li + k);
      bool rv = IsValidAt(right, ri + k);
      if (lv != rv) {
        return Fail(path, li + k, ri + k,
                    std::string(lv ? "valid" : "null") + " vs " + (rv ? "valid" : "null"));
      }
      if (!lv) continue;
      int64_t l_index = ReadDictionaryIndex(left, li + k, index_type);
      int64_t r_index = ReadDictionaryIndex(right, ri + k, index_type);
      if (l_index < 0 || l_index >= left.dictionary->length || r_index < 0 ||
          r_index >= right.dictionary->length) {
        return Fail(path, li + k, ri + k,
                    "dictionary index " + std::to_string(l_index) + " vs " +
                        std::to_string(r_index) + " out of range");
      }
      if (!Range(values, *left.dictionary, l_index, *right.dictionary, r_index, 1,
                 ElementPath(path, li + k) + " -> dictionary")) {
        return false;
      }
    }
    return true;
  }

  std::string* why_;
};

}  // namespace

bool ArraysEqual(const Field& field, const ArrayData& left, const ArrayData& right,
                 std::string* why) {
  if (left.length != right.length) {
    if (why != nullptr) {
      *why = "length " + std::to_string(left.length) + " vs " + std::to_string(right.length);
    }
    return false;
  }
  return Comparer(why).Range(field, left, 0, right, 0, left.length, "");
}

bool SchemasEqual(const Schema& left, const Schema& right, std::string* why) {
  auto fail = [&](std::string message) {
    if (why != nullptr) *why = std::move(message);
    return false;
  };
  if (left.fields.size() != right.fields.size()) {
    return fail(std::to_string(left.fields.size()) + " vs " + std::to_string(right.fields.size()) +
                " fields");
  }
  for (size_t i = 0; i < left.fields.size(); ++i) {
    const Field& l = left.fields[i];
    const Field& r = right.fields[i];
    if (l == r) continue;
    std::string l_text = FieldToString(l);
    std::string r_text = FieldToString(r);
    if (l_text != r_text)
      return fail("field " + std::to_string(i) + ": " + l_text + " vs " + r_text);
    return fail("field " + std::to_string(i) + " \"" + l.name +
                "\": metadata (of it or a child) differs");
  }
  if (left.metadata != right.metadata) return fail("schema metadata differs");
  return true;
}

bool BatchesEqual(const RecordBatch& left, const RecordBatch& right, std::string* why) {
  auto fail = [&](std::string message) {
    if (why != nullptr) *why = std::move(message);
    return false;
  };
  if (!left.schema || !right.schema) return fail("batch without a schema");
  if (!SchemasEqual(*left.schema, *right.schema, why)) return false;
  if (left.length != right.length) {
    return fail("length " + std::to_string(left.length) + " vs " + std::to_string(right.length));
  }
  if (left.columns.size() != right.columns.size()) return fail("column counts differ");
  for (size_t i = 0; i < left.columns.size(); ++i) {
    const Field& field = left.schema->fields[i];
    std::string where;
    if (!ArraysEqual(field, *left.columns[i], *right.columns[i], &where)) {
      return fail("column \"" + field.name + "\"" + where);
    }
  }
  return true;
}

}  // namespace zkarrow::arrow
