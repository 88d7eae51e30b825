// diff, restore and copy against real ZooKeeper servers, with kazoo as the
// oracle of what the target holds afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "sampletree/sample_tree.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "treesync/diff.h"
#include "treesync/restore.h"
#include "treesync/source.h"
#include "zk/client.h"
#include "zk/protocol.h"
#include "zk/sync_client.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow {
namespace {

using testing::ParseJsonLines;
using testing::RunCommand;

constexpr const char* kUser = "alice:secret";
const std::string kAuth = std::string("digest:") + kUser;
constexpr int kWideChildren = 20000;
constexpr int kDepth = 60;

std::string Quote(const std::string& text) { return "'" + text + "'"; }

// 94343 as the CLI's summaries print it: "94,343".
std::string WithThousands(size_t number) {
  std::string digits = std::to_string(number);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

std::filesystem::path TempPath(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("zkarrow-treesync-" + std::to_string(::getpid()) + "-" + name);
}

// `zkarrow ARGS` through the shell: its exit status and its stdout+stderr.
struct Ran {
  int exit = -1;
  std::string output;
};
Ran Zkarrow(const std::string& args) {
  const std::filesystem::path log = TempPath("log");
  const std::string command =
      std::string(ZKARROW_BINARY) + " " + args + " > " + log.string() + " 2>&1; echo $?";
  auto ran = RunCommand(command);
  Ran result;
  if (!ran.ok()) {
    result.output = ran.status().ToString();
    return result;
  }
  result.exit = std::stoi(*ran);
  auto text = RunCommand("cat " + log.string());
  if (text.ok()) result.output = *text;
  std::filesystem::remove(log);
  return result;
}

// The tree as kazoo reads it (data, ACL, shape, ephemeral), /zookeeper left out.
std::vector<nlohmann::json> Kazoo(const std::string& hosts, const std::string& root = "/") {
  auto dump = RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/treesync/kazoo_tree.py " +
                         hosts + " " + root + " --auth " + Quote(kAuth) + " --skip /zookeeper");
  EXPECT_TRUE(dump.ok()) << dump.status().ToString();
  return dump.ok() ? ParseJsonLines(*dump) : std::vector<nlohmann::json>{};
}

std::vector<nlohmann::json> WithoutEphemerals(std::vector<nlohmann::json> rows) {
  std::erase_if(rows, [](const nlohmann::json& row) { return row["ephemeral"].get<bool>(); });
  // The parents of skipped ephemeral nodes have fewer children on the target.
  for (auto& row : rows) row.erase("num_children");
  return rows;
}

std::string FirstDifference(const std::vector<nlohmann::json>& expected,
                            const std::vector<nlohmann::json>& actual) {
  if (expected.size() != actual.size()) {
    std::string text = "row counts differ: " + std::to_string(expected.size()) + " vs " +
                       std::to_string(actual.size());
    for (size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
      if (expected[i]["path"] != actual[i]["path"]) {
        return text + "; first at " + expected[i]["path"].dump() + " vs " +
               actual[i]["path"].dump();
      }
    }
    return text;
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) {
      return "row " + std::to_string(i) + ": " + expected[i].dump().substr(0, 300) + " vs " +
             actual[i].dump().substr(0, 300);
    }
  }
  return "";
}

std::unique_ptr<zk::Client> Connect(const std::string& hosts, bool auth = true) {
  zk::ClientOptions options;
  options.connect_string = hosts;
  if (auth) options.auth = {{"digest", kUser}};
  auto client = zk::Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

template <typename Future>
void Must(Future future) {
  auto result = future.get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
}

// "/" and the running test's name: where a test of a server that the
// suite's tests share works, so that none sees another's nodes.
std::string TestRoot() {
  return "/" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// What CopyAndDiff passes: `shared` to both commands (--auth, --no-acl),
// `write` to the copy or restore only (--mode, --max-request-bytes).
struct CopyArgs {
  std::string verb = "copy";  // or "restore", from a file
  std::string shared;
  std::string write;
};

// `VERB FROM TO`, then, when it succeeded, `diff FROM TO`, which must find
// the two equal. Returns the copy's run, for its summary.
Ran CopyAndDiff(const std::string& from, const std::string& to, const CopyArgs& args = {}) {
  Ran copy = Zkarrow(args.verb + " " + from + " " + to + " " + args.shared + " " + args.write);
  EXPECT_EQ(copy.exit, 0) << copy.output;
  if (copy.exit != 0) return copy;
  Ran diff = Zkarrow("diff " + from + " " + to + " " + args.shared);
  EXPECT_EQ(diff.exit, 0) << "after " << args.verb << ": " << diff.output;
  return copy;
}

// Kinds of the target as its own data directory has them (a live client
// cannot tell containers and TTL nodes from persistent ones).
std::map<std::string, std::string> OfflineKinds(const std::filesystem::path& data_dir) {
  std::map<std::string, std::string> kinds;
  Status read = znodes::ReadDataDir(
      {.dir = data_dir},
      [&](const znodes::ZnodeRecord& record) {
        kinds[std::string(record.path)] = std::string(znodes::NodeKindName(record.kind));
        return Status::Ok();
      },
      nullptr);
  EXPECT_TRUE(read.ok()) << read.ToString();
  return kinds;
}

// A source server holding the tree the issue lists, its data-directory
// snapshot as a file, and a target server the tests share, each writing
// below a root of its own (Path()); a test that needs a server otherwise
// configured, or one it may kill, starts its own.
class TreeSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto source = zkserver::ZooKeeperCluster::Start({.config = {{"extendedTypesEnabled", "true"}}});
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    source_ = std::move(*source).release();
    owner_ = Connect(source_->ConnectString()).release();
    ASSERT_NE(owner_, nullptr);
    BuildTree(*owner_);
    if (::testing::Test::HasFatalFailure()) return;
    // The offline snapshot knows containers and TTL nodes exactly.
    Ran snapshot = Zkarrow("snapshot --data-dir " + source_->data_dir(0).string() + " -o " +
                           SourceFile().string());
    ASSERT_EQ(snapshot.exit, 0) << snapshot.output;
    target_ = StartTarget().release();
    ASSERT_NE(target_, nullptr);
    ready_ = true;
  }

  static void TearDownTestSuite() {
    delete owner_;
    delete source_;
    delete target_;
    std::filesystem::remove(SourceFile());
  }

  void SetUp() override {
    ASSERT_TRUE(ready_) << "the source fixture failed; see above";
    auto client = Connect(target_->ConnectString(), /*auth=*/false);
    ASSERT_NE(client, nullptr);
    Must(client->Create(TestRoot(), ""));
  }

  // `path` ("/a/b") below this test's root on the shared target.
  static std::string Path(const std::string& path) { return TestRoot() + path; }

  static std::filesystem::path SourceFile() { return TempPath("source.arrow"); }

  // Unicode names, a 1 MB value, 20k children, depth 60, ephemeral,
  // sequential, container and TTL nodes, digest ACLs that deny the world,
  // one of them denying even the restorer the creation of children.
  static void BuildTree(zk::Client& client) {
    const std::vector<zk::Acl> alice_only = zk::CreatorAllAcl();
    const std::vector<zk::Acl> alice_reads = {{zk::perms::kRead, "auth", ""}};
    std::vector<sampletree::SampleNode> nodes = {
        {"/t", "root of the test tree"},
        {"/t/unicode"},
        {"/t/unicode/名前", "値"},
        {"/t/unicode/ü-ñ-€-日本", "😀 in data"},
        {"/t/binary", std::string("\x00\x01\xff\xfe\x80 binary", 11)},
        {"/t/empty"},
        {"/t/big", std::string(1000 * 1000, 'x')},
        {"/t/wide"},
        {"/t/eph", "mine", true},
    };
    for (int i = 0; i < kWideChildren; ++i)
      nodes.push_back({"/t/wide/c" + std::to_string(i), std::to_string(i)});
    std::string deep = "/t/deep";
    for (int depth = 0; depth < kDepth; ++depth) {
      nodes.push_back({deep, "level " + std::to_string(depth)});
      deep += "/d";
    }
    Status loaded = sampletree::LoadSampleTree(client, nodes);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
    for (int i = 0; i < 3; ++i) {
      Must(client.Create("/t/seq-", "s", zk::OpenAclUnsafe(),
                         zk::CreateMode::kPersistentSequential));
    }
    Must(client.Create("/t/container", "", zk::OpenAclUnsafe(), zk::CreateMode::kContainer));
    Must(client.Create("/t/container/child", "keeps the container alive"));
    Must(client.Create("/t/ttl", "expires", zk::OpenAclUnsafe(), zk::CreateMode::kPersistentWithTtl,
                       3600 * 1000));
    Must(client.Create("/t/secret", "hidden", alice_only));
    Must(client.Create("/t/secret/inner", "hidden too", alice_only));
    // Read-only even for alice: its children must exist before this ACL.
    Must(client.Create("/t/locked", "frozen", zk::OpenAclUnsafe()));
    Must(client.Create("/t/locked/a", "under a read-only parent", alice_only));
    Must(client.Create("/t/locked/a/b", "deeper", alice_only));
    Must(client.SetAcl("/t/locked", alice_reads, -1));
    Must(client.SetAcl("/t/locked/a", alice_reads, -1));
    // ZooKeeper's null data (kazoo's create(path, None), zkCli's `create
    // PATH` without data), beside empty and plain data.
    auto null_data =
        RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/support/kazoo_null_data.py " +
                   source_->ConnectString() + " create /t/nulls /t/nulls/a");
    ASSERT_TRUE(null_data.ok()) << null_data.status().ToString();
    Must(client.Create("/t/nulls/b", ""));
    Must(client.Create("/t/nulls/c", "x"));
  }

  static std::unique_ptr<zkserver::ZooKeeperCluster> StartTarget(bool extended = true) {
    zkserver::ClusterOptions options;
    if (extended) options.config = {{"extendedTypesEnabled", "true"}};
    auto cluster = zkserver::ZooKeeperCluster::Start(options);
    EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
    return cluster.ok() ? std::move(*cluster) : nullptr;
  }

  static std::string Zk(const zkserver::ZooKeeperCluster& cluster, const std::string& path = "/") {
    return "zk://" + cluster.ConnectString() + path;
  }

  // Waits (bounded) until `path` has at least `count` descendants; returns
  // how many it saw then, or 0 if it never did.
  static int32_t WaitForDescendants(zk::Client& client, const std::string& path, int32_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      auto seen = client.GetAllChildrenNumber(path).get();
      if (seen.ok() && *seen >= count) return *seen;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return 0;
  }

  static zkserver::ZooKeeperCluster* source_;
  static zk::Client* owner_;  // its session owns /t/eph
  static zkserver::ZooKeeperCluster* target_;
  static bool ready_;
};

zkserver::ZooKeeperCluster* TreeSyncTest::source_ = nullptr;
zkserver::ZooKeeperCluster* TreeSyncTest::target_ = nullptr;
zk::Client* TreeSyncTest::owner_ = nullptr;
bool TreeSyncTest::ready_ = false;

TEST_F(TreeSyncTest, RestoreIntoAnEmptySubtreeEqualsTheSource) {
  Ran restore = Zkarrow("restore " + SourceFile().string() + " " + Zk(*target_, TestRoot()) +
                        " --acl --auth " + kAuth);
  ASSERT_EQ(restore.exit, 0) << restore.output;
  EXPECT_NE(restore.output.find("skipped 1 ephemeral"), std::string::npos) << restore.output;

  // kazoo: data, ACLs and shape equal (the ephemeral node excepted).
  std::vector<nlohmann::json> expected = WithoutEphemerals(Kazoo(source_->ConnectString()));
  std::vector<nlohmann::json> actual =
      WithoutEphemerals(Kazoo(target_->ConnectString(), TestRoot()));
  ASSERT_GT(expected.size(), static_cast<size_t>(kWideChildren + kDepth));
  EXPECT_EQ(FirstDifference(expected, actual), "");
  auto nulls = std::find_if(actual.begin(), actual.end(),
                            [](const nlohmann::json& row) { return row["path"] == "/t/nulls"; });
  ASSERT_NE(nulls, actual.end());
  EXPECT_TRUE((*nulls)["data_hex"].is_null()) << "null data restored as " << nulls->dump();

  // Kinds, from the target's own data directory; sequential names as named.
  std::map<std::string, std::string> kinds = OfflineKinds(target_->data_dir(0));
  EXPECT_EQ(kinds[Path("/t/container")], "container");
  EXPECT_EQ(kinds[Path("/t/ttl")], "ttl");
  EXPECT_EQ(kinds[Path("/t/wide/c7")], "persistent");
  std::map<std::string, std::string> source_kinds = OfflineKinds(source_->data_dir(0));
  std::vector<std::string> sequential;
  for (const auto& [path, kind] : source_kinds) {
    if (path.starts_with("/t/seq-")) sequential.push_back(path);
  }
  ASSERT_EQ(sequential.size(), 3u);
  for (const std::string& path : sequential) EXPECT_EQ(kinds.count(Path(path)), 1u) << path;
  EXPECT_EQ(kinds.count(Path("/t/eph")), 0u);

  // diff of the two: equal (exit 0), from the file and from the live source.
  Ran diff = Zkarrow("diff " + SourceFile().string() + " " + Zk(*target_, TestRoot()) + " --auth " +
                     kAuth + " --format json");
  EXPECT_EQ(diff.exit, 1) << diff.output;  // the ephemeral node exists only in the source
  EXPECT_NE(diff.output.find("1 differences: removed 1"), std::string::npos) << diff.output;
  Ran live_diff = Zkarrow("diff " + Zk(*source_, "/t/wide") + " " + Zk(*target_, Path("/t/wide")) +
                          " --auth " + kAuth);
  EXPECT_EQ(live_diff.exit, 0) << live_diff.output;
  Ran whole = Zkarrow("diff " + Zk(*source_, "/t") + " " + Zk(*target_, Path("/t")) + " --auth " +
                      kAuth + " --exclude /eph");
  EXPECT_EQ(whole.exit, 0) << whole.output;

  // A second restore does nothing.
  Ran again = Zkarrow("restore " + SourceFile().string() + " " + Zk(*target_, TestRoot()) +
                      " --auth " + kAuth);
  ASSERT_EQ(again.exit, 0) << again.output;
  EXPECT_NE(again.output.find(": 0 created, 0 updated, 0 ACLs set, 0 deleted"), std::string::npos)
      << again.output;
}

TEST_F(TreeSyncTest, DiffReportsExactlyTheChangesAndMirrorUndoesThem) {
  const std::string source = Zk(*source_, "/t/deep/d/d");
  const std::string copy_target = Zk(*target_, Path("/copy"));
  // Read by two sessions: the same tree.
  CopyAndDiff(source, copy_target, {.shared = "--auth " + kAuth, .write = "--sessions 2"});
  ASSERT_FALSE(HasFailure());

  auto client = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  Must(client->Create(Path("/copy/added"), "new"));
  Must(client->Create(Path("/copy/d/added-too"), "new"));
  Must(client->SetData(Path("/copy/d/d"), "changed", -1));
  // Still administrable, so that restore may set it back.
  const int32_t no_delete = zk::perms::kAll & ~zk::perms::kDelete;
  Must(client->SetAcl(Path("/copy/d/d/d"), {{no_delete, "world", "anyone"}}, -1));
  // Removing a node removes its subtree: delete the deepest one.
  std::string deepest = Path("/copy");
  for (int depth = 3; depth < kDepth; ++depth) deepest += "/d";
  ASSERT_TRUE(client->Delete(deepest, -1).get().ok());

  const std::filesystem::path rows_file = TempPath("diff.jsonl");
  Ran diff = Zkarrow("diff " + source + " " + copy_target + " --auth " + kAuth +
                     " --format json -o " + rows_file.string());
  ASSERT_EQ(diff.exit, 1) << diff.output;
  auto text = RunCommand("cat " + rows_file.string());
  ASSERT_TRUE(text.ok());
  std::vector<nlohmann::json> rows = ParseJsonLines(*text);
  std::filesystem::remove(rows_file);
  std::map<std::string, std::string> changes;
  for (const auto& row : rows) changes[row["path"]] = row["change"];
  const std::string tail = deepest.substr(Path("/copy").size());
  const std::map<std::string, std::string> expected = {{"/added", "added"},
                                                       {"/d/added-too", "added"},
                                                       {"/d/d", "data"},
                                                       {"/d/d/d", "acl"},
                                                       {tail, "removed"}};
  EXPECT_EQ(changes, expected) << *text;
  EXPECT_EQ(rows.size(), expected.size());
  // Read with three sessions a side: the same rows.
  Ran with_sessions = Zkarrow("diff " + source + " " + copy_target + " --auth " + kAuth +
                              " --sessions 3 --format json -o " + rows_file.string());
  ASSERT_EQ(with_sessions.exit, 1) << with_sessions.output;
  auto text3 = RunCommand("cat " + rows_file.string());
  ASSERT_TRUE(text3.ok());
  EXPECT_EQ(*text3, *text);
  std::filesystem::remove(rows_file);
  // The same rows as the diff table in an Arrow file (-o FILE's default).
  const std::filesystem::path table_file = TempPath("diff.arrow");
  Ran as_arrow = Zkarrow("diff " + source + " " + copy_target + " --auth " + kAuth + " -o " +
                         table_file.string());
  ASSERT_EQ(as_arrow.exit, 1) << as_arrow.output;
  auto reader = arrow::ipc::FileReader::OpenPath(table_file);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->schema(), treesync::DiffTableSchema());
  int64_t table_rows = 0;
  for (int b = 0; b < (*reader)->num_batches(); ++b) {
    auto batch = (*reader)->ReadBatch(b);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    table_rows += batch->length;
  }
  EXPECT_EQ(table_rows, static_cast<int64_t>(expected.size()));
  std::filesystem::remove(table_file);

  Ran dry = Zkarrow("copy " + source + " " + copy_target + " --auth " + kAuth +
                    " --mode mirror --dry-run --format json");
  ASSERT_EQ(dry.exit, 0) << dry.output;
  EXPECT_NE(dry.output.find("would skip"), std::string::npos) << dry.output;
  Ran unchanged = Zkarrow("diff " + source + " " + copy_target + " --auth " + kAuth);
  EXPECT_EQ(unchanged.exit, 1) << "the dry run wrote something: " << unchanged.output;

  Ran mirror =
      CopyAndDiff(source, copy_target, {.shared = "--auth " + kAuth, .write = "--mode mirror"});
  EXPECT_NE(mirror.output.find(": 1 created, 1 updated, 1 ACLs set, 2 deleted"), std::string::npos)
      << mirror.output;
  Ran again = Zkarrow("copy " + source + " " + copy_target + " --auth " + kAuth + " --mode mirror");
  ASSERT_EQ(again.exit, 0) << again.output;
  EXPECT_NE(again.output.find(": 0 created, 0 updated, 0 ACLs set, 0 deleted"), std::string::npos)
      << again.output;
}

// ZooKeeper's null data is not empty data: copy (streaming into an empty
// target, and sorted) writes it as null, diff tells the two apart from live
// sources and from files, and a --no-data file's null cells still mean "not
// read". (Restore from the offline snapshot: RestoreIntoAnEmptySubtree...)
TEST_F(TreeSyncTest, NullDataIsCopiedAsNullAndDiffersFromEmptyData) {
  const std::string source = Zk(*source_, "/t/nulls");
  const std::string copied = Zk(*target_, Path("/n"));
  std::vector<nlohmann::json> expected = Kazoo(source_->ConnectString(), "/t/nulls");
  ASSERT_EQ(expected.size(), 4u);
  ASSERT_TRUE(expected[0]["data_hex"].is_null()) << expected[0].dump();
  CopyAndDiff(source, copied, {.shared = "--auth " + kAuth});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(FirstDifference(expected, Kazoo(target_->ConnectString(), Path("/n"))), "");

  // Null made empty on the target: two data differences, both ways, live
  // and from a snapshot file.
  auto client = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  Must(client->SetData(Path("/n"), "", -1));
  Must(client->SetData(Path("/n/a"), "", -1));
  const std::filesystem::path rows_file = TempPath("null-diff.jsonl");
  Ran diff = Zkarrow("diff " + source + " " + copied + " --auth " + kAuth + " --format json -o " +
                     rows_file.string());
  ASSERT_EQ(diff.exit, 1) << diff.output;
  auto text = RunCommand("cat " + rows_file.string());
  ASSERT_TRUE(text.ok());
  std::map<std::string, std::string> changes;
  for (const auto& row : ParseJsonLines(*text)) changes[row["path"]] = row["change"];
  EXPECT_EQ(changes, (std::map<std::string, std::string>{{"/", "data"}, {"/a", "data"}})) << *text;
  std::filesystem::remove(rows_file);
  const std::filesystem::path file = TempPath("nulls.arrow");
  Ran snapshot =
      Zkarrow("snapshot --zk " + source_->ConnectString() + " --path /t/nulls -o " + file.string());
  ASSERT_EQ(snapshot.exit, 0) << snapshot.output;
  Ran from_file = Zkarrow("diff " + file.string() + " " + copied + " --auth " + kAuth);
  EXPECT_EQ(from_file.exit, 1) << from_file.output;
  EXPECT_NE(from_file.output.find("2 differences: data 2"), std::string::npos) << from_file.output;
  Ran no_data = Zkarrow("snapshot --zk " + source_->ConnectString() +
                        " --path /t/nulls --no-data -o " + file.string());
  ASSERT_EQ(no_data.exit, 0) << no_data.output;
  Ran unread = Zkarrow("diff " + file.string() + " " + copied + " --auth " + kAuth);
  EXPECT_EQ(unread.exit, 0) << unread.output;

  // The sorted path (the target's root has children) sets them back to null.
  Ran update = Zkarrow("copy " + source + " " + copied + " --auth " + kAuth);
  ASSERT_EQ(update.exit, 0) << update.output;
  EXPECT_NE(update.output.find(": 0 created, 2 updated"), std::string::npos) << update.output;
  EXPECT_EQ(FirstDifference(expected, Kazoo(target_->ConnectString(), Path("/n"))), "");
  std::filesystem::remove(file);
}

// Into an empty target, copy writes records as the walk reads them (no
// sort): parents first, restrictive ACLs last, the target's root compared
// when it exists, nothing written when the source's root is missing.
TEST_F(TreeSyncTest, CopyIntoAnEmptyTargetEqualsTheSource) {
  // Its root missing: created with its ancestors.
  Ran wide = Zkarrow("copy " + Zk(*source_, "/t/wide") + " " + Zk(*target_, Path("/a/wide")) +
                     " --auth " + kAuth);
  ASSERT_EQ(wide.exit, 0) << wide.output;
  EXPECT_NE(wide.output.find(": " + WithThousands(kWideChildren + 1) + " created"),
            std::string::npos)
      << wide.output;
  EXPECT_EQ(FirstDifference(Kazoo(source_->ConnectString(), "/t/wide"),
                            Kazoo(target_->ConnectString(), Path("/a/wide"))),
            "");
  // /t/secret denies the world creating children: its ACL is set after them.
  Ran secret = Zkarrow("copy " + Zk(*source_, "/t/secret") + " " + Zk(*target_, Path("/a/secret")) +
                       " --auth " + kAuth);
  ASSERT_EQ(secret.exit, 0) << secret.output;
  EXPECT_NE(secret.output.find(": 2 created, 0 updated, 1 ACLs set"), std::string::npos)
      << secret.output;
  std::vector<nlohmann::json> expected = Kazoo(source_->ConnectString(), "/t/secret");
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(FirstDifference(expected, Kazoo(target_->ConnectString(), Path("/a/secret"))), "");

  // Its root present without children: compared (its data set), the rest created.
  auto client = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  Must(client->Create(Path("/u"), "other data"));
  Ran into_root = CopyAndDiff(Zk(*source_, "/t/deep"), Zk(*target_, Path("/u")),
                              {.shared = "--auth " + kAuth, .write = "--sessions 2"});
  EXPECT_NE(into_root.output.find(": " + std::to_string(kDepth - 1) + " created, 1 updated"),
            std::string::npos)
      << into_root.output;

  // A source root that does not exist: an error, and nothing written.
  Ran missing = Zkarrow("copy " + Zk(*source_, "/nothing-here") + " " + Zk(*target_, Path("/b/c")) +
                        " --auth " + kAuth);
  EXPECT_NE(missing.exit, 0) << missing.output;
  EXPECT_NE(missing.output.find("NONODE"), std::string::npos) << missing.output;
  auto b = client->Exists(Path("/b")).get();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE(b->has_value()) << "the failed copy created /b";
}

// kill -9 of a copy streaming into an empty target: the target is no
// longer empty, and running the copy again (the sorted path) finishes it.
TEST_F(TreeSyncTest, AKilledStreamingCopyConvergesWhenRunAgain) {
  auto client = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  const std::filesystem::path log = TempPath("killed-copy.log");
  const std::string source = Zk(*source_, "/t/wide");
  const std::string copy_target = Zk(*target_, Path("/w"));
  // Small sequential batches, so that the kill lands in the middle.
  auto process = testing::ZkarrowProcess::Start(
      "copy", {source, copy_target, "--auth", kAuth, "--batch-ops", "5", "--in-flight", "1"}, log);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  ASSERT_GE(WaitForDescendants(*client, Path("/w"), 500), 500) << "the copy never got going";
  ASSERT_EQ(::kill((*process)->pid(), SIGKILL), 0);
  ASSERT_FALSE((*process)->Wait().ok());
  auto partial = client->GetAllChildrenNumber(Path("/w")).get();
  ASSERT_TRUE(partial.ok());
  EXPECT_LT(*partial, kWideChildren) << "the copy finished before it was killed";

  Ran again = Zkarrow("copy " + source + " " + copy_target + " --auth " + kAuth);
  ASSERT_EQ(again.exit, 0) << again.output;
  EXPECT_EQ(FirstDifference(Kazoo(source_->ConnectString(), "/t/wide"),
                            Kazoo(target_->ConnectString(), Path("/w"))),
            "");
  std::filesystem::remove(log);
}

// Records made by a test, handed out in order: a source for Restore.
class VectorStream final : public treesync::RecordStream {
 public:
  explicit VectorStream(std::vector<treesync::Record> records) : records_(std::move(records)) {}
  Result<const treesync::Record*> Next() override {
    return next_ < records_.size() ? &records_[next_++] : nullptr;
  }

 private:
  std::vector<treesync::Record> records_;
  size_t next_ = 0;
};

// A writer changes a node whose update is planned in a later batch: that
// batch fails on the version, is re-read and re-planned.
TEST_F(TreeSyncTest, AConcurrentWriterMakesItsBatchReplan) {
  auto client = Connect(target_->ConnectString());
  auto writer = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  ASSERT_NE(writer, nullptr);
  std::vector<sampletree::SampleNode> old_nodes = {{Path("/cw"), ""}};
  for (int i = 0; i < 500; ++i)
    old_nodes.push_back({Path("/cw/n") + std::to_string(1000 + i), "old"});
  ASSERT_TRUE(sampletree::LoadSampleTree(*client, old_nodes).ok());

  std::vector<treesync::Record> records;
  for (const auto& node : old_nodes) {
    treesync::Record record;
    record.path = node.path == Path("/cw") ? "/" : node.path.substr(Path("/cw").size());
    record.data = node.path == Path("/cw") ? "" : "new";
    record.stat = zk::Stat{};
    records.push_back(std::move(record));
  }
  VectorStream source(std::move(records));

  treesync::RestoreOptions options;
  options.restore_acl = false;
  options.max_ops_per_batch = 50;
  options.batches_in_flight = 1;
  bool wrote = false;
  options.progress = [&](const treesync::RestoreStats&) {
    if (wrote) return;
    wrote = true;  // after the first batch went out; the last is still to come
    auto set = writer->SetData(Path("/cw/n1499"), "theirs", -1).get();
    ASSERT_TRUE(set.ok()) << set.status().ToString();
  };
  treesync::RestoreStats stats;
  Status restored = treesync::Restore(source, *client, Path("/cw"), options, &stats);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_TRUE(wrote);
  EXPECT_EQ(stats.replanned_batches, 1);
  EXPECT_EQ(stats.updated, 500);
  // Re-planned from the node as the writer left it (version 1), then set.
  auto data = client->GetData(Path("/cw/n1499")).get();
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->data, "new");
  EXPECT_EQ(data->stat.version, 2);
}

// A node whose data and ACL both differ, whose batch fails because a writer
// set the source's data meanwhile: re-planned, only its ACL is left to set,
// and that write makes it one of the nodes written. The summary's count
// used to miss it (its ACL counted as following a data write that never
// came), and could count a node twice.
TEST_F(TreeSyncTest, ANodeReplannedToItsAclAloneCountsOnce) {
  auto client = Connect(target_->ConnectString());
  auto writer = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  ASSERT_NE(writer, nullptr);
  // Nine full batches of ten, and /n1090 alone in the tenth.
  constexpr int kNodes = 91;
  std::vector<sampletree::SampleNode> old_nodes = {{Path("/acls"), ""}};
  for (int i = 0; i < kNodes; ++i) {
    old_nodes.push_back({Path("/acls/n") + std::to_string(1000 + i), "old"});
  }
  ASSERT_TRUE(sampletree::LoadSampleTree(*client, old_nodes).ok());
  const std::vector<zk::Acl> source_acl = {
      {zk::perms::kAll & ~zk::perms::kDelete, "world", "anyone"}};
  std::vector<treesync::Record> records;
  for (const auto& node : old_nodes) {
    treesync::Record record;
    const bool root = node.path == Path("/acls");
    record.path = root ? "/" : node.path.substr(Path("/acls").size());
    record.data = root ? "" : "new";
    record.acl = root ? zk::OpenAclUnsafe() : source_acl;
    record.stat = zk::Stat{};
    records.push_back(std::move(record));
  }
  VectorStream source(std::move(records));

  treesync::RestoreOptions options;
  options.max_ops_per_batch = 10;
  options.batches_in_flight = 1;
  bool wrote = false;
  options.progress = [&](const treesync::RestoreStats&) {
    if (wrote) return;
    wrote = true;  // after the first batch went out; /n1090's is still to come
    auto set = writer->SetData(Path("/acls/n1090"), "new", -1).get();
    ASSERT_TRUE(set.ok()) << set.status().ToString();
  };
  treesync::RestoreStats stats;
  Status restored = treesync::Restore(source, *client, Path("/acls"), options, &stats);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  EXPECT_TRUE(wrote);
  EXPECT_EQ(stats.replanned_batches, 1);
  EXPECT_EQ(stats.updated, kNodes - 1);
  EXPECT_EQ(stats.acls_set, kNodes);
  EXPECT_EQ(stats.nodes_written, kNodes);
  auto acl = client->GetAcl(Path("/acls/n1090")).get();
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  EXPECT_EQ(acl->acls, source_acl);
}

TEST_F(TreeSyncTest, AtomicIsAllOrNothingAndRefusesWhatDoesNotFit) {
  // A server without extended types refuses the TTL node: the whole
  // transaction fails, nothing is written, and the error says why.
  auto plain = StartTarget(/*extended=*/false);
  ASSERT_NE(plain, nullptr);
  // Over the limit (20k nodes and a 1 MB value): refused before writing.
  Ran refused = Zkarrow("restore " + SourceFile().string() + " " + Zk(*plain, "/") +
                        " --atomic --auth " + kAuth);
  EXPECT_EQ(refused.exit, 1) << refused.output;
  EXPECT_NE(refused.output.find("at most 1048575 bytes (jute.maxbuffer)"), std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("nothing was written"), std::string::npos) << refused.output;
  EXPECT_EQ(Kazoo(plain->ConnectString()).size(), 1u) << "only / should exist";

  // Under the limit: a small tree with a TTL node, refused as a whole.
  auto extended = StartTarget();
  ASSERT_NE(extended, nullptr);
  auto client = Connect(extended->ConnectString());
  ASSERT_NE(client, nullptr);
  Must(client->Create("/s", "root"));
  for (int i = 0; i < 20; ++i) Must(client->Create("/s/n" + std::to_string(i), "v"));
  Must(client->Create("/s/ttl", "t", zk::OpenAclUnsafe(), zk::CreateMode::kPersistentWithTtl,
                      60000));
  Must(client->Create("/s/n3/c", "", zk::OpenAclUnsafe(), zk::CreateMode::kContainer));
  const std::filesystem::path ttl_file = TempPath("ttl.arrow");
  Ran offline =
      Zkarrow("snapshot --data-dir " + extended->data_dir(0).string() + " -o " + ttl_file.string());
  ASSERT_EQ(offline.exit, 0) << offline.output;
  Ran failed = Zkarrow("restore " + ttl_file.string() + " " + Zk(*plain, "/") + " --atomic");
  EXPECT_EQ(failed.exit, 1) << failed.output;
  EXPECT_NE(failed.output.find("extendedTypesEnabled=true"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("nothing was changed"), std::string::npos) << failed.output;
  EXPECT_EQ(Kazoo(plain->ConnectString()).size(), 1u) << "the transaction was not atomic";
  // Below missing ancestors: they are part of the transaction, not created before it.
  Ran below =
      Zkarrow("restore " + ttl_file.string() + " " + Zk(*plain, "/anc1/anc2/atom") + " --atomic");
  EXPECT_EQ(below.exit, 1) << below.output;
  EXPECT_NE(below.output.find("nothing was changed"), std::string::npos) << below.output;
  EXPECT_EQ(Kazoo(plain->ConnectString()).size(), 1u) << "the ancestors were created outside it";

  // The same without the TTL node's refusal: all of it, in one transaction.
  Ran applied =
      Zkarrow("restore " + ttl_file.string() + " " + Zk(*target_, TestRoot()) + " --atomic");
  EXPECT_EQ(applied.exit, 0) << applied.output;
  EXPECT_NE(applied.output.find("in 1 batches"), std::string::npos) << applied.output;
  EXPECT_EQ(FirstDifference(Kazoo(extended->ConnectString(), "/s"),
                            Kazoo(target_->ConnectString(), Path("/s"))),
            "");
  std::map<std::string, std::string> kinds = OfflineKinds(target_->data_dir(0));
  EXPECT_EQ(kinds[Path("/s/ttl")], "ttl");
  EXPECT_EQ(kinds[Path("/s/n3/c")], "container");
  // And applied below missing ancestors, still one transaction.
  Ran nested = Zkarrow("restore " + ttl_file.string() + " " +
                       Zk(*target_, Path("/anc1/anc2/atom")) + " --atomic");
  EXPECT_EQ(nested.exit, 0) << nested.output;
  EXPECT_NE(nested.output.find("in 1 batches"), std::string::npos) << nested.output;
  EXPECT_EQ(FirstDifference(Kazoo(extended->ConnectString(), "/s"),
                            Kazoo(target_->ConnectString(), Path("/anc1/anc2/atom/s"))),
            "");
  std::filesystem::remove(ttl_file);
}

// A snapshot taken without the credentials to read a node holds it as a
// NOAUTH row without children. That subtree is unknown, not empty: mirror
// leaves it (and its 50 children) alone and says why, diff says it could
// not compare it, and copy, read without credentials, does not create it.
TEST_F(TreeSyncTest, AnUnreadableSubtreeOfTheSourceIsLeftAlone) {
  constexpr int kChildren = 50;
  auto alice = Connect(target_->ConnectString());
  ASSERT_NE(alice, nullptr);
  Must(alice->Create(Path("/w"), "top"));
  Must(alice->Create(Path("/w/open"), "readable"));
  Must(alice->Create(Path("/w/sec"), "alice's", zk::CreatorAllAcl()));
  for (int i = 0; i < kChildren; ++i) {
    Must(alice->Create(Path("/w/sec/c") + std::to_string(i), "x", zk::CreatorAllAcl()));
  }
  // Sorts between /w/sec and its children: still compared and restored.
  Must(alice->Create(Path("/w/sec-next"), "readable"));

  const std::filesystem::path anonymous = TempPath("anonymous.arrow");
  Ran snapshot = Zkarrow("snapshot --zk " + target_->ConnectString() + " --path " + Path("/w") +
                         " --acl -o " + anonymous.string());
  ASSERT_EQ(snapshot.exit, 0) << snapshot.output;
  Must(alice->SetData(Path("/w/sec-next"), "changed since", -1));

  Ran diff =
      Zkarrow("diff " + anonymous.string() + " " + Zk(*target_, Path("/w")) + " --auth " + kAuth);
  EXPECT_EQ(diff.exit, 4) << diff.output;
  EXPECT_EQ(diff.output.find("removed"), std::string::npos) << diff.output;
  EXPECT_NE(diff.output.find("could not compare 1 unreadable subtree (/sec: NOAUTH in " +
                             anonymous.string() + ")"),
            std::string::npos)
      << diff.output;
  EXPECT_NE(diff.output.find("elsewhere 1 differences: data 1"), std::string::npos) << diff.output;

  Ran restore = Zkarrow("restore " + anonymous.string() + " " + Zk(*target_, Path("/w")) +
                        " --mode mirror --auth " + kAuth);
  ASSERT_EQ(restore.exit, 0) << restore.output;
  EXPECT_NE(restore.output.find(": 0 created, 1 updated, 0 ACLs set, 0 deleted"), std::string::npos)
      << restore.output;
  EXPECT_NE(restore.output.find("skipped 1 unreadable subtree (/sec: NOAUTH in the source): "
                                "nothing at or below it was written"),
            std::string::npos)
      << restore.output;
  auto left = alice->GetAllChildrenNumber(Path("/w/sec")).get();
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(*left, kChildren);
  auto data = alice->GetData(Path("/w/sec-next")).get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "readable");

  // Read without credentials into an empty target: the streaming copy.
  Ran copy =
      Zkarrow("copy " + Zk(*target_, Path("/w")) + " " + Zk(*target_, Path("/copy")) + " --no-acl");
  ASSERT_EQ(copy.exit, 0) << copy.output;
  EXPECT_NE(copy.output.find("skipped 1 unreadable subtree (/sec: NOAUTH in the source)"),
            std::string::npos)
      << copy.output;
  EXPECT_TRUE(alice->Exists(Path("/copy/sec-next")).get().value().has_value());
  EXPECT_FALSE(alice->Exists(Path("/copy/sec")).get().value().has_value());
  std::filesystem::remove(anonymous);
}

// A node of the target that the restorer may not write below: the error
// names the node and the cause, and the rest of the run stops there.
TEST_F(TreeSyncTest, ATargetAclDenyingTheRestorerIsAClearError) {
  zk::ClientOptions bob_options;
  bob_options.connect_string = target_->ConnectString();
  bob_options.auth = {{"digest", "bob:other"}};
  auto bob = zk::Client::Connect(bob_options);
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  // /copy exists on the target and only bob may create below it.
  Must((*bob)->Create(Path("/copy"), "", zk::CreatorAllAcl()));
  Ran copy = Zkarrow("copy " + Zk(*source_, "/t/deep/d/d/d") + " " + Zk(*target_, Path("/copy")) +
                     " --auth " + kAuth);
  EXPECT_EQ(copy.exit, 1) << copy.output;
  // A source that does not exist is an error, not an empty tree to mirror.
  Ran missing = Zkarrow("copy " + Zk(*source_, "/no/such/node") + " " +
                        Zk(*target_, Path("/copy")) + " --mode mirror --auth " + kAuth);
  EXPECT_EQ(missing.exit, 1) << missing.output;
  EXPECT_NE(missing.output.find("NONODE"), std::string::npos) << missing.output;
  // Said once, without a summary of zeros before it.
  EXPECT_NE(missing.output.find("nothing was written"), std::string::npos) << missing.output;
  EXPECT_EQ(missing.output.find(" created, "), std::string::npos) << missing.output;
  EXPECT_TRUE((*bob)->Exists(Path("/copy")).get().value().has_value());
  EXPECT_NE(copy.output.find("NOAUTH"), std::string::npos) << copy.output;
  EXPECT_NE(copy.output.find("the restorer's credentials (--auth, --auth-file) do not allow"),
            std::string::npos)
      << copy.output;
}

// A node whose ACL denies the world CREATE needs a temporary ACL naming the
// restorer until its subtree exists; a restorer without any identity is
// refused, with advice, rather than given the world (which could read and
// take the node meanwhile).
TEST_F(TreeSyncTest, WithoutCredentialsARestrictiveParentIsRefused) {
  Ran restore = Zkarrow("restore " + SourceFile().string() + " " + Zk(*target_, TestRoot()));
  EXPECT_EQ(restore.exit, 1) << restore.output;
  EXPECT_NE(restore.output.find("the restorer has no identity"), std::string::npos)
      << restore.output;
  EXPECT_NE(restore.output.find("--no-acl"), std::string::npos) << restore.output;
  auto client = Connect(target_->ConnectString(), /*auth=*/false);
  ASSERT_NE(client, nullptr);
  for (const std::string path : {"/t/secret", "/t/locked"}) {
    auto acl = client->GetAcl(Path(path)).get();
    EXPECT_EQ(zk::ErrorCodeOf(acl.status()), zk::ErrorCode::NONODE)
        << path << " was written: " << (acl.ok() ? acl->acls.front().scheme : "");
  }
}

// kill -9 of a restore half way: running it again finishes the job.
TEST_F(TreeSyncTest, AKilledRestoreConvergesWhenRunAgain) {
  auto client = Connect(target_->ConnectString());
  ASSERT_NE(client, nullptr);
  const std::filesystem::path log = TempPath("killed.log");
  // Small sequential batches, so that the kill lands in the middle.
  auto process =
      testing::ZkarrowProcess::Start("restore",
                                     {SourceFile().string(), Zk(*target_, TestRoot()), "--auth",
                                      kAuth, "--batch-ops", "5", "--in-flight", "1"},
                                     log);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  ASSERT_GE(WaitForDescendants(*client, Path("/t/wide"), 500), 500)
      << "the restore never got going";
  ASSERT_EQ(::kill((*process)->pid(), SIGKILL), 0);
  auto status = (*process)->Wait();  // an error: the process died of the signal
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("signal 9"), std::string::npos)
      << status.status().ToString();
  auto partial = client->GetAllChildrenNumber(Path("/t/wide")).get();
  ASSERT_TRUE(partial.ok());
  EXPECT_LT(*partial, kWideChildren) << "the restore finished before it was killed";

  Ran again = Zkarrow("restore " + SourceFile().string() + " " + Zk(*target_, TestRoot()) +
                      " --auth " + kAuth);
  ASSERT_EQ(again.exit, 0) << again.output;
  EXPECT_EQ(FirstDifference(WithoutEphemerals(Kazoo(source_->ConnectString())),
                            WithoutEphemerals(Kazoo(target_->ConnectString(), TestRoot()))),
            "");
  std::filesystem::remove(log);
}

// The server the restore is connected to dies mid-way in a 3-node ensemble:
// batches whose outcome is unknown are re-read and re-planned, the client
// moves to another server, and the restore converges in the same run.
TEST_F(TreeSyncTest, KillingTheConnectedServerOfAnEnsembleConverges) {
  auto ensemble = zkserver::ZooKeeperCluster::Start({.servers = 3});
  ASSERT_TRUE(ensemble.ok()) << ensemble.status().ToString();
  zkserver::ZooKeeperCluster& cluster = **ensemble;
  zk::ClientOptions client_options;
  client_options.connect_string = cluster.ConnectString();
  client_options.auth = {{"digest", kUser}};
  auto client = zk::Client::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  auto source = treesync::OpenSource(
      *treesync::ParseSource(Zk(*source_, "/t/wide")),
      [&] {
        treesync::SourceOptions options;
        options.read_acl = true;
        options.client.auth = {{"digest", kUser}};
        return options;
      }(),
      nullptr);
  ASSERT_TRUE(source.ok()) << source.status().ToString();

  treesync::RestoreOptions options;
  options.max_ops_per_batch = 200;
  options.batches_in_flight = 8;
  options.has_credentials = true;
  std::string killed;
  options.progress = [&](const treesync::RestoreStats& stats) {
    if (stats.batches != 20 || !killed.empty()) return;
    killed = (*client)->connected_server();
    for (int i = 0; i < cluster.size(); ++i) {
      if (killed.ends_with(":" + std::to_string(cluster.client_port(i)))) {
        ASSERT_TRUE(cluster.Kill(i).ok());
      }
    }
  };
  treesync::RestoreStats stats;
  Status restored = treesync::Restore(**source, **client, "/wide", options, &stats);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  ASSERT_FALSE(killed.empty());
  EXPECT_NE((*client)->connected_server(), killed);
  auto count = (*client)->GetAllChildrenNumber("/wide").get();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, kWideChildren);
  EXPECT_EQ(FirstDifference(Kazoo(source_->ConnectString(), "/t/wide"),
                            Kazoo(cluster.ConnectString(), "/wide")),
            "");
  // Every node was created once by this run, some by batches whose reply
  // the killed server took with it: read again, they count as what they
  // did (the counts came out low).
  EXPECT_GT(stats.replanned_batches, 0);
  EXPECT_EQ(stats.created, kWideChildren + 1);
  EXPECT_EQ(stats.nodes_written, kWideChildren + 1);
  EXPECT_EQ(stats.unknown_batches, 0);
}

// One standalone server shared by the suite's tests, each working below a
// root of its own (named after the test), so that none sees or disturbs
// another's nodes: starting a server is most of a small test's time.
class SharedServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    server_ = std::move(*cluster).release();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the server fixture failed; see above";
    root_ = TestRoot();
    client_ = Connect(server_->ConnectString(), /*auth=*/false);
    ASSERT_NE(client_, nullptr);
    Must(client_->Create(root_, ""));
  }

  // `path` ("/a/b") below this test's root.
  std::string Path(const std::string& path) const { return root_ + path; }
  // The same as a zk:// address.
  std::string Url(const std::string& path) const {
    return "zk://" + server_->ConnectString() + Path(path);
  }
  // The same as Url, the server named "localhost" instead of 127.0.0.1.
  std::string UrlByName(const std::string& path) const {
    const std::string address = server_->ConnectString();
    return "zk://localhost" + address.substr(address.find(':')) + Path(path);
  }

  static zkserver::ZooKeeperCluster* server_;
  std::string root_;
  std::unique_ptr<zk::Client> client_;  // without credentials
};

zkserver::ZooKeeperCluster* SharedServerTest::server_ = nullptr;

// ZooKeeper names a sequential node after its parent's cversion. Restored
// children are created by name, so the parent's cversion must be advanced
// past their numbers, or the application's next sequential create there
// collides with a restored node.
TEST_F(SharedServerTest, TheNextSequentialCreateAfterACopyDoesNotCollide) {
  Must(client_->Create(Path("/app"), ""));
  Must(client_->Create(Path("/app/locks"), ""));
  for (int i = 0; i < 3; ++i) {
    Must(client_->Create(Path("/app/locks/lock-"), "", zk::OpenAclUnsafe(),
                         zk::CreateMode::kPersistentSequential));
  }
  // lock-0000000001 and lock-0000000002 remain; the cversion is 4.
  ASSERT_TRUE(client_->Delete(Path("/app/locks/lock-0000000000")).get().ok());
  // An existing target (the sorted path) as well as an empty one (streamed).
  Must(client_->Create(Path("/existing"), ""));
  Must(client_->Create(Path("/existing/other"), ""));
  for (const std::string target : {"/empty", "/existing"}) {
    Ran copy = Zkarrow("copy " + Url("/app") + " " + Url(target));
    ASSERT_EQ(copy.exit, 0) << copy.output;
    EXPECT_EQ(copy.output.find("warning"), std::string::npos) << copy.output;
    auto next = client_
                    ->Create(Path(target + "/locks/lock-"), "", zk::OpenAclUnsafe(),
                             zk::CreateMode::kPersistentSequential)
                    .get();
    ASSERT_TRUE(next.ok()) << target << ": " << next.status().ToString();
    EXPECT_GT(next->path, Path(target + "/locks/lock-0000000002"));
  }
}

// --atomic cannot create a parent whose ACL grants no one CREATE and then
// its children (the ACL would have to come after them, and multi has no
// setACL): refused before writing, with the reason, not as the restorer's
// lack of rights.
TEST_F(SharedServerTest, AnAtomicParentThatDeniesCreateIsRefusedWithTheReason) {
  Must(client_->Create(Path("/ro"), "read-only"));
  Must(client_->Create(Path("/ro/child"), "c"));
  Must(client_->SetAcl(Path("/ro"), {{zk::perms::kRead, "world", "anyone"}}, -1));
  const std::filesystem::path file = TempPath("read-only.arrow");
  Ran snapshot = Zkarrow("snapshot --zk " + server_->ConnectString() + " --path " + Path("/ro") +
                         " --acl -o " + file.string());
  ASSERT_EQ(snapshot.exit, 0) << snapshot.output;
  const std::string target = Url("/copy");
  Ran atomic = Zkarrow("restore " + file.string() + " " + target + " --atomic");
  EXPECT_EQ(atomic.exit, 1) << atomic.output;
  EXPECT_NE(atomic.output.find("its ACL grants no one CREATE"), std::string::npos) << atomic.output;
  EXPECT_NE(atomic.output.find("without --atomic"), std::string::npos) << atomic.output;
  auto copy = client_->Exists(Path("/copy")).get();
  ASSERT_TRUE(copy.ok());
  EXPECT_FALSE(copy->has_value()) << "the refused restore wrote";
  // Without --atomic, the ACL is set after the child exists (the restorer
  // needs an identity for the temporary ACL until then).
  Ran batches = Zkarrow("restore " + file.string() + " " + target + " --auth " + kAuth);
  EXPECT_EQ(batches.exit, 0) << batches.output;
  Ran equal = Zkarrow("diff " + Url("/ro") + " " + target);
  EXPECT_EQ(equal.exit, 0) << equal.output;
  std::filesystem::remove(file);
}

// A node ZooKeeper accepted from a plain create, too large for any multi
// (whose headers take its create past jute.maxbuffer): copied by a create of
// its own, and updated by a setData of its own.
TEST_F(SharedServerTest, ANodeTooLargeForAMultiIsWrittenAlone) {
  // In a multi, the create of /b1 takes 1,048,583 bytes; alone, 1,048,565
  // (the bytes of the test's root in its path taken from its data).
  const size_t data_bytes = 1048515 - root_.size();
  const zk::Op create =
      zk::Op::Create(Path("/b1"), std::string(data_bytes, 'x'), zk::OpenAclUnsafe());
  ASSERT_GT(zk::MultiOpEncodedBytes(create) + zk::kMultiEndBytes + zk::kRequestPacketOverhead,
            zk::ClientOptions{}.max_request_bytes);
  Must(client_->Create(Path("/b1"), std::string(data_bytes, 'x')));
  Ran copy = Zkarrow("copy " + Url("/b1") + " " + Url("/b2"));
  ASSERT_EQ(copy.exit, 0) << copy.output;
  EXPECT_NE(copy.output.find(": 1 created"), std::string::npos) << copy.output;
  ASSERT_TRUE(client_->SetData(Path("/b1"), std::string(data_bytes, 'y'), -1).get().ok());
  Ran update = Zkarrow("copy " + Url("/b1") + " " + Url("/b2"));
  ASSERT_EQ(update.exit, 0) << update.output;
  EXPECT_NE(update.output.find(": 0 created, 1 updated"), std::string::npos) << update.output;
  auto data = client_->GetData(Path("/b2")).get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, std::string(data_bytes, 'y'));
}

// A copy into a subtree of its own source on the same ensemble (/a to /a/b,
// / to /backup) would read what it writes: every run nested the tree one
// level deeper (/a/b/b/..., never equal) and said it succeeded. Refused
// before anything is written, whatever address names the ensemble.
TEST_F(SharedServerTest, ACopyIntoItsOwnSourceIsRefused) {
  Must(client_->Create(Path("/a"), "root"));
  Must(client_->Create(Path("/a/x"), "x"));
  ASSERT_EQ(server_->ConnectString().rfind("127.0.0.1:", 0), 0u) << server_->ConnectString();
  for (const std::string& target : {Url("/a/b"), UrlByName("/a/b"), Url("/a/x/y")}) {
    for (const std::string verb : {"copy", "restore"}) {
      for (const std::string mode : {"update", "mirror"}) {
        Ran copy = Zkarrow(verb + " " + Url("/a") + " " + target + " --mode " + mode);
        EXPECT_EQ(copy.exit, 2) << copy.output;
        EXPECT_NE(copy.output.find("lies inside the source"), std::string::npos) << copy.output;
      }
    }
  }
  const std::string zk = "zk://" + server_->ConnectString();
  Ran whole = Zkarrow("copy " + zk + "/ " + Url("/backup"));
  EXPECT_EQ(whole.exit, 2) << whole.output;
  auto children = client_->GetChildren2(Path("/a")).get();
  ASSERT_TRUE(children.ok()) << children.status().ToString();
  EXPECT_EQ(children->children, std::vector<std::string>{"x"}) << "a refused copy wrote";
  auto backup = client_->Exists(Path("/backup")).get();
  ASSERT_TRUE(backup.ok());
  EXPECT_FALSE(backup->has_value()) << "a refused copy wrote";
  // Beside the source, or holding it, is a copy like any other.
  CopyAndDiff(Url("/a"), Url("/a-b"));
}

// A mirror from a source inside its own target on the same ensemble (/a/b
// to /a): the source is a node of the target that the source does not
// hold, so the mirror deleted its own source while copying it. Refused
// before anything is written; without --mode mirror the copy only adds and
// updates, and is allowed.
TEST_F(SharedServerTest, AMirrorFromInsideItsOwnTargetIsRefused) {
  Must(client_->Create(Path("/a"), "target"));
  Must(client_->Create(Path("/a/other"), "only in the target"));
  Must(client_->Create(Path("/a/b"), "source"));
  Must(client_->Create(Path("/a/b/c"), "c"));
  for (const std::string& target : {Url("/a"), UrlByName("/a"), Url("")}) {
    for (const std::string verb : {"copy", "restore"}) {
      for (const std::string dry_run : {"", " --dry-run"}) {
        Ran mirror = Zkarrow(verb + " " + Url("/a/b") + " " + target + " --mode mirror" + dry_run);
        EXPECT_EQ(mirror.exit, 2) << mirror.output;
        EXPECT_NE(mirror.output.find("lies inside the target"), std::string::npos) << mirror.output;
        EXPECT_NE(mirror.output.find("--mode mirror would delete the source"), std::string::npos)
            << mirror.output;
      }
    }
  }
  for (const std::string path : {"/a/b/c", "/a/other"}) {
    auto left = client_->Exists(Path(path)).get();
    ASSERT_TRUE(left.ok()) << left.status().ToString();
    EXPECT_TRUE(left->has_value()) << "a refused mirror deleted " << path;
  }
  auto c = client_->Exists(Path("/a/c")).get();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value()) << "a refused mirror wrote";
  // An update from inside the target adds, and leaves the source alone.
  Ran update = Zkarrow("copy " + Url("/a/b") + " " + Url("/a"));
  ASSERT_EQ(update.exit, 0) << update.output;
  EXPECT_NE(update.output.find(": 1 created, 1 updated, 0 ACLs set, 0 deleted"), std::string::npos)
      << update.output;
  auto source = client_->GetData(Path("/a/b/c")).get();
  ASSERT_TRUE(source.ok()) << "the update deleted its source: " << source.status().ToString();
}

// A source inside its target on the same ensemble that holds a node at its
// own place in the target (/a/b, copied to /a, holding /a/b/b): that node
// and its subtree would be written over the source itself (/a/b/b's data
// into /a/b, /a/b/b/x to /a/b/x), so an update or create copied into its
// own source while it read it. Refused in every mode, before anything is
// written, as a failed run (exit 1): the tree, not the arguments, makes it
// so.
TEST_F(SharedServerTest, ASourceHoldingItsOwnPlaceInTheTargetIsRefused) {
  Must(client_->Create(Path("/a"), "target"));
  Must(client_->Create(Path("/a/b"), "source"));
  Must(client_->Create(Path("/a/b/b"), "at the source's own place"));
  Must(client_->Create(Path("/a/b/b/x"), "x"));
  Must(client_->Create(Path("/a/b/c"), "c"));
  for (const std::string& target : {Url("/a"), UrlByName("/a")}) {
    for (const std::string verb : {"copy", "restore"}) {
      for (const std::string mode : {"update", "create"}) {
        for (const std::string dry_run : {"", " --dry-run"}) {
          Ran copy = Zkarrow(verb + " " + Url("/a/b") + " " + target + " --mode " + mode + dry_run);
          EXPECT_EQ(copy.exit, 1) << copy.output;
          EXPECT_NE(copy.output.find("holds /b, its own place in the target"), std::string::npos)
              << copy.output;
          EXPECT_NE(copy.output.find("nothing was written"), std::string::npos) << copy.output;
        }
      }
    }
  }
  auto data = client_->GetData(Path("/a/b")).get();
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->data, "source") << "a refused copy wrote over its source";
  for (const std::string path : {"/a/c", "/a/b/x"}) {
    auto written = client_->Exists(Path(path)).get();
    ASSERT_TRUE(written.ok());
    EXPECT_FALSE(written->has_value()) << "a refused copy wrote " << path;
  }
  // Without the node at its own place, the same copy is allowed.
  ASSERT_TRUE(client_->Delete(Path("/a/b/b/x")).get().ok());
  ASSERT_TRUE(client_->Delete(Path("/a/b/b")).get().ok());
  Ran update = Zkarrow("copy " + Url("/a/b") + " " + Url("/a"));
  ASSERT_EQ(update.exit, 0) << update.output;
  EXPECT_NE(update.output.find(": 1 created, 1 updated"), std::string::npos) << update.output;
}

// SIGINT in the middle of a restore: it used to kill the process on the
// spot, with no summary, and the nodes created under a temporary ACL kept
// it silently. Now the run stops between batches, waits for those in
// flight, says what it wrote and what is left (the temporary ACLs), and a
// second run finishes it.
TEST_F(SharedServerTest, SigintStopsBetweenBatchesAndSaysWhatIsLeft) {
  auto client = Connect(server_->ConnectString());
  ASSERT_NE(client, nullptr);
  constexpr int kChildren = 6000;
  std::vector<sampletree::SampleNode> nodes = {{Path("/src"), "root"},
                                               {Path("/src/locked"), "read-only"}};
  for (int i = 0; i < kChildren; ++i) {
    nodes.push_back({Path("/src/locked/c") + std::to_string(i), std::string(100, 'x')});
  }
  Status loaded = sampletree::LoadSampleTree(*client, nodes);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  // Lets no one create children: restored under a temporary ACL until its subtree exists.
  Must(client->SetAcl(Path("/src/locked"), {{zk::perms::kRead | zk::perms::kAdmin, "auth", ""}},
                      -1));
  const std::filesystem::path file = TempPath("interrupt.arrow");
  Ran snapshot = Zkarrow("snapshot --zk " + server_->ConnectString() + " --path " + Path("/src") +
                         " --acl -o " + file.string() + " --auth " + kAuth);
  ASSERT_EQ(snapshot.exit, 0) << snapshot.output;

  const std::filesystem::path log = TempPath("interrupt.log");
  const std::string target = Url("/dst");
  // Small sequential batches, so that the signal lands in the middle.
  auto process = testing::ZkarrowProcess::Start(
      "restore", {file.string(), target, "--auth", kAuth, "--batch-ops", "5", "--in-flight", "1"},
      log);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto seen = client->GetAllChildrenNumber(Path("/dst")).get();
    if (seen.ok() && *seen >= 500) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill((*process)->pid(), SIGINT), 0);
  Result<int> exit = (*process)->Wait();
  auto text = RunCommand("cat " + log.string());
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(exit.ok()) << exit.status().ToString() << "\n" << *text;
  // 128 + SIGINT, as a shell reports a process the signal killed, after
  // the summary and the line that names the signal.
  EXPECT_EQ(*exit, 130) << *text;
  EXPECT_TRUE(text->ends_with("\nzkarrow restore: stopped by SIGINT\n")) << *text;
  EXPECT_NE(text->find("stopped part way"), std::string::npos) << *text;
  EXPECT_NE(text->find("the temporary ACL naming the restorer is still on 1 created node (first " +
                       Path("/dst/locked") + ")"),
            std::string::npos)
      << *text;
  auto partial = client->GetAllChildrenNumber(Path("/dst")).get();
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_LT(*partial, kChildren + 1) << "the restore finished before the signal";
  // The summary's count of created nodes is what the target holds.
  EXPECT_NE(text->find(": " + WithThousands(static_cast<size_t>(*partial) + 1) + " created"),
            std::string::npos)
      << *text;

  CopyAndDiff(file.string(), target, {.verb = "restore", .shared = "--auth " + kAuth});
  std::filesystem::remove(file);
  std::filesystem::remove(log);
}

// diff, a dry run, a copy and a restore stopped by a signal while they wait
// for a server that does not answer (paused by SIGSTOP) or that nobody
// listens at: each gives up connecting at once, says so on one line, and
// exits 128 + the signal (130 SIGINT, 143 SIGTERM). They used to sit out
// the connect timeout (10 s) and then exit 3, or, when the server answered
// meanwhile, stop only once connected. The signal goes out once the process
// has its handlers (a signal before them killed it), and the server stays
// paused until the process has exited, so that the connect is what the
// signal interrupts.
TEST_F(SharedServerTest, ASignalWhileConnectingStopsAtOnceWith128PlusTheSignal) {
  Must(client_->Create(Path("/from"), ""));
  for (int i = 0; i < 20; ++i) Must(client_->Create(Path("/from/n") + std::to_string(i), "v"));
  Must(client_->Create(Path("/to"), ""));
  // A port that refuses connections: bound, never listened on.
  const int closed = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(closed, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(closed, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::getsockname(closed, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string nobody = "zk://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/to";
  const std::filesystem::path rows = TempPath("stopped-diff.arrow");
  struct Case {
    std::string verb;
    std::vector<std::string> args;
    int signal;
    std::string last_line;
  };
  const std::vector<Case> cases = {
      {"diff",
       {Url("/from"), Url("/to"), "-o", rows.string()},
       SIGINT,
       "zkarrow diff: stopped by SIGINT before the comparison ended: " + rows.string() +
           " was not written"},
      {"copy",
       {Url("/from"), Url("/to"), "--dry-run"},
       SIGTERM,
       "zkarrow copy: stopped by SIGTERM during the dry run, before its plan was complete; "
       "nothing was written"},
      {"copy",
       {Url("/from"), Url("/to")},
       SIGTERM,
       "zkarrow copy: stopped by SIGTERM while connecting to " + Url("/to") +
           "; nothing was written"},
      // From a live source, the target is connected to first.
      {"restore",
       {Url("/from"), nobody},
       SIGINT,
       "zkarrow restore: stopped by SIGINT while connecting to " + nobody +
           "; nothing was written"},
  };
  const std::filesystem::path log = TempPath("stopped.log");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.verb + " " + c.args[1]);
    ASSERT_EQ(::kill(server_->pid(0), SIGSTOP), 0);
    auto process = testing::ZkarrowProcess::Start(c.verb, c.args, log);
    Result<int> exit = process.status();
    if (process.ok()) {
      Status caught = (*process)->WaitForStopHandlers();
      EXPECT_TRUE(caught.ok()) << caught.ToString();
      EXPECT_EQ(::kill((*process)->pid(), c.signal), 0);
      // Well within the connect timeout.
      exit = (*process)->Wait(std::chrono::seconds(5));
    }
    ASSERT_EQ(::kill(server_->pid(0), SIGCONT), 0);
    auto text = RunCommand("cat " + log.string());
    ASSERT_TRUE(text.ok());
    ASSERT_TRUE(exit.ok()) << exit.status().ToString() << "\n" << *text;
    EXPECT_EQ(*exit, 128 + c.signal) << *text;
    EXPECT_TRUE(text->ends_with(c.last_line + "\n")) << *text;
  }
  ::close(closed);
  EXPECT_FALSE(std::filesystem::exists(rows));
  auto children = client_->GetChildren2(Path("/to")).get();
  ASSERT_TRUE(children.ok()) << children.status().ToString();
  EXPECT_TRUE(children->children.empty());
  std::filesystem::remove(log);
}

// A copy from a source no server answers for, into a target that answers:
// the error ("no server of '127.0.0.1:1' granted a session") did not say it
// was the source, while the target is named as the target. Both copies:
// into an empty target (streamed) and into an existing one (sorted).
TEST_F(SharedServerTest, AnUnreachableSourceIsNamedAsTheSource) {
  Must(client_->Create(Path("/existing"), ""));
  Must(client_->Create(Path("/existing/child"), ""));
  const std::string source = "zk://127.0.0.1:1/a";  // nothing listens on port 1
  // Both at once: each waits out the connect timeout.
  std::vector<std::pair<std::unique_ptr<testing::ZkarrowProcess>, std::filesystem::path>> runs;
  for (const std::string target : {"empty", "existing"}) {
    const std::filesystem::path log = TempPath("unreachable-source-" + target + ".log");
    auto process = testing::ZkarrowProcess::Start("copy", {source, Url("/" + target)}, log);
    ASSERT_TRUE(process.ok()) << process.status().ToString();
    runs.emplace_back(std::move(*process), log);
  }
  for (auto& [process, log] : runs) {
    SCOPED_TRACE(log.string());
    auto exit = process->Wait(std::chrono::seconds(60));
    auto text = RunCommand("cat " + log.string());
    ASSERT_TRUE(text.ok());
    ASSERT_TRUE(exit.ok()) << exit.status().ToString() << "\n" << *text;
    EXPECT_EQ(*exit, 3) << *text;
    EXPECT_NE(text->find("nothing was written: connecting to the source " + source +
                         ": no server of '127.0.0.1:1'"),
              std::string::npos)
        << *text;
    std::filesystem::remove(log);
  }
}

// A stop asked while a connected source server stalls in the middle of a
// walk (paused by SIGSTOP as the walk's first record arrives: the next
// read is never answered) ends the read at once, as StoppedBySignal. It
// used to be asked only as records arrived, so the read sat out the
// client's own timeouts (two thirds of the session's, then reconnecting
// to the same paused server) before the signal took effect.
TEST_F(SharedServerTest, AStopWhileTheSourceServerStallsMidWalkEndsTheReadAtOnce) {
  Must(client_->Create(Path("/stall"), ""));
  for (int i = 0; i < 30; ++i) Must(client_->Create(Path("/stall/n") + std::to_string(i), "v"));
  auto spec = treesync::ParseSource(Url("/stall"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  treesync::SourceOptions options;
  std::atomic<bool> stop{false};
  options.stop_requested = [&] { return stop.load(); };
  std::atomic<int> records{0};
  std::atomic<bool> paused{false};
  auto read = std::async(std::launch::async, [&] {
    return treesync::ReadLiveSource(
        *spec, options,
        [&](treesync::Record) {
          if (records++ == 0) paused = ::kill(server_->pid(0), SIGSTOP) == 0;
          return Status::Ok();
        },
        nullptr);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!paused && read.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready &&
         std::chrono::steady_clock::now() < deadline) {
  }
  stop = true;
  // Well within the client's read timeout (20 s of the default 30 s session).
  const bool ended = read.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (paused) {
    ASSERT_EQ(::kill(server_->pid(0), SIGCONT), 0);
  }
  const Status result = read.get();
  ASSERT_TRUE(paused) << "the walk's first record never came: " << result.ToString();
  EXPECT_TRUE(ended) << "the stop waited for the server";
  EXPECT_EQ(result.code(), StatusCode::kCancelled) << result.ToString();
  EXPECT_NE(result.message().find("stopped by SIGINT or SIGTERM"), std::string::npos)
      << result.ToString();
  EXPECT_LT(records.load(), 31) << "the whole tree was read before the stop";
}

// The summary's "N of M source znodes" counts source znodes, each once: a
// node created under a temporary ACL and then given its own, a node whose
// data and ACL are both set, are one each; deleted nodes (not the source's)
// and created ancestors of the target are none. It used to add up the
// writes, and printed "5 of 4".
TEST_F(SharedServerTest, TheSummaryCountsEachSourceZnodeOnce) {
  auto client = Connect(server_->ConnectString());
  ASSERT_NE(client, nullptr);
  Must(client->Create(Path("/src"), "root"));
  Must(client->Create(Path("/src/locked"), "read-only"));
  Must(client->Create(Path("/src/locked/a"), "a"));
  Must(client->Create(Path("/src/open"), "open"));
  // Lets no one create children: created under a temporary ACL, its own set last.
  Must(client->SetAcl(Path("/src/locked"), {{zk::perms::kRead | zk::perms::kAdmin, "auth", ""}},
                      -1));
  const std::string auth = " --auth " + kAuth;
  Ran copy = Zkarrow("copy " + Url("/src") + " " + Url("/dst") + auth);
  ASSERT_EQ(copy.exit, 0) << copy.output;
  EXPECT_NE(copy.output.find(": 4 created, 0 updated, 1 ACLs set, 0 deleted"), std::string::npos)
      << copy.output;
  EXPECT_NE(copy.output.find("; 4 of 4 source znodes"), std::string::npos) << copy.output;

  // One node's data and ACL changed, one node the source lacks.
  Must(client->SetData(Path("/dst/open"), "changed", -1));
  // Still writable and administrable, so that the mirror may set both back.
  const int32_t no_delete = zk::perms::kAll & ~zk::perms::kDelete;
  Must(client->SetAcl(Path("/dst/open"), {{no_delete, "world", "anyone"}}, -1));
  Must(client->Create(Path("/dst/extra"), "only in the target"));
  Ran mirror = CopyAndDiff(Url("/src"), Url("/dst"), {.shared = auth, .write = "--mode mirror"});
  EXPECT_NE(mirror.output.find(": 0 created, 1 updated, 1 ACLs set, 1 deleted"), std::string::npos)
      << mirror.output;
  EXPECT_NE(mirror.output.find("; 1 of 4 source znodes"), std::string::npos) << mirror.output;

  // Into missing ancestors, in one transaction (which creates them too).
  Ran atomic = Zkarrow("copy " + Url("/src") + " " + Url("/x/y/dst") + " --atomic --no-acl" + auth);
  ASSERT_EQ(atomic.exit, 0) << atomic.output;
  EXPECT_NE(atomic.output.find(": 6 created"), std::string::npos) << atomic.output;
  EXPECT_NE(atomic.output.find("; 4 of 4 source znodes"), std::string::npos) << atomic.output;
}

// A target's ephemeral nodes belong to the sessions of running clients (a
// lock, a service registration). --mode mirror used to delete one the
// source lacks, and an update wrote the source's data into one (while the
// summary said it skipped it). Both are left alone and counted.
TEST_F(SharedServerTest, MirrorLeavesTheTargetsEphemeralNodesAlone) {
  Must(client_->Create(Path("/from"), ""));
  Must(client_->Create(Path("/from/keep"), "k"));
  Must(client_->Create(Path("/from/member"), "the source's"));
  Must(client_->Create(Path("/to"), ""));
  Must(client_->Create(Path("/to/keep"), "k"));
  // This session's: a lock the source has no node for, and a node the
  // source has as persistent.
  Must(client_->Create(Path("/to/lock"), "held", zk::OpenAclUnsafe(), zk::CreateMode::kEphemeral));
  Must(client_->Create(Path("/to/member"), "alive", zk::OpenAclUnsafe(),
                       zk::CreateMode::kEphemeral));
  Ran plan =
      Zkarrow("copy " + Url("/from") + " " + Url("/to") + " --mode mirror --dry-run --format json");
  ASSERT_EQ(plan.exit, 0) << plan.output;
  EXPECT_EQ(plan.output.find("/lock"), std::string::npos) << plan.output;
  EXPECT_EQ(plan.output.find("/member"), std::string::npos) << plan.output;
  Ran mirror = Zkarrow("copy " + Url("/from") + " " + Url("/to") + " --mode mirror");
  ASSERT_EQ(mirror.exit, 0) << mirror.output;
  EXPECT_NE(
      mirror.output.find(": 0 created, 0 updated, 0 ACLs set, 0 deleted; skipped 2 ephemeral"),
      std::string::npos)
      << mirror.output;
  auto lock = client_->GetData(Path("/to/lock")).get();
  ASSERT_TRUE(lock.ok()) << "the mirror deleted a live session's lock: "
                         << lock.status().ToString();
  auto member = client_->GetData(Path("/to/member")).get();
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  EXPECT_EQ(member->data, "alive");
  EXPECT_NE(member->stat.ephemeral_owner, 0);
}

// The target server dies in the middle of a copy: the copy stops, and its
// summary says what was confirmed and how many batches may or may not have
// applied (so what the target holds lies between the two), and to run it
// again, which finishes the copy. The target is a server of its own, which
// the test kills.
TEST_F(SharedServerTest, ATargetDyingMidCopyIsSummarizedAndARerunFinishes) {
  auto target = zkserver::ZooKeeperCluster::Start({});
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  constexpr int kNodes = 10000;
  constexpr int kBatchOps = 1000;  // the default --batch-ops
  std::vector<sampletree::SampleNode> nodes = {{Path("/big"), ""}};
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back({Path("/big/n") + std::to_string(i), std::string(8000, 'a' + i % 26)});
  }
  ASSERT_TRUE(sampletree::LoadSampleTree(*client_, nodes).ok());
  const std::string from = Url("/big");
  const std::string to = "zk://" + (*target)->ConnectString() + "/w";
  const std::filesystem::path log = TempPath("target-died.log");
  auto process =
      testing::ZkarrowProcess::Start("copy", {from, to, "--session-timeout-ms", "4000"}, log);
  ASSERT_TRUE(process.ok()) << process.status().ToString();
  {
    auto client = Connect((*target)->ConnectString(), /*auth=*/false);
    ASSERT_NE(client, nullptr);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    for (;;) {
      auto seen = client->GetAllChildrenNumber("/w").get();
      if (seen.ok() && *seen >= 300) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the copy never got going";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ASSERT_TRUE((*target)->Kill(0).ok());
  auto exit = (*process)->Wait(std::chrono::seconds(180));
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  EXPECT_NE(*exit, 0);
  auto output = RunCommand("cat " + log.string());
  ASSERT_TRUE(output.ok());
  ASSERT_TRUE((*target)->Restart(0).ok());
  auto client = Connect((*target)->ConnectString(), /*auth=*/false);
  ASSERT_NE(client, nullptr);
  auto below = client->GetAllChildrenNumber("/w").get();
  ASSERT_TRUE(below.ok()) << below.status().ToString();
  const int64_t present = *below + 1;  // and /w itself
  EXPECT_LT(present, kNodes + 1) << "the copy finished before the target died";
  auto number = [](const std::string& text) {
    return std::stoll(std::regex_replace(text, std::regex(","), ""));
  };
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(*output, counts,
                                std::regex(": ([0-9,]+) created.*, ([0-9,]+) of unknown outcome")))
      << *output;
  const int64_t created = number(counts[1]);
  const int64_t unknown = number(counts[2]);
  EXPECT_LE(created, present) << *output;
  EXPECT_LE(present, created + unknown * kBatchOps) << present << " present; " << *output;
  EXPECT_NE(output->find("run the same command again"), std::string::npos) << *output;

  CopyAndDiff(from, to);
  std::filesystem::remove(log);
}

// A target whose jute.maxbuffer is smaller than the client assumes drops
// the connection on every batch larger than it. Restore used to re-plan
// the batches 20 times and then blame a target "that kept changing", and
// no option let the user plan smaller batches. Now the error names the
// likely cause, and --max-request-bytes sizes the batches. (A server of
// its own: the jute.maxbuffer is set when it starts.)
TEST(SmallJuteMaxbufferTest, BatchesTooLargeForTheTargetAreNamedAndCanBeSized) {
  zkserver::ClusterOptions options;
  options.jvm_flags.push_back("-Djute.maxbuffer=200000");
  auto cluster = zkserver::ZooKeeperCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto client = Connect((*cluster)->ConnectString(), /*auth=*/false);
  ASSERT_NE(client, nullptr);
  Must(client->Create("/big", ""));
  for (int i = 0; i < 10; ++i) {
    Must(client->Create("/big/n" + std::to_string(i), std::string(50000, 'y')));
  }
  const std::string zk = "zk://" + (*cluster)->ConnectString();
  Ran copy = Zkarrow("copy " + zk + "/big " + zk + "/copy --no-acl");
  EXPECT_EQ(copy.exit, 1) << copy.output;
  EXPECT_NE(copy.output.find("the target dropped the connection on every batch"), std::string::npos)
      << copy.output;
  EXPECT_NE(copy.output.find("--max-request-bytes"), std::string::npos) << copy.output;
  CopyAndDiff(zk + "/big", zk + "/copy",
              {.shared = "--no-acl", .write = "--max-request-bytes 200000"});
}

// The 100k-znode sample tree copied between two 3-node ensembles, shared by
// the suite's tests. The source ensemble is loaded by `zkarrow restore` of a
// znode-table file written straight from the sample-tree generator, so the
// generator's nodes are also the independent oracle of what the target must
// hold. forceSync=no: six servers fsyncing on one shared CI disk would time
// the disk, not the copy; durability is not under test here.
class EnsembleCopyTest : public ::testing::Test {
 protected:
  static constexpr int64_t kSampleNodes = 100000;

  static void SetUpTestSuite() {
    const zkserver::ClusterOptions options{.servers = 3, .config = {{"forceSync", "no"}}};
    auto from = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(from.ok()) << from.status().ToString();
    from_ = std::move(*from).release();
    auto to = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(to.ok()) << to.status().ToString();
    to_ = std::move(*to).release();

    // Ephemeral nodes belong to sessions: the file leaves them out.
    for (sampletree::SampleNode& node :
         sampletree::GenerateSampleTree({.target_nodes = kSampleNodes})) {
      if (!node.ephemeral) expected_.push_back(std::move(node));
    }
    WriteTableFile(expected_, SampleFile());
    if (::testing::Test::HasFatalFailure()) return;
    Ran load =
        Zkarrow("restore " + SampleFile().string() + " zk://" + from_->ConnectString() + "/");
    ASSERT_EQ(load.exit, 0) << load.output;
    ready_ = true;
  }

  static void TearDownTestSuite() {
    delete from_;
    delete to_;
    std::filesystem::remove(SampleFile());
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the ensembles fixture failed; see above"; }

  static std::filesystem::path SampleFile() { return TempPath("sample.arrow"); }

  // The nodes as a znode table (open ACLs, as the generator's loader creates
  // them), through znodes' own writer.
  static void WriteTableFile(const std::vector<sampletree::SampleNode>& nodes,
                             const std::filesystem::path& path) {
    auto out = arrow::FileOutputStream::Open(path);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    auto writer = znodes::ZnodeTableWriter::Open(**out, {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    const std::vector<zk::Acl> acl = zk::OpenAclUnsafe();
    for (const sampletree::SampleNode& node : nodes) {
      znodes::ZnodeRecord record;
      record.path = node.path;
      record.stat = zk::Stat{};
      record.data = std::span(reinterpret_cast<const uint8_t*>(node.data.data()), node.data.size());
      record.acl = &acl;
      ASSERT_TRUE((*writer)->Append(record).ok());
    }
    ASSERT_TRUE((*writer)->Finish({}).ok());
    ASSERT_TRUE((*out)->Close().ok());
  }

  // kazoo_tree.py's rows for `nodes` under an otherwise empty root.
  static std::vector<nlohmann::json> ExpectedRows(
      const std::vector<sampletree::SampleNode>& nodes) {
    const nlohmann::json open_acl =
        nlohmann::json::array({nlohmann::json::array({zk::perms::kAll, "world", "anyone"})});
    std::vector<nlohmann::json> rows = {
        {{"path", "/"}, {"data_hex", ""}, {"acl", open_acl}, {"ephemeral", false}}};
    for (const sampletree::SampleNode& node : nodes) {
      rows.push_back({{"path", node.path},
                      {"data_hex", testing::Hex(node.data)},
                      {"acl", open_acl},
                      {"ephemeral", false}});
    }
    std::sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return a["path"].get<std::string>() < b["path"].get<std::string>();
    });
    return rows;
  }

  static std::string Zk(const zkserver::ZooKeeperCluster& cluster, const std::string& path = "/") {
    return "zk://" + cluster.ConnectString() + path;
  }

  static zkserver::ZooKeeperCluster* from_;
  static zkserver::ZooKeeperCluster* to_;
  static std::vector<sampletree::SampleNode> expected_;
  static bool ready_;
};

zkserver::ZooKeeperCluster* EnsembleCopyTest::from_ = nullptr;
zkserver::ZooKeeperCluster* EnsembleCopyTest::to_ = nullptr;
std::vector<sampletree::SampleNode> EnsembleCopyTest::expected_;
bool EnsembleCopyTest::ready_ = false;

TEST_F(EnsembleCopyTest, CopyOfTheSampleTreeEqualsTheSource) {
  // zkarrow's own comparison of the two live trees...
  Ran copy = CopyAndDiff(Zk(*from_), Zk(*to_));
  ASSERT_EQ(copy.exit, 0) << copy.output;
  const std::string created = ": " + WithThousands(expected_.size()) + " created, 0 updated";
  EXPECT_NE(copy.output.find(created), std::string::npos) << copy.output;
  // ...and an independent one: kazoo's reading of the target against the
  // generator's nodes.
  std::vector<nlohmann::json> actual = Kazoo(to_->ConnectString());
  for (auto& row : actual) row.erase("num_children");
  EXPECT_EQ(FirstDifference(ExpectedRows(expected_), actual), "");

  // Copying again finds nothing to do.
  Ran again = Zkarrow("copy " + Zk(*from_) + " " + Zk(*to_));
  ASSERT_EQ(again.exit, 0) << again.output;
  EXPECT_NE(again.output.find(": 0 created, 0 updated, 0 ACLs set, 0 deleted"), std::string::npos)
      << again.output;
}

}  // namespace
}  // namespace zkarrow
