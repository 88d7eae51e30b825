#include "arrow/builder.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "arrow/array_access.h"

namespace zkarrow::arrow {

void AbortWrongBuilderType() {
  std::fputs("zkarrow: BuilderAs<>() on a builder of another type\n", stderr);
  std::abort();
}

std::shared_ptr<ArrayData> ArrayBuilder::FinishValidity() {
  auto data = std::make_shared<ArrayData>();
  data->length = validity_.length();
  data->null_count = validity_.null_count();
  data->buffers.push_back(validity_.Finish());
  return data;
}

std::shared_ptr<const ArrayData> BooleanBuilder::Finish() {
  auto data = FinishValidity();
  data->buffers.push_back(values_.Finish());
  return data;
}

BinaryBuilder::BinaryBuilder() { offsets_.AppendValue<int32_t>(0); }

Status BinaryBuilder::Append(std::span<const uint8_t> value) {
  const auto size = static_cast<int64_t>(value.size());
  if (data_.size() + size > std::numeric_limits<int32_t>::max()) {
    return Status::OutOfRange("binary value of " + std::to_string(size) + " bytes after " +
                              std::to_string(data_.size()) +
                              " bytes would pass the 2 GiB limit of a batch's int32 offsets");
  }
  validity_.AppendValid();
  data_.Append(value.data(), size);
  offsets_.AppendValue(static_cast<int32_t>(data_.size()));
  return Status::Ok();
}

std::shared_ptr<const ArrayData> BinaryBuilder::Finish() {
  auto data = FinishValidity();
  data->buffers.push_back(offsets_.Finish());
  data->buffers.push_back(data_.Finish());
  offsets_.AppendValue<int32_t>(0);
  return data;
}

ListBuilder::ListBuilder(std::unique_ptr<ArrayBuilder> values) : values_(std::move(values)) {}

Status ListBuilder::Append() {
  if (values_->length() > std::numeric_limits<int32_t>::max()) {
    return Status::OutOfRange("list values pass the int32 offset limit of a batch");
  }
  validity_.AppendValid();
  offsets_.AppendValue(static_cast<int32_t>(values_->length()));
  return Status::Ok();
}

void ListBuilder::AppendNull() {
  // A null list is empty: it starts where the next one starts. Only Append()
  // checks the int32 limit; passing it here would take 2^31 child values
  // appended since the last Append(), far beyond any batch zkarrow builds.
  validity_.AppendNulls(1);
  offsets_.AppendValue(static_cast<int32_t>(values_->length()));
}

Status BinaryViewBuilder::Append(std::span<const uint8_t> value) {
  constexpr int64_t kMaxOffset = std::numeric_limits<int32_t>::max();
  const auto length = static_cast<int64_t>(value.size());
  if (length > kMaxOffset) {
    return Status::OutOfRange("a view holds values of at most 2 GiB, this one has " +
                              std::to_string(length) + " bytes");
  }
  BinaryViewSlot slot{};
  slot.length = static_cast<int32_t>(length);
  if (slot.length <= kViewInlineBytes) {
    if (length > 0) std::memcpy(slot.inline_or_prefix, value.data(), value.size());
  } else {
    if (data_.size() > kMaxOffset - length) full_data_.push_back(data_.Finish());
    const auto index = static_cast<int32_t>(full_data_.size());
    const auto offset = static_cast<int32_t>(data_.size());
    std::memcpy(slot.inline_or_prefix, value.data(), 4);
    std::memcpy(slot.inline_or_prefix + 4, &index, 4);
    std::memcpy(slot.inline_or_prefix + 8, &offset, 4);
    data_.Append(value.data(), length);
  }
  validity_.AppendValid();
  views_.AppendValue(slot);
  return Status::Ok();
}

std::shared_ptr<const ArrayData> BinaryViewBuilder::Finish() {
  auto data = FinishValidity();
  data->buffers.push_back(views_.Finish());
  for (auto& buffer : full_data_) data->buffers.push_back(std::move(buffer));
  full_data_.clear();
  if (data_.size() > 0) data->buffers.push_back(data_.Finish());
  return data;
}

std::shared_ptr<const ArrayData> ListBuilder::Finish() {
  auto data = FinishValidity();
  offsets_.AppendValue(static_cast<int32_t>(values_->length()));
  data->buffers.push_back(offsets_.Finish());
  data->children.push_back(values_->Finish());
  return data;
}

StructBuilder::StructBuilder(std::vector<std::unique_ptr<ArrayBuilder>> children)
    : children_(std::move(children)) {}

void StructBuilder::AppendNull() {
  validity_.AppendNulls(1);
  for (auto& child : children_) child->AppendNull();
}

std::shared_ptr<const ArrayData> StructBuilder::Finish() {
  auto data = FinishValidity();
  for (auto& child : children_) data->children.push_back(child->Finish());
  return data;
}

}  // namespace zkarrow::arrow
