// Cross-checks what the client reads against kazoo, the reference Python
// client (tests/zk/kazoo_dump.py), on the same subtree of a real server.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "zk/sync_client.h"
#include "zk_test_util.h"

namespace zkarrow::zk {
namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

// The line kazoo_dump.py prints for a node (same fields, same order).
std::string JsonLine(const std::string& path, const std::string& data, const Stat& stat) {
  std::ostringstream out;
  out << R"({"path":")" << path << R"(","data_hex":")" << Hex(data) << R"(","czxid":)" << stat.czxid
      << R"(,"mzxid":)" << stat.mzxid << R"(,"ctime":)" << stat.ctime << R"(,"mtime":)"
      << stat.mtime << R"(,"version":)" << stat.version << R"(,"cversion":)" << stat.cversion
      << R"(,"aversion":)" << stat.aversion << R"(,"ephemeralOwner":)" << stat.ephemeral_owner
      << R"(,"dataLength":)" << stat.data_length << R"(,"numChildren":)" << stat.num_children
      << R"(,"pzxid":)" << stat.pzxid << "}";
  return out.str();
}

// Depth first, children sorted, one MultiRead per node (data + children).
Status Dump(SyncClient& zk, const std::string& path, std::vector<std::string>& lines) {
  ZKA_ASSIGN_OR_RETURN(std::vector<ReadResult> reads,
                       zk.MultiRead({ReadOp::GetData(path), ReadOp::GetChildren(path)}));
  if (reads[0].error != ErrorCode::OK || reads[1].error != ErrorCode::OK) {
    return ZooKeeperError(reads[0].error != ErrorCode::OK ? reads[0].error : reads[1].error, "dump",
                          path);
  }
  lines.push_back(JsonLine(path, reads[0].data, reads[0].stat));
  std::vector<std::string> children = reads[1].children;
  std::sort(children.begin(), children.end());
  for (const std::string& child : children) {
    ZKA_RETURN_IF_ERROR(Dump(zk, path + "/" + child, lines));
  }
  return Status::Ok();
}

std::vector<std::string> RunKazooDump(const std::string& hosts, const std::string& root) {
  std::string command = "timeout 60 /usr/bin/python3 " ZKARROW_SOURCE_DIR
                        "/tests/zk/kazoo_dump.py " +
                        hosts + " " + root;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), &::pclose);
  std::vector<std::string> lines;
  if (!pipe) return lines;
  std::string line;
  for (int c = std::fgetc(pipe.get()); c != EOF; c = std::fgetc(pipe.get())) {
    if (c == '\n') {
      lines.push_back(std::move(line));
      line.clear();
    } else {
      line += static_cast<char>(c);
    }
  }
  return lines;
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

  std::vector<std::string> ours;
  ASSERT_TRUE(Dump(zk, "/tree", ours).ok());
  std::vector<std::string> theirs = RunKazooDump((*cluster)->ConnectString(), "/tree");
  ASSERT_EQ(ours.size(), 10u);
  ASSERT_EQ(theirs.size(), ours.size()) << "kazoo_dump.py printed " << theirs.size() << " lines";
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_EQ(ours[i], theirs[i]);
}

}  // namespace
}  // namespace zkarrow::zk
