// Bit-packed buffers under construction: BitmapBuilder appends bits (boolean
// values, validity), ValidityBuilder adds the "no bitmap until the first null"
// rule so that arrays without nulls carry no validity buffer at all.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "arrow/array.h"
#include "arrow/buffer.h"

namespace zkarrow::arrow {

// Bytes holding `bits` bits (bits >= 0), without overflow for any int64.
inline constexpr int64_t BytesForBits(int64_t bits) { return bits / 8 + (bits % 8 != 0); }

class BitmapBuilder {
 public:
  void Reserve(int64_t additional_bits) {
    bytes_.Reserve(BytesForBits(length_ + additional_bits) - bytes_.size());
  }

  void Append(bool bit) {
    if ((length_ & 7) == 0) bytes_.AppendValue<uint8_t>(0);
    if (bit) SetBit(bytes_.mutable_data(), length_);
    ++length_;
  }

  void AppendN(bool bit, int64_t n) {
    if (n <= 0) return;
    int64_t start = length_;
    length_ += n;
    bytes_.AppendZeros(BytesForBits(length_) - bytes_.size());
    if (!bit) return;  // new bytes are already zero
    uint8_t* bits = bytes_.mutable_data();
    int64_t i = start;
    for (; i < length_ && (i & 7) != 0; ++i) SetBit(bits, i);
    int64_t whole_bytes = (length_ - i) / 8;
    std::memset(bits + i / 8, 0xff, static_cast<size_t>(whole_bytes));
    for (i += whole_bytes * 8; i < length_; ++i) SetBit(bits, i);
  }

  int64_t length() const { return length_; }

  // Returns the bits (length() rounded up to whole bytes) and resets to empty.
  std::shared_ptr<const Buffer> Finish() {
    length_ = 0;
    return bytes_.Finish();
  }

 private:
  BufferBuilder bytes_;
  int64_t length_ = 0;
};

class ValidityBuilder {
 public:
  void Reserve(int64_t additional) {
    if (materialized_) bits_.Reserve(additional);
  }

  void AppendValid() {
    if (materialized_) bits_.Append(true);
    ++length_;
  }

  void AppendValid(int64_t n) {
    if (materialized_) bits_.AppendN(true, n);
    length_ += n;
  }

  void AppendNulls(int64_t n) {
    if (!materialized_) {
      bits_.AppendN(true, length_);
      materialized_ = true;
    }
    bits_.AppendN(false, n);
    length_ += n;
    null_count_ += n;
  }

  int64_t length() const { return length_; }
  int64_t null_count() const { return null_count_; }

  // Returns the bitmap, or nullptr when nothing was null, and resets to empty.
  std::shared_ptr<const Buffer> Finish() {
    std::shared_ptr<const Buffer> bitmap = materialized_ ? bits_.Finish() : nullptr;
    length_ = 0;
    null_count_ = 0;
    materialized_ = false;
    return bitmap;
  }

 private:
  BitmapBuilder bits_;
  int64_t length_ = 0;
  int64_t null_count_ = 0;
  bool materialized_ = false;
};

}  // namespace zkarrow::arrow
