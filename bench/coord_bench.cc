// coord_bench [--nodes N] [--puts P] [--clients C] [--out FILE]
//
// A group of `zkarrow serve --coord` processes (four, --replicas 3) over a
// 3-node ZooKeeper ensemble on loopback, measured in one run:
//   - publication: P puts of a small dataset (a 1,000-znode subtree) over
//     Flight, each to the next server in turn: latency to the
//     acknowledgement, and from the acknowledgement until every server
//     answers GetFlightInfo with the new version (p50, p99);
//   - downloads: C concurrent clients each reading the sample-tree dataset
//     (N znodes, default 100k) over Flight, all from one holder, then spread
//     over the three holders: aggregate MB/s;
//   - recovery: a holder killed (SIGKILL); the time until the catalog lists
//     three live holders again (the session timeout, the leader's grace
//     period and the copy; the settings are printed with the result).
// Prints a markdown report and writes it to FILE (bench/results/coord.md).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "base/child_process.h"
#include "bench_flags.h"
#include "coord/layout.h"
#include "sampletree/sample_tree.h"
#include "transport/flight/flight_client.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using namespace zkarrow;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kServers = 4;
constexpr int kReplicas = 3;
constexpr int kSessionTimeoutMs = 2000;
constexpr int kGraceMs = 1000;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "coord_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what, result.status());
  return std::move(*result);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * static_cast<double>(values.size() - 1))];
}

// The binary as a child that dies with the bench (so that no server
// outlives a failed run), its output appended to `log`.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
  return Must(
      SpawnTiedChild(args, {.stdout_path = log.string(), .stderr_to_stdout = true, .append = true}),
      "starting " + args[0]);
}

struct Server {
  int flight_port = 0;
  int http_port = 0;
  pid_t pid = -1;
};

class Group {
 public:
  Group(const zkserver::ZooKeeperCluster& cluster, fs::path dir)
      : cluster_(cluster), dir_(std::move(dir)) {}
  ~Group() {
    for (Server& server : servers_) Kill(server);
  }

  void Start(int i) {
    Server& server = servers_[i];
    if (server.flight_port == 0) {
      server.flight_port = Must(zkserver::PickFreePort(), "a port");
      server.http_port = Must(zkserver::PickFreePort(), "a port");
    }
    server.pid = Spawn({ZKARROW_BINARY,
                        "serve",
                        "--zk",
                        cluster_.ConnectString(),
                        "--path",
                        "/zookeeper",
                        "--flight",
                        "127.0.0.1:" + std::to_string(server.flight_port),
                        "--http",
                        "127.0.0.1:" + std::to_string(server.http_port),
                        "--store",
                        (dir_ / ("store-" + std::to_string(i))).string(),
                        "--coord",
                        "--server-id",
                        "s" + std::to_string(i),
                        "--replicas",
                        std::to_string(kReplicas),
                        "--holder-grace-ms",
                        std::to_string(kGraceMs),
                        "--session-timeout-ms",
                        std::to_string(kSessionTimeoutMs)},
                       dir_ / ("s" + std::to_string(i) + ".err"));
  }

  static void Kill(Server& server) {
    if (server.pid <= 0) return;
    ::kill(server.pid, SIGKILL);
    ::waitpid(server.pid, nullptr, 0);
    server.pid = -1;
  }

  Server& operator[](int i) { return servers_[i]; }

 private:
  const zkserver::ZooKeeperCluster& cluster_;
  const fs::path dir_;
  Server servers_[kServers];
};

std::unique_ptr<transport::ArrowClient> Connect(int port) {
  transport::ClientOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  return Must(transport::flight::FlightClient::Connect(options), "connecting");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int64_t Put(transport::ArrowClient& client, const std::string& name, const std::string& bytes) {
  arrow::BufferInputStream input(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  transport::Resource resource = Must(transport::ParseTarget("/datasets/" + name), "target");
  transport::StreamInfo stored = Must(client.Put(resource, input, {}), "put " + name);
  return nlohmann::json::parse(stored.app_metadata_json)["version"].get<int64_t>();
}

int64_t DescribedVersion(transport::ArrowClient& client, const std::string& name) {
  auto listed = client.List();
  if (!listed.ok()) return -1;
  for (const transport::StreamInfo& info : *listed) {
    if (info.resource.segments.size() == 2 && info.resource.segments[1] == name) {
      return nlohmann::json::parse(info.app_metadata_json)["version"].get<int64_t>();
    }
  }
  return 0;
}

// The number of live holders of `name`'s current version, from ZooKeeper.
int LiveHolders(zk::Client& zk, const std::string& name) {
  auto data = zk.GetData("/zkarrow/datasets/" + name).get();
  auto servers = zk.GetChildren("/zkarrow/servers").get();
  if (!data.ok() || !servers.ok()) return -1;
  auto entry = coord::CatalogEntryFromJson(name, data->data);
  if (!entry.ok() || entry->versions.empty()) return -1;
  int live = 0;
  for (const std::string& holder : entry->versions.back().holders) {
    if (std::find(servers->begin(), servers->end(), holder) == servers->end()) return -1;
    ++live;
  }
  return live;
}

void WaitHolders(zk::Client& zk, const std::string& name, int count) {
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (LiveHolders(zk, name) < count) {
    if (Clock::now() > deadline) Die("waiting for holders of " + name, Status::Timeout(""));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nodes = 100000;
  int puts = 50;
  int clients = 6;
  std::string out = COORD_BENCH_DEFAULT_OUT;
  constexpr const char* kUsage =
      "usage: coord_bench [--nodes N] [--puts P] [--clients C] [--out FILE]\n";
  if (auto exit_code = bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", [&](const std::string& v) { nodes = std::stoll(v); }},
           {"--puts", [&](const std::string& v) { puts = std::stoi(v); }},
           {"--clients", [&](const std::string& v) { clients = std::stoi(v); }},
           {"--out", [&](const std::string& v) { out = v; }}})) {
    return *exit_code;
  }

  const fs::path dir = fs::temp_directory_path() / ("coord-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto cluster = Must(zkserver::ZooKeeperCluster::Start({.servers = 3,
                                                         .tick_time_ms = 500,
                                                         .config = {{"forceSync", "no"}},
                                                         .jvm_flags = {"-Xmx2g"},
                                                         .start_timeout = std::chrono::minutes(5)}),
                      "starting ZooKeeper");
  zk::ClientOptions zk_options;
  zk_options.connect_string = cluster->ConnectString();
  auto zk = Must(zk::Client::Connect(zk_options), "connecting to ZooKeeper");

  // The datasets: a small subtree and the sample tree, as Arrow streams.
  std::fprintf(stderr, "coord_bench: loading %lld znodes\n", static_cast<long long>(nodes));
  const auto sample = sampletree::GenerateSampleTree({.target_nodes = nodes});
  if (Status loaded = sampletree::LoadSampleTree(*zk, sample); !loaded.ok()) Die("loading", loaded);
  auto snapshot = [&](const std::string& path, const fs::path& file) {
    const std::string command = std::string(ZKARROW_BINARY) + " snapshot --zk " +
                                cluster->ConnectString() + " --path " + path +
                                " --format stream -o " + file.string() + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) Die("snapshot of " + path, Status::IoError(command));
    return ReadFile(file);
  };
  std::string small_path;
  {
    auto children = Must(zk->GetChildren("/").get(), "listing /");
    for (const std::string& child : children) {
      if (child == "zookeeper") continue;
      auto count = zk->GetAllChildrenNumber("/" + child).get();
      if (count.ok() && *count >= 500 && (small_path.empty() || *count < 5000)) {
        small_path = "/" + child;
      }
    }
  }
  if (small_path.empty()) small_path = "/";
  const std::string small = snapshot(small_path, dir / "small.arrows");
  const std::string big = snapshot("/", dir / "big.arrows");

  Group group(*cluster, dir);
  for (int i = 0; i < kServers; ++i) group.Start(i);
  std::vector<std::unique_ptr<transport::ArrowClient>> clients_of(kServers);
  const auto ready_by = Clock::now() + std::chrono::minutes(2);
  while (true) {
    auto servers = zk->GetChildren("/zkarrow/servers").get();
    if (servers.ok() && servers->size() == kServers) break;
    if (Clock::now() > ready_by) Die("waiting for the servers", Status::Timeout(""));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int i = 0; i < kServers; ++i) clients_of[i] = Connect(group[i].flight_port);

  // 1. Publication.
  std::vector<double> ack_ms, visible_ms;
  for (int p = 0; p < puts; ++p) {
    const auto start = Clock::now();
    const int64_t version = Put(*clients_of[p % kServers], "small", small);
    ack_ms.push_back(Seconds(start) * 1000);
    const auto acked = Clock::now();
    for (int i = 0; i < kServers; ++i) {
      while (DescribedVersion(*clients_of[i], "small") < version) {
        if (Seconds(acked) > 60) Die("visibility", Status::Timeout("small"));
      }
    }
    visible_ms.push_back(Seconds(acked) * 1000);
  }

  // 2. Downloads, from one holder and from three.
  // `zkarrow put` cuts the snapshot's batches to Flight's message limit.
  const std::string put_big = std::string(ZKARROW_BINARY) + " put " +
                              (dir / "big.arrows").string() +
                              " grpc://127.0.0.1:" + std::to_string(group[0].flight_port) +
                              "/datasets/big > /dev/null 2>&1";
  if (std::system(put_big.c_str()) != 0) Die("put big", Status::IoError(put_big));
  const int64_t big_version = 1;
  WaitHolders(*zk, "big", kReplicas);
  auto entry = Must(coord::CatalogEntryFromJson(
                        "big", Must(zk->GetData("/zkarrow/datasets/big").get(), "catalog").data),
                    "catalog");
  std::vector<int> holders;
  for (const std::string& id : entry.versions.back().holders) holders.push_back(id[1] - '0');
  const transport::Resource resource =
      Must(transport::ParseTarget("/datasets/big?version=" + std::to_string(big_version)), "t");
  auto download = [&](const std::vector<int>& from) {
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto client = Connect(group[from[c % from.size()]].flight_port);
        auto input = Must(client->Get(resource, {}), "get");
        auto reader = Must(arrow::ipc::StreamReader::Open(std::move(input)), "reading");
        while (Must(reader->Next(), "reading")) {
        }
      });
    }
    for (auto& thread : threads) thread.join();
    return static_cast<double>(big.size()) * clients / Seconds(start) / 1e6;
  };
  download(holders);  // warm-up: page cache and connections
  const double one_holder = std::max(download({holders[0]}), download({holders[0]}));
  const double three_holders = std::max(download(holders), download(holders));

  // 3. Recovery: a holder of `big` killed; three live holders again.
  const int victim = holders.back();
  const auto killed = Clock::now();
  Group::Kill(group[victim]);
  while (LiveHolders(*zk, "big") == kReplicas) {  // until the victim's session is gone
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double gone_s = Seconds(killed);
  WaitHolders(*zk, "big", kReplicas);
  const double recovered_s = Seconds(killed);

  std::ostringstream report;
  report << "# zkarrow serve --coord benchmark\n\n"
         << "Four `zkarrow serve --coord` processes (--replicas " << kReplicas
         << ") over a 3-node ZooKeeper 3.8 ensemble, all on loopback on this machine "
         << "(2 cores, shared). Session timeout " << kSessionTimeoutMs << " ms, holder grace "
         << kGraceMs << " ms.\n\n"
         << "## Publication (" << puts << " puts of a " << small.size() / 1000
         << " kB dataset, servers in turn)\n\n"
         << "| | p50 ms | p99 ms |\n|---|---|---|\n"
         << "| put acknowledged (upload, validation, fsync, catalog multi) | "
         << Percentile(ack_ms, 0.5) << " | " << Percentile(ack_ms, 0.99) << " |\n"
         << "| acknowledged -> every server describes the new version | "
         << Percentile(visible_ms, 0.5) << " | " << Percentile(visible_ms, 0.99) << " |\n\n"
         << "## Downloads (" << clients << " concurrent clients, " << big.size() / 1000000
         << " MB dataset of " << nodes << " znodes, Flight, decoded; best of 2)\n\n"
         << "| from | aggregate MB/s |\n|---|---|\n"
         << "| one holder | " << one_holder << " |\n"
         << "| three holders | " << three_holders << " |\n\n"
         << "## Recovery\n\n"
         << "| | seconds after the kill |\n|---|---|\n"
         << "| the killed holder leaves servers/ (its session expires) | " << gone_s << " |\n"
         << "| three live holders again (copy made and verified) | " << recovered_s << " |\n";
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  fs::remove_all(dir);
  return 0;
}
