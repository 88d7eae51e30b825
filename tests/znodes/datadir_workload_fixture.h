// A ZooKeeper server loaded once per test binary by datadir_workload.py:
// several snapshots and logs, and kazoo's dumps of the tree after each step.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zkserver/zookeeper_cluster.h"

namespace zkarrow::znodes::testing {

struct Step {
  std::string name;
  int64_t zxid;
  std::filesystem::path dump;
};

class DataDirWorkloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    zkarrow::zkserver::ClusterOptions options;
    options.config = {{"snapCount", "50"},
                      {"extendedTypesEnabled", "true"},
                      {"preAllocSize", "256"}};  // KB: small logs, quick to copy
    auto cluster = zkarrow::zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(cluster).value();
    steps_.clear();
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
  static void TearDownTestSuite() { cluster_.reset(); }

  static std::filesystem::path data_dir() { return cluster_->data_dir(0); }

  static inline std::unique_ptr<zkarrow::zkserver::ZooKeeperCluster> cluster_;
  static inline std::filesystem::path out_;
  static inline std::vector<Step> steps_;
};

}  // namespace zkarrow::znodes::testing
