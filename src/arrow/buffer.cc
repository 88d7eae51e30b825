#include "arrow/buffer.h"

#include <algorithm>
#include <new>

#include "base/huge_pages.h"

namespace zkarrow::arrow {

namespace {

// From this size on, an allocation gets huge pages; smaller ones would
// leave most of a 2 MiB page unused.
constexpr int64_t kHugePageThreshold = int64_t{1} << 20;

}  // namespace

AlignedBytes::AlignedBytes(int64_t capacity)
    : capacity_(PaddedLength(std::max<int64_t>(capacity, 1))),
      data_(static_cast<uint8_t*>(huge_pages()
                                      ? AllocateHugePages(static_cast<size_t>(capacity_))
                                      : ::operator new (static_cast<size_t>(capacity_),
                                                        std::align_val_t{kBufferAlignment}))) {}

AlignedBytes::~AlignedBytes() {
  if (huge_pages()) {
    FreeHugePages(data_, static_cast<size_t>(capacity_));
  } else {
    ::operator delete (data_, std::align_val_t{kBufferAlignment});
  }
}

bool AlignedBytes::huge_pages() const { return capacity_ >= kHugePageThreshold; }

bool AlignedBytes::TryGrowWithoutCopy(int64_t capacity) {
  if (!huge_pages()) return false;
  const int64_t padded = PaddedLength(capacity);
  data_ = static_cast<uint8_t*>(
      ReallocateHugePages(data_, static_cast<size_t>(capacity_), static_cast<size_t>(padded)));
  capacity_ = padded;
  return true;
}

void AlignedBytes::ZeroFrom(int64_t offset) {
  std::memset(data() + offset, 0, static_cast<size_t>(capacity_ - offset));
}

std::shared_ptr<const Buffer> Buffer::CopyOf(std::span<const uint8_t> bytes) {
  auto storage = std::make_shared<AlignedBytes>(static_cast<int64_t>(bytes.size()));
  if (!bytes.empty()) std::memcpy(storage->data(), bytes.data(), bytes.size());
  storage->ZeroFrom(static_cast<int64_t>(bytes.size()));
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, static_cast<int64_t>(bytes.size()),
                                        std::move(storage));
}

std::shared_ptr<const Buffer> Buffer::Zeroed(int64_t size) {
  auto storage = std::make_shared<AlignedBytes>(size);
  storage->ZeroFrom(0);
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, size, std::move(storage));
}

void BufferBuilder::Grow(int64_t min_capacity) {
  int64_t new_capacity = std::max<int64_t>({min_capacity, capacity() * 2, kBufferAlignment});
  // The builder owns bytes_ alone until Finish(), so it may move them.
  if (bytes_ && bytes_->TryGrowWithoutCopy(new_capacity)) return;
  auto grown = std::make_shared<AlignedBytes>(new_capacity);
  if (size_ > 0) std::memcpy(grown->data(), bytes_->data(), static_cast<size_t>(size_));
  bytes_ = std::move(grown);
}

std::shared_ptr<const Buffer> BufferBuilder::Finish() {
  if (!bytes_) return Buffer::Zeroed(0);
  // Only the padding up to the next 64-byte boundary is ever read (and
  // written to IPC bodies), so only it is zeroed.
  const int64_t padded = PaddedLength(size_);
  std::memset(bytes_->data() + size_, 0, static_cast<size_t>(padded - size_));
  const uint8_t* data = bytes_->data();
  auto buffer = std::make_shared<const Buffer>(data, size_, std::move(bytes_));
  bytes_.reset();
  size_ = 0;
  return buffer;
}

}  // namespace zkarrow::arrow
