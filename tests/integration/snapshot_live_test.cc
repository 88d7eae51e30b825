// `zkarrow snapshot --zk` against a real ZooKeeper, compared with what kazoo
// (an independent client) reads from the same tree.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "arrow/ipc/reader.h"
#include "sampletree/sample_tree.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/live/tree_walker.h"

namespace zkarrow {
namespace {

using testing::DiffRows;
using testing::ParseJsonLines;
using testing::ReadZnodeRows;
using testing::RunCommand;

constexpr const char* kUser = "alice:secret";

std::string Quote(const std::string& text) { return "'" + text + "'"; }

class LiveSnapshotTest : public ::testing::Test {
 protected:
  // A failure here would make gtest skip the tests silently, so SetUp()
  // turns a broken fixture into a failure of every test.
  static void SetUpTestSuite() {
    auto cluster =
        zkserver::ZooKeeperCluster::Start({.config = {{"extendedTypesEnabled", "true"}}});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    options.auth = {{"digest", kUser}};
    auto client = zk::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    owner_ = std::move(*client).release();
    BuildTree(*owner_);
    tree_loaded_ = !::testing::Test::HasFatalFailure();
  }

  void SetUp() override {
    ASSERT_NE(owner_, nullptr) << "the shared ZooKeeper fixture failed to start; see above";
    ASSERT_TRUE(tree_loaded_) << "the test tree failed to load; see above";
  }

  static void TearDownTestSuite() {
    delete owner_;
    delete cluster_;
  }

  // The tree the issue names: unicode names, binary and near-1 MB data, a
  // node with 20k+ children, depth 50+, ephemeral, sequential, container and
  // TTL nodes, a digest-protected subtree and world-readable-only nodes.
  static void BuildTree(zk::Client& client) {
    std::vector<sampletree::SampleNode> nodes = {
        {"/t", "root of the test tree"},
        {"/t/unicode"},
        {"/t/unicode/名前", "値"},
        // ZooKeeper refuses paths with surrogate pairs (emoji), so stay in the BMP.
        {"/t/unicode/ü-ñ-€-日本", "😀 in data is fine"},
        {"/t/binary", std::string("\x00\x01\xff\xfe\x80 binary", 11)},
        {"/t/empty"},
        {"/t/big", std::string(1000 * 1000 - 100, 'x')},
        {"/t/wide"},
        {"/t/eph", "mine", true},
    };
    for (int i = 0; i < 20500; ++i)
      nodes.push_back({"/t/wide/c" + std::to_string(i), std::to_string(i)});
    // Long names: 3000 of them in one multiRead would be a 1.4 MB request,
    // past the server's 1 MiB jute.maxbuffer.
    nodes.push_back({"/t/long"});
    for (int i = 0; i < 3000; ++i)
      nodes.push_back({"/t/long/" + std::string(200, 'n') + std::to_string(i), "l"});
    std::string deep = "/t/deep";
    for (int depth = 0; depth < 52; ++depth) {
      nodes.push_back({deep, "level " + std::to_string(depth)});
      deep += "/d";
    }
    Status loaded = sampletree::LoadSampleTree(client, nodes);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();

    auto must = [](auto future) {
      auto result = future.get();
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    };
    for (int i = 0; i < 3; ++i) {
      must(client.Create("/t/seq-", "s", zk::OpenAclUnsafe(),
                         zk::CreateMode::kPersistentSequential));
    }
    must(client.Create("/t/container", "", zk::OpenAclUnsafe(), zk::CreateMode::kContainer));
    must(client.Create("/t/container/child", "keeps the container alive"));
    must(client.Create("/t/ttl", "expires", zk::OpenAclUnsafe(), zk::CreateMode::kPersistentWithTtl,
                       3600 * 1000));
    must(client.Create("/t/secret", "hidden", zk::CreatorAllAcl()));
    must(client.Create("/t/secret/inner", "hidden too", zk::CreatorAllAcl()));
    must(client.Create("/t/readonly", "everyone may read", zk::ReadAclUnsafe()));
    // ZooKeeper's null data (kazoo's create(path, None), zkCli's `create
    // PATH` without data), which getData returns as null, unlike /t/empty's.
    auto null_data =
        RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/support/kazoo_null_data.py " +
                   cluster_->ConnectString() + " create /t/null");
    ASSERT_TRUE(null_data.ok()) << null_data.status().ToString();
  }

  std::filesystem::path Snapshot(const std::string& extra_args, const std::string& root = "/t") {
    std::filesystem::path out = std::filesystem::temp_directory_path() /
                                ("zkarrow-live-" + std::to_string(::getpid()) + ".arrow");
    auto ran =
        RunCommand(std::string(ZKARROW_BINARY) + " snapshot --zk " + cluster_->ConnectString() +
                   " --path " + root + " -o " + out.string() + " " + extra_args + " 2>&1");
    EXPECT_TRUE(ran.ok()) << ran.status().ToString();
    return out;
  }

  std::vector<nlohmann::json> Kazoo(const std::string& auth) {
    auto dump = RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/support/kazoo_dump.py " +
                           cluster_->ConnectString() + " /t" +
                           (auth.empty() ? "" : " --auth " + Quote(auth)));
    EXPECT_TRUE(dump.ok()) << dump.status().ToString();
    return dump.ok() ? ParseJsonLines(*dump) : std::vector<nlohmann::json>{};
  }

  static zkserver::ZooKeeperCluster* cluster_;
  static zk::Client* owner_;  // its session owns /t/eph
  static bool tree_loaded_;
};

zkserver::ZooKeeperCluster* LiveSnapshotTest::cluster_ = nullptr;
zk::Client* LiveSnapshotTest::owner_ = nullptr;
bool LiveSnapshotTest::tree_loaded_ = false;

TEST_F(LiveSnapshotTest, EqualsKazooWithoutAuth) {
  std::filesystem::path out = Snapshot("");
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<nlohmann::json> expected = Kazoo("");
  ASSERT_GT(expected.size(), 20500u);
  EXPECT_EQ(DiffRows(expected, *rows), "");

  // The protected node is a row with its stat and NOAUTH; its child is unseen.
  auto secret = std::find_if(rows->begin(), rows->end(),
                             [](const auto& row) { return row["path"] == "/t/secret"; });
  ASSERT_NE(secret, rows->end());
  EXPECT_EQ((*secret)["error"], "NOAUTH");
  EXPECT_TRUE((*secret)["data_hex"].is_null());
  EXPECT_EQ((*secret)["num_children"], 1);
  std::filesystem::remove(out);
}

TEST_F(LiveSnapshotTest, EqualsKazooWithAuth) {
  std::filesystem::path out = Snapshot(std::string("--auth digest:") + kUser);
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<nlohmann::json> expected = Kazoo(std::string("digest:") + kUser);
  EXPECT_EQ(DiffRows(expected, *rows), "");
  auto inner = std::find_if(rows->begin(), rows->end(),
                            [](const auto& row) { return row["path"] == "/t/secret/inner"; });
  ASSERT_NE(inner, rows->end());
  EXPECT_TRUE((*inner)["error"].is_null());
  std::filesystem::remove(out);
}

std::string MetadataValue(const std::filesystem::path& file, const std::string& key) {
  auto reader = arrow::ipc::FileReader::OpenPath(file);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return "";
  for (const auto& [k, v] : (*reader)->schema().metadata) {
    if (k == key) return v;
  }
  return "(none)";
}

// A node with ZooKeeper's null data is a null data cell without an error,
// live and offline alike (--data-dir reads the same tree from the server's
// files), apart from an empty node's empty cell; the metadata tells such a
// table from a --no-data one.
TEST_F(LiveSnapshotTest, NullDataIsANullCellLiveAndOffline) {
  std::filesystem::path live = Snapshot("--typed");
  auto rows = ReadZnodeRows(live);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(MetadataValue(live, "zkarrow.data"), "read");
  std::filesystem::path offline = std::filesystem::temp_directory_path() /
                                  ("zkarrow-offline-" + std::to_string(::getpid()) + ".arrow");
  auto ran = RunCommand(std::string(ZKARROW_BINARY) + " snapshot --data-dir " +
                        cluster_->data_dir(0).string() + " -o " + offline.string() + " 2>&1");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  auto offline_rows = ReadZnodeRows(offline);
  ASSERT_TRUE(offline_rows.ok()) << offline_rows.status().ToString();
  EXPECT_EQ(MetadataValue(offline, "zkarrow.data"), "read");
  auto row = [](const std::vector<nlohmann::json>& all, const std::string& path) {
    auto found =
        std::find_if(all.begin(), all.end(), [&](const auto& r) { return r["path"] == path; });
    return found == all.end() ? nlohmann::json() : *found;
  };
  for (const auto* table : {&*rows, &*offline_rows}) {
    nlohmann::json null_node = row(*table, "/t/null");
    ASSERT_FALSE(null_node.is_null());
    EXPECT_TRUE(null_node["data_hex"].is_null()) << null_node.dump();
    EXPECT_TRUE(null_node["error"].is_null()) << null_node.dump();
    EXPECT_EQ(null_node["data_length"], 0);
    nlohmann::json empty_node = row(*table, "/t/empty");
    EXPECT_EQ(empty_node["data_hex"], "") << empty_node.dump();
  }
  for (const std::string path : {"/t/null", "/t/empty", "/t/binary"}) {
    nlohmann::json a = row(*rows, path);
    nlohmann::json b = row(*offline_rows, path);
    a.erase("kind");
    b.erase("kind");
    EXPECT_EQ(a, b) << path;
  }
  std::filesystem::path no_data = Snapshot("--no-data");
  EXPECT_EQ(MetadataValue(no_data, "zkarrow.data"), "none");
  for (const auto& file : {live, offline, no_data}) std::filesystem::remove(file);
}

TEST_F(LiveSnapshotTest, KindsAsALiveClientSeesThem) {
  std::filesystem::path out = Snapshot("--sessions 2 --compression zstd");
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::map<std::string, std::string> kinds;
  for (const auto& row : *rows) kinds[row["path"]] = row["kind"];
  EXPECT_EQ(kinds["/t/eph"], "ephemeral");
  // The server hides container and TTL markers from clients.
  EXPECT_EQ(kinds["/t/container"], "persistent");
  EXPECT_EQ(kinds["/t/ttl"], "persistent");
  EXPECT_EQ(kinds["/t/wide/c7"], "persistent");
  std::filesystem::remove(out);
}

TEST_F(LiveSnapshotTest, LargeBatchesStayUnderTheServerRequestLimit) {
  // The server drops a connection that sends more than jute.maxbuffer; a
  // batch of 10,000 long paths must be split, not resent forever.
  std::filesystem::path out = Snapshot("--batch-nodes 10000", "/t/long");
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 3001u);
  std::filesystem::remove(out);
}

TEST_F(LiveSnapshotTest, SinkExceptionWaitsForRequestsInFlight) {
  // A sink that throws (as a builder's bad_alloc would) unwinds through the
  // walker while batches are in flight; the walker must wait for them, since
  // their callbacks write into it. The session stays usable afterwards.
  zk::ClientOptions options;
  options.connect_string = cluster_->ConnectString();
  auto client = zk::Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::vector<zk::Client*> sessions = {client->get()};
  znodes::WalkOptions walk;
  walk.root = "/t/wide";
  walk.nodes_per_batch = 10;
  walk.batches_in_flight_per_session = 16;
  int seen = 0;
  znodes::WalkStats stats;
  EXPECT_THROW(znodes::WalkTree(
                   sessions, walk,
                   [&](const znodes::ZnodeRecord&) -> Status {
                     if (++seen == 100) throw std::runtime_error("sink failed");
                     return Status::Ok();
                   },
                   &stats),
               std::runtime_error);
  EXPECT_EQ(seen, 100);
  auto data = (*client)->GetData("/t/wide/c7").get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "7");
}

TEST_F(LiveSnapshotTest, ExcludeMaxDepthAndNoData) {
  std::filesystem::path out = Snapshot("--exclude '/t/wide' --max-depth 1 --no-data");
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  for (const auto& row : *rows) {
    std::string path = row["path"];
    EXPECT_NE(path.rfind("/t/wide", 0), 0u) << path;
    EXPECT_LE(std::count(path.begin(), path.end(), '/'), 2) << path;
    EXPECT_TRUE(row["data_hex"].is_null()) << path;
    EXPECT_TRUE(row.contains("mzxid")) << path;
  }
  EXPECT_GT(rows->size(), 8u);
  std::filesystem::remove(out);
}

TEST_F(LiveSnapshotTest, UnreachableEnsembleIsAClearFailure) {
  auto port = zkserver::PickFreePort();
  ASSERT_TRUE(port.ok());
  std::string command = std::string(ZKARROW_BINARY) +
                        " snapshot --zk 127.0.0.1:" + std::to_string(*port) +
                        " -o /dev/null 2>&1; echo exit=$?";
  auto output = RunCommand(command);
  ASSERT_TRUE(output.ok());
  EXPECT_NE(output->find("exit=3"), std::string::npos) << *output;
  EXPECT_NE(output->find("127.0.0.1:" + std::to_string(*port)), std::string::npos) << *output;
}

TEST_F(LiveSnapshotTest, MissingRootIsAClearFailure) {
  std::string command = std::string(ZKARROW_BINARY) + " snapshot --zk " +
                        cluster_->ConnectString() +
                        " --path /no/such -o /dev/null 2>&1; echo exit=$?";
  auto output = RunCommand(command);
  ASSERT_TRUE(output.ok());
  EXPECT_NE(output->find("NONODE"), std::string::npos) << *output;
  EXPECT_NE(output->find("exit=1"), std::string::npos) << *output;
}

}  // namespace
}  // namespace zkarrow
