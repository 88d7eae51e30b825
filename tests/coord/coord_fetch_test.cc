// A Coordinator fetching copies from holders that are not what servers/
// says they are: anyone who can write the coordination root (the default
// --coord-acl lets everyone) can register a server record naming any
// address, and list it as the holder of a version. Against a real
// ZooKeeper, with the holder a plain socket server of the test's own:
// - a holder that answers with headers and then sends nothing: the fetch
//   ends (fetch_stall_timeout), and the loop goes on (a later registration
//   is seen);
// - Stop() during such a fetch returns (the fetch is cancelled) while the
//   holder still keeps the connection open;
// - a holder that sends more than the catalog's size of the version is
//   cut off at that size;
// - with a bearer token, a holder reached without TLS never sees it, and a
//   token without a CA for the peers is refused;
// - the same for `zkarrow get zk://... --token-file`: a server registered
//   with a plain endpoint never sees the token, and a token without
//   --tls-ca is refused;
// - a catalog size below zero or at the largest integer is no way into the
//   replica's memory;
// - Stop() ends a put's wait for copies;
// - without a session, only copies the catalog listed are served;
// - a node that does not parse is logged once per content;
// - a failed fetch is not retried at once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc_test_util.h"
#include "coord/coordinator.h"
#include "coord/layout.h"
#include "serve/dataset_store.h"
#include "transport/http/http_client.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long a test waits for something that must happen before it fails
// (not a timing under test).
constexpr auto kPatience = std::chrono::seconds(60);

bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = Clock::now() + kPatience;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// A holder of the test's own on a loopback port: every connection gets its
// request read, then `reply` written, then the bytes of `drip` one every
// few milliseconds, and is then kept open, silent, until the peer is
// destroyed.
class FakePeer {
 public:
  explicit FakePeer(std::string reply, std::string drip = "")
      : reply_(std::move(reply)), drip_(std::move(drip)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      ADD_FAILURE() << "fake peer: cannot listen";
    }
    port_ = ntohs(address.sin_port);
    if (::pipe2(stop_, O_CLOEXEC) != 0) ADD_FAILURE() << "fake peer: no pipe";
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakePeer() { Close(); }

  // Closes every connection and the listener.
  void Close() {
    if (!thread_.joinable()) return;
    (void)::write(stop_[1], "x", 1);
    thread_.join();
    for (int fd : connections_) ::close(fd);
    ::close(listener_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }

  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The requests received so far (headers), whole.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(connections_.size());
  }

 private:
  void Serve() {
    while (true) {
      pollfd fds[2] = {{stop_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) return;
      if (fds[0].revents) return;
      if (!fds[1].revents) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      {
        std::lock_guard lock(mutex_);
        connections_.push_back(fd);
      }
      // The request's headers (a GET has no body); a client that closes
      // first is simply done.
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd readable[2] = {{stop_[0], POLLIN, 0}, {fd, POLLIN, 0}};
        if (::poll(readable, 2, -1) < 0 || readable[0].revents) return;
        ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      for (size_t sent = 0; sent < reply_.size();) {
        ssize_t n = ::send(fd, reply_.data() + sent, reply_.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      for (char byte : drip_) {
        pollfd stop = {stop_[0], POLLIN, 0};
        if (::poll(&stop, 1, 10) != 0) return;
        if (::send(fd, &byte, 1, MSG_NOSIGNAL) != 1) break;
      }
    }
  }

  const std::string reply_;
  const std::string drip_;
  int listener_ = -1;
  int port_ = 0;
  int stop_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<int> connections_;
  std::thread thread_;
};

// The headers of an Arrow response, the body to follow in chunks.
constexpr std::string_view kArrowHeaders =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/vnd.apache.arrow.stream\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

std::string Chunk(std::string_view bytes) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  return size + std::string(bytes) + "\r\n";
}

// A valid Arrow IPC stream of about 160 KiB.
std::string LargeStream() {
  arrow::Schema schema{{arrow::MakeField("s", arrow::Utf8Type())}, {}};
  std::vector<arrow::RecordBatch> batches;
  for (int i = 0; i < 20; ++i) {
    batches.push_back(arrow::RecordBatch{
        nullptr, 1, {arrow::ipc_test::Strings({std::string(8192, static_cast<char>('a' + i))})}});
  }
  auto stream = arrow::ipc_test::WriteIpc(schema, batches, false);
  EXPECT_TRUE(stream.ok()) << stream.status().ToString();
  if (!stream.ok()) return {};
  return std::string(reinterpret_cast<const char*>((*stream)->data()),
                     static_cast<size_t>((*stream)->size()));
}

// A holder's whole answer: LargeStream() as an Arrow response, chunked.
std::string LargeStreamReply() {
  return std::string(kArrowHeaders) + Chunk(LargeStream()) + Chunk("");
}

class CoordFetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 1, .tick_time_ms = 500});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto client = zk::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    oracle_ = std::move(*client).release();
  }

  static void TearDownTestSuite() {
    delete oracle_;
    oracle_ = nullptr;
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = std::string("/") + info->name();
    dir_ = fs::temp_directory_path() /
           ("zkarrow-coord-fetch-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    auto store = serve::DatasetStore::Open(dir_, {.keep_versions = 0});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  void TearDown() override {
    if (coordinator_) coordinator_->Stop();
    coordinator_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  coord::CoordinatorOptions Options() {
    coord::CoordinatorOptions options;
    options.client.connect_string = cluster_->ConnectString();
    options.root = root_;
    options.refresh_interval = std::chrono::milliseconds(200);
    options.connect = [](transport::ServerUrl::Protocol, const transport::ClientOptions& client)
        -> Result<std::unique_ptr<transport::ArrowClient>> {
      ZKA_ASSIGN_OR_RETURN(auto http, transport::http::HttpClient::Connect(client));
      return std::unique_ptr<transport::ArrowClient>(std::move(http));
    };
    options.log = [this](const std::string& line) {
      std::lock_guard lock(log_mutex_);
      log_.push_back(line);
    };
    return options;
  }

  void Join(coord::CoordinatorOptions options) {
    auto created = coord::Coordinator::Create(std::move(options), *store_);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    coordinator_ = std::move(*created);
    coord::ServerRecord self;
    self.id = "self";
    self.http = "http://127.0.0.1:1";  // never fetched from: it holds nothing
    ASSERT_TRUE(coordinator_->Join(self).ok());
  }

  // Registers server `id` at `url` (as anyone may under an open ACL).
  void Register(const std::string& id, const std::string& url) {
    coord::ServerRecord record;
    record.id = id;
    record.http = url;
    record.started_ms = 1;
    auto created = oracle_
                       ->Create(root_ + "/servers/" + id, coord::ToJson(record),
                                zk::OpenAclUnsafe(), zk::CreateMode::kEphemeral)
                       .get();
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // Lists `holder` in the catalog as holding version 1 of dataset `name`,
  // of `bytes` bytes.
  void Catalog(const std::string& holder, int64_t bytes, const std::string& name = "x") {
    coord::CatalogEntry entry;
    entry.name = name;
    coord::CatalogVersionRecord record;
    record.version = 1;
    record.sha256 = std::string(64, '0');
    record.rows = 1;
    record.bytes = bytes;
    record.created_ms = 1;
    record.holders = {holder};
    entry.versions.push_back(record);
    auto created = oracle_->Create(root_ + "/datasets/" + name, coord::ToJson(entry)).get();
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }

  // Registers `peer` as server "evil", the only holder of x v1 of `bytes`
  // bytes in the catalog.
  void HeldBy(const FakePeer& peer, int64_t bytes) {
    ASSERT_NO_FATAL_FAILURE(Register("evil", peer.Url()));
    ASSERT_NO_FATAL_FAILURE(Catalog("evil", bytes));
  }

  bool Logged(std::string_view text) {
    std::lock_guard lock(log_mutex_);
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  int LoggedLines(std::string_view text) {
    std::lock_guard lock(log_mutex_);
    int count = 0;
    for (const std::string& line : log_) count += line.find(text) != std::string::npos ? 1 : 0;
    return count;
  }

  std::string Log() {
    std::lock_guard lock(log_mutex_);
    std::string text;
    for (const std::string& line : log_) text += line + "\n";
    return text;
  }

  static inline zkserver::ZooKeeperCluster* cluster_ = nullptr;
  static inline zk::Client* oracle_ = nullptr;
  std::string root_;
  fs::path dir_;
  std::unique_ptr<serve::DatasetStore> store_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

TEST_F(CoordFetchTest, AHolderThatStallsIsGivenUpAndTheLoopGoesOn) {
  FakePeer evil{std::string(kArrowHeaders)};
  coord::CoordinatorOptions options = Options();
  options.fetch_stall_timeout = std::chrono::milliseconds(500);
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 1000));
  ASSERT_TRUE(WaitFor([&] { return evil.requests().size() >= 1; }));
  // The stalled fetch ends while the holder keeps its connection open.
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("given up")) << Log();
  // And the loop reads servers/ again.
  ASSERT_NO_FATAL_FAILURE(Register("other", "http://127.0.0.1:2"));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().live_servers == 3; }))
      << "live servers: " << coordinator_->metrics().live_servers;
  EXPECT_FALSE(store_->Get("x", 1).ok());
}

// As a holder that sends nothing: a trickle never makes kFetchProgressBytes.
TEST_F(CoordFetchTest, AHolderThatTricklesIsGivenUp) {
  const std::string body = LargeStream();
  char chunk_header[32];
  std::snprintf(chunk_header, sizeof(chunk_header), "%zx\r\n", body.size());
  FakePeer evil{std::string(kArrowHeaders) + chunk_header, body};
  coord::CoordinatorOptions options = Options();
  options.fetch_stall_timeout = std::chrono::milliseconds(500);
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 1 << 20));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("given up")) << Log();
}

TEST_F(CoordFetchTest, StopCancelsAFetchInProgress) {
  FakePeer evil{std::string(kArrowHeaders)};
  coord::CoordinatorOptions options = Options();
  // Longer than the test waits: only a cancellation ends this fetch.
  options.fetch_stall_timeout = std::chrono::hours(1);
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 1000));
  ASSERT_TRUE(WaitFor([&] { return evil.requests().size() >= 1; }));
  std::promise<void> stopped;
  std::future<void> done = stopped.get_future();
  std::thread stopper([&] {
    coordinator_->Stop();
    stopped.set_value();
  });
  const bool returned = done.wait_for(kPatience) == std::future_status::ready;
  EXPECT_TRUE(returned) << "Stop() waited for the holder";
  // Only now does the holder let go (so that a Stop() that waits returns).
  evil.Close();
  stopper.join();
  EXPECT_EQ(evil.connections(), 1);
}

TEST_F(CoordFetchTest, ACopyLongerThanTheCatalogSaysIsCutOff) {
  // A valid stream of about 160 KiB where the catalog says 10,000 bytes.
  FakePeer evil{LargeStreamReply()};
  ASSERT_NO_FATAL_FAILURE(Join(Options()));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 10'000));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("expected a copy of at most 10000 bytes")) << Log();
  EXPECT_FALSE(store_->Get("x", 1).ok());
}

// A size below zero is no size: the entry is refused, and no fetch starts
// (the size bounds what is read from the holder into every buffer).
TEST_F(CoordFetchTest, ACatalogSizeBelowZeroIsRefusedWithoutAFetch) {
  FakePeer evil{LargeStreamReply()};
  ASSERT_NO_FATAL_FAILURE(Join(Options()));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, -100));
  EXPECT_TRUE(WaitFor([&] { return Logged("\"bytes\": expected at least 0, found -100"); }))
      << Log();
  // A later entry is still read: the loop went on past the refused one.
  ASSERT_NO_FATAL_FAILURE(Catalog("evil", 10'000, "y"));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  for (const std::string& request : evil.requests()) {
    EXPECT_EQ(request.find("/datasets/x"), std::string::npos) << request;
  }
  EXPECT_FALSE(store_->Get("x", 1).ok());
}

// The largest size there is bounds nothing, but is no reason to fail: the
// copy is read whole and then refused for its size.
TEST_F(CoordFetchTest, TheLargestCatalogSizeReadsTheCopyAndRefusesIt) {
  FakePeer evil{LargeStreamReply()};
  ASSERT_NO_FATAL_FAILURE(Join(Options()));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, std::numeric_limits<int64_t>::max()));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("expected a copy of the catalog's 9223372036854775807 bytes")) << Log();
  EXPECT_FALSE(store_->Get("x", 1).ok());
}

// A put waiting for copies no other server will make: Stop() (SIGTERM)
// ends the wait, so that shutdown is not held for the ack timeout, and the
// uploader is told the version was published.
TEST_F(CoordFetchTest, StopEndsAPutWaitingForCopies) {
  coord::CoordinatorOptions options = Options();
  options.replicas = 2;
  options.ack_replicas = 2;
  // Longer than the test waits: only Stop() ends this wait (and a failing
  // test still ends).
  options.ack_timeout = 2 * kPatience;
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  const std::string body = LargeStream();
  arrow::BufferInputStream upload(
      std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  auto prepared = store_->Prepare("x", upload);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  std::future<Result<serve::DatasetInfo>> put = std::async(std::launch::async, [&] {
    return coordinator_->Publish(std::move(*prepared), std::nullopt);
  });
  ASSERT_TRUE(WaitFor([&] {
    auto entry = oracle_->Exists(root_ + "/datasets/x").get();
    return entry.ok() && entry->has_value();
  }));
  coordinator_->Stop();
  ASSERT_EQ(put.wait_for(kPatience), std::future_status::ready) << "Stop() waited for copies";
  Result<serve::DatasetInfo> outcome = put.get();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kUnavailable) << outcome.status().ToString();
  EXPECT_NE(outcome.status().message().find("version 1 is published"), std::string::npos)
      << outcome.status().ToString();
}

// Without a session, a copy named by its version is served only if the
// catalog listed it: the file a publication leaves when its outcome is lost
// with the session (named, then the multi unanswered) is not a version, and
// another server may publish that number with other bytes.
TEST_F(CoordFetchTest, WithoutASessionOnlyCopiesTheCatalogListedAreServed) {
  coord::CoordinatorOptions options = Options();
  options.replicas = 1;
  options.client.session_timeout = std::chrono::milliseconds(2000);
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  const std::string body = LargeStream();
  auto prepare = [&] {
    arrow::BufferInputStream upload(
        std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
    return store_->Prepare("x", upload);
  };
  auto first = prepare();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto published = coordinator_->Publish(std::move(*first), std::nullopt);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    auto listed = coordinator_->List();
    return listed.ok() && listed->size() == 1 && (*listed)[0].info.version == 1;
  }));

  ASSERT_TRUE(cluster_->Stop(0).ok());
  // Restarted however the test ends, for the tests after it.
  struct Restart {
    ~Restart() {
      EXPECT_TRUE(cluster_->Restart(0).ok());
      delete oracle_;
      zk::ClientOptions options;
      options.connect_string = cluster_->ConnectString();
      auto client = zk::Client::Connect(options);
      EXPECT_TRUE(client.ok()) << client.status().ToString();
      oracle_ = client.ok() ? std::move(*client).release() : nullptr;
    }
  } restart;
  ASSERT_TRUE(WaitFor([&] { return !coordinator_->metrics().session; }));
  // What a publication of version 2 leaves when ZooKeeper goes away before
  // its multi is answered.
  auto second = prepare();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_TRUE(store_->CommitVersion(std::move(*second), 2, 1).ok());

  auto unpublished = coordinator_->Resolve("x", 2);
  ASSERT_FALSE(unpublished.ok()) << "served a version the catalog never listed";
  EXPECT_EQ(unpublished.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(unpublished.status().message().find("was not published"), std::string::npos)
      << unpublished.status().ToString();
  auto listed = coordinator_->Resolve("x", 1);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->info.sha256_hex, published->sha256_hex);
}

// A node that does not parse is reported once per content, not on every
// refresh: anyone who may write the root could otherwise fill the log.
TEST_F(CoordFetchTest, AMalformedNodeIsLoggedOncePerContent) {
  ASSERT_NO_FATAL_FAILURE(Join(Options()));
  ASSERT_TRUE(oracle_->Create(root_ + "/datasets/bad", "garbage").get().ok());
  ASSERT_TRUE(
      oracle_
          ->Create(root_ + "/servers/bad", "[1]", zk::OpenAclUnsafe(), zk::CreateMode::kEphemeral)
          .get()
          .ok());
  const std::string dataset = "ignoring " + root_ + "/datasets/bad:";
  const std::string server = "ignoring " + root_ + "/servers/bad:";
  ASSERT_TRUE(WaitFor([&] { return Logged(dataset) && Logged(server); })) << Log();
  // Two refreshes after the report, each seen in what it read.
  ASSERT_NO_FATAL_FAILURE(Register("a", "http://127.0.0.1:1"));
  ASSERT_TRUE(WaitFor([&] { return coordinator_->metrics().live_servers == 2; }));
  ASSERT_NO_FATAL_FAILURE(Register("b", "http://127.0.0.1:2"));
  ASSERT_TRUE(WaitFor([&] { return coordinator_->metrics().live_servers == 3; }));
  EXPECT_EQ(LoggedLines(dataset), 1) << Log();
  EXPECT_EQ(LoggedLines(server), 1) << Log();
  // Other content is reported again.
  ASSERT_TRUE(oracle_->SetData(root_ + "/datasets/bad", "other garbage", -1).get().ok());
  EXPECT_TRUE(WaitFor([&] { return LoggedLines(dataset) == 2; })) << Log();
}

// A fetch that failed (here a copy of another size than the catalog says) is
// not tried again at once: the fetch's own lock node wakes the loop, which
// would otherwise download the copy again and again as fast as it arrives.
TEST_F(CoordFetchTest, AFailedFetchWaitsBeforeTheNext) {
  FakePeer evil{LargeStreamReply()};
  coord::CoordinatorOptions options = Options();
  // Longer than the test runs: only the first fetch can happen.
  options.fetch_retry_delay = std::chrono::hours(1);
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 1 << 20));
  ASSERT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("not kept")) << Log();
  // Two refreshes after the failure, each seen in what it read.
  ASSERT_NO_FATAL_FAILURE(Register("a", "http://127.0.0.1:1"));
  ASSERT_TRUE(WaitFor([&] { return coordinator_->metrics().live_servers == 3; }));
  ASSERT_NO_FATAL_FAILURE(Register("b", "http://127.0.0.1:2"));
  ASSERT_TRUE(WaitFor([&] { return coordinator_->metrics().live_servers == 4; }));
  EXPECT_EQ(coordinator_->metrics().fetch_failures, 1) << Log();
  EXPECT_EQ(evil.requests().size(), 1u);
}

TEST_F(CoordFetchTest, TheTokenGoesOnlyToPeersOverVerifiedTls) {
  coord::CoordinatorOptions without_ca = Options();
  without_ca.peer.bearer_token = "s3cret-token";
  auto refused = coord::Coordinator::Create(std::move(without_ca), *store_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--peer-tls-ca"), std::string::npos)
      << refused.status().ToString();

  FakePeer evil{std::string(kArrowHeaders)};
  coord::CoordinatorOptions options = Options();
  options.fetch_stall_timeout = std::chrono::milliseconds(500);
  options.peer.bearer_token = "s3cret-token";
  options.peer.tls_ca_file = (dir_ / "unused-ca.pem").string();
  ASSERT_NO_FATAL_FAILURE(Join(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(HeldBy(evil, 1000));
  EXPECT_TRUE(WaitFor([&] { return coordinator_->metrics().fetch_failures >= 1; })) << Log();
  EXPECT_TRUE(Logged("sent only to peers over TLS")) << Log();
  for (const std::string& request : evil.requests()) {
    EXPECT_EQ(request.find("s3cret-token"), std::string::npos) << request;
  }
}

// `zkarrow get` with `args`; its exit status and what it printed.
std::pair<int, std::string> RunGet(const fs::path& dir, const std::string& args) {
  const fs::path out = dir / "get.out";
  const int status = std::system(
      (std::string(ZKARROW_BINARY) + " get " + args + " > " + out.string() + " 2>&1").c_str());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

TEST_F(CoordFetchTest, GetZkSendsTheTokenOnlyToServersOverVerifiedTls) {
  // A complete reply, so that a get that does reach it ends.
  FakePeer evil{
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}"};
  for (const std::string& path : {root_, root_ + "/servers"}) {
    ASSERT_TRUE(oracle_->Create(path, "").get().ok()) << path;
  }
  ASSERT_NO_FATAL_FAILURE(Register("evil", evil.Url()));
  fs::create_directories(dir_);
  const fs::path token = dir_ / "token";
  std::ofstream(token) << "s3cret-token\n";
  fs::permissions(token, fs::perms::owner_read | fs::perms::owner_write);
  const fs::path ca = dir_ / "ca.pem";  // never read: no server is reached over TLS
  std::ofstream(ca) << "";
  const std::string common = "zk://" + cluster_->ConnectString() + "/znodes --coord-root " + root_ +
                             " --token-file " + token.string() + " -o " +
                             (dir_ / "out.arrow").string();

  auto [without_ca, without_ca_text] = RunGet(dir_, common);
  EXPECT_EQ(without_ca, 2) << without_ca_text;
  EXPECT_NE(without_ca_text.find("needs --tls-ca"), std::string::npos) << without_ca_text;

  auto [plain, plain_text] = RunGet(dir_, common + " --tls-ca " + ca.string());
  EXPECT_EQ(plain, 1) << plain_text;
  EXPECT_NE(plain_text.find("not sending the token to evil"), std::string::npos) << plain_text;

  EXPECT_EQ(evil.connections(), 0);
  for (const std::string& request : evil.requests()) {
    EXPECT_EQ(request.find("s3cret-token"), std::string::npos) << request;
  }
  EXPECT_FALSE(fs::exists(dir_ / "out.arrow"));
}

}  // namespace
}  // namespace zkarrow
