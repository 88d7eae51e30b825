// zkarrow against ZooKeeper servers that production secures: TLS on the
// secureClientPort (certificates made by the test with openssl), the x509
// auth scheme, SASL DIGEST-MD5 (a JAAS configuration made by the test), and
// a 3-node ensemble over TLS losing the server a client reads from. Refused
// handshakes (unknown CA, expired certificate, another host's certificate,
// no protocol in common) must fail at once with a message that says which.
// kazoo reads the same servers as the oracle.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/prerequisite.h"
#include "support/test_pki.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::DiffRows;
using testing::ParseJsonLines;
using testing::ReadZnodeRows;
using testing::RunCommand;
using testing::TestPki;

// A refused handshake or login must end well before the connect timeout.
constexpr auto kRefusedWithin = 8s;

fs::path TestDir(const std::string& name) {
  return fs::temp_directory_path() / ("zkarrow-" + name + "-" + std::to_string(::getpid()));
}

struct CommandRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  std::chrono::milliseconds took{0};
};

// `zkarrow ARGS` through the shell; its exit code and output.
CommandRun Zkarrow(const std::string& args) {
  CommandRun run;
  auto start = std::chrono::steady_clock::now();
  std::string command = std::string(ZKARROW_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) run.output.append(chunk, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return run;
}

std::string Kazoo(const std::string& hosts, const std::string& extra) {
  auto dump = RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/support/kazoo_dump.py " +
                         hosts + " /t " + extra);
  EXPECT_TRUE(dump.ok()) << dump.status().ToString();
  return dump.ok() ? *dump : "";
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

// The tree every suite snapshots: data of several sizes (binary too) and a
// few levels.
void BuildTree(zk::Client& client, const std::vector<zk::Acl>& acl) {
  auto must = [](auto future) {
    auto result = future.get();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  };
  must(client.Create("/t", "root", acl));
  for (int i = 0; i < 20; ++i) {
    std::string parent = "/t/n" + std::to_string(i);
    must(client.Create(parent, std::string(static_cast<size_t>(i) * 100, 'x'), acl));
    for (int j = 0; j < 10; ++j) {
      std::string data = {static_cast<char>(j), '\0', static_cast<char>(0xff)};
      must(client.Create(parent + "/c" + std::to_string(j), data, acl));
    }
  }
}

Result<std::unique_ptr<zk::Client>> Connect(const std::string& hosts,
                                            std::optional<zk::TlsOptions> tls,
                                            std::optional<zk::SaslOptions> sasl = {}) {
  zk::ClientOptions options;
  options.connect_string = hosts;
  options.tls = std::move(tls);
  options.sasl = std::move(sasl);
  options.connect_timeout = 20s;
  return zk::Client::Connect(options);
}

// The JAAS configuration of a ZooKeeper server whose DIGEST-MD5 users are
// alice and bob.
constexpr const char* kDigestJaas =
    "Server {\n"
    "  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
    "  user_alice=\"alice-secret\"\n"
    "  user_bob=\"bob-secret\";\n"
    "};\n";

// zoo.cfg lines: SASL authentication, required before any request.
const std::vector<std::pair<std::string, std::string>> kSaslRequired = {
    {"authProvider.sasl", "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"},
    {"enforce.auth.enabled", "true"},
    {"enforce.auth.schemes", "sasl"}};

// ---------------------------------------------------------------- TLS, x509

class TlsLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = testing::MakeTestPki(TestDir("tls"));
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new TestPki(*pki);
    zkserver::ClusterOptions options{.secure_client_port = true,
                                     .config = testing::TlsServerConfig(*pki_)};
    options.config.insert(
        options.config.end(),
        {{"ssl.clientAuth", "want"},
         // TLS 1.3 first. ZooKeeper 3.8's default cipher list has
         // no TLS 1.3 suite, so a 1.3 server must name them.
         {"ssl.protocol", "TLSv1.3"},
         {"ssl.enabledProtocols", "TLSv1.3,TLSv1.2"},
         {"ssl.ciphersuites",
          "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,"
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
         {"authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider"}});
    auto cluster = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    auto owner = Connect(cluster_->ConnectString(), std::nullopt);
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    BuildTree(**owner, zk::OpenAclUnsafe());
    auto x509 =
        (*owner)
            ->Create("/t/x509", "for alice's certificate", {{zk::perms::kRead, "x509", "CN=alice"}})
            .get();
    ASSERT_TRUE(x509.ok()) << x509.status().ToString();
    ready_ = !::testing::Test::HasFatalFailure();
  }

  static void TearDownTestSuite() {
    delete cluster_;
    if (pki_ != nullptr) fs::remove_all(pki_->dir);
    delete pki_;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the TLS fixture failed; see above"; }

  static std::string Secure() { return cluster_->SecureConnectString(); }
  static std::string Ca(const fs::path& ca) { return " --zk-tls-ca " + ca.string(); }
  static zk::TlsOptions Tls(fs::path ca, fs::path cert = {}, fs::path key = {}) {
    return {.ca_file = ca.string(), .cert_file = cert.string(), .key_file = key.string()};
  }

  // Connecting with `tls` fails within kRefusedWithin; the message.
  static std::string Refusal(const std::string& hosts, const zk::TlsOptions& tls) {
    auto start = std::chrono::steady_clock::now();
    auto client = Connect(hosts, tls);
    EXPECT_FALSE(client.ok());
    EXPECT_LT(std::chrono::steady_clock::now() - start, kRefusedWithin);
    return client.ok() ? "" : client.status().ToString();
  }

  static TestPki* pki_;
  static zkserver::ZooKeeperCluster* cluster_;
  static bool ready_;
};

TestPki* TlsLiveTest::pki_ = nullptr;
zkserver::ZooKeeperCluster* TlsLiveTest::cluster_ = nullptr;
bool TlsLiveTest::ready_ = false;

TEST_F(TlsLiveTest, SnapshotOverTlsEqualsSnapshotOverPlainAndKazoo) {
  fs::path dir = pki_->dir;
  CommandRun plain = Zkarrow("snapshot --zk " + cluster_->ConnectString() + " --path /t -o " +
                             (dir / "plain.arrow").string());
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  CommandRun tls = Zkarrow("snapshot --zk " + Secure() + " --zk-tls" + Ca(pki_->ca) +
                           " --path /t -o " + (dir / "tls.arrow").string());
  ASSERT_EQ(tls.exit_code, 0) << tls.output;
  auto plain_rows = ReadZnodeRows(dir / "plain.arrow");
  auto tls_rows = ReadZnodeRows(dir / "tls.arrow");
  ASSERT_TRUE(plain_rows.ok() && tls_rows.ok());
  EXPECT_EQ(tls_rows->size(), 1u + 20 + 200 + 1);
  EXPECT_EQ(DiffRows(*plain_rows, *tls_rows), "");
  // The issue's plain option names, where a command has no --tls-* of its own.
  CommandRun plain_names =
      Zkarrow("snapshot --zk " + Secure() + " --tls --tls-ca " + pki_->ca.string() +
              " --path /t -o " + (dir / "tls-plain-names.arrow").string());
  ASSERT_EQ(plain_names.exit_code, 0) << plain_names.output;
  auto plain_names_rows = ReadZnodeRows(dir / "tls-plain-names.arrow");
  ASSERT_TRUE(plain_names_rows.ok());
  EXPECT_EQ(DiffRows(*plain_rows, *plain_names_rows), "");
  // kazoo over TLS reads the same rows.
  std::vector<nlohmann::json> kazoo =
      ParseJsonLines(Kazoo(Secure(), "--tls-ca " + pki_->ca.string()));
  EXPECT_EQ(DiffRows(kazoo, *tls_rows, {"kind"}), "");
}

TEST_F(TlsLiveTest, UnknownCaFailsAtOnceAndSaysSo) {
  std::string message = Refusal(Secure(), Tls(pki_->other_ca));
  EXPECT_NE(message.find("not signed by a trusted CA"), std::string::npos) << message;
  EXPECT_NE(message.find("--zk-tls-ca"), std::string::npos) << message;
  // The command line: exit 1 and the same words.
  CommandRun run = Zkarrow("snapshot --zk " + Secure() + Ca(pki_->other_ca) + " -o " +
                           (pki_->dir / "never.arrow").string());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("not signed by a trusted CA"), std::string::npos) << run.output;
  EXPECT_LT(run.took, kRefusedWithin);
  EXPECT_FALSE(fs::exists(pki_->dir / "never.arrow"));
}

TEST_F(TlsLiveTest, ExpiredCertificateFailsAndSaysWhen) {
  auto peer = testing::TlsTestPeer::Start(pki_->expired_cert, pki_->dir / "expired.key", {});
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  std::string message = Refusal((*peer)->address(), Tls(pki_->ca));
  EXPECT_NE(message.find("certificate expired on"), std::string::npos) << message;
}

TEST_F(TlsLiveTest, CertificateOfAnotherHostFailsAndNamesBoth) {
  auto peer = testing::TlsTestPeer::Start(pki_->wrong_host_cert, pki_->dir / "wrong-host.key", {});
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  std::string message = Refusal((*peer)->address(), Tls(pki_->ca));
  EXPECT_NE(message.find("does not name 127.0.0.1"), std::string::npos) << message;
  EXPECT_NE(message.find("DNS:zk.example.invalid"), std::string::npos) << message;
  EXPECT_NE(message.find("--zk-tls-no-verify-host"), std::string::npos) << message;
}

TEST_F(TlsLiveTest, NoProtocolInCommonFailsAndSaysSo) {
  // A server that speaks only TLS 1.1 (allowed at security level 0).
  auto peer = testing::TlsTestPeer::Start(pki_->server_cert, pki_->server_key,
                                          {"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"});
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  std::string message = Refusal((*peer)->address(), Tls(pki_->ca));
  EXPECT_NE(message.find("no TLS version in common"), std::string::npos) << message;
}

TEST_F(TlsLiveTest, TlsToThePlainPortFailsClearly) {
  zk::ClientOptions options;
  options.connect_string = cluster_->ConnectString();
  options.tls = Tls(pki_->ca);
  options.connect_timeout = 2s;
  auto client = zk::Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("closed the connection during the handshake"),
            std::string::npos)
      << client.status().ToString();
}

TEST_F(TlsLiveTest, X509AclReadableOnlyWithTheMatchingCertificate) {
  auto alice = Connect(Secure(), Tls(pki_->ca, pki_->alice_cert, pki_->alice_key));
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ((*alice)->connection_security().rfind("TLSv1.3 ", 0), 0u)
      << (*alice)->connection_security();
  auto read = (*alice)->GetData("/t/x509").get();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->data, "for alice's certificate");
  auto identities = (*alice)->WhoAmI().get();
  ASSERT_TRUE(identities.ok()) << identities.status().ToString();
  bool x509 = false;
  for (const auto& identity : *identities) x509 |= identity.scheme == "x509";
  EXPECT_TRUE(x509);

  auto bob = Connect(Secure(), Tls(pki_->ca, pki_->bob_cert, pki_->bob_key));
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  EXPECT_EQ(zk::ErrorCodeOf((*bob)->GetData("/t/x509").get().status()), zk::ErrorCode::NOAUTH);

  auto anonymous = Connect(Secure(), Tls(pki_->ca));
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().ToString();
  EXPECT_EQ(zk::ErrorCodeOf((*anonymous)->GetData("/t/x509").get().status()),
            zk::ErrorCode::NOAUTH);

  // The command line, with the key from a private file.
  CommandRun run = Zkarrow("snapshot --zk " + Secure() + Ca(pki_->ca) + " --zk-tls-cert " +
                           pki_->alice_cert.string() + " --zk-tls-key " + pki_->alice_key.string() +
                           " --path /t/x509 -o " + (pki_->dir / "alice.arrow").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(pki_->dir / "alice.arrow");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ((*rows)[0]["data_hex"], testing::Hex("for alice's certificate"));
}

TEST_F(TlsLiveTest, AKeyOthersCanReadIsRefused) {
  fs::path key = pki_->dir / "open.key";
  fs::copy_file(pki_->alice_key, key, fs::copy_options::overwrite_existing);
  fs::permissions(key, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  CommandRun run = Zkarrow("snapshot --zk " + Secure() + Ca(pki_->ca) + " --zk-tls-cert " +
                           pki_->alice_cert.string() + " --zk-tls-key " + key.string() + " -o " +
                           (pki_->dir / "never.arrow").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("chmod 600"), std::string::npos) << run.output;
}

TEST_F(TlsLiveTest, ZkConfigFileCarriesTheSetupOver) {
  fs::path config = pki_->dir / "client.properties";
  // A PEM key store holds the key and the certificate chain in one file.
  fs::path store = pki_->dir / "alice-store.pem";
  {
    std::ofstream out(store);
    out << std::ifstream(pki_->alice_key).rdbuf() << std::ifstream(pki_->alice_cert).rdbuf();
  }
  fs::permissions(store, fs::perms::owner_read | fs::perms::owner_write);
  WriteFile(config,
            "# as zkCli.sh -client-configuration reads it\n"
            "zookeeper.client.secure=true\n"
            "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\n"
            "zookeeper.ssl.keyStore.location=" +
                store.string() +
                "\n"
                "zookeeper.ssl.keyStore.type=PEM\n"
                "zookeeper.ssl.trustStore.location=" +
                pki_->ca.string() +
                "\n"
                "zookeeper.ssl.trustStore.type=PEM\n");
  CommandRun run = Zkarrow("snapshot --zk " + Secure() + " --zk-config " + config.string() +
                           " --path /t/x509 -o " + (pki_->dir / "config.arrow").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(pki_->dir / "config.arrow");
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ((*rows)[0]["data_hex"], testing::Hex("for alice's certificate"));

  WriteFile(config,
            "zookeeper.client.secure=true\n"
            "zookeeper.ssl.trustStore.location=/etc/zk/truststore.jks\n");
  run = Zkarrow("snapshot --zk " + Secure() + " --zk-config " + config.string() + " -o " +
                (pki_->dir / "never.arrow").string());
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("JKS"), std::string::npos) << run.output;
}

// ------------------------------------------------------- TLS ensemble failover

// Reads with up to 32 requests in flight (getData and multiRead) over TLS
// and SASL while the server the client reads from is killed: every read
// succeeds, on another server, in the same session. The servers serve no
// request before SASL succeeded on the connection, so the reads after the
// failover also show that the client authenticated again first.
TEST(TlsEnsembleTest, ReadsSurviveTheLossOfTheirServer) {
  auto pki = testing::MakeTestPki(TestDir("tls-ensemble"));
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  WriteFile(pki->dir / "jaas.conf", kDigestJaas);
  zkserver::ClusterOptions cluster_options{
      .servers = 3, .secure_client_port = true, .config = testing::TlsServerConfig(*pki)};
  cluster_options.config.insert(cluster_options.config.end(), kSaslRequired.begin(),
                                kSaslRequired.end());
  cluster_options.jvm_flags.push_back("-Djava.security.auth.login.config=" +
                                      (pki->dir / "jaas.conf").string());
  auto cluster = zkserver::ZooKeeperCluster::Start(cluster_options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  zk::ClientOptions options;
  options.connect_string = (*cluster)->SecureConnectString();
  // ZooKeeper's default ssl.clientAuth is "need": a client certificate.
  options.tls = zk::TlsOptions{.ca_file = pki->ca.string(),
                               .cert_file = pki->alice_cert.string(),
                               .key_file = pki->alice_key.string()};
  options.sasl =
      zk::SaslOptions{.mechanism = "DIGEST-MD5", .user = "alice", .password = "alice-secret"};
  options.session_timeout = 20s;
  auto client = zk::Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  BuildTree(**client, zk::OpenAclUnsafe());
  const int64_t session = (*client)->session_id();
  const std::string first = (*client)->connected_server();
  // ZooKeeper's default: TLS 1.2 only.
  EXPECT_EQ((*client)->connection_security().rfind("TLSv1.2 ", 0), 0u)
      << (*client)->connection_security();

  std::atomic<int> completed{0}, failed{0}, outstanding{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    for (int i = 0; !stop; ++i) {
      while (outstanding >= 32 && !stop) std::this_thread::sleep_for(1ms);
      ++outstanding;
      std::string parent = "/t/n" + std::to_string(i % 20);
      auto done = [&](bool ok) {
        (ok ? completed : failed)++;
        --outstanding;
      };
      if (i % 2 == 0) {
        (*client)->GetData(parent, [done](Result<zk::DataResult> r) { done(r.ok()); });
      } else {
        std::vector<zk::ReadOp> ops = {zk::ReadOp::GetData(parent + "/c1"),
                                       zk::ReadOp::GetChildren(parent)};
        (*client)->MultiRead(std::move(ops), [done](Result<std::vector<zk::ReadResult>> r) {
          done(r.ok() && r->size() == 2);
        });
      }
    }
  });
  auto wait_for = [&](int count) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (completed < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    return completed >= count;
  };
  EXPECT_TRUE(wait_for(2000));
  int victim = -1;
  for (int i = 0; i < (*cluster)->size(); ++i) {
    if (first == "127.0.0.1:" + std::to_string((*cluster)->secure_client_port(i))) victim = i;
  }
  ASSERT_GE(victim, 0) << first;
  ASSERT_TRUE((*cluster)->Kill(victim).ok());
  const int before = completed;
  EXPECT_TRUE(wait_for(before + 4000));
  stop = true;
  reader.join();
  while (outstanding > 0) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ((*client)->session_id(), session);
  EXPECT_NE((*client)->connected_server(), first);
  EXPECT_FALSE((*client)->connected_server().empty());
  EXPECT_FALSE((*client)->connection_security().empty());
  client->reset();
  fs::remove_all(pki->dir);
}

// ------------------------------------------------------------ SASL DIGEST-MD5

class SaslDigestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(TestDir("sasl"));
    fs::create_directories(*dir_);
    WriteFile(*dir_ / "jaas.conf", kDigestJaas);
    WriteFile(*dir_ / "alice.password", "alice-secret\n");
    WriteFile(*dir_ / "bob.password", "bob-secret\n");
    WriteFile(*dir_ / "wrong.password", "not-the-password\n");
    // Nothing but SASL-authenticated sessions may do anything.
    zkserver::ClusterOptions options{.config = kSaslRequired};
    options.jvm_flags.push_back("-Djava.security.auth.login.config=" +
                                (*dir_ / "jaas.conf").string());
    auto cluster = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    auto owner = Connect(cluster_->ConnectString(), std::nullopt, Digest("alice", "alice-secret"));
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    BuildTree(**owner, zk::OpenAclUnsafe());
    auto only_alice =
        (*owner)->Create("/t/alice-only", "alice's", {{zk::perms::kAll, "sasl", "alice"}}).get();
    ASSERT_TRUE(only_alice.ok()) << only_alice.status().ToString();
    ready_ = !::testing::Test::HasFatalFailure();
  }

  static void TearDownTestSuite() {
    delete cluster_;
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the SASL fixture failed; see above"; }

  static zk::SaslOptions Digest(std::string user, std::string password) {
    return {.mechanism = "DIGEST-MD5", .user = std::move(user), .password = std::move(password)};
  }
  static std::string SaslArgs(const std::string& user, const std::string& password_file) {
    return " --sasl digest --sasl-user " + user + " --sasl-password-file " +
           (*dir_ / password_file).string();
  }

  static fs::path* dir_;
  static zkserver::ZooKeeperCluster* cluster_;
  static bool ready_;
};

fs::path* SaslDigestTest::dir_ = nullptr;
zkserver::ZooKeeperCluster* SaslDigestTest::cluster_ = nullptr;
bool SaslDigestTest::ready_ = false;

TEST_F(SaslDigestTest, RightCredentialsReadTheTreeAsKazooDoes) {
  fs::path out = *dir_ / "alice.arrow";
  CommandRun run = Zkarrow("snapshot --zk " + cluster_->ConnectString() +
                           SaslArgs("alice", "alice.password") + " --path /t -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u + 20 + 200 + 1);
  std::vector<nlohmann::json> kazoo =
      ParseJsonLines(Kazoo(cluster_->ConnectString(), "--sasl-user alice --sasl-password-file " +
                                                          (*dir_ / "alice.password").string()));
  EXPECT_EQ(DiffRows(kazoo, *rows, {"kind"}), "");
  // Nothing secret in the file: not the password, not its file's name.
  std::ifstream file(out, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find("alice-secret"), std::string::npos);
  EXPECT_EQ(bytes.find("alice.password"), std::string::npos);
}

TEST_F(SaslDigestTest, WrongPasswordFailsAtOnceAndSaysSo) {
  auto start = std::chrono::steady_clock::now();
  auto client = Connect(cluster_->ConnectString(), std::nullopt, Digest("alice", "Wr0ng-Pw"));
  ASSERT_FALSE(client.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, kRefusedWithin);
  EXPECT_EQ(client.status().code(), StatusCode::kUnauthenticated) << client.status().ToString();
  EXPECT_NE(client.status().message().find("SASL DIGEST-MD5 as alice"), std::string::npos)
      << client.status().ToString();
  EXPECT_EQ(client.status().message().find("Wr0ng-Pw"), std::string::npos)
      << "the password must not appear: " << client.status().ToString();

  CommandRun run =
      Zkarrow("snapshot --zk " + cluster_->ConnectString() + SaslArgs("alice", "wrong.password") +
              " -o " + (*dir_ / "never.arrow").string());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("SASL DIGEST-MD5 as alice"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("not-the-password"), std::string::npos) << run.output;
  EXPECT_LT(run.took, kRefusedWithin);
}

TEST_F(SaslDigestTest, UnknownUserFailsClearly) {
  auto client = Connect(cluster_->ConnectString(), std::nullopt, Digest("mallory", "x"));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnauthenticated) << client.status().ToString();
}

TEST_F(SaslDigestTest, SaslAclReadableOnlyByThatUser) {
  auto alice = Connect(cluster_->ConnectString(), std::nullopt, Digest("alice", "alice-secret"));
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto read = (*alice)->GetData("/t/alice-only").get();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->data, "alice's");
  auto bob = Connect(cluster_->ConnectString(), std::nullopt, Digest("bob", "bob-secret"));
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  EXPECT_EQ(zk::ErrorCodeOf((*bob)->GetData("/t/alice-only").get().status()),
            zk::ErrorCode::NOAUTH);
  // The snapshot as bob has the node, without its data.
  fs::path out = *dir_ / "bob.arrow";
  CommandRun run =
      Zkarrow("snapshot --zk " + cluster_->ConnectString() + SaslArgs("bob", "bob.password") +
              " --path /t/alice-only -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ((*rows)[0]["error"], "NOAUTH");
  EXPECT_TRUE((*rows)[0]["data_hex"].is_null());
}

// A copy whose only credentials are SASL gives a node that denies the world
// CREATE a temporary ACL naming alice, not the world: a copy that stops
// before its ACL phase (here on a node alice may not write) leaves that
// ACL, which must not let anyone else read the secret.
TEST_F(SaslDigestTest, ACopyWithSaslCredentialsHoldsSecretsUnderItsOwnIdentity) {
  auto alice = Connect(cluster_->ConnectString(), std::nullopt, Digest("alice", "alice-secret"));
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = Connect(cluster_->ConnectString(), std::nullopt, Digest("bob", "bob-secret"));
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  const std::vector<zk::Acl> alice_only = {{zk::perms::kAll, "sasl", "alice"}};
  for (const auto& [path, data, acl] :
       std::vector<std::tuple<std::string, std::string, std::vector<zk::Acl>>>{
           {"/src3", "", zk::OpenAclUnsafe()},
           {"/src3/sec", "top-secret", alice_only},
           {"/src3/sec/a", "a", alice_only},
           {"/src3/sec/b", "b", alice_only},
           {"/src3/zz", "new", zk::OpenAclUnsafe()},
           {"/dst3", "", zk::OpenAclUnsafe()}}) {
    auto created = (*alice)->Create(path, data, acl).get();
    ASSERT_TRUE(created.ok()) << path << ": " << created.status().ToString();
  }
  // Alice may read /dst3/zz but not write it: the copy stops there.
  auto zz = (*bob)
                ->Create("/dst3/zz", "old",
                         {{zk::perms::kAll, "sasl", "bob"}, {zk::perms::kRead, "sasl", "alice"}})
                .get();
  ASSERT_TRUE(zz.ok()) << zz.status().ToString();
  const std::string zk = "zk://" + cluster_->ConnectString();
  CommandRun run = Zkarrow("copy " + zk + "/src3 " + zk + "/dst3" +
                           SaslArgs("alice", "alice.password") + " --batch-ops 1 --in-flight 1");
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("NOAUTH"), std::string::npos) << run.output;
  auto acl = (*alice)->GetAcl("/dst3/sec").get();
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  EXPECT_EQ(acl->acls, alice_only) << "the temporary ACL is not alice's alone";
  EXPECT_EQ(zk::ErrorCodeOf((*bob)->GetData("/dst3/sec").get().status()), zk::ErrorCode::NOAUTH);
}

TEST_F(SaslDigestTest, WithoutSaslTheServerRefusesEveryRequest) {
  // enforce.auth: the session is granted, but no request is served until
  // SASL succeeded on the connection, which is why zkarrow authenticates
  // before it sends anything.
  auto anonymous = Connect(cluster_->ConnectString(), std::nullopt);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().ToString();
  Status status = (*anonymous)->GetData("/t").get().status();
  EXPECT_EQ(zk::ErrorCodeOf(status), zk::ErrorCode::SESSIONCLOSEDREQUIRESASLAUTH)
      << status.ToString();
}

// ------------------------------------------------------------ SASL GSSAPI

// An MIT KDC in a realm of the test's own (Debian's krb5-kdc): principals
// for the server (zookeeper/127.0.0.1) and two users, each in a keytab; the
// server logs in with its keytab (JAAS Krb5LoginModule), zkarrow with the
// user's. KRB5_CONFIG points this process, zkarrow and the tools at the
// realm's krb5.conf; the JVM gets it as java.security.krb5.conf.
class KerberosTest : public ::testing::Test {
 protected:
  static constexpr const char* kRealm = "ZKARROW.TEST";

  static void SetUpTestSuite() {
    for (const char* tool :
         {"/usr/sbin/krb5kdc", "/usr/sbin/kdb5_util", "/usr/sbin/kadmin.local"}) {
      if (!fs::exists(tool)) {
        missing_ = std::string(tool) + " is missing (scripts/setup installs krb5-kdc)";
        return;
      }
    }
    dir_ = new fs::path(TestDir("krb"));
    fs::create_directories(*dir_);
    auto port = zkserver::PickFreePort();
    ASSERT_TRUE(port.ok());
    const std::string kdc = "127.0.0.1:" + std::to_string(*port);
    const fs::path& d = *dir_;
    WriteFile(d / "krb5.conf", std::string("[libdefaults]\n default_realm = ") + kRealm +
                                   "\n dns_lookup_realm = false\n dns_lookup_kdc = false\n"
                                   " dns_canonicalize_hostname = false\n rdns = false\n"
                                   " udp_preference_limit = 1\n"
                                   "[realms]\n " +
                                   kRealm + " = {\n  kdc = " + kdc + "\n }\n");
    WriteFile(d / "kdc.conf", std::string("[kdcdefaults]\n kdc_listen = ") + kdc +
                                  "\n kdc_tcp_listen = " + kdc + "\n[realms]\n " + kRealm +
                                  " = {\n  database_name = " + (d / "principal").string() +
                                  "\n  key_stash_file = " + (d / "stash").string() +
                                  "\n  acl_file = " + (d / "kadm5.acl").string() + "\n }\n");
    ::setenv("KRB5_CONFIG", (d / "krb5.conf").c_str(), 1);
    ::setenv("KRB5_KDC_PROFILE", (d / "kdc.conf").c_str(), 1);
    auto created = RunCommand(std::string("/usr/sbin/kdb5_util create -s -r ") + kRealm +
                              " -P master-of-the-test 2>&1");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    for (const auto& [principal, keytab] :
         {std::pair<std::string, std::string>{"zookeeper/127.0.0.1", "server.keytab"},
          {"alice", "alice.keytab"},
          {"bob", "bob.keytab"}}) {
      // kadmin.local runs one -q query per call.
      const std::string kadmin = "/usr/sbin/kadmin.local -r " + std::string(kRealm) + " -q ";
      auto added = RunCommand(kadmin + "'addprinc -randkey " + principal + "' 2>&1");
      ASSERT_TRUE(added.ok()) << added.status().ToString();
      auto exported =
          RunCommand(kadmin + "'ktadd -k " + (d / keytab).string() + " " + principal + "' 2>&1");
      ASSERT_TRUE(exported.ok()) << exported.status().ToString();
      ASSERT_TRUE(fs::exists(d / keytab)) << *added << *exported;
    }
    auto started =
        testing::BackgroundProcess::Start({"/usr/sbin/krb5kdc", "-n", "-r", kRealm}, d / "kdc.log");
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    kdc_ = std::move(*started).release();
    ASSERT_TRUE(kdc_->WaitListening(*port).ok()) << "the KDC did not start; see " << d / "kdc.log";

    WriteFile(d / "jaas.conf",
              "Server {\n"
              "  com.sun.security.auth.module.Krb5LoginModule required\n"
              "  useKeyTab=true storeKey=true useTicketCache=false\n"
              "  keyTab=\"" +
                  (d / "server.keytab").string() +
                  "\"\n"
                  "  principal=\"zookeeper/127.0.0.1@" +
                  kRealm +
                  "\";\n"
                  "};\n");
    zkserver::ClusterOptions options{.config = kSaslRequired};
    options.jvm_flags.push_back("-Djava.security.auth.login.config=" + (d / "jaas.conf").string());
    options.jvm_flags.push_back("-Djava.security.krb5.conf=" + (d / "krb5.conf").string());
    auto cluster = zkserver::ZooKeeperCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    auto owner = Connect(cluster_->ConnectString(), std::nullopt, Gssapi("alice"));
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    BuildTree(**owner, zk::OpenAclUnsafe());
    auto only_alice = (*owner)
                          ->Create("/t/alice-only", "alice's",
                                   {{zk::perms::kAll, "sasl", std::string("alice@") + kRealm}})
                          .get();
    ASSERT_TRUE(only_alice.ok()) << only_alice.status().ToString();
    ready_ = !::testing::Test::HasFatalFailure();
  }

  static void TearDownTestSuite() {
    delete cluster_;
    delete kdc_;
    if (dir_ != nullptr) fs::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    if (!missing_.empty()) ZKA_MISSING_PREREQUISITE() << missing_;
    ASSERT_TRUE(ready_) << "the Kerberos fixture failed; see above";
  }

  static zk::SaslOptions Gssapi(const std::string& user) {
    return {.mechanism = "GSSAPI",
            .user = user + "@" + kRealm,
            .keytab = (*dir_ / (user + ".keytab")).string()};
  }
  static std::string GssapiArgs(const std::string& user) {
    return " --sasl gssapi --principal " + user + "@" + kRealm + " --keytab " +
           (*dir_ / (user + ".keytab")).string();
  }

  static std::string missing_;
  static fs::path* dir_;
  static testing::BackgroundProcess* kdc_;
  static zkserver::ZooKeeperCluster* cluster_;
  static bool ready_;
};

std::string KerberosTest::missing_;
fs::path* KerberosTest::dir_ = nullptr;
testing::BackgroundProcess* KerberosTest::kdc_ = nullptr;
zkserver::ZooKeeperCluster* KerberosTest::cluster_ = nullptr;
bool KerberosTest::ready_ = false;

TEST_F(KerberosTest, SnapshotWithAKeytabHonoursSaslAcls) {
  fs::path out = *dir_ / "alice.arrow";
  CommandRun run = Zkarrow("snapshot --zk " + cluster_->ConnectString() + GssapiArgs("alice") +
                           " --path /t -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u + 20 + 200 + 1);
  bool read_alice_only = false;
  for (const auto& row : *rows) {
    if (row["path"] == "/t/alice-only")
      read_alice_only = row["data_hex"] == testing::Hex("alice's");
  }
  EXPECT_TRUE(read_alice_only);

  out = *dir_ / "bob.arrow";
  run = Zkarrow("snapshot --zk " + cluster_->ConnectString() + GssapiArgs("bob") +
                " --path /t/alice-only -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ((*rows)[0]["error"], "NOAUTH");
}

TEST_F(KerberosTest, SnapshotWithTheTicketCacheOfKinit) {
  // No keytab: the tickets kinit left in the credential cache.
  const fs::path cache = *dir_ / "alice.ccache";
  ::setenv("KRB5CCNAME", ("FILE:" + cache.string()).c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("KRB5CCNAME"); }
  } unset;
  auto kinit = RunCommand("kinit -k -t " + (*dir_ / "alice.keytab").string() + " alice@" +
                          std::string(kRealm) + " 2>&1");
  ASSERT_TRUE(kinit.ok()) << kinit.status().ToString();
  const fs::path out = *dir_ / "alice-cache.arrow";
  CommandRun run = Zkarrow("snapshot --zk " + cluster_->ConnectString() +
                           " --sasl gssapi --path /t/alice-only -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto rows = ReadZnodeRows(out);
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  EXPECT_EQ((*rows)[0]["data_hex"], testing::Hex("alice's"));

  // An empty cache is a clear refusal, not a hang.
  ASSERT_TRUE(RunCommand("kdestroy 2>&1").ok());
  run = Zkarrow("snapshot --zk " + cluster_->ConnectString() +
                " --sasl gssapi --path /t/alice-only -o " + out.string());
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_LT(run.took, kRefusedWithin);
}

TEST_F(KerberosTest, WrongServicePrincipalFailsClearly) {
  zk::SaslOptions options = Gssapi("alice");
  options.host = "nowhere.invalid";
  auto start = std::chrono::steady_clock::now();
  auto client = Connect(cluster_->ConnectString(), std::nullopt, options);
  ASSERT_FALSE(client.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, kRefusedWithin);
  EXPECT_EQ(client.status().code(), StatusCode::kUnauthenticated) << client.status().ToString();
  EXPECT_NE(client.status().message().find("zookeeper/nowhere.invalid"), std::string::npos)
      << client.status().ToString();
}

}  // namespace
}  // namespace zkarrow
