// Offline tests of the wire layer: framing, record decoding of malformed and
// hostile input, connect strings and chroot, and watch bookkeeping.
#include "zk/protocol.h"

#include <gtest/gtest.h>

#include "zk/connect_string.h"
#include "zk/frame_decoder.h"
#include "zk/watch_registry.h"

namespace zkarrow::zk {
namespace {

std::vector<uint8_t> Framed(const std::vector<uint8_t>& payload) {
  JuteWriter writer;
  size_t frame = writer.BeginFrame();
  std::vector<uint8_t> bytes = writer.Release();
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  auto length = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) bytes[frame + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
  return bytes;
}

std::vector<uint8_t> ReplyBytes(int32_t xid, int32_t err, const std::vector<uint8_t>& body) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(42);
  writer.WriteInt(err);
  std::vector<uint8_t> bytes = writer.Release();
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

TEST(FrameDecoderTest, ReassemblesFramesSplitAnywhere) {
  std::vector<uint8_t> stream = Framed({1, 2, 3});
  std::vector<uint8_t> second = Framed({});
  stream.insert(stream.end(), second.begin(), second.end());
  FrameDecoder decoder(1024);
  std::vector<Frame> frames;
  for (uint8_t byte : stream) {
    decoder.Append(std::span(&byte, 1));
    for (;;) {
      auto frame = decoder.Next();
      ASSERT_TRUE(frame.ok());
      if (!frame->has_value()) break;
      frames.push_back(std::move(**frame));
    }
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_TRUE(frames[1].payload.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoderTest, TruncatedFrameWaitsForMore) {
  std::vector<uint8_t> stream = Framed({1, 2, 3, 4});
  stream.pop_back();
  FrameDecoder decoder(1024);
  decoder.Append(stream);
  auto frame = decoder.Next();
  ASSERT_TRUE(frame.ok());
  EXPECT_FALSE(frame->has_value());
}

TEST(FrameDecoderTest, NegativeLengthIsAStickyError) {
  const std::vector<uint8_t> garbage = {0xff, 0xff, 0xff, 0xfe, 1, 2};
  FrameDecoder decoder(1024);
  decoder.Append(garbage);
  EXPECT_EQ(decoder.Next().status().code(), StatusCode::kInvalidData);
  decoder.Append(Framed({1}));
  EXPECT_FALSE(decoder.Next().ok());
  decoder.Reset();
  decoder.Append(Framed({1}));
  EXPECT_TRUE(decoder.Next().ok());
}

// Skipping an oversized frame would let a server announcing 2 GiB swallow
// every later reply: after the header, the stream is over.
TEST(FrameDecoderTest, OversizedFrameKeepsHeaderThenEndsTheStream) {
  std::vector<uint8_t> big = ReplyBytes(7, 0, std::vector<uint8_t>(5000, 0xab));
  std::vector<uint8_t> stream = Framed(big);
  std::vector<uint8_t> next = Framed(ReplyBytes(8, 0, {}));
  stream.insert(stream.end(), next.begin(), next.end());
  FrameDecoder decoder(100);
  std::vector<Frame> frames;
  Status error;
  for (size_t offset = 0; offset < stream.size() && error.ok(); offset += 333) {
    size_t n = std::min<size_t>(333, stream.size() - offset);
    decoder.Append(std::span(stream).subspan(offset, n));
    for (;;) {
      auto frame = decoder.Next();
      if (!frame.ok()) {
        error = frame.status();
        break;
      }
      if (!frame->has_value()) break;
      frames.push_back(std::move(**frame));
    }
  }
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].oversized);
  EXPECT_EQ(frames[0].length, big.size());
  ASSERT_EQ(frames[0].payload.size(), kReplyHeaderSize);
  JuteReader reader(frames[0].payload);
  EXPECT_EQ(ReadReplyHeader(reader).xid, 7);
  EXPECT_EQ(error.code(), StatusCode::kInvalidData) << error.ToString();
  EXPECT_NE(error.message().find("found one of " + std::to_string(big.size())), std::string::npos)
      << error.ToString();
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(ProtocolTest, ConnectRequestLayout) {
  ConnectRequest request;
  request.timeout_ms = 30000;
  request.read_only = true;
  std::vector<uint8_t> frame = EncodeConnectRequest(request);
  // length + version + zxid + timeout + session + passwd(4+16) + readOnly
  ASSERT_EQ(frame.size(), 4u + 4 + 8 + 4 + 8 + 20 + 1);
  JuteReader reader(frame);
  EXPECT_EQ(reader.ReadInt(), static_cast<int32_t>(frame.size() - 4));
  EXPECT_EQ(reader.ReadInt(), 0);
  EXPECT_EQ(reader.ReadLong(), 0);
  EXPECT_EQ(reader.ReadInt(), 30000);
}

TEST(ProtocolTest, ConnectResponseWithAndWithoutReadOnlyFlag) {
  JuteWriter writer;
  writer.WriteInt(0);
  writer.WriteInt(4000);
  writer.WriteLong(0x1234);
  writer.WriteBuffer(std::vector<uint8_t>(16, 9));
  auto old_server = DecodeConnectResponse(writer.bytes());
  ASSERT_TRUE(old_server.ok());
  EXPECT_EQ(old_server->timeout_ms, 4000);
  EXPECT_EQ(old_server->session_id, 0x1234);
  EXPECT_FALSE(old_server->read_only);
  writer.WriteBool(true);
  EXPECT_TRUE(DecodeConnectResponse(writer.bytes())->read_only);
  std::vector<uint8_t> truncated = writer.bytes();
  truncated.resize(10);
  EXPECT_EQ(DecodeConnectResponse(truncated).status().code(), StatusCode::kInvalidData);
}

TEST(ProtocolTest, TruncatedRepliesAreErrors) {
  JuteWriter writer;
  writer.WriteString("data");
  for (int i = 0; i < 11; ++i) writer.WriteLong(1);  // more than a Stat
  std::vector<uint8_t> full = writer.bytes();
  for (size_t n = 0; n < 4 + 4 + 68; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(DecodeGetDataResponse(cut).ok()) << n;
  }
  EXPECT_TRUE(DecodeGetDataResponse(full).ok());
}

TEST(ProtocolTest, HostileVectorLengthsDoNotAllocate) {
  JuteWriter writer;
  writer.WriteInt(0x7fffffff);
  auto children = DecodeStringList(writer.bytes());
  EXPECT_EQ(children.status().code(), StatusCode::kInvalidData);
  auto acl = DecodeGetAclResponse(writer.bytes());
  EXPECT_FALSE(acl.ok());
  JuteWriter negative;
  negative.WriteInt(-5);
  EXPECT_FALSE(DecodeStringList(negative.bytes()).ok());
}

// Restore plans multi batches under jute.maxbuffer from these sizes: they
// must be exactly what EncodeMultiRequest writes, for every kind of op.
TEST(ProtocolTest, MultiOpEncodedBytesMatchesTheEncoding) {
  const std::vector<Acl> acl = {{perms::kAll, "digest", "user:abc="},
                                {perms::kRead, "world", "anyone"}};
  const std::vector<Op> ops = {
      Op::Create("/a/\u00e9", std::string(1000, 'x'), acl),
      Op::Create("/ttl", "v", OpenAclUnsafe(), CreateMode::kPersistentWithTtl, 60000),
      Op::Create("/c", "", OpenAclUnsafe(), CreateMode::kContainer),
      Op::Delete("/d", 3),
      Op::SetData("/s", "data", 7),
      Op::Check("/k", 1),
  };
  size_t sum = kMultiEndBytes;
  for (const Op& op : ops) {
    EXPECT_EQ(MultiOpEncodedBytes(op), EncodeMultiRequest({op}).size() - kMultiEndBytes) << op.path;
    sum += MultiOpEncodedBytes(op);
  }
  EXPECT_EQ(sum, EncodeMultiRequest(ops).size());
}

TEST(ProtocolTest, MultiReadResponseMixesResultsAndErrors) {
  JuteWriter writer;
  writer.WriteInt(static_cast<int32_t>(OpCode::kGetData));
  writer.WriteBool(false);
  writer.WriteInt(0);
  writer.WriteString("v");
  for (int i = 0; i < 11; ++i)
    i < 4 || i == 7 || i == 10 ? writer.WriteLong(i) : writer.WriteInt(i);
  writer.WriteInt(static_cast<int32_t>(OpCode::kError));
  writer.WriteBool(false);
  writer.WriteInt(static_cast<int32_t>(ErrorCode::NONODE));
  writer.WriteInt(static_cast<int32_t>(ErrorCode::NONODE));
  writer.WriteInt(static_cast<int32_t>(OpCode::kGetChildren));
  writer.WriteBool(false);
  writer.WriteInt(0);
  writer.WriteInt(1);
  writer.WriteString("kid");
  writer.WriteInt(-1);
  writer.WriteBool(true);
  writer.WriteInt(-1);
  std::vector<ReadOp> ops = {ReadOp::GetData("/a"), ReadOp::GetData("/b"),
                             ReadOp::GetChildren("/c")};
  auto results = DecodeMultiReadResponse(writer.bytes(), ops);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  EXPECT_EQ((*results)[0].data, "v");
  EXPECT_EQ((*results)[0].stat.version, 4);
  EXPECT_EQ((*results)[0].stat.pzxid, 10);
  EXPECT_EQ((*results)[1].error, ErrorCode::NONODE);
  EXPECT_EQ((*results)[2].children, std::vector<std::string>{"kid"});

  // Fewer results than reads, or an unknown result type, is malformed.
  ops.push_back(ReadOp::GetData("/d"));
  EXPECT_FALSE(DecodeMultiReadResponse(writer.bytes(), ops).ok());
  std::vector<uint8_t> unknown = writer.bytes();
  unknown[3] = 99;
  EXPECT_FALSE(DecodeMultiReadResponse(unknown, ops).ok());
}

// ZooKeeper's null data (a buffer of length -1) is not empty data: getData
// and multiRead say which, and create and setData write either.
TEST(ProtocolTest, NullDataIsToldApartFromEmptyData) {
  auto write_data_and_stat = [](bool null, JuteWriter& writer) {
    null ? writer.WriteNullBuffer() : writer.WriteString("");
    for (int i = 0; i < 11; ++i)
      i < 4 || i == 7 || i == 10 ? writer.WriteLong(i) : writer.WriteInt(i);
  };
  auto get_data_reply = [&](bool null) {
    JuteWriter writer;
    write_data_and_stat(null, writer);
    return writer.Release();
  };
  auto null_reply = DecodeGetDataResponse(get_data_reply(true));
  ASSERT_TRUE(null_reply.ok()) << null_reply.status().ToString();
  EXPECT_TRUE(null_reply->null_data);
  EXPECT_EQ(null_reply->data, "");
  EXPECT_EQ(null_reply->stat.pzxid, 10);
  auto empty_reply = DecodeGetDataResponse(get_data_reply(false));
  ASSERT_TRUE(empty_reply.ok()) << empty_reply.status().ToString();
  EXPECT_FALSE(empty_reply->null_data);

  JuteWriter multi;
  for (bool null : {true, false}) {
    multi.WriteInt(static_cast<int32_t>(OpCode::kGetData));
    multi.WriteBool(false);
    multi.WriteInt(0);
    write_data_and_stat(null, multi);
  }
  multi.WriteInt(-1);
  multi.WriteBool(true);
  multi.WriteInt(-1);
  auto reads =
      DecodeMultiReadResponse(multi.bytes(), {ReadOp::GetData("/n"), ReadOp::GetData("/e")});
  ASSERT_TRUE(reads.ok()) << reads.status().ToString();
  EXPECT_TRUE((*reads)[0].null_data);
  EXPECT_FALSE((*reads)[1].null_data);
  EXPECT_EQ((*reads)[1].stat.version, 4);

  // In a multi request the data follows the op header and the path: null is
  // the length -1, empty the length 0, and both take 4 bytes.
  for (bool null : {true, false}) {
    for (Op op : {Op::Create("/p", "", OpenAclUnsafe()), Op::SetData("/p", "", 3)}) {
      op.null_data = null;
      std::vector<uint8_t> bytes = EncodeMultiRequest({op});
      JuteReader reader(bytes);
      reader.ReadInt();   // type
      reader.ReadBool();  // done
      reader.ReadInt();   // err
      EXPECT_EQ(reader.ReadString(), "/p");
      EXPECT_EQ(reader.ReadInt(), null ? -1 : 0);
      EXPECT_EQ(MultiOpEncodedBytes(op), bytes.size() - kMultiEndBytes);
    }
  }
}

// Every decoder either succeeds or says why with kInvalidData, whatever the
// bytes; none reads past them (the sanitizer build checks that part).
TEST(ProtocolTest, GarbageGivesInvalidDataOrAValue) {
  std::vector<uint8_t> bytes;
  uint32_t state = 12345;
  std::vector<ReadOp> reads = {ReadOp::GetData("/a"), ReadOp::GetChildren("/b")};
  std::vector<Op> ops = {Op::Check("/a", 1), Op::Delete("/b")};
  int failures = 0;
  auto check = [&](const Status& status, const char* decoder) {
    if (status.ok()) return;
    ++failures;
    EXPECT_EQ(status.code(), StatusCode::kInvalidData)
        << decoder << " on " << bytes.size() << " bytes: " << status.ToString();
    EXPECT_FALSE(status.message().empty()) << decoder;
  };
  for (int round = 0; round < 2000; ++round) {
    state = state * 1103515245 + 12345;
    bytes.push_back(static_cast<uint8_t>(state >> 16));
    const int failures_before = failures;
    check(DecodeConnectResponse(bytes).status(), "ConnectResponse");
    check(DecodeWatcherEvent(bytes).status(), "WatcherEvent");
    check(DecodeGetDataResponse(bytes).status(), "GetDataResponse");
    check(DecodeGetChildren2Response(bytes).status(), "GetChildren2Response");
    check(DecodeGetAclResponse(bytes).status(), "GetAclResponse");
    check(DecodeWhoAmIResponse(bytes).status(), "WhoAmIResponse");
    check(DecodeMultiResponse(bytes, ops).status(), "MultiResponse");
    check(DecodeMultiReadResponse(bytes, reads).status(), "MultiReadResponse");
    // Three bytes hold no reply at all: every decoder must refuse them.
    if (bytes.size() < 4) {
      EXPECT_EQ(failures - failures_before, 8) << bytes.size() << " bytes";
    }
  }
  // Random lengths and counts are almost never consistent.
  EXPECT_GT(failures, 2000 * 8 / 2);
}

TEST(ConnectStringTest, ParsesHostsAndChroot) {
  auto parsed = ParseConnectString("127.0.0.1:2181,localhost:2182,[::1]:2183/app/x");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->servers.size(), 3u);
  EXPECT_EQ(parsed->servers[0].ToString(), "127.0.0.1:2181");
  EXPECT_EQ(parsed->servers[1].host, "localhost");
  EXPECT_EQ(parsed->servers[2].host, "::1");
  EXPECT_EQ(parsed->servers[2].port, 2183);
  EXPECT_EQ(parsed->chroot, "/app/x");
  EXPECT_EQ(ParseConnectString("h")->servers[0].port, 2181);
  EXPECT_EQ(ParseConnectString("h:1/")->chroot, "");
  EXPECT_FALSE(ParseConnectString("").ok());
  EXPECT_FALSE(ParseConnectString("h:notaport").ok());
  EXPECT_FALSE(ParseConnectString("h:1/bad/").ok());
}

TEST(ConnectStringTest, ChrootArithmetic) {
  EXPECT_EQ(ApplyChroot("", "/a"), "/a");
  EXPECT_EQ(ApplyChroot("/app", "/"), "/app");
  EXPECT_EQ(ApplyChroot("/app", "/a/b"), "/app/a/b");
  EXPECT_EQ(StripChroot("/app", "/app"), "/");
  EXPECT_EQ(StripChroot("/app", "/app/a"), "/a");
  EXPECT_EQ(StripChroot("/app", "/apple"), "/apple");
  EXPECT_EQ(StripChroot("", "/x"), "/x");
}

TEST(ConnectStringTest, ValidatesPaths) {
  for (const char* good : {"/", "/a", "/a/b", "/a.b/..c"}) EXPECT_TRUE(ValidatePath(good).ok());
  for (const char* bad : {"", "a", "/a/", "//a", "/a//b", "/a/./b", "/.."}) {
    EXPECT_FALSE(ValidatePath(bad).ok()) << bad;
  }
}

TEST(WatchRegistryTest, OneShotWatchesFireOncePersistentOnesStay) {
  WatchRegistry registry;
  int data = 0, child = 0, persistent = 0, recursive = 0;
  registry.Add(WatchRegistry::Kind::kData, "/a", [&](const WatchEvent&) { ++data; });
  registry.Add(WatchRegistry::Kind::kChild, "/a", [&](const WatchEvent&) { ++child; });
  registry.Add(WatchRegistry::Kind::kPersistent, "/a", [&](const WatchEvent&) { ++persistent; });
  registry.Add(WatchRegistry::Kind::kPersistentRecursive, "/",
               [&](const WatchEvent&) { ++recursive; });
  auto fire = [&](EventType type, std::string path) {
    WatchEvent event{type, SessionState::kConnected, std::move(path)};
    for (auto& listener : registry.Trigger(event)) listener(event);
  };
  fire(EventType::kDataChanged, "/a");
  fire(EventType::kDataChanged, "/a");
  fire(EventType::kChildrenChanged, "/a");
  fire(EventType::kCreated, "/a/b/c");
  EXPECT_EQ(data, 1);
  EXPECT_EQ(child, 1);
  EXPECT_EQ(persistent, 3);
  EXPECT_EQ(recursive, 3);  // not for children_changed
  EXPECT_EQ(registry.Paths(WatchRegistry::Kind::kData).size(), 0u);
  EXPECT_EQ(registry.Paths(WatchRegistry::Kind::kPersistentRecursive),
            std::vector<std::string>{"/"});
  registry.Remove("/", WatcherType::kAny);
  registry.Remove("/a", WatcherType::kAny);
  EXPECT_TRUE(registry.empty());
}

TEST(ProtocolTest, SaslRequestAndResponse) {
  const std::vector<uint8_t> token = {1, 2, 3};
  JuteWriter expected;
  expected.WriteBuffer(token);
  EXPECT_EQ(EncodeSaslRequest(token), expected.bytes());

  JuteWriter reply;
  reply.WriteBuffer(token);
  auto decoded = DecodeSaslResponse(reply.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, token);

  JuteWriter null_token;
  null_token.WriteNullBuffer();
  auto empty = DecodeSaslResponse(null_token.bytes());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  JuteWriter negative;
  negative.WriteInt(-7);
  EXPECT_EQ(DecodeSaslResponse(negative.bytes()).status().code(), StatusCode::kInvalidData);

  // A length past the bytes is malformed; one within them but over the
  // limit is too large.
  JuteWriter truncated;
  truncated.WriteInt(1000);
  truncated.WriteInt(0);
  EXPECT_EQ(DecodeSaslResponse(truncated.bytes()).status().code(), StatusCode::kInvalidData);
  JuteWriter huge;
  huge.WriteBuffer(std::vector<uint8_t>(kMaxSaslTokenBytes + 1));
  EXPECT_EQ(DecodeSaslResponse(huge.bytes()).status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace zkarrow::zk
