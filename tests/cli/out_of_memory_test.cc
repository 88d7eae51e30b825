// A command that runs out of memory exits 1 with a message and leaves no
// output behind, instead of aborting in std::terminate (exit 134) with a
// temporary file left over. The process's address space is capped with
// prlimit at a range of sizes, so that allocations fail at different points
// of an offline snapshot of 48 MiB of data.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "datadir_files.h"
#include "support/znode_rows.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;

TEST(OutOfMemoryTest, ExitsOneAndLeavesNothing) {
  fs::path root = fs::temp_directory_path() / ("zkarrow-oom-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "data" / "version-2");
  fs::create_directories(root / "out");
  std::vector<znodes::testing::SnapshotNode> nodes = {{.path = ""}};
  for (int i = 0; i < 48; ++i) {
    nodes.push_back({.path = "/n" + std::to_string(i), .data = std::string(1 << 20, 'x')});
  }
  znodes::testing::WriteFile(root / "data" / "version-2" / "snapshot.0",
                             znodes::testing::SnapshotFile({}, nodes));

  int failures = 0;
  for (int limit_mb = 64; limit_mb <= 256; limit_mb += 16) {
    fs::path out = root / "out" / "tree.arrow";
    auto result =
        testing::RunCommand("prlimit --as=" + std::to_string(int64_t{limit_mb} << 20) +
                            " " ZKARROW_BINARY " snapshot --data-dir " + (root / "data").string() +
                            " -o " + out.string() + " 2>&1; echo \"exit=$?\"");
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const std::string& text = *result;
    const int code = std::stoi(text.substr(text.rfind("exit=") + 5));
    EXPECT_TRUE(code == 0 || code == 1) << limit_mb << " MiB: " << text;
    if (code == 0) {
      EXPECT_TRUE(fs::exists(out)) << limit_mb << " MiB";
    } else {
      ++failures;
      EXPECT_NE(text.find("zkarrow"), std::string::npos) << limit_mb << " MiB: " << text;
      EXPECT_TRUE(fs::is_empty(root / "out")) << limit_mb << " MiB: output left behind";
    }
    fs::remove_all(root / "out");
    fs::create_directories(root / "out");
  }
  // The range must include limits too small to finish (at 96 MiB the
  // snapshot's batch builder fails to grow: the bad_alloc path), or the test
  // proves nothing.
  EXPECT_GT(failures, 0);
  fs::remove_all(root);
}

}  // namespace
}  // namespace zkarrow
