// DataTree as a snapshot loads it: nodes arrive parents first, usually (as
// ZooKeeper writes them) depth first, but any parents-first order is valid.
#include "znodes/datadir/data_tree.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace zkarrow::znodes::datadir {
namespace {

Status Add(DataTree& tree, std::string_view path) {
  return tree.AddNode(path, {}, DataTree::kOpenAclId, PersistedStat{});
}

// path -> number of children, in the order ForEach visits.
std::vector<std::pair<std::string, int32_t>> Visit(const DataTree& tree) {
  std::vector<std::pair<std::string, int32_t>> visited;
  Status status = tree.ForEach([&](const ZnodeRecord& record) {
    visited.emplace_back(std::string(record.path), record.stat->num_children);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return visited;
}

TEST(DataTreeTest, LoadsDepthFirstAndOtherParentsFirstOrders) {
  const std::vector<std::pair<std::string, int32_t>> expected = {
      {"/", 2}, {"/a", 1}, {"/a/x", 1}, {"/a/x/z", 0}, {"/b", 1}, {"/b/y", 0}};
  for (const std::vector<std::string_view>& order : {
           // Depth first, as ZooKeeper serializes its tree.
           std::vector<std::string_view>{"", "/b", "/b/y", "/a", "/a/x", "/a/x/z"},
           // Breadth first and interleaved: parents still come first.
           std::vector<std::string_view>{"", "/a", "/b", "/a/x", "/b/y", "/a/x/z"},
       }) {
    DataTree tree;
    for (std::string_view path : order) ASSERT_TRUE(Add(tree, path).ok()) << path;
    EXPECT_EQ(tree.size(), 6u);
    EXPECT_EQ(Visit(tree), expected);
  }
}

TEST(DataTreeTest, ChildBeforeItsParentIsInvalid) {
  DataTree tree;
  ASSERT_TRUE(Add(tree, "").ok());
  ASSERT_TRUE(Add(tree, "/a").ok());
  Status status = Add(tree, "/b/c");
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_NE(status.message().find("\"/b/c\" precedes its parent"), std::string::npos)
      << status.ToString();
}

TEST(DataTreeTest, NodeTwiceIsInvalid) {
  DataTree tree;
  ASSERT_TRUE(Add(tree, "").ok());
  ASSERT_TRUE(Add(tree, "/a").ok());
  ASSERT_TRUE(Add(tree, "/a/b").ok());
  Status status = Add(tree, "/a");
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_NE(status.message().find("appears twice"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace zkarrow::znodes::datadir
