#include "arrow/dictionary_builder.h"

#include <limits>

namespace zkarrow::arrow {
namespace {

int32_t MaxIndex(int32_t bit_width) {
  switch (bit_width) {
    case 8:
      return std::numeric_limits<int8_t>::max();
    case 16:
      return std::numeric_limits<int16_t>::max();
    default:
      return std::numeric_limits<int32_t>::max();
  }
}

// "value" in double quotes. Appending (rather than "\"" + std::string(...))
// also avoids a GCC 12 -Wrestrict false positive at -O3.
std::string Quoted(std::string_view value) {
  std::string quoted;
  quoted.reserve(value.size() + 2);
  quoted += '"';
  quoted += value;
  quoted += '"';
  return quoted;
}

}  // namespace

StringDictionaryBuilder::StringDictionaryBuilder(int32_t index_bit_width)
    : index_bit_width_(index_bit_width == 8 || index_bit_width == 16 ? index_bit_width : 32) {}

Result<std::unique_ptr<StringDictionaryBuilder>> StringDictionaryBuilder::MakeFixed(
    int32_t index_bit_width, std::span<const std::string_view> values) {
  auto builder = std::make_unique<StringDictionaryBuilder>(index_bit_width);
  for (std::string_view value : values) {
    int32_t index = 0;
    ZKA_RETURN_IF_ERROR(builder->AddToDictionary(value, &index));
    if (index != builder->dictionary_size() - 1) {
      return Status::InvalidArgument("fixed dictionary lists " + Quoted(value) + " twice");
    }
  }
  builder->fixed_ = true;
  return builder;
}

Status StringDictionaryBuilder::AddToDictionary(std::string_view value, int32_t* index) {
  if (auto it = memo_.find(value); it != memo_.end()) {
    *index = it->second;
    return Status::Ok();
  }
  if (fixed_) {
    return Status::InvalidArgument(Quoted(value) + " is not in the fixed dictionary");
  }
  if (dictionary_size() >= MaxIndex(index_bit_width_)) {
    return Status::OutOfRange("dictionary with int" + std::to_string(index_bit_width_) +
                              " indices is full at " + std::to_string(dictionary_size()) +
                              " values");
  }
  if (dictionary_bytes_ + static_cast<int64_t>(value.size()) >
      std::numeric_limits<int32_t>::max()) {
    return Status::OutOfRange("dictionary values would pass the 2 GiB limit of int32 offsets");
  }
  dictionary_bytes_ += static_cast<int64_t>(value.size());
  *index = dictionary_size();
  auto [it, inserted] = memo_.emplace(std::string(value), *index);
  values_.push_back(&it->first);
  return Status::Ok();
}

Status StringDictionaryBuilder::Append(std::string_view value) {
  int32_t index = 0;
  ZKA_RETURN_IF_ERROR(AddToDictionary(value, &index));
  validity_.AppendValid();
  AppendIndexUnchecked(index);
  return Status::Ok();
}

Status StringDictionaryBuilder::AppendIndex(int32_t index) {
  if (index < 0 || index >= dictionary_size()) {
    return Status::InvalidArgument("dictionary index " + std::to_string(index) +
                                   " is outside a dictionary of " +
                                   std::to_string(dictionary_size()) + " values");
  }
  validity_.AppendValid();
  AppendIndexUnchecked(index);
  return Status::Ok();
}

void StringDictionaryBuilder::AppendIndexUnchecked(int32_t index) {
  switch (index_bit_width_) {
    case 8:
      indices_.AppendValue(static_cast<int8_t>(index));
      break;
    case 16:
      indices_.AppendValue(static_cast<int16_t>(index));
      break;
    default:
      indices_.AppendValue(index);
      break;
  }
}

std::shared_ptr<const ArrayData> StringDictionaryBuilder::DictionaryArray() {
  if (dictionary_ && dictionary_->length == dictionary_size()) return dictionary_;
  BufferBuilder offsets;
  BufferBuilder data;
  offsets.Reserve((dictionary_size() + 1) * static_cast<int64_t>(sizeof(int32_t)));
  data.Reserve(dictionary_bytes_);
  offsets.UnsafeAppendValue<int32_t>(0);
  for (const std::string* value : values_) {
    data.UnsafeAppend(value->data(), static_cast<int64_t>(value->size()));
    offsets.UnsafeAppendValue(static_cast<int32_t>(data.size()));
  }
  auto dictionary = std::make_shared<ArrayData>();
  dictionary->length = dictionary_size();
  dictionary->buffers = {nullptr, offsets.Finish(), data.Finish()};
  dictionary_ = std::move(dictionary);
  return dictionary_;
}

std::shared_ptr<const ArrayData> StringDictionaryBuilder::Finish() {
  auto data = FinishValidity();
  data->buffers.push_back(indices_.Finish());
  data->dictionary = DictionaryArray();
  return data;
}

}  // namespace zkarrow::arrow
