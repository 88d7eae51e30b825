// watch_bench [--seconds S] [--mirror-znodes N] [--out FILE]
//
// zkarrow watch's change engine (src/watch, in process, its rows counted by
// a sink) against one ZooKeeper server (forceSync=no, so the server is not
// bounded by this machine's disk), in the same run as kazoo's TreeCache:
//   - sustained: a writer sets 1,000 nodes round-robin as fast as the server
//     acknowledges (256 requests in flight) for S seconds; writes/s, change
//     rows/s (bursts on one node coalesce into one row), TreeCache events/s
//     (bench/watch_treecache.py watching the same tree at the same time), and
//     the lag: how long after the writer stops the watcher has reported its
//     last write;
//   - latency: the writer paced at 1k and 10k sets/s; for every set whose
//     value reaches a row, the time from its acknowledgement to the flush of
//     that row's batch; p50 and p99 with --flush-ms 100;
//   - the mirror: bytes per znode (its own estimate) after an initial read of
//     N znodes (default 100k).
// Prints a markdown report and writes it to FILE (bench/results/watch.md).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sampletree/sample_tree.h"
#include "watch/tree_watcher.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using namespace zkarrow;
using Clock = std::chrono::steady_clock;

constexpr int kNodes = 1000;
constexpr const char* kRoot = "/bench";

// Counts rows and, for values that are sequence numbers, remembers when the
// batch holding them was flushed.
class TimingSink final : public watch::ChangeSink {
 public:
  Status Start(int64_t) override { return Status::Ok(); }
  Status Append(const watch::ChangeRow& row) override {
    ++rows_;
    if (row.event == watch::ChangeEvent::kChanged && row.record.data &&
        row.record.data->size() == sizeof(int64_t)) {
      int64_t seq;
      std::memcpy(&seq, row.record.data->data(), sizeof(seq));
      pending_.push_back(seq);
    }
    return Status::Ok();
  }
  Status Flush() override {
    auto now = Clock::now();
    std::lock_guard lock(mutex_);
    for (int64_t seq : pending_) {
      flushed_[seq] = now;
      highest_ = std::max(highest_, seq);
    }
    pending_.clear();
    rows_flushed_ = rows_;
    cv_.notify_all();
    return Status::Ok();
  }
  int64_t rows_flushed() {
    std::lock_guard lock(mutex_);
    return rows_flushed_;
  }
  // Waits until a row with sequence number >= seq was flushed.
  bool WaitFor(int64_t seq, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return highest_ >= seq; });
  }
  std::map<int64_t, Clock::time_point> TakeFlushed() {
    std::lock_guard lock(mutex_);
    return std::exchange(flushed_, {});
  }

 private:
  int64_t rows_ = 0;  // watcher thread only
  std::vector<int64_t> pending_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int64_t rows_flushed_ = 0;
  int64_t highest_ = -1;
  std::map<int64_t, Clock::time_point> flushed_;
};

std::string Value(int64_t seq) {
  std::string value(sizeof(seq), '\0');
  std::memcpy(value.data(), &seq, sizeof(seq));
  return value;
}

std::string NodePath(int64_t i) { return std::string(kRoot) + "/n" + std::to_string(i % kNodes); }

// Sets nodes round-robin with sequence numbers from `first`, at most
// `per_second` (0: as fast as acknowledged, 256 in flight) for `seconds`.
// Records acknowledgement times; returns the next sequence number.
int64_t Write(zk::Client& client, int64_t first, double seconds, double per_second,
              std::map<int64_t, Clock::time_point>* acked) {
  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  int64_t seq = first;
  while (Clock::now() < end) {
    if (per_second > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>((seq - first) / per_second));
      if (due > Clock::now()) std::this_thread::sleep_until(due);
    }
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return outstanding < 256; });
      ++outstanding;
    }
    client.SetData(NodePath(seq), Value(seq), -1, [&, seq](Result<zk::Stat>) {
      std::lock_guard lock(mutex);
      (*acked)[seq] = Clock::now();
      --outstanding;
      cv.notify_all();
    });
    ++seq;
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return outstanding == 0; });
  return seq;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * static_cast<double>(values.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  int mirror_znodes = 100000;
  std::string out = WATCH_BENCH_DEFAULT_OUT;
  constexpr const char* kUsage =
      "usage: watch_bench [--seconds S] [--mirror-znodes N] [--out FILE]\n";
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
    if (flag == "--seconds") {
      seconds = std::stod(argv[i + 1]);
    } else if (flag == "--mirror-znodes") {
      mirror_znodes = std::stoi(argv[i + 1]);
    } else if (flag == "--out") {
      out = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown option %s\n%s", flag.c_str(), kUsage);
      return 2;
    }
  }
  auto cluster = zkserver::ZooKeeperCluster::Start(
      {.config = {{"forceSync", "no"}}, .jvm_flags = {"-Xmx2g", "-XX:+UseSerialGC"}});
  if (!cluster.ok()) {
    std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
    return 1;
  }
  const std::string connect = (*cluster)->ConnectString();
  zk::ClientOptions client_options;
  client_options.connect_string = connect;
  auto writer = zk::Client::Connect(client_options);
  if (!writer.ok()) return 1;
  std::vector<sampletree::SampleNode> nodes = {{kRoot, ""}};
  for (int i = 0; i < kNodes; ++i) nodes.push_back({NodePath(i), Value(-1)});
  if (!sampletree::LoadSampleTree(**writer, nodes).ok()) return 1;

  watch::WatchOptions options;
  options.client = client_options;
  options.root = kRoot;
  options.flush_interval = std::chrono::milliseconds(100);
  TimingSink sink;
  std::atomic<bool> stop{false};
  watch::TreeWatcher watcher(options);
  Status ran;
  std::thread watching([&] { ran = watcher.Run(sink, [&] { return stop.load(); }); });
  // The initial rows are flushed once the watch is in place.
  while (sink.rows_flushed() < kNodes + 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  std::ostringstream report;
  report << "# zkarrow watch benchmark\n\nOne standalone ZooKeeper 3.8 server (forceSync=no), "
         << kNodes << " nodes set round-robin; --flush-ms 100.\n\n";

  // Sustained, with kazoo's TreeCache watching the same tree.
  std::string treecache_cmd = "/usr/bin/python3 " WATCH_BENCH_SOURCE_DIR "/watch_treecache.py " +
                              connect + " " + kRoot + " " + std::to_string(seconds + 5);
  FILE* treecache = ::popen(treecache_cmd.c_str(), "r");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // TreeCache's initial load
  std::map<int64_t, Clock::time_point> acked;
  const int64_t rows_before = sink.rows_flushed();
  const auto start = Clock::now();
  int64_t next = Write(**writer, 0, seconds, 0, &acked);
  const auto writer_done = Clock::now();
  bool caught_up = sink.WaitFor(next - 1, std::chrono::seconds(120));
  const auto caught = Clock::now();
  const double wrote_for = std::chrono::duration<double>(writer_done - start).count();
  const double writes_per_s = static_cast<double>(next) / wrote_for;
  const double rows_per_s = static_cast<double>(sink.rows_flushed() - rows_before) /
                            std::chrono::duration<double>(caught - start).count();
  const double lag_ms = std::chrono::duration<double, std::milli>(caught - writer_done).count();
  char treecache_line[256] = "";
  if (treecache && std::fgets(treecache_line, sizeof(treecache_line), treecache) == nullptr) {
    treecache_line[0] = '\0';
  }
  if (treecache) ::pclose(treecache);
  double treecache_events_per_s = std::atof(treecache_line);
  report << "## Sustained\n\n| | per second |\n|---|---|\n"
         << "| sets acknowledged (writer flat out, 256 in flight) | "
         << static_cast<int64_t>(writes_per_s) << " |\n"
         << "| watch change rows (coalesced bursts) | " << static_cast<int64_t>(rows_per_s)
         << " |\n"
         << "| kazoo TreeCache events, same run (first to last event) | "
         << static_cast<int64_t>(treecache_events_per_s) << " |\n\n"
         << "watch reported the last set " << static_cast<int64_t>(lag_ms)
         << " ms after the writer stopped" << (caught_up ? "" : " (NOT within 120 s)") << ".\n\n";
  sink.TakeFlushed();

  // Latency at fixed rates.
  report << "## Latency (set acknowledged -> row flushed)\n\n| rate | sets | rows timed | p50 ms | "
            "p99 ms |\n|---|---|---|---|---|\n";
  for (double rate : {1000.0, 10000.0}) {
    acked.clear();
    const int64_t first = next;
    next = Write(**writer, first, seconds, rate, &acked);
    sink.WaitFor(next - 1, std::chrono::seconds(120));
    auto flushed = sink.TakeFlushed();
    std::vector<double> latencies;
    for (const auto& [seq, at] : flushed) {
      auto ack = acked.find(seq);
      if (ack != acked.end()) {
        latencies.push_back(std::chrono::duration<double, std::milli>(at - ack->second).count());
      }
    }
    char line[256];
    std::snprintf(line, sizeof(line), "| %.0f/s | %lld | %zu | %.1f | %.1f |\n", rate,
                  static_cast<long long>(next - first), latencies.size(),
                  Percentile(latencies, 0.5), Percentile(latencies, 0.99));
    report << line;
  }
  stop = true;
  watching.join();
  if (!ran.ok()) std::fprintf(stderr, "watch: %s\n", ran.ToString().c_str());

  // The mirror after an initial read of a larger tree.
  std::vector<sampletree::SampleNode> big = {{"/mirror", ""}};
  for (int i = 0; i < mirror_znodes; ++i) {
    big.push_back(
        {"/mirror/t" + std::to_string(i / 100) + (i % 100 ? "/p" + std::to_string(i % 100) : ""),
         "v"});
  }
  std::stable_sort(big.begin(), big.end(), [](const auto& a, const auto& b) {
    return std::count(a.path.begin(), a.path.end(), '/') <
           std::count(b.path.begin(), b.path.end(), '/');
  });
  if (!sampletree::LoadSampleTree(**writer, big).ok()) return 1;
  watch::WatchOptions mirror_options = options;
  mirror_options.root = "/mirror";
  watch::TreeWatcher mirror_watcher(mirror_options);
  TimingSink mirror_sink;
  int64_t znodes = 0, bytes = 0;
  Status read = mirror_watcher.Run(mirror_sink, [&] {
    watch::WatchStats stats = mirror_watcher.stats();
    znodes = stats.mirror_znodes;
    bytes = stats.mirror_bytes;
    // Stop once the initial read has filled the mirror: a stop asked during
    // the read would end the read itself.
    return znodes >= static_cast<int64_t>(big.size());
  });
  char line[256];
  std::snprintf(
      line, sizeof(line),
      "\n## Mirror\n\n%lld znodes (paths of %.1f bytes on average): %.0f bytes per "
      "znode (the mirror's estimate of its heap, path included).\n",
      static_cast<long long>(znodes),
      [&] {
        double total = 0;
        for (const auto& node : big) total += static_cast<double>(node.path.size());
        return total / static_cast<double>(big.size());
      }(),
      znodes > 0 ? static_cast<double>(bytes) / static_cast<double>(znodes) : 0.0);
  report << line;
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  return read.ok() ? 0 : 1;
}
