// DataTree as a snapshot loads it: nodes arrive parents first, usually (as
// ZooKeeper writes them) depth first, but any parents-first order is valid.
#include "znodes/datadir/data_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace zkarrow::znodes::datadir {
namespace {

Status Add(DataTree& tree, std::string_view path) {
  return tree.AddNode(path, std::span<const uint8_t>(), DataTree::kOpenAclId, PersistedStat{});
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
  // Found when the tree is read (a depth-first load does not search for the
  // node it adds), or at once when the load had to build its path index.
  DataTree tree;
  ASSERT_TRUE(Add(tree, "").ok());
  ASSERT_TRUE(Add(tree, "/a").ok());
  ASSERT_TRUE(Add(tree, "/a/b").ok());
  ASSERT_TRUE(Add(tree, "/a").ok());
  Status status = tree.ForEach([](const ZnodeRecord&) { return Status::Ok(); });
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_NE(status.message().find("\"/a\" appears twice"), std::string::npos) << status.ToString();

  DataTree indexed;
  for (std::string_view path : {"", "/a", "/b", "/a/x"}) ASSERT_TRUE(Add(indexed, path).ok());
  status = Add(indexed, "/b");
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_NE(status.message().find("\"/b\" appears twice"), std::string::npos) << status.ToString();
}

// DigestCalculator's CRC over path, data and stat, where the root's path and
// empty data add nothing (a null buffer must not restart the CRC). Expected:
// Python's zlib.crc32 of 60 zero bytes, plus that of "/a" and 60 zero bytes.
TEST(DataTreeTest, DigestLeavesOutEmptyPathAndData) {
  DataTree tree;
  ASSERT_TRUE(Add(tree, "").ok());
  ASSERT_TRUE(Add(tree, "/a").ok());
  EXPECT_EQ(tree.Digest(), int64_t{3754309558});
}

// Path byte order splits subtrees: "-" and "." sort before "/", so "/a-b"
// comes between "/a" and "/a/c". ForEach must still give exact byte order,
// also where names agree in the first 8 bytes that sorting compares first
// (sequential nodes), or one name is another's prefix shorter or longer
// than that.
TEST(DataTreeTest, VisitsInPathByteOrderWhereSubtreesInterleave) {
  DataTree tree;
  size_t added = 0;
  for (std::string_view path :
       {"", "/a", "/a/c", "/a/c/d", "/a-b", "/a-b/x", "/a.b", "/a0", "/a/c-", "/b", "/A"}) {
    ASSERT_TRUE(Add(tree, path).ok()) << path;
    ++added;
  }
  for (std::string_view path :
       {"/lock-0000", "/lock-0000/x", "/lock-00000001", "/lock-00000001/y", "/lock-000",
        "/lock-00000", "/lock-0000-", "/lock-00000001-2", "/lock-00000002", "/lock-0000.",
        "/abcdefg", "/abcdefg/h", "/abcdefgh", "/abcdefg-"}) {
    ASSERT_TRUE(Add(tree, path).ok()) << path;
    ++added;
  }
  std::vector<std::string> paths;
  for (const auto& [path, children] : Visit(tree)) paths.push_back(path);
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(paths, sorted);
  EXPECT_EQ(paths.size(), added);
}

// Replay deletes leave tombstones that a later create brings back; neither
// shows, and the parent's counts follow.
TEST(DataTreeTest, DeletedAndRecreatedNodesShowOnlyWhenAlive) {
  DataTree tree;
  for (std::string_view path : {"", "/a", "/a/x"}) ASSERT_TRUE(Add(tree, path).ok());
  auto apply = [&](int32_t type, std::string_view path, int64_t zxid) {
    Transaction txn;
    txn.header.type = type;
    txn.header.zxid = zxid;
    TxnOp op;
    op.type = type;
    op.path = path;
    txn.ops.push_back(op);
    tree.Apply(txn);
  };
  apply(kOpDelete, "/a/x", 10);
  EXPECT_EQ(Visit(tree), (std::vector<std::pair<std::string, int32_t>>{{"/", 1}, {"/a", 0}}));
  apply(kOpCreate, "/a/x", 11);
  apply(kOpCreate, "/a/y", 12);
  EXPECT_EQ(Visit(tree), (std::vector<std::pair<std::string, int32_t>>{
                             {"/", 1}, {"/a", 2}, {"/a/x", 0}, {"/a/y", 0}}));
  EXPECT_EQ(tree.size(), 4u);
  apply(kOpCreate, "/a/x", 13);  // exists: tolerated
  EXPECT_EQ(tree.tolerated_failures(), 1u);
  apply(kOpDelete, "/a", 14);  // never logged by a server: the subtree goes
  EXPECT_EQ(Visit(tree), (std::vector<std::pair<std::string, int32_t>>{{"/", 0}}));
  EXPECT_EQ(tree.size(), 1u);
}

}  // namespace
}  // namespace zkarrow::znodes::datadir
