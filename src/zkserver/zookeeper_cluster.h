// Runs Debian's ZooKeeper server (package `zookeeper`) as child processes on
// free 127.0.0.1 ports in a private temporary directory: one standalone
// server, or an ensemble of N. Used by the integration tests, the benchmarks
// and `zkarrow demo`. Every server started is stopped by the destructor (and
// dies with this process, see base/child_process.h), so nothing outlives a run.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace zkarrow::zkserver {

struct ClusterOptions {
  int servers = 1;          // 1: standalone (ZooKeeperServerMain); >1: a quorum
  int tick_time_ms = 2000;  // sessions may time out from 2 to 20 ticks
  // Also listen for TLS clients on a secureClientPort (through Netty, whose
  // Debian jars join the classpath). The key and trust stores are ssl.*
  // lines of `config` (PEM files work: ssl.keyStore.type=PEM). The plain
  // clientPort stays open: the harness asks it whether the server serves.
  bool secure_client_port = false;
  // Extra zoo.cfg lines, e.g. {"snapCount", "1000"}.
  std::vector<std::pair<std::string, std::string>> config;
  // Where to put the servers' directories; empty: a fresh temporary
  // directory, removed by the destructor unless keep_files (or, should this
  // process die first, by the next Start in any process).
  std::filesystem::path root;
  bool keep_files = false;
  // Reuse data already in `root` (a restart); otherwise `root` must be empty.
  bool reuse_data = false;
  std::string java = "/usr/bin/java";
  std::string classpath = "/usr/share/java/zookeeper.jar";
  // Add e.g. -Djava.security.auth.login.config=FILE for SASL.
  std::vector<std::string> jvm_flags = {"-Xmx512m", "-XX:+UseSerialGC"};
  std::chrono::milliseconds start_timeout{60000};
};

class ZooKeeperCluster {
 public:
  // Starts every server and waits until the ensemble serves requests.
  static Result<std::unique_ptr<ZooKeeperCluster>> Start(ClusterOptions options);

  ~ZooKeeperCluster();
  ZooKeeperCluster(const ZooKeeperCluster&) = delete;
  ZooKeeperCluster& operator=(const ZooKeeperCluster&) = delete;

  int size() const { return static_cast<int>(servers_.size()); }
  // "127.0.0.1:p1,127.0.0.1:p2,..."
  std::string ConnectString() const;
  // The same over the secure client ports (secure_client_port only).
  std::string SecureConnectString() const;
  int client_port(int server) const { return servers_[server].client_port; }
  int secure_client_port(int server) const { return servers_[server].secure_client_port; }
  pid_t pid(int server) const { return servers_[server].pid; }
  bool running(int server) const { return servers_[server].pid > 0; }
  // The server's dataDir; ZooKeeper keeps its files in dataDir/version-2.
  std::filesystem::path data_dir(int server) const;
  const std::filesystem::path& root() const { return root_; }

  // SIGKILL, as a crash would.
  Status Kill(int server);
  // SIGTERM, then SIGKILL after a grace period.
  Status Stop(int server);
  // Starts a stopped server again on its old ports and data; waits until it
  // serves (when the rest of its quorum is up).
  Status Restart(int server);
  // Waits until `server` answers "srvr" as leader, follower or standalone.
  Status WaitServing(int server, std::chrono::milliseconds timeout) const;
  // The text a four-letter-word command returns ("srvr", "mntr", ...).
  Result<std::string> FourLetterWord(int server, const std::string& command) const;

 private:
  struct Server {
    int id = 0;
    int client_port = 0;
    int secure_client_port = 0;  // 0: none
    int quorum_port = 0;
    int election_port = 0;
    pid_t pid = -1;
  };

  explicit ZooKeeperCluster(ClusterOptions options) : options_(std::move(options)) {}
  Status WriteConfig(const Server& server) const;
  Status Launch(Server& server);
  std::filesystem::path server_dir(const Server& server) const;
  // "127.0.0.1:PORT,..." over every server's `port`.
  std::string ConnectStringOf(int Server::*port) const;

  ClusterOptions options_;
  std::filesystem::path root_;
  bool remove_root_ = false;
  std::vector<Server> servers_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
Result<int> PickFreePort();

}  // namespace zkarrow::zkserver
