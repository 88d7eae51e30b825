// The command layer's shared pieces: the failure path (exit codes), output
// files (atomic, nothing left behind, modes kept), the connection options
// (credential files) and the option texts of --help.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/writer.h"
#include "cli/output_target.h"
#include "cli/report.h"
#include "cli/secret_file.h"
#include "cli/zk_client_config.h"
#include "cli/zk_connection.h"
#include "support/znode_rows.h"
#include "zk/error_code.h"

namespace zkarrow::cli {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "zkarrow-cli-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  fs::path path_;
};

void WriteAll(OutputTarget& target, std::string_view text) {
  ASSERT_TRUE(
      target.stream().Write({reinterpret_cast<const uint8_t*>(text.data()), text.size()}).ok());
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

mode_t ModeOf(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(ExitCodeTest, OnlyUsageErrorsExitTwo) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), kExitOk);
  EXPECT_EQ(ExitCodeFor(UsageError("--zxid wants a zxid")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(UsageError("x").WithContext("parsing")), kExitUsage);
  // A library's InvalidArgument is a failed run (txnlog used to exit 2 when
  // the IPC writer refused a dictionary change).
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("dictionary 0 changed")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(Status::InvalidData("bad magic")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(Status::IoError("disk full")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(Status::OutOfRange("budget")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(zk::ZooKeeperError(zk::ErrorCode::NOAUTH, "getData", "/x")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(zk::ZooKeeperError(zk::ErrorCode::SESSIONEXPIRED, "getData", "/")),
            kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(zk::ZooKeeperError(zk::ErrorCode::CONNECTIONLOSS, "getData", "/")),
            kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(Status::Timeout("no server granted a session")), kExitUnavailable);
}

TEST(ExitCodeTest, ASignalsStopExits128PlusTheSignal) {
  EXPECT_EQ(ExitCodeFor(SignalStop(SIGINT, "stopped by SIGINT")), 130);
  EXPECT_EQ(ExitCodeFor(SignalStop(SIGTERM, "stopped by SIGTERM")), 143);
  // Only a SignalStop: any other cancellation is a failed run.
  EXPECT_EQ(ExitCodeFor(Status::Cancelled("stopped")), kExitFailure);
  EXPECT_EQ(FinishComparison("diff", SignalStop(SIGINT, "stopped by SIGINT")), 130);
}

TEST(OutputTargetTest, AppearsOnlyOnCommitAndLeavesNothingOtherwise) {
  TempDir dir;
  fs::path out = dir.path() / "tree.arrow";
  {
    auto target = OutputTarget::Open(out.string());
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    WriteAll(**target, "partial");
    EXPECT_TRUE(dir.Entries().empty()) << "the data must have no name while it is written";
  }
  EXPECT_TRUE(dir.Entries().empty()) << "an uncommitted output must leave nothing";

  auto target = OutputTarget::Open(out.string());
  ASSERT_TRUE(target.ok());
  WriteAll(**target, "whole");
  ASSERT_TRUE((*target)->Commit().ok());
  EXPECT_EQ(ReadFile(out), "whole");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"tree.arrow"});
  EXPECT_EQ((*target)->bytes_written(), 5);
}

// Direct I/O writes whole blocks from 2 MiB chunks: lengths that end
// inside a block, writes across chunk boundaries, a Flush with more bytes
// after it (the tail block written again) must all give exactly the bytes.
TEST(OutputTargetTest, DirectIoWritesExactlyTheBytes) {
  TempDir dir;
  std::string expected;
  uint32_t seed = 1;
  auto more = [&](size_t size) {
    std::string piece(size, '\0');
    for (char& c : piece) {
      seed = seed * 1103515245 + 12345;
      c = static_cast<char>(seed >> 24);
    }
    expected += piece;
    return piece;
  };
  for (size_t total : {size_t{0}, size_t{1}, size_t{4096}, size_t{5000}, size_t{(2 << 20) - 3},
                       size_t{(2 << 20) + 7}, size_t{(8 << 20) + 7}, size_t{(17 << 20) + 4097},
                       size_t{(41 << 20) + 9}}) {  // the last: every queued chunk reused
    SCOPED_TRACE(total);
    expected.clear();
    fs::path out = dir.path() / "direct.arrow";
    auto target = OutputTarget::Open(out.string(), {.direct_io = true});
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    for (size_t written = 0, step = 1; written < total; step = step * 3 + 1) {
      const size_t size = std::min(step % 3000000, total - written);
      WriteAll(**target, more(size));
      written += size;
    }
    ASSERT_TRUE((*target)->Commit().ok());
    EXPECT_EQ(ReadFile(out), expected);
    EXPECT_EQ((*target)->bytes_written(), static_cast<int64_t>(total));
  }

  expected.clear();
  fs::path out = dir.path() / "flushed.arrow";
  auto target = OutputTarget::Open(out.string(), {.direct_io = true});
  ASSERT_TRUE(target.ok());
  WriteAll(**target, more(6000));
  ASSERT_TRUE((*target)->stream().Flush().ok());
  WriteAll(**target, more(3000));
  ASSERT_TRUE((*target)->Commit().ok());
  EXPECT_EQ(ReadFile(out), expected);

  {
    auto dropped = OutputTarget::Open((dir.path() / "dropped.arrow").string(), {.direct_io = true});
    ASSERT_TRUE(dropped.ok());
    WriteAll(**dropped, std::string((9 << 20) + 1, 'x'));
  }
  EXPECT_FALSE(fs::exists(dir.path() / "dropped.arrow"));
}

TEST(OutputTargetTest, ReplacedFileKeepsItsMode) {
  TempDir dir;
  fs::path out = dir.path() / "secret.arrow";
  { std::ofstream(out) << "old"; }
  ASSERT_EQ(::chmod(out.c_str(), 0600), 0);
  auto target = OutputTarget::Open(out.string());
  ASSERT_TRUE(target.ok());
  WriteAll(**target, "new");
  ASSERT_TRUE((*target)->Commit().ok());
  EXPECT_EQ(ReadFile(out), "new");
  EXPECT_EQ(ModeOf(out), 0600u) << "a private file must stay private when replaced";
}

TEST(OutputTargetTest, NewFileFollowsTheUmask) {
  TempDir dir;
  fs::path out = dir.path() / "new.arrow";
  const mode_t old_umask = ::umask(027);
  auto target = OutputTarget::Open(out.string());
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE((*target)->Commit().ok());
  ::umask(old_umask);
  EXPECT_EQ(ModeOf(out), 0640u);
}

// watch -o FILE: the file gets its name once the initial state is written
// and grows under it while a reader follows it. Dropped before NameNow, the
// old file stays; after it, the file stays as written.
TEST(OutputTargetTest, NameNowNamesTheFileAndKeepsWritingIt) {
  TempDir dir;
  fs::path out = dir.path() / "changes.arrows";
  { std::ofstream(out) << "old"; }
  ASSERT_EQ(::chmod(out.c_str(), 0600), 0);
  {
    auto target = OutputTarget::Open(out.string());
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    WriteAll(**target, "initial");
  }
  EXPECT_EQ(ReadFile(out), "old") << "dropped before NameNow, yet the file was replaced";
  {
    auto target = OutputTarget::Open(out.string());
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    WriteAll(**target, "initial");
    ASSERT_TRUE((*target)->NameNow().ok());
    EXPECT_EQ(ReadFile(out), "initial");
    EXPECT_EQ(ModeOf(out), 0600u) << "a private file must stay private when replaced";
    WriteAll(**target, ", changes");
    EXPECT_EQ(ReadFile(out), "initial, changes");
    ASSERT_TRUE((*target)->NameNow().ok());  // named already: nothing to do
  }
  EXPECT_EQ(ReadFile(out), "initial, changes") << "dropped after NameNow: kept as written";
  auto target = OutputTarget::Open(out.string());
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  WriteAll(**target, "a");
  ASSERT_TRUE((*target)->NameNow().ok());
  WriteAll(**target, "b");
  ASSERT_TRUE((*target)->Commit().ok());
  EXPECT_EQ(ReadFile(out), "ab");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"changes.arrows"});
}

// watch's rotated files never replace a file, and appear at once.
TEST(OutputTargetTest, CreateNewNeverReplacesAFile) {
  TempDir dir;
  fs::path taken = dir.path() / "c-1.arrows";
  { std::ofstream(taken) << "taken"; }
  auto refused = OutputTarget::Open(taken.string(), {.create_new = true});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().detail(), EEXIST) << refused.status().ToString();
  EXPECT_EQ(ReadFile(taken), "taken");
  fs::path fresh = dir.path() / "c-2.arrows";
  auto target = OutputTarget::Open(fresh.string(), {.create_new = true});
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  WriteAll(**target, "rows");
  EXPECT_EQ(ReadFile(fresh), "rows");
  ASSERT_TRUE((*target)->Commit().ok());
  EXPECT_EQ(ReadFile(fresh), "rows");
}

// watch after a write the disk refused: the file is cut back to its last
// whole message, named or rotated; a device cannot be cut and is left be.
TEST(OutputTargetTest, TruncateToCutsACreatedOrNamedFileButNoDevice) {
  TempDir dir;
  fs::path rotated = dir.path() / "c-1.arrows";
  auto created = OutputTarget::Open(rotated.string(), {.create_new = true});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  WriteAll(**created, "whole, cut");
  ASSERT_TRUE((*created)->TruncateTo(5).ok());
  created->reset();
  EXPECT_EQ(ReadFile(rotated), "whole");

  fs::path single = dir.path() / "changes.arrows";
  {
    auto named = OutputTarget::Open(single.string());
    ASSERT_TRUE(named.ok()) << named.status().ToString();
    WriteAll(**named, "initial");
    ASSERT_TRUE((*named)->NameNow().ok());
    WriteAll(**named, ", cut");
    ASSERT_TRUE((*named)->TruncateTo(7).ok());
  }
  EXPECT_EQ(ReadFile(single), "initial");

  auto device = OutputTarget::Open("/dev/null");
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  WriteAll(**device, "bytes");
  EXPECT_TRUE((*device)->TruncateTo(1).ok());
}

// -o /dev/null must not replace the device node with a file (a rename over
// it did, as root), and a FIFO is written, not replaced.
TEST(OutputTargetTest, DevicesAndFifosAreWrittenInPlace) {
  {
    auto target = OutputTarget::Open("/dev/null");
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    WriteAll(**target, "discarded");
    ASSERT_TRUE((*target)->Commit().ok());
    struct stat info {};
    ASSERT_EQ(::stat("/dev/null", &info), 0);
    EXPECT_TRUE(S_ISCHR(info.st_mode)) << "/dev/null is no longer a device";
  }
  TempDir dir;
  fs::path fifo = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = ReadFile(fifo); });
  {
    auto target = OutputTarget::Open(fifo.string());
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    WriteAll(**target, "through the pipe");
    ASSERT_TRUE((*target)->Commit().ok());
  }
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"pipe"});

  auto directory = OutputTarget::Open(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(ExitCodeFor(directory.status()), kExitUsage);
}

TEST(OutputTargetTest, EmptyNameIsAUsageError) {
  auto target = OutputTarget::Open("");
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(ExitCodeFor(target.status()), kExitUsage);
}

// A process killed while it writes (SIGTERM, SIGINT) leaves no file behind:
// `convert` reads a stream whose writer never finishes, so it sits with its
// output open until it is killed.
TEST(OutputTargetTest, KilledCommandLeavesNothing) {
  arrow::BufferOutputStream schema_only;
  arrow::Schema schema{{arrow::Field{"n", arrow::Int64()}}, {}};
  auto writer = arrow::ipc::IpcWriter::OpenStream(schema_only, schema);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::span<const uint8_t> bytes = schema_only.bytes();
  ASSERT_GT(bytes.size(), 0u);

  for (int signal_number : {SIGTERM, SIGINT}) {
    TempDir dir;
    fs::path out = dir.path() / "out.arrow";
    int to_child[2];
    ASSERT_EQ(::pipe(to_child), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(to_child[0], STDIN_FILENO);
      ::close(to_child[0]);
      ::close(to_child[1]);
      ::execl(ZKARROW_BINARY, ZKARROW_BINARY, "convert", "-", out.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(to_child[0]);
    ASSERT_EQ(::write(to_child[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    // Wait until the child holds a file in the directory open.
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    bool open_seen = false;
    for (int i = 0; i < 1000 && !open_seen; ++i) {
      std::error_code ignored;
      for (const auto& entry : fs::directory_iterator(fd_dir, ignored)) {
        std::error_code error;
        fs::path target = fs::read_symlink(entry.path(), error);
        if (!error && target.string().rfind(dir.path().string(), 0) == 0) open_seen = true;
      }
      if (!open_seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(open_seen) << "convert never opened its output";
    ::kill(pid, signal_number);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(to_child[1]);
    EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_TRUE(dir.Entries().empty())
        << "signal " << signal_number << " left " << dir.Entries().front();
  }
}

TEST(ZkConnectionTest, AuthFileMustBePrivateAndWellFormed) {
  TempDir dir;
  fs::path file = dir.path() / "zk-auth";
  { std::ofstream(file) << "# comment\n\ndigest:alice:s3cret\r\nsasl:bob:pw\n"; }
  ZkConnectionArgs args;
  args.zk = "127.0.0.1:2181";
  args.auth_file = file.string();

  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto refused = MakeClientOptions(args);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ExitCodeFor(refused.status()), kExitUsage);
  EXPECT_NE(refused.status().message().find("chmod 600"), std::string::npos)
      << refused.status().message();

  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto options = MakeClientOptions(args);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(options->auth, (std::vector<Pair>{{"digest", "alice:s3cret"}, {"sasl", "bob:pw"}}));
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0)
      << "a process holding credentials must not be dumpable";

  { std::ofstream(file) << "digest:ok:pw\nno-colon-here\n"; }
  auto malformed = MakeClientOptions(args);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(ExitCodeFor(malformed.status()), kExitUsage);
  EXPECT_NE(malformed.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(malformed.status().message().find("no-colon-here"), std::string::npos)
      << "a message must not repeat what may be a secret";

  // No credential at all is a mistake, not an anonymous session.
  for (const char* text : {"", "\n", "# nothing yet\r\n\n"}) {
    { std::ofstream(file) << text; }
    auto empty = MakeClientOptions(args);
    ASSERT_FALSE(empty.ok()) << "'" << text << "'";
    EXPECT_EQ(ExitCodeFor(empty.status()), kExitUsage);
    EXPECT_NE(empty.status().message().find("holds no SCHEME:CREDENTIAL line"), std::string::npos)
        << empty.status().message();
  }
}

// The plain --tls names work where a command has no --tls-* of its
// own; --zk-tls-* everywhere.
TEST(ZkConnectionTest, TlsOptionsTakeThePlainNamesWhereTheyAreFree) {
  TempDir dir;
  const fs::path ca = dir.path() / "ca.pem";
  { std::ofstream(ca) << "not read while parsing\n"; }
  for (ZkTlsNames names : {ZkTlsNames::kAlsoUnprefixed, ZkTlsNames::kPrefixedOnly}) {
    for (const char* prefix : {"--zk-", "--"}) {
      CLI::App app;
      ZkConnectionArgs args;
      AddZkConnectionOptions(app, args, /*zk_required=*/false, names);
      const std::string tls = std::string(prefix) + "tls";
      std::vector<std::string> argv = {tls + "-no-verify-host", ca.string(), tls + "-ca", tls};
      bool parsed = true;
      try {
        app.parse(argv);  // CLI11 parses a vector from its end
      } catch (const CLI::ParseError&) {
        parsed = false;
      }
      const bool expected = names == ZkTlsNames::kAlsoUnprefixed || prefix == std::string("--zk-");
      EXPECT_EQ(parsed, expected) << prefix;
      if (!parsed) continue;
      EXPECT_TRUE(args.tls);
      EXPECT_EQ(args.tls_ca, ca.string());
      EXPECT_TRUE(args.tls_no_verify_host);
    }
  }
}

TEST(ZkConnectionTest, TlsAndSaslOptionsBecomeClientOptions) {
  TempDir dir;
  fs::path password = dir.path() / "pw";
  { std::ofstream(password) << "s3cret\nignored second line\n"; }
  ASSERT_EQ(::chmod(password.c_str(), 0600), 0);
  ZkConnectionArgs args;
  args.zk = "zk1:2281";
  args.tls_ca = "/etc/ssl/zk-ca.pem";  // implies --zk-tls
  args.sasl = "digest";
  args.sasl_user = "alice";
  args.sasl_password_file = password.string();
  auto options = MakeClientOptions(args);
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  ASSERT_TRUE(options->tls.has_value());
  EXPECT_EQ(options->tls->ca_file, "/etc/ssl/zk-ca.pem");
  EXPECT_TRUE(options->tls->verify_host);
  ASSERT_TRUE(options->sasl.has_value());
  EXPECT_EQ(options->sasl->mechanism, "DIGEST-MD5");
  EXPECT_EQ(options->sasl->user, "alice");
  EXPECT_EQ(options->sasl->password, "s3cret");
  EXPECT_EQ(options->sasl->service, "zookeeper");

  args.tls_cert = "/etc/ssl/me.pem";  // without --zk-tls-key
  auto half = MakeClientOptions(args);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(ExitCodeFor(half.status()), kExitUsage);
  args.tls_cert.clear();

  args.sasl_password_file.clear();
  auto no_password = MakeClientOptions(args);
  ASSERT_FALSE(no_password.ok());
  EXPECT_NE(no_password.status().message().find("--sasl-password-file"), std::string::npos);

  ZkConnectionArgs stray;
  stray.zk = "zk1:2181";
  stray.sasl_user = "alice";
  auto refused = MakeClientOptions(stray);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("needs --sasl"), std::string::npos);
}

TEST(ZkClientConfigTest, ReadsTheJavaClientsSecureSettings) {
  auto config = ParseZkClientConfig(
      "# zkCli.sh -client-configuration\n"
      "zookeeper.client.secure = true\n"
      "zookeeper.ssl.keyStore.location=/etc/zk/me.pem\n"
      "zookeeper.ssl.keyStore.type=PEM\n"
      "zookeeper.ssl.trustStore.location:/etc/zk/\\\n"
      "  ca.pem\n"
      "zookeeper.ssl.hostnameVerification=false\n"
      "zookeeper.server.principal=zk/zk1.example.com@EXAMPLE.COM\n",
      "test");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->secure);
  EXPECT_EQ(config->key_store, "/etc/zk/me.pem");
  EXPECT_EQ(config->trust_store, "/etc/zk/ca.pem");
  EXPECT_EQ(config->hostname_verification, false);
  EXPECT_EQ(config->server_principal, "zk/zk1.example.com@EXAMPLE.COM");

  auto jks = ParseZkClientConfig("zookeeper.ssl.keyStore.location=/etc/zk/me.jks\n", "test");
  ASSERT_FALSE(jks.ok());
  EXPECT_EQ(ExitCodeFor(jks.status()), kExitUsage);
  EXPECT_NE(jks.status().message().find("JKS"), std::string::npos);
  auto encrypted = ParseZkClientConfig(
      "zookeeper.ssl.keyStore.location=/etc/zk/me.pem\nzookeeper.ssl.keyStore.password=hunter2\n",
      "test");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_EQ(encrypted.status().message().find("hunter2"), std::string::npos);
  auto bad_bool = ParseZkClientConfig("zookeeper.client.secure=yes\n", "test");
  EXPECT_FALSE(bad_bool.ok());
}

// A token file as editors and `echo` leave them: the blanks and line end
// around the token are not part of it. A byte no HTTP header or gRPC
// metadata value may carry is refused up front (gRPC aborted the process
// on it, printing the token), and the message does not show it.
TEST(SecretFileTest, TokenIsVisibleAsciiWithoutTheBlanksAroundIt) {
  TempDir dir;
  const fs::path file = dir.path() / "token";
  auto read = [&](const std::string& text) {
    { std::ofstream(file, std::ios::binary) << text; }
    EXPECT_EQ(::chmod(file.c_str(), 0600), 0);
    return ReadTokenFile(file.string(), "--token-file");
  };
  for (const char* text : {"s3cret-Token_1", "s3cret-Token_1\n", "s3cret-Token_1\r\n",
                           "  s3cret-Token_1 \t\r\nsecond line\n"}) {
    auto token = read(text);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    EXPECT_EQ(*token, "s3cret-Token_1");
  }
  for (const char* text : {"s3cr\x01"
                           "et\n",
                           "s3cr\xc3\xa9"
                           "t\n",
                           "s3cr et\n"}) {
    auto refused = read(text);
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_EQ(ExitCodeFor(refused.status()), kExitUsage);
    EXPECT_NE(refused.status().message().find("visible ASCII"), std::string::npos)
        << refused.status().message();
    EXPECT_EQ(refused.status().message().find("s3cr"), std::string::npos)
        << "a message must not repeat the token";
  }
  for (const char* text : {"", "\n", " \t\r\n"}) {
    auto empty = read(text);
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.status().message().find("holds no token"), std::string::npos);
  }
  // A password is the first line as it is: blanks and UTF-8 included.
  { std::ofstream(file, std::ios::binary) << " p\xc3\xa4ss word \r\n"; }
  auto password = ReadPasswordFile(file.string(), "--sasl-password-file");
  ASSERT_TRUE(password.ok()) << password.status().ToString();
  EXPECT_EQ(*password, " p\xc3\xa4ss word ");
}

// --zk-config is read whole, so only a small regular file is: a device
// (/dev/zero) or an oversized file would be read without end.
TEST(ZkClientConfigTest, OnlyASmallRegularFileIsRead) {
  auto device = ReadZkClientConfig("/dev/zero");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(ExitCodeFor(device.status()), kExitUsage);
  EXPECT_NE(device.status().message().find("not a regular file"), std::string::npos)
      << device.status().message();

  TempDir dir;
  const fs::path file = dir.path() / "client.properties";
  {
    std::ofstream out(file);
    out << "zookeeper.client.secure=true\n" << std::string(2 << 20, '#') << "\n";
  }
  auto large = ReadZkClientConfig(file.string());
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(ExitCodeFor(large.status()), kExitUsage);
  EXPECT_NE(large.status().message().find("expected at most"), std::string::npos)
      << large.status().message();

  { std::ofstream(file) << "zookeeper.client.secure=true\n"; }
  auto small = ReadZkClientConfig(file.string());
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_TRUE(small->secure);
}

TEST(HelpTextTest, ChoiceOptionsShowTheirNames) {
  for (const char* command : {"snapshot", "convert", "txnlog", "cat"}) {
    auto help = testing::RunCommand(std::string(ZKARROW_BINARY) + " " + command + " --help");
    ASSERT_TRUE(help.ok()) << command << ": " << help.status().ToString();
    EXPECT_EQ(help->find("->"), std::string::npos) << command << ":\n" << *help;
    EXPECT_EQ(help->find("ENUM"), std::string::npos) << command << ":\n" << *help;
  }
  auto snapshot = testing::RunCommand(std::string(ZKARROW_BINARY) + " snapshot --help");
  ASSERT_TRUE(snapshot.ok());
  EXPECT_NE(snapshot->find("lz4|none|zstd (default: none)"), std::string::npos) << *snapshot;
}

}  // namespace
}  // namespace zkarrow::cli
