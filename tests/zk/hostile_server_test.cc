// The client against a scripted server that misbehaves on purpose (garbage
// frames, replies for unknown xids): the connection is dropped with a clear
// reason, the session resumed on the next connection, and reads resent. Not
// a substitute for the real server (see client_test.cc), only for the
// failures a real server does not produce on demand.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "zk/client.h"
#include "zk/protocol.h"
#include "zk/socket.h"

namespace zkarrow::zk {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kSessionId = 0x42;

// Blocking helpers with a deadline, for the server thread.
bool ReadFully(int fd, uint8_t* out, size_t n) {
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return false;
    ssize_t got = ::recv(fd, out, n, 0);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

std::vector<uint8_t> ReadFrame(int fd) {
  uint8_t prefix[4];
  if (!ReadFully(fd, prefix, 4)) return {};
  size_t length =
      (size_t{prefix[0]} << 24) | (size_t{prefix[1]} << 16) | (size_t{prefix[2]} << 8) | prefix[3];
  std::vector<uint8_t> payload(length);
  if (!ReadFully(fd, payload.data(), length)) return {};
  return payload;
}

void WriteFrame(int fd, const std::vector<uint8_t>& payload) {
  JuteWriter writer;
  writer.WriteBuffer(payload);  // a length-prefixed buffer is exactly a frame
  ::send(fd, writer.bytes().data(), writer.size(), MSG_NOSIGNAL);
}

// Answers the ConnectRequest; returns the session id the client asked for.
int64_t Handshake(int fd) {
  std::vector<uint8_t> request = ReadFrame(fd);
  JuteReader reader(request);
  reader.ReadInt();
  reader.ReadLong();
  reader.ReadInt();
  int64_t asked = reader.ReadLong();
  JuteWriter response;
  response.WriteInt(0);
  response.WriteInt(10000);
  response.WriteLong(kSessionId);
  response.WriteBuffer(std::vector<uint8_t>(16, 7));
  response.WriteBool(false);
  WriteFrame(fd, response.bytes());
  return asked;
}

// The xid of the next request frame.
int32_t ReadRequestXid(int fd) {
  std::vector<uint8_t> request = ReadFrame(fd);
  JuteReader reader(request);
  return reader.ReadInt();
}

std::vector<uint8_t> GetDataReply(int32_t xid, std::string_view data) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(0);
  writer.WriteString(data);
  for (int i = 0; i < 4; ++i) writer.WriteLong(0);
  for (int i = 0; i < 3; ++i) writer.WriteInt(0);
  writer.WriteLong(0);
  writer.WriteInt(0);
  writer.WriteInt(0);
  writer.WriteLong(0);
  return writer.Release();
}

// Accepts connections on 127.0.0.1 and runs `script(connection_index, fd)`
// for each, until the test ends.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int, int)> script) : script_(std::move(script)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length);
    ::listen(listener_.get(), 4);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
  }
  std::string ConnectString() const { return "127.0.0.1:" + std::to_string(port_); }
  int64_t resumed_session() const { return resumed_session_; }
  void set_resumed_session(int64_t id) { resumed_session_ = id; }

 private:
  void Run() {
    std::vector<UniqueFd> connections;
    for (int index = 0; !stop_;) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      connections.emplace_back(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      script_(index++, connections.back().get());
    }
  }

  std::function<void(int, int)> script_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> resumed_session_{0};
  std::thread thread_;
};

void ExpectReadSurvives(const std::function<void(int fd, int32_t xid)>& misbehave,
                        std::string_view expected_reason) {
  ScriptedServer* server_ptr = nullptr;
  ScriptedServer server([&](int index, int fd) {
    int64_t asked = Handshake(fd);
    int32_t xid = ReadRequestXid(fd);
    if (index == 0) {
      misbehave(fd, xid);
    } else {
      server_ptr->set_resumed_session(asked);
      WriteFrame(fd, GetDataReply(xid, "ok"));
    }
  });
  server_ptr = &server;
  std::mutex mutex;
  std::string disconnect_reason;
  ClientOptions options;
  options.connect_string = server.ConnectString();
  options.session_listener = [&](const SessionEvent& event) {
    std::lock_guard lock(mutex);
    if (event.state == SessionState::kDisconnected) disconnect_reason = event.reason.ToString();
  };
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto read = (*client)->GetData("/x");
  ASSERT_EQ(read.wait_for(20s), std::future_status::ready);
  Result<DataResult> data = read.get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "ok");
  EXPECT_EQ(server.resumed_session(), kSessionId);
  std::lock_guard lock(mutex);
  EXPECT_NE(disconnect_reason.find(expected_reason), std::string::npos) << disconnect_reason;
}

TEST(HostileServerTest, ReplyForUnknownXidDropsTheConnectionAndTheReadIsResent) {
  ExpectReadSurvives([](int fd, int32_t xid) { WriteFrame(fd, GetDataReply(xid + 1000, "wrong")); },
                     "unknown xid");
}

TEST(HostileServerTest, NegativeFrameLengthDropsTheConnection) {
  ExpectReadSurvives(
      [](int fd, int32_t) {
        const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x00, 1, 2, 3};
        ::send(fd, garbage, sizeof(garbage), MSG_NOSIGNAL);
      },
      "negative length");
}

TEST(HostileServerTest, TruncatedReplyFailsThatRequestClearly) {
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    std::vector<uint8_t> reply = GetDataReply(ReadRequestXid(fd), "ok");
    reply.resize(reply.size() - 20);  // a whole frame whose Stat is cut short
    WriteFrame(fd, reply);
    WriteFrame(fd, GetDataReply(ReadRequestXid(fd), "fine"));
  });
  ClientOptions options;
  options.connect_string = server.ConnectString();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto bad = (*client)->GetData("/bad");
  ASSERT_EQ(bad.wait_for(20s), std::future_status::ready);
  Status status = bad.get().status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidData);
  EXPECT_NE(status.message().find("getData /bad"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.ToString();
  auto good = (*client)->GetData("/good");
  ASSERT_EQ(good.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(good.get()->data, "fine");
}

std::vector<uint8_t> ErrorReply(int32_t xid, ErrorCode code) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(static_cast<int32_t>(code));
  return writer.Release();
}

// A 3.5 server answers multiRead with UNIMPLEMENTED: the client falls back to
// single reads, with the same per-read results, and remembers.
TEST(HostileServerTest, MultiReadFallsBackToSingleReadsOnOldServers) {
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    WriteFrame(fd, ErrorReply(ReadRequestXid(fd), ErrorCode::UNIMPLEMENTED));
    WriteFrame(fd, GetDataReply(ReadRequestXid(fd), "a"));
    WriteFrame(fd, ErrorReply(ReadRequestXid(fd), ErrorCode::NONODE));
  });
  ClientOptions options;
  options.connect_string = server.ConnectString();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_TRUE((*client)->SupportsMultiRead());
  auto reads = (*client)->MultiRead({ReadOp::GetData("/a"), ReadOp::GetData("/missing")});
  ASSERT_EQ(reads.wait_for(20s), std::future_status::ready);
  Result<std::vector<ReadResult>> results = reads.get();
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].data, "a");
  EXPECT_EQ((*results)[1].error, ErrorCode::NONODE);
  EXPECT_FALSE((*client)->SupportsMultiRead());
}

}  // namespace
}  // namespace zkarrow::zk
