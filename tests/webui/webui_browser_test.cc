// The web UI (GET / of `zkarrow serve --http`) in a real browser: a real
// ZooKeeper with the 100k-znode sample tree, two real `zkarrow serve`
// processes (read-only, and --allow-writes) behind one bearer token, Debian's
// Chromium driven by playwright-core (browser_test.mjs), kazoo for changes.
// The script checks the tree, a node, live changes, null data (apart from
// empty data), SQL, downloads, the write refusal, a conflicting edit, an
// editor acting on the node it names after another was selected,
// names holding characters that do not show (shown as tokens, acted on as
// they are), names mixing scripts or not in NFC (marked) and a reload after the server went away;
// screenshots go to the build directory (webui-artifacts/). ZKARROW_WEBUI_NODES sets the tree's
// size.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "sampletree/sample_tree.h"
#include "support/prerequisite.h"
#include "support/zkarrow_process.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;
using testing::ZkarrowProcess;

const fs::path kSourceDir = ZKARROW_SOURCE_DIR;
const fs::path kArtifacts = fs::path(ZKARROW_BUILD_DIR) / "webui-artifacts";

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Missing pieces of the browser test, or "".
std::string MissingBrowser() {
  if (!RunCommand("command -v node >/dev/null").ok()) return "node not found";
  if (::access("/usr/bin/chromium", X_OK) != 0) return "/usr/bin/chromium missing (scripts/setup)";
  for (const char* package : {"playwright-core", "@uwdata/flechette"}) {
    if (!fs::exists(kSourceDir / "tests/interop/node_modules" / package)) {
      return std::string("tests/interop/node_modules/") + package + " missing: run scripts/setup";
    }
  }
  if (!RunCommand("/usr/bin/python3 -c 'import kazoo'").ok())
    return "kazoo (python3-kazoo) missing";
  return "";
}

class WebUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = MissingBrowser(); !missing.empty()) {
      ZKA_MISSING_PREREQUISITE() << missing;
    }
    dir_ = fs::temp_directory_path() / ("zkarrow-webui-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 1});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster);
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto owner = zk::Client::Connect(options);
    ASSERT_TRUE(owner.ok()) << owner.status().ToString();
    owner_ = std::move(*owner);  // holds the sample tree's ephemerals
    int64_t nodes = 100000;
    if (const char* env = std::getenv("ZKARROW_WEBUI_NODES")) nodes = std::atoll(env);
    const auto started = std::chrono::steady_clock::now();
    Status loaded = sampletree::LoadSampleTree(
        *owner_, sampletree::GenerateSampleTree({.target_nodes = nodes}));
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
    std::printf("loaded the sample tree (%lld znodes asked) in %.1f s\n",
                static_cast<long long>(nodes),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    token_file_ = dir_ / "token";
    std::ofstream(token_file_) << "webui-test-token\n";
    ::chmod(token_file_.c_str(), 0600);
  }

  void TearDown() override {
    for (auto* server : {&reader_, &writer_}) {
      if (*server && HasFailure()) {
        std::printf("--- %s log:\n%s\n", server == &reader_ ? "read-only server" : "write server",
                    ReadText(dir_ / (server == &reader_ ? "reader.err" : "writer.err")).c_str());
      }
      if (*server) (void)(*server)->Stop();
    }
    if (owner_) owner_->Close();
    cluster_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // `zkarrow serve` on a free port; its http:// URL once it serves the tree.
  std::string StartServer(const std::string& name, std::unique_ptr<ZkarrowProcess>& server,
                          bool allow_writes) {
    const fs::path ports = dir_ / (name + ".ports");
    std::vector<std::string> args = {"--zk",         cluster_->ConnectString(),
                                     "--http",       "127.0.0.1:0",
                                     "--store",      (dir_ / (name + "-store")).string(),
                                     "--token-file", token_file_.string(),
                                     "--ports-file", ports.string()};
    if (allow_writes) args.push_back("--allow-writes");
    auto started = ZkarrowProcess::Start("serve", args, dir_ / (name + ".err"));
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return "";
    server = std::move(*started);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(ports) && std::chrono::steady_clock::now() < deadline && server->Running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(fs::exists(ports)) << ReadText(dir_ / (name + ".err"));
    if (!fs::exists(ports)) return "";
    const std::string url =
        "http://127.0.0.1:" +
        std::to_string(nlohmann::json::parse(ReadText(ports))["http"].get<int>());
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline) {
      ready = RunCommand("curl -sf -H 'Authorization: Bearer webui-test-token' " + url +
                         "/healthz > /dev/null")
                  .ok();
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(ready) << "the server did not become healthy";
    return ready ? url : "";
  }

  fs::path dir_;
  fs::path token_file_;
  std::unique_ptr<zkserver::ZooKeeperCluster> cluster_;
  std::unique_ptr<zk::Client> owner_;
  std::unique_ptr<ZkarrowProcess> reader_;
  std::unique_ptr<ZkarrowProcess> writer_;
};

TEST_F(WebUiTest, BrowserExploresWatchesQueriesAndEditsTheSampleTree) {
  const fs::path snapshot = dir_ / "tree.arrow";
  auto taken = ZkarrowProcess::Start("snapshot",
                                     {"--zk", cluster_->ConnectString(), "-o", snapshot.string()},
                                     dir_ / "snapshot.err");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  auto exit_code = (*taken)->Wait();
  ASSERT_TRUE(exit_code.ok() && *exit_code == 0) << ReadText(dir_ / "snapshot.err");

  const std::string url = StartServer("reader", reader_, /*allow_writes=*/false);
  ASSERT_FALSE(url.empty());
  const std::string write_url = StartServer("writer", writer_, /*allow_writes=*/true);
  ASSERT_FALSE(write_url.empty());

  // The page and its files load without the token; data does not.
  auto page = RunCommand("curl -s -o /dev/null -w '%{http_code}' " + url + "/");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(*page, "200");
  auto data = RunCommand("curl -s -o /dev/null -w '%{http_code}' " + url + "/znodes");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "401");

  fs::create_directories(kArtifacts);
  const std::string command =
      "node '" + (kSourceDir / "tests/webui/browser_test.mjs").string() + "' '" + url + "' '" +
      write_url + "' webui-test-token '" + snapshot.string() + "' '" + kArtifacts.string() + "' '" +
      cluster_->ConnectString() + "' > '" + (dir_ / "browser.log").string() + "' 2>&1";
  auto ran = RunCommand(command);
  const std::string log = ReadText(dir_ / "browser.log");
  std::printf("%s\n", log.c_str());
  ASSERT_TRUE(ran.ok()) << "the browser test failed (screenshots in " << kArtifacts << ")";
  EXPECT_NE(log.find("all checks passed"), std::string::npos);
  for (const char* view : {"tree", "node", "live", "null-data", "query", "query-chart", "datasets",
                           "sizes", "sizes-labels", "edit-conflict", "hidden-names",
                           "look-alike-name", "decomposed-name", "stale"}) {
    EXPECT_TRUE(fs::exists(kArtifacts / (std::string(view) + ".png"))) << view;
  }
}

}  // namespace
}  // namespace zkarrow
