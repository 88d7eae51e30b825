#include "zk/frame_decoder.h"

#include <algorithm>
#include <string>

#include "zk/jute.h"

namespace zkarrow::zk {

void FrameDecoder::Append(std::span<const uint8_t> bytes) {
  if (!error_.ok()) return;
  // Compact lazily so that appending stays amortized O(n).
  if (read_offset_ > 0 && read_offset_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(read_offset_));
    read_offset_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (!error_.ok()) return error_;
  if (buffered_bytes() < 4) return std::optional<Frame>();
  const uint8_t* p = buffer_.data() + read_offset_;
  // A frame's length is a jute int; ZooKeeper never sends a negative one.
  int32_t announced = JuteIntAt(p);
  if (announced < 0) {
    error_ = Status::InvalidData("frame announces a negative length " + std::to_string(announced));
    return error_;
  }
  size_t length = static_cast<size_t>(announced);
  Frame frame;
  frame.length = length;
  if (length > max_frame_bytes_) {
    size_t prefix = std::min(length, kOversizedPrefix);
    if (buffered_bytes() < 4 + prefix) return std::optional<Frame>();
    frame.oversized = true;
    frame.payload.assign(p + 4, p + 4 + prefix);
    error_ = Status::InvalidData("expected frames of at most " + std::to_string(max_frame_bytes_) +
                                 " bytes, found one of " + std::to_string(length) +
                                 "; the stream after it is not read");
    buffer_.clear();
    read_offset_ = 0;
    return std::optional<Frame>(std::move(frame));
  }
  if (buffered_bytes() < 4 + length) return std::optional<Frame>();
  frame.payload.assign(p + 4, p + 4 + length);
  read_offset_ += 4 + length;
  return std::optional<Frame>(std::move(frame));
}

void FrameDecoder::Reset() {
  buffer_.clear();
  read_offset_ = 0;
  error_ = Status::Ok();
}

}  // namespace zkarrow::zk
