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

#include <atomic>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "zk/client.h"
#include "zk/protocol.h"
#include "zk/scripted_server.h"
#include "zk/socket.h"

namespace zkarrow::zk {
namespace {

using namespace std::chrono_literals;
using namespace zkarrow::zk::testing;

// Client options for a scripted server that keep the reason of the
// session's last disconnect.
class DisconnectReason {
 public:
  ClientOptions OptionsFor(const ScriptedServer& server) {
    ClientOptions options;
    options.connect_string = server.ConnectString();
    options.session_listener = [this](const SessionEvent& event) {
      std::lock_guard lock(mu_);
      if (event.state == SessionState::kDisconnected) last_ = event.reason.ToString();
    };
    return options;
  }
  std::string Last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  std::string last_;
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
  DisconnectReason disconnect;
  auto client = Client::Connect(disconnect.OptionsFor(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto read = (*client)->GetData("/x");
  ASSERT_EQ(read.wait_for(20s), std::future_status::ready);
  Result<DataResult> data = read.get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "ok");
  EXPECT_EQ(server.resumed_session(), kSessionId);
  EXPECT_NE(disconnect.Last().find(expected_reason), std::string::npos) << disconnect.Last();
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

// A server that trickles a frame a byte at a time never completes a reply:
// the read timeout counts whole frames, so the connection is left after it
// and the read resent, instead of waiting for the trickle to end.
TEST(HostileServerTest, TricklingServerIsLeftAfterTheReadTimeout) {
  ExpectReadSurvives(
      [](int fd, int32_t) {
        const uint8_t length[] = {0, 0, 0x03, 0xe8};  // 1000 bytes announced
        ::send(fd, length, sizeof(length), MSG_NOSIGNAL);
        const uint8_t byte = 0;
        for (int i = 0; i < 1000 && ::send(fd, &byte, 1, MSG_NOSIGNAL) == 1; ++i) {
          std::this_thread::sleep_for(100ms);
        }
      },
      "completed no reply");
}

// Issue: a reply announced as 2 GiB (with a valid header) used to be skipped
// byte by byte, and everything after it, ping replies included, vanished
// into the skip: the session hung with no error. Now its request fails with
// kOutOfRange, the connection ends, and the next read is answered on a new
// one.
TEST(HostileServerTest, ReplyAnnouncingTwoGibibytesEndsTheConnection) {
  ScriptedServer server([](int index, int fd) {
    Handshake(fd);
    if (index > 0) {
      WriteFrame(fd, GetDataReply(ReadRequestXid(fd), "ok"));
      return;
    }
    std::vector<uint8_t> huge = {0x7f, 0xff, 0xff, 0xff};
    std::vector<uint8_t> header = ErrorReply(ReadRequestXid(fd), ErrorCode::OK);
    huge.insert(huge.end(), header.begin(), header.end());
    ::send(fd, huge.data(), huge.size(), MSG_NOSIGNAL);
    // Then answer whatever comes, pings included, until the client leaves.
    for (std::vector<uint8_t> request = ReadFrame(fd); !request.empty(); request = ReadFrame(fd)) {
      JuteReader reader(request);
      int32_t xid = reader.ReadInt();
      WriteFrame(fd, xid == kPingXid ? ErrorReply(xid, ErrorCode::OK) : GetDataReply(xid, "late"));
    }
  });
  DisconnectReason disconnect;
  auto client = Client::Connect(disconnect.OptionsFor(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto big = (*client)->GetData("/big");
  ASSERT_EQ(big.wait_for(20s), std::future_status::ready);
  Status status = big.get().status();
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange) << status.ToString();
  auto after = (*client)->GetData("/after");
  ASSERT_EQ(after.wait_for(20s), std::future_status::ready);
  Result<DataResult> data = after.get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "ok");
  EXPECT_NE(
      disconnect.Last().find("announced a frame of 2147483647 bytes, over max_response_bytes"),
      std::string::npos)
      << disconnect.Last();
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

// The status a read of /x ends with against `server`, on a client of its
// own (a timeout if it does not end within a minute).
Status StatusOfARead(const ScriptedServer& server) {
  ClientOptions options;
  options.connect_string = server.ConnectString();
  auto client = Client::Connect(options);
  if (!client.ok()) return client.status();
  auto read = (*client)->GetData("/x");
  if (read.wait_for(60s) != std::future_status::ready) {
    return Status::Timeout("the read of /x did not end within 60 s");
  }
  return read.get().status();
}

// A server that closes the connection as soon as a request comes (as
// ZooKeeper does with a packet past its jute.maxbuffer) gets the resent read
// again on every new connection: the client used to reconnect for ever,
// thousands of times a second. A run of connections that answered nothing
// ends the session: the read fails with CONNECTIONLOSS naming the likely
// cause, after as many connections as the message says.
TEST(HostileServerTest, ServerClosingAfterEveryRequestEndsTheSession) {
  std::atomic<int> connections{0};
  ScriptedServer server([&](int, int fd) {
    ++connections;
    Handshake(fd);
    ReadRequestXid(fd);
    ::shutdown(fd, SHUT_RDWR);
  });
  Status status = StatusOfARead(server);
  EXPECT_EQ(ErrorCodeOf(status), ErrorCode::CONNECTIONLOSS) << status.ToString();
  EXPECT_NE(status.message().find("larger than its jute.maxbuffer"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find(std::to_string(connections.load()) + " connections in a row"),
            std::string::npos)
      << status.ToString();
}

// The same with a server that answers every request with a wrong xid: the
// message gives that reason, and no jute.maxbuffer guess.
TEST(HostileServerTest, ServerAnsweringEveryRequestWronglyEndsTheSession) {
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    WriteFrame(fd, GetDataReply(ReadRequestXid(fd) + 1000, "wrong"));
  });
  Status status = StatusOfARead(server);
  EXPECT_EQ(ErrorCodeOf(status), ErrorCode::CONNECTIONLOSS) << status.ToString();
  EXPECT_NE(status.message().find("unknown xid"), std::string::npos) << status.ToString();
  EXPECT_EQ(status.message().find("jute.maxbuffer"), std::string::npos) << status.ToString();
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

// A reply header with `zxid`: ZooKeeper 3.9+ puts the event's zxid in a
// notification's header, which the installed 3.8 cannot show (it sends -1).
void WriteHeader(JuteWriter& writer, int32_t xid, int64_t zxid) {
  writer.WriteInt(xid);
  writer.WriteLong(zxid);
  writer.WriteInt(0);
}

// A reader of last_zxid() that then takes the queued events (TreeWatcher's
// settled zxid, serve's state labels) must find the event of every zxid it
// saw: a notification's zxid used to be visible before its listener ran, so
// a state could be labelled with the zxid of a change not yet queued.
TEST(HostileServerTest, NotificationZxidIsVisibleOnlyAfterItsEventWasDelivered) {
  constexpr int64_t kAddWatchZxid = 5, kEventZxid = 9;
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    JuteWriter added;
    WriteHeader(added, ReadRequestXid(fd), kAddWatchZxid);
    WriteFrame(fd, added.bytes());
    JuteWriter notification;
    WriteHeader(notification, kNotificationXid, kEventZxid);
    notification.WriteInt(static_cast<int32_t>(EventType::kDataChanged));
    notification.WriteInt(static_cast<int32_t>(SessionState::kConnected));
    notification.WriteString("/w/a");
    WriteFrame(fd, notification.bytes());
  });
  ClientOptions options;
  options.connect_string = server.ConnectString();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Client* raw = client->get();
  std::promise<int64_t> zxid_in_listener;
  auto added = raw->AddWatch("/w", AddWatchMode::kPersistentRecursive,
                             [&zxid_in_listener, raw](const WatchEvent& event) {
                               if (event.path == "/w/a")
                                 zxid_in_listener.set_value(raw->last_zxid());
                             });
  ASSERT_EQ(added.wait_for(20s), std::future_status::ready);
  ASSERT_TRUE(added.get().ok());
  auto seen = zxid_in_listener.get_future();
  ASSERT_EQ(seen.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(seen.get(), kAddWatchZxid);
  // And once the listener has returned, the event's zxid counts.
  for (int i = 0; i < 200 && raw->last_zxid() != kEventZxid; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(raw->last_zxid(), kEventZxid);
}

// A children list of `count` empty names: 4 bytes each on the wire.
std::vector<uint8_t> ManyNamesReply(int32_t xid, int32_t count) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(0);
  writer.WriteInt(count);
  for (int32_t i = 0; i < count; ++i) writer.WriteInt(0);
  return writer.Release();
}

// The same list as the one result of a multiRead.
std::vector<uint8_t> ManyNamesMultiReadReply(int32_t xid, int32_t count) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(0);
  writer.WriteInt(static_cast<int32_t>(OpCode::kGetChildren));
  writer.WriteBool(false);
  writer.WriteInt(0);
  writer.WriteInt(count);
  for (int32_t i = 0; i < count; ++i) writer.WriteInt(0);
  writer.WriteInt(-1);  // the closing MultiHeader
  writer.WriteBool(true);
  writer.WriteInt(-1);
  return writer.Release();
}

// Issue 10: a reply with millions of child names fits the frame limit
// (4 bytes a name) but decodes to eight times that (a std::string a name).
// The decoded size counts against max_response_bytes too: the request fails
// with kOutOfRange before the names are allocated, and the session goes on.
TEST(HostileServerTest, MillionsOfChildNamesFailTheRequestNotTheMemory) {
  constexpr int32_t kNames = 2'000'000;  // 8 MB on the wire, 64 MB decoded
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    WriteFrame(fd, ManyNamesReply(ReadRequestXid(fd), kNames));
    WriteFrame(fd, ManyNamesMultiReadReply(ReadRequestXid(fd), kNames));
    WriteFrame(fd, GetDataReply(ReadRequestXid(fd), "fine"));
  });
  ClientOptions options;
  options.connect_string = server.ConnectString();
  options.max_response_bytes = 9 << 20;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto children = (*client)->GetChildren("/wide");
  ASSERT_EQ(children.wait_for(20s), std::future_status::ready);
  Status status = children.get().status();
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange) << status.ToString();
  EXPECT_NE(status.message().find("memory decoded"), std::string::npos) << status.ToString();

  // The same list in a multiRead reply.
  auto reads = (*client)->MultiRead({ReadOp::GetChildren("/wide")});
  ASSERT_EQ(reads.wait_for(20s), std::future_status::ready);
  status = reads.get().status();
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange) << status.ToString();

  auto good = (*client)->GetData("/good");
  ASSERT_EQ(good.wait_for(20s), std::future_status::ready);
  ASSERT_TRUE(good.get().ok());
}

// The same for an ACL of many empty entries: 12 bytes each on the wire, a
// zk::Acl (72 bytes) each decoded.
TEST(HostileServerTest, HugeAclFailsTheRequestNotTheMemory) {
  constexpr int32_t kEntries = 200'000;  // 2.4 MB on the wire, 14 MB decoded
  ScriptedServer server([](int, int fd) {
    Handshake(fd);
    JuteWriter reply;
    reply.WriteInt(ReadRequestXid(fd));
    reply.WriteLong(1);
    reply.WriteInt(0);
    reply.WriteInt(kEntries);
    for (int32_t i = 0; i < kEntries; ++i) {
      reply.WriteInt(31);
      reply.WriteString("");
      reply.WriteString("");
    }
    for (int i = 0; i < 11; ++i)
      i < 4 || i == 7 || i == 10 ? reply.WriteLong(0) : reply.WriteInt(0);
    WriteFrame(fd, reply.bytes());
    WriteFrame(fd, GetDataReply(ReadRequestXid(fd), "fine"));
  });
  ClientOptions options;
  options.connect_string = server.ConnectString();
  options.max_response_bytes = 4 << 20;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto acl = (*client)->GetAcl("/locked");
  ASSERT_EQ(acl.wait_for(20s), std::future_status::ready);
  Status status = acl.get().status();
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange) << status.ToString();
  EXPECT_NE(status.message().find("GetACLResponse"), std::string::npos) << status.ToString();
  auto good = (*client)->GetData("/good");
  ASSERT_EQ(good.wait_for(20s), std::future_status::ready);
  ASSERT_TRUE(good.get().ok());
}

// ---- SASL: the exchange runs after the session handshake, before any
// request; a server that answers it with nonsense ends in a clear error
// within the connect timeout, never a hang or a crash.

// A SetSASLResponse frame for `xid` whose token is `token`.
std::vector<uint8_t> SaslReply(int32_t xid, std::span<const uint8_t> token, int32_t err = 0) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(err);
  writer.WriteBuffer(token);
  return writer.Release();
}

Status ConnectWithDigest(const ScriptedServer& server) {
  ClientOptions options;
  options.connect_string = server.ConnectString();
  options.sasl = SaslOptions{.mechanism = "DIGEST-MD5", .user = "alice", .password = "pw"};
  options.connect_timeout = 2s;
  auto start = std::chrono::steady_clock::now();
  auto client = Client::Connect(options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  return client.ok() ? Status::Ok() : client.status();
}

// Connects with DIGEST-MD5 to a server running `script` after the session
// handshake: the connect fails with `code` (kOk: any) and a message holding
// `text`.
void ExpectSaslFailure(std::function<void(int fd, int32_t sasl_xid)> script, StatusCode code,
                       std::string_view text) {
  ScriptedServer server([&](int, int fd) {
    Handshake(fd);
    script(fd, ReadRequestXid(fd));
  });
  Status status = ConnectWithDigest(server);
  ASSERT_FALSE(status.ok());
  if (code != StatusCode::kOk) {
    EXPECT_EQ(status.code(), code) << status.ToString();
  }
  EXPECT_NE(status.message().find(text), std::string::npos) << status.ToString();
}

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A server that accepts and then goes silent in the TLS handshake or the
// SASL exchange: each connection attempt ends, and the message names the
// step that stalled, so that a TLS or SASL setup problem is told from a
// slow server.
TEST(HostileServerTest, AStalledTlsHandshakeOrSaslExchangeIsNamed) {
  ClientOptions options;
  options.session_timeout = 1s;  // the time each attempt gets
  options.connect_timeout = 3s;
  {
    ScriptedServer silent([](int, int) {});
    options.connect_string = silent.ConnectString();
    options.tls = TlsOptions{};
    auto client = Client::Connect(options);
    ASSERT_FALSE(client.ok());
    EXPECT_NE(client.status().message().find("the TLS handshake did not complete within 1000 ms"),
              std::string::npos)
        << client.status().ToString();
  }
  {
    // The session is granted; the SASL request gets no answer.
    ScriptedServer mute_after_handshake([](int, int fd) { Handshake(fd); });
    options.connect_string = mute_after_handshake.ConnectString();
    options.tls.reset();
    options.sasl = SaslOptions{.mechanism = "DIGEST-MD5", .user = "alice", .password = "pw"};
    auto client = Client::Connect(options);
    ASSERT_FALSE(client.ok());
    EXPECT_NE(client.status().message().find("the SASL authentication did not complete"),
              std::string::npos)
        << client.status().ToString();
  }
}

// A server that takes the TCP connection but never answers, past the
// connect timeout and before the attempt's own (the session timeout): no
// attempt failed, so there is no last error to give. The message said
// "last error: OK"; it says that no attempt got an answer, both when the
// connect timeout runs out and when the caller gives up.
TEST(HostileServerTest, AConnectWithoutAnyAnswerSaysNoAttemptGotOne) {
  // Listening, never accepting: the kernel completes the handshakes.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ClientOptions options;
  options.connect_string = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  options.connect_timeout = 300ms;
  ASSERT_GT(options.session_timeout, 10 * options.connect_timeout);
  for (bool abandon : {false, true}) {
    SCOPED_TRACE(abandon ? "abandoned" : "timed out");
    if (abandon) {
      options.connect_timeout = 10s;
      const auto give_up = std::chrono::steady_clock::now() + 300ms;
      options.abandon_connect = [give_up] { return std::chrono::steady_clock::now() >= give_up; };
    }
    auto client = Client::Connect(options);
    ASSERT_FALSE(client.ok());
    EXPECT_EQ(client.status().code(), abandon ? StatusCode::kCancelled : StatusCode::kTimeout);
    const std::string message = client.status().message();
    EXPECT_EQ(message.find("OK"), std::string::npos) << message;
    EXPECT_NE(message.find("no connection attempt got an answer"), std::string::npos) << message;
  }
  ::close(listener);
}

TEST(HostileServerTest, SaslRefusalEndsConnectAtOnce) {
  ExpectSaslFailure(
      [](int fd, int32_t xid) {
        WriteFrame(fd, SaslReply(xid, {}, static_cast<int32_t>(ErrorCode::AUTHFAILED)));
      },
      StatusCode::kUnauthenticated, "the server answered AUTHFAILED");
}

TEST(HostileServerTest, GarbageSaslChallengeIsRefusedByCyrus) {
  ExpectSaslFailure(
      [](int fd, int32_t xid) {
        WriteFrame(fd, SaslReply(xid, Bytes("realm=\"x\",nonce=\"\\\",,,qop=\"auth-int,,\","
                                            "algorithm=md5-sess,")));
      },
      StatusCode::kUnauthenticated, "SASL DIGEST-MD5");
}

TEST(HostileServerTest, OversizedSaslTokenIsRefusedBeforeCyrusSeesIt) {
  ExpectSaslFailure(
      [](int fd, int32_t xid) {
        WriteFrame(fd, SaslReply(xid, std::vector<uint8_t>(kMaxSaslTokenBytes + 1, 'a')));
      },
      StatusCode::kOk, "exceeds the 65536-byte limit");
}

TEST(HostileServerTest, SaslReplyForAnotherXidDropsTheConnection) {
  ExpectSaslFailure([](int fd, int32_t xid) { WriteFrame(fd, SaslReply(xid + 7, {})); },
                    StatusCode::kOk, "expected the reply to xid");
}

TEST(HostileServerTest, ServerClosingDuringSaslIsARefusal) {
  ExpectSaslFailure([](int fd, int32_t) { ::shutdown(fd, SHUT_RDWR); },
                    StatusCode::kUnauthenticated, "during SASL authentication");
}

}  // namespace
}  // namespace zkarrow::zk
