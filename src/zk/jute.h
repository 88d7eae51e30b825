// Jute, ZooKeeper's record serialization: big-endian fixed-width integers,
// length-prefixed byte buffers and strings (length -1 means null), and
// length-prefixed vectors. Used by the wire protocol and by the on-disk
// snapshot and transaction-log formats alike.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace zkarrow::zk {

class JuteWriter {
 public:
  void WriteBool(bool v) { out_.push_back(v ? 1 : 0); }
  void WriteInt(int32_t v) { WriteBigEndian(static_cast<uint32_t>(v), 4); }
  void WriteLong(int64_t v) { WriteBigEndian(static_cast<uint64_t>(v), 8); }
  // A null buffer/string is written as length -1.
  void WriteBuffer(std::span<const uint8_t> bytes);
  void WriteNullBuffer() { WriteInt(-1); }
  void WriteString(std::string_view s);

  // Reserves a 4-byte length prefix and returns its position; FinishFrame
  // writes the number of bytes that followed it.
  size_t BeginFrame();
  void FinishFrame(size_t frame_start);

  const std::vector<uint8_t>& bytes() const { return out_; }
  std::vector<uint8_t> Release() { return std::move(out_); }
  size_t size() const { return out_.size(); }

 private:
  void WriteBigEndian(uint64_t v, int width);
  std::vector<uint8_t> out_;
};

// A jute int or long at `p`. REQUIRES: the bytes are in bounds (a record
// whose length was checked), for decoders that read fixed-size fields at
// once; JuteReader reads through these too.
inline int32_t JuteIntAt(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(__builtin_bswap32(v));
}
inline int64_t JuteLongAt(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return static_cast<int64_t>(__builtin_bswap64(v));
}

// Reads jute values from a bounded span. Errors are sticky: after the first
// out-of-bounds or malformed read every later read returns a zero value, and
// status() says what went wrong and at which offset. Decoders read a whole
// record, then check status() once.
class JuteReader {
 public:
  explicit JuteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // The fixed-size reads are inline: a transaction log's decode is mostly
  // these calls, and out of line they were a fifth of it.
  bool ReadBool() { return ReadByte() != 0; }
  uint8_t ReadByte() {
    if (!Need(1, "byte")) return 0;
    return bytes_[offset_++];
  }
  int32_t ReadInt() {
    if (!Need(4, "int")) return 0;
    const int32_t v = JuteIntAt(bytes_.data() + offset_);
    offset_ += 4;
    return v;
  }
  int64_t ReadLong() {
    if (!Need(8, "long")) return 0;
    const int64_t v = JuteLongAt(bytes_.data() + offset_);
    offset_ += 8;
    return v;
  }
  // Buffers and strings longer than the remaining input are errors, so a
  // hostile length never causes a large allocation. Null reads as empty;
  // ReadOptionalBuffer tells null (length -1) apart.
  std::vector<uint8_t> ReadBuffer();
  std::optional<std::vector<uint8_t>> ReadOptionalBuffer();
  std::span<const uint8_t> ReadBufferView() {
    const int32_t length = ReadInt();
    if (length < 0) [[unlikely]] {
      if (length != -1) FailNegativeLength(length);
      return {};
    }
    if (!Need(static_cast<size_t>(length), "buffer")) return {};
    auto view = bytes_.subspan(offset_, static_cast<size_t>(length));
    offset_ += static_cast<size_t>(length);
    return view;
  }
  // As ReadBufferView, but null (length -1) is nullopt rather than empty:
  // ZooKeeper keeps a znode's null data apart from empty data.
  std::optional<std::span<const uint8_t>> ReadOptionalBufferView() {
    const size_t start = offset_;
    if (ReadInt() == -1) return std::nullopt;
    offset_ = start;
    return ReadBufferView();
  }
  std::string ReadString();
  // A vector length: -1 (null) reads as 0; a count that cannot fit in the
  // remaining bytes at `min_element_size` each is an error.
  int32_t ReadVectorLength(size_t min_element_size);
  void Skip(size_t n);

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // Marks the record malformed (for checks made by the caller).
  void Fail(std::string_view what);

 private:
  bool Need(size_t n, std::string_view what) {
    if (status_.ok() && remaining() >= n) [[likely]]
      return true;
    return Short(n, what);
  }
  // Need's failure: records the error (unless one is already there).
  bool Short(size_t n, std::string_view what);
  void FailNegativeLength(int32_t length);

  std::span<const uint8_t> bytes_;
  size_t offset_ = 0;
  Status status_;
};

}  // namespace zkarrow::zk
