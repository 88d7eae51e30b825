// `zkarrow watch` against real ZooKeeper servers: while a churn driver makes
// thousands of random changes, the replay of the change stream must end up
// equal to a fresh `zkarrow snapshot` and to kazoo's view of the same tree,
// with every path's rows going forward in time; also across a standalone
// server's restart, the connected server of an ensemble killed, and the
// watcher's session expiring while the process is stopped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "watch/change_schema.h"
#include "watch/tree_watcher.h"
#include "watch/watch_test_util.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/znode_path.h"
#include "znodes/znode_schema.h"

namespace zkarrow {
namespace {

using testing::CheckOrder;
using testing::CheckTreeReplay;
using testing::CountEvent;
using testing::DiffRows;
using testing::Hex;
using testing::ParseJsonLines;
using testing::ReadChangeRows;
using testing::ReadZnodeRows;
using testing::Replay;
using testing::RunCommand;
using testing::ZkarrowProcess;

namespace fs = std::filesystem;

constexpr const char* kUser = "alice:secret";

std::string ReadText(const fs::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Rotated files in order of their number.
std::vector<fs::path> FilesIn(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with(prefix)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class WatchTestBase : public ::testing::Test {
 protected:
  static void StartCluster(int servers) {
    auto cluster =
        zkserver::ZooKeeperCluster::Start({.servers = servers, .config = {{"forceSync", "no"}}});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    ConnectWriter();
  }

  // A new writer session; retried until a generous deadline, as a server
  // restarted under load may take long to serve again.
  static void ConnectWriter() {
    delete writer_;
    writer_ = nullptr;
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    options.auth = {{"digest", kUser}};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    Result<std::unique_ptr<zk::Client>> client = Status::Cancelled("not connected");
    do {
      client = zk::Client::Connect(options);
    } while (!client.ok() && std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    writer_ = std::move(*client).release();
  }

  // The shared writer's session ends when a server restart outlasts its
  // timeout (a restart under load can): later tests get a new one instead
  // of failing with it. A session that is only disconnected is waited for,
  // not replaced. One the client gave up on (it declares the session
  // expired after a timeout without a server) may still live on a server
  // that restarted meanwhile, with its ephemerals, until the server's own
  // timeout deletes them: in the middle of whatever check runs then, where
  // a watcher stopped before the deletions disagrees with a dump taken
  // after them. So a replaced session is waited out before tests go on.
  static void EnsureWriterSession() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    int64_t lost_session = 0;
    while (writer_ != nullptr) {
      Status alive = writer_->Exists("/").get().status();
      if (alive.ok()) return;
      if (zk::ErrorCodeOf(alive) == zk::ErrorCode::SESSIONEXPIRED ||
          std::chrono::steady_clock::now() > deadline) {
        lost_session = writer_->session_id();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ConnectWriter();
    if (lost_session != 0) {
      ASSERT_NO_FATAL_FAILURE(WaitUntilSessionGone(lost_session));
    }
  }

  // Waits until no server lists `session` among those holding ephemerals
  // (the `dump` command).
  static void WaitUntilSessionGone(int64_t session) {
    char id[32];
    std::snprintf(id, sizeof id, "0x%llx:", static_cast<unsigned long long>(session));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (true) {
      bool listed = false;
      for (int i = 0; i < cluster_->size(); ++i) {
        if (!cluster_->running(i)) continue;
        Result<std::string> dump = cluster_->FourLetterWord(i, "dump");
        listed = listed || !dump.ok() || dump->find(id) != std::string::npos;
      }
      if (!listed) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the lost writer session " << id << " still holds ephemerals";
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  static void StopCluster() {
    delete writer_;
    writer_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the shared ZooKeeper fixture failed to start; see above";
    ASSERT_NO_FATAL_FAILURE(EnsureWriterSession());
  }

  // Shows the watchers' stderr when the test failed; removes the test's
  // files when it passed.
  void TearDown() override {
    for (const fs::path& dir : dirs_) {
      if (HasFailure()) {
        for (const auto& entry : fs::directory_iterator(dir)) {
          if (entry.path().extension() != ".err") continue;
          std::ifstream log(entry.path());
          std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
          std::printf("--- %s:\n%s\n", entry.path().c_str(), text.c_str());
        }
      } else {
        fs::remove_all(dir);
      }
    }
  }

  fs::path TempDir(const std::string& name) {
    fs::path dir =
        fs::temp_directory_path() / ("zkarrow-watch-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    dirs_.push_back(dir);
    return dir;
  }

  static void MustCreate(const std::string& path, const std::string& data,
                         std::vector<zk::Acl> acl = zk::OpenAclUnsafe()) {
    auto created = writer_->Create(path, data, std::move(acl)).get();
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // `root` and `children` children (n0, n1, ...) of `data_bytes` bytes each,
  // created pipelined: a tree whose initial read takes a while, or whose
  // rows fill a pipe several times.
  static void MustCreateWithChildren(const std::string& root, int children, size_t data_bytes) {
    ASSERT_NO_FATAL_FAILURE(MustCreate(root, "r"));
    const std::string data(data_bytes, 'x');
    std::vector<std::future<Result<zk::CreateResult>>> created;
    for (int i = 0; i < children; ++i) {
      created.push_back(
          writer_->Create(root + "/n" + std::to_string(i), data, zk::OpenAclUnsafe()));
    }
    for (auto& done : created) {
      auto result = done.get();
      ASSERT_TRUE(result.ok()) << result.status().ToString();
    }
  }

  std::vector<std::string> WatchArgs(const std::string& root, const std::string& out) {
    return {"--zk", cluster_->ConnectString(), "--path", root, "-o", out, "--flush-ms", "50"};
  }

  // Waits until the watcher has written the row of a node created now,
  // i.e. it has caught up with everything before it.
  void WaitUntilCaughtUp(const std::function<std::vector<fs::path>()>& files,
                         const std::string& root, const std::string& tag) {
    const std::string path = root + "/sentinel-" + tag;
    MustCreate(path, tag);
    Status seen = testing::WaitForRow(files, [&](const nlohmann::json& row) {
      return row["path"] == path && row["data_hex"] == Hex(tag);
    });
    ASSERT_TRUE(seen.ok()) << seen.ToString() << " (" << path << ")";
  }

  // The replay of `rows` equals a fresh snapshot and kazoo's dump of `root`
  // (read without credentials, as the watcher), is a tree at every row, and
  // rows go forward in time.
  void ExpectReplayEqualsTree(const std::vector<nlohmann::json>& rows, const std::string& root,
                              size_t min_znodes = 50) {
    EXPECT_EQ(CheckTreeReplay(rows, root), "");
    EXPECT_EQ(CheckOrder(rows), "");
    std::vector<nlohmann::json> replayed = Replay(rows);
    std::printf(
        "%s: %zu rows (%lld initial, %lld created, %lld changed, %lld deleted, %lld "
        "resync), %zu znodes replayed\n",
        root.c_str(), rows.size(), static_cast<long long>(CountEvent(rows, "initial")),
        static_cast<long long>(CountEvent(rows, "created")),
        static_cast<long long>(CountEvent(rows, "changed")),
        static_cast<long long>(CountEvent(rows, "deleted")),
        static_cast<long long>(CountEvent(rows, "resync")), replayed.size());

    // Read from the server the writer is connected to: it has applied every
    // write the test made (another follower may still lag a little).
    const std::string server = writer_->connected_server();
    ASSERT_FALSE(server.empty());
    fs::path snapshot = TempDir("snapshot") / "tree.arrow";
    auto ran = RunCommand(std::string(ZKARROW_BINARY) + " snapshot --zk " + server + " --path " +
                          root + " -o " + snapshot.string() + " 2>&1");
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    auto expected = ReadZnodeRows(snapshot);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    ASSERT_GE(expected->size(), min_znodes);
    EXPECT_EQ(DiffRows(*expected, replayed), "");

    auto dump = RunCommand("/usr/bin/python3 " ZKARROW_SOURCE_DIR "/tests/support/kazoo_dump.py " +
                           server + " " + root);
    ASSERT_TRUE(dump.ok()) << dump.status().ToString();
    EXPECT_EQ(DiffRows(ParseJsonLines(*dump), replayed), "");
  }

  std::vector<fs::path> dirs_;
  static zkserver::ZooKeeperCluster* cluster_;
  static zk::Client* writer_;  // authenticated as kUser; owns the churn's ephemerals
};

zkserver::ZooKeeperCluster* WatchTestBase::cluster_ = nullptr;
zk::Client* WatchTestBase::writer_ = nullptr;

class WatchStandaloneTest : public WatchTestBase {
 protected:
  static void SetUpTestSuite() { StartCluster(1); }
  static void TearDownTestSuite() { StopCluster(); }
};

class WatchEnsembleTest : public WatchTestBase {
 protected:
  static void SetUpTestSuite() { StartCluster(3); }
  static void TearDownTestSuite() { StopCluster(); }
};

TEST_F(WatchStandaloneTest, ChurnReplayEqualsSnapshotAndKazoo) {
  const std::string root = "/churn";
  MustCreate(root, "root");
  // A subtree the watcher may not read: a NOAUTH row, nothing below it.
  MustCreate(root + "/secret", "hidden", zk::CreatorAllAcl());
  MustCreate(root + "/secret/inner", "hidden too", zk::CreatorAllAcl());
  MustCreate(root + "/to-null", "x");
  testing::Churn(*writer_, root, 1, 500);  // an initial state worth reading

  fs::path dir = TempDir("churn");
  fs::path single = dir / "single.arrows";
  auto plain = ZkarrowProcess::Start("watch", WatchArgs(root, single.string()), dir / "plain.err");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  std::vector<std::string> rotating_args = WatchArgs(root, (dir / "part-%05d.arrows").string());
  rotating_args.insert(rotating_args.end(), {"--rotate-rows", "150"});
  auto rotating = ZkarrowProcess::Start("watch", rotating_args, dir / "rotating.err");
  ASSERT_TRUE(rotating.ok()) << rotating.status().ToString();
  auto single_files = [&] { return std::vector<fs::path>{single}; };
  auto rotated_files = [&] { return FilesIn(dir, "part-"); };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(single_files, root, "start"));
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(rotated_files, root, "start2"));

  testing::ChurnStats churn = testing::Churn(*writer_, root, 2, 3000);
  EXPECT_GT(churn.succeeded, 1000);
  // Changes below the NOAUTH node reach no row.
  ASSERT_TRUE(writer_->SetData(root + "/secret/inner", "changed").get().ok());
  MustCreate(root + "/secret/inner/deeper", "x", zk::CreatorAllAcl());
  // ...but a new child of the NOAUTH node changes that node's own stat
  // (num_children, cversion, pzxid), which `snapshot` shows.
  MustCreate(root + "/secret/second", "x", zk::CreatorAllAcl());
  // ZooKeeper's null data, created and set by kazoo: null data cells
  // without an error (kazoo's dump below says None for both).
  const std::string null_data = "/usr/bin/python3 " ZKARROW_SOURCE_DIR
                                "/tests/support/kazoo_null_data.py " +
                                cluster_->ConnectString();
  ASSERT_TRUE(RunCommand(null_data + " create " + root + "/null").ok());
  ASSERT_TRUE(RunCommand(null_data + " set " + root + "/to-null").ok());
  using Files = std::function<std::vector<fs::path>()>;
  for (const Files& files : std::vector<Files>{single_files, rotated_files}) {
    Status polled = testing::WaitForRow(files, [&](const nlohmann::json& row) {
      return row["path"] == root + "/secret" && row.value("num_children", 0) == 2;
    });
    ASSERT_TRUE(polled.ok()) << polled.ToString() << ": the NOAUTH node's new stat";
  }
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(single_files, root, "end"));
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(rotated_files, root, "end2"));

  auto plain_exit = (*plain)->Stop();
  ASSERT_TRUE(plain_exit.ok()) << plain_exit.status().ToString();
  EXPECT_EQ(*plain_exit, 0);
  auto rotating_exit = (*rotating)->Stop();
  ASSERT_TRUE(rotating_exit.ok()) << rotating_exit.status().ToString();
  EXPECT_EQ(*rotating_exit, 0);

  auto rows = ReadChangeRows(single_files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GT(CountEvent(*rows, "initial"), 100);
  EXPECT_GT(CountEvent(*rows, "created"), 500);
  EXPECT_GT(CountEvent(*rows, "changed"), 500);
  EXPECT_GT(CountEvent(*rows, "deleted"), 200);
  EXPECT_EQ(CountEvent(*rows, "resync"), 0);
  for (const nlohmann::json& row : *rows) {
    EXPECT_FALSE(row["path"].get<std::string>().starts_with(root + "/secret/"))
        << row.dump() << " is below a node the watcher cannot read";
  }
  std::map<std::string, nlohmann::json> last;
  for (const nlohmann::json& row : *rows) last[row["path"]] = row;
  for (const std::string& path : {root + "/null", root + "/to-null"}) {
    EXPECT_TRUE(last[path]["data_hex"].is_null() && last[path]["error"].is_null())
        << last[path].dump();
  }
  EXPECT_EQ(last[root + "/null"]["event"], "created");
  EXPECT_EQ(last[root + "/to-null"]["event"], "changed");
  ExpectReplayEqualsTree(*rows, root);

  // Rotation: every file a complete stream; together they replay the same.
  std::vector<fs::path> parts = rotated_files();
  EXPECT_GT(parts.size(), 5u);
  auto rotated_rows = ReadChangeRows(parts);
  ASSERT_TRUE(rotated_rows.ok()) << rotated_rows.status().ToString();
  EXPECT_EQ(DiffRows(Replay(*rows), Replay(*rotated_rows)), "");
}

TEST_F(WatchStandaloneTest, StandaloneServerRestartedMidChurn) {
  const std::string root = "/restart";
  MustCreate(root, "root");
  testing::Churn(*writer_, root, 3, 300);
  fs::path dir = TempDir("restart");
  fs::path out = dir / "changes.arrows";
  auto watch = ZkarrowProcess::Start("watch", WatchArgs(root, out.string()), dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));

  std::atomic<bool> stop{false};
  std::thread churn([&] { testing::Churn(*writer_, root, 4, 1500, &stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Status stopped = cluster_->Stop(0);
  Status restarted = cluster_->Restart(0);
  churn.join();
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_NO_FATAL_FAILURE(EnsureWriterSession());
  testing::Churn(*writer_, root, 5, 500);
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));

  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0);
  auto rows = ReadChangeRows(files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GE(CountEvent(*rows, "resync"), 1) << "the restart went unnoticed";
  ExpectReplayEqualsTree(*rows, root);
}

TEST_F(WatchStandaloneTest, SessionExpiredWhileStoppedMidChurn) {
  const std::string root = "/expiry";
  MustCreate(root, "root");
  testing::Churn(*writer_, root, 6, 500);
  fs::path dir = TempDir("expiry");
  fs::path out = dir / "changes.arrows";
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--session-timeout-ms", "4000"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));

  // Stopped past its session timeout, the watcher's session expires and its
  // watch is gone; the changes meanwhile (deletions of nodes it reported
  // included) must still reach the stream.
  ASSERT_EQ(::kill((*watch)->pid(), SIGSTOP), 0);
  testing::Churn(*writer_, root, 7, 1000);
  std::this_thread::sleep_for(std::chrono::seconds(12));  // 3 x the session timeout
  testing::Churn(*writer_, root, 8, 200);
  ASSERT_EQ(::kill((*watch)->pid(), SIGCONT), 0);
  testing::Churn(*writer_, root, 9, 500);
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));

  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0);
  auto rows = ReadChangeRows(files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GE(CountEvent(*rows, "resync"), 1) << "the expiry went unnoticed";
  ExpectReplayEqualsTree(*rows, root);
}

TEST_F(WatchEnsembleTest, ConnectedServerKilledMidChurn) {
  const std::string root = "/ensemble";
  MustCreate(root, "root");
  testing::Churn(*writer_, root, 10, 500);
  fs::path dir = TempDir("ensemble");
  fs::path out = dir / "changes.arrows";
  auto watch = ZkarrowProcess::Start("watch", WatchArgs(root, out.string()), dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));

  std::vector<int> ports;
  for (int i = 0; i < cluster_->size(); ++i) ports.push_back(cluster_->client_port(i));
  int port = testing::ConnectedPort((*watch)->pid(), ports);
  ASSERT_NE(port, -1) << "cannot tell which server the watcher is connected to";
  int server = static_cast<int>(std::find(ports.begin(), ports.end(), port) - ports.begin());

  std::atomic<bool> stop{false};
  std::thread churn([&] { testing::Churn(*writer_, root, 11, 2000, &stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Status killed = cluster_->Kill(server);
  churn.join();
  ASSERT_TRUE(killed.ok()) << killed.ToString();
  testing::Churn(*writer_, root, 12, 300);
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));

  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0);
  auto rows = ReadChangeRows(files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GE(CountEvent(*rows, "resync"), 1) << "the failover went unnoticed";
  ExpectReplayEqualsTree(*rows, root);
  Status restarted = cluster_->Restart(server);
  EXPECT_TRUE(restarted.ok()) << restarted.ToString();
}

TEST_F(WatchStandaloneTest, PeriodicResyncShowsUnreadableNodesUnderReadableParents) {
  // The server sends no event about a node this session cannot read; only a
  // resync finds it (and its parent's new child count).
  const std::string root = "/unreadable";
  MustCreate(root, "r");
  MustCreate(root + "/open", "o");
  fs::path dir = TempDir("unreadable");
  fs::path out = dir / "changes.arrows";
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--resync-seconds", "1"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));
  MustCreate(root + "/open/closed", "c", zk::CreatorAllAcl());
  Status seen = testing::WaitForRow(files, [&](const nlohmann::json& row) {
    return row["path"] == root + "/open/closed" && row["error"] == "NOAUTH";
  });
  ASSERT_TRUE(seen.ok()) << seen.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));
  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  // The SIGTERM may land in one of the resyncs, which run every second: the
  // run then ends cut short (exit 1, no end-of-stream marker). The tree was
  // quiet, so the rows before the cut still replay to it.
  const bool cut_short = *exit_code == 1;
  if (cut_short) {
    const std::string message = ReadText(dir / "watch.err");
    EXPECT_NE(message.find("stopped during the resync"), std::string::npos) << message;
  } else {
    EXPECT_EQ(*exit_code, 0);
  }
  auto rows = ReadChangeRows(files(), /*partial=*/cut_short);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GE(CountEvent(*rows, "resync"), 1);
  ExpectReplayEqualsTree(*rows, root, /*min_znodes=*/3);
}

TEST_F(WatchStandaloneTest, NodesChangingReadabilityShowAndHideTheirChildren) {
  // ACL changes fire no watch: the NOAUTH node's poll finds it readable, and
  // a child's event re-reads it once it is unreadable again. Either way its
  // subtree enters or leaves the stream with it.
  const std::string root = "/readability";
  MustCreate(root, "r");
  MustCreate(root + "/locked", "l", zk::CreatorAllAcl());
  MustCreate(root + "/locked/inner", "i");
  fs::path dir = TempDir("readability");
  fs::path out = dir / "changes.arrows";
  auto watch = ZkarrowProcess::Start("watch", WatchArgs(root, out.string()), dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));

  auto opened = writer_->SetAcl(root + "/locked", zk::OpenAclUnsafe(), -1).get();
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Status shown = testing::WaitForRow(files, [&](const nlohmann::json& row) {
    return row["path"] == root + "/locked/inner" && row["event"] != "deleted";
  });
  ASSERT_TRUE(shown.ok()) << shown.ToString() << ": the child of a node become readable";

  auto closed = writer_->SetAcl(root + "/locked", zk::CreatorAllAcl(), -1).get();
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  MustCreate(root + "/locked/second", "s");  // its event re-reads /locked
  Status hidden = testing::WaitForRow(files, [&](const nlohmann::json& row) {
    return row["path"] == root + "/locked/inner" && row["event"] == "deleted";
  });
  ASSERT_TRUE(hidden.ok()) << hidden.ToString() << ": the child of a node become unreadable";
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));

  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0);
  auto rows = ReadChangeRows(files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ExpectReplayEqualsTree(*rows, root, /*min_znodes=*/3);
}

// Replays the rows of a watch on `root` into path -> mzxid, noting the
// first row that does not apply to a tree (CheckTreeReplay's rule) or goes
// back in time for its path (CheckOrder's); holds the Run() thread inside
// Append on the row of each of `block_paths` in turn (each armed once the
// one before it was released), so events pile up or the tree changes
// meanwhile.
class BlockingReplaySink final : public watch::ChangeSink {
 public:
  explicit BlockingReplaySink(std::string root, std::vector<std::string> block_paths = {})
      : root_(std::move(root)), block_paths_(std::move(block_paths)) {}

  Status Start(int64_t) override { return Status::Ok(); }
  Status Append(const watch::ChangeRow& row) override {
    std::unique_lock lock(mutex_);
    const std::string path(row.record.path);
    // A path's rows never go back in time (CheckOrder's rule).
    if (row.event != watch::ChangeEvent::kResync) {
      int64_t& last = last_zxid_[path];
      if (violation_.empty() && row.zxid < last) {
        violation_ = std::string(watch::ChangeEventName(row.event)) + " " + path + " at zxid " +
                     std::to_string(row.zxid) + " after a row at zxid " + std::to_string(last);
      }
      last = std::max(last, row.zxid);
    }
    if (row.event == watch::ChangeEvent::kDeleted) {
      auto child = tree_.upper_bound(path + "/");
      if (violation_.empty() && child != tree_.end() && child->first.starts_with(path + "/")) {
        violation_ = "deleted " + path + " before its child " + child->first;
      }
      tree_.erase(path);
    } else if (row.event != watch::ChangeEvent::kResync) {
      const auto parent = znodes::PathParent(path);
      if (violation_.empty() && path != root_ && !tree_.contains(std::string(*parent))) {
        violation_ = "put " + path + " without its parent";
      }
      tree_[path] = row.record.stat ? row.record.stat->mzxid : 0;
    }
    cv_.notify_all();
    if (blocks_ < block_paths_.size() && path == block_paths_[blocks_] && !blocked_) {
      blocked_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !blocked_; });
      ++blocks_;
    }
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status Settled(int64_t zxid) override {
    std::lock_guard lock(mutex_);
    settled_ = std::max(settled_, zxid);
    cv_.notify_all();
    return Status::Ok();
  }

  // Waits (bounded) until the watcher said every change up to `zxid` is in
  // (which it says with no resync going on).
  bool WaitForSettled(int64_t zxid) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(90), [&] { return settled_ >= zxid; });
  }
  // Waits (bounded) until `done(tree)` holds.
  bool WaitFor(const std::function<bool(const std::map<std::string, int64_t>&)>& done) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(90), [&] { return done(tree_); });
  }
  bool WaitUntilBlocked() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(90), [&] { return blocked_; });
  }
  void Release() {
    std::lock_guard lock(mutex_);
    blocked_ = false;
    cv_.notify_all();
  }
  std::map<std::string, int64_t> tree() {
    std::lock_guard lock(mutex_);
    return tree_;
  }
  // The first row that did not apply to a tree, or "".
  std::string violation() {
    std::lock_guard lock(mutex_);
    return violation_;
  }

 private:
  const std::string root_;
  const std::vector<std::string> block_paths_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, int64_t> tree_;
  std::map<std::string, int64_t> last_zxid_;  // by path: the zxid of its last row
  std::string violation_;
  int64_t settled_ = 0;  // the highest zxid Settled was called with
  size_t blocks_ = 0;    // blocks released
  bool blocked_ = false;
};

// ZooKeeper's count of packets received, from its `mntr` output.
int64_t PacketsReceived(const zkserver::ZooKeeperCluster& cluster) {
  auto mntr = cluster.FourLetterWord(0, "mntr");
  if (!mntr.ok()) return -1;
  const std::string key = "zk_packets_received\t";
  const size_t at = mntr->find(key);
  return at == std::string::npos ? -1 : std::stoll(mntr->substr(at + key.size()));
}

TEST_F(WatchStandaloneTest, QuietUnreadableNodesArePolledLessAndLessOftenYetChangesShow) {
  // Servers send no event for a node the session cannot read, so its stat
  // is polled; on a quiet tree the polls thin out (each is a read and an
  // exists per node), and a change is still found by the next one.
  const std::string root = "/unreadable-polls";
  MustCreate(root, "r");
  for (int i = 0; i < 10; ++i) {
    MustCreate(root + "/locked-" + std::to_string(i), "l", zk::CreatorAllAcl());
  }
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  options.flush_interval = std::chrono::milliseconds(20);
  options.unreadable_poll_max = std::chrono::milliseconds(400);
  const std::string watched = root + "/locked-3";
  BlockingReplaySink sink(root);
  watch::TreeWatcher watcher(options);
  std::atomic<bool> stop{false};
  Status ran = Status::Ok();
  std::thread runner([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  const bool started = sink.WaitFor([&](const auto& tree) { return tree.contains(watched); });

  // Two seconds of a quiet tree: polled every 20 ms, the ten nodes would
  // cost the server about 100 polls x 11 requests; doubling up to 400 ms,
  // about 10 polls.
  const int64_t before = PacketsReceived(*cluster_);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int64_t after = PacketsReceived(*cluster_);

  // A change the server does not report reaches the stream with a poll.
  auto changed = writer_->SetData(watched, "changed", -1).get();
  const int64_t mzxid = changed.ok() ? changed->mzxid : -1;
  const bool shown = sink.WaitFor([&](const auto& tree) {
    auto it = tree.find(watched);
    return it != tree.end() && it->second == mzxid;
  });
  stop = true;
  runner.join();

  ASSERT_TRUE(started) << "no initial row of " << watched;
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(sink.violation(), "");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  ASSERT_GE(before, 0) << "no zk_packets_received in mntr";
  ASSERT_GE(after, 0) << "no zk_packets_received in mntr";
  EXPECT_LT(after - before, 400) << "requests to the server in 2 s of a quiet tree";
  EXPECT_TRUE(shown) << "the change of an unreadable node never reached the stream";
}

TEST_F(WatchStandaloneTest, BacklogPastTheLimitIsReplacedByAResync) {
  const std::string root = "/backlog";
  MustCreate(root, "r");
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  options.max_backlog = 10;
  options.flush_interval = std::chrono::milliseconds(20);
  BlockingReplaySink sink(root, {root + "/block"});
  watch::TreeWatcher watcher(options);
  std::atomic<bool> stop{false};
  Status ran = Status::Ok();
  std::thread runner([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  auto has = [](const std::string& path) {
    return [path](const std::map<std::string, int64_t>& tree) { return tree.contains(path); };
  };
  // The initial row of the root says the watch is in place.
  bool started = sink.WaitFor(has(root));
  bool blocked = false;
  if (started) {
    MustCreate(root + "/block", "b");
    blocked = sink.WaitUntilBlocked();
  }
  // 100 creates (200 changed paths with their parent) while the engine is
  // held: far past the backlog limit of 10.
  constexpr int kNodes = 100;
  if (blocked) {
    std::vector<std::future<Result<zk::CreateResult>>> created;
    for (int i = 0; i < kNodes; ++i) {
      created.push_back(writer_->Create(root + "/n" + std::to_string(i), "x", zk::OpenAclUnsafe()));
    }
    for (auto& done : created) EXPECT_TRUE(done.get().ok());
  }
  sink.Release();
  // Every node reported: a resync's walk reports nodes in no set order, so
  // the sentinel alone does not say the rest are in.
  bool caught_up = false;
  if (blocked) {
    MustCreate(root + "/sentinel", "s");
    caught_up = sink.WaitFor([&](const std::map<std::string, int64_t>& tree) {
      return tree.size() == static_cast<size_t>(kNodes + 3);
    });
  }
  // The resync may report the last nodes before its walk ends: stopped then,
  // the run ends cut short. Its end is when the watcher settles past them.
  bool settled = false;
  if (caught_up) {
    auto sentinel = writer_->Exists(root + "/sentinel").get();
    ASSERT_TRUE(sentinel.ok() && sentinel->has_value()) << sentinel.status().ToString();
    settled = sink.WaitForSettled((*sentinel)->mzxid);
  }
  stop = true;
  runner.join();
  ASSERT_TRUE(started) << "no initial row";
  ASSERT_TRUE(blocked) << "the sink never saw " << root << "/block";
  ASSERT_TRUE(caught_up) << "the watcher reported " << sink.tree().size() << " of " << kNodes + 3
                         << " nodes";
  ASSERT_TRUE(settled) << "the watcher never settled past the sentinel";
  EXPECT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(sink.violation(), "");
  watch::WatchStats stats = watcher.stats();
  EXPECT_GE(stats.backlog_drops, 1);
  EXPECT_GE(stats.resyncs, 1);
  // Nothing lost: every node and its final stat, as the server has them.
  std::map<std::string, int64_t> tree = sink.tree();
  EXPECT_EQ(tree.size(), static_cast<size_t>(kNodes + 3))
      << stats.rows << " rows, " << stats.resyncs << " resyncs, " << stats.backlog_drops
      << " backlog drops, " << stats.events << " events";
  for (int i = 0; i < kNodes; ++i) {
    const std::string path = root + "/n" + std::to_string(i);
    auto stat = writer_->Exists(path).get();
    ASSERT_TRUE(stat.ok() && stat->has_value()) << path;
    EXPECT_EQ(tree[path], (*stat)->mzxid) << path;
  }
}

TEST_F(WatchStandaloneTest, NodeRecreatedBetweenThePassReadsOfItAndItsChildComesBeforeTheChild) {
  // A pass re-reads its paths in batches, parents first. When a node is
  // deleted and created again, with a new child, after the pass read it
  // and before it read the child, the pass reports the new child under
  // the node's old incarnation; the next pass finds the node new. Its
  // deletion must then take the new child with it first, and the child
  // come back after the new node.
  const std::string root = "/recreated";
  const std::string node = root + "/node";
  MustCreate(root, "r");
  MustCreate(node, "old");
  // Names that sort before "child": the pass reads them between the node
  // and the child, so the child's batch is sent after the node's row.
  const std::vector<std::string> between = {node + "/a1", node + "/a2", node + "/a3", node + "/a4"};
  const std::string child = node + "/child";
  for (const std::string& path : between) MustCreate(path, "a");
  MustCreate(child, "old");
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  options.nodes_per_batch = 1;  // a batch per path: reads at different times
  options.flush_interval = std::chrono::milliseconds(20);
  BlockingReplaySink sink(root, {root + "/hold", node});
  watch::TreeWatcher watcher(options);
  std::atomic<bool> stop{false};
  Status ran = Status::Ok();
  std::thread runner([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  const bool started = sink.WaitFor([&](const auto& tree) { return tree.contains(child); });
  bool held = false, held_at_node = false;
  if (started) {
    // Held on /hold's row, the watcher collects one pass of six paths.
    MustCreate(root + "/hold", "h");
    held = sink.WaitUntilBlocked();
    for (const std::string& path : between) EXPECT_TRUE(writer_->SetData(path, "b").get().ok());
    EXPECT_TRUE(writer_->SetData(node, "changed").get().ok());
    EXPECT_TRUE(writer_->SetData(child, "changed").get().ok());
    sink.Release();
    // Held on the node's row of that pass: the children are not read yet.
    held_at_node = sink.WaitUntilBlocked();
    for (const std::string& path : between) EXPECT_TRUE(writer_->Delete(path).get().ok());
    EXPECT_TRUE(writer_->Delete(child).get().ok());
    EXPECT_TRUE(writer_->Delete(node).get().ok());
    MustCreate(node, "new");
    MustCreate(child, "new");
    sink.Release();
  }
  // Caught up: the new child's row after the node's own new one.
  bool caught_up = false;
  if (held_at_node) {
    MustCreate(root + "/sentinel", "s");
    caught_up = sink.WaitFor([&](const std::map<std::string, int64_t>& tree) {
      return tree.contains(root + "/sentinel") && tree.contains(child) &&
             !tree.contains(between.front());
    });
  }
  stop = true;
  runner.join();
  ASSERT_TRUE(started) << "no initial row of " << child;
  ASSERT_TRUE(held) << "the sink never saw " << root << "/hold";
  ASSERT_TRUE(held_at_node) << "the sink never saw " << node << " changed";
  ASSERT_TRUE(caught_up) << "the watcher did not catch up";
  EXPECT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(sink.violation(), "");
  // The replay is the tree: the node and the child as ZooKeeper has them.
  std::map<std::string, int64_t> tree = sink.tree();
  for (const std::string& path : {node, child}) {
    auto stat = writer_->Exists(path).get();
    ASSERT_TRUE(stat.ok() && stat->has_value()) << path;
    EXPECT_EQ(tree[path], (*stat)->mzxid) << path;
  }
  EXPECT_EQ(tree.size(), 5u) << "expected the root, hold, sentinel, node and child";
}

TEST_F(WatchStandaloneTest, NodeRecreatedAfterAResyncReadItsParentIsDeletedBeforeItsCreation) {
  // A resync deletes the nodes its walk did not find. One deleted before
  // the walk read its parent and created again after it is not found, and
  // its creation's event is handled after the resync: the deletion's row
  // must come at a zxid before that creation (by the parent's pzxid as
  // the walk read it), not at the walk's end, which is after it.
  const std::string root = "/resync-recreated";
  const std::string parent = root + "/p";
  const std::string node = parent + "/x";
  const std::string sibling = parent + "/y";
  const std::string elsewhere = root + "-elsewhere";
  MustCreate(elsewhere, "e");
  MustCreate(root, "r");
  MustCreate(parent, "p");
  MustCreate(node, "old");
  MustCreate(sibling, "old");
  // Read after the sibling, in batches of their own: the walk still has
  // reads to send (and their replies' zxids to see) once it is let go.
  for (int i = 0; i < 20; ++i) MustCreate(sibling + "/c" + std::to_string(i), "c");
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  options.nodes_per_batch = 1;
  // The three paths the held engine collects (parent, node, sibling) are
  // over this: the next turn is a resync.
  options.max_backlog = 2;
  options.flush_interval = std::chrono::milliseconds(20);
  BlockingReplaySink sink(root, {root + "/hold", sibling});
  watch::TreeWatcher watcher(options);
  std::atomic<bool> stop{false};
  Status ran = Status::Ok();
  std::thread runner([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  const bool started = sink.WaitFor(
      [&](const auto& tree) { return tree.contains(sibling + "/c19") && tree.contains(node); });
  bool held = false, held_in_resync = false;
  if (started) {
    MustCreate(root + "/hold", "h");
    held = sink.WaitUntilBlocked();
    EXPECT_TRUE(writer_->Delete(node).get().ok());
    EXPECT_TRUE(writer_->SetData(sibling, "changed").get().ok());
    sink.Release();
    // Held on the sibling's row of the resync: the walk has read the
    // parent's children, without the node.
    held_in_resync = sink.WaitUntilBlocked();
    MustCreate(node, "new");
    // A write outside the watched tree: the replies to the walk's last
    // reads carry its later zxid.
    EXPECT_TRUE(writer_->SetData(elsewhere, "later").get().ok());
    sink.Release();
  }
  // Its creation's row comes from the pass after the resync (no other
  // change, so no second resync).
  bool caught_up = false;
  int64_t created_mzxid = -1;
  if (held_in_resync) {
    auto stat = writer_->Exists(node).get();
    ASSERT_TRUE(stat.ok() && stat->has_value()) << node;
    created_mzxid = (*stat)->mzxid;
    caught_up = sink.WaitFor([&](const std::map<std::string, int64_t>& tree) {
      auto reported = tree.find(node);
      return reported != tree.end() && reported->second == created_mzxid;
    });
  }
  stop = true;
  runner.join();
  ASSERT_TRUE(started) << "no initial rows";
  ASSERT_TRUE(held) << "the sink never saw " << root << "/hold";
  ASSERT_TRUE(held_in_resync) << "the sink never saw " << sibling << " changed";
  ASSERT_TRUE(caught_up) << "the watcher did not report " << node << " created again";
  EXPECT_TRUE(ran.ok()) << ran.ToString();
  // The resync comes when the held engine takes the deletion's and the
  // sibling's events in one turn (over the limit of 2), which is when the
  // case arises; the order holds either way.
  EXPECT_EQ(sink.violation(), "") << watcher.stats().resyncs << " resyncs";
}

TEST_F(WatchStandaloneTest, SubtreeFoundGoneByAPassCutShortIsStillDeletedChildrenFirst) {
  // A pass reads a deleted parent before its children, so its deletion
  // waits for theirs; a stop that ends the pass halfway (the server gone,
  // the children's reads unanswered) must still delete the rest of the
  // subtree, children first.
  const std::string root = "/cut-pass";
  const std::string parent = root + "/parent";
  std::vector<std::string> children;
  for (int i = 0; i < 10; ++i) children.push_back(parent + "/c" + std::to_string(i));
  for (const std::string& path : {root, root + "/keep", parent}) {
    ASSERT_NO_FATAL_FAILURE(MustCreate(path, "x"));
  }
  for (const std::string& child : children) ASSERT_NO_FATAL_FAILURE(MustCreate(child, "c"));
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  options.nodes_per_batch = 1;  // a batch per path: the pass reads them one after another
  options.flush_interval = std::chrono::milliseconds(20);
  BlockingReplaySink sink(root, {root + "/hold", children.front()});
  watch::TreeWatcher watcher(options);
  std::atomic<bool> stop{false};
  Status ran = Status::Ok();
  std::thread runner([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  const bool started =
      sink.WaitFor([&](const auto& tree) { return tree.contains(children.back()); });
  bool held = false, held_in_pass = false;
  Status stopped = Status::Ok();
  if (started) {
    // Held on /hold's row, the watcher collects one pass: the parent and
    // its ten children, all deleted.
    MustCreate(root + "/hold", "h");
    held = sink.WaitUntilBlocked();
    for (const std::string& child : children) EXPECT_TRUE(writer_->Delete(child).get().ok());
    EXPECT_TRUE(writer_->Delete(parent).get().ok());
    sink.Release();
    // Held on the first child's deletion: the parent is due, most children
    // not read yet. The server goes, and the watcher is stopped.
    held_in_pass = sink.WaitUntilBlocked();
    stopped = cluster_->Stop(0);
    stop = true;
    sink.Release();
  }
  runner.join();
  Status restarted = cluster_->Restart(0);
  ASSERT_TRUE(started) << "no initial row of " << children.back();
  ASSERT_TRUE(held) << "the sink never saw " << root << "/hold";
  ASSERT_TRUE(held_in_pass) << "the sink never saw " << children.front() << " deleted";
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(sink.violation(), "");
  std::map<std::string, int64_t> tree = sink.tree();
  EXPECT_FALSE(tree.contains(parent)) << "the parent's deletion was lost with the pass";
  for (const std::string& child : children) EXPECT_FALSE(tree.contains(child)) << child;
  EXPECT_TRUE(tree.contains(root + "/keep"));
  ASSERT_NO_FATAL_FAILURE(EnsureWriterSession());
}

TEST_F(WatchStandaloneTest, StopDuringTheInitialReadIsQuickAndNotAClean) {
  const std::string root = "/early-stop";
  ASSERT_NO_FATAL_FAILURE(MustCreateWithChildren(root, 300, 1));
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.root = root;
  BlockingReplaySink sink(/*block_path=*/"");
  watch::TreeWatcher watcher(options);
  // A stop (as SIGINT sets it) asked once the first row is in: the walk of
  // the other 300 nodes is not waited for, and the run says that its rows
  // are part of the tree only.
  Status ran = watcher.Run(sink, [&] { return !sink.tree().empty(); });
  EXPECT_EQ(ran.code(), StatusCode::kCancelled) << ran.ToString();
  EXPECT_NE(ran.message().find("stopped during the initial read"), std::string::npos)
      << ran.ToString();
  EXPECT_EQ(watcher.stats().rows, 1);
}

// The exit status of `zkarrow ARGS` (stdout and stderr to /dev/null).
int ExitStatus(const std::string& args) {
  int status = std::system((std::string(ZKARROW_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(WatchStandaloneTest, OptionsShapeTheStream) {
  const std::string root = "/options";
  MustCreate(root, "1");
  MustCreate(root + "/keep", "42");
  MustCreate(root + "/skip", "x");
  MustCreate(root + "/skip/below", "x");
  fs::path dir = TempDir("options");
  fs::path out = dir / "changes.arrows";
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--no-initial", "--typed", "--acl", "--exclude", root + "/skip",
                           "--compression", "zstd"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto files = [&] { return std::vector<fs::path>{out}; };
  // No initial rows to wait for: the schema says the watch is in place.
  Status started = testing::WaitForStreamStart(out);
  ASSERT_TRUE(started.ok()) << started.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));
  ASSERT_TRUE(writer_->SetData(root + "/keep", "43").get().ok());
  ASSERT_TRUE(writer_->SetData(root + "/skip/below", "hidden").get().ok());
  MustCreate(root + "/skip/new", "hidden");
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "end"));
  // SIGINT ends the stream as SIGTERM does.
  ASSERT_EQ(::kill((*watch)->pid(), SIGINT), 0);
  auto exit_code = (*watch)->Stop();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0);

  auto rows = ReadChangeRows(files());
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(CountEvent(*rows, "initial"), 0);
  bool keep_changed = false;
  for (const nlohmann::json& row : *rows) {
    EXPECT_FALSE(row["path"].get<std::string>().starts_with(root + "/skip")) << row.dump();
    if (row["event"] != "deleted" && row["event"] != "resync") {
      EXPECT_TRUE(row["acl_read"].get<bool>()) << row.dump();
    }
    if (row["path"] == root + "/keep" && row["data_hex"] == Hex("43")) keep_changed = true;
  }
  EXPECT_TRUE(keep_changed);

  // The schema: the znode table's columns (typed ones included), then the
  // change columns; the start zxid in the metadata.
  auto input = arrow::FileInputStream::Open(out);
  ASSERT_TRUE(input.ok());
  auto reader = arrow::ipc::StreamReader::Open(std::move(*input));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const arrow::Schema& schema = (*reader)->schema();
  arrow::Schema znode_table = znodes::ZnodeTableSchema(true);
  ASSERT_EQ(schema.fields.size(), znode_table.fields.size() + 3);
  for (size_t i = 0; i < znode_table.fields.size(); ++i) {
    EXPECT_EQ(schema.fields[i].name, znode_table.fields[i].name);
    EXPECT_TRUE(schema.fields[i].type == znode_table.fields[i].type) << schema.fields[i].name;
  }
  EXPECT_EQ(schema.fields[znode_table.fields.size()].name, "event");
  EXPECT_EQ(schema.fields[znode_table.fields.size() + 1].name, "zxid");
  EXPECT_EQ(schema.fields[znode_table.fields.size() + 2].name, "observed_at");
  auto start = std::find_if(schema.metadata.begin(), schema.metadata.end(),
                            [](const auto& kv) { return kv.first == watch::kMetaStartZxid; });
  ASSERT_NE(start, schema.metadata.end());
  EXPECT_GT(std::stoll(start->second), 0);
}

TEST_F(WatchStandaloneTest, ForEndsTheStreamByItself) {
  const std::string root = "/for";
  MustCreate(root, "x");
  MustCreate(root + "/a", "y");
  fs::path dir = TempDir("for");
  fs::path out = dir / "changes.arrows";
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--for", "1"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto exit_code = (*watch)->Wait();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString() << ": --for 1 did not end it";
  EXPECT_EQ(*exit_code, 0);
  auto rows = ReadChangeRows({out});  // fails without the end-of-stream marker
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(CountEvent(*rows, "initial"), 2);

  // Rotation never overwrites: numbering continues after the files there,
  // new files get 0666 less the umask, and a wide number fits the name.
  const std::string pattern = (dir / "wide-%060d.arrows").string();
  auto name = [&](int index) {
    std::string text(pattern.size() + 80, '\0');
    text.resize(std::snprintf(text.data(), text.size(), pattern.c_str(), index));
    return fs::path(text);
  };
  {
    std::ofstream old(name(0));
    old << "an earlier run's file";
  }
  std::vector<std::string> rotating = WatchArgs(root, pattern);
  rotating.insert(rotating.end(), {"--rotate-rows", "1", "--for", "1"});
  auto rotated = ZkarrowProcess::Start("watch", rotating, dir / "rotated.err");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  auto rotated_exit = (*rotated)->Wait();
  ASSERT_TRUE(rotated_exit.ok()) << rotated_exit.status().ToString();
  EXPECT_EQ(*rotated_exit, 0);
  std::ifstream old(name(0));
  std::string old_text((std::istreambuf_iterator<char>(old)), std::istreambuf_iterator<char>());
  EXPECT_EQ(old_text, "an earlier run's file");
  ASSERT_TRUE(fs::exists(name(1))) << name(1);
  ASSERT_TRUE(fs::exists(name(2))) << name(2);
  auto rotated_rows = ReadChangeRows({name(1), name(2)});
  ASSERT_TRUE(rotated_rows.ok()) << rotated_rows.status().ToString();
  EXPECT_EQ(CountEvent(*rotated_rows, "initial"), 2);
  // A file further on (a gap in the numbering) is not overwritten either:
  // the run fails when it reaches it.
  const std::string gapped = (dir / "gap-%d.arrows").string();
  for (const char* taken : {"gap-0.arrows", "gap-2.arrows"}) {
    std::ofstream file(dir / taken);
    file << "taken";
  }
  EXPECT_EQ(ExitStatus("watch --zk " + cluster_->ConnectString() + " --path " + root + " -o " +
                       gapped + " --rotate-rows 1 --for 30"),
            1);
  std::ifstream gap(dir / "gap-2.arrows");
  std::string gap_text((std::istreambuf_iterator<char>(gap)), std::istreambuf_iterator<char>());
  EXPECT_EQ(gap_text, "taken");
  auto gap_rows = ReadChangeRows({dir / "gap-1.arrows"});
  ASSERT_TRUE(gap_rows.ok()) << gap_rows.status().ToString();
  EXPECT_EQ(gap_rows->size(), 1u);

  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  EXPECT_EQ(static_cast<mode_t>(fs::status(name(1)).permissions()), 0666 & ~umask_now);

  // --for far in the future does not end the stream at once.
  std::vector<std::string> long_args = WatchArgs(root, (dir / "long.arrows").string());
  long_args.insert(long_args.end(), {"--for", "1e10"});
  auto long_watch = ZkarrowProcess::Start("watch", long_args, dir / "long.err");
  ASSERT_TRUE(long_watch.ok()) << long_watch.status().ToString();
  ASSERT_NO_FATAL_FAILURE(
      WaitUntilCaughtUp([&] { return std::vector<fs::path>{dir / "long.arrows"}; }, root, "long"));
  EXPECT_TRUE((*long_watch)->Running()) << "--for 1e10 ended the stream early";
  auto long_exit = (*long_watch)->Stop();
  ASSERT_TRUE(long_exit.ok()) << long_exit.status().ToString();
  EXPECT_EQ(*long_exit, 0);
}

// A full rotated file is closed at once, not when the next row comes: a
// reader of finished files gets every row within --rotate-seconds (or once
// --rotate-rows are in) while the tree is quiet, and a quiet tree adds no
// empty files.
TEST_F(WatchStandaloneTest, RotatedFilesAreClosedWhileTheTreeIsQuiet) {
  fs::path dir = TempDir("rotate-quiet");
  // ReadChangeRows fails on a file without its end-of-stream marker.
  auto wait_complete = [](const fs::path& file) -> Result<std::vector<nlohmann::json>> {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    Result<std::vector<nlohmann::json>> rows = Status::Timeout("not read");
    while (std::chrono::steady_clock::now() < deadline) {
      rows = ReadChangeRows({file});
      if (rows.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rows;
  };
  int round = 0;
  for (const std::string option : {"--rotate-seconds", "--rotate-rows"}) {
    SCOPED_TRACE(option);
    // Two nodes: the initial rows fill a file of --rotate-rows 2.
    const std::string root = "/rotate-quiet" + std::to_string(round);
    MustCreate(root, "x");
    MustCreate(root + "/a", "y");
    const std::string prefix = "quiet" + std::to_string(round) + "-";
    const fs::path first = dir / (prefix + "0.arrows");
    const fs::path second = dir / (prefix + "1.arrows");
    std::vector<std::string> args = WatchArgs(root, (dir / (prefix + "%d.arrows")).string());
    args.insert(args.end(), {option, option == "--rotate-rows" ? "2" : "1"});
    auto watch = ZkarrowProcess::Start("watch", args, dir / (prefix + "watch.err"));
    ASSERT_TRUE(watch.ok()) << watch.status().ToString();
    // The initial rows, then nothing: the first file is complete anyway.
    auto initial = wait_complete(first);
    ASSERT_TRUE(initial.ok()) << initial.status().ToString()
                              << ": the full first file was not closed while the tree was quiet";
    EXPECT_EQ(CountEvent(*initial, "initial"), 2);
    EXPECT_TRUE((*watch)->Running());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_FALSE(fs::exists(second)) << "a quiet tree started a new file";
    // The next change starts the next file, which is closed in turn.
    MustCreate(root + "/b", "z");
    auto changed = wait_complete(second);
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_EQ(CountEvent(*changed, "created"), 1);
    EXPECT_TRUE((*watch)->Running());
    auto exit_code = (*watch)->Stop();
    ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
    EXPECT_EQ(*exit_code, 0);
    EXPECT_EQ(FilesIn(dir, prefix).size(), 3u);  // two streams and the stderr log
    ++round;
  }
}

TEST_F(WatchStandaloneTest, UnreachableEnsembleExits3) {
  fs::path dir = TempDir("unreachable");
  // Nothing listens on port 1: every connection attempt is refused.
  const fs::path never = dir / "never.arrows";
  auto refused = ZkarrowProcess::Start("watch", {"--zk", "127.0.0.1:1", "-o", never.string()},
                                       dir / "refused.err");
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  auto refused_exit = (*refused)->Wait(std::chrono::seconds(120));
  ASSERT_TRUE(refused_exit.ok()) << refused_exit.status().ToString();
  EXPECT_EQ(*refused_exit, 3) << ReadText(dir / "refused.err");
  EXPECT_FALSE(fs::exists(never)) << "a watch that never started wrote a stream";

  // The ensemble goes away under a running watch: once its session has
  // expired and no server answers, it fails with 3, and its stream has no
  // end-of-stream marker (a reader tells the failure from a clean stop).
  const std::string root = "/unreachable";
  MustCreate(root, "r");
  MustCreate(root + "/a", "1");
  const fs::path out = dir / "changes.arrows";
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--session-timeout-ms", "4000"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_NO_FATAL_FAILURE(
      WaitUntilCaughtUp([&] { return std::vector<fs::path>{out}; }, root, "start"));
  Status stopped = cluster_->Stop(0);
  auto exit_code = (*watch)->Wait(std::chrono::seconds(120));
  Status restarted = cluster_->Restart(0);
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 3) << ReadText(dir / "watch.err");
  EXPECT_FALSE(ReadChangeRows({out}).ok()) << "a failed run wrote a clean end of stream";
  auto partial = ReadChangeRows({out}, /*partial=*/true);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  // The root, its child and the sentinel: the rows written before the failure.
  EXPECT_EQ(Replay(*partial).size(), 3u);
}

TEST_F(WatchStandaloneTest, StopWhileNoServerAnswersEndsTheRunAtOnce) {
  // --for (as SIGINT/SIGTERM) ends a watch still waiting for its first
  // session, without sitting out the connect timeout (10 s). Nothing was
  // watched: exit 3, the message says it was stopped.
  fs::path dir = TempDir("stop-connecting");
  const fs::path out = dir / "never.arrows";
  auto watch = ZkarrowProcess::Start(
      "watch", {"--zk", "127.0.0.1:1", "-o", out.string(), "--for", "0.2"}, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto exit_code = (*watch)->Wait(std::chrono::seconds(120));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 3);
  const std::string message = ReadText(dir / "watch.err");
  EXPECT_NE(message.find("stopped before the watch on / was in place"), std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(out));

  // A stop while reconnecting after an expiry, with a connect timeout far
  // beyond the test's deadline: Run must return (a clean stop) instead of
  // waiting for a server.
  const std::string root = "/stop-reconnecting";
  MustCreate(root, "r");
  watch::WatchOptions options;
  options.client.connect_string = cluster_->ConnectString();
  options.client.session_timeout = std::chrono::milliseconds(4000);
  options.client.connect_timeout = std::chrono::minutes(30);
  std::atomic<bool> expired{false};
  options.client.session_listener = [&](const zk::SessionEvent& event) {
    if (event.state == zk::SessionState::kExpired) expired = true;
  };
  options.root = root;
  BlockingReplaySink sink(/*block_path=*/"");
  watch::TreeWatcher watcher(options);
  // The stop is asked from the second question after the expiry on: the
  // first may come from the loop before it takes the expiry; the second then
  // comes from inside the reconnection.
  int asked_after_expiry = 0;  // Run()'s thread only
  auto ran = std::async(std::launch::async, [&] {
    return watcher.Run(sink, [&] { return expired.load() && ++asked_after_expiry > 1; });
  });
  const bool started =
      sink.WaitFor([&](const std::map<std::string, int64_t>& tree) { return tree.contains(root); });
  Status stopped = cluster_->Stop(0);
  const bool ended = ran.wait_for(std::chrono::seconds(120)) == std::future_status::ready;
  // The restart also lets a reconnection that ignored the stop finish.
  Status restarted = cluster_->Restart(0);
  Status result = ran.get();
  ASSERT_TRUE(started) << "no initial row";
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_TRUE(expired.load());
  EXPECT_TRUE(ended) << "the stop did not end the reconnection";
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(watcher.stats().sessions, 1) << "a session was granted: the stop came too late";
}

TEST_F(WatchStandaloneTest, StopWhileTheServerDoesNotAnswerEndsTheRunAtOnce) {
  // A server that stops answering (SIGSTOP: the connection stays open)
  // holds a pending re-read until the session expires, which with a 60 s
  // tick takes minutes. The NOAUTH row is polled once per flush interval,
  // so a re-read is pending as soon as the server stops.
  auto cluster =
      zkserver::ZooKeeperCluster::Start({.tick_time_ms = 60000, .config = {{"forceSync", "no"}}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  zk::ClientOptions writer_options;
  writer_options.connect_string = (*cluster)->ConnectString();
  writer_options.auth = {{"digest", kUser}};
  auto writer = zk::Client::Connect(writer_options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::string root = "/quiet";
  ASSERT_TRUE((*writer)->Create(root, "r").get().ok());
  ASSERT_TRUE((*writer)->Create(root + "/closed", "c", zk::CreatorAllAcl()).get().ok());

  watch::WatchOptions options;
  options.client.connect_string = (*cluster)->ConnectString();
  options.root = root;
  options.flush_interval = std::chrono::milliseconds(20);
  BlockingReplaySink sink(/*block_path=*/"");
  watch::TreeWatcher watcher(options);
  std::atomic<bool> frozen{false};
  // The stop is asked from the 20th question after the freeze on: by then
  // (a second at least) a poll of the NOAUTH row has long been sent.
  int asked_while_frozen = 0;  // Run()'s thread only
  auto ran = std::async(std::launch::async, [&] {
    return watcher.Run(sink, [&] { return frozen.load() && ++asked_while_frozen > 20; });
  });
  const bool started = sink.WaitFor(
      [&](const std::map<std::string, int64_t>& tree) { return tree.contains(root + "/closed"); });
  const bool paused = started && ::kill((*cluster)->pid(0), SIGSTOP) == 0;
  frozen = true;
  const bool ended = ran.wait_for(std::chrono::seconds(90)) == std::future_status::ready;
  // Resumed, the server also lets a re-read that ignored the stop finish.
  if (paused) ::kill((*cluster)->pid(0), SIGCONT);
  Status result = ran.get();
  ASSERT_TRUE(started) << "no row for the NOAUTH node";
  ASSERT_TRUE(paused);
  EXPECT_TRUE(ended) << "the stop waited for the server";
  EXPECT_TRUE(result.ok()) << result.ToString();
}

// A pipe for a watch's stdout, both ends close-on-exec (the child gets its
// write end as fd 1 only), closed by the destructor.
struct Pipe {
  Pipe() { pipe_ok = ::pipe2(fds, O_CLOEXEC) == 0; }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  void CloseRead() {
    if (fds[0] >= 0) ::close(std::exchange(fds[0], -1));
  }
  void CloseWrite() {
    if (fds[1] >= 0) ::close(std::exchange(fds[1], -1));
  }
  // Bytes written and not read yet.
  int Queued() const {
    int queued = 0;
    return ::ioctl(fds[0], FIONREAD, &queued) == 0 ? queued : -1;
  }
  // Waits (bounded) until the watch has written `bytes`.
  bool WaitForBytes(int bytes) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Queued() < bytes) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  int fds[2] = {-1, -1};
  bool pipe_ok = false;
};

TEST_F(WatchStandaloneTest, StopWhileTheReaderDoesNotReadEndsTheRun) {
  // 2 MB of initial rows: far more than a pipe holds, so the watch blocks
  // writing stdout to a reader that never reads.
  const std::string root = "/unread";
  ASSERT_NO_FATAL_FAILURE(MustCreateWithChildren(root, 2000, 1024));
  fs::path dir = TempDir("unread");

  // SIGTERM, then --for: either ends the run although stdout takes no bytes,
  // with exit 1 and a message (the stream lacks its end-of-stream marker).
  for (const bool by_for : {false, true}) {
    SCOPED_TRACE(by_for ? "--for" : "SIGTERM");
    Pipe out;
    ASSERT_TRUE(out.pipe_ok);
    std::vector<std::string> args = WatchArgs(root, "-");
    if (by_for) args.insert(args.end(), {"--for", "2"});
    const fs::path err = dir / (by_for ? "for.err" : "term.err");
    auto watch = ZkarrowProcess::Start("watch", args, err, out.fds[1]);
    ASSERT_TRUE(watch.ok()) << watch.status().ToString();
    out.CloseWrite();
    ASSERT_TRUE(out.WaitForBytes(4096)) << "no rows on stdout: " << ReadText(err);
    if (!by_for) {
      ASSERT_EQ(::kill((*watch)->pid(), SIGTERM), 0);
    }
    auto exit_code = (*watch)->Wait(std::chrono::seconds(30));
    ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString() << ": blocked on stdout";
    EXPECT_EQ(*exit_code, 1) << ReadText(err);
    EXPECT_NE(ReadText(err).find("stdout"), std::string::npos) << ReadText(err);
  }

  // A reader that closes the pipe: exit 1 with a message, not death by SIGPIPE.
  Pipe closed;
  ASSERT_TRUE(closed.pipe_ok);
  const fs::path err = dir / "closed.err";
  auto watch = ZkarrowProcess::Start("watch", WatchArgs(root, "-"), err, closed.fds[1]);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  closed.CloseWrite();
  ASSERT_TRUE(closed.WaitForBytes(1)) << "no schema on stdout: " << ReadText(err);
  closed.CloseRead();
  auto exit_code = (*watch)->Wait(std::chrono::seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 1) << ReadText(err);
  EXPECT_NE(ReadText(err).find("the reader closed the pipe"), std::string::npos) << ReadText(err);
}

// A reader that closes the pipe while the tree is quiet: the watch ends
// with exit 1 and says so, without waiting for a change to write. It ran
// on, holding its session, until the next change (on a quiet tree, never).
TEST_F(WatchStandaloneTest, AReaderThatClosesThePipeOfAQuietWatchEndsIt) {
  const std::string root = "/quiet-reader";
  ASSERT_NO_FATAL_FAILURE(MustCreate(root, "r"));
  const fs::path err = TempDir("quiet-reader") / "watch.err";
  Pipe closed;
  ASSERT_TRUE(closed.pipe_ok);
  std::vector<std::string> args = WatchArgs(root, "-");
  args.push_back("--no-initial");
  auto watch = ZkarrowProcess::Start("watch", args, err, closed.fds[1]);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  closed.CloseWrite();
  ASSERT_TRUE(closed.WaitForBytes(1)) << "no schema on stdout: " << ReadText(err);
  closed.CloseRead();
  auto exit_code = (*watch)->Wait(std::chrono::seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString() << ": still watching";
  EXPECT_EQ(*exit_code, 1) << ReadText(err);
  EXPECT_NE(ReadText(err).find("stdout: write: the reader closed the pipe"), std::string::npos)
      << ReadText(err);
}

// A write the output file refuses (a full disk; here the file size limit,
// which fails a write as ENOSPC does) ends the run with exit 1, and the
// file, single or rotated, ends after its last whole message: a stream
// without its end-of-stream marker that readers read to the failure. The
// failed write's part of a message stayed at its end, which readers
// refuse ("stream ends inside a message body").
TEST_F(WatchStandaloneTest, AFailedWriteLeavesTheFileEndingAfterAWholeMessage) {
  const fs::path dir = TempDir("write-fails");
  for (const bool rotating : {false, true}) {
    SCOPED_TRACE(rotating ? "rotating" : "single file");
    const std::string root = rotating ? "/write-fails-rotating" : "/write-fails";
    ASSERT_NO_FATAL_FAILURE(MustCreate(root, "r"));
    const std::string name = rotating ? "rotated" : "single";
    const fs::path out = dir / (rotating ? name + "-%03d.arrows" : name + ".arrows");
    const fs::path written = rotating ? dir / (name + "-000.arrows") : out;
    const fs::path err = dir / (name + ".err");
    // 64 blocks of 512 bytes (dash's unit): the schema and the initial
    // rows fit, a 100 kB node's row does not. SIGXFSZ ignored, as the
    // write then fails with EFBIG instead of killing the process.
    const fs::path script = dir / (name + ".sh");
    std::ofstream(script) << "ulimit -f 64\ntrap '' XFSZ\nexec timeout 120 " << ZKARROW_BINARY
                          << " watch --zk " << cluster_->ConnectString() << " --path " << root
                          << " --flush-ms 50 -o " << out.string()
                          << (rotating ? " --rotate-rows 1000" : "") << " 2>" << err.string()
                          << "\n";
    auto ran = std::async(std::launch::async,
                          [&] { return RunCommand("sh " + script.string() + "; echo exit=$?"); });
    ASSERT_TRUE(testing::WaitForStreamStart(written).ok()) << ReadText(err);
    // The initial row in the file under its name.
    ASSERT_TRUE(testing::WaitForRow([&] { return std::vector<fs::path>{written}; },
                                    [&](const nlohmann::json& row) { return row["path"] == root; })
                    .ok())
        << ReadText(err);
    ASSERT_NO_FATAL_FAILURE(MustCreate(root + "/big", std::string(100'000, 'x')));
    Result<std::string> exit = ran.get();
    ASSERT_TRUE(exit.ok()) << exit.status().ToString();
    EXPECT_NE(exit->find("exit=1"), std::string::npos) << *exit << ReadText(err);
    EXPECT_NE(ReadText(err).find("File too large"), std::string::npos) << ReadText(err);
    Result<std::string> inspected =
        RunCommand(std::string(ZKARROW_BINARY) + " inspect " + written.string() + " 2>&1");
    ASSERT_TRUE(inspected.ok()) << inspected.status().ToString();
    EXPECT_NE(inspected->find("end: no end-of-stream marker"), std::string::npos) << *inspected;
    auto rows = ReadChangeRows({written}, /*partial=*/true);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Replay(*rows).size(), 1u);
  }
}

// A reader that pauses between reads (a consumer busy with each batch) is
// slow, not gone: a stop while the watch waits for it still ends the stream
// cleanly, with every row and the end-of-stream marker.
TEST_F(WatchStandaloneTest, StopWhileTheReaderReadsSlowlyEndsTheStreamCleanly) {
  // 300 KB of initial rows: several pipefuls, written while --for ends the run.
  const std::string root = "/slow-reader";
  constexpr int kNodes = 300;
  ASSERT_NO_FATAL_FAILURE(MustCreateWithChildren(root, kNodes, 1024));
  fs::path dir = TempDir("slow-reader");
  Pipe out;
  ASSERT_TRUE(out.pipe_ok);
  std::vector<std::string> args = WatchArgs(root, "-");
  args.insert(args.end(), {"--for", "1"});
  const fs::path err = dir / "watch.err";
  auto watch = ZkarrowProcess::Start("watch", args, err, out.fds[1]);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  out.CloseWrite();
  // 16 KiB every 200 ms: about 4 s for the whole stream.
  std::string received;
  std::vector<char> buffer(16 << 10);
  for (;;) {
    ssize_t n = ::read(out.fds[0], buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(buffer.data(), static_cast<size_t>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto exit_code = (*watch)->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString();
  EXPECT_EQ(*exit_code, 0) << ReadText(err);
  const fs::path stream = dir / "changes.arrows";
  std::ofstream(stream, std::ios::binary) << received;
  auto rows = ReadChangeRows({stream});  // fails without the end-of-stream marker
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(CountEvent(*rows, "initial"), kNodes + 1);
}

TEST_F(WatchStandaloneTest, StopDuringAResyncEndsTheRunAtOnceAsCutShort) {
  // A server that stops answering (SIGSTOP: the connection stays open, and
  // with a 30 s session the client waits 20 s before it gives up on it)
  // holds the periodic resync's reads: SIGTERM must end the run at once,
  // and its stream, whose last row is the `resync` row, must not end as a
  // clean stop would.
  const std::string root = "/stop-resync";
  MustCreate(root, "r");
  MustCreate(root + "/a", "1");
  fs::path dir = TempDir("stop-resync");
  const fs::path out = dir / "changes.arrows";
  auto files = [&] { return std::vector<fs::path>{out}; };
  std::vector<std::string> args = WatchArgs(root, out.string());
  args.insert(args.end(), {"--resync-seconds", "1", "--session-timeout-ms", "30000"});
  auto watch = ZkarrowProcess::Start("watch", args, dir / "watch.err");
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_NO_FATAL_FAILURE(WaitUntilCaughtUp(files, root, "start"));
  Status resynced = testing::WaitForRow(
      files, [](const nlohmann::json& row) { return row["event"] == "resync"; });
  ASSERT_TRUE(resynced.ok()) << resynced.ToString();
  const pid_t server = cluster_->pid(0);
  ASSERT_EQ(::kill(server, SIGSTOP), 0);
  // The next resync (due a second after the last) starts and waits for the
  // frozen server.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const bool signalled = ::kill((*watch)->pid(), SIGTERM) == 0;
  auto exit_code = (*watch)->Wait(std::chrono::seconds(10));
  ::kill(server, SIGCONT);
  ASSERT_TRUE(signalled);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status().ToString()
                              << ": the stop waited for the server";
  EXPECT_EQ(*exit_code, 1);
  const std::string message = ReadText(dir / "watch.err");
  EXPECT_NE(message.find("stopped during the resync of " + root), std::string::npos) << message;
  EXPECT_FALSE(ReadChangeRows(files()).ok()) << "a stream cut mid-resync ended as a clean stop";
  auto partial = ReadChangeRows(files(), /*partial=*/true);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  ASSERT_FALSE(partial->empty());
  EXPECT_EQ(partial->back()["event"], "resync");
}

TEST(WatchHelpTest, SaysWhatIsGuaranteed) {
  // Changes that pile up on a node before its re-read merge into one row:
  // the help promises every node's latest state, not every change.
  std::FILE* help = ::popen((std::string(ZKARROW_BINARY) + " watch --help").c_str(), "r");
  ASSERT_NE(help, nullptr);
  std::string text;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), help)) text.append(buffer, n);
  EXPECT_EQ(::pclose(help), 0);
  EXPECT_EQ(text.find("gap-free"), std::string::npos) << text;
  EXPECT_EQ(text.find("every change"), std::string::npos) << text;
  EXPECT_NE(text.find("intermediate versions are never seen"), std::string::npos) << text;
}

TEST_F(WatchStandaloneTest, BadArgumentsAndMissingRoot) {
  const std::string zk = "--zk " + cluster_->ConnectString();
  fs::path dir = TempDir("args");
  const std::string pattern = (dir / "c-%05d.arrows").string();
  EXPECT_EQ(ExitStatus("watch -o " + (dir / "x").string()), 2) << "no --zk";
  EXPECT_EQ(
      ExitStatus("watch " + zk + " -o " + (dir / "c-%s.arrows").string() + " --rotate-rows 5"), 2)
      << "%s in a rotation pattern";
  EXPECT_EQ(
      ExitStatus("watch " + zk + " -o " + (dir / "c-%d-%d.arrows").string() + " --rotate-rows 5"),
      2)
      << "two conversions";
  EXPECT_EQ(
      ExitStatus("watch " + zk + " -o " + (dir / "plain.arrows").string() + " --rotate-rows 5"), 2)
      << "no conversion";
  EXPECT_EQ(ExitStatus("watch " + zk + " -o - --rotate-rows 5"), 2) << "stdout cannot rotate";
  EXPECT_EQ(ExitStatus("watch " + zk + " -o " + pattern + " --rotate-rows 5 --rotate-seconds 5"), 2)
      << "two rotation rules";
  EXPECT_EQ(ExitStatus("watch " + zk + " -o - --flush-ms 0"), 2);
  EXPECT_EQ(ExitStatus("watch " + zk + " -o - --for -1"), 2);
  // A missing root fails at once, and leaves an existing -o file as it was
  // (and no temporary file beside it).
  const fs::path failed = dir / "failed.arrows";
  {
    std::ofstream old(failed);
    old << "an earlier run's stream";
  }
  auto missing = ZkarrowProcess::Start(
      "watch",
      {"--zk", cluster_->ConnectString(), "--path", "/no/such/node", "-o", failed.string()},
      dir / "missing.err");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  auto missing_exit = (*missing)->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(missing_exit.ok()) << missing_exit.status().ToString();
  EXPECT_EQ(*missing_exit, 1);
  EXPECT_TRUE(ReadText(failed) == "an earlier run's stream")
      << "a watch that failed at the start replaced its -o file";
  const std::string message = ReadText(dir / "missing.err");
  EXPECT_NE(message.find("watch /no/such/node: NONODE"), std::string::npos) << message;
  EXPECT_EQ(message.find("snapshot"), std::string::npos) << message;
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("failed.arrows.tmp")) << entry.path();
  }
  // A chroot that does not exist is named: watch and snapshot said only that
  // "/" did not exist.
  for (const std::string verb : {"watch", "snapshot"}) {
    Result<std::string> ran = RunCommand(
        std::string(ZKARROW_BINARY) + " " + verb + " --zk " + cluster_->ConnectString() +
        "/no-such-chroot -o " + (dir / (verb + "-chroot.arrows")).string() + " 2>&1; echo exit=$?");
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    EXPECT_NE(ran->find("exit=1"), std::string::npos) << verb << ": " << *ran;
    EXPECT_NE(ran->find("does not exist (/no-such-chroot on the server, with the connect string's "
                        "chroot)"),
              std::string::npos)
        << verb << ": " << *ran;
  }
  EXPECT_EQ(ExitStatus("watch --help"), 0);
}

}  // namespace
}  // namespace zkarrow
