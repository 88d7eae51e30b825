// `zkarrow serve`, `get` and `put` as users run them, against a real
// ZooKeeper server: one server process for the suite (Flight and HTTP on
// free loopback ports), read and written by the zkarrow binary, curl, kazoo
// and Node's independent Arrow and gRPC libraries.
// - what the server serves equals `zkarrow snapshot` of the same tree;
// - while a writer changes the tree, every `znodes` response equals the
//   replay of the `changes` stream up to the response's zkarrow.zxid;
// - `sync` then `get` sees a write just made;
// - datasets round-trip over both protocols, replace atomically, and bad,
//   cut or interrupted uploads (the server killed mid-way, `put` of a
//   stream without its marker, bytes after the marker), and compressed
//   ones that decode past --max-upload-mb, leave nothing; a read racing a
//   replace or a drop sees one version or none; `get` stopped by --for
//   before a dataset's end writes nothing;
// - paused znodes responses keep their copies for the response cache
//   within its budget;
// - a client killed mid-download does not disturb the server; SIGTERM ends
//   it cleanly with live streams open;
// - on a kept connection, a delete after a query that waited for its
//   worker is answered (not left unanswered for a browser to send again);
// - a TLS client gone from a quiet live stream (close_notify, then FIN) is
//   noticed at once, not by TCP keepalive.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/reader.h"
#include "interop/canonical_dump.h"
#include "serve/dataset_catalog.h"
#include "serve/dataset_store.h"
#include "serve/service.h"
#include "serve/tree_service.h"
#include "support/prerequisite.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "transport/resource.h"
#include "watch/watch_test_util.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/znode_schema.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using testing::DiffRows;
using testing::ReadChangeRows;
using testing::ReadZnodeRows;
using testing::Replay;
using testing::RunCommand;
using testing::ZkarrowProcess;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool HaveCurl() { return ::access("/usr/bin/curl", X_OK) == 0; }

bool HaveOpenssl() { return RunCommand("command -v openssl >/dev/null").ok(); }

// A self-signed certificate for 127.0.0.1 and its key, made by the openssl
// CLI as a user would make them.
Status MakeCertificate(const fs::path& cert, const fs::path& key) {
  return RunCommand(
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout " +
             key.string() + " -out " + cert.string() + " 2>&1")
      .status();
}

// The ports a `zkarrow serve` started with --ports-file listens on, once
// it wrote them (a bounded wait); null when it exited or never did.
nlohmann::json WaitForPorts(ZkarrowProcess& server, const fs::path& ports) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(ports) && std::chrono::steady_clock::now() < deadline && server.Running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!fs::exists(ports)) return nullptr;
  return nlohmann::json::parse(ReadText(ports));
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 1});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto writer = zk::Client::Connect(options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer).release();
    suite_dir_ = fs::temp_directory_path() / ("zkarrow-serve-" + std::to_string(::getpid()));
    fs::remove_all(suite_dir_);
    fs::create_directories(suite_dir_);
    ASSERT_NO_FATAL_FAILURE(StartServer());
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete writer_;
    writer_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
    if (!::testing::UnitTest::GetInstance()->Failed()) fs::remove_all(suite_dir_);
  }

  // The suite's server (again, after a test killed it), serving the whole
  // tree with its datasets in suite_dir_/store, with `extra` arguments.
  static void StartServer(const std::vector<std::string>& extra = {}) {
    const fs::path ports = suite_dir_ / "ports.json";
    fs::remove(ports);
    std::vector<std::string> args = {"--zk",         cluster_->ConnectString(),
                                     "--flight",     "127.0.0.1:0",
                                     "--http",       "127.0.0.1:0",
                                     "--store",      (suite_dir_ / "store").string(),
                                     "--ports-file", ports.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    // A server still running goes first: two cannot share the store, and a
    // new one that found it locked would exit.
    delete server_;
    server_ = nullptr;
    auto server = ZkarrowProcess::Start(
        "serve", args, suite_dir_ / ("serve-" + std::to_string(++server_starts_) + ".err"));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(ports) && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(server_->Running())
          << ReadText(suite_dir_ / ("serve-" + std::to_string(server_starts_) + ".err"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(ports)) << "the server wrote no ports file";
    nlohmann::json parsed = nlohmann::json::parse(ReadText(ports));
    flight_port_ = parsed["flight"].get<int>();
    flight_ = "grpc://127.0.0.1:" + std::to_string(flight_port_);
    http_ = "http://127.0.0.1:" + std::to_string(parsed["http"].get<int>());
    // Ready once the initial state is served.
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
      ready = RunCommand("curl -sf " + http_ + "/healthz > /dev/null").ok();
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(ready) << "the server did not become healthy";
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the shared server failed to start; see above";
    if (!HaveCurl()) ZKA_MISSING_PREREQUISITE() << "curl is not installed";
  }

  void TearDown() override {
    if (HasFailure()) {
      std::printf(
          "--- server log:\n%s\n",
          ReadText(suite_dir_ / ("serve-" + std::to_string(server_starts_) + ".err")).c_str());
    }
  }

  static fs::path Dir(const std::string& name) {
    fs::path dir = suite_dir_ / name;
    fs::create_directories(dir);
    return dir;
  }

  static void MustCreate(const std::string& path, const std::string& data) {
    auto created = writer_->Create(path, data, zk::OpenAclUnsafe()).get();
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // Creates the node `path` and writes its one-row table to `file` as an
  // Arrow IPC stream: an upload whose bytes a test can cut or extend.
  static void MustStreamOfANewNode(const std::string& path, const fs::path& file) {
    ASSERT_NO_FATAL_FAILURE(MustCreate(path, "v1"));
    ASSERT_NO_FATAL_FAILURE(MustSnapshot(path, file, "--format stream"));
  }

  // `zkarrow snapshot` of the subtree `path` into `file`, with `options`
  // (e.g. "--format stream"): any Arrow table will do as an upload.
  static void MustSnapshot(const std::string& path, const fs::path& file,
                           const std::string& options = "") {
    auto written = Zkarrow("snapshot --zk " + cluster_->ConnectString() + " --path " + path +
                           " -o " + file.string() + " " + options);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }

  // /same: 300 children with JSON or empty data and one with ZooKeeper's
  // null data (by kazoo: the mirror keeps it apart from empty), served.
  // Made by the first test that needs it, so that each runs alone too.
  static void MustHaveTheSameTree() {
    const std::string root = "/same";
    auto exists = writer_->Exists(root).get();
    ASSERT_TRUE(exists.ok()) << exists.status().ToString();
    if (!exists->has_value()) {
      MustCreate(root, "root");
      for (int i = 0; i < 300; ++i) {
        MustCreate(root + "/n" + std::to_string(i),
                   i % 3 ? "{\"i\": " + std::to_string(i) + "}" : "");
      }
      ASSERT_TRUE(RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR
                             "/tests/support/kazoo_null_data.py " +
                             cluster_->ConnectString() + " create " + root + "/null")
                      .ok());
    }
    ASSERT_TRUE(Sync(SetAndGetZxid(root, "synced")).ok());
  }

  // The zxid of a write just made, for read-your-writes.
  static int64_t SetAndGetZxid(const std::string& path, const std::string& data) {
    auto stat = writer_->SetData(path, data, -1).get();
    EXPECT_TRUE(stat.ok()) << stat.status().ToString();
    return stat.ok() ? stat->mzxid : 0;
  }

  static Status Sync(int64_t zxid) {
    return RunCommand("curl -sf -X POST -H 'Content-Type: application/json' -d '{\"zxid\": " +
                      std::to_string(zxid) + "}' " + http_ + "/actions/sync > /dev/null")
        .status();
  }

  static Result<std::string> Zkarrow(const std::string& args) {
    return RunCommand(std::string(ZKARROW_BINARY) + " " + args + " 2>&1");
  }

  // The value of a metric without labels in the /metrics of `server` (the
  // suite's, or another's base URL, curl options before it).
  static int64_t Metric(const std::string& name, const std::string& server = http_) {
    const fs::path file = Dir("metrics") / "metrics.txt";
    EXPECT_EQ(CurlStatus(server + "/metrics", file), 200);
    const std::string text = "\n" + ReadText(file);
    const std::string key = "\n" + name + " ";
    const size_t at = text.find(key);
    EXPECT_NE(at, std::string::npos) << name << " not in\n" << text;
    return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + key.size());
  }

  // The exit status of zkarrow with `args` (shell words), its stderr to
  // `err`.
  static int ZkarrowExit(const std::string& args, const fs::path& err) {
    auto out = RunCommand(std::string(ZKARROW_BINARY) + " " + args + " > /dev/null 2> " +
                          err.string() + "; echo $?");
    return out.ok() ? std::atoi(out->c_str()) : -1;
  }

  // HTTP status of a curl request (its body to `body_file`).
  static int CurlStatus(const std::string& args, const fs::path& body_file) {
    auto out = RunCommand("curl -s -o " + body_file.string() + " -w '%{http_code}' " + args);
    return out.ok() ? std::atoi(out->c_str()) : -1;
  }

  static zkserver::ZooKeeperCluster* cluster_;
  static zk::Client* writer_;
  static ZkarrowProcess* server_;
  static int server_starts_;
  static fs::path suite_dir_;
  static int flight_port_;
  static std::string flight_;
  static std::string http_;
};

zkserver::ZooKeeperCluster* ServeTest::cluster_ = nullptr;
zk::Client* ServeTest::writer_ = nullptr;
ZkarrowProcess* ServeTest::server_ = nullptr;
int ServeTest::server_starts_ = 0;
fs::path ServeTest::suite_dir_;
int ServeTest::flight_port_ = 0;
std::string ServeTest::flight_;
std::string ServeTest::http_;

TEST_F(ServeTest, ZnodesEqualSnapshotOverFlightAndHttp) {
  const std::string root = "/same";
  ASSERT_NO_FATAL_FAILURE(MustHaveTheSameTree());
  const fs::path dir = Dir("same");
  ASSERT_NO_FATAL_FAILURE(MustSnapshot(root, dir / "snapshot.arrow"));
  auto expected = ReadZnodeRows(dir / "snapshot.arrow");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_EQ(expected->size(), 302u);

  for (const std::string& url :
       {flight_ + "/znodes?path=" + root, http_ + "/znodes?path=" + root}) {
    SCOPED_TRACE(url);
    const fs::path out = dir / "served.arrow";
    auto got = Zkarrow("get '" + url + "' -o " + out.string());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto rows = ReadZnodeRows(out);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(DiffRows(*expected, *rows), "");
    auto null_row = std::find_if(rows->begin(), rows->end(),
                                 [&](const auto& row) { return row["path"] == root + "/null"; });
    ASSERT_NE(null_row, rows->end());
    EXPECT_TRUE((*null_row)["data_hex"].is_null() && (*null_row)["error"].is_null())
        << null_row->dump();
    // The response says which state it is, and that it holds data.
    auto file = arrow::ipc::FileReader::OpenPath(out);
    ASSERT_TRUE(file.ok());
    bool labelled = false;
    bool data_read = false;
    for (const auto& [key, value] : (*file)->schema().metadata) {
      labelled = labelled || (key == serve::kMetaZxid && std::stoll(value) > 0);
      data_read = data_read || (key == znodes::kMetaData && value == znodes::kMetaDataRead);
    }
    EXPECT_TRUE(labelled);
    EXPECT_TRUE(data_read);
  }

  // The second client of the same state got the response encoded once.
  ASSERT_EQ(CurlStatus(http_ + "/metrics", dir / "metrics.txt"), 200);
  const std::string metrics = ReadText(dir / "metrics.txt");
  const std::string key = "\nzkarrow_znodes_cache_hits_total ";
  const size_t hits = metrics.find(key);
  ASSERT_NE(hits, std::string::npos) << metrics;
  EXPECT_GE(std::atoll(metrics.c_str() + hits + key.size()), 1) << metrics.substr(hits, 50);
  // The Flight listener's calls are in the same /metrics.
  const std::string flight_gets = "\nzkarrow_flight_calls_total{method=\"DoGet\",code=\"OK\"} ";
  const size_t gets = metrics.find(flight_gets);
  ASSERT_NE(gets, std::string::npos) << metrics;
  EXPECT_GE(std::atoll(metrics.c_str() + gets + flight_gets.size()), 1);

  // Options: no data, typed columns, a path that is not there.
  const fs::path bare = dir / "bare.arrows";
  ASSERT_TRUE(Zkarrow("get '" + http_ + "/znodes?path=" + root + "&data=false&typed=true' -o " +
                      bare.string())
                  .ok());
  auto bare_rows = ReadZnodeRows(bare);
  ASSERT_TRUE(bare_rows.ok()) << bare_rows.status().ToString();
  ASSERT_EQ(bare_rows->size(), 302u);
  for (const auto& row : *bare_rows) EXPECT_TRUE(row["data_hex"].is_null()) << row.dump();
  EXPECT_EQ(CurlStatus("'" + http_ + "/znodes?path=/no/such'", dir / "missing.json"), 404);
  EXPECT_EQ(CurlStatus("'" + http_ + "/znodes?frobnicate=1'", dir / "unknown.json"), 400);
  EXPECT_NE(ReadText(dir / "unknown.json").find("unknown parameter frobnicate"), std::string::npos);

  // Only the named columns, in the order named, on both transports; rows
  // sorted by path (byte order), parents first, which the web UI relies on.
  std::map<std::string, int64_t> lengths;
  for (const auto& row : *expected) lengths[row["path"]] = row["data_length"].get<int64_t>();
  for (const std::string& base : {flight_, http_}) {
    const std::string url = base + "/znodes?path=" + root + "&columns=data_length,path,kind";
    SCOPED_TRACE(url);
    const fs::path out = dir / "columns.arrow";
    auto got = Zkarrow("get '" + url + "' -o " + out.string());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto file = arrow::ipc::FileReader::OpenPath(out);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    std::vector<std::string> names;
    for (const auto& field : (*file)->schema().fields) names.push_back(field.name);
    EXPECT_EQ(names, (std::vector<std::string>{"data_length", "path", "kind"}));
    std::vector<std::string> paths;
    for (int b = 0; b < (*file)->num_batches(); ++b) {
      auto batch = (*file)->ReadBatch(b);
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      ASSERT_EQ(batch->columns.size(), 3u);
      for (int64_t i = 0; i < batch->length; ++i) {
        auto path = arrow::BinaryValue(*batch->columns[1], i, false);
        paths.emplace_back(path.begin(), path.end());
        const int64_t length =
            arrow::ReadInt(arrow::FixedWidthValue(*batch->columns[0], i, 4), true);
        EXPECT_EQ(length, lengths[paths.back()]) << paths.back();
      }
    }
    EXPECT_EQ(paths.size(), 302u);
    EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  }
  EXPECT_EQ(CurlStatus("'" + http_ + "/znodes?columns=path,sizes'", dir / "bad_column.json"), 400);
  const std::string bad_column = ReadText(dir / "bad_column.json");
  EXPECT_NE(bad_column.find("expected names among path,name,parent,depth"), std::string::npos)
      << bad_column;
  EXPECT_NE(bad_column.find("found \\\"sizes\\\""), std::string::npos) << bad_column;
}

// A projection is built column by column, not cut from the full table:
// every projected response must still equal the full response's same
// columns (schema with its metadata, and values), for every column, in
// any order, with and without data and typed values, on both transports.
TEST_F(ServeTest, ProjectedColumnsEqualTheFullTablesColumns) {
  const std::string root = "/projected";
  MustCreate(root, "{\"kind\": \"config\"}");
  for (int i = 0; i < 40; ++i) {
    const std::string data = i % 4 == 0   ? ""
                             : i % 4 == 1 ? std::to_string(i * 7)
                             : i % 4 == 2 ? "x" + std::string(static_cast<size_t>(i), 'y')
                                          : "1.5";
    MustCreate(root + "/n" + std::to_string(i), data);
  }
  auto ephemeral =
      writer_->Create(root + "/ephemeral", "owned", zk::OpenAclUnsafe(), zk::CreateMode::kEphemeral)
          .get();
  ASSERT_TRUE(ephemeral.ok()) << ephemeral.status().ToString();
  MustCreate(root + "/box", "");
  MustCreate(root + "/box/in", "inside");
  ASSERT_TRUE(Sync(SetAndGetZxid(root, "{\"kind\": \"synced\"}")).ok());
  const fs::path dir = Dir("projected");

  // The response of `query` over HTTP (the raw bytes, by curl) or Flight.
  auto fetch = [&](const std::string& base, const std::string& query,
                   const std::string& name) -> Result<fs::path> {
    const fs::path out = dir / (name + ".arrows");
    const std::string url = base + "/znodes?path=" + root + query;
    if (base == http_) {
      ZKA_RETURN_IF_ERROR(RunCommand("curl -sf -o " + out.string() + " '" + url + "'").status());
    } else {
      ZKA_RETURN_IF_ERROR(Zkarrow("get '" + url + "' --format stream -o " + out.string()).status());
    }
    return out;
  };
  auto schema_of = [](const fs::path& file) -> Result<arrow::Schema> {
    ZKA_ASSIGN_OR_RETURN(auto input, arrow::FileInputStream::Open(file));
    ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(std::move(input)));
    return reader->schema();
  };

  const arrow::Schema table = znodes::ZnodeTableSchema(/*typed_values=*/true);
  std::string every_column_reversed;
  for (auto field = table.fields.rbegin(); field != table.fields.rend(); ++field) {
    every_column_reversed += (every_column_reversed.empty() ? "" : ",") + field->name;
  }
  struct Case {
    std::string options;  // besides path and columns
    std::string columns;
  };
  const std::vector<Case> cases = {
      {"&data=false", "path,kind,ephemeral_owner,data_length,depth,error"},  // the web UI's
      {"", "error,acl,ttl_ms,mtime,ctime,name,parent,data,version,czxid"},
      {"&typed=true", every_column_reversed},
      {"&typed=true&data=false", "value_type,path,value_text,value_int,value_float,kind"},
      {"", "depth"},
  };
  int n = 0;
  for (const std::string& base : {http_, flight_}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(base + " " + c.options + " columns=" + c.columns);
      const std::string name = std::to_string(n++);
      auto full = fetch(base, c.options, name + "-full");
      ASSERT_TRUE(full.ok()) << full.status().ToString();
      auto projected = fetch(base, c.options + "&columns=" + c.columns, name + "-projected");
      ASSERT_TRUE(projected.ok()) << projected.status().ToString();

      // The schema: the full one's fields at the named positions, the same
      // metadata (the same state's label).
      const bool typed = c.options.find("typed=true") != std::string::npos;
      auto columns = znodes::ZnodeColumnsNamed(c.columns, typed);
      ASSERT_TRUE(columns.ok()) << columns.status().ToString();
      auto full_schema = schema_of(*full);
      ASSERT_TRUE(full_schema.ok()) << full_schema.status().ToString();
      auto projected_schema = schema_of(*projected);
      ASSERT_TRUE(projected_schema.ok()) << projected_schema.status().ToString();
      EXPECT_TRUE(*projected_schema == znodes::SelectFields(*full_schema, *columns));
      EXPECT_EQ(projected_schema->metadata, full_schema->metadata);

      // The values, row by row.
      auto full_rows = interop::CanonicalDump(*full);
      ASSERT_TRUE(full_rows.ok()) << full_rows.status().ToString();
      auto projected_rows = interop::CanonicalDump(*projected);
      ASSERT_TRUE(projected_rows.ok()) << projected_rows.status().ToString();
      ASSERT_EQ(full_rows->size(), 1u + 44u);  // the fields line, then the rows
      std::vector<nlohmann::json> expected = {(*projected_rows)[0]};
      for (size_t row = 1; row < full_rows->size(); ++row) {
        nlohmann::json values = nlohmann::json::array();
        for (int column : *columns)
          values.push_back((*full_rows)[row][static_cast<size_t>(column)]);
        expected.push_back(std::move(values));
      }
      EXPECT_EQ(interop::DiffCanonicalDumps(expected, *projected_rows), "");
    }
  }
  // Both kinds the web UI tells apart were there to compare.
  auto webui = interop::CanonicalDump(dir / "0-projected.arrows");
  ASSERT_TRUE(webui.ok());
  std::set<std::string> kinds;
  for (size_t row = 1; row < webui->size(); ++row)
    kinds.insert((*webui)[row][1].get<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"persistent", "ephemeral"}));
}

// A GET over a socket whose receive buffer is small and fixed (the kernel
// would otherwise let a paused reader's buffer grow to tens of megabytes):
// the server can run ahead of a reader that stops only by what the sockets
// hold, a few megabytes.
class PausableGet {
 public:
  PausableGet(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int size = 64 << 10;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    connected_ = connected_ && ::send(fd_, request.data(), request.size(), 0) ==
                                   static_cast<ssize_t>(request.size());
  }
  ~PausableGet() { ::close(fd_); }
  bool connected() const { return connected_; }

  // Reads at least `bytes` more, or to the end when 0; false at an error.
  bool Read(size_t bytes) {
    const size_t want = received_.size() + bytes;
    char buffer[1 << 16];
    while (bytes == 0 || received_.size() < want) {
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0) return false;
      if (n == 0) return bytes == 0;
      received_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  // The body of a complete chunked response; empty if it is not one.
  std::string Body() const {
    size_t at = received_.find("\r\n\r\n");
    if (at == std::string::npos) return "";
    at += 4;
    std::string body;
    while (at < received_.size()) {
      const size_t line_end = received_.find("\r\n", at);
      if (line_end == std::string::npos) return "";
      const size_t size = std::stoul(received_.substr(at, line_end - at), nullptr, 16);
      if (size == 0) return body;
      body += received_.substr(line_end + 2, size);
      at = line_end + 2 + size + 2;
    }
    return "";
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

// A response points into the state it was cut from; nodes that later
// epochs replace or delete while it is being sent are kept for it. A large
// response whose client pauses while every node of it changes or goes, still
// holds the state it was cut from, row for row.
TEST_F(ServeTest, SlowResponseKeepsItsStateWhileEveryNodeChanges) {
  const std::string root = "/slow";
  // 24 MB: more than the sockets buffer, so most of it is encoded after
  // the changes below were published.
  constexpr int kNodes = 6000;
  const std::string pad(4000, 'p');
  MustCreate(root, "");
  std::vector<std::future<Result<zk::CreateResult>>> created;
  for (int i = 0; i < kNodes; ++i) {
    created.push_back(writer_->Create(root + "/n" + std::to_string(i), std::to_string(i) + pad));
  }
  for (auto& create : created) ASSERT_TRUE(create.get().ok());
  // A server started now reads them as its initial state, which no epoch
  // of the history holds: only the response keeps the nodes it sends.
  ::kill(server_->pid(), SIGTERM);
  ASSERT_TRUE(server_->Wait(std::chrono::seconds(30)).ok());
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_TRUE(Sync(SetAndGetZxid(root, "before")).ok());
  const fs::path dir = Dir("slow");
  const std::string url = http_ + "/znodes?path=" + root;
  const fs::path before = dir / "before.arrows";
  ASSERT_TRUE(RunCommand("curl -sf -o " + before.string() + " '" + url + "'").ok());

  const fs::path slow = dir / "slow.arrows";
  // The response's state is cut once its first bytes arrive; then the
  // client stops reading, and the server stops encoding once the sockets
  // are full, a small part of the response.
  // Every column named: the same table as `before`, but not its response,
  // which the server keeps encoded for the same request of the same state.
  std::string every_column;
  for (const auto& field : znodes::ZnodeTableSchema(false).fields) {
    every_column += (every_column.empty() ? "" : ",") + field.name;
  }
  PausableGet get(std::stoi(http_.substr(http_.rfind(':') + 1)),
                  "/znodes?path=" + root + "&columns=" + every_column);
  ASSERT_TRUE(get.connected());
  ASSERT_TRUE(get.Read(1));
  // Half the nodes go, the others change twice to data of the same size:
  // the second change's copies would reuse the memory of nodes freed by the
  // first, so a response no longer holding them would send other bytes.
  std::vector<std::future<Status>> deleted;
  for (int i = 0; i < kNodes; i += 2)
    deleted.push_back(writer_->Delete(root + "/n" + std::to_string(i)));
  for (auto& done : deleted) EXPECT_TRUE(done.get().ok());
  for (char fill : {'a', 'b'}) {
    std::vector<std::future<Result<zk::Stat>>> set;
    for (int i = 1; i < kNodes; i += 2) {
      set.push_back(
          writer_->SetData(root + "/n" + std::to_string(i), std::string(pad.size() + 4, fill), -1));
    }
    for (auto& done : set) EXPECT_TRUE(done.get().ok());
    ASSERT_TRUE(Sync(SetAndGetZxid(root, std::string(1, fill))).ok());
  }
  ASSERT_TRUE(get.Read(0));
  const std::string body = get.Body();
  ASSERT_GT(body.size(), size_t{20} << 20);
  std::ofstream(slow, std::ios::binary) << body;

  auto expected = interop::CanonicalDump(before);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_EQ(expected->size(), 1u + kNodes + 1u);
  auto got = interop::CanonicalDump(slow);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(interop::DiffCanonicalDumps(*expected, *got), "");
  // The tree did move on: a response now has half the rows.
  const fs::path after = dir / "after.arrows";
  ASSERT_TRUE(RunCommand("curl -sf -o " + after.string() + " '" + url + "'").ok());
  auto now = interop::CanonicalDump(after);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now->size(), 1u + kNodes / 2 + 1u);
  // Later tests read the whole tree (some in one batch): the 12 MB go.
  std::vector<std::future<Status>> removed;
  for (int i = 1; i < kNodes; i += 2) {
    removed.push_back(writer_->Delete(root + "/n" + std::to_string(i)));
  }
  for (auto& done : removed) EXPECT_TRUE(done.get().ok());
  EXPECT_TRUE(writer_->Delete(root).get().ok());
}

TEST_F(ServeTest, SyncThenGetSeesAWriteJustMade) {
  const std::string path = "/ryw";
  MustCreate(path, "before");
  const fs::path dir = Dir("ryw");
  for (int round = 0; round < 20; ++round) {
    const std::string value = "value-" + std::to_string(round);
    ASSERT_TRUE(Sync(SetAndGetZxid(path, value)).ok());
    const fs::path out = dir / "ryw.arrows";
    ASSERT_TRUE(Zkarrow("get '" + flight_ + "/znodes?path=" + path + "' -o " + out.string()).ok());
    auto rows = ReadZnodeRows(out);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0]["data_hex"], testing::Hex(value)) << "round " << round;
  }
  // A zxid the server will not reach in time: 504 with the reason.
  EXPECT_EQ(CurlStatus("-X POST -H 'Content-Type: application/json' -d '{\"zxid\": "
                       "9223372036854775807, \"timeout_ms\": 100}' " +
                           http_ + "/actions/sync",
                       dir / "timeout.json"),
            504);
}

// The encoded responses of one state are kept within --response-cache-mb,
// the oldest evicted first.
TEST_F(ServeTest, ResponseCacheEvictsTheOldestWithinItsBudget) {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  MustCreate("/cache-evict", "");
  // Each response a little over 300 KiB: three fit in 1 MiB, four do not.
  for (const std::string& name : names)
    MustCreate("/cache-evict/" + name, std::string(300 << 10, 'v'));
  ASSERT_NO_FATAL_FAILURE(StartServer({"--response-cache-mb", "1"}));
  const fs::path dir = Dir("cache-evict");
  auto get = [&](const std::string& name) {
    EXPECT_EQ(
        CurlStatus("'" + http_ + "/znodes?path=/cache-evict/" + name + "'", dir / "out.arrows"),
        200);
    EXPECT_LE(Metric("zkarrow_znodes_cache_bytes"), int64_t{1} << 20) << "after " << name;
  };
  const std::string hits = "zkarrow_znodes_cache_hits_total";
  const int64_t before = Metric(hits);
  get("a");
  get("a");
  EXPECT_EQ(Metric(hits), before + 1);
  get("b");
  get("c");
  EXPECT_GT(Metric("zkarrow_znodes_cache_bytes"), int64_t{900} << 10);  // a, b and c
  get("d");                                                             // evicts a
  get("b");
  EXPECT_EQ(Metric(hits), before + 2);
  get("a");  // a miss, which evicts b (c, d, a)
  EXPECT_EQ(Metric(hits), before + 2);
  get("c");
  EXPECT_EQ(Metric(hits), before + 3);
  get("b");
  EXPECT_EQ(Metric(hits), before + 3);
  // The suite's tree as it was: other tests expect its initial state to be
  // small (one batch).
  for (const std::string& name : names) {
    EXPECT_TRUE(writer_->Delete("/cache-evict/" + name).get().ok());
  }
  EXPECT_TRUE(writer_->Delete("/cache-evict").get().ok());
  ASSERT_NO_FATAL_FAILURE(StartServer());  // the suite's server again, default cache
}

// The rows a znodes response's messages hold.
int64_t RowsOf(const std::vector<transport::IpcMessage>& messages) {
  arrow::BufferOutputStream framed;
  for (const transport::IpcMessage& message : messages) {
    EXPECT_TRUE(arrow::ipc::WriteFramed(framed, message).ok());
  }
  EXPECT_TRUE(arrow::ipc::WriteEndOfStream(framed).ok());
  auto reader =
      arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(framed.Finish()));
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return -1;
  int64_t rows = 0;
  while (true) {
    auto batch = (*reader)->Next();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok() || !*batch) break;
    rows += (*batch)->length;
  }
  return rows;
}

// Clients that read part of a large znodes response and pause: each
// response keeps a copy of what it sent for the cache, and those copies
// count against the cache's budget with the responses it keeps, however
// many such clients there are. Each response then completes, and the cache
// still keeps what fits.
TEST_F(ServeTest, PausedZnodesResponsesCopyWithinTheCacheBudget) {
  constexpr int kNodes = 12;
  MustCreate("/paused", "");
  // About 6 MB a response, in batches of about 2 MB.
  for (int i = 0; i < kNodes; ++i) {
    MustCreate("/paused/n" + std::to_string(i), std::string(500 << 10, static_cast<char>('a' + i)));
  }
  const int64_t written = SetAndGetZxid("/paused", "written");
  constexpr int64_t kBudget = int64_t{16} << 20;  // each response fits half of it
  serve::TreeServiceOptions options;
  options.watch.client.connect_string = cluster_->ConnectString();
  options.watch.root = "/paused";
  options.response_cache_bytes = kBudget;
  auto tree = serve::TreeService::Start(options);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  auto reached = (*tree)->WaitFor(written, std::chrono::seconds(60));
  ASSERT_TRUE(reached.ok()) << reached.status().ToString();

  // Eight requests for different columns, none answered from the cache;
  // each read past two batches (over 4 MB), then paused.
  struct Client {
    std::unique_ptr<transport::MessageStream> stream;
    std::vector<transport::IpcMessage> messages;
    int64_t bytes = 0;
  };
  std::vector<Client> clients;
  for (int column : {znodes::kVersionColumn, znodes::kCversionColumn, znodes::kAversionColumn,
                     znodes::kCzxidColumn, znodes::kMzxidColumn, znodes::kPzxidColumn,
                     znodes::kCtimeColumn, znodes::kMtimeColumn}) {
    serve::ZnodesRequest request;
    request.columns = {znodes::kPathColumn, znodes::kDataColumn, column};
    auto stream = (*tree)->Znodes(request);
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    Client client{std::move(*stream), {}, 0};
    while (client.bytes < int64_t{4} << 20) {
      transport::IpcMessage message;
      auto poll = client.stream->Next(&message);
      ASSERT_TRUE(poll.ok()) << poll.status().ToString();
      ASSERT_EQ(*poll, transport::MessageStream::Poll::kMessage) << "the response ended early";
      client.bytes += message.framed_size();
      client.messages.push_back(std::move(message));
    }
    clients.push_back(std::move(client));
  }
  serve::TreeMetrics paused = (*tree)->metrics();
  EXPECT_GT(paused.response_cache_recording_bytes, 0) << "no response kept a copy";
  EXPECT_LE(paused.response_cache_bytes + paused.response_cache_recording_bytes, kBudget)
      << "kept " << paused.response_cache_bytes << " bytes, copies in flight "
      << paused.response_cache_recording_bytes;

  for (Client& client : clients) {
    while (true) {
      transport::IpcMessage message;
      auto poll = client.stream->Next(&message);
      ASSERT_TRUE(poll.ok()) << poll.status().ToString();
      if (*poll == transport::MessageStream::Poll::kEnd) break;
      client.messages.push_back(std::move(message));
    }
    EXPECT_EQ(RowsOf(client.messages), kNodes + 1);
    serve::TreeMetrics now = (*tree)->metrics();
    EXPECT_LE(now.response_cache_bytes + now.response_cache_recording_bytes, kBudget);
  }
  clients.clear();
  serve::TreeMetrics ended = (*tree)->metrics();
  EXPECT_EQ(ended.response_cache_recording_bytes, 0);
  EXPECT_GT(ended.response_cache_bytes, 0) << "no response was kept";
  EXPECT_LE(ended.response_cache_bytes, kBudget);
  (*tree)->Stop();
  // The suite's tree as it was.
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_TRUE(writer_->Delete("/paused/n" + std::to_string(i)).get().ok());
  }
  EXPECT_TRUE(writer_->Delete("/paused").get().ok());
}

// The batches of a change stream file and the label each epoch's last
// batch carries.
struct Batch {
  int64_t rows = 0;
  std::optional<int64_t> label;
};

// With `partial`, a stream cut mid-message (a client killed while reading)
// is read up to its last whole batch.
std::vector<Batch> ReadBatches(const fs::path& file, bool partial) {
  std::vector<Batch> batches;
  auto input = arrow::FileInputStream::Open(file);
  EXPECT_TRUE(input.ok());
  if (!input.ok()) return batches;
  auto reader = arrow::ipc::StreamReader::Open(std::move(*input));
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return batches;
  while (true) {
    auto next = (*reader)->Next();
    if (!partial) {
      EXPECT_TRUE(next.ok()) << next.status().ToString();
    }
    if (!next.ok() || !*next) break;
    Batch batch{(*next)->length, std::nullopt};
    for (const auto& [key, value] : (*reader)->last_batch_info().custom_metadata) {
      if (key == serve::kMetaZxid) batch.label = std::stoll(value);
    }
    batches.push_back(batch);
  }
  return batches;
}

int64_t LabelOf(const fs::path& znodes_file) {
  auto file = arrow::ipc::FileReader::OpenPath(znodes_file);
  EXPECT_TRUE(file.ok());
  if (!file.ok()) return -1;
  for (const auto& [key, value] : (*file)->schema().metadata) {
    if (key == serve::kMetaZxid) return std::stoll(value);
  }
  return -1;
}

void ExpectResponsesReplay(const fs::path& changes, bool partial,
                           const std::vector<fs::path>& responses, const std::string& root);

TEST_F(ServeTest, EveryZnodesResponseEqualsTheReplayOfChangesUpToItsZxid) {
  const std::string root = "/consistent";
  MustCreate(root, "root");
  testing::Churn(*writer_, root, 7, 300);
  const fs::path dir = Dir("consistent");
  const fs::path changes = dir / "changes.arrows";
  // The change stream from the current state on, captured by `get` until
  // the end of the test.
  auto stream = ZkarrowProcess::Start(
      "get", {flight_ + "/changes?initial=true", "-o", changes.string(), "--format", "stream"},
      dir / "get-changes.err");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  // The same over HTTP, read by curl: the chunked body is the stream.
  const fs::path http_changes = dir / "changes-http.arrows";
  pid_t curl = ::fork();
  if (curl == 0) {
    ::execl("/usr/bin/curl", "curl", "-s", "-N", "-o", http_changes.c_str(),
            (http_ + "/changes?initial=true").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }

  std::atomic<bool> stop{false};
  std::thread churn([&] {
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto client = zk::Client::Connect(options);
    if (client.ok()) testing::Churn(**client, root, 11, 1'000'000, &stop);
  });
  // However the test ends (a failed assertion returns early), the churn is
  // stopped and joined and curl is ended, so that the next tests run.
  auto end_churn = [&] {
    stop = true;
    if (churn.joinable()) churn.join();
  };
  auto end_curl = [&] {
    if (curl <= 0) return;
    ::kill(curl, SIGTERM);
    ::waitpid(curl, nullptr, 0);
    curl = -1;
  };
  struct OnExit {
    std::function<void()> run;
    ~OnExit() { run(); }
  };
  const OnExit churn_ends{end_churn};
  const OnExit curl_ends{end_curl};
  // Responses cut while the tree changes.
  std::vector<fs::path> responses;
  for (int i = 0; i < 12; ++i) {
    const fs::path out = dir / ("znodes-" + std::to_string(i) + ".arrow");
    const std::string& base = i % 2 ? http_ : flight_;
    auto got = Zkarrow("get '" + base + "/znodes?path=" + root + "' -o " + out.string());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    responses.push_back(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  end_churn();
  // Everything is in the stream once it passed the last write's zxid.
  const int64_t last = SetAndGetZxid(root, "final");
  ASSERT_TRUE(Sync(last).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto stopped = (*stream)->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  ASSERT_EQ(*stopped, 0) << ReadText(dir / "get-changes.err");
  end_curl();
  for (const fs::path& capture : {changes, http_changes}) {
    SCOPED_TRACE(capture.string());
    ExpectResponsesReplay(capture, /*partial=*/capture == http_changes, responses, root);
  }
}

// Every response in `responses` equals the replay of the change stream
// `changes` up to the response's label, within `root`.
void ExpectResponsesReplay(const fs::path& changes, bool partial,
                           const std::vector<fs::path>& responses, const std::string& root) {
  std::vector<Batch> batches = ReadBatches(changes, partial);
  auto rows = ReadChangeRows({changes}, partial);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(testing::CheckTreeReplay(*rows, "/"), "");
  ASSERT_FALSE(batches.empty());
  ASSERT_TRUE(batches.front().label.has_value()) << "the initial state ends with its label";
  int compared = 0;
  std::set<int64_t> labels;
  for (const fs::path& response : responses) {
    const int64_t label = LabelOf(response);
    ASSERT_GT(label, 0);
    labels.insert(label);
    if (label < *batches.front().label) continue;  // cut before the stream started
    // The rows of every epoch labelled up to `label`.
    int64_t prefix = 0;
    int64_t pending = 0;
    for (const Batch& batch : batches) {
      pending += batch.rows;
      if (!batch.label) continue;
      if (*batch.label > label) break;
      prefix += pending;
      pending = 0;
    }
    // The stream is of the whole tree; the responses of the subtree.
    std::vector<nlohmann::json> replayed;
    for (nlohmann::json& row :
         Replay(std::vector<nlohmann::json>(rows->begin(), rows->begin() + prefix))) {
      const std::string path = row["path"];
      if (path == root || path.starts_with(root + "/")) replayed.push_back(std::move(row));
    }
    auto served = ReadZnodeRows(response);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_EQ(DiffRows(*served, replayed), "") << response << " at zxid " << label;
    ++compared;
  }
  std::printf("compared %d responses at %zu distinct zxids with a stream of %zu rows\n", compared,
              labels.size(), rows->size());
  EXPECT_GE(compared, 10);
  EXPECT_GE(labels.size(), 3u) << "the tree did not change between responses";
}

const fs::path kInteropDir = ZKARROW_SOURCE_DIR "/tests/interop";

// Missing pieces of Node's independent Arrow and gRPC libraries, or "".
std::string MissingNode() {
  if (!RunCommand("command -v node >/dev/null").ok()) return "node not found";
  for (const char* package : {"@grpc/grpc-js", "@grpc/proto-loader", "apache-arrow"}) {
    if (!fs::exists(kInteropDir / "node_modules" / package)) {
      return std::string("tests/interop/node_modules/") + package +
             " missing: run scripts/setup (npm install in tests/interop)";
    }
  }
  return "";
}

// Node's gRPC and Arrow libraries (tests/interop/flight_client.mjs and
// http_fetch.mjs), nothing of zkarrow's code, read the served tree as
// zkarrow's own reader does, and upload a table zkarrow serves back.
TEST_F(ServeTest, IndependentClientsReadAndWriteTheServer) {
  if (std::string missing = MissingNode(); !missing.empty()) {
    ZKA_MISSING_PREREQUISITE() << missing;
  }
  ASSERT_NO_FATAL_FAILURE(MustHaveTheSameTree());
  const fs::path dir = Dir("independent");
  const std::string target = "/znodes?path=/same";
  const fs::path served = dir / "served.arrows";
  ASSERT_TRUE(Zkarrow("get '" + flight_ + target + "' -o " + served.string()).ok());
  auto expected = interop::CanonicalDump(served);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_GT(expected->size(), 300u);
  auto node = [&](const std::string& script, const std::string& args) {
    auto output = RunCommand("node '" + (kInteropDir / script).string() + "' " + args);
    EXPECT_TRUE(output.ok()) << output.status().ToString();
    return testing::ParseJsonLines(output.ok() ? *output : "");
  };

  // Flight: the list names the tree, DoGet decodes to the same rows.
  std::vector<nlohmann::json> listed =
      node("flight_client.mjs", std::to_string(flight_port_) + " list");
  bool lists_znodes = false;
  for (const auto& flight : listed) lists_znodes = lists_znodes || flight["ticket"] == "/znodes";
  EXPECT_TRUE(lists_znodes);
  std::vector<nlohmann::json> got =
      node("flight_client.mjs", std::to_string(flight_port_) + " get '" + target + "'");
  EXPECT_EQ(interop::DiffCanonicalDumps(*expected, got), "");

  // HTTP: fetch + tableFromIPC, the same paths in the same order.
  std::vector<nlohmann::json> fetched = node("http_fetch.mjs", "'" + http_ + target + "'");
  ASSERT_EQ(fetched.size(), expected->size() + 1);  // a status line first
  EXPECT_EQ(fetched[0]["status"], 200);
  for (size_t row = 1; row < expected->size(); ++row) {
    ASSERT_EQ(fetched[row + 1][0], (*expected)[row][0]) << "row " << row - 1;
  }

  // DoPut from Arrow JS; zkarrow serves back what JS sent.
  std::vector<nlohmann::json> put =
      node("flight_client.mjs", std::to_string(flight_port_) + " put from-node");
  ASSERT_GT(put.size(), 2u);
  const fs::path stored = dir / "from-node.arrows";
  ASSERT_TRUE(Zkarrow("get " + http_ + "/datasets/from-node -o " + stored.string()).ok());
  auto stored_dump = interop::CanonicalDump(stored);
  ASSERT_TRUE(stored_dump.ok()) << stored_dump.status().ToString();
  EXPECT_EQ(interop::DiffCanonicalDumps(std::vector<nlohmann::json>(put.begin() + 1, put.end()),
                                        *stored_dump),
            "");
}

TEST_F(ServeTest, DatasetsRoundTripOverBothProtocolsAndReplaceAtomically) {
  const fs::path dir = Dir("datasets");
  // Any Arrow table will do: a snapshot of a subtree is one.
  MustCreate("/ds", "dataset source");
  for (int i = 0; i < 50; ++i) MustCreate("/ds/n" + std::to_string(i), std::string(i * 10, 'x'));
  const fs::path source = dir / "source.arrow";
  ASSERT_NO_FATAL_FAILURE(MustSnapshot("/ds", source));
  auto expected = ReadZnodeRows(source);
  ASSERT_TRUE(expected.ok());

  auto put = Zkarrow("put " + source.string() + " " + flight_ + "/datasets/tree-v1");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_NE(put->find("\"version\":1"), std::string::npos) << *put;
  for (const std::string& url : {http_ + "/datasets/tree-v1", flight_ + "/datasets/tree-v1"}) {
    const fs::path out = dir / "back.arrow";
    ASSERT_TRUE(Zkarrow("get " + url + " -o " + out.string()).ok()) << url;
    auto rows = ReadZnodeRows(out);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(DiffRows(*expected, *rows), "") << url;
  }
  // Over HTTP with curl (200: a new version of a name that exists); the
  // list shows it; a compare-and-set that lost.
  EXPECT_EQ(
      CurlStatus("-T " + source.string() + " " + http_ + "/datasets/tree-v1", dir / "put.json"),
      200)
      << ReadText(dir / "put.json");
  EXPECT_NE(ReadText(dir / "put.json").find("\"version\":2"), std::string::npos)
      << ReadText(dir / "put.json");
  EXPECT_EQ(CurlStatus(http_ + "/datasets", dir / "list.json"), 200);
  EXPECT_NE(ReadText(dir / "list.json").find("tree-v1"), std::string::npos);
  auto conflict =
      Zkarrow("put " + source.string() + " " + http_ + "/datasets/tree-v1 --if-version 1");
  EXPECT_FALSE(conflict.ok()) << "a put with a stale version must fail";
  EXPECT_EQ(CurlStatus("-T " + source.string() + " '" + http_ + "/datasets/tree-v1?if_version=1'",
                       dir / "conflict.json"),
            409);
  // Names that would leave the store.
  EXPECT_EQ(CurlStatus("-T " + source.string() + " " + http_ + "/datasets/..%2Fescape",
                       dir / "bad-name.json"),
            400);
  // On a terminal (script(1) gives it one) the progress line counts the
  // rows sent and their bytes; it called the rows "bytes" ("50 bytes  6.8 kB").
  auto shown = RunCommand("script -qec '" + std::string(ZKARROW_BINARY) + " put " +
                          source.string() + " " + http_ + "/datasets/progress' /dev/null");
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_NE(shown->find(" rows  "), std::string::npos) << *shown;
  EXPECT_EQ(shown->find(" bytes  "), std::string::npos) << *shown;
  // Drop, then it is gone.
  EXPECT_EQ(CurlStatus("-X DELETE " + http_ + "/datasets/tree-v1", dir / "drop.json"), 204);
  EXPECT_EQ(CurlStatus(http_ + "/datasets/tree-v1", dir / "gone.json"), 404);
}

TEST_F(ServeTest, BadOrCutUploadsStoreNothingAndKeepThePreviousVersion) {
  const fs::path dir = Dir("bad-uploads");
  MustCreate("/bad", "v1");
  const fs::path good = dir / "good.arrows";
  ASSERT_NO_FATAL_FAILURE(MustSnapshot("/bad", good));
  ASSERT_EQ(CurlStatus("-T " + good.string() + " " + http_ + "/datasets/keep", dir / "p.json"),
            201);
  const std::string bytes = ReadText(good);
  // Cut mid-way (no end-of-stream marker), and garbage.
  {
    std::ofstream(dir / "cut.arrows") << bytes.substr(0, bytes.size() / 2);
    std::ofstream(dir / "garbage.arrows") << std::string(4096, 'z');
  }
  for (const char* name : {"cut.arrows", "garbage.arrows"}) {
    EXPECT_EQ(CurlStatus("-T " + (dir / name).string() + " " + http_ + "/datasets/keep",
                         dir / "bad.json"),
              400)
        << name << ": " << ReadText(dir / "bad.json");
  }
  const fs::path back = dir / "back.arrows";
  ASSERT_TRUE(Zkarrow("get " + flight_ + "/datasets/keep -o " + back.string()).ok());
  auto expected = ReadZnodeRows(good);
  auto served = ReadZnodeRows(back);
  ASSERT_TRUE(expected.ok() && served.ok());
  EXPECT_EQ(DiffRows(*expected, *served), "");
  EXPECT_EQ(CurlStatus(http_ + "/datasets/keep", dir / "v.json"), 200);
}

// `put` of a stream that stops at a message boundary without its
// end-of-stream marker (its writer killed, a file cut short) fails and
// stores nothing, from a file and from stdin, over both protocols: the
// client must not end the upload with a marker its input lacked, which the
// server would take for a complete upload.
TEST_F(ServeTest, PutOfAStreamWithoutItsEndMarkerStoresNothing) {
  const fs::path dir = Dir("put-cut");
  const fs::path good = dir / "good.arrows";
  ASSERT_NO_FATAL_FAILURE(MustStreamOfANewNode("/put-cut", good));
  const std::string bytes = ReadText(good);
  ASSERT_GT(bytes.size(), 8u);
  const fs::path cut = dir / "cut.arrows";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 8);
  const fs::path err = dir / "put.err";
  for (const std::string& server : {flight_, http_}) {
    const std::string url = server + "/datasets/put-cut";
    for (const std::string& put :
         {"put " + cut.string() + " " + url, "put - " + url + " < " + cut.string()}) {
      EXPECT_EQ(ZkarrowExit(put, err), 1) << put;
      EXPECT_NE(ReadText(err).find("expected the end-of-stream marker"), std::string::npos)
          << put << ": " << ReadText(err);
      EXPECT_EQ(CurlStatus(http_ + "/datasets/put-cut", dir / "gone.json"), 404)
          << put << ": " << ReadText(dir / "gone.json");
    }
  }
  // The whole stream is stored.
  EXPECT_EQ(ZkarrowExit("put " + good.string() + " " + flight_ + "/datasets/put-cut", err), 0)
      << ReadText(err);
}

// `get` of a dataset that --for stops before its end (here: before its
// first batch) fails and writes nothing: only a changes stream, which runs
// until stopped, is written out when stopped.
TEST_F(ServeTest, GetStoppedBeforeTheEndOfADatasetWritesNothing) {
  const fs::path dir = Dir("get-stopped");
  MustCreate("/get-stopped", "v1");
  const fs::path source = dir / "source.arrow";
  ASSERT_NO_FATAL_FAILURE(MustSnapshot("/get-stopped", source));
  const fs::path err = dir / "get.err";
  ASSERT_EQ(ZkarrowExit("put " + source.string() + " " + flight_ + "/datasets/get-stopped", err), 0)
      << ReadText(err);
  for (const std::string& server : {flight_, http_}) {
    const fs::path out = dir / "out.arrow";
    const std::string get =
        "get " + server + "/datasets/get-stopped --for 0.000001 -o " + out.string();
    EXPECT_EQ(ZkarrowExit(get, err), 1) << get << ": " << ReadText(err);
    EXPECT_FALSE(fs::exists(out)) << get << ": " << ReadText(err);
  }
  // Stopped by SIGINT while the server (paused) has not answered: 130, as
  // a shell reports a process SIGINT ended, and nothing written.
  const fs::path out = dir / "signalled.arrow";
  ASSERT_EQ(::kill(server_->pid(), SIGSTOP), 0);
  auto get = ZkarrowProcess::Start("get", {http_ + "/datasets/get-stopped", "-o", out.string()},
                                   dir / "signalled.err");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (get.ok()) ::kill((*get)->pid(), SIGINT);
  Result<int> exit_code = get.ok() ? (*get)->Wait() : get.status();
  ::kill(server_->pid(), SIGCONT);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  const std::string said = ReadText(dir / "signalled.err");
  EXPECT_EQ(*exit_code, 130) << said;
  EXPECT_NE(said.find("zkarrow get: stopped by SIGINT"), std::string::npos) << said;
  EXPECT_FALSE(fs::exists(out)) << said;
}

// A reader that closes the pipe of `get .../changes -o -` while the tree is
// quiet: get ends with exit 1 saying so, over both protocols. It waited on,
// connection and all, for a change to write (on a quiet tree, for ever).
TEST_F(ServeTest, AReaderThatClosesThePipeOfAQuietChangesStreamEndsGet) {
  const fs::path dir = Dir("changes-reader-gone");
  for (const std::string& server : {flight_, http_}) {
    SCOPED_TRACE(server);
    int ends[2];
    ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
    const fs::path err = dir / "get.err";
    auto get = ZkarrowProcess::Start("get", {server + "/changes", "-o", "-"}, err, ends[1]);
    ::close(ends[1]);
    ASSERT_TRUE(get.ok()) << get.status().ToString();
    // The whole schema message (continuation, length, metadata), written as
    // soon as the stream starts: then get has nothing left to write.
    auto read_exactly = [&](void* to, size_t bytes) {
      for (size_t got = 0; got < bytes;) {
        ssize_t n = ::read(ends[0], static_cast<char*>(to) + got, bytes - got);
        if (n <= 0) return false;
        got += static_cast<size_t>(n);
      }
      return true;
    };
    int32_t prefix[2] = {0, 0};
    bool schema = read_exactly(prefix, sizeof(prefix)) && prefix[0] == -1 && prefix[1] > 0;
    std::vector<char> metadata(schema ? static_cast<size_t>(prefix[1]) : 0);
    schema = schema && read_exactly(metadata.data(), metadata.size());
    ::close(ends[0]);
    ASSERT_TRUE(schema) << ReadText(err);
    Result<int> exit_code = (*get)->Wait(std::chrono::seconds(10));
    ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString() << ": still reading";
    EXPECT_EQ(*exit_code, 1) << ReadText(err);
    EXPECT_NE(ReadText(err).find("the reader closed the pipe"), std::string::npos) << ReadText(err);
  }
}

// An upload with bytes after its end-of-stream marker (two streams one
// after the other, or stray bytes) is refused and stores nothing, instead
// of storing the first stream and dropping the rest unread.
TEST_F(ServeTest, AnUploadWithBytesAfterItsEndMarkerStoresNothing) {
  const fs::path dir = Dir("after-marker");
  const fs::path good = dir / "good.arrows";
  ASSERT_NO_FATAL_FAILURE(MustStreamOfANewNode("/after-marker", good));
  const std::string bytes = ReadText(good);
  std::ofstream(dir / "two.arrows", std::ios::binary) << bytes << bytes;
  std::ofstream(dir / "stray.arrows", std::ios::binary) << bytes << "stray";
  const std::string url = http_ + "/datasets/after-marker";
  ASSERT_EQ(CurlStatus("-T " + good.string() + " " + url, dir / "put.json"), 201)
      << ReadText(dir / "put.json");
  for (const char* name : {"two.arrows", "stray.arrows"}) {
    EXPECT_EQ(CurlStatus("-T " + (dir / name).string() + " " + url, dir / "bad.json"), 400)
        << name << ": " << ReadText(dir / "bad.json");
    EXPECT_NE(ReadText(dir / "bad.json").find("found more bytes"), std::string::npos)
        << name << ": " << ReadText(dir / "bad.json");
  }
  // Still version 1.
  EXPECT_EQ(CurlStatus("-T " + good.string() + " '" + url + "?if_version=1'", dir / "v2.json"), 200)
      << ReadText(dir / "v2.json");
}

// A catalog through which the server's own store changes between the
// catalog's answer and the service's lookup, as an upload or a drop
// committed by another client at that moment changes it.
class RacedCatalog final : public serve::DatasetCatalog {
 public:
  RacedCatalog(serve::DatasetStore& store, std::function<void()> race)
      : local_(store), race_(std::move(race)) {}
  Result<serve::DatasetInfo> Publish(std::unique_ptr<serve::PreparedDataset> prepared,
                                     std::optional<int64_t> if_version) override {
    return local_.Publish(std::move(prepared), if_version);
  }
  Result<serve::CatalogVersion> Resolve(std::string_view name,
                                        std::optional<int64_t> version) override {
    auto resolved = local_.Resolve(name, version);
    if (race_) std::exchange(race_, nullptr)();  // once
    return resolved;
  }
  Result<std::vector<serve::CatalogVersion>> List() override { return local_.List(); }
  Status Drop(std::string_view name) override { return local_.Drop(name); }
  void AppendMetrics(std::string&) override {}

 private:
  serve::LocalCatalog local_;
  std::function<void()> race_;
};

// A read of a dataset's current version that races a replacement (which,
// keeping one version, deletes the version the catalog named) reads the new
// version; one that races a drop gets NotFound, as after it. Neither gets
// the "not held by this server" error of a version held elsewhere.
TEST_F(ServeTest, AReadRacingAReplaceOrADropSeesOneVersionOrNone) {
  const fs::path dir = Dir("raced");
  MustCreate("/raced", "v1");
  const fs::path source = dir / "source.arrows";
  ASSERT_NO_FATAL_FAILURE(MustSnapshot("/raced", source, "--format stream"));
  auto bytes = arrow::MapFile(source);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  serve::TreeServiceOptions tree_options;
  tree_options.watch.client.connect_string = cluster_->ConnectString();
  tree_options.watch.root = "/raced";
  auto tree = serve::TreeService::Start(tree_options);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  fs::remove_all(dir / "store");
  auto store = serve::DatasetStore::Open(dir / "store");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto put = [&] {
    arrow::BufferInputStream upload(*bytes);
    auto stored = (*store)->Put("raced", upload);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  };
  put();
  auto resource = transport::ParseTarget("/datasets/raced");
  ASSERT_TRUE(resource.ok()) << resource.status().ToString();

  RacedCatalog replaced(**store, put);
  serve::Service replaced_service(**tree, **store, replaced);
  auto read = replaced_service.Get(*resource, {});
  EXPECT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*store)->Get("raced").value()->info().version, 2);

  RacedCatalog dropped(**store, [&] { ASSERT_TRUE((*store)->Drop("raced").ok()); });
  serve::Service dropped_service(**tree, **store, dropped);
  read = dropped_service.Get(*resource, {});
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound) << read.status().ToString();
}

// --max-upload-mb bounds what an upload stores and decodes to, not only
// the bytes received: a small zstd-compressed upload of large values is
// refused (413) naming the option, and stores nothing. (Over HTTP: `zkarrow
// put` sends Flight uploads uncompressed, which the transport refuses.)
TEST_F(ServeTest, CompressedUploadsDecodingPastTheUploadLimitAreRefused) {
  const fs::path dir = Dir("upload-limit");
  MustCreate("/upload-limit", "");
  // About 1.8 MB of values, a few KB compressed.
  for (int i = 0; i < 3; ++i) {
    MustCreate("/upload-limit/n" + std::to_string(i), std::string(600 << 10, 'u'));
  }
  const fs::path upload = dir / "upload.arrows";
  ASSERT_NO_FATAL_FAILURE(
      MustSnapshot("/upload-limit", upload, "--format stream --compression zstd"));
  ASSERT_LT(fs::file_size(upload), uintmax_t{64} << 10);
  ASSERT_NO_FATAL_FAILURE(StartServer({"--max-upload-mb", "1"}));
  auto store_files = [] {
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(suite_dir_ / "store")) {
      files.insert(entry.path().filename().string());
    }
    return files;
  };
  const std::set<std::string> before = store_files();
  EXPECT_EQ(
      CurlStatus("-T " + upload.string() + " " + http_ + "/datasets/unpacked", dir / "http.json"),
      413)
      << ReadText(dir / "http.json");
  EXPECT_NE(ReadText(dir / "http.json").find("upload limit of 1048576 bytes (--max-upload-mb)"),
            std::string::npos)
      << ReadText(dir / "http.json");
  EXPECT_EQ(store_files(), before);
  EXPECT_EQ(CurlStatus(http_ + "/datasets/unpacked", dir / "gone.json"), 404);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(writer_->Delete("/upload-limit/n" + std::to_string(i)).get().ok());
  }
  EXPECT_TRUE(writer_->Delete("/upload-limit").get().ok());
  ASSERT_NO_FATAL_FAILURE(StartServer());  // the suite's server again, default limits
}

TEST_F(ServeTest, ServerKilledDuringAnUploadShowsNothingAfterRestart) {
  const fs::path dir = Dir("killed");
  // A large upload sent slowly, so the server is killed while reading it.
  MustCreate("/big", "");
  for (int i = 0; i < 40; ++i) MustCreate("/big/n" + std::to_string(i), std::string(100'000, 'b'));
  const fs::path big = dir / "big.arrows";
  ASSERT_NO_FATAL_FAILURE(MustSnapshot("/big", big, "--format stream"));
  pid_t curl = ::fork();
  if (curl == 0) {
    ::execl("/usr/bin/curl", "curl", "-s", "-o", "/dev/null", "--limit-rate", "200k", "-T",
            big.c_str(), (http_ + "/datasets/half").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(server_->pid(), SIGKILL);
  auto waited = server_->Wait(std::chrono::seconds(30));
  EXPECT_FALSE(waited.ok()) << "killed, not exited";
  ::kill(curl, SIGKILL);
  ::waitpid(curl, nullptr, 0);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(CurlStatus(http_ + "/datasets/half", dir / "half.json"), 404)
      << ReadText(dir / "half.json");
  // Only complete files in the store: no temporary leftovers.
  for (const auto& entry : fs::directory_iterator(suite_dir_ / "store")) {
    EXPECT_EQ(entry.path().filename().string().find("half"), std::string::npos) << entry.path();
  }
}

// A ports file outliving its server names ports no one listens on: a clean
// stop removes it, unless another server has written it since.
TEST_F(ServeTest, ACleanStopRemovesThePortsFileItWrote) {
  const fs::path ports = suite_dir_ / "ports.json";
  ASSERT_TRUE(fs::exists(ports));
  ::kill(server_->pid(), SIGTERM);
  ASSERT_TRUE(server_->Wait(std::chrono::seconds(30)).ok());
  EXPECT_FALSE(fs::exists(ports)) << ReadText(ports);
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::ofstream(ports) << "{\"pid\": 1, \"http\": 1}\n";
  ::kill(server_->pid(), SIGTERM);
  ASSERT_TRUE(server_->Wait(std::chrono::seconds(30)).ok());
  EXPECT_TRUE(fs::exists(ports)) << "another server's ports file was removed";
  ASSERT_NO_FATAL_FAILURE(StartServer());
}

TEST_F(ServeTest, ClientKilledMidDownloadLeavesTheServerServing) {
  const fs::path dir = Dir("client-killed");
  MustCreate("/client-killed", "");
  pid_t curl = ::fork();
  if (curl == 0) {
    ::execl("/usr/bin/curl", "curl", "-s", "-o", "/dev/null", "--limit-rate", "10k",
            (http_ + "/znodes").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_t live = ::fork();
  if (live == 0) {
    ::execl("/usr/bin/curl", "curl", "-s", "-N", "-o", "/dev/null", (http_ + "/changes").c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ::kill(curl, SIGKILL);
  ::kill(live, SIGKILL);
  ::waitpid(curl, nullptr, 0);
  ::waitpid(live, nullptr, 0);
  EXPECT_EQ(CurlStatus(http_ + "/healthz", dir / "health.txt"), 200);
  const fs::path out = dir / "after.arrow";
  ASSERT_TRUE(Sync(SetAndGetZxid("/client-killed", "after")).ok());
  EXPECT_TRUE(Zkarrow("get " + flight_ + "/znodes?path=/client-killed -o " + out.string()).ok());
  EXPECT_EQ(CurlStatus(http_ + "/metrics", dir / "metrics.txt"), 200);
  EXPECT_NE(ReadText(dir / "metrics.txt").find("zkarrow_mirror_zxid "), std::string::npos);
}

// One kept-alive connection, as a browser keeps it: requests one after
// another, each reply read whole (Content-Length or chunked).
class KeptConnection {
 public:
  explicit KeptConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    // A server that neither answers nor closes fails the exchange instead
    // of holding the test.
    const timeval timeout{.tv_sec = 60, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~KeptConnection() { Close(); }
  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // POSTs `body` to `target`; the whole reply, or what came of it before
  // the server closed the connection ("" for nothing).
  std::string Post(const std::string& target, const std::string& content_type,
                   const std::string& body) {
    const std::string request =
        "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return Exchange(request, Complete);
  }

  // GETs `target`; the reply's headers, or what came before the server
  // closed the connection.
  std::string GetHeaders(const std::string& target) {
    return Exchange("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    [](const std::string& reply) { return reply.find("\r\n\r\n") != reply.npos; });
  }

 private:
  std::string Exchange(const std::string& request, bool (*done)(const std::string&)) {
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return "";
    }
    std::string reply;
    while (!done(reply)) {
      char buffer[1 << 16];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
    return reply;
  }

  static bool Complete(const std::string& reply) {
    const size_t head_end = reply.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const std::string head = reply.substr(0, head_end);
    if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
      return reply.size() >= 5 && reply.compare(reply.size() - 5, 5, "0\r\n\r\n") == 0;
    }
    const size_t length = head.find("Content-Length: ");
    return length != std::string::npos &&
           reply.size() - head_end - 4 >= std::stoul(head.substr(length + 16));
  }

  int fd_ = -1;
  bool connected_ = false;
};

// A query's response waits for its worker, so the server watches the
// connection for the client's hangup. That watch must neither close the
// connection when the next request comes (a delete, done and left
// unanswered: a browser sends it again, and the second answers NONODE) nor
// keep later responses on the connection from being watched (a client gone
// from a live stream).
TEST_F(ServeTest, ARequestAfterAQueryOnAKeptConnectionIsAnswered) {
  const fs::path dir = Dir("kept-connection");
  MustCreate("/kept", "");
  MustCreate("/kept/a", "");
  const fs::path ports = dir / "ports.json";
  auto server = ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--path", "/kept", "--http", "127.0.0.1:0", "--store",
       (dir / "store").string(), "--ports-file", ports.string(), "--allow-writes"},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const nlohmann::json listening = WaitForPorts(**server, ports);
  ASSERT_FALSE(listening.is_null()) << ReadText(dir / "serve.err");
  const int port = listening["http"].get<int>();
  const std::string http = "http://127.0.0.1:" + std::to_string(port);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    ready = CurlStatus(http + "/healthz", dir / "health.txt") == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << ReadText(dir / "serve.err");

  KeptConnection connection(port);
  ASSERT_TRUE(connection.connected());
  // Counting a million rows keeps the worker busy past the response's
  // first look for a message, so the response waits.
  const std::string counted = connection.Post(
      "/query", "text/plain",
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
      "SELECT count(*) FROM c");
  ASSERT_EQ(counted.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << counted;
  const std::string deleted = connection.Post("/actions/delete", "application/json",
                                              R"({"path": "/kept/a", "version": 0})");
  EXPECT_EQ(deleted.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "the delete's reply: " << deleted;
  auto gone = writer_->Exists("/kept/a").get();
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_FALSE(gone->has_value()) << "/kept/a is still there after the delete's reply";
  // The answer's zxid, to sync to, covers the delete: the parent's pzxid
  // is the delete's own.
  const size_t body = deleted.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << deleted;
  const nlohmann::json answer = nlohmann::json::parse(deleted.substr(body + 4), nullptr, false);
  ASSERT_TRUE(answer.is_object() && answer.contains("zxid")) << deleted;
  EXPECT_EQ(answer["path"], "/kept/a") << deleted;
  auto parent = writer_->Exists("/kept").get();
  ASSERT_TRUE(parent.ok() && parent->has_value()) << parent.status().ToString();
  EXPECT_GE(answer["zxid"].get<int64_t>(), (*parent)->pzxid) << deleted;
  const std::string synced = connection.Post("/actions/sync", "application/json",
                                             std::to_string(answer["zxid"].get<int64_t>()));
  EXPECT_EQ(synced.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "the third request's reply: " << synced;
  // A later response is watched again: a client gone from a live stream on
  // this connection, with nothing to send on a quiet tree, is noticed.
  const std::string changes = connection.GetHeaders("/changes");
  EXPECT_EQ(changes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << changes;
  connection.Close();
  const auto noticed_by = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Metric("zkarrow_http_streams", http) != 0 &&
         std::chrono::steady_clock::now() < noticed_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Metric("zkarrow_http_streams", http), 0)
      << "the live stream of a client gone is still open";

  auto stopped = (*server)->Stop(std::chrono::seconds(30));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0) << ReadText(dir / "serve.err");
}

// A second server with TLS on both listeners and a bearer token from a
// file: `get` and `put` with --tls-ca and --token-file, curl with --cacert;
// without the token, 401 and an unauthenticated error.
TEST_F(ServeTest, TlsAndTokenOnBothListeners) {
  if (!HaveOpenssl()) ZKA_MISSING_PREREQUISITE() << "openssl not found";
  const fs::path dir = Dir("tls");
  MustCreate("/tls", "");
  for (int i = 0; i < 10; ++i)
    MustCreate("/tls/n" + std::to_string(i), "secret " + std::to_string(i));
  const fs::path cert = dir / "cert.pem";
  const fs::path key = dir / "key.pem";
  ASSERT_TRUE(MakeCertificate(cert, key).ok());
  // A key others can read is refused, as every credential file is (a
  // `timeout`: a server that starts anyway is stopped).
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                           fs::perms::others_read);
  const fs::path exposed = dir / "exposed.err";
  auto refused_key = RunCommand(
      "timeout 30 " + std::string(ZKARROW_BINARY) + " serve --zk " + cluster_->ConnectString() +
      " --http 127.0.0.1:0 --store " + (dir / "store").string() + " --tls-cert " + cert.string() +
      " --tls-key " + key.string() + " > " + exposed.string() + " 2>&1; echo $?");
  ASSERT_TRUE(refused_key.ok()) << refused_key.status().ToString();
  EXPECT_EQ(*refused_key, "2\n") << ReadText(exposed);
  EXPECT_NE(ReadText(exposed).find("--tls-key " + key.string() + " is accessible by other users"),
            std::string::npos)
      << ReadText(exposed);
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  const fs::path token = dir / "token";
  std::ofstream(token) << "s3cret-token\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);
  const fs::path ports = dir / "ports.json";
  auto server = ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--path", "/tls", "--flight", "127.0.0.1:0", "--http",
       "127.0.0.1:0", "--store", (dir / "store").string(), "--ports-file", ports.string(),
       "--tls-cert", cert.string(), "--tls-key", key.string(), "--token-file", token.string()},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const nlohmann::json parsed = WaitForPorts(**server, ports);
  ASSERT_FALSE(parsed.is_null()) << ReadText(dir / "serve.err");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string flight = "grpc+tls://127.0.0.1:" + std::to_string(parsed["flight"].get<int>());
  const std::string https = "https://127.0.0.1:" + std::to_string(parsed["http"].get<int>());
  const std::string trust = " --tls-ca " + cert.string() + " --token-file " + token.string();
  const std::string curl = "--cacert " + cert.string() + " ";
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    // Every route wants the token, /healthz too.
    ready = CurlStatus(curl + "-H 'Authorization: Bearer s3cret-token' " + https + "/healthz",
                       dir / "health.txt") == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << ReadText(dir / "serve.err");

  for (const std::string& base : {flight, https}) {
    SCOPED_TRACE(base);
    const fs::path out = dir / "tree.arrows";
    auto got = Zkarrow("get " + base + "/znodes" + trust + " -o " + out.string());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    auto rows = ReadZnodeRows(out);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), 11u);
    auto put = Zkarrow("put " + out.string() + " " + base + "/datasets/secure" + trust);
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    // No token: refused, saying why.
    auto refused = RunCommand(std::string(ZKARROW_BINARY) + " get " + base + "/znodes --tls-ca " +
                              cert.string() + " -o " + (dir / "no.arrows").string() + " 2>&1");
    EXPECT_FALSE(refused.ok());
  }
  EXPECT_EQ(CurlStatus(curl + https + "/znodes", dir / "401.json"), 401);
  EXPECT_EQ(
      CurlStatus(curl + "-H 'Authorization: Bearer s3cret-token' " + https + "/datasets/secure",
                 dir / "200.arrows"),
      200);
  auto stopped = (*server)->Stop(std::chrono::seconds(30));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0) << ReadText(dir / "serve.err");
  // The token never reaches the log.
  EXPECT_EQ(ReadText(dir / "serve.err").find("s3cret"), std::string::npos);
}

// A TLS client made with OpenSSL, trusting `ca`: it sends and reads as a
// test asks, and ends as a client that closes does, with a close_notify
// alert and then its FIN.
class TlsConnection {
 public:
  TlsConnection(int port, const fs::path& ca) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      error_ = std::string("connect: ") + std::strerror(errno);
      return;
    }
    // A server that neither answers nor closes fails the exchange instead
    // of holding the test.
    const timeval timeout{.tv_sec = 30, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    context_ = SSL_CTX_new(TLS_client_method());
    if (context_ == nullptr || SSL_CTX_load_verify_locations(context_, ca.c_str(), nullptr) != 1) {
      error_ = "the CA file " + ca.string() + ": " + OpenSslError();
      return;
    }
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(context_);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 ||
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1") != 1 ||
        SSL_connect(ssl_) != 1) {
      error_ = "TLS handshake: " + OpenSslError();
    }
  }
  ~TlsConnection() {
    Close();
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (context_ != nullptr) SSL_CTX_free(context_);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Empty once connected, else what failed.
  const std::string& error() const { return error_; }

  bool Send(const std::string& bytes) {
    return error_.empty() && SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) ==
                                 static_cast<int>(bytes.size());
  }

  // What the server sent until `done` holds for it, the server closed or a
  // read timed out.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done) {
    std::string received;
    while (error_.empty() && !done(received)) {
      char buffer[1 << 16];
      const int n = SSL_read(ssl_, buffer, sizeof(buffer));
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    return received;
  }

  // The alert a client sends first when it closes, without waiting for
  // the server's.
  void CloseNotify() {
    if (error_.empty()) SSL_shutdown(ssl_);
  }
  // The FIN.
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  static std::string OpenSslError() {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    return text;
  }

  int fd_ = -1;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
};

// Over TLS a client that closes sends a close_notify alert before its FIN:
// bytes the server leaves unread while a response waits (they could be the
// next request's). A client gone from a quiet live stream is noticed all
// the same, whether its FIN comes with the alert or after the server saw
// the alert alone, long before TCP keepalive's probes would notice it. And
// a request that arrives while the previous response on its connection
// waits is answered after that response.
TEST_F(ServeTest, ATlsClientGoneFromAQuietLiveStreamIsNoticed) {
  if (!HaveOpenssl()) ZKA_MISSING_PREREQUISITE() << "openssl not found";
  const fs::path dir = Dir("tls-hangup");
  // Nothing writes below it: /changes sends its headers, then nothing.
  MustCreate("/tls-hangup", "");
  const fs::path cert = dir / "cert.pem";
  const fs::path key = dir / "key.pem";
  ASSERT_TRUE(MakeCertificate(cert, key).ok());
  const fs::path ports = dir / "ports.json";
  auto server = ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--path", "/tls-hangup", "--http", "127.0.0.1:0",
       "--store", (dir / "store").string(), "--ports-file", ports.string(), "--tls-cert",
       cert.string(), "--tls-key", key.string()},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const nlohmann::json listening = WaitForPorts(**server, ports);
  ASSERT_FALSE(listening.is_null()) << ReadText(dir / "serve.err");
  const int port = listening["http"].get<int>();
  const std::string https =
      "--cacert " + cert.string() + " https://127.0.0.1:" + std::to_string(port);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    ready = CurlStatus(https + "/healthz", dir / "health.txt") == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << ReadText(dir / "serve.err");
  const auto streams = [&] { return Metric("zkarrow_http_streams", https); };
  const auto has_headers = [](const std::string& reply) {
    return reply.find("\r\n\r\n") != reply.npos;
  };

  for (const bool fin_later : {false, true}) {
    SCOPED_TRACE(fin_later ? "the FIN after the alert" : "the FIN with the alert");
    // Counted apart from a stream before, still open where this failed.
    const int64_t before = streams();
    TlsConnection connection(port, cert);
    ASSERT_EQ(connection.error(), "");
    ASSERT_TRUE(connection.Send("GET /changes HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    const std::string headers = connection.ReadUntil(has_headers);
    ASSERT_EQ(headers.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << headers;
    EXPECT_EQ(streams(), before + 1);
    connection.CloseNotify();
    // Long enough for the server to be woken by the alert alone.
    if (fin_later) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    connection.Close();
    const auto noticed_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (streams() != before && std::chrono::steady_clock::now() < noticed_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(streams(), before) << "the live stream of a TLS client gone is still open";
  }

  // The next request's bytes arrive while the query's response waits for
  // its worker (counting rows keeps it busy far longer than a look at
  // /metrics takes): they stay for the request's read, and both are
  // answered in order.
  TlsConnection kept(port, cert);
  ASSERT_EQ(kept.error(), "");
  const int64_t before = streams();
  const std::string count =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) "
      "SELECT count(*) FROM c";
  ASSERT_TRUE(
      kept.Send("POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                "text/plain\r\nContent-Length: " +
                std::to_string(count.size()) + "\r\n\r\n" + count));
  const auto waiting_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (streams() != before + 1 && std::chrono::steady_clock::now() < waiting_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(streams(), before + 1) << "the query's response is not waiting";
  ASSERT_TRUE(kept.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const std::string replies = kept.ReadUntil(
      [](const std::string& received) { return received.ends_with("\r\n\r\nok\n"); });
  EXPECT_EQ(replies.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << replies;
  EXPECT_NE(replies.find("\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"), std::string::npos)
      << "the query's reply, whole, then the health check's: " << replies;
  EXPECT_TRUE(replies.ends_with("\r\n\r\nok\n")) << replies;

  auto stopped = (*server)->Stop(std::chrono::seconds(30));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0) << ReadText(dir / "serve.err");
}

// The ensemble gone past the session timeout ends the server's watcher:
// the last state stays served and /healthz says 503. With the ensemble back,
// a new watcher reads the tree again, the `changes` stream gets a `resync`
// row and then exactly the differences, the served tree equals a fresh
// snapshot and /healthz is 200 again. On a ZooKeeper server of its own (the
// suite's writer session would expire with it).
TEST_F(ServeTest, WatcherRestartsAfterTheEnsembleWasGonePastTheSessionTimeout) {
  auto own = zkserver::ZooKeeperCluster::Start({.servers = 1});
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  const std::string root = "/restart";
  zk::ClientOptions client_options;
  client_options.connect_string = (*own)->ConnectString();
  {
    auto client = zk::Client::Connect(client_options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    ASSERT_TRUE((*client)->Create(root, "r", zk::OpenAclUnsafe()).get().ok());
    for (int i = 0; i < 30; ++i) {
      auto created =
          (*client)
              ->Create(root + "/n" + std::to_string(i), std::to_string(i), zk::OpenAclUnsafe())
              .get();
      ASSERT_TRUE(created.ok()) << created.status().ToString();
    }
    // A subtree deleted while nobody watches, and a node with a child
    // deleted and created again: their rows must delete children first.
    for (const char* path : {"/sub", "/sub/x0", "/sub/x0/y", "/sub/x1", "/re", "/re/c"}) {
      ASSERT_TRUE((*client)->Create(root + path, "s", zk::OpenAclUnsafe()).get().ok()) << path;
    }
  }
  const fs::path dir = Dir("restart");
  const fs::path ports = dir / "ports.json";
  auto server =
      ZkarrowProcess::Start("serve",
                            {"--zk", (*own)->ConnectString(), "--session-timeout-ms", "4000",
                             "--flight", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store",
                             (dir / "store").string(), "--ports-file", ports.string()},
                            dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const nlohmann::json parsed = WaitForPorts(**server, ports);
  ASSERT_FALSE(parsed.is_null()) << ReadText(dir / "serve.err");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string flight = "grpc://127.0.0.1:" + std::to_string(parsed["flight"].get<int>());
  const std::string http = "http://127.0.0.1:" + std::to_string(parsed["http"].get<int>());
  auto health = [&] { return CurlStatus(http + "/healthz", dir / "health.txt"); };
  // Waits (bounded) for /healthz to answer `status`.
  auto await_health = [&](int status) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (health() != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return health() == status;
  };
  ASSERT_TRUE(await_health(200)) << ReadText(dir / "serve.err");

  // The change stream across the outage, from the initial state on.
  const fs::path changes = dir / "changes.arrows";
  auto stream = ZkarrowProcess::Start(
      "get", {flight + "/changes?initial=true", "-o", changes.string(), "--format", "stream"},
      dir / "get-changes.err");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  // Subscribed once the server counts the stream (`get` writes its file
  // only when it ends).
  auto streams = [&] {
    if (CurlStatus(http + "/metrics", dir / "metrics.txt") != 200) return int64_t{-1};
    const std::string metrics = ReadText(dir / "metrics.txt");
    const std::string key = "\nzkarrow_changes_streams ";
    const size_t at = metrics.find(key);
    return at == std::string::npos
               ? int64_t{-1}
               : static_cast<int64_t>(std::atoll(metrics.c_str() + at + key.size()));
  };
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (streams() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(streams(), 1) << ReadText(dir / "get-changes.err");
  {
    const fs::path before = dir / "before.arrow";
    ASSERT_TRUE(Zkarrow("get '" + http + "/znodes?path=" + root + "' -o " + before.string()).ok());
    auto rows = ReadZnodeRows(before);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), 37u);
  }

  // The actions' own session (an acl read), opened now: the outage ends it.
  const std::string acl = "-X POST -H 'Content-Type: application/json' -d '{\"path\": \"" + root +
                          "\"}' " + http + "/actions/acl";
  ASSERT_EQ(CurlStatus(acl, dir / "acl.txt"), 200) << ReadText(dir / "acl.txt");

  Status stopped = (*own)->Stop(0);
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  const bool went_unhealthy = await_health(503);
  Status restarted = (*own)->Restart(0);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_TRUE(went_unhealthy) << "the watcher's failure was not reported\n"
                              << ReadText(dir / "serve.err");
  EXPECT_NE(ReadText(dir / "health.txt").find("following ZooKeeper failed"), std::string::npos)
      << ReadText(dir / "health.txt");

  // Changes the new watcher must find: deleted, changed and new nodes.
  int64_t last = 0;
  {
    auto client = zk::Client::Connect(client_options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    // First, so that the new watcher's read most likely finds them done
    // (it retries its connection once a second or more by now).
    for (const char* path : {"/sub/x0/y", "/sub/x0", "/sub/x1", "/sub", "/re/c", "/re"}) {
      ASSERT_TRUE((*client)->Delete(root + path, -1).get().ok()) << path;
    }
    for (const char* path : {"/re", "/re/c"}) {
      ASSERT_TRUE((*client)->Create(root + path, "again", zk::OpenAclUnsafe()).get().ok());
    }
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE((*client)->Delete(root + "/n" + std::to_string(i), -1).get().ok());
      auto set = (*client)->SetData(root + "/n" + std::to_string(10 + i), "changed", -1).get();
      ASSERT_TRUE(set.ok()) << set.status().ToString();
      ASSERT_TRUE((*client)
                      ->Create(root + "/m" + std::to_string(i), "new", zk::OpenAclUnsafe())
                      .get()
                      .ok());
    }
    auto stat = (*client)->SetData(root, "last", -1).get();
    ASSERT_TRUE(stat.ok()) << stat.status().ToString();
    last = stat->mzxid;
  }
  ASSERT_TRUE(await_health(200)) << ReadText(dir / "health.txt") << ReadText(dir / "serve.err");
  // The first action after the outage gets a new session: it failed (503,
  // "whether the write happened is unknown") without being sent, on the
  // session that had expired meanwhile.
  EXPECT_EQ(CurlStatus(acl, dir / "acl.txt"), 200) << ReadText(dir / "acl.txt");
  Status synced =
      RunCommand("curl -sf -X POST -H 'Content-Type: application/json' -d '{\"zxid\": " +
                 std::to_string(last) + "}' " + http + "/actions/sync > /dev/null")
          .status();
  ASSERT_TRUE(synced.ok()) << synced.ToString();
  ASSERT_EQ(CurlStatus(http + "/metrics", dir / "metrics.txt"), 200);
  EXPECT_NE(ReadText(dir / "metrics.txt").find("\nzkarrow_watcher_restarts_total 1\n"),
            std::string::npos)
      << ReadText(dir / "metrics.txt");

  const fs::path snapshot = dir / "snapshot.arrow";
  ASSERT_TRUE(Zkarrow("snapshot --zk " + (*own)->ConnectString() + " --path " + root + " -o " +
                      snapshot.string())
                  .ok());
  auto expected = ReadZnodeRows(snapshot);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_EQ(expected->size(), 33u);
  const fs::path served = dir / "served.arrow";
  auto got = Zkarrow("get '" + http + "/znodes?path=" + root + "' -o " + served.string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  auto rows = ReadZnodeRows(served);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(DiffRows(*expected, *rows), "");

  // The stream: a resync, then the differences; replayed, it is the tree.
  auto stream_stopped = (*stream)->Stop();
  ASSERT_TRUE(stream_stopped.ok()) << stream_stopped.status().ToString();
  EXPECT_EQ(*stream_stopped, 0) << ReadText(dir / "get-changes.err");
  auto change_rows = ReadChangeRows({changes});
  ASSERT_TRUE(change_rows.ok()) << change_rows.status().ToString();
  EXPECT_EQ(testing::CountEvent(*change_rows, "resync"), 1);
  size_t resync = 0;
  while (resync < change_rows->size() && (*change_rows)[resync]["event"] != "resync") ++resync;
  ASSERT_LT(resync, change_rows->size());
  // Only differences follow it: the nodes nobody touched (n20..n29) are
  // not sent again, the deleted ones are deleted.
  std::set<std::string> after;
  for (size_t i = resync + 1; i < change_rows->size(); ++i) {
    after.insert((*change_rows)[i]["path"].get<std::string>());
  }
  for (int i = 20; i < 30; ++i) EXPECT_EQ(after.count(root + "/n" + std::to_string(i)), 0u) << i;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(after.count(root + "/n" + std::to_string(i)), 1u) << i;
  EXPECT_EQ(testing::CheckTreeReplay(*change_rows, "/"), "");
  std::vector<nlohmann::json> replayed;
  for (nlohmann::json& row : Replay(*change_rows)) {
    const std::string path = row["path"];
    if (path == root || path.starts_with(root + "/")) replayed.push_back(std::move(row));
  }
  EXPECT_EQ(DiffRows(*expected, replayed), "");
  auto server_stopped = (*server)->Stop(std::chrono::seconds(30));
  ASSERT_TRUE(server_stopped.ok()) << server_stopped.status().ToString();
  EXPECT_EQ(*server_stopped, 0) << ReadText(dir / "serve.err");
}

// SIGTERM while the ensemble does not answer (its server paused) stops a
// coordinated server within the close timeouts of its sessions: the
// coordinator's loop waited on its read of the catalog for the session
// timeout and a new session's connect (48 s with the default 30 s timeout).
TEST_F(ServeTest, ACoordinatedServerStopsPromptlyWhileZooKeeperDoesNotAnswer) {
  const fs::path dir = Dir("coord-stop");
  const fs::path ports = dir / "ports.json";
  auto server = ZkarrowProcess::Start(
      "serve",
      {"--zk", cluster_->ConnectString(), "--flight", "127.0.0.1:0", "--http", "127.0.0.1:0",
       "--store", (dir / "store").string(), "--ports-file", ports.string(), "--coord",
       "--coord-root", "/coord-stop", "--server-id", "stopper"},
      dir / "serve.err");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_FALSE(WaitForPorts(**server, ports).is_null()) << ReadText(dir / "serve.err");
  const std::string health =
      "http://127.0.0.1:" +
      std::to_string(nlohmann::json::parse(ReadText(ports))["http"].get<int>()) + "/healthz";
  const auto ready_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (CurlStatus(health, dir / "health.txt") != 200 &&
         std::chrono::steady_clock::now() < ready_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(CurlStatus(health, dir / "health.txt"), 200) << ReadText(dir / "serve.err");

  ASSERT_EQ(::kill(cluster_->pid(0), SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto stopping = std::chrono::steady_clock::now();
  Result<int> exit_code = (*server)->Stop(std::chrono::seconds(15));
  const auto took = std::chrono::steady_clock::now() - stopping;
  ::kill(cluster_->pid(0), SIGCONT);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString() << ": "
                              << ReadText(dir / "serve.err");
  EXPECT_EQ(*exit_code, 0) << ReadText(dir / "serve.err");
  EXPECT_LT(took, std::chrono::seconds(10)) << ReadText(dir / "serve.err");
  EXPECT_EQ(ReadText(dir / "serve.err").find("reading the catalog"), std::string::npos)
      << ReadText(dir / "serve.err");
}

// Last: stops the suite's server.
TEST_F(ServeTest, ZSigtermWithLiveStreamsOpenExitsCleanly) {
  const fs::path dir = Dir("sigterm");
  pid_t live = ::fork();
  if (live == 0) {
    ::execl("/usr/bin/curl", "curl", "-s", "-N", "-o", (dir / "changes.arrows").c_str(),
            (http_ + "/changes").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto stopped = server_->Stop(std::chrono::seconds(30));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0);
  int status = 0;
  ::waitpid(live, &status, 0);  // curl ends when the server closes the stream
  delete server_;
  server_ = nullptr;
}

}  // namespace
}  // namespace zkarrow
