// serve_bench [--nodes N] [--rounds R] [--clients C] [--requests Q] [--out FILE]
//
// zkarrow serve's data paths on loopback, in one run, each next to the
// local baseline it is measured against:
//   - get of the whole `znodes` table (the sample tree of N znodes, default
//     100k) over Flight and over HTTP, received and decoded by our reader
//     in a client process of its own (this binary again, with --get), as
//     `zkarrow get` receives it, against decoding the same stream from a
//     file in the page cache,
//     against a memcpy of its bytes and against sending its bytes over one
//     loopback TCP connection with no protocol and no decode (what the
//     kernel's loopback path allows one connection): GB/s of the encoded
//     table, best of R;
//   - small requests: C concurrent clients (default 50), each asking Q times
//     for `znodes?path=` of one leaf (a fresh request each time over the
//     client's kept connection: HTTP keep-alive, a Flight channel; and over
//     HTTP once more with a new connection per request): p50 and p99
//     latency. Flight is measured twice: with a thread per client, each
//     blocking in FlightClient::Get, and with all C clients' calls driven
//     by one thread on gRPC's asynchronous API (a cheaper load generator,
//     as wrk is to ab: each call is still a DoGet of its own, its
//     FlightData checked and decoded by the same code); the clients run in
//     a process of their own (this binary again, with --small), and each
//     row has the CPU per request of the client process and of the server;
//   - put of the table as a dataset over both protocols: MB/s, validation,
//     fsync and publication included.
// The server is the library stack `zkarrow serve` runs (TreeService,
// DatasetStore, Service, FlightServer, HttpServer) against a real ZooKeeper
// loaded with the sample tree. Prints a markdown report and writes it to
// FILE (bench/results/serve.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/reader.h"
#include "bench_flags.h"
#include "cli/heap_policy.h"
#include "flight_one_thread.h"
#include "sampletree/sample_tree.h"
#include "serve/dataset_store.h"
#include "serve/service.h"
#include "serve/tree_service.h"
#include "transport/flight/flight_client.h"
#include "transport/flight/flight_server.h"
#include "transport/http/http_client.h"
#include "transport/http/http_server.h"
#include "transport/resource.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using namespace zkarrow;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "serve_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what, result.status());
  return std::move(*result);
}

// Reads a stream to its end with our reader (every batch decoded and
// validated, as a client does); returns rows.
int64_t DecodeAll(std::unique_ptr<arrow::InputStream> input, const std::string& what) {
  auto reader = Must(arrow::ipc::StreamReader::Open(std::move(input)), what);
  int64_t rows = 0;
  while (true) {
    auto batch = Must(reader->Next(), what);
    if (!batch) break;
    rows += batch->length;
  }
  return rows;
}

struct Throughput {
  double best_seconds = 1e100;
  int64_t rows = 0;
};

template <typename F>
Throughput Best(int rounds, F&& run) {
  Throughput result;
  for (int i = 0; i < rounds; ++i) {
    auto start = Clock::now();
    result.rows = run();
    result.best_seconds = std::min(result.best_seconds, Seconds(start));
  }
  return result;
}

[[noreturn]] void DieErrno(const std::string& what) {
  Die("loopback TCP", Status::FromErrno(errno, what));
}

// `bytes` sent over one new loopback TCP connection, by a thread writing
// them from memory, read whole into `into` (reused, so its pages are not
// fresh): the transport's own cost, with no protocol and no decode.
void LoopbackTcpCopy(int listener, std::span<const uint8_t> bytes, std::span<uint8_t> into) {
  constexpr size_t kIoBytes = size_t{1} << 20;
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    DieErrno("getsockname");
  }
  std::thread sender([&] {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) DieErrno("accept");
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = ::write(connection, bytes.data() + sent, std::min(kIoBytes, bytes.size() - sent));
      if (n < 0) {
        if (errno == EINTR) continue;
        DieErrno("write");
      }
      sent += static_cast<size_t>(n);
    }
    ::close(connection);
  });
  const int connection = ::socket(AF_INET, SOCK_STREAM, 0);
  if (connection < 0) DieErrno("socket");
  if (::connect(connection, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    DieErrno("connect");
  }
  size_t received = 0;
  while (received < into.size()) {
    ssize_t n =
        ::read(connection, into.data() + received, std::min(kIoBytes, into.size() - received));
    if (n < 0) {
      if (errno == EINTR) continue;
      DieErrno("read");
    }
    if (n == 0) break;
    received += static_cast<size_t>(n);
  }
  ::close(connection);
  sender.join();
  if (received != bytes.size()) {
    Die("loopback TCP", Status::IoError("expected " + std::to_string(bytes.size()) +
                                        " bytes, found " + std::to_string(received)));
  }
}

// The first three fields of /proc/loadavg: the machine's load, for the
// report (the numbers are only comparable within one run).
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

// CPU seconds (user and system) of the calling thread or of the process.
double CpuSeconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A small-request row; the CPU split says who bounds it on a machine the
// clients share with the server: the client process's CPU, and the
// server's (the bench process's, whose other work is idle meanwhile).
struct SmallResult {
  double p50, p99, per_second;
  int failures;
  double client_us_per_request, server_us_per_request;
};

// The client process of the get rows (--get URL): the whole table `rounds`
// times through the client `zkarrow get` uses, with its heap policy,
// decoded; prints the best time and the rows. A process of its own because
// gRPC's pollers are per process: with the server in the same process,
// its threads did much of the client's receiving, so the Flight row
// measured a client `zkarrow get` never is.
int GetClient(const std::string& url, int rounds) {
  cli::KeepFreedHeapMemory();
  const transport::ServerUrl parsed = Must(transport::ParseServerUrl(url + "/znodes"), "--get");
  transport::ClientOptions options;
  options.host = parsed.host;
  options.port = parsed.port;
  std::unique_ptr<transport::ArrowClient> client;
  if (parsed.protocol == transport::ServerUrl::Protocol::kFlight) {
    client = Must(transport::flight::FlightClient::Connect(options), "Flight client");
  } else {
    client = Must(transport::http::HttpClient::Connect(options), "HTTP client");
  }
  Throughput result = Best(rounds, [&] {
    return DecodeAll(Must(client->Get(parsed.resource, {}), "get " + url), "get " + url);
  });
  std::printf("%.9f %lld\n", result.best_seconds, static_cast<long long>(result.rows));
  return 0;
}

// Runs this binary as the client process of a get row (GetClient).
Throughput GetInChildProcess(const std::string& url, int rounds) {
  const std::string command = fs::read_symlink("/proc/self/exe").string() + " --get " + url +
                              " --rounds " + std::to_string(rounds);
  FILE* child = ::popen(command.c_str(), "r");
  if (child == nullptr) Die("get client", Status::FromErrno(errno, "popen " + command));
  Throughput result;
  long long rows = 0;
  const int fields = std::fscanf(child, "%lf %lld", &result.best_seconds, &rows);
  const int status = ::pclose(child);
  if (fields != 2 || status != 0) {
    Die("get client", Status::IoError("expected its best time and rows, found " +
                                      std::to_string(fields) + " fields and exit status " +
                                      std::to_string(status) + " (" + command + ")"));
  }
  result.rows = rows;
  return result;
}

// The small-request rows: a thread per client over Flight (blocking
// FlightClient::Get) or HTTP (kept connections, or a new one per request),
// or the Flight clients' calls all on one thread (gRPC's async API).
enum class Small { kFlight, kFlightOneThread, kHttp, kHttpNewConnections };
constexpr const char* kSmallNames[] = {"flight", "flight-one-thread", "http", "http-new"};

// The client process of a small-request row (--small KIND): `clients`
// clients asking `requests` times each for `znodes?path=` of one of the
// leaves in `leaves_file` from the server at `port`; prints p50, p99 (ms),
// requests/s, failures and this process's CPU (all its threads, gRPC's
// included) per request in us. A process of its own, as for the get rows:
// gRPC's pollers are per process, and in the server's process the server's
// threads and the clients' took turns polling each other's connections.
int SmallClient(Small kind, int port, const std::string& leaves_file, int clients, int requests) {
  std::vector<std::string> leaves;
  {
    std::ifstream list(leaves_file);
    for (std::string leaf; std::getline(list, leaf);) leaves.push_back(leaf);
  }
  if (leaves.empty()) Die("--leaves", Status::InvalidArgument("no leaves in " + leaves_file));
  transport::ClientOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<int> failures{0};
  const double cpu_before = CpuSeconds(RUSAGE_SELF);
  double elapsed = 0;
  if (kind == Small::kFlightOneThread) {
    const bench::OneThreadRun run =
        Must(bench::FlightSmallOnOneThread("127.0.0.1:" + std::to_string(port), clients, requests,
                                           leaves,
                                           [](std::unique_ptr<arrow::InputStream> stream) {
                                             DecodeAll(std::move(stream), "small get (one thread)");
                                           }),
             "Flight on one thread");
    latencies = {run.latencies_ms};
    failures = run.failures;
    elapsed = run.seconds;
  } else {
    const bool use_flight = kind == Small::kFlight;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        std::unique_ptr<transport::ArrowClient> client;
        if (use_flight) {
          auto connected = transport::flight::FlightClient::Connect(options);
          if (connected.ok()) client = std::move(*connected);
        } else {
          auto connected = transport::http::HttpClient::Connect(options);
          if (connected.ok()) client = std::move(*connected);
        }
        if (!client) {
          ++failures;
          return;
        }
        for (int q = 0; q < requests; ++q) {
          transport::Resource resource;
          resource.segments = {"znodes"};
          resource.params["path"] = leaves[static_cast<size_t>(c * requests + q) % leaves.size()];
          auto begin = Clock::now();
          if (kind == Small::kHttpNewConnections) {
            // A client of its own opens a connection for this request alone.
            auto connected = transport::http::HttpClient::Connect(options);
            if (!connected.ok()) {
              ++failures;
              continue;
            }
            client = std::move(*connected);
          }
          auto body = client->Get(resource, {});
          if (!body.ok()) {
            ++failures;
            continue;
          }
          DecodeAll(std::move(*body), "small get");
          latencies[static_cast<size_t>(c)].push_back(Seconds(begin) * 1000);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    elapsed = Seconds(start);
  }
  std::vector<double> all;
  for (const auto& list : latencies) all.insert(all.end(), list.begin(), list.end());
  const double count = static_cast<double>(std::max<size_t>(all.size(), 1));
  std::printf("%.6f %.6f %.3f %d %.3f\n", Percentile(all, 0.5), Percentile(all, 0.99),
              static_cast<double>(all.size()) / elapsed, failures.load(),
              (CpuSeconds(RUSAGE_SELF) - cpu_before) / count * 1e6);
  return 0;
}

// Runs this binary as the client process of a small-request row
// (SmallClient); the server's CPU is this process's over the child's run.
SmallResult SmallInChildProcess(Small kind, int flight_port, int http_port,
                                const fs::path& leaves_file, int clients, int requests) {
  const bool flight = kind == Small::kFlight || kind == Small::kFlightOneThread;
  const std::string command = fs::read_symlink("/proc/self/exe").string() + " --small " +
                              kSmallNames[static_cast<int>(kind)] + " --port " +
                              std::to_string(flight ? flight_port : http_port) + " --leaves " +
                              leaves_file.string() + " --clients " + std::to_string(clients) +
                              " --requests " + std::to_string(requests);
  const double server_cpu_before = CpuSeconds(RUSAGE_SELF);
  FILE* child = ::popen(command.c_str(), "r");
  if (child == nullptr) Die("small client", Status::FromErrno(errno, "popen " + command));
  SmallResult result{};
  const int fields =
      std::fscanf(child, "%lf %lf %lf %d %lf", &result.p50, &result.p99, &result.per_second,
                  &result.failures, &result.client_us_per_request);
  const int status = ::pclose(child);
  if (fields != 5 || status != 0) {
    Die("small client",
        Status::IoError("expected 5 fields, found " + std::to_string(fields) + " and exit status " +
                        std::to_string(status) + " (" + command + ")"));
  }
  result.server_us_per_request = (CpuSeconds(RUSAGE_SELF) - server_cpu_before) /
                                 (static_cast<double>(clients) * requests) * 1e6;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nodes = 100000;
  int rounds = 3;
  int clients = 50;
  int requests = 100;
  std::string out = SERVE_BENCH_DEFAULT_OUT;
  std::string get_url;
  std::optional<Small> small_kind;
  int port = 0;
  std::string leaves_file;
  constexpr const char* kUsage =
      "usage: serve_bench [--nodes N] [--rounds R] [--clients C] [--requests Q] [--out FILE]\n"
      "       serve_bench --get grpc://HOST:PORT|http://HOST:PORT [--rounds R]  (the client "
      "process of the get rows)\n"
      "       serve_bench --small flight|flight-one-thread|http|http-new --port P --leaves FILE\n"
      "                   [--clients C] [--requests Q]  (the client process of a small-request "
      "row)\n";
  if (auto exit_code = bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", [&](const std::string& v) { nodes = std::stoll(v); }},
           {"--rounds", [&](const std::string& v) { rounds = std::stoi(v); }},
           {"--clients", [&](const std::string& v) { clients = std::stoi(v); }},
           {"--requests", [&](const std::string& v) { requests = std::stoi(v); }},
           {"--out", [&](const std::string& v) { out = v; }},
           {"--get", [&](const std::string& v) { get_url = v; }},
           {"--small",
            [&](const std::string& v) {
              auto known = std::find(std::begin(kSmallNames), std::end(kSmallNames), v);
              if (known == std::end(kSmallNames)) throw std::invalid_argument(v);
              small_kind = static_cast<Small>(known - std::begin(kSmallNames));
            }},
           {"--port", [&](const std::string& v) { port = std::stoi(v); }},
           {"--leaves", [&](const std::string& v) { leaves_file = v; }}})) {
    return *exit_code;
  }
  if (!get_url.empty()) return GetClient(get_url, rounds);
  if (small_kind) return SmallClient(*small_kind, port, leaves_file, clients, requests);

  const std::string load_before = LoadAverage();
  const std::string started = UtcNow();
  auto cluster =
      Must(zkserver::ZooKeeperCluster::Start({.config = {{"forceSync", "no"}},
                                              .jvm_flags = {"-Xmx3g", "-XX:+UseSerialGC"},
                                              .start_timeout = std::chrono::minutes(5)}),
           "starting ZooKeeper");
  zk::ClientOptions client_options;
  client_options.connect_string = cluster->ConnectString();
  const std::vector<sampletree::SampleNode> sample =
      sampletree::GenerateSampleTree({.target_nodes = nodes});
  {
    auto writer = Must(zk::Client::Connect(client_options), "connecting");
    std::fprintf(stderr, "serve_bench: loading %zu znodes\n", sample.size());
    if (Status loaded = sampletree::LoadSampleTree(*writer, sample); !loaded.ok()) {
      Die("loading the sample tree", loaded);
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("serve-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  serve::TreeServiceOptions tree_options;
  tree_options.watch.client = client_options;
  tree_options.source = client_options.connect_string;
  auto tree = Must(serve::TreeService::Start(tree_options), "starting the tree service");
  auto ready_by = Clock::now() + std::chrono::minutes(10);
  while (!tree->Health().ok() && Clock::now() < ready_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!tree->Health().ok()) Die("the initial read", tree->Health());
  auto store = Must(serve::DatasetStore::Open(dir / "store"), "opening the store");
  serve::LocalCatalog catalog(*store);
  serve::Service service(*tree, *store, catalog);
  transport::ServerOptions server_options;
  server_options.max_concurrent_streams = std::max(64, clients * 2);
  auto flight = Must(transport::flight::FlightServer::Start(server_options, service), "Flight");
  auto http = Must(transport::http::HttpServer::Start(server_options, service), "HTTP");

  // The table as the server encodes it, kept as a stream file.
  const fs::path file = dir / "znodes.arrows";
  int64_t table_bytes = 0;
  {
    auto stream = Must(service.Get(Must(transport::ParseTarget("/znodes"), "target"), {}), "get");
    auto output = Must(arrow::FileOutputStream::Open(file), "file");
    transport::IpcMessage message;
    while (Must(stream->Next(&message), "encoding") == transport::MessageStream::Poll::kMessage) {
      if (Status written = arrow::ipc::WriteFramed(*output, message); !written.ok()) {
        Die("writing", written);
      }
    }
    if (Status end = arrow::ipc::WriteEndOfStream(*output); !end.ok()) Die("writing", end);
    if (Status closed = output->Close(); !closed.ok()) Die("writing", closed);
    table_bytes = static_cast<int64_t>(fs::file_size(file));
  }
  const int64_t znodes = tree->metrics().znodes;
  std::fprintf(stderr, "serve_bench: %lld znodes, table of %lld bytes\n",
               static_cast<long long>(znodes), static_cast<long long>(table_bytes));

  // Baselines: memcpy of the bytes, and decoding them from the file.
  std::vector<uint8_t> source(static_cast<size_t>(table_bytes), 1);
  std::vector<uint8_t> target(source.size());
  Throughput memcpy_result = Best(rounds, [&] {
    std::memcpy(target.data(), source.data(), source.size());
    return int64_t{0};
  });
  Throughput file_result = Best(
      rounds, [&] { return DecodeAll(Must(arrow::FileInputStream::Open(file), "file"), "file"); });
  Throughput tcp_result;
  {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) DieErrno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener, 1) != 0) {
      DieErrno("listening on loopback");
    }
    tcp_result = Best(rounds, [&] {
      LoopbackTcpCopy(listener, source, target);
      return int64_t{0};
    });
    ::close(listener);
  }

  transport::ClientOptions flight_client_options;
  flight_client_options.host = "127.0.0.1";
  flight_client_options.port = flight->port();
  transport::ClientOptions http_client_options = flight_client_options;
  http_client_options.port = http->port();
  auto flight_client =
      Must(transport::flight::FlightClient::Connect(flight_client_options), "Flight client");
  auto http_client = Must(transport::http::HttpClient::Connect(http_client_options), "HTTP client");
  Throughput flight_get =
      GetInChildProcess("grpc://127.0.0.1:" + std::to_string(flight->port()), rounds);
  Throughput http_get =
      GetInChildProcess("http://127.0.0.1:" + std::to_string(http->port()), rounds);

  // Small requests from many clients at once: one leaf each, repeatedly.
  std::vector<std::string> leaves;
  for (const auto& node : sample) {
    if (leaves.size() >= 1000) break;
    if (node.path.find("/partitions/") != std::string::npos && node.path.ends_with("/state")) {
      leaves.push_back(node.path);
    }
  }
  if (leaves.empty()) leaves.push_back("/");
  const fs::path leaves_path = dir / "leaves.txt";
  {
    std::ofstream list(leaves_path);
    for (const std::string& leaf : leaves) list << leaf << "\n";
  }
  auto small = [&](Small kind) {
    return SmallInChildProcess(kind, flight->port(), http->port(), leaves_path, clients, requests);
  };
  const SmallResult flight_small = small(Small::kFlight);
  const SmallResult flight_one_thread_small = small(Small::kFlightOneThread);
  const SmallResult http_small = small(Small::kHttp);
  const SmallResult http_new_small = small(Small::kHttpNewConnections);

  // Uploads of the table.
  auto put = [&](transport::ArrowClient& client, const std::string& name) {
    transport::Resource resource;
    resource.segments = {"datasets", name};
    return Best(rounds, [&] {
      auto input = Must(arrow::FileInputStream::Open(file), "file");
      Must(client.Put(resource, *input, {}), "put " + name);
      return int64_t{0};
    });
  };
  Throughput flight_put = put(*flight_client, "flight-table");
  Throughput http_put = put(*http_client, "http-table");

  const std::string load_after = LoadAverage();
  http->Shutdown();
  flight->Shutdown();
  tree->Stop();
  fs::remove_all(dir);

  auto gbps = [&](const Throughput& t) {
    return static_cast<double>(table_bytes) / t.best_seconds / 1e9;
  };
  std::ostringstream report;
  char line[1024];
  report << "# zkarrow serve on loopback\n\n";
  std::snprintf(line, sizeof(line),
                "The sample tree of %lld znodes served from the mirror; the `znodes` table is "
                "%.1f MB as an Arrow stream. Best of %d rounds; one machine, one run "
                "(`bench/serve_bench --nodes %lld`), started %s, load average %s before, "
                "%s after.\n\n",
                static_cast<long long>(znodes), static_cast<double>(table_bytes) / 1e6, rounds,
                static_cast<long long>(nodes), started.c_str(), load_before.c_str(),
                load_after.c_str());
  report << line;
  report << "| whole table | seconds | GB/s | vs file read |\n|---|---:|---:|---:|\n";
  for (auto [name, t] : {std::pair{"memcpy of the bytes", memcpy_result},
                         std::pair{"file read + decode (page cache)", file_result},
                         std::pair{"loopback TCP, bytes only (no protocol, no decode)", tcp_result},
                         std::pair{"Flight get + decode (client process of its own)", flight_get},
                         std::pair{"HTTP get + decode (client process of its own)", http_get}}) {
    std::snprintf(line, sizeof(line), "| %s | %.3f | %.2f | %.2f |\n", name, t.best_seconds,
                  gbps(t), file_result.best_seconds / t.best_seconds);
    report << line;
  }
  std::snprintf(line, sizeof(line),
                "\nSmall requests (`znodes?path=` of one leaf), %d concurrent clients x %d "
                "requests, each client on its kept connection (a Flight channel, HTTP "
                "keep-alive) unless said otherwise, from a client process of their own. CPU per "
                "request: the client process's (all its threads), and the server's:\n\n"
                "| clients | p50 ms | p99 ms | requests/s | failures | client CPU us/request | "
                "server CPU us/request |\n|---|---:|---:|---:|---:|---:|---:|\n",
                clients, requests);
  report << line;
  const std::string one_thread_label =
      "Flight, the " + std::to_string(clients) + " clients' calls on one thread (gRPC async API)";
  for (auto [name, r] :
       {std::pair{"Flight, a thread per client (blocking FlightClient::Get)", flight_small},
        std::pair{one_thread_label.c_str(), flight_one_thread_small},
        std::pair{"HTTP, a thread per client", http_small},
        std::pair{"HTTP, a thread per client, a new connection per request", http_new_small}}) {
    std::snprintf(line, sizeof(line), "| %s | %.2f | %.2f | %.0f | %d | %.0f | %.0f |\n", name,
                  r.p50, r.p99, r.per_second, r.failures, r.client_us_per_request,
                  r.server_us_per_request);
    report << line;
  }
  std::snprintf(
      line, sizeof(line),
      "\nUploads of the table as a dataset (validated, written, fsynced, published):\n\n"
      "| protocol | seconds | MB/s |\n|---|---:|---:|\n| Flight | %.3f | %.0f |\n"
      "| HTTP | %.3f | %.0f |\n",
      flight_put.best_seconds, static_cast<double>(table_bytes) / flight_put.best_seconds / 1e6,
      http_put.best_seconds, static_cast<double>(table_bytes) / http_put.best_seconds / 1e6);
  report << line;
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  return 0;
}
