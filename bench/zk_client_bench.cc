// zk_client_bench [--nodes N] [--rounds R] [--out FILE]
//
// Read throughput of our client against the official C client
// (libzookeeper-mt) on the same ZooKeeper server in the same run:
//   - getData requests/s with at most W requests outstanding, W in {1, 8, 128, 1000};
//   - nodes/s with multiRead batches of B getData, B in {10, 100, 1000},
//     8 batches in flight;
//   - the C client's zoo_aget with the same W.
// Every pass reads the same fixed list of paths (the sample tree's). One
// unrecorded warm-up pass of every method, then R rounds with the methods
// rotated, so that slow drifts of the shared machine hit every method alike.
// Prints a markdown table and writes it to FILE (bench/results/zk-client.md).
#include <zookeeper.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "sampletree/sample_tree.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using Clock = std::chrono::steady_clock;

// Counts outstanding requests and blocks the submitter at `limit`. The same
// window is used for both clients, so both pipeline exactly alike; our
// client's own max_in_flight stays above it and never blocks.
class Window {
 public:
  explicit Window(int limit) : limit_(limit) {}

  void Acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return outstanding_ < limit_; });
    ++outstanding_;
  }
  // Called from the clients' callback threads.
  void Release(int64_t items_ok, int64_t errors) {
    std::lock_guard lock(mutex_);
    --outstanding_;
    items_ok_ += items_ok;
    errors_ += errors;
    changed_.notify_one();
  }
  void Drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return outstanding_ == 0; });
  }
  int64_t items_ok() const { return items_ok_; }  // after Drain
  int64_t errors() const { return errors_; }

 private:
  const int limit_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int outstanding_ = 0;
  int64_t items_ok_ = 0;
  int64_t errors_ = 0;
};

struct PassResult {
  double seconds = 0;
  int64_t items_ok = 0;  // nodes read
  int64_t errors = 0;
};

PassResult TimePass(Window& window, const std::function<void()>& submit_all) {
  auto started = Clock::now();
  submit_all();
  window.Drain();
  return {std::chrono::duration<double>(Clock::now() - started).count(), window.items_ok(),
          window.errors()};
}

PassResult OurGetData(zkarrow::zk::Client& client, const std::vector<std::string>& paths,
                      int limit) {
  Window window(limit);
  return TimePass(window, [&] {
    for (const auto& path : paths) {
      window.Acquire();
      client.GetData(path, [&window](zkarrow::Result<zkarrow::zk::DataResult> result) {
        window.Release(result.ok() ? 1 : 0, result.ok() ? 0 : 1);
      });
    }
  });
}

PassResult OurMultiRead(zkarrow::zk::Client& client, const std::vector<std::string>& paths,
                        size_t batch, int batches_in_flight) {
  Window window(batches_in_flight);
  return TimePass(window, [&] {
    for (size_t begin = 0; begin < paths.size(); begin += batch) {
      std::vector<zkarrow::zk::ReadOp> ops;
      size_t end = std::min(paths.size(), begin + batch);
      ops.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) ops.push_back(zkarrow::zk::ReadOp::GetData(paths[i]));
      window.Acquire();
      client.MultiRead(std::move(ops),
                       [&window](zkarrow::Result<std::vector<zkarrow::zk::ReadResult>> result) {
                         int64_t ok = 0, errors = 0;
                         if (!result.ok()) {
                           errors = 1;
                         } else {
                           for (const auto& read : *result) {
                             if (read.error == zkarrow::zk::ErrorCode::OK) ++ok;
                             else ++errors;
                           }
                         }
                         window.Release(ok, errors);
                       });
    }
  });
}

void OnCData(int rc, const char* /*value*/, int /*value_len*/, const struct Stat* /*stat*/,
             const void* data) {
  auto* window = static_cast<Window*>(const_cast<void*>(data));
  window->Release(rc == ZOK ? 1 : 0, rc == ZOK ? 0 : 1);
}

PassResult CGetData(zhandle_t* zh, const std::vector<std::string>& paths, int limit) {
  Window window(limit);
  return TimePass(window, [&] {
    for (const auto& path : paths) {
      window.Acquire();
      if (zoo_aget(zh, path.c_str(), 0, OnCData, &window) != ZOK) window.Release(0, 1);
    }
  });
}

// The C client's session: zookeeper_init returns before it is connected.
struct CSession {
  std::mutex mutex;
  std::condition_variable changed;
  int state = 0;  // 1 connected, -1 failed
};

void OnCSessionEvent(zhandle_t* /*zh*/, int type, int state, const char* /*path*/,
                     void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* session = static_cast<CSession*>(context);
  std::lock_guard lock(session->mutex);
  session->state = state == ZOO_CONNECTED_STATE ? 1 : -1;
  session->changed.notify_all();
}

struct Method {
  std::string name;
  std::string unit;      // "requests/s" or "nodes/s"
  int c_window;          // the C client row this one is compared with
  std::function<PassResult()> run;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

int Fail(const std::string& what, const zkarrow::Status& status) {
  std::fprintf(stderr, "zk_client_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nodes = 20000;
  int rounds = 3;
  std::string out = ZK_CLIENT_BENCH_DEFAULT_OUT;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0) nodes = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--out") == 0) out = argv[i + 1];
  }
  if (nodes <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: zk_client_bench [--nodes N] [--rounds R] [--out FILE]\n");
    return 2;
  }
  std::string load_before = LoadAverage();

  // Persistent nodes only: the tree must not change between passes.
  auto tree = zkarrow::sampletree::GenerateSampleTree({.target_nodes = nodes});
  for (auto& node : tree) node.ephemeral = false;
  std::vector<std::string> paths;
  for (const auto& node : tree) paths.push_back(node.path);

  auto cluster = zkarrow::zkserver::ZooKeeperCluster::Start({});
  if (!cluster.ok()) return Fail("starting ZooKeeper", cluster.status());
  std::string connect = (*cluster)->ConnectString();

  auto client = zkarrow::zk::Client::Connect({.connect_string = connect});
  if (!client.ok()) return Fail("connecting", client.status());
  zkarrow::Status loaded = zkarrow::sampletree::LoadSampleTree(**client, tree);
  if (!loaded.ok()) return Fail("loading the sample tree", loaded);
  std::fprintf(stderr, "zk_client_bench: loaded %zu znodes\n", paths.size());

  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  CSession c_session;
  zhandle_t* zh = zookeeper_init(connect.c_str(), OnCSessionEvent, 30000, nullptr, &c_session, 0);
  if (!zh) {
    std::perror("zookeeper_init");
    return 1;
  }
  {
    std::unique_lock lock(c_session.mutex);
    c_session.changed.wait(lock, [&] { return c_session.state != 0; });
    if (c_session.state < 0) {
      std::fprintf(stderr, "zk_client_bench: the C client could not connect\n");
      return 1;
    }
  }

  std::vector<Method> methods;
  for (int w : {1, 8, 128, 1000}) {
    methods.push_back({"zkarrow getData, window " + std::to_string(w), "requests/s", w,
                       [&, w] { return OurGetData(**client, paths, w); }});
  }
  // multiRead has no C counterpart; compare it with the C client's best window.
  for (size_t b : {10, 100, 1000}) {
    methods.push_back({"zkarrow multiRead, batch " + std::to_string(b) + " (8 in flight)",
                       "nodes/s", 1000, [&, b] { return OurMultiRead(**client, paths, b, 8); }});
  }
  for (int w : {1, 8, 128, 1000}) {
    methods.push_back({"C zoo_aget, window " + std::to_string(w), "requests/s", w,
                       [&, w] { return CGetData(zh, paths, w); }});
  }

  // rates[i]: method i's nodes (= requests for getData) per second, per round.
  std::vector<std::vector<double>> rates(methods.size());
  bool all_complete = true;
  for (int round = 0; round <= rounds; ++round) {  // round 0: warm-up
    for (size_t i = 0; i < methods.size(); ++i) {
      PassResult pass = methods[i].run();
      if (pass.errors != 0 || pass.items_ok != static_cast<int64_t>(paths.size())) {
        all_complete = false;
        std::fprintf(stderr, "zk_client_bench: %s read %lld of %zu nodes, %lld errors\n",
                     methods[i].name.c_str(), static_cast<long long>(pass.items_ok),
                     paths.size(), static_cast<long long>(pass.errors));
      }
      if (round > 0) rates[i].push_back(static_cast<double>(pass.items_ok) / pass.seconds);
    }
    std::fprintf(stderr, "zk_client_bench: %s done\n",
                 round == 0 ? "warm-up" : ("round " + std::to_string(round)).c_str());
  }
  zookeeper_close(zh);
  (*client)->Close();

  std::map<int, double> c_median;  // window -> the C client's median
  for (size_t i = 0; i < methods.size(); ++i) {
    if (methods[i].name.starts_with("C ")) c_median[methods[i].c_window] = Median(rates[i]);
  }
  std::ostringstream report;
  report << "# ZooKeeper client read throughput: zkarrow vs the C client\n\n"
         << "`zk_client_bench`: one standalone ZooKeeper on 127.0.0.1, " << paths.size()
         << " znodes of the sample tree; every pass reads the data and stat of the same "
         << paths.size() << " paths. One warm-up pass, then " << rounds
         << " rounds with the methods rotated. Load average before: " << load_before
         << ", after: " << LoadAverage() << " (shared 2-core machine).\n\n"
         << "| method | median | min-max | vs C client |\n"
         << "|---|---|---|---|\n";
  char line[512];
  for (size_t i = 0; i < methods.size(); ++i) {
    auto [low, high] = std::minmax_element(rates[i].begin(), rates[i].end());
    double median = Median(rates[i]);
    std::snprintf(line, sizeof line, "| %s | %.0f %s | %.0f-%.0f | %.2f x (C, window %d) |\n",
                  methods[i].name.c_str(), median, methods[i].unit.c_str(), *low, *high,
                  median / c_median[methods[i].c_window], methods[i].c_window);
    report << line;
  }
  report << "\nvs C client: this row's median divided by the C client's median at the "
            "same window (multiRead: the C client's best, window 1000); > 1 means faster "
            "than the C client.\n";
  if (!all_complete) report << "\n**Some passes did not read every node; see stderr.**\n";

  std::fputs(report.str().c_str(), stdout);
  std::ofstream(out) << report.str();
  return all_complete ? 0 : 1;
}
