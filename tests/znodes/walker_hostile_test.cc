// The live walk against a scripted server (tests/zk/scripted_server.h) whose
// every node lists over a million children: the walk must stay within its
// memory budget (znodes/limits.h) and fail with a clear error, not grow
// until the machine runs out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zk/client.h"
#include "zk/protocol.h"
#include "zk/scripted_server.h"
#include "znodes/limits.h"
#include "znodes/live/tree_walker.h"

namespace zkarrow::znodes {
namespace {

using namespace std::chrono_literals;
using zk::JuteReader;
using zk::JuteWriter;
using zk::OpCode;

// Names per getChildren answer: 35 MB decoded, more than a batch's share
// (kMaxWalkBatchReplyBytes) and less than a node read alone gets.
constexpr int32_t kNames = 1'100'000;
static_assert(kNames * sizeof(std::string) > kMaxWalkBatchReplyBytes);
static_assert(kNames * sizeof(std::string) < kMaxWalkNodeReplyBytes);

void WriteMultiHeader(JuteWriter& writer, int32_t type, bool done, int32_t err) {
  writer.WriteInt(type);
  writer.WriteBool(done);
  writer.WriteInt(err);
}

// Answers multiRead requests: every getData with an empty node, the first
// getChildren of each request with kNames children named "a", the others
// with none. Pings and closeSession get an empty reply.
void Serve(int, int fd) {
  zk::testing::Handshake(fd);
  while (true) {
    std::vector<uint8_t> request = zk::testing::ReadFrame(fd);
    if (request.empty()) return;  // the client closed the connection
    JuteReader reader(request);
    const int32_t xid = reader.ReadInt();
    const auto type = static_cast<OpCode>(reader.ReadInt());
    JuteWriter reply;
    reply.WriteInt(xid);
    reply.WriteLong(1);
    reply.WriteInt(0);
    if (type == OpCode::kMultiRead) {
      bool listed = false;
      while (reader.ok()) {
        const int32_t op = reader.ReadInt();
        if (reader.ReadBool()) break;  // the closing header
        reader.ReadInt();
        reader.ReadString();
        reader.ReadBool();
        WriteMultiHeader(reply, op, false, 0);
        if (op == static_cast<int32_t>(OpCode::kGetData)) {
          reply.WriteInt(0);                               // data
          for (int i = 0; i < 4; ++i) reply.WriteLong(1);  // czxid, mzxid, ctime, mtime
          for (int i = 0; i < 3; ++i) reply.WriteInt(0);   // version, cversion, aversion
          reply.WriteLong(0);                              // ephemeralOwner
          reply.WriteInt(0);                               // dataLength
          reply.WriteInt(kNames);                          // numChildren
          reply.WriteLong(1);                              // pzxid
        } else {
          const int32_t count = listed ? 0 : kNames;
          listed = true;
          reply.WriteInt(count);
          for (int32_t i = 0; i < count; ++i) reply.WriteString("a");
        }
      }
      WriteMultiHeader(reply, -1, true, -1);
    }
    zk::testing::WriteFrame(fd, reply.bytes());
    if (type == OpCode::kCloseSession) return;
  }
}

// Issue 10: replies with millions of child names, times the requests in
// flight, must stay within the walk's budget or fail clearly.
TEST(WalkerHostileServerTest, MillionsOfChildrenPerNodeEndTheWalkWithinTheBudget) {
  zk::testing::ScriptedServer server(Serve);
  zk::ClientOptions options;
  options.connect_string = server.ConnectString();
  options.session_timeout = 60s;  // pings are answered, but need not be many
  auto client = zk::Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  WalkStats stats;
  int64_t rows = 0;
  Status walked = WalkTree(
      {client->get()}, WalkOptions{},
      [&](const ZnodeRecord&) {
        ++rows;
        return Status::Ok();
      },
      &stats);
  ASSERT_FALSE(walked.ok());
  EXPECT_EQ(walked.code(), StatusCode::kOutOfRange) << walked.ToString();
  EXPECT_NE(walked.message().find("MiB of paths to read"), std::string::npos) << walked.ToString();
  // It got past the root and a few of its children before the frontier was full.
  EXPECT_GT(rows, 1);
}

}  // namespace
}  // namespace zkarrow::znodes
