// The client against a real standalone ZooKeeper server: every operation,
// watches, auth, chroot.
#include "zk/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "zk_test_util.h"

namespace zkarrow::zk {
namespace {

using testing::EventLog;
using testing::EventString;

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start(
        {.servers = 1,
         .config = {{"extendedTypesEnabled", "true"}},
         .jvm_flags = {"-Xmx512m", "-XX:+UseSerialGC", "-Dznode.container.checkIntervalMs=200"}});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    auto client = SyncClient::Connect(Options());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    zk_ = std::make_unique<SyncClient>(std::move(*client));
    root_ = "/" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(zk_->DeleteRecursive(root_).ok());
    ASSERT_TRUE(zk_->Create(root_).ok());
  }

  static ClientOptions Options(std::string chroot = "") {
    ClientOptions options;
    options.connect_string = cluster_->ConnectString() + chroot;
    options.session_timeout = std::chrono::milliseconds(10000);
    return options;
  }

  std::string Path(std::string_view name) const { return root_ + "/" + std::string(name); }

  // One server for the suite: starting ZooKeeper takes seconds.
  static inline std::unique_ptr<zkserver::ZooKeeperCluster> cluster_;
  std::unique_ptr<SyncClient> zk_;
  std::string root_;
};

TEST_F(ClientTest, CreateGetSetDelete) {
  auto created = zk_->Create(Path("a"), "hello");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->path, Path("a"));
  EXPECT_EQ(created->stat.version, 0);
  EXPECT_EQ(created->stat.data_length, 5);

  auto data = zk_->GetData(Path("a"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "hello");
  EXPECT_EQ(data->stat, created->stat);

  auto stat = zk_->SetData(Path("a"), std::string("\0bin\xff", 5), 0);
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->version, 1);
  EXPECT_EQ(zk_->GetData(Path("a"))->data, std::string("\0bin\xff", 5));

  Result<Stat> stale = zk_->SetData(Path("a"), "x", 0);
  EXPECT_EQ(ErrorCodeOf(stale.status()), ErrorCode::BADVERSION);

  Status wrong_version = zk_->Delete(Path("a"), 7);
  EXPECT_EQ(ErrorCodeOf(wrong_version), ErrorCode::BADVERSION);
  EXPECT_TRUE(zk_->Delete(Path("a"), 1).ok());
  EXPECT_EQ(ErrorCodeOf(zk_->Delete(Path("a"))), ErrorCode::NONODE);
}

TEST_F(ClientTest, ErrorsNameCodeAndPath) {
  auto missing = zk_->GetData(Path("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kRemote);
  EXPECT_EQ(ErrorCodeOf(missing.status()), ErrorCode::NONODE);
  EXPECT_NE(missing.status().message().find("NONODE"), std::string::npos);
  EXPECT_NE(missing.status().message().find(Path("missing")), std::string::npos);
  EXPECT_EQ(ErrorCodeName(ErrorCode::NONODE), "NONODE");

  EXPECT_EQ(ErrorCodeOf(zk_->Create(Path("a/b")).status()), ErrorCode::NONODE);
  ASSERT_TRUE(zk_->Create(Path("a")).ok());
  EXPECT_EQ(ErrorCodeOf(zk_->Create(Path("a")).status()), ErrorCode::NODEEXISTS);
  ASSERT_TRUE(zk_->Create(Path("a/b")).ok());
  EXPECT_EQ(ErrorCodeOf(zk_->Delete(Path("a"))), ErrorCode::NOTEMPTY);
  EXPECT_EQ(zk_->GetData("no-slash").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zk_->GetData("/trailing/").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ClientTest, ExistsAndChildren) {
  EXPECT_EQ(zk_->Exists(Path("x")).value(), std::nullopt);
  for (const char* name : {"c", "a", "b"}) ASSERT_TRUE(zk_->Create(Path(name)).ok());
  auto stat = zk_->Exists(Path("a"));
  ASSERT_TRUE(stat.ok());
  ASSERT_TRUE(stat->has_value());
  EXPECT_EQ((*stat)->num_children, 0);

  auto children = zk_->GetChildren(root_);
  ASSERT_TRUE(children.ok()) << children.status().ToString();
  EXPECT_EQ(std::set<std::string>(children->begin(), children->end()),
            (std::set<std::string>{"a", "b", "c"}));
  auto children2 = zk_->GetChildren2(root_);
  ASSERT_TRUE(children2.ok());
  EXPECT_EQ(children2->children.size(), 3u);
  EXPECT_EQ(children2->stat.num_children, 3);
  EXPECT_EQ(zk_->GetAllChildrenNumber(root_).value(), 3);
  EXPECT_EQ(ErrorCodeOf(zk_->GetChildren(Path("none")).status()), ErrorCode::NONODE);
}

TEST_F(ClientTest, AclRoundTrip) {
  ASSERT_TRUE(zk_->Create(Path("acl")).ok());
  auto acl = zk_->GetAcl(Path("acl"));
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  EXPECT_EQ(acl->acls, OpenAclUnsafe());
  auto stat = zk_->SetAcl(Path("acl"), ReadAclUnsafe(), 0);
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->aversion, 1);
  EXPECT_EQ(zk_->GetAcl(Path("acl"))->acls, ReadAclUnsafe());
  EXPECT_EQ(ErrorCodeOf(zk_->SetData(Path("acl"), "x").status()), ErrorCode::NOAUTH);
}

TEST_F(ClientTest, MultiReadReportsPerOperationErrors) {
  ASSERT_TRUE(zk_->Create(Path("a"), "A").ok());
  ASSERT_TRUE(zk_->Create(Path("a/child")).ok());
  ASSERT_TRUE(zk_->Create(Path("b"), "B").ok());
  auto results = zk_->MultiRead({ReadOp::GetData(Path("a")), ReadOp::GetData(Path("missing")),
                                 ReadOp::GetChildren(Path("a")), ReadOp::GetData(Path("b")),
                                 ReadOp::GetChildren(Path("gone"))});
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 5u);
  EXPECT_EQ((*results)[0].error, ErrorCode::OK);
  EXPECT_EQ((*results)[0].data, "A");
  EXPECT_EQ((*results)[0].stat.num_children, 1);
  EXPECT_EQ((*results)[1].error, ErrorCode::NONODE);
  EXPECT_EQ((*results)[2].children, std::vector<std::string>{"child"});
  EXPECT_EQ((*results)[3].data, "B");
  EXPECT_EQ((*results)[4].error, ErrorCode::NONODE);
  EXPECT_TRUE(zk_->async().SupportsMultiRead());
  EXPECT_TRUE(zk_->MultiRead({})->empty());
}

TEST_F(ClientTest, PipelinesManyRequests) {
  constexpr int kNodes = 300;
  std::vector<std::future<Result<CreateResult>>> creates;
  for (int i = 0; i < kNodes; ++i) {
    creates.push_back(zk_->async().Create(Path("n" + std::to_string(i)), std::to_string(i)));
  }
  for (auto& create : creates) ASSERT_TRUE(create.get().ok());

  // A small window forces submitters to wait for replies.
  ClientOptions options = Options();
  options.max_in_flight = 8;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kNodes; ++i) {
    (*client)->GetData(Path("n" + std::to_string(i)), [&, i](Result<DataResult> data) {
      if (!data.ok() || data->data != std::to_string(i)) ++failed;
      ++done;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + testing::kWait;
  while (done < kNodes && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(done, kNodes);
  EXPECT_EQ(failed, 0);
}

TEST_F(ClientTest, CreateModes) {
  auto seq1 = zk_->Create(Path("seq-"), "", CreateMode::kPersistentSequential);
  auto seq2 = zk_->Create(Path("seq-"), "", CreateMode::kPersistentSequential);
  ASSERT_TRUE(seq1.ok() && seq2.ok()) << seq1.status().ToString();
  EXPECT_EQ(seq1->path, Path("seq-0000000000"));
  EXPECT_EQ(seq2->path, Path("seq-0000000001"));

  auto ephemeral = zk_->Create(Path("eph"), "", CreateMode::kEphemeral);
  ASSERT_TRUE(ephemeral.ok()) << ephemeral.status().ToString();
  EXPECT_EQ(ephemeral->stat.ephemeral_owner, zk_->async().session_id());
  auto eseq = zk_->Create(Path("eseq-"), "", CreateMode::kEphemeralSequential);
  ASSERT_TRUE(eseq.ok());
  auto ephemerals = zk_->GetEphemerals(root_);
  ASSERT_TRUE(ephemerals.ok()) << ephemerals.status().ToString();
  EXPECT_EQ(std::set<std::string>(ephemerals->begin(), ephemerals->end()),
            (std::set<std::string>{Path("eph"), eseq->path}));

  auto container = zk_->Create(Path("container"), "", CreateMode::kContainer);
  ASSERT_TRUE(container.ok()) << container.status().ToString();
  auto ttl = zk_->Create(Path("ttl"), "t", CreateMode::kPersistentWithTtl, OpenAclUnsafe(), 60000);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  // Clients see ephemeralOwner 0 for TTL and container nodes.
  EXPECT_EQ(ttl->stat.ephemeral_owner, 0);
  auto ttl_seq = zk_->Create(Path("ttlseq-"), "", CreateMode::kPersistentSequentialWithTtl,
                             OpenAclUnsafe(), 60000);
  ASSERT_TRUE(ttl_seq.ok()) << ttl_seq.status().ToString();
  EXPECT_EQ(zk_->Create(Path("bad-ttl"), "", CreateMode::kPersistentWithTtl).status().code(),
            StatusCode::kInvalidArgument);

  // The server removes an unmodified, childless TTL node after its TTL, and a
  // container once its last child is gone (checked every 200 ms here).
  ASSERT_TRUE(
      zk_->Create(Path("short-ttl"), "", CreateMode::kPersistentWithTtl, OpenAclUnsafe(), 100)
          .ok());
  ASSERT_TRUE(zk_->Create(Path("container/child")).ok());
  ASSERT_TRUE(zk_->Delete(Path("container/child")).ok());
  auto deadline = std::chrono::steady_clock::now() + testing::kWait;
  while (std::chrono::steady_clock::now() < deadline &&
         (zk_->Exists(Path("short-ttl")).value() || zk_->Exists(Path("container")).value())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(zk_->Exists(Path("short-ttl")).value(), std::nullopt);
  EXPECT_EQ(zk_->Exists(Path("container")).value(), std::nullopt);

  // Ephemerals end with the session.
  zk_->async().Close();
  auto other = SyncClient::Connect(Options());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->Exists(Path("eph")).value(), std::nullopt);
  EXPECT_TRUE(other->Exists(Path("seq-0000000000")).value().has_value());
  zk_ = std::make_unique<SyncClient>(std::move(*other));
}

TEST_F(ClientTest, MultiIsAtomic) {
  ASSERT_TRUE(zk_->Create(Path("x"), "0").ok());
  auto ok = zk_->Multi(
      {Op::Create(Path("m1"), "1", OpenAclUnsafe()), Op::SetData(Path("x"), "changed", 0),
       Op::Check(Path("x"), 1),
       Op::Create(Path("mseq-"), "", OpenAclUnsafe(), CreateMode::kPersistentSequential)});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 4u);
  for (const OpResult& result : *ok) EXPECT_EQ(result.error, ErrorCode::OK);
  EXPECT_EQ((*ok)[0].path, Path("m1"));
  EXPECT_EQ((*ok)[1].stat.version, 1);
  EXPECT_EQ((*ok)[3].path, Path("mseq-0000000002"));

  auto failed = zk_->Multi({Op::Create(Path("m2"), "", OpenAclUnsafe()), Op::Check(Path("x"), 99),
                            Op::Delete(Path("m1"))});
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_EQ(failed->size(), 3u);
  EXPECT_EQ((*failed)[1].error, ErrorCode::BADVERSION);
  EXPECT_NE((*failed)[2].error, ErrorCode::OK);
  EXPECT_EQ(zk_->Exists(Path("m2")).value(), std::nullopt);
  EXPECT_TRUE(zk_->Exists(Path("m1")).value().has_value());
}

TEST_F(ClientTest, SyncAndWhoAmI) {
  EXPECT_TRUE(zk_->Sync(root_).ok());
  auto who = zk_->WhoAmI();
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  ASSERT_FALSE(who->empty());
  EXPECT_EQ((*who)[0].scheme, "ip");
}

TEST_F(ClientTest, OneShotWatches) {
  EventLog data_events, child_events, exist_events;
  ASSERT_TRUE(zk_->Exists(Path("w"), exist_events.Listener()).ok());
  ASSERT_TRUE(zk_->Create(Path("w"), "0").ok());
  EXPECT_EQ(EventString(exist_events.Next()), "created " + Path("w"));

  ASSERT_TRUE(zk_->GetData(Path("w"), data_events.Listener()).ok());
  ASSERT_TRUE(zk_->GetChildren(Path("w"), child_events.Listener()).ok());
  ASSERT_TRUE(zk_->SetData(Path("w"), "1").ok());
  EXPECT_EQ(EventString(data_events.Next()), "data_changed " + Path("w"));
  ASSERT_TRUE(zk_->SetData(Path("w"), "2").ok());  // one-shot: no second event
  ASSERT_TRUE(zk_->Create(Path("w/c")).ok());
  EXPECT_EQ(EventString(child_events.Next()), "children_changed " + Path("w"));

  ASSERT_TRUE(zk_->GetData(Path("w"), data_events.Listener()).ok());
  ASSERT_TRUE(zk_->Delete(Path("w/c")).ok());
  ASSERT_TRUE(zk_->Delete(Path("w")).ok());
  EXPECT_EQ(EventString(data_events.Next()), "deleted " + Path("w"));
  EXPECT_EQ(data_events.Next(std::chrono::milliseconds(300)), std::nullopt);
}

TEST_F(ClientTest, PersistentAndRecursiveWatches) {
  ASSERT_TRUE(zk_->Create(Path("p")).ok());
  EventLog persistent, recursive;
  ASSERT_TRUE(zk_->AddWatch(Path("p"), AddWatchMode::kPersistent, persistent.Listener()).ok());
  // On the parent: the server keeps one watch mode per path and session.
  ASSERT_TRUE(zk_->AddWatch(root_, AddWatchMode::kPersistentRecursive, recursive.Listener()).ok());

  ASSERT_TRUE(zk_->SetData(Path("p"), "1").ok());
  ASSERT_TRUE(zk_->SetData(Path("p"), "2").ok());
  ASSERT_TRUE(zk_->Create(Path("p/c")).ok());
  ASSERT_TRUE(zk_->Create(Path("p/c/d")).ok());
  ASSERT_TRUE(zk_->SetData(Path("p/c/d"), "x").ok());
  ASSERT_TRUE(zk_->Delete(Path("p/c/d")).ok());

  EXPECT_EQ(EventString(persistent.Next()), "data_changed " + Path("p"));
  EXPECT_EQ(EventString(persistent.Next()), "data_changed " + Path("p"));
  EXPECT_EQ(EventString(persistent.Next()), "children_changed " + Path("p"));

  EXPECT_EQ(EventString(recursive.Next()), "data_changed " + Path("p"));
  EXPECT_EQ(EventString(recursive.Next()), "data_changed " + Path("p"));
  EXPECT_EQ(EventString(recursive.Next()), "created " + Path("p/c"));
  EXPECT_EQ(EventString(recursive.Next()), "created " + Path("p/c/d"));
  EXPECT_EQ(EventString(recursive.Next()), "data_changed " + Path("p/c/d"));
  EXPECT_EQ(EventString(recursive.Next()), "deleted " + Path("p/c/d"));

  ASSERT_TRUE(zk_->RemoveWatches(Path("p")).ok());
  ASSERT_TRUE(zk_->RemoveWatches(root_).ok());
  ASSERT_TRUE(zk_->SetData(Path("p"), "3").ok());
  ASSERT_TRUE(zk_->Sync(Path("p")).ok());
  EXPECT_EQ(persistent.Next(std::chrono::milliseconds(300)), std::nullopt);
  EXPECT_EQ(recursive.Next(std::chrono::milliseconds(10)), std::nullopt);
  EXPECT_EQ(ErrorCodeOf(zk_->RemoveWatches(Path("p"))), ErrorCode::NOWATCHER);
}

TEST_F(ClientTest, DigestAuthAndNoAuth) {
  ASSERT_TRUE(zk_->AddAuth("digest", "alice:secret").ok());
  auto created = zk_->Create(Path("private"), "s", CreateMode::kPersistent, CreatorAllAcl());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto acl = zk_->GetAcl(Path("private"));
  ASSERT_TRUE(acl.ok());
  ASSERT_EQ(acl->acls.size(), 1u);
  EXPECT_EQ(acl->acls[0].scheme, "digest");
  EXPECT_EQ(acl->acls[0].id.rfind("alice:", 0), 0u);
  EXPECT_EQ(zk_->GetData(Path("private"))->data, "s");
  auto who = zk_->WhoAmI();
  ASSERT_TRUE(who.ok());
  bool has_alice = false;
  for (const ClientIdentity& identity : *who) has_alice |= identity.user == "alice";
  EXPECT_TRUE(has_alice);

  auto anonymous = SyncClient::Connect(Options());
  ASSERT_TRUE(anonymous.ok());
  auto denied = anonymous->GetData(Path("private"));
  EXPECT_EQ(ErrorCodeOf(denied.status()), ErrorCode::NOAUTH);
  EXPECT_NE(denied.status().message().find("NOAUTH"), std::string::npos);
  ASSERT_TRUE(anonymous->AddAuth("digest", "alice:wrong").ok());
  EXPECT_EQ(ErrorCodeOf(anonymous->GetData(Path("private")).status()), ErrorCode::NOAUTH);

  ClientOptions options = Options();
  options.auth = {{"digest", "alice:secret"}};
  auto with_auth = SyncClient::Connect(options);
  ASSERT_TRUE(with_auth.ok());
  EXPECT_EQ(with_auth->GetData(Path("private"))->data, "s");
}

TEST_F(ClientTest, ChrootAppliesToPathsInAndOut) {
  auto rooted = SyncClient::Connect(Options(root_));
  ASSERT_TRUE(rooted.ok()) << rooted.status().ToString();
  EXPECT_EQ(rooted->async().chroot(), root_);
  auto created = rooted->Create("/inside", "v");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->path, "/inside");
  EXPECT_EQ(zk_->GetData(Path("inside"))->data, "v");
  auto seq = rooted->Create("/s-", "", CreateMode::kPersistentSequential);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(seq->path, "/s-0000000001");
  auto children = rooted->GetChildren("/");
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->size(), 2u);

  EventLog events;
  ASSERT_TRUE(rooted->AddWatch("/", AddWatchMode::kPersistentRecursive, events.Listener()).ok());
  ASSERT_TRUE(zk_->SetData(Path("inside"), "w").ok());
  EXPECT_EQ(EventString(events.Next()), "data_changed /inside");

  auto multi = rooted->Multi({Op::Create("/m", "", OpenAclUnsafe())});
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ((*multi)[0].path, "/m");
  auto reads = rooted->MultiRead({ReadOp::GetData("/inside"), ReadOp::GetChildren("/")});
  ASSERT_TRUE(reads.ok());
  EXPECT_EQ((*reads)[0].data, "w");
  EXPECT_EQ((*reads)[1].children.size(), 3u);
  ASSERT_TRUE(rooted->Create("/e", "", CreateMode::kEphemeral).ok());
  EXPECT_EQ(rooted->GetEphemerals("/").value(), std::vector<std::string>{"/e"});
}

TEST_F(ClientTest, OversizedReplyFailsOnlyThatRequest) {
  ASSERT_TRUE(zk_->Create(Path("big"), std::string(100000, 'x')).ok());
  ASSERT_TRUE(zk_->Create(Path("small"), "s").ok());
  ClientOptions options = Options();
  options.max_response_bytes = 4096;
  auto client = SyncClient::Connect(options);
  ASSERT_TRUE(client.ok());
  auto big = client->GetData(Path("big"));
  EXPECT_EQ(big.status().code(), StatusCode::kOutOfRange) << big.status().ToString();
  EXPECT_EQ(client->GetData(Path("small"))->data, "s");
}

TEST_F(ClientTest, OversizedRequestFailsWithoutBeingSent) {
  // The server would drop the connection over a packet past jute.maxbuffer;
  // the client refuses it instead, and the session carries on.
  ASSERT_TRUE(zk_->Create(Path("small"), "s").ok());
  auto set = zk_->SetData(Path("small"), std::string(2 << 20, 'x'));
  EXPECT_EQ(set.status().code(), StatusCode::kOutOfRange) << set.status().ToString();
  std::vector<ReadOp> reads(40000, ReadOp::GetData(Path("small")));
  auto multi = zk_->MultiRead(reads);
  EXPECT_EQ(multi.status().code(), StatusCode::kOutOfRange) << multi.status().ToString();
  EXPECT_EQ(zk_->GetData(Path("small"))->data, "s");
}

// A server with a small jute.maxbuffer closes the connection of a client
// whose packet passes it, and again on every new connection, where the read
// is resent first. The client used to reconnect for ever; now it gives the
// session up after a bounded number of such connections, saying why.
TEST(JuteMaxBufferTest, ReadTheServerDropsEveryTimeEndsTheSession) {
  auto cluster = zkserver::ZooKeeperCluster::Start(
      {.servers = 1, .jvm_flags = {"-Xmx512m", "-XX:+UseSerialGC", "-Djute.maxbuffer=16384"}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  ClientOptions options;
  options.connect_string = (*cluster)->ConnectString();
  auto setup = SyncClient::Connect(options);
  ASSERT_TRUE(setup.ok()) << setup.status().ToString();
  ASSERT_TRUE(setup->Create("/t").ok());
  // 300 names of 105 bytes: one multiRead of them is over 16 KB.
  std::vector<ReadOp> reads;
  for (int i = 0; i < 300; ++i) {
    std::string path = "/t/" + std::string(100, 'n') + std::to_string(10000 + i);
    ASSERT_TRUE(setup->Create(path).ok());
    reads.push_back(ReadOp::GetData(path));
  }
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto read = (*client)->MultiRead(reads);
  ASSERT_EQ(read.wait_for(3 * testing::kWait), std::future_status::ready);
  Status status = read.get().status();
  EXPECT_EQ(ErrorCodeOf(status), ErrorCode::CONNECTIONLOSS) << status.ToString();
  EXPECT_NE(status.message().find("larger than its jute.maxbuffer"), std::string::npos)
      << status.ToString();
}

TEST_F(ClientTest, SessionListenerAndClose) {
  std::mutex mutex;
  std::vector<SessionState> states;
  ClientOptions options = Options();
  options.session_listener = [&](const SessionEvent& event) {
    std::lock_guard lock(mutex);
    states.push_back(event.state);
  };
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE((*client)->connected_server().empty());
  EXPECT_GE((*client)->negotiated_session_timeout().count(), 4000);
  (*client)->Close();
  auto after = (*client)->GetData(root_).get();
  EXPECT_EQ(after.status().code(), StatusCode::kCancelled);
  std::lock_guard lock(mutex);
  EXPECT_EQ(states, (std::vector<SessionState>{SessionState::kConnected, SessionState::kClosed}));
}

TEST_F(ClientTest, ConnectFailsClearlyWhenNoServerListens) {
  auto port = zkserver::PickFreePort();
  ASSERT_TRUE(port.ok());
  ClientOptions options;
  options.connect_string = "127.0.0.1:" + std::to_string(*port);
  options.connect_timeout = std::chrono::milliseconds(1000);
  auto client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kTimeout);
  EXPECT_NE(client.status().message().find("Connection refused"), std::string::npos)
      << client.status().ToString();
}

}  // namespace
}  // namespace zkarrow::zk
