#include "arrow/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

namespace zkarrow::arrow {
namespace {

TEST(BufferBuilderTest, GrowsAlignedAndKeepsBytes) {
  BufferBuilder builder;
  std::vector<uint8_t> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  for (uint8_t b : expected) builder.AppendValue(b);
  auto buffer = builder.Finish();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % kBufferAlignment, 0u);
  ASSERT_EQ(buffer->size(), 1000);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buffer->data()));
  EXPECT_EQ(builder.size(), 0);
}

TEST(BufferBuilderTest, GrowsPastTheHugePageThresholdKeepingBytes) {
  // 1 KiB appends up to 12 MiB: small allocations, the step to huge pages,
  // then growth by moving pages (no copy).
  BufferBuilder builder;
  std::vector<uint8_t> chunk(1024);
  for (int i = 0; i < 12 * 1024; ++i) {
    std::fill(chunk.begin(), chunk.end(), static_cast<uint8_t>(i));
    builder.Append(chunk.data(), static_cast<int64_t>(chunk.size()));
  }
  auto buffer = builder.Finish();
  ASSERT_EQ(buffer->size(), 12 << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % kBufferAlignment, 0u);
  for (int i = 0; i < 12 * 1024; ++i) {
    ASSERT_EQ(buffer->data()[i * 1024], static_cast<uint8_t>(i)) << i;
    ASSERT_EQ(buffer->data()[i * 1024 + 1023], static_cast<uint8_t>(i)) << i;
  }
}

TEST(BufferBuilderTest, PaddingIsZero) {
  // Memory past size() is undefined until Finish(): dirty it on purpose.
  BufferBuilder builder;
  builder.Reserve(kBufferAlignment);
  std::memset(builder.mutable_data(), 0xff, static_cast<size_t>(kBufferAlignment));
  builder.UnsafeAdvance(1);
  auto buffer = builder.Finish();
  EXPECT_EQ(buffer->data()[0], 0xff);
  for (int i = 1; i < PaddedLength(1); ++i) EXPECT_EQ(buffer->data()[i], 0) << i;
}

TEST(BufferTest, SliceSharesOwner) {
  const std::vector<uint8_t> bytes = {1, 2, 3, 4};
  auto buffer = Buffer::CopyOf(bytes);
  auto slice = buffer->Slice(1, 2);
  buffer.reset();
  EXPECT_EQ(slice->data()[0], 2);
  EXPECT_EQ(slice->size(), 2);
}

}  // namespace
}  // namespace zkarrow::arrow
