#include "zk/jute.h"

#include <cstring>

namespace zkarrow::zk {

void JuteWriter::WriteBigEndian(uint64_t v, int width) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<uint8_t>(v >> shift));
  }
}

void JuteWriter::WriteBuffer(std::span<const uint8_t> bytes) {
  WriteInt(static_cast<int32_t>(bytes.size()));
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void JuteWriter::WriteString(std::string_view s) {
  WriteInt(static_cast<int32_t>(s.size()));
  out_.insert(out_.end(), s.begin(), s.end());
}

size_t JuteWriter::BeginFrame() {
  size_t start = out_.size();
  WriteInt(0);
  return start;
}

void JuteWriter::FinishFrame(size_t frame_start) {
  auto length = static_cast<uint32_t>(out_.size() - frame_start - 4);
  for (int i = 0; i < 4; ++i) out_[frame_start + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
}

bool JuteReader::Short(size_t n, std::string_view what) {
  if (status_.ok()) {
    status_ =
        Status::InvalidData("truncated record: " + std::string(what) + " needs " +
                            std::to_string(n) + " bytes at offset " + std::to_string(offset_) +
                            ", " + std::to_string(remaining()) + " left");
  }
  return false;
}

void JuteReader::Fail(std::string_view what) {
  if (status_.ok()) {
    status_ = Status::InvalidData(std::string(what) + " at offset " + std::to_string(offset_));
  }
}

void JuteReader::FailNegativeLength(int32_t length) {
  Fail("negative buffer length " + std::to_string(length));
}

std::vector<uint8_t> JuteReader::ReadBuffer() {
  auto view = ReadBufferView();
  return {view.begin(), view.end()};
}

std::optional<std::vector<uint8_t>> JuteReader::ReadOptionalBuffer() {
  if (!Need(4, "buffer length")) return std::nullopt;
  size_t start = offset_;
  if (ReadInt() == -1) return std::nullopt;
  offset_ = start;
  return ReadBuffer();
}

std::string JuteReader::ReadString() {
  auto view = ReadBufferView();
  return {reinterpret_cast<const char*>(view.data()), view.size()};
}

int32_t JuteReader::ReadVectorLength(size_t min_element_size) {
  int32_t count = ReadInt();
  if (count == -1) return 0;
  if (count < 0) {
    Fail("negative vector length " + std::to_string(count));
    return 0;
  }
  if (min_element_size > 0 && static_cast<size_t>(count) > remaining() / min_element_size) {
    Fail("vector of " + std::to_string(count) + " elements exceeds the remaining " +
         std::to_string(remaining()) + " bytes");
    return 0;
  }
  return count;
}

void JuteReader::Skip(size_t n) {
  if (Need(n, "skip")) offset_ += n;
}

}  // namespace zkarrow::zk
