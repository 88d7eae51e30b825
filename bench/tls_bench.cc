// tls_bench [--nodes N] [--rounds R] [--out FILE]
//
// What TLS costs a live snapshot: one ZooKeeper server with a plain
// clientPort and a TLS secureClientPort (Netty, PEM certificates made with
// openssl), the sample tree loaded once, then `zkarrow snapshot` of the
// whole tree through either port in the same run: one unrecorded warm-up of
// each, then R rounds with the order alternating, medians reported. And the
// connection set-up: Client::Connect (TCP, [TLS handshake,] session
// handshake) on each port, 30 times. Prints a markdown table and writes it
// to FILE (bench/results/tls.md).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "bench_flags.h"
#include "sampletree/sample_tree.h"
#include "support/test_pki.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int Fail(const std::string& what, const zkarrow::Status& status) {
  std::fprintf(stderr, "tls_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double ChildrenCpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// User + system seconds of a running process, from /proc/PID/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name, which ends at the last ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Timing {
  double wall = -1;   // negative: the snapshot failed
  double cpu = 0;     // zkarrow's user + system time
  double server = 0;  // the ZooKeeper server's meanwhile
};

// One `zkarrow snapshot`. The ZooKeeper server is a child too, but its time
// counts in RUSAGE_CHILDREN only once it is reaped, after the measurements.
Timing Snapshot(const std::string& args, pid_t server) {
  std::string command = std::string(ZKARROW_BINARY) + " snapshot " + args + " >/dev/null 2>&1";
  double cpu_before = ChildrenCpuSeconds();
  double server_before = ProcessCpuSeconds(server);
  auto start = Clock::now();
  int status = std::system(command.c_str());
  Timing timing{Seconds(Clock::now() - start), ChildrenCpuSeconds() - cpu_before,
                ProcessCpuSeconds(server) - server_before};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) timing.wall = -1;
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nodes = 100000;
  int rounds = 5;
  std::string out = TLS_BENCH_DEFAULT_OUT;
  std::string protocol = "TLSv1.3";
  constexpr const char* kUsage =
      "usage: tls_bench [--nodes N] [--rounds R] [--protocol TLSv1.2|TLSv1.3] [--out FILE]\n";
  if (auto exit_code = zkarrow::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", [&](const std::string& v) { nodes = std::stoll(v); }},
           {"--rounds", [&](const std::string& v) { rounds = std::stoi(v); }},
           {"--protocol", [&](const std::string& v) { protocol = v; }},
           {"--out", [&](const std::string& v) { out = v; }}})) {
    return *exit_code;
  }
  fs::path dir = fs::temp_directory_path() / ("zkarrow-tls-bench-" + std::to_string(::getpid()));
  auto pki = zkarrow::testing::MakeTestPki(dir);
  if (!pki.ok()) return Fail("making certificates", pki.status());
  zkarrow::zkserver::ClusterOptions options{.secure_client_port = true,
                                            .config = zkarrow::testing::TlsServerConfig(*pki)};
  options.config.insert(
      options.config.end(),
      {{"ssl.clientAuth", "none"},
       {"ssl.protocol", protocol},
       {"ssl.enabledProtocols", protocol},
       // ZooKeeper 3.8's default list has no TLS 1.3 suite.
       {"ssl.ciphersuites", "TLS_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}});
  options.jvm_flags = {"-Xmx2g", "-XX:+UseSerialGC"};
  auto cluster = zkarrow::zkserver::ZooKeeperCluster::Start(options);
  if (!cluster.ok()) return Fail("starting ZooKeeper", cluster.status());
  const std::string plain = (*cluster)->ConnectString();
  const std::string secure = (*cluster)->SecureConnectString();

  auto tree = zkarrow::sampletree::GenerateSampleTree({.target_nodes = nodes});
  int64_t bytes = 0;
  {
    zkarrow::zk::ClientOptions loader;
    loader.connect_string = plain;
    auto client = zkarrow::zk::Client::Connect(loader);
    if (!client.ok()) return Fail("connecting the loader", client.status());
    zkarrow::Status loaded = zkarrow::sampletree::LoadSampleTree(**client, tree, &bytes);
    if (!loaded.ok()) return Fail("loading the sample tree", loaded);
  }

  // Rows: the walk over one session and over four (four server-side
  // connections, so the server's TLS work spreads over its Netty threads).
  struct Row {
    int sessions;
    std::vector<double> plain_seconds, tls_seconds, plain_cpu, tls_cpu, plain_server, tls_server;
  };
  std::vector<Row> rows(2);
  rows[0].sessions = 1;
  rows[1].sessions = 4;
  const pid_t server = (*cluster)->pid(0);
  const std::string output = " -o " + (dir / "out.arrow").string();
  for (Row& row : rows) {
    const std::string common = output + " --sessions " + std::to_string(row.sessions);
    const std::string plain_args = "--zk " + plain + common;
    const std::string tls_args = "--zk " + secure + " --zk-tls-ca " + pki->ca.string() + common;
    if (Snapshot(plain_args, server).wall < 0 || Snapshot(tls_args, server).wall < 0) {
      return Fail("warm-up snapshot", zkarrow::Status::IoError("zkarrow snapshot failed"));
    }
    for (int round = 0; round < rounds; ++round) {
      for (int k = 0; k < 2; ++k) {
        bool tls = (round + k) % 2 == 1;
        Timing timing = Snapshot(tls ? tls_args : plain_args, server);
        if (timing.wall < 0) {
          return Fail("snapshot", zkarrow::Status::IoError(tls ? "over TLS failed" : "failed"));
        }
        (tls ? row.tls_seconds : row.plain_seconds).push_back(timing.wall);
        (tls ? row.tls_cpu : row.plain_cpu).push_back(timing.cpu);
        (tls ? row.tls_server : row.plain_server).push_back(timing.server);
      }
    }
  }

  // Connection set-up, in process: Connect returns once the session is
  // granted (after the TLS handshake on the secure port).
  std::vector<double> plain_connect, tls_connect;
  for (int i = 0; i < 60; ++i) {
    bool tls = i % 2 == 1;
    zkarrow::zk::ClientOptions connect;
    connect.connect_string = tls ? secure : plain;
    if (tls) connect.tls = zkarrow::zk::TlsOptions{.ca_file = pki->ca.string()};
    auto start = Clock::now();
    auto client = zkarrow::zk::Client::Connect(connect);
    double seconds = Seconds(Clock::now() - start);
    if (!client.ok()) return Fail("connecting", client.status());
    (tls ? tls_connect : plain_connect).push_back(seconds);
  }
  cluster->reset();
  fs::remove_all(dir);

  const double n = static_cast<double>(tree.size());
  std::ostringstream report;
  char line[512];
  report << "Server: ZooKeeper 3.8 secureClientPort (Netty, JDK TLS), " << protocol
         << "; client: zkarrow (OpenSSL). " << tree.size() << " znodes, "
         << static_cast<double>(bytes) / 1e6 << " MB of data; medians of " << rounds
         << " rounds, plain and TLS alternating.\n\n"
         << "| measure | plain | TLS | TLS / plain |\n|---|---|---|---|\n";
  for (const Row& row : rows) {
    const double plain_s = Median(row.plain_seconds);
    const double tls_s = Median(row.tls_seconds);
    std::snprintf(line, sizeof(line),
                  "| `zkarrow snapshot --sessions %d` | %.2f s (%.0f znodes/s) | %.2f s (%.0f "
                  "znodes/s) | %.2f of the throughput |\n",
                  row.sessions, plain_s, n / plain_s, tls_s, n / tls_s, plain_s / tls_s);
    report << line;
    std::snprintf(
        line, sizeof(line), "| zkarrow's CPU time (user + system) | %.2f s | %.2f s | %.2f |\n",
        Median(row.plain_cpu), Median(row.tls_cpu), Median(row.tls_cpu) / Median(row.plain_cpu));
    report << line;
    std::snprintf(line, sizeof(line),
                  "| the ZooKeeper server's CPU time meanwhile | %.2f s | %.2f s | %.2f |\n",
                  Median(row.plain_server), Median(row.tls_server),
                  Median(row.tls_server) / Median(row.plain_server));
    report << line;
  }
  std::snprintf(line, sizeof(line),
                "| `Client::Connect` to a granted session, median of 30 | %.2f ms | %.2f ms | "
                "+%.2f ms for the TLS handshake |\n",
                Median(plain_connect) * 1e3, Median(tls_connect) * 1e3,
                (Median(tls_connect) - Median(plain_connect)) * 1e3);
  report << line;
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  return 0;
}
