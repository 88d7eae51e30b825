// `zkarrow query` against a real ZooKeeper holding the sample tree: operator
// queries compared with the same SQL run by Python's sqlite3 over a kazoo
// walk of the tree; pushdown proven by the packets the server counted; bad
// input; read_arrow over a snapshot; --data-dir against the live tree.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "arrow/array_access.h"
#include "nlohmann/json.hpp"
#include "query/query_engine.h"
#include "sampletree/sample_tree.h"
#include "support/prerequisite.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

using testing::ParseJsonLines;

struct Ran {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::filesystem::path TempPath(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("zkarrow-query-" + std::to_string(::getpid()) + "-" + name);
}

// Single-quoted for /bin/sh.
std::string Shell(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

Ran RunZkarrow(const std::string& args) {
  const std::filesystem::path err = TempPath("stderr");
  const std::string command =
      std::string(ZKARROW_BINARY) + " " + args + " 2>" + Shell(err.string()) + " </dev/null";
  Ran ran;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return ran;
  std::array<char, 65536> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) > 0)
    ran.out.append(chunk.data(), n);
  const int status = ::pclose(pipe.release());
  ran.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  ran.err = text.str();
  std::filesystem::remove(err);
  return ran;
}

// A counter of the server's mntr output, e.g. "zk_packets_received".
int64_t MntrCounter(const zkserver::ZooKeeperCluster& cluster, const std::string& name) {
  auto mntr = cluster.FourLetterWord(0, "mntr");
  EXPECT_TRUE(mntr.ok()) << mntr.status().ToString();
  if (!mntr.ok()) return -1;
  const std::string key = name + "\t";
  const size_t at = mntr->find(key);
  EXPECT_NE(at, std::string::npos) << *mntr;
  if (at == std::string::npos) return -1;
  return std::stoll(mntr->substr(at + key.size()));
}

// "" when equal, else the first row that differs.
std::string FirstDifference(const std::vector<nlohmann::json>& expected,
                            const std::vector<nlohmann::json>& actual) {
  for (size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
    if (expected[i] != actual[i]) {
      return "row " + std::to_string(i) + ": expected " + expected[i].dump() + "\n got " +
             actual[i].dump();
    }
  }
  if (expected.size() != actual.size()) {
    return "expected " + std::to_string(expected.size()) + " rows, got " +
           std::to_string(actual.size());
  }
  return "";
}

// The fields of the Arrow file or stream at `file` with the source column
// each names (zkarrow.origin, "-" for none), as `zkarrow inspect` shows
// them: "name=origin ...".
std::string FieldOrigins(const std::filesystem::path& file) {
  const Ran inspected = RunZkarrow("inspect " + Shell(file.string()));
  EXPECT_EQ(inspected.exit_code, 0) << inspected.err;
  std::string out;
  bool in_field = false;
  std::istringstream lines(inspected.out);
  for (std::string line; std::getline(lines, line);) {
    const bool field = line.starts_with("  ") && !line.starts_with("   ");
    if (field || !line.starts_with(" ")) {
      if (in_field) out += "=-";
      in_field = false;
    }
    if (field) {
      out += (out.empty() ? "" : " ") + line.substr(2, line.find(':') - 2);
      in_field = true;
    } else if (in_field && line.starts_with("      zkarrow.origin = ")) {
      out += "=" + line.substr(line.find(" = ") + 3);
      in_field = false;
    }
  }
  return out;
}

class QueryLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    options.auth = {{"digest", "alice:secret"}};
    auto client = zk::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    owner_ = std::move(*client).release();
    // A small tree keeps the suite quick; large files smaller than real
    // Solr schemas for the same reason.
    Status loaded = sampletree::LoadSampleTree(
        *owner_, sampletree::GenerateSampleTree({.target_nodes = 5000, .large_file_bytes = 20000}));
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
    // An ACL audit needs more than world:anyone everywhere.
    auto must = [](auto future) {
      auto result = future.get();
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    };
    must(owner_->Create("/audit", "", zk::OpenAclUnsafe()));
    must(owner_->Create("/audit/open", "o", zk::OpenAclUnsafe()));
    must(owner_->Create("/audit/readonly", "r", zk::ReadAclUnsafe()));
    must(owner_->Create("/audit/secret", "s", zk::CreatorAllAcl()));
    must(owner_->Create("/audit/secret/inner", "i", zk::CreatorAllAcl()));
    // Changes after a known zxid.
    auto stat = owner_->Exists("/audit/secret/inner").get();
    ASSERT_TRUE(stat.ok() && *stat);
    changed_after_ = (*stat)->mzxid;
    must(owner_->SetData("/kafka/controller_epoch", "18"));
    must(owner_->SetData("/kafka/cluster/id", R"({"version":"1","id":"changed"})"));
    must(owner_->Create("/audit/new", "after", zk::OpenAclUnsafe()));
    // ZooKeeper's null data, by kazoo: SQL NULL, as the oracle has it.
    auto null_data = testing::RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR
                                         "/tests/support/kazoo_null_data.py " +
                                         cluster_->ConnectString() + " create /audit/null");
    ASSERT_TRUE(null_data.ok()) << null_data.status().ToString();
    // A broker gone: the partitions it leads have no live leader.
    Status deleted = owner_->Delete("/kafka/brokers/ids/0").get();
    ASSERT_TRUE(deleted.ok()) << deleted.ToString();

    oracle_db_ = new std::filesystem::path(TempPath("oracle.db"));
    auto dumped = testing::RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR
                                      "/tests/query/sqlite_oracle.py dump " +
                                      cluster_->ConnectString() + " " + oracle_db_->string());
    ASSERT_TRUE(dumped.ok()) << dumped.status().ToString();
    oracle_rows_ = std::stoll(*dumped);
    ASSERT_GT(oracle_rows_, 4000);
    ready_ = true;
  }

  static void TearDownTestSuite() {
    if (oracle_db_ != nullptr) std::filesystem::remove(*oracle_db_);
    delete oracle_db_;
    delete owner_;
    delete cluster_;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the shared fixture failed; see above"; }

  static std::string Zk() { return "--zk " + cluster_->ConnectString(); }

  static std::vector<nlohmann::json> Query(const std::string& sql,
                                           const std::string& source = Zk()) {
    Ran ran = RunZkarrow("query " + Shell(sql) + " " + source + " --format json");
    EXPECT_EQ(ran.exit_code, 0) << sql << "\n" << ran.err;
    return ParseJsonLines(ran.out);
  }

  static std::vector<nlohmann::json> Oracle(const std::string& sql) {
    auto out = testing::RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR
                                   "/tests/query/sqlite_oracle.py query " +
                                   Shell(oracle_db_->string()) + " " + Shell(sql));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? ParseJsonLines(*out) : std::vector<nlohmann::json>{};
  }

  // Packets the server received for one run of `sql`, less those of a run
  // that reads nothing (connecting, closing).
  static int64_t PacketsFor(const std::string& sql) {
    auto packets_of = [](const std::string& query) {
      const int64_t before = MntrCounter(*cluster_, "zk_packets_received");
      Ran ran = RunZkarrow("query " + Shell(query) + " " + Zk() + " --format csv");
      EXPECT_EQ(ran.exit_code, 0) << query << "\n" << ran.err;
      return MntrCounter(*cluster_, "zk_packets_received") - before;
    };
    const int64_t overhead = packets_of("SELECT 1");
    return packets_of(sql) - overhead;
  }

  // Bytes of the replies the server sent for one run of `sql` (its
  // serialized responses, zk_response_bytes), and the query's result. The
  // counter is the server's: another session's reply in the window (the
  // owner's pings) adds to it, never takes away, so the least of three runs
  // is the query's own.
  static std::pair<int64_t, std::vector<nlohmann::json>> ResponseBytesFor(const std::string& sql) {
    int64_t least = std::numeric_limits<int64_t>::max();
    std::vector<nlohmann::json> rows;
    for (int run = 0; run < 3; ++run) {
      const int64_t before = MntrCounter(*cluster_, "zk_response_bytes");
      Ran ran = RunZkarrow("query " + Shell(sql) + " " + Zk() + " --format json");
      EXPECT_EQ(ran.exit_code, 0) << sql << "\n" << ran.err;
      least = std::min(least, MntrCounter(*cluster_, "zk_response_bytes") - before);
      rows = ParseJsonLines(ran.out);
    }
    return {least, rows};
  }

  static zkserver::ZooKeeperCluster* cluster_;
  static zk::Client* owner_;
  static std::filesystem::path* oracle_db_;
  static int64_t oracle_rows_;
  static int64_t changed_after_;
  static bool ready_;
};

zkserver::ZooKeeperCluster* QueryLiveTest::cluster_ = nullptr;
zk::Client* QueryLiveTest::owner_ = nullptr;
std::filesystem::path* QueryLiveTest::oracle_db_ = nullptr;
int64_t QueryLiveTest::oracle_rows_ = 0;
int64_t QueryLiveTest::changed_after_ = 0;
bool QueryLiveTest::ready_ = false;

TEST_F(QueryLiveTest, OperatorQueriesEqualSqliteOverKazoo) {
  const std::string changed = std::to_string(changed_after_);
  const std::vector<std::string> queries = {
      // The whole tree, row for row.
      "SELECT path, name, parent, depth, kind, data, data_length, num_children, version, "
      "cversion, aversion, czxid, mzxid, pzxid, ephemeral_owner, ctime, mtime, error "
      "FROM znodes ORDER BY path",
      // Kafka: registered brokers and their endpoints.
      "SELECT name AS broker, json_extract(CAST(data AS TEXT), '$.host') AS host, "
      "json_extract(CAST(data AS TEXT), '$.rack') AS rack, kind, ephemeral_owner <> 0 AS live "
      "FROM znodes WHERE parent = '/kafka/brokers/ids' ORDER BY CAST(name AS INTEGER)",
      // Kafka: ISR sizes, and the partitions each broker leads.
      "SELECT json_array_length(CAST(data AS TEXT), '$.isr') AS isr_size, count(*) AS partitions "
      "FROM znodes WHERE path GLOB '/kafka/brokers/topics/*/partitions/*/state' GROUP BY 1 "
      "ORDER BY 1",
      "SELECT json_extract(CAST(data AS TEXT), '$.leader') AS leader, count(*) AS led "
      "FROM znodes WHERE path LIKE '/kafka/brokers/topics/%' AND name = 'state' "
      "GROUP BY 1 ORDER BY 1",
      "SELECT path FROM znodes WHERE path LIKE '/kafka/brokers/topics/%/state' AND "
      "json_extract(CAST(data AS TEXT), '$.leader') NOT IN "
      "(SELECT CAST(name AS INTEGER) FROM znodes WHERE parent = '/kafka/brokers/ids') "
      "ORDER BY path",
      // Solr: every replica's state and node.
      "SELECT z.path, t.key AS replica, json_extract(t.value, '$.state') AS state, "
      "json_extract(t.value, '$.node_name') AS node FROM znodes z, "
      "json_tree(CAST(z.data AS TEXT)) t WHERE z.path GLOB '/solr/collections/*/state.json' "
      "AND t.key GLOB 'core_node*' ORDER BY z.path, t.key",
      // Biggest subtrees: by top-level node, and the configsets by bytes below them.
      "SELECT CASE WHEN instr(substr(path, 2), '/') = 0 THEN path "
      "ELSE substr(path, 1, instr(substr(path, 2), '/')) END AS top, count(*) AS nodes, "
      "sum(data_length) AS bytes FROM znodes WHERE depth >= 1 GROUP BY top "
      "ORDER BY bytes DESC, top",
      "SELECT p.path, count(*) AS nodes, sum(c.data_length) AS bytes FROM znodes p "
      "JOIN znodes c ON c.path LIKE p.path || '/%' WHERE p.parent = '/solr/configs' "
      "GROUP BY p.path ORDER BY bytes DESC, p.path",
      // Ephemeral owners.
      "SELECT ephemeral_owner, count(*) AS nodes, min(path) AS first FROM znodes "
      "WHERE kind = 'ephemeral' GROUP BY ephemeral_owner ORDER BY ephemeral_owner",
      // Changed after a zxid.
      "SELECT path, mzxid > czxid AS modified FROM znodes WHERE mzxid > " + changed +
          " ORDER BY path",
      // ACL audit: readable by the world, and not.
      "SELECT z.path, json_extract(a.value, '$.perms') AS perms FROM znodes z, json_each(z.acl) a "
      "WHERE json_extract(a.value, '$.scheme') = 'world' AND "
      "(json_extract(a.value, '$.perms') & 1) = 1 AND z.path LIKE '/audit/%' ORDER BY z.path",
      "SELECT path, error FROM znodes WHERE NOT EXISTS (SELECT 1 FROM json_each(znodes.acl) a "
      "WHERE json_extract(a.value, '$.scheme') = 'world' AND "
      "(json_extract(a.value, '$.perms') & 1) = 1) ORDER BY path",
      // The pushed-down shapes, each against a full scan's answer.
      "SELECT path, version, data_length FROM znodes WHERE path IN "
      "('/kafka/controller', '/kafka/cluster/id', '/no/such/node', '/audit/secret') ORDER BY path",
      "SELECT path, data FROM znodes WHERE path = '/kafka/controller_epoch'",
      // A lookup by path without data still finds the unreadable node
      // unreadable, and so does a scan answered from its cache.
      "SELECT path, coalesce(error, '') AS error FROM znodes WHERE path IN "
      "('/audit/secret', '/audit/open') ORDER BY path",
      "SELECT a.path, coalesce(b.error, '') AS error FROM znodes a JOIN znodes b ON "
      "b.path = a.path WHERE a.path IN ('/audit/secret', '/audit/open') ORDER BY a.path",
      // A partial name under an unreadable node: none of its children.
      "SELECT count(*) AS n FROM znodes WHERE path LIKE '/audit/secret/i%'",
      "SELECT count(*) AS n FROM znodes WHERE path GLOB '/audit/secret/in*'",
      "SELECT count(*) AS n FROM znodes WHERE path > '/audit/secret/in' AND "
      "path < '/audit/secret/io'",
      "SELECT depth, count(*) AS n FROM znodes WHERE depth <= 2 GROUP BY depth ORDER BY depth",
      "SELECT depth, count(*) AS n FROM znodes WHERE depth = 3 AND path LIKE '/solr/%' "
      "GROUP BY depth",
      "SELECT count(*) AS n FROM znodes WHERE path >= '/solr/' AND path < '/solr0'",
      "SELECT count(*) AS n FROM znodes WHERE path LIKE '/kafka/con%'",
      // Two subtree scans united by SQLite: rows told apart by path.
      "SELECT path FROM znodes WHERE path LIKE '/kafka/brokers/ids/%' OR "
      "path LIKE '/solr/live_nodes/%' OR path = '/audit/open' ORDER BY path",
      "SELECT count(*) AS n FROM (SELECT path FROM znodes LIMIT 7)",
      "SELECT count(*) AS n FROM (SELECT path FROM znodes LIMIT 5 OFFSET 3)",
      // ORDER BY with LIMIT: the first rows in path order, not in the walk's.
      "SELECT path FROM znodes ORDER BY path LIMIT 5",
      "SELECT path, depth FROM znodes ORDER BY path DESC LIMIT 3 OFFSET 2",
      // LIMIT + OFFSET past int64.
      "SELECT count(*) AS n FROM (SELECT path FROM znodes LIMIT 9223372036854775807 OFFSET 1)",
      "SELECT count(*) AS n FROM (SELECT path FROM znodes LIMIT 9223372036854775807 "
      "OFFSET 9223372036854775807)",
      // A filter the table cannot see: LIMIT must not stop the walk early.
      "SELECT count(*) AS n FROM (SELECT path FROM znodes WHERE length(path) > 45 LIMIT 3)",
      "SELECT count(*) AS n FROM (SELECT path FROM znodes WHERE depth < 2 AND "
      "path > '/kafka' LIMIT 4)",
      "SELECT p.path, count(c.path) AS children, sum(c.data_length) AS bytes FROM znodes p "
      "LEFT JOIN znodes c ON c.parent = p.path WHERE p.path LIKE "
      "'/kafka/brokers/topics/events-1/%' GROUP BY p.path ORDER BY p.path",
      "SELECT c.name, p.num_children FROM znodes p JOIN znodes c ON c.parent = p.path "
      "WHERE p.path = '/kafka/brokers/ids' ORDER BY c.name",
  };
  for (const std::string& sql : queries) {
    SCOPED_TRACE(sql);
    std::vector<nlohmann::json> expected = Oracle(sql);
    std::vector<nlohmann::json> actual = Query(sql);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(FirstDifference(expected, actual), "");
  }
  // depth against bounds that are not integers, by every operator (the
  // table bounds the walk by <, <= and =).
  for (const char* op : {"<", "<=", ">", ">=", "="}) {
    for (const char* bound : {"-0.5", "0.5", "2.5", "2.0"}) {
      const std::string sql =
          std::string(
              "SELECT count(*) AS n, min(path) AS first, max(depth) AS deepest FROM "
              "znodes WHERE depth ") +
          op + " " + bound;
      SCOPED_TRACE(sql);
      EXPECT_EQ(FirstDifference(Oracle(sql), Query(sql)), "");
    }
  }
}

TEST_F(QueryLiveTest, PushdownReadsOnlyWhatTheQueryNeeds) {
  // Every query uses acl, so every node read costs one getACL packet: the
  // server's packet count then counts nodes.
  const int64_t full = PacketsFor("SELECT count(acl) FROM znodes");
  ASSERT_GT(full, oracle_rows_);
  struct Case {
    std::string sql;
    int64_t nodes;  // what the query needs, plus the path to it
  };
  const std::vector<Case> cases = {
      {"SELECT count(acl) FROM znodes WHERE path LIKE '/kafka/brokers/ids/%'", 20},
      {"SELECT count(acl) FROM znodes WHERE path GLOB '/solr/collections/products-1/*'", 12},
      {"SELECT count(acl) FROM znodes WHERE path >= '/solr/live_nodes/' AND "
       "path < '/solr/live_nodes0'",
       8},
      {"SELECT count(acl) FROM znodes WHERE parent = '/kafka/brokers/ids'", 20},
      {"SELECT count(acl) FROM znodes WHERE depth <= 1", 16},
      {"SELECT acl FROM znodes WHERE path = '/kafka/controller'", 1},
      {"SELECT acl FROM znodes WHERE path IN ('/kafka/controller', '/kafka/cluster/id')", 2},
      {"SELECT path, acl FROM znodes LIMIT 5", 8},
      // A join of znodes with itself reads each node once: the children
      // scans are answered from what the subtree scan read (26 nodes).
      {"SELECT count(p.acl) + count(c.acl) FROM znodes p JOIN znodes c ON c.parent = p.path "
       "WHERE p.path LIKE '/kafka/brokers/topics/events-1/%'",
       30},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    const int64_t packets = PacketsFor(c.sql);
    std::cout << packets << " packets (full walk: " << full << "): " << c.sql << "\n";
    // Per node at most a getACL and its share of a multiRead; a few more for
    // the listing of a partial name and pings of idle sessions.
    EXPECT_LE(packets, 2 * c.nodes + 6) << "full walk: " << full;
    EXPECT_LT(packets * 50, full) << "more than 2% of a full walk's " << full << " packets";
  }
}

TEST_F(QueryLiveTest, UnusedDataIsNotRead) {
  // Large data (a node of 900 KB, then 20 children of 200 KB): once the
  // walk has seen that its nodes hold much data, a query that does not use
  // data reads the rest without it (a walk that read data without keeping
  // it sends the same bytes both times).
  auto must = [](auto future) {
    auto result = future.get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  };
  must(owner_->Create("/bigdata", ""));
  must(owner_->Create("/bigdata/x", std::string(900 << 10, 'x')));
  for (int i = 0; i < 20; ++i) {
    must(owner_->Create("/bigdata/x/" + std::to_string(i), std::string(200 << 10, 'c')));
  }
  const std::string subtree = " FROM znodes WHERE path LIKE '/bigdata/%'";
  auto [with_data, with_rows] = ResponseBytesFor(
      "SELECT count(*) AS n, sum(data_length) AS bytes, count(data) > 0 AS read" + subtree);
  auto [stat_only, stat_rows] =
      ResponseBytesFor("SELECT count(*) AS n, sum(data_length) AS bytes, false AS read" + subtree);
  ASSERT_EQ(with_rows.size(), 1u);
  ASSERT_EQ(stat_rows.size(), 1u);
  EXPECT_EQ(stat_rows[0]["n"], 21);
  EXPECT_EQ(stat_rows[0]["n"], with_rows[0]["n"]);
  EXPECT_EQ(stat_rows[0]["bytes"], with_rows[0]["bytes"]);
  EXPECT_EQ(with_rows[0]["read"], 1);
  std::cout << "replies: " << with_data << " bytes with data, " << stat_only
            << " without; the subtree holds " << with_rows[0]["bytes"] << " bytes of data\n";
  EXPECT_GE(with_data - stat_only, 20 * (200 << 10));  // the children's data
  for (int i = 0; i < 20; ++i) {
    Status deleted = owner_->Delete("/bigdata/x/" + std::to_string(i)).get();
    EXPECT_TRUE(deleted.ok()) << deleted.ToString();
  }
  EXPECT_TRUE(owner_->Delete("/bigdata/x").get().ok());
  EXPECT_TRUE(owner_->Delete("/bigdata").get().ok());

  // Small data (the sample tree's): dropping it costs less than a request
  // per node, so the walk stays in multiRead batches.
  const int64_t packets = PacketsFor("SELECT count(*) FROM znodes");
  EXPECT_LT(packets * 10, oracle_rows_) << packets << " requests for " << oracle_rows_ << " znodes";

  // A lookup by path, likewise.
  auto [point_data, point_rows] = ResponseBytesFor(
      "SELECT data_length AS n, data IS NOT NULL AS read FROM znodes WHERE path IN "
      "('/kafka/controller', '/kafka/cluster/id')");
  auto [point_stat, point_stat_rows] = ResponseBytesFor(
      "SELECT data_length AS n, 1 AS read FROM znodes WHERE path IN "
      "('/kafka/controller', '/kafka/cluster/id')");
  ASSERT_EQ(point_rows.size(), 2u);
  EXPECT_EQ(point_stat_rows, point_rows);
  const int64_t point_bytes = point_rows[0]["n"].get<int64_t>() + point_rows[1]["n"].get<int64_t>();
  EXPECT_GE(point_data - point_stat, point_bytes);
}

// A join on a column no plan narrows (b.name = a.name) makes the inner scan
// the whole tree, once per outer row: each of those scans walked ZooKeeper
// (or replayed the data directory) again. The second one's rows serve the
// others (the first keeps none: most statements scan once), so the
// statement reads the tree about twice, whatever the outer rows.
TEST_F(QueryLiveTest, AJoinRepeatingAWholeScanReadsTheTreeTwice) {
  const std::string sql =
      "SELECT a.path AS a, count(b.path) AS n FROM znodes a JOIN znodes b ON b.name = a.name "
      "WHERE a.path LIKE '/solr/configs/%' AND a.depth = 4 GROUP BY a.path ORDER BY a.path";
  std::vector<nlohmann::json> expected = Oracle(sql);
  ASSERT_GE(expected.size(), 5u);  // as many inner scans
  EXPECT_EQ(FirstDifference(expected, Query(sql)), "");
  const int64_t walk = PacketsFor("SELECT count(*) FROM znodes");
  const int64_t join = PacketsFor(sql);
  std::cout << join << " packets for the join, " << walk << " for one walk\n";
  EXPECT_LT(join, walk * 3) << "the inner scans walked the tree again";

  // Offline: the data directory replayed twice, not once per outer row.
  const std::string offline = "--data-dir " + cluster_->data_dir(0).string();
  EXPECT_EQ(FirstDifference(expected, Query(sql, offline)), "");
  Ran explained = RunZkarrow("query " + Shell(sql) + " " + offline + " --explain");
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  int64_t replayed = 0;
  for (size_t at = explained.out.find("read: "); at != std::string::npos;
       at = explained.out.find("read: ", at + 1)) {
    replayed += std::stoll(explained.out.substr(at + 6));
  }
  // The outer lookup's load of the tree and two replays.
  EXPECT_LT(replayed, oracle_rows_ * 4) << explained.out;
  EXPECT_NE(explained.out.find("the rows of an earlier identical scan: nothing read"),
            std::string::npos)
      << explained.out;
}

// What --explain says the statement held at most (rows kept for later
// scans, result rows being built).
int64_t HeldBy(const std::string& sql, const std::string& source) {
  Ran ran = RunZkarrow("query " + Shell(sql) + " " + source + " --explain");
  EXPECT_EQ(ran.exit_code, 0) << sql << "\n" << ran.err;
  const std::string said = "held at most ";
  const size_t at = ran.out.find(said);
  EXPECT_NE(at, std::string::npos) << ran.out;
  return at == std::string::npos ? -1 : std::stoll(ran.out.substr(at + said.size()));
}

// A walk keeps the nodes it reads for the statement's lookups (a join's
// inner scans by parent or path) only when the statement has such a plan:
// a scan alone kept a copy of every node it read, data included, while its
// rows streamed out.
TEST_F(QueryLiveTest, AScanAloneKeepsNoCopyOfItsNodes) {
  std::vector<nlohmann::json> tree =
      Query("SELECT count(*) AS n, sum(length(data)) AS bytes FROM znodes");
  ASSERT_EQ(tree.size(), 1u);
  const int64_t nodes = tree[0]["n"].get<int64_t>();
  const int64_t data_bytes = tree[0]["bytes"].get<int64_t>();
  ASSERT_GT(data_bytes, int64_t{256} << 10);
  EXPECT_LT(HeldBy("SELECT count(*), sum(length(data)) FROM znodes", Zk()), 4096);
  // Each outer row's children come from the nodes the outer walk kept, its
  // data with them: every node but the root is some node's child.
  const std::string join =
      "SELECT count(*) AS n, max(length(a.data)) AS m FROM znodes a CROSS JOIN znodes b "
      "ON b.parent = a.path";
  std::vector<nlohmann::json> joined = Query(join);
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0]["n"].get<int64_t>(), nodes - 1);
  EXPECT_GT(HeldBy(join, Zk()), data_bytes);
}

// The rows of `sql` (integers only) through the engine itself, over `sources`.
std::vector<std::vector<int64_t>> EngineRows(query::QuerySources sources, const std::string& sql,
                                             query::QueryStats* stats) {
  std::vector<std::vector<int64_t>> rows;
  auto engine = query::QueryEngine::Open(std::move(sources));
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return rows;
  Status ran = (*engine)->Run(
      sql, [](const arrow::Schema&) { return Status::Ok(); },
      [&](const arrow::RecordBatch& batch) {
        for (int64_t r = 0; r < batch.length; ++r) {
          std::vector<int64_t> row;
          for (const auto& column : batch.columns) {
            row.push_back(arrow::ReadInt(arrow::FixedWidthValue(*column, r, 8), true));
          }
          rows.push_back(std::move(row));
        }
        return Status::Ok();
      },
      stats);
  EXPECT_TRUE(ran.ok()) << sql << ": " << ran.ToString();
  return rows;
}

// What a statement keeps for its later scans comes out of one budget
// (QuerySources::statement_memory_bytes); past it, they read their source
// again and the rows stay the same: the data directory's tree for lookups,
// the nodes of a live lookup.
TEST_F(QueryLiveTest, KeptRowsPastTheStatementsMemoryAreReadAgain) {
  const std::string sql =
      "SELECT count(*), sum(c.version), sum(length(c.data)), sum(c.num_children) "
      "FROM znodes p JOIN znodes c ON c.parent = p.path "
      "WHERE p.path IN ('/kafka/brokers/ids', '/solr/live_nodes', '/audit', '/none')";
  constexpr int64_t kSmall = 16 << 10;
  query::QuerySources offline;
  offline.data_dir = cluster_->data_dir(0);
  query::QueryStats whole, small;
  const auto expected = EngineRows(offline, sql, &whole);
  ASSERT_EQ(expected.size(), 1u);
  EXPECT_GT(expected[0][0], 10);
  EXPECT_GT(whole.peak_held_bytes, kSmall);  // the tree, loaded for lookups
  offline.statement_memory_bytes = kSmall;
  EXPECT_EQ(EngineRows(offline, sql, &small), expected);
  EXPECT_LE(small.peak_held_bytes, kSmall);
  bool replayed = false;
  for (const query::ScanReport& scan : small.scans) {
    replayed |= scan.plan.find("too large to keep for lookups") != std::string::npos;
  }
  EXPECT_TRUE(replayed);

  query::QuerySources live;
  live.sessions = {owner_};
  const auto live_expected = EngineRows(live, sql, &whole);
  ASSERT_EQ(live_expected.size(), 1u);
  EXPECT_EQ(live_expected[0][0], expected[0][0]);
  live.statement_memory_bytes = kSmall;
  EXPECT_EQ(EngineRows(live, sql, &small), live_expected);
  EXPECT_LE(small.peak_held_bytes, kSmall);
}

// A TCP proxy on loopback to `target_port` that hands on every chunk it
// reads `delay` after it came, in order: a network whose round trip is
// twice the delay, where requests sent one after another take a round trip
// each and pipelined ones one between them. It counts the round trips a
// client waited for: its waves of requests, each begun by bytes from the
// client after an answer went to it.
class DelayingProxy {
 public:
  DelayingProxy(int target_port, std::chrono::milliseconds delay)
      : target_port_(target_port), delay_ms_(delay.count()) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = Loopback(0);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~DelayingProxy() {
    {
      std::lock_guard lock(stop_mu_);
      stopping_ = true;
      stopped_.notify_all();  // pumps holding a chunk until it is due
    }
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();  // no connection is added after this
    for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    for (std::thread& thread : pumps_) thread.join();
    for (int fd : sockets_) ::close(fd);
    ::close(listener_);
  }
  int port() const { return port_; }
  // Waves of requests so far, over all connections.
  int waves() const { return waves_.load(); }
  // For the chunks read from now on.
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
  }

  void Accept() {
    while (!stopping_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address = Loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      sockets_.push_back(client);
      sockets_.push_back(server);
      // Whether an answer went to the client since its last bytes.
      auto answered = std::make_shared<std::atomic<bool>>(true);
      pumps_.emplace_back([=, this] { Pump(client, server, /*from_client=*/true, answered); });
      pumps_.emplace_back([=, this] { Pump(server, client, /*from_client=*/false, answered); });
    }
  }

  // One direction: a reader queues what it reads with the time it is due,
  // this thread's writer sends it then.
  void Pump(int from, int to, bool from_client, std::shared_ptr<std::atomic<bool>> answered) {
    struct Chunk {
      std::chrono::steady_clock::time_point due;
      std::string bytes;
    };
    std::mutex mu;
    std::condition_variable ready;
    std::deque<Chunk> chunks;
    bool ended = false;
    std::thread reader([&] {
      char buffer[65536];
      ssize_t n;
      while ((n = ::recv(from, buffer, sizeof buffer, 0)) > 0) {
        if (from_client && answered->exchange(false)) ++waves_;
        std::lock_guard lock(mu);
        chunks.push_back(
            {std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms_.load()),
             std::string(buffer, static_cast<size_t>(n))});
        ready.notify_all();
      }
      std::lock_guard lock(mu);
      ended = true;
      ready.notify_all();
    });
    while (true) {
      std::unique_lock lock(mu);
      ready.wait(lock, [&] { return ended || !chunks.empty(); });
      if (chunks.empty()) break;
      Chunk chunk = std::move(chunks.front());
      chunks.pop_front();
      lock.unlock();
      {
        std::unique_lock stop_lock(stop_mu_);
        if (stopped_.wait_until(stop_lock, chunk.due, [this] { return stopping_.load(); })) break;
      }
      if (::send(to, chunk.bytes.data(), chunk.bytes.size(), MSG_NOSIGNAL) < 0) break;
      if (!from_client) *answered = true;
    }
    ::shutdown(to, SHUT_WR);
    ::shutdown(from, SHUT_RD);
    reader.join();
  }

  const int target_port_;
  std::atomic<int64_t> delay_ms_;
  std::atomic<int> waves_{0};
  int listener_ = -1;
  int port_ = 0;
  std::mutex stop_mu_;
  std::condition_variable stopped_;
  std::atomic<bool> stopping_{false};
  // The acceptor's until it is joined.
  std::vector<int> sockets_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

// A lookup by path that finds nodes it may not read (NOAUTH) gives their
// rows a stat with `exists`, which needs no permission. Those were sent one
// at a time, a round trip each; they go out together, as the lookup's other
// reads do.
TEST_F(QueryLiveTest, UnreadableNodesOfALookupCostOneRoundTripTogether) {
  constexpr int kNodes = 30;
  ASSERT_TRUE(owner_->Create("/unreadable", "", zk::OpenAclUnsafe()).get().ok());
  std::string readable_list, unreadable_list;
  for (int i = 0; i < kNodes; ++i) {
    const std::string name = "/unreadable/n" + std::to_string(i);
    ASSERT_TRUE(owner_->Create(name, "x", zk::CreatorAllAcl()).get().ok());
    unreadable_list += (i == 0 ? "'" : ", '") + name + "'";
    readable_list += (i == 0 ? "'" : ", '") + std::string("/kafka/brokers/topics") + "'";
  }
  constexpr auto kDelay = std::chrono::milliseconds(40);  // a round trip: 80 ms
  {
    DelayingProxy proxy(cluster_->client_port(0), kDelay);
    const std::string zk = "--zk 127.0.0.1:" + std::to_string(proxy.port());
    // The round trips a query waited for, and its output.
    auto round_trips = [&](const std::string& sql) {
      const int waves_before = proxy.waves();
      Ran ran = RunZkarrow("query " + Shell(sql) + " " + zk + " --format csv");
      EXPECT_EQ(ran.exit_code, 0) << sql << "\n" << ran.err;
      return std::make_pair(proxy.waves() - waves_before, ran.out);
    };
    // The same lookup of readable nodes: connecting, one multiRead, closing.
    auto [readable, readable_out] = round_trips(
        "SELECT count(*), count(error) FROM znodes WHERE path IN (" + readable_list + ")");
    auto [unreadable, unreadable_out] =
        round_trips("SELECT count(*), count(error), count(version) FROM znodes WHERE path IN (" +
                    unreadable_list + ")");
    EXPECT_NE(unreadable_out.find(std::to_string(kNodes) + "," + std::to_string(kNodes) + "," +
                                  std::to_string(kNodes)),
              std::string::npos)
        << unreadable_out;
    std::cout << "round trips: " << readable << " for readable nodes, " << unreadable
              << " for unreadable ones\n";
    // One more, for the exists calls together; one at a time was 30 more.
    EXPECT_LE(unreadable, readable + 2);
  }
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(owner_->Delete("/unreadable/n" + std::to_string(i)).get().ok());
  }
  ASSERT_TRUE(owner_->Delete("/unreadable").get().ok());
}

// A join's inner `parent = x` lookups, answered from the nodes the outer
// walk kept, visit x's children only. They visited x's whole subtree (the
// cache was ordered by path), so over a deep tree the join cost the square
// of its depth in cached nodes, each compared along its whole path. Here:
// the join over a 4,000-deep chain is right.
TEST_F(QueryLiveTest, ParentLookupsFromKeptNodesVisitTheChildrenOnly) {
  constexpr int kDepth = 4000;
  std::vector<std::string> chain;
  std::string path = "/chain";
  std::vector<std::future<Result<zk::CreateResult>>> created;
  for (int i = 0; i < kDepth; ++i) {
    chain.push_back(path);
    // One session's requests apply in order: each parent before its child.
    created.push_back(owner_->Create(path, "", zk::OpenAclUnsafe()));
    path += "/c";
  }
  for (auto& create : created) ASSERT_TRUE(create.get().ok());
  query::QuerySources live;
  live.sessions = {owner_};
  auto timed = [&](const std::string& sql) {
    const auto start = std::chrono::steady_clock::now();
    query::QueryStats stats;
    auto rows = EngineRows(live, sql, &stats);
    return std::make_pair(rows, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - start));
  };
  auto [walked, walk] = timed("SELECT count(*) FROM znodes WHERE path LIKE '/chain%'");
  auto [joined, join] = timed(
      "SELECT count(*) FROM znodes a CROSS JOIN znodes b ON b.parent = a.path "
      "WHERE a.path LIKE '/chain%'");
  EXPECT_EQ(walked, (std::vector<std::vector<int64_t>>{{kDepth}}));
  EXPECT_EQ(joined, (std::vector<std::vector<int64_t>>{{kDepth - 1}}));
  // For the reader of the log, not asserted (this machine is shared):
  // visiting the subtrees took 6.7 s more than the walk; the children
  // only, under 1 s. That a lookup sees the children only is PathMap's
  // unit test (ChildrenAreTheParentsOnly).
  std::cout << "the walk took " << walk.count() << " ms, the join " << join.count() << " ms\n";
  std::vector<std::future<Status>> deleted;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) deleted.push_back(owner_->Delete(*it));
  for (auto& done : deleted) ASSERT_TRUE(done.get().ok());
}

// A statement told to stop (QuerySources::check_stop: a server's deadline,
// its client gone) ends while its scan waits on ZooKeeper, with the stop's
// status. SQLite asks only between steps, and a scan waiting on its source
// is one step: a walk, the listing above a partial name and point reads
// (getData, getACL) each waited for ZooKeeper's answer first.
TEST_F(QueryLiveTest, AStopEndsAScanWaitingOnItsSource) {
  auto run_stopped = [](query::QuerySources sources, const std::string& sql) {
    const auto start = std::chrono::steady_clock::now();
    sources.check_stop = [start] {
      if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(300)) {
        return Status::Ok();
      }
      return Status::Cancelled("the test's stop");
    };
    auto engine = query::QueryEngine::Open(std::move(sources));
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return std::make_pair(Status::Ok(), std::chrono::milliseconds(0));
    Status ran = (*engine)->Run(
        sql, [](const arrow::Schema&) { return Status::Ok(); },
        [](const arrow::RecordBatch&) { return Status::Ok(); }, nullptr);
    return std::make_pair(ran, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - start));
  };
  std::unique_ptr<zk::Client> client;  // closed after the proxy is gone
  DelayingProxy proxy(cluster_->client_port(0), std::chrono::milliseconds(0));
  zk::ClientOptions options;
  options.connect_string = "127.0.0.1:" + std::to_string(proxy.port());
  auto connected = zk::Client::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status().ToString();
  client = std::move(*connected);
  // ZooKeeper answers after the session's timeout: only a stop ends a scan.
  proxy.set_delay(std::chrono::seconds(30));
  for (const char* sql : {"SELECT count(*) FROM znodes WHERE path LIKE '/kafka/%'",
                          "SELECT count(*) FROM znodes WHERE path LIKE '/kafka/bro%'",
                          "SELECT count(*), count(error), count(acl) FROM znodes WHERE path IN "
                          "('/kafka', '/solr')"}) {
    SCOPED_TRACE(sql);
    query::QuerySources live;
    live.sessions = {client.get()};
    auto [ran, took] = run_stopped(live, sql);
    EXPECT_EQ(ran.code(), StatusCode::kCancelled) << ran.ToString();
    EXPECT_NE(ran.message().find("the test's stop"), std::string::npos) << ran.ToString();
    EXPECT_LT(took, std::chrono::seconds(3));
  }

  // Loading a data directory for lookups asks too, every 4,096 records
  // (the statement returns no row, whose check would stop it anyway).
  query::QuerySources offline;
  offline.data_dir = cluster_->data_dir(0);
  int64_t asked = 0;
  offline.check_stop = [&asked] {
    ++asked;
    return Status::Cancelled("the test's stop");
  };
  auto engine = query::QueryEngine::Open(std::move(offline));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  Status loaded = (*engine)->Run(
      "SELECT path FROM znodes WHERE path IN ('/none')",
      [](const arrow::Schema&) { return Status::Ok(); },
      [](const arrow::RecordBatch&) { return Status::Ok(); }, nullptr);
  EXPECT_EQ(loaded.code(), StatusCode::kCancelled) << loaded.ToString();
  EXPECT_EQ(asked, 1);
}

TEST_F(QueryLiveTest, ExplainDescribesThePlanAndCounts) {
  Ran ran = RunZkarrow("query " +
                       Shell("SELECT path FROM znodes WHERE path LIKE '/kafka/brokers/ids/%' "
                             "AND depth <= 4") +
                       " " + Zk() + " --explain");
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_NE(ran.out.find("paths starting with '/kafka/brokers/ids/'"), std::string::npos)
      << ran.out;
  EXPECT_NE(ran.out.find("depth <= 4"), std::string::npos) << ran.out;
  EXPECT_NE(ran.out.find("data not kept; getChildren2 per node (no data) once the nodes read "
                         "average 16 KiB of data"),
            std::string::npos)
      << ran.out;
  // The brokers plus /kafka/brokers/ids itself were read, nothing else.
  std::vector<nlohmann::json> brokers =
      Query("SELECT count(*) AS n FROM znodes WHERE parent = '/kafka/brokers/ids'");
  ASSERT_EQ(brokers.size(), 1u);
  const int64_t n = brokers[0]["n"].get<int64_t>();
  EXPECT_NE(ran.out.find("read: " + std::to_string(n + 1) + ";"), std::string::npos) << ran.out;
}

TEST_F(QueryLiveTest, BadInputFailsClearly) {
  Ran syntax = RunZkarrow("query " + Shell("SELECT path FROMM znodes") + " " + Zk());
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_NE(syntax.err.find("syntax error"), std::string::npos) << syntax.err;
  // SQLite points at the token after the mistake.
  EXPECT_NE(syntax.err.find("line 1, column 19"), std::string::npos) << syntax.err;

  Ran table = RunZkarrow("query " + Shell("SELECT * FROM nodes") + " " + Zk());
  EXPECT_EQ(table.exit_code, 1);
  EXPECT_NE(table.err.find("no such table: nodes"), std::string::npos) << table.err;

  const std::filesystem::path not_arrow = TempPath("not-arrow.txt");
  std::ofstream(not_arrow) << "path,version\n/a,1\n";
  Ran file = RunZkarrow("query " + Shell("SELECT * FROM read_arrow('" + not_arrow.string() + "')") +
                        " " + Zk());
  std::filesystem::remove(not_arrow);
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_NE(file.err.find("not an Arrow IPC file or stream"), std::string::npos) << file.err;

  Ran writes = RunZkarrow("query " + Shell("CREATE TABLE t(x)") + " " + Zk());
  EXPECT_EQ(writes.exit_code, 1);
  EXPECT_NE(writes.err.find("only reads"), std::string::npos) << writes.err;

  // No server there: a failure of the run; two sources: bad arguments.
  Ran server = RunZkarrow("query " + Shell("SELECT 1") + " --server http://127.0.0.1:1");
  EXPECT_EQ(server.exit_code, 1);
  EXPECT_NE(server.err.find("127.0.0.1:1"), std::string::npos) << server.err;
  Ran both = RunZkarrow("query " + Shell("SELECT 1") + " --server http://127.0.0.1:1 " + Zk());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("use one of --zk, --data-dir and --server"), std::string::npos)
      << both.err;
}

TEST_F(QueryLiveTest, ReadArrowOverASnapshotEqualsTheLiveTree) {
  const std::filesystem::path dir = TempPath("snapshots");
  std::filesystem::create_directories(dir);
  const std::filesystem::path snapshot = dir / "snap.arrow";
  Ran snap = RunZkarrow("snapshot " + Zk() + " --acl -o " + snapshot.string());
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  const std::string columns = "path, version, data, data_length, mzxid, kind";
  std::vector<nlohmann::json> live =
      Query("SELECT " + columns + " FROM znodes WHERE path LIKE '/kafka/%' ORDER BY path");
  std::vector<nlohmann::json> from_file =
      Query("SELECT " + columns + " FROM read_arrow('" + snapshot.string() +
            "') WHERE path LIKE '/kafka/%' ORDER BY path");
  ASSERT_GT(live.size(), 100u);
  EXPECT_EQ(FirstDifference(live, from_file), "");
  // A file named on the command line is a table named after it.
  Ran named = RunZkarrow("query " + Shell("SELECT count(*) AS n FROM snap") + " " +
                         Shell(snapshot.string()) + " --format json");
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(ParseJsonLines(named.out), Query("SELECT count(*) AS n FROM znodes"));
  std::filesystem::remove_all(dir);
}

TEST_F(QueryLiveTest, DataDirQueriesEqualTheLiveOnes) {
  const std::string offline = "--data-dir " + cluster_->data_dir(0).string();
  const std::string sql =
      "SELECT path, version, data, data_length, num_children, czxid, mzxid, pzxid, "
      "ephemeral_owner, acl FROM znodes WHERE (path LIKE '/kafka/%' OR path LIKE '/audit%') "
      // Offline, every ACL is readable; live, the secret's is not.
      "AND path NOT LIKE '/audit/secret%' ORDER BY path";
  std::vector<nlohmann::json> live = Query(sql);
  std::vector<nlohmann::json> from_files = Query(sql, offline);
  ASSERT_GT(live.size(), 100u);
  EXPECT_EQ(FirstDifference(live, from_files), "");
  // Lookups by path and by parent, as a join's inner scans make them.
  const std::string join =
      "SELECT p.path, c.name, c.version FROM znodes p JOIN znodes c ON c.parent = p.path "
      "WHERE p.path IN ('/kafka/brokers/ids', '/solr/live_nodes', '/audit', '/none') "
      "ORDER BY p.path, c.name";
  // ZooKeeper's null data is a NULL without an error, live and offline.
  const std::string nulls = "SELECT path FROM znodes WHERE data IS NULL AND error IS NULL";
  const std::vector<nlohmann::json> only_null = {nlohmann::json{{"path", "/audit/null"}}};
  EXPECT_EQ(Query(nulls), only_null);
  EXPECT_EQ(Query(nulls, offline), only_null);
  std::vector<nlohmann::json> live_join = Query(join);
  ASSERT_GT(live_join.size(), 10u);
  EXPECT_EQ(FirstDifference(live_join, Query(join, offline)), "");
  // ORDER BY with LIMIT: the first rows in the order asked for, not in the
  // replay's (ascending paths); path || '' keeps the LIMIT from the table.
  EXPECT_EQ(FirstDifference(Query("SELECT path FROM znodes ORDER BY path || '' DESC LIMIT 5"),
                            Query("SELECT path FROM znodes ORDER BY path DESC LIMIT 5", offline)),
            "");
  std::vector<nlohmann::json> creates =
      Query("SELECT count(*) AS n FROM txns WHERE type = 'create2'", offline);
  ASSERT_EQ(creates.size(), 1u);
  EXPECT_GT(creates[0]["n"].get<int64_t>(), oracle_rows_ / 2);

  // --zxid Z: the tree and the transactions as of Z, both. Z is the zxid
  // that created /audit/secret/inner; the changes after it are not there.
  const std::string as_of = offline + " --zxid " + std::to_string(changed_after_);
  std::vector<nlohmann::json> past_txns =
      Query("SELECT max(zxid) AS last, count(*) AS n FROM txns", as_of);
  ASSERT_EQ(past_txns.size(), 1u);
  EXPECT_EQ(past_txns[0]["last"].get<int64_t>(), changed_after_);
  std::vector<nlohmann::json> all_txns = Query("SELECT count(*) AS n FROM txns", offline);
  ASSERT_EQ(all_txns.size(), 1u);
  EXPECT_LT(past_txns[0]["n"].get<int64_t>(), all_txns[0]["n"].get<int64_t>());
  std::vector<nlohmann::json> past_tree = Query(
      "SELECT count(*) AS n, max(mzxid) AS last FROM znodes WHERE path LIKE '/audit/%'", as_of);
  ASSERT_EQ(past_tree.size(), 1u);
  EXPECT_EQ(past_tree[0]["n"], 4);  // open, readonly, secret, secret/inner; not new
  EXPECT_EQ(past_tree[0]["last"].get<int64_t>(), changed_after_);
}

// A comparison under NOCASE or RTRIM holds for paths the plan's bytewise
// lookups would not read: each pushed-down shape against the same one on
// `path||''` (an expression, so not pushed down), live and offline.
TEST_F(QueryLiveTest, CollatedComparisonsAreNotPushedDown) {
  struct Case {
    std::string where;      // on the columns themselves
    std::string unindexed;  // the same on expressions SQLite alone filters
  };
  const std::vector<Case> cases = {
      {"path = '/KAFKA/CONTROLLER' COLLATE NOCASE",
       "path||'' = '/KAFKA/CONTROLLER' COLLATE NOCASE"},
      {"path = '/kafka/controller  ' COLLATE RTRIM",
       "path||'' = '/kafka/controller  ' COLLATE RTRIM"},
      {"path COLLATE NOCASE IN ('/KAFKA/CONTROLLER', '/Audit/Open')",
       "(path||'') COLLATE NOCASE IN ('/KAFKA/CONTROLLER', '/Audit/Open')"},
      {"path COLLATE RTRIM IN ('/kafka/controller ', '/audit/open  ')",
       "(path||'') COLLATE RTRIM IN ('/kafka/controller ', '/audit/open  ')"},
      {"path >= '/SOLR/' COLLATE NOCASE AND path < '/SOLR0' COLLATE NOCASE",
       "path||'' >= '/SOLR/' COLLATE NOCASE AND path||'' < '/SOLR0' COLLATE NOCASE"},
      {"path > '/AUDIT' COLLATE NOCASE AND path <= '/AUDIT/SECRET' COLLATE NOCASE",
       "path||'' > '/AUDIT' COLLATE NOCASE AND path||'' <= '/AUDIT/SECRET' COLLATE NOCASE"},
      {"path >= '/solr  ' COLLATE RTRIM AND path <= '/solr  ' COLLATE RTRIM",
       "path||'' >= '/solr  ' COLLATE RTRIM AND path||'' <= '/solr  ' COLLATE RTRIM"},
      {"parent = '/KAFKA/BROKERS/IDS' COLLATE NOCASE",
       "parent||'' = '/KAFKA/BROKERS/IDS' COLLATE NOCASE"},
      {"parent = '/kafka/brokers/ids ' COLLATE RTRIM",
       "parent||'' = '/kafka/brokers/ids ' COLLATE RTRIM"},
      // An integer comparison has no collation: the same rows either way.
      {"depth <= 1 COLLATE NOCASE", "depth+0 <= 1"},
      {"depth < 2 COLLATE RTRIM AND depth = 1 COLLATE NOCASE", "depth+0 = 1"},
  };
  const std::string offline = "--data-dir " + cluster_->data_dir(0).string();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.where);
    const std::string select = "SELECT path, version FROM znodes WHERE ";
    const std::vector<nlohmann::json> expected = Query(select + c.unindexed + " ORDER BY path");
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(FirstDifference(expected, Query(select + c.where + " ORDER BY path")), "");
    EXPECT_EQ(FirstDifference(expected, Query(select + c.where + " ORDER BY path", offline)), "");
  }
}

// The result's types, and for each field the znodes column it copies
// (aliased too), none for an expression.
TEST_F(QueryLiveTest, ArrowOutputHasTheQuerysTypesAndOrigins) {
  const std::filesystem::path out = TempPath("result.arrow");
  Ran ran =
      RunZkarrow("query " +
                 Shell("SELECT path, depth, data, 1.5 * depth AS half, name AS label, "
                       "parent || '/' AS p FROM znodes WHERE parent = '/kafka' ORDER BY path") +
                 " " + Zk() + " -o " + out.string());
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  Ran schema = RunZkarrow("inspect " + out.string());
  EXPECT_EQ(schema.exit_code, 0) << schema.err;
  for (const char* expected : {"path: utf8", "depth: int64", "data: binary", "half: double"}) {
    EXPECT_NE(schema.out.find(expected), std::string::npos) << expected << "\n" << schema.out;
  }
  EXPECT_EQ(FieldOrigins(out),
            "path=znodes.path depth=znodes.depth data=znodes.data half=- label=znodes.name p=-")
      << schema.out;
  std::filesystem::remove(out);
}

// Last: it takes the server away.
// `query --server` against a real `zkarrow serve` of the same ensemble,
// over Flight and HTTP: the same rows as the live tree, the plan's subtree
// and data=false in the request, and the server's datasets as tables.
TEST_F(QueryLiveTest, ServerQueriesEqualTheLiveOnes) {
  const std::filesystem::path dir = TempPath("serve");
  std::filesystem::create_directories(dir);
  const std::filesystem::path ports = dir / "ports.json";
  auto server = testing::ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--flight", "127.0.0.1:0", "--http", "127.0.0.1:0",
       "--store", (dir / "store").string(), "--ports-file", ports.string()},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(ports) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*server)->Running());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(ports)) << "the server wrote no ports file";
  std::ifstream ports_in(ports);
  const nlohmann::json parsed = nlohmann::json::parse(ports_in);
  const std::string flight = "grpc://127.0.0.1:" + std::to_string(parsed["flight"].get<int>());
  const std::string http = "http://127.0.0.1:" + std::to_string(parsed["http"].get<int>());
  // Ready once the mirror serves the tree.
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    ready = RunZkarrow("query " + Shell("SELECT path FROM znodes WHERE path = '/kafka'") +
                       " --server " + flight + " --format csv")
                .out.find("/kafka") != std::string::npos;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << "the server did not serve /kafka";

  const std::string sql =
      "SELECT path, version, data, data_length, num_children, mzxid, ephemeral_owner "
      "FROM znodes WHERE path LIKE '/kafka/%' ORDER BY path";
  const std::vector<nlohmann::json> live = Query(sql);
  ASSERT_GT(live.size(), 100u);
  for (const std::string& url : {flight, http}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(FirstDifference(live, Query(sql, "--server " + url)), "");
    // Lookups by path (a missing one among them) and by parent.
    const std::string lookups =
        "SELECT p.path, c.name, c.version FROM znodes p JOIN znodes c ON c.parent = p.path "
        "WHERE p.path IN ('/kafka/brokers/ids', '/solr/live_nodes', '/none') ORDER BY 1, 2";
    EXPECT_EQ(FirstDifference(Query(lookups), Query(lookups, "--server " + url)), "");
    // A collated comparison is SQLite's to check, not the request's.
    const std::string collated =
        "SELECT path FROM znodes WHERE path COLLATE NOCASE IN ('/KAFKA', '/Solr/Live_Nodes') "
        "OR parent = '/KAFKA/BROKERS/IDS' COLLATE NOCASE ORDER BY path";
    const std::vector<nlohmann::json> collated_rows = Query(collated);
    EXPECT_GT(collated_rows.size(), 2u);
    EXPECT_EQ(FirstDifference(collated_rows, Query(collated, "--server " + url)), "");
  }

  // The subtree and data=false go into the request: the server sends the
  // brokers and their directory, not the tree.
  Ran explain = RunZkarrow("query " +
                           Shell("SELECT count(*) FROM znodes WHERE path LIKE "
                                 "'/kafka/brokers/ids/%'") +
                           " --server " + flight + " --explain");
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_NE(explain.out.find("the subtree of /kafka/brokers/ids from " + flight + ", data=false"),
            std::string::npos)
      << explain.out;
  const std::vector<nlohmann::json> brokers =
      Query("SELECT count(*) AS n FROM znodes WHERE path LIKE '/kafka/brokers/ids/%'");
  ASSERT_EQ(brokers.size(), 1u);
  EXPECT_NE(explain.out.find("read: " + std::to_string(brokers[0]["n"].get<int64_t>() + 1) + ";"),
            std::string::npos)
      << explain.out;

  // A dataset: a snapshot of /solr uploaded with put, queried by both names.
  const std::filesystem::path snapshot = dir / "solr.arrow";
  Ran snap = RunZkarrow("snapshot " + Zk() + " --path /solr -o " + snapshot.string());
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  Ran put = RunZkarrow("put " + snapshot.string() + " " + http + "/datasets/solr");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::vector<nlohmann::json> solr = Query(
      "SELECT count(*) AS n, sum(data_length) AS bytes FROM znodes WHERE path LIKE '/solr/%' "
      "OR path = '/solr'");
  for (const char* table : {"datasets.solr", "dataset('solr')"}) {
    SCOPED_TRACE(table);
    EXPECT_EQ(Query(std::string("SELECT count(*) AS n, sum(data_length) AS bytes FROM ") + table,
                    "--server " + flight),
              solr);
  }
  // A dataset's columns are named with their schema, so a snapshot's path
  // is no live znodes.path.
  const std::filesystem::path from_dataset = dir / "from-dataset.arrow";
  Ran copied = RunZkarrow("query " +
                          Shell("SELECT d.path, z.path AS live, d.name FROM dataset('solr') d "
                                "JOIN znodes z ON z.path = d.path WHERE d.path = '/solr'") +
                          " --server " + flight + " -o " + from_dataset.string());
  ASSERT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_EQ(FieldOrigins(from_dataset),
            "path=datasets.solr.path live=znodes.path name=datasets.solr.name");
  Ran missing = RunZkarrow("query " + Shell("SELECT * FROM datasets.nope") + " --server " + http);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such table: datasets.nope"), std::string::npos) << missing.err;

  // The server going away mid-query: a failure of the run (exit 1, a
  // server error), not 3, which the CLI keeps for ZooKeeper itself being
  // unreachable. One lookup per row of a long series keeps the query
  // reading whenever the server dies.
  if (::access("/usr/bin/curl", X_OK) != 0) ZKA_MISSING_PREREQUISITE() << "curl is not installed";
  auto requests = [&]() -> int64_t {
    auto metrics = testing::RunCommand("curl -sf " + http + "/metrics");
    if (!metrics.ok()) return -1;
    int64_t total = 0;
    std::istringstream lines(*metrics);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("zkarrow_http_requests_total{")) {
        total += std::stoll(line.substr(line.rfind(' ') + 1));
      }
    }
    return total;
  };
  const int64_t before = requests();
  ASSERT_GE(before, 0);
  const std::string away =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
      "SELECT count(*) FROM n, znodes z WHERE z.path = '/missing-' || n.i";
  const std::filesystem::path err = dir / "away.err";
  const std::string command = std::string(ZKARROW_BINARY) + " query " + Shell(away) + " --server " +
                              http + " --format csv 2>" + err.string();
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  ASSERT_TRUE(pipe);
  while (std::chrono::steady_clock::now() < deadline + std::chrono::seconds(60) &&
         requests() < before + 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(requests(), before + 50) << "the query sent no lookups";
  ASSERT_EQ(::kill((*server)->pid(), SIGKILL), 0);
  std::string out;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) > 0) {
    out.append(chunk.data(), n);
  }
  const int status = ::pclose(pipe.release());
  std::ifstream err_in(err);
  std::stringstream err_text;
  err_text << err_in.rdbuf();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << err_text.str();
  EXPECT_NE(err_text.str().find("zkarrow query: "), std::string::npos) << err_text.str();
  EXPECT_NE(err_text.str().find(http), std::string::npos) << err_text.str();
  EXPECT_EQ(out, "");
  std::filesystem::remove_all(dir);
}

// Percent-encodes `text` for a request target's parameter value.
std::string PercentEncoded(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// `zkarrow serve` answers /query?sql=... over its own mirror and datasets:
// the same rows as `query --zk`, read as a Flight ticket (zkarrow get and
// Node's independent Flight client) and over HTTP (curl); bad SQL, unknown
// tables, files, an oversize target and a query past --query-timeout-ms
// are refused with their message.
TEST_F(QueryLiveTest, ServeAnswersQueries) {
  if (::access("/usr/bin/curl", X_OK) != 0) ZKA_MISSING_PREREQUISITE() << "curl is not installed";
  // Siblings of /names/a that sort between it and its child /names/a/y.
  const std::vector<std::string> names = {"/names",     "/names/a",   "/names/a/y",   "/names/a b",
                                          "/names/a%b", "/names/a-x", "/names/a-x/z", "/names/a.b"};
  for (const std::string& path : names) {
    auto created = owner_->Create(path, "", zk::OpenAclUnsafe()).get();
    ASSERT_TRUE(created.ok()) << path << ": " << created.status().ToString();
  }
  const std::filesystem::path dir = TempPath("serve-query");
  std::filesystem::create_directories(dir);
  const std::filesystem::path ports = dir / "ports.json";
  // Generous for the small queries below, short enough for the endless one.
  constexpr int kQueryTimeoutMs = 20'000;
  auto server = testing::ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--flight", "127.0.0.1:0", "--http", "127.0.0.1:0",
       "--store", (dir / "store").string(), "--ports-file", ports.string(), "--query-timeout-ms",
       std::to_string(kQueryTimeoutMs)},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(ports) && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*server)->Running());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(ports)) << "the server wrote no ports file";
  std::ifstream ports_in(ports);
  const nlohmann::json parsed = nlohmann::json::parse(ports_in);
  const int flight_port = parsed["flight"].get<int>();
  const std::string flight = "grpc://127.0.0.1:" + std::to_string(flight_port);
  const std::string http = "http://127.0.0.1:" + std::to_string(parsed["http"].get<int>());
  auto target = [](const std::string& sql) { return "/query?sql=" + PercentEncoded(sql); };
  // Ready once the mirror serves the tree (-f: before that, the answer is
  // an error's JSON, not a stream to read).
  const std::string probe = target("SELECT path FROM znodes WHERE path = '/kafka'");
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    auto got = testing::RunCommand("curl -sf " + Shell(http + probe) + " -o " +
                                   Shell((dir / "probe.arrow").string()));
    ready =
        got.ok() &&
        Query("SELECT * FROM read_arrow('" + (dir / "probe.arrow").string() + "')", "").size() == 1;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << "the server did not answer a query for /kafka";

  const std::string sql =
      "SELECT path, version, data, data_length, num_children, mzxid, ephemeral_owner "
      "FROM znodes WHERE path LIKE '/kafka/%' ORDER BY path";
  const std::vector<nlohmann::json> live = Query(sql);
  ASSERT_GT(live.size(), 100u);
  auto rows_of = [&](const std::filesystem::path& file) {
    return Query("SELECT * FROM read_arrow('" + file.string() + "')", "");
  };
  const std::filesystem::path by_flight = dir / "flight.arrow";
  Ran got = RunZkarrow("get " + Shell(flight + target(sql)) + " -o " + by_flight.string());
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(FirstDifference(live, rows_of(by_flight)), "");
  const std::filesystem::path by_http = dir / "http.arrow";
  auto curled = testing::RunCommand("curl -sf " + Shell(http + target(sql)) + " -o " +
                                    Shell(by_http.string()));
  ASSERT_TRUE(curled.ok()) << curled.status().ToString();
  EXPECT_EQ(FirstDifference(live, rows_of(by_http)), "");
  // The server's answer names each field's source column as a local query does.
  EXPECT_EQ(FieldOrigins(by_http),
            "path=znodes.path version=znodes.version data=znodes.data "
            "data_length=znodes.data_length num_children=znodes.num_children mzxid=znodes.mzxid "
            "ephemeral_owner=znodes.ephemeral_owner");
  // POST /query: the statement as the body, here one over the URL limit.
  const std::string long_sql =
      "SELECT path, version, data, data_length, num_children, mzxid, ephemeral_owner "
      "FROM znodes WHERE path LIKE '/kafka/%' AND path <> '" +
      std::string(9000, 'x') + "' ORDER BY path";
  const std::filesystem::path sql_file = dir / "long.sql";
  std::ofstream(sql_file) << long_sql;
  const std::filesystem::path by_post = dir / "post.arrow";
  auto posted = testing::RunCommand("curl -sf --data-binary @" + Shell(sql_file.string()) + " " +
                                    Shell(http + "/query") + " -o " + Shell(by_post.string()));
  ASSERT_TRUE(posted.ok()) << posted.status().ToString();
  EXPECT_EQ(FirstDifference(live, rows_of(by_post)), "");
  // A subtree whose root has siblings sorting inside it: the root and its
  // descendants, over GET /znodes and POST /query alike.
  const std::vector<nlohmann::json> subtree = {{{"path", "/names/a"}}, {{"path", "/names/a/y"}}};
  const std::filesystem::path by_path = dir / "subtree.arrow";
  auto listed = testing::RunCommand(
      "curl -sf " + Shell(http + "/znodes?data=false&path=" + PercentEncoded("/names/a")) + " -o " +
      Shell(by_path.string()));
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(Query("SELECT path FROM read_arrow('" + by_path.string() + "') ORDER BY path", ""),
            subtree);
  const std::string subtree_sql =
      "SELECT path FROM znodes WHERE path = '/names/a' OR path LIKE '/names/a/%' ORDER BY path";
  EXPECT_EQ(Query(subtree_sql), subtree);
  std::ofstream(sql_file, std::ios::trunc) << subtree_sql;
  const std::filesystem::path subtree_post = dir / "subtree-post.arrow";
  posted = testing::RunCommand("curl -sf --data-binary @" + Shell(sql_file.string()) + " " +
                               Shell(http + "/query") + " -o " + Shell(subtree_post.string()));
  ASSERT_TRUE(posted.ok()) << posted.status().ToString();
  EXPECT_EQ(rows_of(subtree_post), subtree);
  // A server's dataset, by both names.
  const std::filesystem::path snapshot = dir / "solr.arrow";
  Ran snap = RunZkarrow("snapshot " + Zk() + " --path /solr -o " + snapshot.string());
  ASSERT_EQ(snap.exit_code, 0) << snap.err;
  Ran put = RunZkarrow("put " + snapshot.string() + " " + http + "/datasets/solr");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const std::vector<nlohmann::json> solr = Query(
      "SELECT count(*) AS n, sum(data_length) AS bytes FROM znodes WHERE path LIKE "
      "'/solr/%' OR path = '/solr'");
  for (const char* table : {"datasets.solr", "dataset('solr')"}) {
    SCOPED_TRACE(table);
    const std::filesystem::path file = dir / "dataset.arrow";
    got = RunZkarrow("get " +
                     Shell(flight + target(std::string("SELECT count(*) AS n, sum(data_length) AS "
                                                       "bytes FROM ") +
                                           table)) +
                     " -o " + file.string());
    ASSERT_EQ(got.exit_code, 0) << got.err;
    EXPECT_EQ(rows_of(file), solr);
  }

  // Node's own Flight client reads the ticket as Arrow JS reads the HTTP
  // response.
  if (!testing::RunCommand("command -v node >/dev/null").ok()) {
    ZKA_MISSING_PREREQUISITE() << "node is not installed";
  }
  const std::string interop = std::string(ZKARROW_SOURCE_DIR) + "/tests/interop/";
  auto node_get = testing::RunCommand("node " + Shell(interop + "flight_client.mjs") + " " +
                                      std::to_string(flight_port) + " get " + Shell(target(sql)));
  ASSERT_TRUE(node_get.ok()) << node_get.status().ToString();
  auto node_read = testing::RunCommand("node " + Shell(interop + "read_with.mjs") + " arrowjs " +
                                       Shell(by_http.string()));
  ASSERT_TRUE(node_read.ok()) << node_read.status().ToString();
  const std::string read_dump = node_read->substr(node_read->find('\n') + 1);  // after {"file"}
  EXPECT_GT(read_dump.size(), 1000u);
  EXPECT_EQ(*node_get, read_dump);

  // Refusals: status and message.
  auto refused = [&](const std::string& request_target, const std::string& expected_status,
                     const std::string& expected_message) {
    SCOPED_TRACE(request_target.substr(0, 200));
    const std::filesystem::path body = dir / "error.json";
    auto code = testing::RunCommand("curl -s -o " + Shell(body.string()) + " -w '%{http_code}' " +
                                    Shell(http + request_target));
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    EXPECT_EQ(*code, expected_status);
    std::ifstream in(body);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(expected_message), std::string::npos) << text.str();
  };
  refused(target("SELEC path FROM znodes"), "400", "SQL error: near \\\"SELEC\\\": syntax error");
  refused(target("SELECT * FROM datasets.nope"), "400", "no such table: datasets.nope");
  refused(target("SELECT * FROM read_arrow('" + snapshot.string() + "')"), "400",
          "is not available here");
  refused(target("ATTACH DATABASE '" + (dir / "x.db").string() + "' AS x"), "400",
          "ATTACH is not available here");
  refused(target("SELECT '" + std::string(9000, 'x') + "'"), "400", "expected at most 8192");
  refused("/query", "400", "/query needs sql=STATEMENT");
  refused("/query?sql=SELECT+1&limit=3", "400", "/query takes sql=, not limit=");

  // A query that never ends fails with the timeout (Flight: the call's
  // status, which get reports).
  got = RunZkarrow("get " +
                   Shell(flight + target("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + "
                                         "1 FROM n) SELECT count(*) FROM n")) +
                   " -o " + (dir / "endless.arrow").string());
  EXPECT_NE(got.exit_code, 0);
  EXPECT_NE(got.err.find("the query ran longer than its limit of " +
                         std::to_string(kQueryTimeoutMs) + " ms"),
            std::string::npos)
      << got.err;
  EXPECT_TRUE((*server)->Running());
  std::filesystem::remove_all(dir);
  for (auto path = names.rbegin(); path != names.rend(); ++path) {
    EXPECT_TRUE(owner_->Delete(*path).get().ok()) << *path;
  }
}

TEST_F(QueryLiveTest, ServerGoingAwayMidQueryFailsClearly) {
  // One point read per row of a long series (of paths that do not exist,
  // which no scan can remember): the query is still reading when the server
  // dies, whenever that is.
  const std::string sql =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
      "SELECT count(*) FROM n, znodes z WHERE z.path = '/missing-' || n.i";
  const std::filesystem::path err = TempPath("away-stderr");
  const std::string command = std::string(ZKARROW_BINARY) + " query " + Shell(sql) + " " + Zk() +
                              " --session-timeout-ms 4000 --format csv 2>" + err.string();
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  ASSERT_TRUE(pipe);
  // Wait until the query is reading (the server counts its point reads),
  // then kill the server.
  const int64_t before = MntrCounter(*cluster_, "zk_packets_received");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         MntrCounter(*cluster_, "zk_packets_received") < before + 100) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(cluster_->Kill(0).ok());
  std::string out;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) > 0)
    out.append(chunk.data(), n);
  const int status = ::pclose(pipe.release());
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(err);
  ASSERT_TRUE(WIFEXITED(status));
  // 3 (report.h): ZooKeeper unreachable or the session expired.
  EXPECT_EQ(WEXITSTATUS(status), 3) << text.str();
  EXPECT_NE(text.str().find("zkarrow query: "), std::string::npos) << text.str();
  EXPECT_TRUE(text.str().find("CONNECTIONLOSS") != std::string::npos ||
              text.str().find("SESSIONEXPIRED") != std::string::npos)
      << text.str();
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace zkarrow
