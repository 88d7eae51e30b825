// ReadDataDir hands the rows over from a second thread (ForEachOnTwoThreads
// in data_dir.cc) in blocks: every row arrives once, in path order, on the
// caller's thread; a sink that fails stops the read with its own error, and
// is not called again.
#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
}  // namespace zkarrow::znodes
