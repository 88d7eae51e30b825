// ReadDataDir hands the rows over from a second thread (ForEachOnTwoThreads
// in data_dir.cc) in blocks: every row arrives once, in path order, on the
// caller's thread; a sink that fails stops the read with its own error, and
// is not called again.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "datadir_files.h"
#include "znodes/datadir/data_dir.h"

namespace zkarrow::znodes {
namespace {

// Many blocks' worth of rows, more than the queue holds.
constexpr int kNodes = 50000;

class DataDirReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<testing::SnapshotNode> nodes = {{.path = ""}};
    for (int i = 0; i < kNodes; ++i) {
      nodes.push_back({.path = "/n" + std::to_string(i), .data = std::to_string(i)});
    }
    testing::WriteFile(scratch_.version2() / "snapshot.0", testing::SnapshotFile({}, nodes));
  }

  testing::ScratchDataDir scratch_{"read"};
};

TEST_F(DataDirReadTest, EveryRowOnceInPathOrderOnTheCallersThread) {
  std::vector<std::string> paths;
  bool other_thread = false;
  const auto caller = std::this_thread::get_id();
  Status status = ReadDataDir(
      {.dir = scratch_.version2()},
      [&](const ZnodeRecord& record) {
        other_thread |= std::this_thread::get_id() != caller;
        paths.emplace_back(record.path);
        const std::string name(record.path.substr(1));
        if (!name.empty()) {
          EXPECT_EQ(std::string(record.data->begin(), record.data->end()), name.substr(1));
        }
        return Status::Ok();
      },
      nullptr);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(paths.size(), size_t{kNodes} + 1);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end());
  EXPECT_FALSE(other_thread);
}

TEST_F(DataDirReadTest, FailingSinkStopsTheReadWithItsError) {
  for (int fail_at : {0, 1, 4095, 4096, 30000}) {
    SCOPED_TRACE(fail_at);
    int calls = 0;
    Status status = ReadDataDir(
        {.dir = scratch_.version2()},
        [&](const ZnodeRecord&) {
          if (calls++ == fail_at) return Status::IoError("disk full");
          return Status::Ok();
        },
        nullptr);
    EXPECT_EQ(status.ToString(), Status::IoError("disk full").ToString());
    EXPECT_EQ(calls, fail_at + 1);
  }
}

// A snapshot of several MiB has the checksum of all but its last 80 bytes
// computed on another thread while its nodes are decoded, and the rest when
// the seal is reached: a flipped byte is caught on either side of that
// split (with the digest section it falls inside the last node's stat), in
// the middle, and just before the seal.
TEST(DataDirSealTest, LargeSnapshotsChecksumCoversEveryByte) {
  std::vector<testing::SnapshotNode> nodes = {{.path = ""}};
  for (int i = 0; i < 40; ++i) {
    nodes.push_back({.path = "/n" + std::to_string(i), .data = std::string(128 << 10, 'x')});
  }
  for (bool digest : {false, true}) {
    SCOPED_TRACE(digest ? "with digest" : "without digest");
    const std::vector<uint8_t> original = testing::SnapshotFile(
        {}, nodes,
        digest ? std::optional(datadir::ZxidDigest{.zxid = 1, .version = 1, .digest = 7})
               : std::nullopt);
    ASSERT_GT(original.size(), size_t{5} << 20);
    // The seal (13 bytes) ends the file or precedes the digest section (20
    // bytes and its 13-byte seal). Before the seal: the "/" end record (5
    // bytes), before that the last node's stat (60 bytes), whose bytes only
    // the checksum can tell wrong.
    const size_t seal = original.size() - 13 - (digest ? 33 : 0);
    const size_t stat = seal - 5 - 60;
    if (digest) {
      ASSERT_EQ(original.size() - 80, stat + 31);
    }
    testing::ScratchDataDir scratch("seal");
    const auto snapshot = scratch.version2() / "snapshot.0";
    int rows = 0;
    auto read = [&] {
      rows = 0;
      return ReadDataDir(
          {.dir = scratch.version2()},
          [&](const ZnodeRecord&) {
            ++rows;
            return Status::Ok();
          },
          nullptr);
    };
    testing::WriteFile(snapshot, original);
    Status status = read();
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(rows, 41);
    for (size_t at :
         {size_t{1} << 20, original.size() / 2, stat + 24, stat + 30, stat + 31, seal - 6}) {
      SCOPED_TRACE("flipped byte " + std::to_string(at));
      std::vector<uint8_t> flipped = original;
      flipped[at] ^= 0x40;
      testing::WriteFile(snapshot, flipped);
      status = read();
      EXPECT_FALSE(status.ok());
      EXPECT_NE(status.message().find("checksum mismatch"), std::string::npos) << status.ToString();
      EXPECT_EQ(rows, 0);
    }
  }
}

}  // namespace
}  // namespace zkarrow::znodes
