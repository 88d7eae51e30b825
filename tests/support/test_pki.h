// Certificates for the TLS tests, made by the openssl command (Debian's
// openssl package) in a directory of the test's: a CA, the server's
// certificate for 127.0.0.1 and localhost, client certificates, and the
// broken ones the handshake must refuse clearly. And a TLS peer that is not
// ZooKeeper (openssl s_server) for the handshakes a ZooKeeper server cannot
// be made to fail: an expired certificate, another host's, an old protocol.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace zkarrow::testing {

struct TestPki {
  std::filesystem::path dir;
  std::filesystem::path ca;        // the CA every good certificate is signed by
  std::filesystem::path other_ca;  // a CA that signed nothing here
  // The server's key and certificate in one PEM file (a ZooKeeper PEM key
  // store), for IP:127.0.0.1 and DNS:localhost, and apart for s_server.
  std::filesystem::path server_pem;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  // Signed by `ca` for 127.0.0.1, but expired a day ago.
  std::filesystem::path expired_cert;
  // Signed by `ca`, naming only DNS:zk.example.invalid.
  std::filesystem::path wrong_host_cert;
  // Client certificates (CN=alice, CN=bob) and keys (mode 600).
  std::filesystem::path alice_cert, alice_key;
  std::filesystem::path bob_cert, bob_key;
};

Result<TestPki> MakeTestPki(const std::filesystem::path& dir);

// The zoo.cfg lines of a secureClientPort with `pki`'s server certificate
// and CA as PEM key and trust stores.
std::vector<std::pair<std::string, std::string>> TlsServerConfig(const TestPki& pki);

// A helper program (a TLS peer, a KDC) as a child process with stdin from
// /dev/null and its output to `log`, SIGKILLed by pid on destruction.
class BackgroundProcess {
 public:
  static Result<std::unique_ptr<BackgroundProcess>> Start(std::vector<std::string> argv,
                                                          const std::filesystem::path& log);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // Waits (up to 10 s) until something accepts TCP connections on
  // 127.0.0.1:port.
  Status WaitListening(int port) const;

 private:
  BackgroundProcess() = default;
  pid_t pid_ = -1;
};

// `openssl s_server` on a free 127.0.0.1 port, killed (by pid) on
// destruction.
class TlsTestPeer {
 public:
  static Result<std::unique_ptr<TlsTestPeer>> Start(const std::filesystem::path& cert,
                                                    const std::filesystem::path& key,
                                                    const std::vector<std::string>& extra_args);
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  int port_ = 0;
};

}  // namespace zkarrow::testing
