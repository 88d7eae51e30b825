// Splits the byte stream from a ZooKeeper server into frames (a 4-byte
// big-endian length, then that many bytes). A frame longer than the limit is
// not buffered: its first bytes (enough for the ReplyHeader, so the request
// it answers can be failed) are delivered flagged `oversized`, and then the
// stream is over (a sticky error): skipping the rest instead would let a
// server that announces up to 2 GiB keep the connection while every later
// reply vanishes into the skip. A negative length is a sticky error too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"

namespace zkarrow::zk {

struct Frame {
  std::vector<uint8_t> payload;  // oversized: only the first kOversizedPrefix bytes
  size_t length = 0;             // the length the frame announced
  bool oversized = false;
};

class FrameDecoder {
 public:
  // How much of an oversized frame is kept.
  static constexpr size_t kOversizedPrefix = 16;

  explicit FrameDecoder(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  void Append(std::span<const uint8_t> bytes);

  // The next complete frame; nullopt if more bytes are needed; an error if
  // the stream is malformed (then every later call returns it too).
  Result<std::optional<Frame>> Next();

  // Forgets everything buffered (after a reconnection).
  void Reset();

  size_t buffered_bytes() const { return buffer_.size() - read_offset_; }

 private:
  size_t max_frame_bytes_;
  std::vector<uint8_t> buffer_;
  size_t read_offset_ = 0;
  Status error_;
};

}  // namespace zkarrow::zk
