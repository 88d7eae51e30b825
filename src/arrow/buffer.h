// Immutable byte buffers shared between arrays, and the growable, 64-byte
// aligned builder that produces them. A Buffer does not own its bytes by
// itself: it holds a shared "owner" (an aligned allocation, a memory map, an
// IPC message body) so that slices and zero-copy reads keep the source alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "base/status.h"

namespace zkarrow::arrow {

// Arrow recommends 64-byte alignment and padding for every buffer.
inline constexpr int64_t kBufferAlignment = 64;

inline constexpr int64_t PaddedLength(int64_t n) {
  return (n + kBufferAlignment - 1) & ~(kBufferAlignment - 1);
}

class Buffer {
 public:
  Buffer(const uint8_t* data, int64_t size, std::shared_ptr<const void> owner)
      : data_(data), size_(size), owner_(std::move(owner)) {}

  // A buffer owning a 64-byte aligned copy of `bytes`.
  static std::shared_ptr<const Buffer> CopyOf(std::span<const uint8_t> bytes);
  // A buffer of `size` zero bytes.
  static std::shared_ptr<const Buffer> Zeroed(int64_t size);

  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }

  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(data_);
  }

  // A view of [offset, offset + length) sharing this buffer's owner.
  // The caller has checked the range.
  std::shared_ptr<const Buffer> Slice(int64_t offset, int64_t length) const {
    return std::make_shared<const Buffer>(data_ + offset, length, owner_);
  }

  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  const uint8_t* data_;
  int64_t size_;
  std::shared_ptr<const void> owner_;
};

// A 64-byte aligned, 64-byte padded allocation. Its bytes start out
// undefined: the owner zeroes what it does not overwrite (ZeroFrom), so that
// filling a large buffer touches its memory once, not twice. Large ones are
// backed by huge pages (base/huge_pages.h): batches are filled once, front
// to back, right after they are allocated.
class AlignedBytes {
 public:
  explicit AlignedBytes(int64_t capacity);
  ~AlignedBytes();
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;

  void ZeroFrom(int64_t offset);
  // Grows to `capacity`, keeping the bytes, without copying them; false
  // (and nothing changed) for an allocation too small for huge pages.
  bool TryGrowWithoutCopy(int64_t capacity);
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  int64_t capacity() const { return capacity_; }

 private:
  bool huge_pages() const;

  int64_t capacity_;
  uint8_t* data_;
};

// Appends bytes into an aligned allocation that doubles as it grows; Finish()
// zeroes the padding and hands the bytes over as a Buffer without copying.
// Reserve() first, then the Unsafe* appends skip capacity checks in hot
// loops. Memory past size() is undefined until Finish().
class BufferBuilder {
 public:
  BufferBuilder() = default;

  void Reserve(int64_t additional) {
    if (size_ + additional > capacity()) Grow(size_ + additional);
  }
  void Append(const void* bytes, int64_t n) {
    Reserve(n);
    UnsafeAppend(bytes, n);
  }
  template <typename T>
  void AppendValue(T value) {
    Append(&value, sizeof(T));
  }
  void AppendZeros(int64_t n) {
    Reserve(n);
    if (n > 0) std::memset(mutable_data() + size_, 0, static_cast<size_t>(n));
    size_ += n;
  }
  // Takes in `n` bytes the caller wrote at mutable_data() + size(), within
  // the reserved capacity (e.g. by read()).
  void UnsafeAdvance(int64_t n) { size_ += n; }
  void UnsafeAppend(const void* bytes, int64_t n) {
    if (n > 0) std::memcpy(mutable_data() + size_, bytes, static_cast<size_t>(n));
    size_ += n;
  }
  template <typename T>
  void UnsafeAppendValue(T value) {
    UnsafeAppend(&value, sizeof(T));
  }

  uint8_t* mutable_data() { return bytes_ ? bytes_->data() : nullptr; }
  const uint8_t* data() const { return bytes_ ? bytes_->data() : nullptr; }
  int64_t size() const { return size_; }
  int64_t capacity() const { return bytes_ ? bytes_->capacity() : 0; }

  // Returns the bytes as a buffer and resets the builder to empty.
  std::shared_ptr<const Buffer> Finish();

 private:
  void Grow(int64_t min_capacity);

  std::shared_ptr<AlignedBytes> bytes_;
  int64_t size_ = 0;
};

}  // namespace zkarrow::arrow
