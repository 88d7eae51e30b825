// Session survival across server failures in a 3-node ensemble, detection of
// a server that stops answering, and session expiry when the ensemble is gone
// longer than the session timeout.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "zk/client.h"
#include "zk_test_util.h"

namespace zkarrow::zk {
namespace {

using namespace std::chrono_literals;
using testing::EventLog;
using testing::EventString;

// Records session states for assertions from the test thread.
class SessionLog {
 public:
  SessionListener Listener() {
    return [this](const SessionEvent& event) {
      std::lock_guard lock(mutex_);
      states_.push_back(event.state);
      cv_.notify_all();
    };
  }
  bool WaitFor(SessionState state, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] {
      return std::find(states_.begin(), states_.end(), state) != states_.end();
    });
  }
  int Count(SessionState state) {
    std::lock_guard lock(mutex_);
    return static_cast<int>(std::count(states_.begin(), states_.end(), state));
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<SessionState> states_;
};

int ServerIndex(const zkserver::ZooKeeperCluster& cluster, const std::string& host_port) {
  for (int i = 0; i < cluster.size(); ++i) {
    if (host_port == "127.0.0.1:" + std::to_string(cluster.client_port(i))) return i;
  }
  return -1;
}

// Reads nodes in a loop with up to 32 requests in flight; every read must
// succeed and return the expected data.
class ReadStream {
 public:
  ReadStream(Client& client, std::string root, int nodes)
      : client_(client), root_(std::move(root)), nodes_(nodes) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ReadStream() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int completed() const { return completed_; }
  int failed() const { return failed_; }
  std::string first_failure() {
    std::lock_guard lock(mutex_);
    return first_failure_;
  }

 private:
  void Run() {
    std::atomic<int> outstanding{0};
    for (int i = 0; !stop_; ++i) {
      while (outstanding >= 32 && !stop_) std::this_thread::sleep_for(1ms);
      ++outstanding;
      int node = i % nodes_;
      client_.GetData(root_ + "/n" + std::to_string(node),
                      [this, node, &outstanding](Result<DataResult> data) {
                        if (!data.ok() || data->data != std::to_string(node)) {
                          ++failed_;
                          std::lock_guard lock(mutex_);
                          if (first_failure_.empty()) {
                            first_failure_ = data.ok() ? "wrong data" : data.status().ToString();
                          }
                        }
                        ++completed_;
                        --outstanding;
                      });
    }
    // Every read submitted must complete, one way or the other.
    auto deadline = std::chrono::steady_clock::now() + testing::kWait;
    while (outstanding > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(outstanding, 0);
  }

  Client& client_;
  const std::string root_;
  const int nodes_;
  std::atomic<bool> stop_{false};
  std::atomic<int> completed_{0};
  std::atomic<int> failed_{0};
  std::mutex mutex_;
  std::string first_failure_;
  std::thread thread_;
};

class FailoverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 3, .tick_time_ms = 500});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override { ASSERT_NE(cluster_, nullptr); }

  // Fills `root` with n0..n{count-1} holding their index.
  static void Populate(SyncClient& zk, const std::string& root, int count) {
    ASSERT_TRUE(zk.DeleteRecursive(root).ok());
    ASSERT_TRUE(zk.Create(root).ok());
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(zk.Create(root + "/n" + std::to_string(i), std::to_string(i)).ok());
    }
  }

  // Runs reads and a persistent watch while `fail` breaks the connected
  // server; checks that the session, every read and the watch survive.
  void SurviveFailure(const std::string& root, const std::function<void(int)>& fail,
                      const std::function<void(int)>& heal) {
    SessionLog sessions;
    ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    options.session_timeout = 8000ms;
    options.session_listener = sessions.Listener();
    auto connected = SyncClient::Connect(options);
    ASSERT_TRUE(connected.ok()) << connected.status().ToString();
    SyncClient& zk = *connected;
    constexpr int kNodes = 20;
    Populate(zk, root, kNodes);
    EventLog events;
    ASSERT_TRUE(zk.AddWatch(root, AddWatchMode::kPersistentRecursive, events.Listener()).ok());
    ASSERT_TRUE(zk.SetData(root + "/n0", "0").ok());
    EXPECT_EQ(EventString(events.Next()), "data_changed " + root + "/n0");

    const int64_t session = zk.async().session_id();
    const std::string first_server = zk.async().connected_server();
    const int victim = ServerIndex(*cluster_, first_server);
    ASSERT_GE(victim, 0) << first_server;

    ReadStream reads(zk.async(), root, kNodes);
    std::this_thread::sleep_for(300ms);
    int before = reads.completed();
    fail(victim);
    ASSERT_TRUE(sessions.WaitFor(SessionState::kDisconnected, 10s));
    // Back on another server, same session.
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (
        std::chrono::steady_clock::now() < deadline &&
        (zk.async().connected_server().empty() || zk.async().connected_server() == first_server)) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_NE(zk.async().connected_server(), first_server);
    ASSERT_FALSE(zk.async().connected_server().empty());
    EXPECT_EQ(zk.async().session_id(), session);
    std::this_thread::sleep_for(500ms);
    reads.Stop();
    EXPECT_GT(reads.completed(), before + 10);
    EXPECT_EQ(reads.failed(), 0) << reads.first_failure();

    // The watch was re-registered on the new server.
    ASSERT_TRUE(zk.SetData(root + "/n1", "1").ok());
    EXPECT_EQ(EventString(events.Next()), "data_changed " + root + "/n1");
    ASSERT_TRUE(zk.Create(root + "/after").ok());
    EXPECT_EQ(EventString(events.Next()), "created " + root + "/after");
    EXPECT_EQ(sessions.Count(SessionState::kExpired), 0);
    heal(victim);
  }

  static inline std::unique_ptr<zkserver::ZooKeeperCluster> cluster_;
};

TEST_F(FailoverTest, SessionReadsAndWatchesSurviveAKilledServer) {
  SurviveFailure(
      "/killed", [](int victim) { ASSERT_TRUE(cluster_->Kill(victim).ok()); },
      [](int victim) { ASSERT_TRUE(cluster_->Restart(victim).ok()); });
}

TEST_F(FailoverTest, SilentServerIsLeftForAnother) {
  // SIGSTOP keeps the TCP connection open but nothing answers.
  SurviveFailure(
      "/silent", [](int victim) { ASSERT_EQ(::kill(cluster_->pid(victim), SIGSTOP), 0); },
      [](int victim) {
        ASSERT_EQ(::kill(cluster_->pid(victim), SIGCONT), 0);
        EXPECT_TRUE(cluster_->WaitServing(victim, 30s).ok());
      });
}

TEST_F(FailoverTest, UnansweredWriteFailsAsOutcomeUnknown) {
  ClientOptions options;
  options.connect_string = cluster_->ConnectString();
  options.session_timeout = 8000ms;
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  const int victim = ServerIndex(*cluster_, (*client)->connected_server());
  ASSERT_GE(victim, 0);
  // Stop the server, then write: the request reaches a socket nobody reads.
  ASSERT_EQ(::kill(cluster_->pid(victim), SIGSTOP), 0);
  auto write = (*client)->Create("/unknown-outcome", "x");
  auto read = (*client)->Exists("/");
  ASSERT_EQ(write.wait_for(20s), std::future_status::ready);
  Result<CreateResult> created = write.get();
  EXPECT_EQ(ErrorCodeOf(created.status()), ErrorCode::CONNECTIONLOSS)
      << created.status().ToString();
  EXPECT_NE(created.status().message().find("outcome is unknown"), std::string::npos);
  // The read was resent to another server.
  ASSERT_EQ(read.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(read.get().ok());
  ASSERT_EQ(::kill(cluster_->pid(victim), SIGCONT), 0);
  EXPECT_TRUE(cluster_->WaitServing(victim, 30s).ok());
}

TEST(SessionExpiryTest, EnsembleDownLongerThanTheSessionTimeoutExpiresTheSession) {
  auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 1, .tick_time_ms = 200});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  SessionLog sessions;
  ClientOptions options;
  options.connect_string = (*cluster)->ConnectString();
  options.session_timeout = 2000ms;
  options.session_listener = sessions.Listener();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->negotiated_session_timeout(), 2000ms);
  ASSERT_TRUE((*client)->Create("/eph", "", OpenAclUnsafe(), CreateMode::kEphemeral).get().ok());

  ASSERT_TRUE((*cluster)->Stop(0).ok());
  ASSERT_TRUE(sessions.WaitFor(SessionState::kDisconnected, 5s));
  auto pending = (*client)->GetData("/eph");
  ASSERT_TRUE(sessions.WaitFor(SessionState::kExpired, 10s));
  ASSERT_EQ(pending.wait_for(5s), std::future_status::ready);
  Result<DataResult> data = pending.get();
  EXPECT_EQ(ErrorCodeOf(data.status()), ErrorCode::SESSIONEXPIRED) << data.status().ToString();
  EXPECT_NE(data.status().message().find("/eph"), std::string::npos);

  // Expired stays expired, even once the ensemble is back.
  ASSERT_TRUE((*cluster)->Restart(0).ok());
  EXPECT_EQ(ErrorCodeOf((*client)->Exists("/").get().status()), ErrorCode::SESSIONEXPIRED);
  EXPECT_EQ(sessions.Count(SessionState::kExpired), 1);
  auto fresh = SyncClient::Connect(options);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fresh->Exists("/").ok());
}

}  // namespace
}  // namespace zkarrow::zk
