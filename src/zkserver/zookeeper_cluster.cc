#include "zkserver/zookeeper_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "base/child_process.h"

namespace zkarrow::zkserver {
namespace {

using Clock = std::chrono::steady_clock;

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// Waits for a child that has been signalled, up to `timeout`. True if reaped.
bool WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pid_t reaped = ::waitpid(pid, nullptr, WNOHANG);
    if (reaped == pid || (reaped < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Temporary directories are named kTempPrefix + mkdtemp's letters. Those to
// be removed by the process that made them hold a file kOwnerFile naming
// it, "PID STARTTIME": the start time (in clock ticks since boot,
// /proc/PID/stat's 22nd field) tells the owner apart from a later process
// given the same pid.
constexpr std::string_view kTempPrefix = "zkarrow-zk-";
constexpr const char* kOwnerFile = "owner";

// The start time of process `pid`, or nullopt when there is no such process.
std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return std::nullopt;
  // The command name, in parentheses, may hold spaces; the fields after it do not.
  const size_t name_end = text.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(name_end + 1));
  std::string field;
  for (int i = 3; i < 22; ++i) fields >> field;
  uint64_t start = 0;
  if (!(fields >> start)) return std::nullopt;
  return start;
}

// A process killed before its destructor ran (SIGKILL, a crash, a test
// runner's timeout) leaves its directory behind: a ZooKeeper data directory
// of up to gigabytes, which filled this machine's /tmp once. Each start
// therefore removes the directories whose owner is gone. A directory
// without an owner file (being created, or kept on purpose) stays.
void RemoveDirectoriesOfDeadOwners(const std::filesystem::path& temp) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(temp, error)) {
    if (!entry.path().filename().string().starts_with(kTempPrefix)) continue;
    std::ifstream owner(entry.path() / kOwnerFile);
    pid_t pid = 0;
    uint64_t start = 0;
    if (!(owner >> pid >> start) || pid <= 0) continue;
    if (ProcessStartTime(pid) == start) continue;  // still running
    std::error_code ignored;
    std::filesystem::remove_all(entry.path(), ignored);
  }
}

// A fresh directory; `owned` (to be removed by this process) gets an owner
// file, so that it is removed should this process die first.
Result<std::filesystem::path> MakeTempDir(bool owned) {
  const std::filesystem::path temp = std::filesystem::temp_directory_path();
  RemoveDirectoriesOfDeadOwners(temp);
  std::string pattern = (temp / (std::string(kTempPrefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::FromErrno(errno, "creating a temporary directory for ZooKeeper");
  }
  const std::filesystem::path dir(pattern);
  const std::optional<uint64_t> start = ProcessStartTime(::getpid());
  if (owned && start) std::ofstream(dir / kOwnerFile) << ::getpid() << " " << *start << "\n";
  return dir;
}

constexpr const char* kLog4jConfig =
    "log4j.rootLogger=WARN, FILE\n"
    "log4j.appender.FILE=org.apache.log4j.FileAppender\n"
    "log4j.appender.FILE.File=${zookeeper.log.file}\n"
    "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
    "log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %p [%t] %c{1}: %m%n\n";

}  // namespace

Result<int> PickFreePort() {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::FromErrno(errno, "socket");
  sockaddr_in address = Loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return Status::FromErrno(errno, "binding a free port on 127.0.0.1");
  }
  socklen_t length = sizeof(address);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Status::FromErrno(errno, "getsockname");
  }
  return static_cast<int>(ntohs(address.sin_port));
}

Result<std::unique_ptr<ZooKeeperCluster>> ZooKeeperCluster::Start(ClusterOptions options) {
  if (options.servers < 1) return Status::InvalidArgument("a cluster needs at least one server");
  if (!std::filesystem::exists(options.classpath)) {
    return Status::IoError("ZooKeeper is not installed: " + options.classpath +
                           " is missing (run scripts/setup, which installs Debian's zookeeper)");
  }
  std::unique_ptr<ZooKeeperCluster> cluster(new ZooKeeperCluster(std::move(options)));
  const ClusterOptions& opts = cluster->options_;
  if (opts.root.empty()) {
    ZKA_ASSIGN_OR_RETURN(cluster->root_, MakeTempDir(/*owned=*/!opts.keep_files));
    cluster->remove_root_ = !opts.keep_files;
  } else {
    cluster->root_ = opts.root;
    std::error_code error;
    std::filesystem::create_directories(cluster->root_, error);
    if (error)
      return Status::IoError("creating " + cluster->root_.string() + ": " + error.message());
  }

  for (int i = 0; i < opts.servers; ++i) {
    Server server;
    server.id = i + 1;
    ZKA_ASSIGN_OR_RETURN(server.client_port, PickFreePort());
    if (opts.secure_client_port) {
      ZKA_ASSIGN_OR_RETURN(server.secure_client_port, PickFreePort());
    }
    if (opts.servers > 1) {
      ZKA_ASSIGN_OR_RETURN(server.quorum_port, PickFreePort());
      ZKA_ASSIGN_OR_RETURN(server.election_port, PickFreePort());
    }
    cluster->servers_.push_back(server);
  }
  for (Server& server : cluster->servers_) {
    ZKA_RETURN_IF_ERROR(cluster->WriteConfig(server));
    ZKA_RETURN_IF_ERROR(cluster->Launch(server));
  }
  for (int i = 0; i < cluster->size(); ++i) {
    ZKA_RETURN_IF_ERROR(cluster->WaitServing(i, opts.start_timeout));
  }
  return cluster;
}

ZooKeeperCluster::~ZooKeeperCluster() {
  for (int i = 0; i < size(); ++i) {
    if (running(i)) (void)Stop(i);
  }
  if (remove_root_) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
}

std::filesystem::path ZooKeeperCluster::server_dir(const Server& server) const {
  return root_ / ("server" + std::to_string(server.id));
}

std::filesystem::path ZooKeeperCluster::data_dir(int server) const {
  return server_dir(servers_[server]) / "data";
}

std::string ZooKeeperCluster::ConnectStringOf(int Server::*port) const {
  std::string text;
  for (const Server& server : servers_) {
    if (!text.empty()) text += ",";
    text += "127.0.0.1:" + std::to_string(server.*port);
  }
  return text;
}

std::string ZooKeeperCluster::ConnectString() const {
  return ConnectStringOf(&Server::client_port);
}

std::string ZooKeeperCluster::SecureConnectString() const {
  return ConnectStringOf(&Server::secure_client_port);
}

Status ZooKeeperCluster::WriteConfig(const Server& server) const {
  std::filesystem::path dir = server_dir(server);
  std::error_code error;
  std::filesystem::create_directories(dir / "data", error);
  if (error) return Status::IoError("creating " + dir.string() + ": " + error.message());

  std::ofstream config(dir / "zoo.cfg");
  config << "tickTime=" << options_.tick_time_ms << "\n"
         << "initLimit=10\nsyncLimit=5\n"
         << "dataDir=" << (dir / "data").string() << "\n"
         << "clientPort=" << server.client_port << "\n"
         << "clientPortAddress=127.0.0.1\n"
         << "admin.enableServer=false\n"
         << "4lw.commands.whitelist=*\n"
         << "maxClientCnxns=0\n";
  if (server.secure_client_port != 0) {
    config << "secureClientPort=" << server.secure_client_port << "\n"
           << "secureClientPortAddress=127.0.0.1\n"
           << "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n";
  }
  for (const auto& [key, value] : options_.config) config << key << "=" << value << "\n";
  if (size() > 1) {
    for (const Server& peer : servers_) {
      config << "server." << peer.id << "=127.0.0.1:" << peer.quorum_port << ":"
             << peer.election_port << "\n";
    }
    std::ofstream(dir / "data" / "myid") << server.id << "\n";
  }
  std::ofstream(dir / "log4j.properties") << kLog4jConfig;
  if (!config) return Status::IoError("writing " + (dir / "zoo.cfg").string());
  return Status::Ok();
}

Status ZooKeeperCluster::Launch(Server& server) {
  std::filesystem::path dir = server_dir(server);
  const char* main_class = size() > 1 ? "org.apache.zookeeper.server.quorum.QuorumPeerMain"
                                      : "org.apache.zookeeper.server.ZooKeeperServerMain";
  std::vector<std::string> args = {options_.java};
  args.insert(args.end(), options_.jvm_flags.begin(), options_.jvm_flags.end());
  args.push_back("-Dlog4j.configuration=file:" + (dir / "log4j.properties").string());
  args.push_back("-Dzookeeper.log.file=" + (dir / "server.log").string());
  args.push_back("-Dzookeeper.jmx.log4j.disable=true");
  args.push_back("-cp");
  std::string classpath = dir.string() + ":" + options_.classpath;
  // zookeeper.jar's manifest names Netty's handler, transport and buffer;
  // these are what they need besides.
  if (options_.secure_client_port) {
    for (const char* jar :
         {"netty-codec", "netty-resolver", "netty-transport-native-unix-common"}) {
      classpath += std::string(":/usr/share/java/") + jar + ".jar";
    }
  }
  args.push_back(classpath);
  args.push_back(main_class);
  args.push_back((dir / "zoo.cfg").string());
  ZKA_ASSIGN_OR_RETURN(server.pid,
                       SpawnTiedChild(args, {.stdin_path = "/dev/null",
                                             .stdout_path = (dir / "console.log").string(),
                                             .stderr_to_stdout = true,
                                             .append = true,
                                             .own_process_group = true}));
  return Status::Ok();
}

Status ZooKeeperCluster::Kill(int server) {
  Server& s = servers_[server];
  if (s.pid <= 0) return Status::Ok();
  ::kill(s.pid, SIGKILL);
  WaitForExit(s.pid, std::chrono::seconds(10));
  s.pid = -1;
  return Status::Ok();
}

Status ZooKeeperCluster::Stop(int server) {
  Server& s = servers_[server];
  if (s.pid <= 0) return Status::Ok();
  ::kill(s.pid, SIGTERM);
  if (!WaitForExit(s.pid, std::chrono::seconds(10))) {
    ::kill(s.pid, SIGKILL);
    WaitForExit(s.pid, std::chrono::seconds(10));
  }
  s.pid = -1;
  return Status::Ok();
}

Status ZooKeeperCluster::Restart(int server) {
  Server& s = servers_[server];
  if (s.pid > 0) return Status::InvalidArgument("server " + std::to_string(s.id) + " is running");
  ZKA_RETURN_IF_ERROR(Launch(s));
  return WaitServing(server, options_.start_timeout);
}

Result<std::string> ZooKeeperCluster::FourLetterWord(int server, const std::string& command) const {
  ScopedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::FromErrno(errno, "socket");
  timeval timeout{2, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address = Loopback(servers_[server].client_port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return Status::FromErrno(
        errno, "connecting to 127.0.0.1:" + std::to_string(servers_[server].client_port));
  }
  if (::send(fd.get(), command.data(), command.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(command.size())) {
    return Status::FromErrno(errno, "sending " + command);
  }
  std::string reply;
  char chunk[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
    if (n > 0) {
      reply.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      return Status::FromErrno(errno, "reading the reply to " + command);
    }
  }
  return reply;
}

Status ZooKeeperCluster::WaitServing(int server, std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    pid_t pid = servers_[server].pid;
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == pid) {
      return Status::IoError("ZooKeeper server " + std::to_string(servers_[server].id) +
                             " exited during start; see " +
                             (server_dir(servers_[server]) / "console.log").string());
    }
    Result<std::string> reply = FourLetterWord(server, "srvr");
    if (reply.ok()) {
      if (reply->find("Mode: ") != std::string::npos) return Status::Ok();
      last = *reply;
    } else {
      last = reply.status().message();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Timeout("ZooKeeper server " + std::to_string(servers_[server].id) +
                         " on 127.0.0.1:" + std::to_string(servers_[server].client_port) +
                         " did not start serving within " + std::to_string(timeout.count()) +
                         " ms (last: " + last + ")");
}

}  // namespace zkarrow::zkserver
