// The offline reader against a real ZooKeeper: a kazoo script builds a tree
// in steps (snapshots get written along the way), dumping what the server
// shows after each; ReadDataDir must rebuild exactly that, at each step's
// zxid and at the end, while the server runs and after it stopped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include <nlohmann/json.hpp>

#include "datadir_test_util.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/datadir/data_dir.h"

namespace zkarrow::znodes {
namespace {

using testing::DescribeDifferences;
using testing::LoadDump;
using testing::ReadTree;

struct Step {
  std::string name;
  int64_t zxid;
  std::filesystem::path dump;
};

class DataDirLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zkserver::ClusterOptions options;
    options.config = {{"snapCount", "50"},
                      {"extendedTypesEnabled", "true"},
                      {"preAllocSize", "256"}};  // KB: small logs, quick to copy
    auto cluster = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(cluster).value().release();
    out_ = cluster_->root() / "workload";
    std::filesystem::create_directories(out_);
    std::string command = "/usr/bin/python3 " + std::string(ZKARROW_SOURCE_DIR) +
                          "/tests/znodes/datadir_workload.py " + cluster_->ConnectString() + " " +
                          out_.string() + " > " + (out_ / "workload.log").string() + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream log(out_ / "workload.log");
      FAIL() << "the workload failed:\n" << std::string(std::istreambuf_iterator<char>(log), {});
    }
    std::ifstream in(out_ / "steps.json");
    for (const auto& step : nlohmann::json::parse(in)) {
      steps_.push_back({step["name"].get<std::string>(), step["zxid"].get<int64_t>(),
                        out_ / step["dump"].get<std::string>()});
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static std::filesystem::path data_dir() { return cluster_->data_dir(0); }

  static zkserver::ZooKeeperCluster* cluster_;
  static std::filesystem::path out_;
  static std::vector<Step> steps_;
};

zkserver::ZooKeeperCluster* DataDirLiveTest::cluster_ = nullptr;
std::filesystem::path DataDirLiveTest::out_;
std::vector<Step> DataDirLiveTest::steps_;

TEST_F(DataDirLiveTest, WroteSeveralSnapshotsAndLogs) {
  int snapshots = 0;
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() / "version-2")) {
    std::string name = entry.path().filename().string();
    snapshots += name.starts_with("snapshot.");
    logs += name.starts_with("log.");
  }
  EXPECT_GE(snapshots, 3);
  EXPECT_GE(logs, 3);
}

TEST_F(DataDirLiveTest, LatestTreeMatchesTheServerWhileItRuns) {
  ASSERT_FALSE(steps_.empty());
  DataDirSummary summary;
  auto tree = ReadTree(data_dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  auto expected = LoadDump(steps_.back().dump);
  EXPECT_EQ(DescribeDifferences(expected, *tree), "");
  EXPECT_EQ(summary.znodes, expected.size());
  EXPECT_GT(summary.snapshot_zxid, 0);
  for (const auto& warning : summary.warnings) ADD_FAILURE() << "warning: " << warning;
}

TEST_F(DataDirLiveTest, EveryStepMatchesAtItsZxid) {
  for (const Step& step : steps_) {
    SCOPED_TRACE("step " + step.name);
    DataDirSummary summary;
    auto tree = ReadTree(data_dir(), step.zxid, &summary);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    EXPECT_EQ(summary.last_zxid, step.zxid);
    EXPECT_LE(summary.snapshot_zxid, step.zxid);
    EXPECT_EQ(DescribeDifferences(LoadDump(step.dump), *tree), "");
  }
}

TEST_F(DataDirLiveTest, KindsAndTtlAreExact) {
  auto tree = ReadTree(data_dir(), std::nullopt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->at("/app/box").kind, "container");
  EXPECT_EQ(tree->at("/app/ttl").kind, "ttl:3600000");
  EXPECT_EQ(tree->at("/app/config").kind, "persistent");
  // The ephemerals' session closed before the end; at step 1 they exist.
  EXPECT_FALSE(tree->contains("/app/lock"));
  auto early = ReadTree(data_dir(), steps_.front().zxid);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->at("/app/lock").kind, "ephemeral");
  EXPECT_NE(early->at("/app/lock").stat[7], 0);  // the owner's session id
}

TEST_F(DataDirLiveTest, MatchesAfterTheServerStopsAndVerifiesTheDigest) {
  ASSERT_TRUE(cluster_->Stop(0).ok());
  DataDirSummary summary;
  auto tree = ReadTree(data_dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(DescribeDifferences(LoadDump(steps_.back().dump), *tree), "");
  EXPECT_TRUE(summary.digest_verified);
  // The version-2 folder and the dataDir are both accepted.
  auto direct = ReadTree(data_dir() / "version-2", std::nullopt);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(DescribeDifferences(*tree, *direct), "");
}

}  // namespace
}  // namespace zkarrow::znodes
