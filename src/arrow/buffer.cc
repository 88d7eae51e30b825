#include "arrow/buffer.h"

#include <algorithm>
#include <new>

namespace zkarrow::arrow {

AlignedBytes::AlignedBytes(int64_t capacity) : capacity_(PaddedLength(std::max<int64_t>(capacity, 1))) {
  auto* raw = static_cast<uint8_t*>(
      ::operator new(static_cast<size_t>(capacity_), std::align_val_t{kBufferAlignment}));
  storage_.reset(raw);
}

void AlignedBytes::ZeroFrom(int64_t offset) {
  std::memset(data() + offset, 0, static_cast<size_t>(capacity_ - offset));
}

void AlignedBytes::Free::operator()(uint8_t* p) const {
  ::operator delete(p, std::align_val_t{kBufferAlignment});
}

std::shared_ptr<const Buffer> Buffer::CopyOf(std::span<const uint8_t> bytes) {
  auto storage = std::make_shared<AlignedBytes>(static_cast<int64_t>(bytes.size()));
  if (!bytes.empty()) std::memcpy(storage->data(), bytes.data(), bytes.size());
  storage->ZeroFrom(static_cast<int64_t>(bytes.size()));
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, static_cast<int64_t>(bytes.size()), std::move(storage));
}

std::shared_ptr<const Buffer> Buffer::Zeroed(int64_t size) {
  auto storage = std::make_shared<AlignedBytes>(size);
  storage->ZeroFrom(0);
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, size, std::move(storage));
}

void BufferBuilder::Grow(int64_t min_capacity) {
  int64_t new_capacity = std::max<int64_t>({min_capacity, capacity() * 2, kBufferAlignment});
  auto grown = std::make_shared<AlignedBytes>(new_capacity);
  if (size_ > 0) std::memcpy(grown->data(), bytes_->data(), static_cast<size_t>(size_));
  grown->ZeroFrom(size_);
  bytes_ = std::move(grown);
}

void BufferBuilder::Truncate(int64_t size) {
  if (size >= size_) return;
  std::memset(mutable_data() + size, 0, static_cast<size_t>(size_ - size));
  size_ = size;
}

std::shared_ptr<const Buffer> BufferBuilder::Finish() {
  if (!bytes_) return Buffer::Zeroed(0);
  const uint8_t* data = bytes_->data();
  auto buffer = std::make_shared<const Buffer>(data, size_, std::move(bytes_));
  bytes_.reset();
  size_ = 0;
  return buffer;
}

}  // namespace zkarrow::arrow
