// Cross-checks what the client reads against kazoo, the reference Python
// client (tests/support/kazoo_dump.py), on the same subtree of a real server.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/znode_rows.h"
#include "zk/sync_client.h"
#include "zk_test_util.h"

namespace zkarrow::zk {
namespace {

// A node as tests/support/kazoo_dump.py prints it.
nlohmann::json Row(const std::string& path, const std::string& data, const Stat& stat) {
  return {{"path", path},
          {"data_hex", zkarrow::testing::Hex(data)},
          {"error", nullptr},
          {"czxid", stat.czxid},
          {"mzxid", stat.mzxid},
          {"ctime", stat.ctime},
          {"mtime", stat.mtime},
          {"version", stat.version},
          {"cversion", stat.cversion},
          {"aversion", stat.aversion},
          {"ephemeral_owner", stat.ephemeral_owner},
          {"data_length", stat.data_length},
          {"num_children", stat.num_children},
          {"pzxid", stat.pzxid}};
}

// Depth first, one MultiRead per node (data + children).
Status Dump(SyncClient& zk, const std::string& path, std::vector<nlohmann::json>& rows) {
  ZKA_ASSIGN_OR_RETURN(std::vector<ReadResult> reads,
                       zk.MultiRead({ReadOp::GetData(path), ReadOp::GetChildren(path)}));
  if (reads[0].error != ErrorCode::OK || reads[1].error != ErrorCode::OK) {
    return ZooKeeperError(reads[0].error != ErrorCode::OK ? reads[0].error : reads[1].error, "dump",
                          path);
  }
  rows.push_back(Row(path, reads[0].data, reads[0].stat));
  for (const std::string& child : reads[1].children) {
    ZKA_RETURN_IF_ERROR(Dump(zk, path + "/" + child, rows));
  }
  return Status::Ok();
}

TEST(KazooCrossCheckTest, SubtreeReadsMatchKazoo) {
  auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 1});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto connected = SyncClient::Connect({.connect_string = (*cluster)->ConnectString()});
  ASSERT_TRUE(connected.ok()) << connected.status().ToString();
  SyncClient& zk = *connected;

  ASSERT_TRUE(zk.Create("/tree", "root").ok());
  ASSERT_TRUE(zk.Create("/tree/empty").ok());
  ASSERT_TRUE(zk.Create("/tree/binary", std::string("\0\x01\x7f\x80\xff", 5)).ok());
  ASSERT_TRUE(zk.Create("/tree/big", std::string(200000, 'z')).ok());
  ASSERT_TRUE(zk.Create("/tree/deep").ok());
  ASSERT_TRUE(zk.Create("/tree/deep/er").ok());
  ASSERT_TRUE(zk.Create("/tree/deep/er/still", "leaf").ok());
  ASSERT_TRUE(zk.Create("/tree/seq-", "", CreateMode::kPersistentSequential).ok());
  ASSERT_TRUE(zk.Create("/tree/eph", "e", CreateMode::kEphemeral).ok());
  ASSERT_TRUE(zk.SetData("/tree/empty", "now set").ok());
  ASSERT_TRUE(zk.SetData("/tree/empty", "").ok());
  ASSERT_TRUE(zk.Create("/tree/acl", "", CreateMode::kPersistent, ReadAclUnsafe()).ok());
  ASSERT_TRUE(zk.Delete("/tree/deep/er/still").ok());
  ASSERT_TRUE(zk.Create("/tree/deep/er/still", "again").ok());

  std::vector<nlohmann::json> ours;
  ASSERT_TRUE(Dump(zk, "/tree", ours).ok());
  std::sort(ours.begin(), ours.end(), [](const auto& a, const auto& b) {
    return a["path"].template get<std::string>() < b["path"].template get<std::string>();
  });
  auto dump = zkarrow::testing::RunCommand("timeout 60 /usr/bin/python3 " ZKARROW_SOURCE_DIR
                                           "/tests/support/kazoo_dump.py " +
                                           (*cluster)->ConnectString() + " /tree");
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  std::vector<nlohmann::json> theirs = zkarrow::testing::ParseJsonLines(*dump);
  ASSERT_EQ(ours.size(), 10u);
  EXPECT_EQ(zkarrow::testing::DiffRows(theirs, ours), "");
}

}  // namespace
}  // namespace zkarrow::zk
