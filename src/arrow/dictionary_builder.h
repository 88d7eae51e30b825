// Dictionary-encoded utf8: each value is stored once in a dictionary and the
// column holds signed integer indices into it (int8, int16 or int32).
//
// The dictionary either grows (a new value gets the next index) or is fixed
// up front (a value outside it is an error: useful for enums such as a znode's
// kind, whose indices then never change). The dictionary outlives Finish():
// every batch's array points at the whole dictionary so far, so a later batch's
// dictionary extends the earlier one, and an IPC writer can send just the new
// tail as a delta. While nothing new was added, batches share one dictionary
// object, so a writer can tell "unchanged" by pointer.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arrow/builder.h"

namespace zkarrow::arrow {

class StringDictionaryBuilder final : public ArrayBuilder {
 public:
  // A growing dictionary. `index_bit_width` is 8, 16 or 32.
  explicit StringDictionaryBuilder(int32_t index_bit_width);

  // A fixed dictionary of distinct `values`, in that order.
  static Result<std::unique_ptr<StringDictionaryBuilder>> MakeFixed(
      int32_t index_bit_width, std::span<const std::string_view> values);

  void Reserve(int64_t additional) override {
    validity_.Reserve(additional);
    indices_.Reserve(additional * index_bit_width_ / 8);
  }
  // Fails, appending nothing, for a value outside a fixed dictionary or when
  // a growing dictionary would outgrow its index type.
  Status Append(std::string_view value);
  // Fails when `index` is not in the dictionary.
  Status AppendIndex(int32_t index);
  void AppendNull() override {
    validity_.AppendNulls(1);
    AppendIndexUnchecked(0);
  }

  int32_t dictionary_size() const { return static_cast<int32_t>(values_.size()); }
  bool fixed() const { return fixed_; }

  // Indices in the array's buffers, values in its `dictionary`.
  std::shared_ptr<const ArrayData> Finish() override;

 private:
  // Lets the memo table look a string_view up without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Status AddToDictionary(std::string_view value, int32_t* index);
  void AppendIndexUnchecked(int32_t index);
  std::shared_ptr<const ArrayData> DictionaryArray();

  int32_t index_bit_width_;
  bool fixed_ = false;
  // Value -> index. Node-based, so the keys stay put and values_ can point at them.
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> memo_;
  std::vector<const std::string*> values_;       // in index order
  int64_t dictionary_bytes_ = 0;                 // sum of the values' sizes
  std::shared_ptr<const ArrayData> dictionary_;  // as of the last Finish()
  BufferBuilder indices_;
};

}  // namespace zkarrow::arrow
