#include "zk/jute.h"

#include <gtest/gtest.h>

namespace zkarrow::zk {
namespace {

TEST(JuteTest, RoundTripsEveryType) {
  JuteWriter writer;
  writer.WriteBool(true);
  writer.WriteInt(-2);
  writer.WriteLong(0x0102030405060708);
  writer.WriteString("/a/ü");
  writer.WriteNullBuffer();
  const std::vector<uint8_t> blob = {0, 255, 7};
  writer.WriteBuffer(blob);

  JuteReader reader(writer.bytes());
  EXPECT_TRUE(reader.ReadBool());
  EXPECT_EQ(reader.ReadInt(), -2);
  EXPECT_EQ(reader.ReadLong(), 0x0102030405060708);
  EXPECT_EQ(reader.ReadString(), "/a/ü");
  EXPECT_EQ(reader.ReadOptionalBuffer(), std::nullopt);
  EXPECT_EQ(reader.ReadBuffer(), blob);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(JuteTest, IntegersAreBigEndian) {
  JuteWriter writer;
  writer.WriteInt(0x01020304);
  EXPECT_EQ(writer.bytes(), (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(JuteTest, FrameLengthCountsWhatFollows) {
  JuteWriter writer;
  size_t frame = writer.BeginFrame();
  writer.WriteLong(1);
  writer.FinishFrame(frame);
  JuteReader reader(writer.bytes());
  EXPECT_EQ(reader.ReadInt(), 8);
}

TEST(JuteTest, HostileLengthIsAnErrorNotAnAllocation) {
  const std::vector<uint8_t> bytes = {0x7f, 0xff, 0xff, 0xff, 'x'};
  JuteReader reader(bytes);
  EXPECT_TRUE(reader.ReadBuffer().empty());
  EXPECT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find("truncated"), std::string::npos);
}

TEST(JuteTest, ErrorsAreSticky) {
  const std::vector<uint8_t> bytes = {0, 0};
  JuteReader reader(bytes);
  EXPECT_EQ(reader.ReadInt(), 0);
  EXPECT_FALSE(reader.ok());
  EXPECT_EQ(reader.ReadByte(), 0);
  EXPECT_EQ(reader.offset(), 0u);
}

TEST(JuteTest, VectorLengthBeyondInputIsRejected) {
  JuteWriter writer;
  writer.WriteInt(1000);
  writer.WriteInt(1);
  JuteReader reader(writer.bytes());
  EXPECT_EQ(reader.ReadVectorLength(4), 0);
  EXPECT_FALSE(reader.ok());
}

}  // namespace
}  // namespace zkarrow::zk
