#include "support/test_pki.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "base/child_process.h"
#include "support/znode_rows.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow::testing {
namespace {

namespace fs = std::filesystem;

Status Openssl(const std::string& arguments) {
  return RunCommand("openssl " + arguments + " 2>&1").status();
}

// A P-256 key and a certificate signed by the CA at `ca` (its key next to
// it), valid for `days` (negative: expired), with `extensions` (an
// openssl x509 -extfile line).
Status Issue(const fs::path& dir, const std::string& name, const std::string& subject,
             const std::string& extensions, int days, const std::string& ca = "ca") {
  const std::string base = (dir / name).string();
  const std::string ca_base = (dir / ca).string();
  ZKA_RETURN_IF_ERROR(Openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                              base + ".key -out " + base + ".csr -subj '" + subject + "'"));
  std::ofstream(base + ".ext") << extensions << "\n";
  ZKA_RETURN_IF_ERROR(Openssl("x509 -req -in " + base + ".csr -CA " + ca_base + ".pem -CAkey " +
                              ca_base + ".key -CAcreateserial -out " + base + ".pem -days " +
                              std::to_string(days) + " -extfile " + base + ".ext"));
  fs::permissions(base + ".key", fs::perms::owner_read | fs::perms::owner_write);
  return Status::Ok();
}

Status MakeCa(const fs::path& dir, const std::string& name, const std::string& subject) {
  const std::string base = (dir / name).string();
  ZKA_RETURN_IF_ERROR(Openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes " +
                              std::string("-keyout ") + base + ".key -out " + base +
                              ".pem -days 30 -subj '" + subject + "'"));
  return Status::Ok();
}

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Result<TestPki> MakeTestPki(const fs::path& dir) {
  fs::create_directories(dir);
  TestPki pki;
  pki.dir = dir;
  ZKA_RETURN_IF_ERROR(MakeCa(dir, "ca", "/CN=zkarrow test CA"));
  ZKA_RETURN_IF_ERROR(MakeCa(dir, "other-ca", "/CN=zkarrow other CA"));
  const std::string local = "subjectAltName=IP:127.0.0.1,DNS:localhost";
  ZKA_RETURN_IF_ERROR(Issue(dir, "server", "/CN=zk-server", local, 30));
  ZKA_RETURN_IF_ERROR(Issue(dir, "expired", "/CN=zk-server", local, -1));
  ZKA_RETURN_IF_ERROR(
      Issue(dir, "wrong-host", "/CN=zk-server", "subjectAltName=DNS:zk.example.invalid", 30));
  ZKA_RETURN_IF_ERROR(Issue(dir, "alice", "/CN=alice", "extendedKeyUsage=clientAuth", 30));
  ZKA_RETURN_IF_ERROR(Issue(dir, "bob", "/CN=bob", "extendedKeyUsage=clientAuth", 30));
  pki.ca = dir / "ca.pem";
  pki.other_ca = dir / "other-ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server.key";
  pki.server_pem = dir / "server-store.pem";
  {
    std::ofstream store(pki.server_pem);
    store << std::ifstream(pki.server_key).rdbuf() << std::ifstream(pki.server_cert).rdbuf();
  }
  pki.expired_cert = dir / "expired.pem";
  pki.wrong_host_cert = dir / "wrong-host.pem";
  pki.alice_cert = dir / "alice.pem";
  pki.alice_key = dir / "alice.key";
  pki.bob_cert = dir / "bob.pem";
  pki.bob_key = dir / "bob.key";
  return pki;
}

std::vector<std::pair<std::string, std::string>> TlsServerConfig(const TestPki& pki) {
  return {{"ssl.keyStore.location", pki.server_pem.string()},
          {"ssl.keyStore.type", "PEM"},
          {"ssl.trustStore.location", pki.ca.string()},
          {"ssl.trustStore.type", "PEM"}};
}

Result<std::unique_ptr<BackgroundProcess>> BackgroundProcess::Start(std::vector<std::string> args,
                                                                    const fs::path& log) {
  auto process = std::unique_ptr<BackgroundProcess>(new BackgroundProcess());
  ZKA_ASSIGN_OR_RETURN(process->pid_, SpawnTiedChild(args, {.stdin_path = "/dev/null",
                                                            .stdout_path = log.string(),
                                                            .stderr_to_stdout = true}));
  return process;
}

Status BackgroundProcess::WaitListening(int port) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Accepts(port)) {
    if (std::chrono::steady_clock::now() > deadline || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      return Status::Timeout("nothing listens on 127.0.0.1:" + std::to_string(port));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Ok();
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Result<std::unique_ptr<TlsTestPeer>> TlsTestPeer::Start(
    const fs::path& cert, const fs::path& key, const std::vector<std::string>& extra_args) {
  auto peer = std::unique_ptr<TlsTestPeer>(new TlsTestPeer());
  ZKA_ASSIGN_OR_RETURN(peer->port_, zkserver::PickFreePort());
  std::vector<std::string> args = {"/usr/bin/openssl",
                                   "s_server",
                                   "-quiet",
                                   "-accept",
                                   "127.0.0.1:" + std::to_string(peer->port_),
                                   "-cert",
                                   cert.string(),
                                   "-key",
                                   key.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ZKA_ASSIGN_OR_RETURN(peer->process_,
                       BackgroundProcess::Start(args, cert.parent_path() / "s_server.log"));
  ZKA_RETURN_IF_ERROR(peer->process_->WaitListening(peer->port_));
  return peer;
}

}  // namespace zkarrow::testing
