// A command that runs out of memory exits 1 with a message and leaves no
// output behind, instead of aborting in std::terminate (exit 134) with a
// temporary file left over. The process's address space is capped with
// prlimit at a range of sizes, so that allocations fail at different points
// of an offline snapshot of 48 MiB of data, and of a query over it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "datadir_files.h"
#include "support/znode_rows.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;

// A data dir under `root` whose snapshot holds 48 znodes of 1 MiB each.
void WriteDataDir(const fs::path& root) {
  fs::remove_all(root);
  fs::create_directories(root / "data" / "version-2");
  std::vector<znodes::testing::SnapshotNode> nodes = {{.path = ""}};
  for (int i = 0; i < 48; ++i) {
    nodes.push_back({.path = "/n" + std::to_string(i), .data = std::string(1 << 20, 'x')});
  }
  znodes::testing::WriteFile(root / "data" / "version-2" / "snapshot.0",
                             znodes::testing::SnapshotFile({}, nodes));
}

// `command` run with its address space capped at `limit_mb`: its output
// and exit status.
std::pair<std::string, int> RunCapped(int limit_mb, const std::string& command) {
  auto result = testing::RunCommand("prlimit --as=" + std::to_string(int64_t{limit_mb} << 20) +
                                    " " ZKARROW_BINARY " " + command + " 2>&1; echo \"exit=$?\"");
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {"", -1};
  const std::string& text = *result;
  return {text, std::stoi(text.substr(text.rfind("exit=") + 5))};
}

TEST(OutOfMemoryTest, ExitsOneAndLeavesNothing) {
  fs::path root = fs::temp_directory_path() / ("zkarrow-oom-" + std::to_string(::getpid()));
  WriteDataDir(root);
  fs::create_directories(root / "out");

  int failures = 0;
  for (int limit_mb = 64; limit_mb <= 256; limit_mb += 16) {
    fs::path out = root / "out" / "tree.arrow";
    const auto [text, code] = RunCapped(
        limit_mb, "snapshot --data-dir " + (root / "data").string() + " -o " + out.string());
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

// The same for a query, whose scans run on producer threads that SQLite
// pulls from: memory running out there is the query's error (exit 1), not
// std::terminate.
TEST(OutOfMemoryTest, AQueryExitsOne) {
  fs::path root = fs::temp_directory_path() / ("zkarrow-oom-query-" + std::to_string(::getpid()));
  WriteDataDir(root);
  int failures = 0;
  for (int limit_mb = 64; limit_mb <= 256; limit_mb += 16) {
    const auto [text, code] =
        RunCapped(limit_mb, "query \"SELECT count(*), sum(length(data)) FROM znodes\" --data-dir " +
                                (root / "data").string() + " --format csv");
    EXPECT_TRUE(code == 0 || code == 1) << limit_mb << " MiB: " << text;
    if (code == 0) {
      EXPECT_NE(text.find("49,50331648"), std::string::npos) << limit_mb << " MiB: " << text;
    } else {
      ++failures;
      EXPECT_NE(text.find("zkarrow"), std::string::npos) << limit_mb << " MiB: " << text;
    }
  }
  EXPECT_GT(failures, 0);
  fs::remove_all(root);
}

}  // namespace
}  // namespace zkarrow
