// Three `zkarrow serve --coord` processes over one 3-node ZooKeeper
// ensemble, used as users run them (put, get, get zk://), with the catalog
// read straight from ZooKeeper as the oracle:
// - a put to any server becomes the current version everywhere and is
//   copied until --replicas servers hold it, each copy's SHA-256 verified;
// - concurrent puts of one name: versions strictly sequential, each stored
//   version byte-equal to exactly one acknowledged upload, losers told so;
// - a download whose server is killed completes from another holder with
//   the same bytes;
// - a killed holder is replaced by a new copy; back, it re-claims its own;
// - the ZooKeeper leader killed during publications leaves the catalog
//   consistent with what the clients were told;
// - every server restarted: all datasets and versions come back.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "arrow/ipc_test_util.h"
#include "coord/layout.h"
#include "support/prerequisite.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::ZkarrowProcess;
using Clock = std::chrono::steady_clock;

constexpr int kServers = 3;
constexpr int kReplicas = 2;
// Short, so that a killed server leaves servers/ quickly (the ensemble's
// tickTime allows it).
constexpr int kSessionTimeoutMs = 2000;
constexpr int kGraceMs = 1500;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The remote ports of `pid`'s established TCP connections, from /proc (its
// socket inodes matched in the IPv4 and IPv6 tables: gRPC opens dual-stack
// sockets even for IPv4 addresses).
std::set<int> PeerPorts(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    std::string target = fs::read_symlink(fd.path(), error).string();
    if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<int> ports;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state == "01" && inodes.count(inode)) {
        ports.insert(std::stoi(remote.substr(remote.find(':') + 1), nullptr, 16));
      }
    }
  }
  return ports;
}

// Runs the binary; a failure's message is what it printed.
Result<std::string> Zkarrow(const std::string& args) {
  static std::atomic<int> runs{0};
  const fs::path out =
      fs::temp_directory_path() /
      ("zkarrow-coord-run-" + std::to_string(::getpid()) + "-" + std::to_string(++runs) + ".txt");
  auto ran = RunCommand(std::string(ZKARROW_BINARY) + " " + args + " > " + out.string() + " 2>&1");
  std::string text = ReadText(out);
  fs::remove(out);
  if (!ran.ok()) return Status::Internal(text);
  return text;
}

class CoordTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 3, .tick_time_ms = 500});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    suite_dir_ = fs::temp_directory_path() / ("zkarrow-coord-" + std::to_string(::getpid()));
    fs::remove_all(suite_dir_);
    fs::create_directories(suite_dir_);
    ASSERT_NO_FATAL_FAILURE(ConnectOracle());
    for (int i = 0; i < kServers; ++i) ASSERT_NO_FATAL_FAILURE(StartServer(i));
    ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  }

  static void TearDownTestSuite() {
    for (auto*& server : servers_) {
      delete server;
      server = nullptr;
    }
    delete oracle_;
    oracle_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
    if (!::testing::UnitTest::GetInstance()->Failed()) fs::remove_all(suite_dir_);
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (int i = 0; i < kServers; ++i) {
      std::printf("--- server s%d log:\n%s\n", i, ReadText(LogOf(i)).c_str());
    }
  }

  static void ConnectOracle() {
    delete oracle_;
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto client = zk::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    oracle_ = std::move(*client).release();
  }

  static fs::path LogOf(int i) { return suite_dir_ / ("s" + std::to_string(i) + ".err"); }
  static fs::path StoreOf(int i) { return suite_dir_ / ("store-s" + std::to_string(i)); }

  // Server i (again): id s<i>, its own store, fixed ports after its first
  // start so that a restart is the same server to its peers.
  static void StartServer(int i, const std::vector<std::string>& extra = {}) {
    const fs::path ports = suite_dir_ / ("ports-" + std::to_string(i) + ".json");
    fs::remove(ports);
    if (flight_ports_[i] == 0) {
      for (int* port : {&flight_ports_[i], &http_ports_[i]}) {
        auto picked = zkserver::PickFreePort();
        ASSERT_TRUE(picked.ok()) << picked.status().ToString();
        *port = *picked;
      }
    }
    // Appends: a restarted server's log follows its previous one.
    std::vector<std::string> args = {"--zk",
                                     cluster_->ConnectString(),
                                     "--flight",
                                     "127.0.0.1:" + std::to_string(flight_ports_[i]),
                                     "--http",
                                     "127.0.0.1:" + std::to_string(http_ports_[i]),
                                     "--store",
                                     StoreOf(i).string(),
                                     "--ports-file",
                                     ports.string(),
                                     "--coord",
                                     "--server-id",
                                     "s" + std::to_string(i),
                                     "--replicas",
                                     std::to_string(kReplicas),
                                     "--holder-grace-ms",
                                     std::to_string(kGraceMs),
                                     "--session-timeout-ms",
                                     std::to_string(kSessionTimeoutMs)};
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = ZkarrowProcess::Start(
        "serve", args,
        suite_dir_ / ("s" + std::to_string(i) + "-" + std::to_string(++starts_) + ".err"));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    delete servers_[i];
    servers_[i] = server->release();
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (!fs::exists(ports) && Clock::now() < deadline) {
      ASSERT_TRUE(servers_[i]->Running()) << "server s" << i << " exited";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(ports)) << "server s" << i << " wrote no ports file";
    // The log of this start is the one TearDown shows.
    fs::remove(LogOf(i));
    fs::create_symlink(
        suite_dir_ / ("s" + std::to_string(i) + "-" + std::to_string(starts_) + ".err"), LogOf(i));
  }

  static std::string Flight(int i) {
    return "grpc://127.0.0.1:" + std::to_string(flight_ports_[i]);
  }
  static std::string Http(int i) { return "http://127.0.0.1:" + std::to_string(http_ports_[i]); }
  static std::string ZkUrl(const std::string& resource) {
    return "zk://" + cluster_->ConnectString() + resource;
  }

  static std::set<std::string> LiveServers() {
    auto ids = oracle_->GetChildren("/zkarrow/servers").get();
    if (!ids.ok()) return {};
    return {ids->begin(), ids->end()};
  }

  // Waits until `count` servers are registered and every running one has
  // its coordination session (by its own /metrics).
  static void WaitLiveServers(size_t count) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    auto ready = [&] {
      if (LiveServers().size() != count) return false;
      for (int i = 0; i < kServers; ++i) {
        if (!servers_[i] || !servers_[i]->Running()) continue;
        auto metrics = RunCommand("curl -sf " + Http(i) + "/metrics");
        if (!metrics.ok() || metrics->find("\nzkarrow_coord_session 1\n") == std::string::npos) {
          return false;
        }
      }
      return true;
    };
    while (!ready() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(LiveServers().size(), count);
    ASSERT_TRUE(ready()) << "a server has no coordination session";
  }

  // The catalog entry, read from ZooKeeper (the oracle, not the servers).
  static std::optional<coord::CatalogEntry> Entry(const std::string& name) {
    auto data = oracle_->GetData("/zkarrow/datasets/" + name).get();
    if (!data.ok()) return std::nullopt;
    auto entry = coord::CatalogEntryFromJson(name, data->data);
    EXPECT_TRUE(entry.ok()) << entry.status().ToString();
    if (!entry.ok()) return std::nullopt;
    return *entry;
  }

  // Waits until version `version` of `name` has at least `count` holders,
  // all live (a server back with its verified copy may make one more).
  static coord::CatalogVersionRecord WaitHolders(const std::string& name, int64_t version,
                                                 size_t count) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    coord::CatalogVersionRecord last;
    while (Clock::now() < deadline) {
      auto entry = Entry(name);
      const coord::CatalogVersionRecord* record = entry ? entry->Find(version) : nullptr;
      if (record) {
        last = *record;
        std::set<std::string> live = LiveServers();
        size_t alive = 0;
        for (const std::string& holder : record->holders) alive += live.count(holder);
        if (alive >= count && alive == record->holders.size()) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << name << " v" << version << " never got " << count
                  << " live holders; last: " << last.holders.size();
    return last;
  }

  // A small Arrow file with `rows` rows distinct per `seed` (a snapshot of
  // a subtree made for it).
  static fs::path MakeFile(const std::string& name, int rows, int seed) {
    const std::string root = "/src-" + name + "-" + std::to_string(seed);
    EXPECT_TRUE(oracle_->Create(root, "seed " + std::to_string(seed)).get().ok());
    for (int i = 0; i < rows; ++i) {
      EXPECT_TRUE(oracle_
                      ->Create(root + "/n" + std::to_string(i),
                               std::string(64, static_cast<char>('a' + (seed + i) % 26)))
                      .get()
                      .ok());
    }
    const fs::path file = suite_dir_ / (name + "-" + std::to_string(seed) + ".arrow");
    auto made = Zkarrow("snapshot --zk " + cluster_->ConnectString() + " --path " + root + " -o " +
                        file.string());
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return file;
  }

  // `put`; its JSON output (version, sha256) on success.
  static Result<nlohmann::json> Put(const fs::path& file, const std::string& url) {
    const fs::path out = suite_dir_ / ("put-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(++puts_) + ".json");
    auto ran = RunCommand(std::string(ZKARROW_BINARY) + " put " + file.string() + " '" + url +
                          "' > " + out.string() + " 2>" + out.string() + ".err");
    if (!ran.ok()) return Status::Internal(ReadText(out.string() + ".err"));
    return nlohmann::json::parse(ReadText(out));
  }

  static std::vector<nlohmann::json> Rows(const fs::path& file) {
    auto rows = testing::ReadZnodeRows(file);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<nlohmann::json>{};
  }

  static inline zkserver::ZooKeeperCluster* cluster_ = nullptr;
  static inline zk::Client* oracle_ = nullptr;
  static inline ZkarrowProcess* servers_[kServers] = {};
  static inline int flight_ports_[kServers] = {};
  static inline int http_ports_[kServers] = {};
  static inline fs::path suite_dir_;
  static inline int starts_ = 0;
  static inline std::atomic<int> puts_{0};
};

TEST_F(CoordTest, APutIsPublishedEverywhereAndReplicated) {
  const fs::path file = MakeFile("a", 50, 1);
  auto put = Put(file, Flight(0) + "/datasets/a");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["version"], 1);
  const coord::CatalogVersionRecord record = WaitHolders("a", 1, kReplicas);
  EXPECT_EQ(record.sha256, (*put)["sha256"].get<std::string>());
  EXPECT_TRUE(record.HeldBy("s0"));
  // Every holder's copy is the same file, byte for byte.
  for (const std::string& holder : record.holders) {
    const int i = holder[1] - '0';
    bool found = false;
    for (const auto& entry : fs::directory_iterator(StoreOf(i))) {
      if (entry.path().filename().string().starts_with("a.v1.")) {
        found = true;
        EXPECT_EQ(entry.path().filename().string(), "a.v1." + record.sha256 + ".arrow");
      }
    }
    EXPECT_TRUE(found) << holder << " holds no file of a v1";
  }
  // Read from the group, and from every server: a holder serves it, a
  // server without a copy names the holders.
  const fs::path got = suite_dir_ / "a-got.arrow";
  auto read = Zkarrow("get '" + ZkUrl("/datasets/a") + "' -o " + got.string());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(Rows(got), Rows(file));
  for (int i = 0; i < kServers; ++i) {
    const fs::path direct = suite_dir_ / ("a-direct-" + std::to_string(i) + ".arrow");
    auto one = Zkarrow("get " + Flight(i) + "/datasets/a -o " + direct.string());
    if (record.HeldBy("s" + std::to_string(i))) {
      ASSERT_TRUE(one.ok()) << one.status().ToString();
      EXPECT_EQ(Rows(direct), Rows(file));
    } else {
      EXPECT_FALSE(one.ok());
      EXPECT_NE(one.status().message().find("read it from a holder"), std::string::npos)
          << one.status().ToString();
    }
  }
  // A second version through another server; the first stays readable by
  // its number.
  const fs::path second = MakeFile("a", 20, 2);
  auto put2 = Put(second, Http(2) + "/datasets/a");
  ASSERT_TRUE(put2.ok()) << put2.status().ToString();
  EXPECT_EQ((*put2)["version"], 2);
  auto v1 = Zkarrow("get '" + ZkUrl("/datasets/a?version=1") + "' -o " + got.string());
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(Rows(got), Rows(file));
  auto current = Zkarrow("get '" + ZkUrl("/datasets/a") + "' -o " + got.string());
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(Rows(got), Rows(second));
  // Every server lists it to an independent Flight client (Node's gRPC and
  // Arrow JS), with its schema and every live holder as a location, also a
  // server without a copy.
  if (RunCommand("command -v node >/dev/null").ok()) {
    for (int i = 0; i < kServers; ++i) {
      auto listed = RunCommand("node '" + std::string(ZKARROW_SOURCE_DIR) +
                               "/tests/interop/flight_client.mjs' " +
                               std::to_string(flight_ports_[i]) + " list");
      ASSERT_TRUE(listed.ok()) << listed.status().ToString();
      bool found = false;
      std::istringstream lines(*listed);
      for (std::string line; std::getline(lines, line);) {
        nlohmann::json flight = nlohmann::json::parse(line);
        if (flight["ticket"] != "/datasets/a?version=2") continue;
        found = true;
        EXPECT_EQ(flight["fields"][0], "path") << line;    // the znode table's schema
        EXPECT_EQ(flight["total_records"], "21") << line;  // the subtree's root and 20 children
        const coord::CatalogVersionRecord v2 = WaitHolders("a", 2, kReplicas);
        std::set<std::string> expected;
        for (const std::string& holder : v2.holders) expected.insert(Flight(holder[1] - '0'));
        std::set<std::string> locations;
        for (const auto& uri : flight["locations"]) locations.insert(uri.get<std::string>());
        EXPECT_EQ(locations, expected) << line;
      }
      EXPECT_TRUE(found) << "s" << i << " does not list a v2: " << *listed;
    }
  } else {
    ZKA_MISSING_PREREQUISITE() << "node is not installed";
  }
  // A version no longer kept is refused with the versions that are.
  const fs::path third = MakeFile("a", 5, 3);
  ASSERT_TRUE(Put(third, Flight(1) + "/datasets/a").ok());
  auto gone = Zkarrow("get '" + ZkUrl("/datasets/a?version=1") + "' -o " + got.string());
  EXPECT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("no longer kept; kept: 2, 3"), std::string::npos)
      << gone.status().ToString();
  // The tree is served by every server of the group.
  auto tree = Zkarrow("get '" + ZkUrl("/znodes?path=/src-a-1") + "' -o " + got.string());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(Rows(got).size(), 51u);
  // Compare-and-set for clients.
  auto stale = Put(file, Flight(1) + "/datasets/a?if_version=1");
  EXPECT_FALSE(stale.ok());
  EXPECT_NE(stale.status().message().find("at version 3"), std::string::npos)
      << stale.status().ToString();
  // Dropped, the name starts again at version 1 on every server, also where
  // the old files are not removed yet.
  ASSERT_TRUE(RunCommand("curl -sf -X DELETE " + Http(1) + "/datasets/a").ok());
  EXPECT_FALSE(Entry("a"));
  for (int i = 0; i < kServers; ++i) {
    auto again = Put(file, Flight(i) + "/datasets/a");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ((*again)["version"], 1);
    ASSERT_TRUE(RunCommand("curl -sf -X DELETE " + Http(i) + "/datasets/a").ok());
  }
}

// Puts one after another, to each server in turn, while the servers copy
// and claim the versions before them: claims change the catalog entry, and
// must not make a publication fail.
TEST_F(CoordTest, SequentialPutsNeverConflictWithReplication) {
  const fs::path file = MakeFile("seq", 20, 600);
  for (int i = 0; i < 30; ++i) {
    auto put = Put(file, Flight(i % kServers) + "/datasets/seq");
    ASSERT_TRUE(put.ok()) << "put " << i << ": " << put.status().ToString();
    EXPECT_EQ((*put)["version"], i + 1);
  }
}

// A wide table's schema message is hundreds of kilobytes (5,000 columns:
// about 360 KB, twice that in the entry's hex), and every kept version's
// record sat in one catalog znode: the second put of such a table needed a
// request over ZooKeeper's 1 MiB limit, was refused with a 503 saying to
// upload again, and the name stayed at version 1 for good.
TEST_F(CoordTest, WideSchemasArePublishedVersionAfterVersion) {
  auto wide_file = [&](int columns, int seed) {
    namespace t = arrow::ipc_test;
    arrow::Schema schema;
    arrow::RecordBatch batch{nullptr, 2, {}};
    for (int c = 0; c < columns; ++c) {
      schema.fields.push_back(
          arrow::MakeField("feature_column_number_" + std::to_string(c), arrow::Int32(), false));
      batch.columns.push_back(t::Primitive<int32_t>({c, seed}));
    }
    auto bytes = t::WriteIpc(schema, {batch}, /*file=*/true);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    const fs::path file =
        suite_dir_ / ("wide-" + std::to_string(columns) + "-" + std::to_string(seed) + ".arrow");
    if (bytes.ok()) {
      std::ofstream(file, std::ios::binary)
          .write(reinterpret_cast<const char*>((*bytes)->data()), (*bytes)->size());
    }
    return file;
  };
  for (int i = 0; i < 3; ++i) {
    auto put = Put(wide_file(5000, i), Flight(i % kServers) + "/datasets/wide");
    ASSERT_TRUE(put.ok()) << "put " << i << ": " << put.status().ToString();
    EXPECT_EQ((*put)["version"], i + 1);
  }
  // The kept versions share one copy of their schema; each can be described.
  auto entry = Entry("wide");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->versions.size(), 2u);
  EXPECT_NE(entry->versions[0].schema_message_hex, "");
  EXPECT_EQ(entry->versions[1].schema_message_hex, "");
  EXPECT_EQ(entry->SchemaMessageHexOf(entry->versions[1]), entry->versions[0].schema_message_hex);
  // A schema that does not fit beside it (8,000 columns) is left out: the
  // put succeeds, and the version is read from its holders.
  const fs::path widest = wide_file(8000, 9);
  auto put = Put(widest, Flight(0) + "/datasets/wide");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["version"], 4);
  entry = Entry("wide");
  ASSERT_TRUE(entry);
  const coord::CatalogVersionRecord* v4 = entry->Find(4);
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(entry->SchemaMessageHexOf(*v4), "");
  const fs::path got = suite_dir_ / "wide-got.arrow";
  auto read = Zkarrow("get '" + ZkUrl("/datasets/wide") + "' -o " + got.string());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  auto described = Zkarrow("inspect " + got.string());
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  EXPECT_NE(described->find("schema: 8000 fields"), std::string::npos) << described->substr(0, 200);
  ASSERT_TRUE(RunCommand("curl -sf -X DELETE " + Http(0) + "/datasets/wide").ok());
}

TEST_F(CoordTest, ConcurrentPutsGetSequentialVersionsAndLosersAreTold) {
  constexpr int kClients = 6;
  constexpr int kRounds = 3;
  std::vector<fs::path> files;
  for (int c = 0; c < kClients; ++c) files.push_back(MakeFile("race", 10 + c, 100 + c));
  std::map<int64_t, std::string> won;  // version -> sha256 of the upload that won it
  std::map<std::string, fs::path> by_sha;
  int losers = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Result<nlohmann::json>> results(kClients, Status::Internal("not run"));
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        const std::string base = c % 2 ? Http(c % kServers) : Flight(c % kServers);
        results[c] = Put(files[c], base + "/datasets/race");
      });
    }
    for (auto& thread : threads) thread.join();
    for (int c = 0; c < kClients; ++c) {
      if (!results[c].ok()) {
        ++losers;
        // Told, in words a user can act on.
        EXPECT_TRUE(results[c].status().message().find("409") != std::string::npos ||
                    results[c].status().message().find("onflict") != std::string::npos ||
                    results[c].status().message().find("ABORTED") != std::string::npos)
            << results[c].status().ToString();
        continue;
      }
      const int64_t version = (*results[c])["version"].get<int64_t>();
      const std::string sha = (*results[c])["sha256"].get<std::string>();
      EXPECT_FALSE(won.count(version)) << "two uploads acknowledged as version " << version;
      won[version] = sha;
      by_sha[sha] = files[c];
    }
  }
  ASSERT_FALSE(won.empty());
  // Versions 1..N, no gaps, no repeats.
  int64_t expected = 1;
  for (const auto& [version, sha] : won) EXPECT_EQ(version, expected++);
  std::printf("concurrent puts: %zu acknowledged, %d refused as conflicts\n", won.size(), losers);
  // What the catalog keeps equals the acknowledged uploads, byte for byte
  // in rows, read from the group.
  auto entry = Entry("race");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->current(), won.rbegin()->first);
  for (const coord::CatalogVersionRecord& record : entry->versions) {
    ASSERT_TRUE(won.count(record.version));
    EXPECT_EQ(record.sha256, won[record.version]);
    const fs::path got = suite_dir_ / ("race-" + std::to_string(record.version) + ".arrow");
    auto read =
        Zkarrow("get '" + ZkUrl("/datasets/race?version=" + std::to_string(record.version)) +
                "' -o " + got.string());
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(Rows(got), Rows(by_sha[record.sha256]));
  }
}

// The server a download reads from is killed mid-way: the download starts
// over from the other holder and the file is the same.
TEST_F(CoordTest, ADownloadWhoseServerDiesCompletesFromAnotherHolder) {
  // Large enough that the download is still running when its server is
  // found and killed (about 200 MB: 120 batches of 1,700 values of 1 KB).
  const fs::path file = suite_dir_ / "big.arrows";
  {
    namespace t = arrow::ipc_test;
    const arrow::Schema schema{{arrow::MakeField("id", arrow::Int64(), false),
                                arrow::MakeField("blob", arrow::Utf8Type())}};
    std::vector<arrow::RecordBatch> batches;
    for (int64_t b = 0; b < 120; ++b) {
      std::vector<std::optional<int64_t>> ids;
      std::vector<std::optional<std::string>> blobs;
      for (int64_t r = 0; r < 1700; ++r) {
        ids.push_back(b * 1700 + r);
        blobs.push_back(std::string(1000, static_cast<char>('a' + (b + r) % 26)));
      }
      batches.push_back({nullptr, 1700, {t::Primitive<int64_t>(ids), t::Strings(blobs)}});
    }
    auto bytes = t::WriteIpc(schema, batches, /*file=*/false);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>((*bytes)->data()), (*bytes)->size());
  }
  auto put = Put(file, Flight(0) + "/datasets/big");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const coord::CatalogVersionRecord record = WaitHolders("big", 1, kReplicas);
  // The reference: the same version read whole from a holder.
  const fs::path reference = suite_dir_ / "big-reference.arrow";
  const int first_holder = record.holders.front()[1] - '0';
  ASSERT_TRUE(
      Zkarrow("get " + Flight(first_holder) + "/datasets/big -o " + reference.string()).ok());

  const fs::path out = suite_dir_ / "big-got.arrow";
  const fs::path log = suite_dir_ / "big-get.err";
  auto get = ZkarrowProcess::Start("get", {ZkUrl("/datasets/big"), "-o", out.string()}, log);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  // Which server it reads from: its connection to a Flight port.
  int victim = -1;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (victim < 0 && Clock::now() < deadline && (*get)->Running()) {
    const std::set<int> peers = PeerPorts((*get)->pid());
    for (int i = 0; i < kServers; ++i) {
      if (peers.count(flight_ports_[i])) victim = i;
    }
    if (victim < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GE(victim, 0) << "the download never connected to a server (or ended first): "
                       << ReadText(log);
  // Paused, it stops reading; the server is killed with the rest unsent.
  ASSERT_EQ(::kill((*get)->pid(), SIGSTOP), 0);
  ASSERT_EQ(::kill(servers_[victim]->pid(), SIGKILL), 0);
  ASSERT_FALSE(servers_[victim]->Wait(std::chrono::seconds(30)).ok());  // killed by the signal
  ASSERT_EQ(::kill((*get)->pid(), SIGCONT), 0);
  auto exit_code = (*get)->Wait(std::chrono::seconds(120));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0) << ReadText(log);
  EXPECT_NE(ReadText(log).find("starting over from the next server"), std::string::npos)
      << ReadText(log);
  EXPECT_EQ(ReadText(out), ReadText(reference)) << "the download is not byte-identical";

  // The killed server comes back, with its copy: it claims it again.
  ASSERT_NO_FATAL_FAILURE(StartServer(victim));
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  const auto claimed_by = Clock::now() + std::chrono::seconds(60);
  bool claimed = false;
  while (!claimed && Clock::now() < claimed_by) {
    auto entry = Entry("big");
    claimed = entry && entry->Find(1) && entry->Find(1)->HeldBy("s" + std::to_string(victim));
    if (!claimed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(claimed);
}

// A holder dies: once its session is gone, another server fetches a copy,
// and the leader forgets the dead holder after the grace period.
TEST_F(CoordTest, AKilledHolderIsReplacedByANewCopy) {
  const fs::path file = MakeFile("r", 30, 7);
  auto put = Put(file, Flight(1) + "/datasets/r");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  coord::CatalogVersionRecord record = WaitHolders("r", 1, kReplicas);
  int victim = -1;
  for (const std::string& holder : record.holders) {
    if (holder != "s1") victim = holder[1] - '0';
  }
  ASSERT_GE(victim, 0);
  const auto killed = Clock::now();
  ASSERT_EQ(::kill(servers_[victim]->pid(), SIGKILL), 0);
  ASSERT_FALSE(servers_[victim]->Wait(std::chrono::seconds(30)).ok());  // killed by the signal
  // Gone from servers/ when its session expires; then a copy is made.
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers - 1));
  record = WaitHolders("r", 1, kReplicas);
  EXPECT_FALSE(record.HeldBy("s" + std::to_string(victim)));
  std::printf(
      "R copies again %.1f s after a holder was killed (session timeout %d ms, grace %d ms)\n",
      std::chrono::duration<double>(Clock::now() - killed).count(), kSessionTimeoutMs, kGraceMs);
  const fs::path got = suite_dir_ / "r-got.arrow";
  ASSERT_TRUE(Zkarrow("get '" + ZkUrl("/datasets/r") + "' -o " + got.string()).ok());
  EXPECT_EQ(Rows(got), Rows(file));
  ASSERT_NO_FATAL_FAILURE(StartServer(victim));
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  // Back with its verified copy, it is a holder again (three copies).
  WaitHolders("r", 1, kServers);
}

// The ZooKeeper leader dies while uploads are published: afterwards every
// version the catalog keeps is held, verified, by a live server, every
// acknowledged upload that is still kept is there with its bytes.
TEST_F(CoordTest, TheZooKeeperLeaderKilledMidPublishLeavesTheCatalogConsistent) {
  int zk_leader = -1;
  for (int i = 0; i < cluster_->size(); ++i) {
    auto srvr = cluster_->FourLetterWord(i, "srvr");
    if (srvr.ok() && srvr->find("Mode: leader") != std::string::npos) zk_leader = i;
  }
  ASSERT_GE(zk_leader, 0);
  std::vector<fs::path> files;
  for (int i = 0; i < 4; ++i) files.push_back(MakeFile("zkl", 5 + i, 200 + i));
  std::map<int64_t, std::string> acknowledged;  // version -> sha256
  std::atomic<bool> stop{false};
  int attempts = 0;
  std::thread writer([&] {
    for (int i = 0; !stop && i < 200; ++i) {
      ++attempts;
      const fs::path& file = files[i % files.size()];
      auto put = Put(file, Flight(i % kServers) + "/datasets/zkl");
      if (put.ok()) {
        acknowledged[(*put)["version"].get<int64_t>()] = (*put)["sha256"].get<std::string>();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(cluster_->Kill(zk_leader).ok());
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_TRUE(cluster_->Restart(zk_leader).ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  writer.join();
  ASSERT_FALSE(acknowledged.empty());
  // Settled: every server registered again.
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  auto entry = Entry("zkl");
  ASSERT_TRUE(entry);
  EXPECT_GE(entry->current(), acknowledged.rbegin()->first);
  for (const coord::CatalogVersionRecord& record : entry->versions) {
    if (acknowledged.count(record.version)) {
      EXPECT_EQ(record.sha256, acknowledged[record.version]) << "v" << record.version;
    }
    WaitHolders("zkl", record.version, kReplicas);
    const fs::path got = suite_dir_ / ("zkl-" + std::to_string(record.version) + ".arrow");
    auto read = Zkarrow("get '" + ZkUrl("/datasets/zkl?version=" + std::to_string(record.version)) +
                        "' -o " + got.string());
    ASSERT_TRUE(read.ok()) << read.status().ToString();
  }
  std::printf("puts during the ZooKeeper leader's death: %d attempted, %zu acknowledged\n",
              attempts, acknowledged.size());
}

// Every server stopped and started again: the catalog and the stores bring
// back every dataset and kept version.
TEST_F(CoordTest, EveryServerRestartedServesEveryVersionAgain) {
  const fs::path file = MakeFile("keep", 12, 300);
  const fs::path second = MakeFile("keep", 13, 301);
  auto first_put = Put(file, Flight(0) + "/datasets/keep");
  ASSERT_TRUE(first_put.ok()) << first_put.status().ToString();
  auto second_put = Put(second, Flight(1) + "/datasets/keep");
  ASSERT_TRUE(second_put.ok()) << second_put.status().ToString();
  WaitHolders("keep", 2, kReplicas);
  WaitHolders("keep", 1, kReplicas);
  std::map<std::string, coord::CatalogEntry> before;
  auto names = oracle_->GetChildren("/zkarrow/datasets").get();
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  for (const std::string& name : *names) {
    auto entry = Entry(name);
    ASSERT_TRUE(entry);
    before[name] = *entry;
  }
  for (int i = 0; i < kServers; ++i) {
    auto stopped = servers_[i]->Stop();
    ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
    EXPECT_EQ(*stopped, 0) << ReadText(LogOf(i));
  }
  EXPECT_TRUE(LiveServers().empty());
  for (int i = 0; i < kServers; ++i) ASSERT_NO_FATAL_FAILURE(StartServer(i));
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  for (const auto& [name, entry] : before) {
    for (const coord::CatalogVersionRecord& record : entry.versions) {
      const fs::path got = suite_dir_ / ("restart-" + name + ".arrow");
      auto read = Zkarrow(
          "get '" + ZkUrl("/datasets/" + name + "?version=" + std::to_string(record.version)) +
          "' -o " + got.string());
      EXPECT_TRUE(read.ok()) << name << " v" << record.version << ": " << read.status().ToString();
    }
    auto after = Entry(name);
    ASSERT_TRUE(after);
    ASSERT_EQ(after->versions.size(), entry.versions.size()) << name;
    for (size_t i = 0; i < entry.versions.size(); ++i) {
      EXPECT_EQ(after->versions[i].version, entry.versions[i].version);
      EXPECT_EQ(after->versions[i].sha256, entry.versions[i].sha256);
    }
  }
  const fs::path got = suite_dir_ / "keep-got.arrow";
  ASSERT_TRUE(Zkarrow("get '" + ZkUrl("/datasets/keep") + "' -o " + got.string()).ok());
  EXPECT_EQ(Rows(got), Rows(second));
}

// A server whose ZooKeeper session expires (stopped past its timeout) makes
// a new one: registered again, its copies claimed again, uploads taken.
TEST_F(CoordTest, AServerWhoseSessionExpiredJoinsAgain) {
  const fs::path file = MakeFile("expiry", 8, 400);
  ASSERT_TRUE(Put(file, Flight(2) + "/datasets/expiry").ok());
  WaitHolders("expiry", 1, kReplicas);
  ASSERT_EQ(::kill(servers_[2]->pid(), SIGSTOP), 0);
  // Past the session timeout, the ensemble expires the session: s2 leaves
  // servers/ while it cannot notice.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (LiveServers().count("s2") && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(LiveServers().count("s2"));
  ASSERT_EQ(::kill(servers_[2]->pid(), SIGCONT), 0);
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  EXPECT_NE(ReadText(LogOf(2)).find("session lost"), std::string::npos) << ReadText(LogOf(2));
  auto again = Put(file, Flight(2) + "/datasets/expiry");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  WaitHolders("expiry", 2, kReplicas);
  const coord::CatalogVersionRecord first = WaitHolders("expiry", 1, kReplicas);
  EXPECT_TRUE(first.HeldBy("s2"));  // its copy of version 1, claimed again
}

// A bounded chaos run: writers put, readers get, while zkarrow servers and
// ZooKeeper servers are killed and restarted at random. Afterwards every
// acknowledged put that the catalog still keeps is readable at its version
// with its bytes, every read during the run returned exactly one of the
// uploaded tables (never a torn or mixed one), and every kept version is
// held by R live servers. $ZKARROW_CHAOS_SECONDS sets the length (CI runs
// a short one).
TEST_F(CoordTest, ChaosKeepsEveryAcknowledgedPut) {
  const char* env = std::getenv("ZKARROW_CHAOS_SECONDS");
  const int seconds = env ? std::max(1, std::atoi(env)) : 15;
  constexpr int kNames = 3;
  std::vector<fs::path> pool;
  for (int i = 0; i < 6; ++i) pool.push_back(MakeFile("chaos", 3 + i, 500 + i));
  std::vector<std::vector<nlohmann::json>> pool_rows;
  for (const fs::path& file : pool) pool_rows.push_back(Rows(file));

  std::mutex mutex;
  std::map<std::string, std::map<int64_t, std::string>> acknowledged;  // name -> version -> sha
  std::map<std::string, size_t> file_of_sha;
  int put_failures = 0, reads = 0, read_failures = 0, torn = 0, kills = 0, zk_kills = 0;
  std::atomic<bool> stop{false};
  auto writer = [&](int seed) {
    std::mt19937 random(seed);
    while (!stop) {
      const size_t f = random() % pool.size();
      const std::string name = "chaos-" + std::to_string(random() % kNames);
      const int server = static_cast<int>(random() % kServers);
      const std::string base = random() % 2 ? Flight(server) : Http(server);
      auto put = Put(pool[f], base + "/datasets/" + name);
      std::lock_guard lock(mutex);
      if (!put.ok()) {
        ++put_failures;
        continue;
      }
      const int64_t version = (*put)["version"].get<int64_t>();
      const std::string sha = (*put)["sha256"].get<std::string>();
      EXPECT_FALSE(acknowledged[name].count(version)) << name << " v" << version << " twice";
      acknowledged[name][version] = sha;
      file_of_sha[sha] = f;
    }
  };
  auto reader = [&](int seed) {
    std::mt19937 random(seed);
    while (!stop) {
      const std::string name = "chaos-" + std::to_string(random() % kNames);
      const fs::path out = suite_dir_ / ("chaos-read-" + std::to_string(seed) + ".arrow");
      auto got = Zkarrow("get '" + ZkUrl("/datasets/" + name) + "' -o " + out.string());
      std::vector<nlohmann::json> rows = got.ok() ? Rows(out) : std::vector<nlohmann::json>{};
      std::lock_guard lock(mutex);
      ++reads;
      if (!got.ok()) {
        ++read_failures;
        continue;
      }
      if (std::find(pool_rows.begin(), pool_rows.end(), rows) == pool_rows.end()) ++torn;
    }
  };
  std::vector<std::thread> threads;
  // A failed ASSERT below returns at once: the clients are stopped and
  // joined however the run ends (a joinable thread's destructor aborts).
  struct StopAndJoin {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~StopAndJoin() {
      stop = true;
      for (std::thread& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } stop_and_join{stop, threads};
  threads.emplace_back(writer, 1);
  threads.emplace_back(writer, 2);
  threads.emplace_back(reader, 3);
  std::mt19937 random(4);
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 + random() % 1500));
    if (random() % 3 == 0) {
      const int victim = static_cast<int>(random() % cluster_->size());
      ASSERT_TRUE(cluster_->Kill(victim).ok());
      ++zk_kills;
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      ASSERT_TRUE(cluster_->Restart(victim).ok());
    } else {
      const int victim = static_cast<int>(random() % kServers);
      ASSERT_EQ(::kill(servers_[victim]->pid(), SIGKILL), 0);
      (void)servers_[victim]->Wait(std::chrono::seconds(30));
      ++kills;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      ASSERT_NO_FATAL_FAILURE(StartServer(victim));
    }
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  std::printf(
      "chaos, %d s: %d zkarrow and %d ZooKeeper kills; puts %zu acknowledged, %d failed; "
      "reads %d, %d failed, %d torn or mixed\n",
      seconds, kills, zk_kills,
      [&] {
        size_t n = 0;
        for (const auto& [name, versions] : acknowledged) n += versions.size();
        return n;
      }(),
      put_failures, reads, read_failures, torn);
  EXPECT_EQ(torn, 0);
  size_t checked = 0;
  for (const auto& [name, versions] : acknowledged) {
    auto entry = Entry(name);
    ASSERT_TRUE(entry) << name;
    EXPECT_GE(entry->current(), versions.rbegin()->first) << name;
    for (const coord::CatalogVersionRecord& record : entry->versions) {
      WaitHolders(name, record.version, kReplicas);
      auto acked = versions.find(record.version);
      if (acked == versions.end()) continue;  // published, but its client was not told so
      EXPECT_EQ(record.sha256, acked->second) << name << " v" << record.version;
      const fs::path out = suite_dir_ / "chaos-check.arrow";
      auto got = Zkarrow("get '" +
                         ZkUrl("/datasets/" + name + "?version=" + std::to_string(record.version)) +
                         "' -o " + out.string());
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(Rows(out), pool_rows[file_of_sha[acked->second]]) << name << " v" << record.version;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

// --ack-replicas 2: a put is acknowledged only once two servers hold it.
TEST_F(CoordTest, APutWaitsForAckReplicasCopies) {
  auto stopped = servers_[2]->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartServer(2, {"--ack-replicas", "2"}));
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  const fs::path file = MakeFile("acked", 10, 700);
  for (int round = 0; round < 3; ++round) {
    auto put = Put(file, Flight(2) + "/datasets/acked");
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    // Read at once: the copies existed before the client was answered.
    auto entry = Entry("acked");
    ASSERT_TRUE(entry);
    const coord::CatalogVersionRecord* record = entry->Find((*put)["version"].get<int64_t>());
    ASSERT_NE(record, nullptr);
    EXPECT_GE(record->holders.size(), 2u) << "round " << round;
  }
  stopped = servers_[2]->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_NO_FATAL_FAILURE(StartServer(2));
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
}

// Without a ZooKeeper quorum the servers' sessions expire: uploads are
// refused with a clear error, a copy named by its version is still served,
// and with the quorum back every server joins again.
TEST_F(CoordTest, WithoutASessionUploadsAreRefusedAndCopiesServed) {
  const fs::path file = MakeFile("quorum", 10, 800);
  auto put = Put(file, Flight(0) + "/datasets/quorum");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const coord::CatalogVersionRecord record = WaitHolders("quorum", 1, kReplicas);
  const int holder = record.holders.front()[1] - '0';
  ASSERT_TRUE(cluster_->Stop(1).ok());
  ASSERT_TRUE(cluster_->Stop(2).ok());
  // Past the session timeout every server knows its session is gone.
  auto session_of = [&](int i) {
    auto metrics = RunCommand("curl -sf " + Http(i) + "/metrics");
    return metrics.ok() && metrics->find("\nzkarrow_coord_session 0\n") != std::string::npos;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!session_of(holder) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(session_of(holder));
  auto refused = Put(file, Flight(holder) + "/datasets/quorum");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no ZooKeeper session"), std::string::npos)
      << refused.status().ToString();
  const fs::path got = suite_dir_ / "quorum-got.arrow";
  auto read = Zkarrow("get '" + Flight(holder) + "/datasets/quorum?version=1' -o " + got.string());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(Rows(got), Rows(file));
  ASSERT_TRUE(cluster_->Restart(1).ok());
  ASSERT_TRUE(cluster_->Restart(2).ok());
  ASSERT_NO_FATAL_FAILURE(ConnectOracle());
  ASSERT_NO_FATAL_FAILURE(WaitLiveServers(kServers));
  auto again = Put(file, Flight(holder) + "/datasets/quorum");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["version"], 2);
}

// --coord-acl: the group's nodes can be written only by the identities the
// operator names (here the servers' digest user); others may only read.
TEST_F(CoordTest, TheCoordinationAclKeepsOthersFromPublishing) {
  const fs::path auth = suite_dir_ / "coord-auth";
  std::ofstream(auth) << "digest:zkarrow:s3cret\n";
  fs::permissions(auth, fs::perms::owner_read | fs::perms::owner_write);
  auto hash = RunCommand(
      "python3 -c \"import base64,hashlib;print(base64.b64encode(hashlib.sha1(b'zkarrow:s3cret')"
      ".digest()).decode())\"");
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  const std::string digest = hash->substr(0, hash->find('\n'));
  const fs::path ports = suite_dir_ / "ports-secure.json";
  auto server = ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--flight", "127.0.0.1:0", "--store",
       (suite_dir_ / "store-secure").string(), "--ports-file", ports.string(), "--coord",
       "--coord-root", "/secure", "--server-id", "secure", "--auth-file", auth.string(),
       "--coord-acl", "digest:zkarrow:" + digest + ":cdrwa", "--coord-acl", "world:anyone:r"},
      suite_dir_ / "secure.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!fs::exists(ports) && Clock::now() < deadline && (*server)->Running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(ports)) << ReadText(suite_dir_ / "secure.err");
  const int port = nlohmann::json::parse(ReadText(ports))["flight"].get<int>();
  const fs::path file = MakeFile("secure", 5, 900);
  auto put = Put(file, "grpc://127.0.0.1:" + std::to_string(port) + "/datasets/s");
  ASSERT_TRUE(put.ok()) << put.status().ToString() << ReadText(suite_dir_ / "secure.err");
  // Anyone reads the catalog; nobody else writes it.
  auto entry = oracle_->GetData("/secure/datasets/s").get();
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  auto overwrite = oracle_->SetData("/secure/datasets/s", "{}", -1).get();
  EXPECT_EQ(zk::ErrorCodeOf(overwrite.status()), zk::ErrorCode::NOAUTH)
      << overwrite.status().ToString();
  auto forged = oracle_->Create("/secure/datasets/forged", "{}").get();
  EXPECT_EQ(zk::ErrorCodeOf(forged.status()), zk::ErrorCode::NOAUTH) << forged.status().ToString();
  auto stopped = (*server)->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0) << ReadText(suite_dir_ / "secure.err");
}

}  // namespace
}  // namespace zkarrow
