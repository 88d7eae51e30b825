// The sample tree is what the demo shows and what the benchmarks measure, so
// its shape is a contract: the same seed gives the same tree, it is a valid
// ZooKeeper tree in creation order, and its size matches the benchmark
// issue's "100k znodes, about 10 MB, Solr schemas of about 100 KB".
#include "sampletree/sample_tree.h"

#include <gtest/gtest.h>

#include <string_view>
#include <unordered_set>

namespace zkarrow::sampletree {
namespace {

std::string_view Parent(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

int64_t DataBytes(const std::vector<SampleNode>& nodes) {
  int64_t bytes = 0;
  for (const SampleNode& node : nodes) bytes += static_cast<int64_t>(node.data.size());
  return bytes;
}

TEST(SampleTreeTest, SameSpecGivesTheSameTree) {
  const std::vector<SampleNode> first = GenerateSampleTree({.target_nodes = 5000, .seed = 7});
  const std::vector<SampleNode> second = GenerateSampleTree({.target_nodes = 5000, .seed = 7});
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].path, second[i].path) << i;
    ASSERT_EQ(first[i].data, second[i].data) << first[i].path;
    ASSERT_EQ(first[i].ephemeral, second[i].ephemeral) << first[i].path;
  }
  const std::vector<SampleNode> other_seed = GenerateSampleTree({.target_nodes = 5000, .seed = 8});
  EXPECT_NE(DataBytes(first), DataBytes(other_seed));
}

TEST(SampleTreeTest, IsAValidTreeInCreationOrder) {
  const std::vector<SampleNode> nodes = GenerateSampleTree({.target_nodes = 20000});
  std::unordered_set<std::string_view> created = {"/"};
  std::unordered_set<std::string_view> ephemeral;
  for (const SampleNode& node : nodes) {
    ASSERT_FALSE(node.path.empty());
    ASSERT_EQ(node.path.front(), '/') << node.path;
    ASSERT_NE(node.path.back(), '/') << node.path;
    ASSERT_EQ(node.path.find("//"), std::string::npos) << node.path;
    const std::string_view parent = Parent(node.path);
    ASSERT_TRUE(created.contains(parent)) << node.path << " comes before its parent";
    ASSERT_FALSE(ephemeral.contains(parent)) << node.path << " is a child of an ephemeral";
    ASSERT_TRUE(created.insert(node.path).second) << node.path << " twice";
    if (node.ephemeral) ephemeral.insert(node.path);
  }
}

TEST(SampleTreeTest, HundredThousandNodesHoldAboutTenMegabytes) {
  const std::vector<SampleNode> nodes = GenerateSampleTree({.target_nodes = 100000});
  EXPECT_GT(nodes.size(), 95000u);
  EXPECT_LT(nodes.size(), 105000u);
  const int64_t bytes = DataBytes(nodes);
  EXPECT_GT(bytes, 8'000'000) << bytes;
  EXPECT_LT(bytes, 13'000'000) << bytes;
}

TEST(SampleTreeTest, HasEveryLayoutTheBenchmarkNames) {
  const std::vector<SampleNode> nodes = GenerateSampleTree({.target_nodes = 100000});
  int schemas = 0;
  bool kafka_state = false, hbase_protobuf = false, deep_config = false, curator_lock = false,
       binary_config = false, empty_config = false;
  for (const SampleNode& node : nodes) {
    const std::string_view path = node.path;
    if (path.starts_with("/solr/configs/") && path.ends_with("/managed-schema.xml")) {
      ++schemas;
      EXPECT_GE(node.data.size(), 80'000u) << path;
      EXPECT_LE(node.data.size(), 121'000u) << path;
    }
    kafka_state |= path.starts_with("/kafka/brokers/topics/") && path.ends_with("/state") &&
                   node.data.starts_with("{\"controller_epoch\"");
    // 0xFF, a 4-byte id length, the id ("master:16000"), "PBUF", the message.
    hbase_protobuf |= path.starts_with("/hbase/table/") && node.data.size() > 21 &&
                      node.data.compare(0, 5, std::string("\xff\0\0\0\x0c", 5)) == 0 &&
                      node.data.compare(17, 4, "PBUF") == 0;
    if (path.starts_with("/config/")) {
      // /config/app-N/level-2/.../level-8: depth 8 below /config/app-N.
      deep_config |= path.find("/level-8") != std::string_view::npos;
      empty_config |= node.data.empty();
      binary_config |= node.data.find('\0') != std::string::npos;
    }
    curator_lock |= path.starts_with("/locks/") && path.find("-lock-") != std::string_view::npos &&
                    node.ephemeral;
  }
  EXPECT_GE(schemas, 10);
  EXPECT_TRUE(kafka_state);
  EXPECT_TRUE(hbase_protobuf);
  EXPECT_TRUE(deep_config);
  EXPECT_TRUE(empty_config);
  EXPECT_TRUE(binary_config);
  EXPECT_TRUE(curator_lock);
}

}  // namespace
}  // namespace zkarrow::sampletree
