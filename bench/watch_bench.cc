// watch_bench [--seconds S] [--mirror-znodes N[,N...]] [--skip-caches] [--out FILE]
//
// zkarrow watch's change engine (src/watch, in process, its rows counted by
// a sink) against the caches ZooKeeper users run today, Curator's
// CuratorCache (java/CuratorCacheEvents.java, Debian's Curator 5.4) and
// kazoo's TreeCache (watch_treecache.py), all three watching the same tree
// at the same time while one writer drives it:
//   - sustained: one standalone server (forceSync=no, so it is not bounded
//     by this machine's disk); the writer sets 1,000 nodes round-robin as
//     fast as the server acknowledges (256 requests in flight) for S
//     seconds. For each watcher: how many changes it reported and at what
//     rate (reports / time from the writer's start to its last report), and
//     its lag (how long after the writer stopped it reported the last set).
//     Bursts on one node coalesce, in watch (one row per re-read) as in the
//     caches (one event per re-read);
//   - latency: the writer paced at 1k and 10k sets/s for S seconds each;
//     for every set whose value a watcher reports, the time from the set's
//     acknowledgement to the report: for watch, the row handed to the sink
//     and the flush of its batch (--flush-ms 100); for the caches, their
//     listener's call. The caches print CLOCK_MONOTONIC times, the clock of
//     steady_clock here;
//   - lossiness: a 3-server ensemble; the watchers talk to server 0 only,
//     the writer to server 1. Server 0 is killed, the writer deletes a node
//     and creates it again, server 0 comes back and the watchers reconnect
//     to it (same sessions). What each reported about that node, and which
//     incarnation of it each holds at the end;
//   - the mirror: the sample tree of N znodes (default 100k; paths and
//     sizes as in a real shared ensemble) loaded by multi transactions,
//     then watch's initial read: bytes per znode, by the mirror's own
//     estimate and by malloc's count of the heap it grew by.
// Prints a markdown report and writes it to FILE (bench/results/watch.md).
// A run with a 1M tree starts a heavy server: run it under
// `flock /tmp/zkarrow-heavy.lock`.
#include <fcntl.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/child_process.h"
#include "sampletree/sample_tree.h"
#include "watch/tree_watcher.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using namespace zkarrow;
using Clock = std::chrono::steady_clock;

constexpr int kNodes = 1000;
constexpr const char* kRoot = "/bench";
// The longest session ZooKeeper grants with the harness's 2 s tick: the
// lossiness scenario's server restart must not expire the watchers.
constexpr int kSessionTimeoutMs = 40000;
constexpr auto kDeadline = std::chrono::seconds(120);

std::string Value(int64_t seq) {
  std::string value(sizeof(seq), '\0');
  std::memcpy(value.data(), &seq, sizeof(seq));
  return value;
}

std::optional<int64_t> SeqOf(std::span<const uint8_t> data) {
  if (data.size() != sizeof(int64_t)) return std::nullopt;
  int64_t seq;
  std::memcpy(&seq, data.data(), sizeof(seq));
  return seq;
}

std::string NodePath(int64_t i) { return std::string(kRoot) + "/n" + std::to_string(i % kNodes); }

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * static_cast<double>(values.size() - 1))];
}

// What a watcher reported about one node.
struct Report {
  std::string event;  // created, changed, deleted (resync for watch's marker)
  std::string path;
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t seq = -1;  // the value as a sequence number, -1 if not one
  Clock::time_point at;
};

// The reports of one watcher, shared between the thread that receives them
// and the bench.
class ReportLog {
 public:
  void Add(Report report) {
    std::lock_guard lock(mutex_);
    highest_seq_ = std::max(highest_seq_, report.seq);
    reports_.push_back(std::move(report));
    cv_.notify_all();
  }
  void AddAll(std::vector<Report> reports) {
    std::lock_guard lock(mutex_);
    for (Report& report : reports) {
      highest_seq_ = std::max(highest_seq_, report.seq);
      reports_.push_back(std::move(report));
    }
    cv_.notify_all();
  }
  // Waits until a report shows sequence number `seq` or later.
  bool WaitForSeq(int64_t seq, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return highest_seq_ >= seq; });
  }
  bool WaitFor(const std::function<bool(const Report&)>& match, std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::any_of(reports_.begin(), reports_.end(), match); });
  }
  std::vector<Report> Snapshot() {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Report> reports_;
  int64_t highest_seq_ = -1;
};

// zkarrow watch's engine in this process: rows become reports (time: when
// the row reached the sink) and the flush time of each sequence number is
// kept apart.
class WatchSink final : public watch::ChangeSink {
 public:
  Status Start(int64_t) override { return Status::Ok(); }
  Status Append(const watch::ChangeRow& row) override {
    Report report;
    report.event = std::string(watch::kChangeEventNames[static_cast<size_t>(row.event)]);
    report.path = std::string(row.record.path);
    if (row.record.stat) {
      report.czxid = row.record.stat->czxid;
      report.mzxid = row.record.stat->mzxid;
    }
    if (row.record.data) report.seq = SeqOf(*row.record.data).value_or(-1);
    report.at = Clock::now();
    pending_.push_back(std::move(report));
    return Status::Ok();
  }
  Status Flush() override {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mutex_);
      for (const Report& report : pending_) {
        if (report.seq >= 0) flushed_at_[report.seq] = now;
      }
    }
    appended.AddAll(std::exchange(pending_, {}));
    return Status::Ok();
  }
  std::map<int64_t, Clock::time_point> FlushTimes() {
    std::lock_guard lock(mutex_);
    return flushed_at_;
  }

  ReportLog appended;  // rows as flushed, timed when appended

 private:
  std::vector<Report> pending_;  // Run()'s thread only
  std::mutex mutex_;
  std::map<int64_t, Clock::time_point> flushed_at_;
};

// Runs TreeWatcher on its own thread until Stop().
class InProcessWatch {
 public:
  explicit InProcessWatch(watch::WatchOptions options) : watcher_(std::move(options)) {
    thread_ = std::thread([this] { ran_ = watcher_.Run(sink_, [this] { return stop_.load(); }); });
  }
  ~InProcessWatch() { (void)Stop(); }
  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return ran_;
  }
  WatchSink& sink() { return sink_; }

 private:
  watch::TreeWatcher watcher_;
  WatchSink sink_;
  std::atomic<bool> stop_{false};
  Status ran_;
  std::thread thread_;
};

// A cache in a child process speaking the protocol of
// java/CuratorCacheEvents.java and watch_treecache.py: "ready", then
// "EVENT PATH CZXID MZXID SEQ NANOS" lines; it ends when its stdin closes.
class CacheProcess {
 public:
  static std::unique_ptr<CacheProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& log) {
    // Close-on-exec: another child holding a copy of this one's stdin would
    // keep it from ever seeing the end of it (dup2 clears the flag on 0/1).
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return nullptr;
    Result<pid_t> spawned =
        SpawnTiedChild(argv, {.stderr_path = log, .stdin_fd = in[0], .stdout_fd = out[1]});
    if (!spawned.ok()) std::fprintf(stderr, "%s\n", spawned.status().ToString().c_str());
    const pid_t pid = spawned.ok() ? *spawned : -1;
    ::close(in[0]);
    ::close(out[1]);
    if (pid < 0) return nullptr;
    return std::unique_ptr<CacheProcess>(new CacheProcess(pid, in[1], out[0]));
  }

  ~CacheProcess() { Stop(); }

  bool WaitReady(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return ready_ || ended_; }) && ready_;
  }

  // Closes its stdin, waits for it to exit; true if it exited 0.
  bool Stop() {
    if (pid_ < 0) return exited_ok_;
    ::close(stdin_fd_);
    if (reader_.joinable()) reader_.join();
    int status = 0;
    exited_ok_ =
        ::waitpid(pid_, &status, 0) == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    pid_ = -1;
    return exited_ok_;
  }

  ReportLog reports;

 private:
  CacheProcess(pid_t pid, int stdin_fd, int stdout_fd) : pid_(pid), stdin_fd_(stdin_fd) {
    reader_ = std::thread([this, stdout_fd] { Read(stdout_fd); });
  }

  void Read(int fd) {
    FILE* in = ::fdopen(fd, "r");
    char line[4096];
    while (in != nullptr && std::fgets(line, sizeof(line), in) != nullptr) {
      if (std::strncmp(line, "ready", 5) == 0) {
        std::lock_guard lock(mutex_);
        ready_ = true;
        cv_.notify_all();
        continue;
      }
      std::istringstream fields(line);
      Report report;
      long long czxid = 0, mzxid = 0, seq = -1, nanos = 0;
      if (!(fields >> report.event >> report.path >> czxid >> mzxid >> seq >> nanos)) continue;
      report.czxid = czxid;
      report.mzxid = mzxid;
      report.seq = seq;
      report.at = Clock::time_point(std::chrono::nanoseconds(nanos));
      reports.Add(std::move(report));
    }
    if (in != nullptr) std::fclose(in);
    std::lock_guard lock(mutex_);
    ended_ = true;
    cv_.notify_all();
  }

  pid_t pid_;
  int stdin_fd_;
  bool exited_ok_ = false;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ready_ = false;
  bool ended_ = false;
};

std::string CuratorClasses() { return WATCH_BENCH_BINARY_DIR "/java"; }
constexpr const char* kCuratorClasspath =
    "/usr/share/java/curator-recipes.jar:/usr/share/java/slf4j-nop.jar";

bool CompileCuratorCache() {
  std::string command = "mkdir -p " + CuratorClasses() + " && javac -nowarn -d " +
                        CuratorClasses() + " -cp " + kCuratorClasspath +
                        " " WATCH_BENCH_SOURCE_DIR "/java/CuratorCacheEvents.java";
  return std::system(command.c_str()) == 0;
}

std::unique_ptr<CacheProcess> StartCurator(const std::string& hosts, const std::string& root,
                                           const std::string& log) {
  return CacheProcess::Start(
      {"/usr/bin/java", "-Xmx512m", "-cp", CuratorClasses() + ":" + kCuratorClasspath,
       "CuratorCacheEvents", hosts, root, std::to_string(kSessionTimeoutMs)},
      log);
}

std::unique_ptr<CacheProcess> StartKazoo(const std::string& hosts, const std::string& root,
                                         const std::string& log) {
  return CacheProcess::Start({"/usr/bin/python3", WATCH_BENCH_SOURCE_DIR "/watch_treecache.py",
                              hosts, root, std::to_string(kSessionTimeoutMs)},
                             log);
}

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

// Creates `nodes` below `prefix` in multi transactions (parents first: a
// session's requests apply in order), several in flight: far faster than
// one create per request on a large tree.
Status LoadInMultis(zk::Client& client, const std::vector<sampletree::SampleNode>& nodes,
                    const std::string& prefix) {
  constexpr size_t kMaxOps = 1000;
  constexpr size_t kMaxBytes = 512 << 10;  // well under jute.maxbuffer
  constexpr size_t kInFlight = 8;
  std::deque<std::future<Result<std::vector<zk::OpResult>>>> in_flight;
  std::vector<zk::Op> ops;
  size_t bytes = 0;
  auto settle = [&]() -> Status {
    Result<std::vector<zk::OpResult>> done = in_flight.front().get();
    in_flight.pop_front();
    if (!done.ok()) return done.status();
    for (const zk::OpResult& result : *done) {
      if (result.error != zk::ErrorCode::OK) {
        return Status::Internal("a create failed: " + std::string(zk::ErrorCodeName(result.error)));
      }
    }
    return Status::Ok();
  };
  auto send = [&]() -> Status {
    if (ops.empty()) return Status::Ok();
    if (in_flight.size() >= kInFlight) ZKA_RETURN_IF_ERROR(settle());
    in_flight.push_back(client.Multi(std::exchange(ops, {})));
    bytes = 0;
    return Status::Ok();
  };
  for (const sampletree::SampleNode& node : nodes) {
    const size_t size = prefix.size() + node.path.size() + node.data.size() + 64;
    if (!ops.empty() && (ops.size() >= kMaxOps || bytes + size > kMaxBytes)) {
      ZKA_RETURN_IF_ERROR(send());
    }
    // Ephemeral nodes persistent: the tree must outlive the loader's session.
    ops.push_back(zk::Op::Create(prefix + node.path, node.data, zk::OpenAclUnsafe()));
    bytes += size;
  }
  ZKA_RETURN_IF_ERROR(send());
  while (!in_flight.empty()) ZKA_RETURN_IF_ERROR(settle());
  return Status::Ok();
}

// Rows handed over, counted; the stop test stays cheap (the mirror's
// estimate walks the whole map, too slow to ask per row).
class CountingSink final : public watch::ChangeSink {
 public:
  Status Start(int64_t) override { return Status::Ok(); }
  Status Append(const watch::ChangeRow&) override {
    rows.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  std::atomic<int64_t> rows{0};
};

// malloc's in-use bytes, large (mmapped) blocks included.
int64_t HeapInUse() {
  struct mallinfo2 info = ::mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

struct Latency {
  size_t timed = 0;
  double p50 = 0, p99 = 0;
};

// Report time - acknowledgement time for every sequence number reported.
Latency LatencyOf(const std::map<int64_t, Clock::time_point>& acked,
                  const std::map<int64_t, Clock::time_point>& reported) {
  std::vector<double> values;
  for (const auto& [seq, at] : reported) {
    auto ack = acked.find(seq);
    if (ack != acked.end()) values.push_back(Ms(at - ack->second));
  }
  return {values.size(), Percentile(values, 0.5), Percentile(values, 0.99)};
}

// The first report of each sequence number in [first, end).
std::map<int64_t, Clock::time_point> FirstReports(const std::vector<Report>& reports, int64_t first,
                                                  int64_t end) {
  std::map<int64_t, Clock::time_point> times;
  for (const Report& report : reports) {
    if (report.seq >= first && report.seq < end) times.emplace(report.seq, report.at);
  }
  return times;
}

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

struct Watchers {
  InProcessWatch* watch;
  CacheProcess* curator;  // null with --skip-caches
  CacheProcess* kazoo;
};

void RunThroughput(zk::Client& writer, const Watchers& w, double seconds,
                   std::ostringstream& report) {
  struct Row {
    const char* name;
    ReportLog* log;
  };
  std::vector<Row> rows = {{"zkarrow watch (rows)", &w.watch->sink().appended}};
  if (w.curator) rows.push_back({"Curator CuratorCache (events)", &w.curator->reports});
  if (w.kazoo) rows.push_back({"kazoo TreeCache (events)", &w.kazoo->reports});

  std::map<int64_t, Clock::time_point> acked;
  const auto start = Clock::now();
  const int64_t next = Write(writer, 0, seconds, 0, &acked);
  const auto writer_done = Clock::now();
  const double writes_per_s =
      static_cast<double>(next) / std::chrono::duration<double>(writer_done - start).count();
  report << "## Sustained\n\nThe writer set " << next << " values in " << Fixed(seconds, 0)
         << " s: **" << static_cast<int64_t>(writes_per_s)
         << " sets/s** acknowledged (256 in flight). Each watcher's reports of those sets (one "
            "per re-read: bursts on one node coalesce), their rate from the writer's start to "
            "the last report, and how long after the writer stopped the last set was reported:\n\n"
         << "| watcher | reports | per second | last set reported after |\n|---|---|---|---|\n";
  for (const Row& row : rows) {
    const bool caught_up = row.log->WaitForSeq(next - 1, kDeadline);
    std::vector<Report> reports = row.log->Snapshot();
    int64_t count = 0;
    Clock::time_point last = start;
    for (const Report& r : reports) {
      if (r.seq < 0 || r.seq >= next || r.event != "changed") continue;
      ++count;
      last = std::max(last, r.at);
    }
    const double span = std::chrono::duration<double>(last - start).count();
    report << "| " << row.name << " | " << count << " | "
           << (span > 0 ? static_cast<int64_t>(static_cast<double>(count) / span) : 0) << " | "
           << (caught_up ? Fixed(Ms(last - writer_done), 0) + " ms"
                         : std::string("not within ") + std::to_string(kDeadline.count()) + " s")
           << " |\n";
  }

  report << "\n## Latency (set acknowledged -> reported)\n\nwatch: to the row reaching the sink "
            "(appended) and to the flush of its batch (--flush-ms 100, what a reader of the "
            "stream sees); the caches: to their listener's call.\n\n"
         << "| rate | sets | watcher | reports timed | p50 ms | p99 ms |\n"
         << "|---|---|---|---|---|---|\n";
  int64_t first = next;
  for (double rate : {1000.0, 10000.0}) {
    acked.clear();
    const int64_t end = Write(writer, first, seconds, rate, &acked);
    struct Timed {
      std::string name;
      std::map<int64_t, Clock::time_point> times;
    };
    std::vector<Timed> timed;
    w.watch->sink().appended.WaitForSeq(end - 1, kDeadline);
    timed.push_back(
        {"zkarrow watch, appended", FirstReports(w.watch->sink().appended.Snapshot(), first, end)});
    std::map<int64_t, Clock::time_point> flushed;
    for (const auto& [seq, at] : w.watch->sink().FlushTimes()) {
      if (seq >= first && seq < end) flushed.emplace(seq, at);
    }
    timed.push_back({"zkarrow watch, flushed", std::move(flushed)});
    for (const Row& row : rows) {
      if (row.log == &w.watch->sink().appended) continue;
      row.log->WaitForSeq(end - 1, kDeadline);
      timed.push_back({row.name, FirstReports(row.log->Snapshot(), first, end)});
    }
    for (const Timed& t : timed) {
      Latency latency = LatencyOf(acked, t.times);
      report << "| " << static_cast<int64_t>(rate) << "/s | " << end - first << " | " << t.name
             << " | " << latency.timed << " | " << Fixed(latency.p50, 1) << " | "
             << Fixed(latency.p99, 1) << " |\n";
    }
    first = end;
  }
}

// Retries `op` until it returns a status `done` accepts (the ensemble may be
// electing a leader after the kill), within the deadline.
bool Retry(const std::function<Status()>& op, const std::function<bool(const Status&)>& done) {
  const auto deadline = Clock::now() + kDeadline;
  while (Clock::now() < deadline) {
    if (done(op())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

void RunLossiness(bool with_caches, std::ostringstream& report) {
  report << "\n## Delete + re-create during a disconnect\n\n";
  auto cluster = zkserver::ZooKeeperCluster::Start({.servers = 3, .config = {{"forceSync", "no"}}});
  if (!cluster.ok()) {
    report << "Not run: " << cluster.status().ToString() << "\n";
    return;
  }
  const std::string watched = "127.0.0.1:" + std::to_string((*cluster)->client_port(0));
  const std::string writer_hosts = "127.0.0.1:" + std::to_string((*cluster)->client_port(1));
  auto writer = zk::Client::Connect({.connect_string = writer_hosts});
  if (!writer.ok()) {
    report << "Not run: " << writer.status().ToString() << "\n";
    return;
  }
  const std::string root = "/lossy", node = "/lossy/node";
  for (const auto& [path, data] : {std::pair{root, "r"}, std::pair{node, "v1"}}) {
    if (auto created = (*writer)->Create(path, data).get(); !created.ok()) {
      report << "Not run: " << created.status().ToString() << "\n";
      return;
    }
  }

  watch::WatchOptions options;
  options.client.connect_string = watched;
  options.client.session_timeout = std::chrono::milliseconds(kSessionTimeoutMs);
  options.root = root;
  options.flush_interval = std::chrono::milliseconds(100);
  InProcessWatch watch(options);
  std::unique_ptr<CacheProcess> curator, kazoo;
  if (with_caches) {
    curator = StartCurator(watched, root, "/tmp/watch-bench-curator-lossy.log");
    kazoo = StartKazoo(watched, root, "/tmp/watch-bench-kazoo-lossy.log");
  }
  auto initial = [&](const Report& r) { return r.path == node; };
  bool ready = watch.sink().appended.WaitFor(initial, kDeadline) &&
               (!curator || curator->WaitReady(kDeadline)) &&
               (!kazoo || kazoo->WaitReady(kDeadline));
  if (!ready) {
    report << "Not run: a watcher did not start\n";
    return;
  }
  auto first = (*writer)->Exists(node).get();
  const int64_t first_czxid = first.ok() && first->has_value() ? (*first)->czxid : 0;
  const auto cut = Clock::now();
  Status killed = (*cluster)->Kill(0);
  auto& w = **writer;
  bool deleted =
      Retry([&] { return w.Delete(node).get(); },
            [](const Status& s) { return s.ok() || zk::ErrorCodeOf(s) == zk::ErrorCode::NONODE; });
  bool created = Retry(
      [&] { return w.Create(node, "v2").get().status(); },
      [](const Status& s) { return s.ok() || zk::ErrorCodeOf(s) == zk::ErrorCode::NODEEXISTS; });
  Status restarted = (*cluster)->Restart(0);
  const auto back = Clock::now();
  if (!killed.ok() || !deleted || !created || !restarted.ok()) {
    report << "Not run: the disconnect failed (" << killed.ToString() << ", "
           << restarted.ToString() << ")\n";
    return;
  }
  // A sentinel created after the restart: once a watcher reports it, it has
  // caught up.
  const std::string sentinel = "/lossy/sentinel";
  Retry([&] { return w.Create(sentinel, "s").get().status(); },
        [](const Status& s) { return s.ok(); });
  auto is_sentinel = [&](const Report& r) { return r.path == sentinel; };
  struct Seen {
    std::string name;
    ReportLog* log;
    CacheProcess* cache;  // null for watch
  };
  std::vector<Seen> seen = {{"zkarrow watch", &watch.sink().appended, nullptr}};
  if (curator) seen.push_back({"Curator CuratorCache", &curator->reports, curator.get()});
  if (kazoo) seen.push_back({"kazoo TreeCache", &kazoo->reports, kazoo.get()});
  auto stat = w.Exists(node).get();
  auto zxids = [](int64_t czxid, int64_t mzxid) {
    return std::to_string(czxid) + "/" + std::to_string(mzxid);
  };
  const std::string now_zxids =
      stat.ok() && stat->has_value() ? zxids((*stat)->czxid, (*stat)->mzxid) : std::string("?");
  report << "A 3-server ensemble; the watchers connect to server 0 only, the writer to server 1. "
            "Server 0 is killed; the writer deletes `"
         << node << "` (czxid/mzxid " << zxids(first_czxid, first_czxid)
         << ", data \"v1\") and creates it again with \"v2\" (czxid/mzxid " << now_zxids
         << "); server 0 restarts (" << Fixed(std::chrono::duration<double>(back - cut).count(), 1)
         << " s after the kill) and the watchers reconnect to it in their sessions; then a new "
            "node is created and each watcher is waited for until it reports it. What each "
            "reported about `"
         << node
         << "` after the kill, and which incarnation it holds at the end (watch: the replay of "
            "its rows; the caches: their contents when stopped):\n\n"
         << "| watcher | reports (event czxid/mzxid) | holds at the end |\n|---|---|---|\n";
  for (const Seen& s : seen) {
    const bool caught_up = s.log->WaitFor(is_sentinel, kDeadline);
    // A cache's listener may hear of the node after the sentinel (watch's
    // rows are in order): give it a while.
    s.log->WaitFor([&](const Report& r) { return r.path == node && r.at >= cut; },
                   std::chrono::seconds(15));
    if (s.cache != nullptr) s.cache->Stop();  // it prints what it holds
    std::string text, holds = "nothing";
    for (const Report& r : s.log->Snapshot()) {
      if (r.path != node && r.event != "resync") continue;
      if (r.event == "cached" || (s.cache == nullptr && r.event != "resync")) {
        holds = r.event == "deleted" ? "nothing" : zxids(r.czxid, r.mzxid);
      }
      if (r.at < cut || r.event == "cached") continue;
      if (!text.empty()) text += ", ";
      text += r.event == "resync" ? "resync" : r.event + " " + zxids(r.czxid, r.mzxid);
    }
    report << "| " << s.name << " | " << (text.empty() ? "nothing" : text)
           << (caught_up ? "" : " (the sentinel never arrived)") << " | " << holds << " |\n";
  }
  report << "\n";
  if (Status stopped = watch.Stop(); !stopped.ok()) {
    report << "(watch ended with " << stopped.ToString() << ")\n";
  }
}

void RunMirror(const std::vector<int64_t>& sizes, std::ostringstream& report) {
  report << "\n## Mirror\n\nThe sample tree (bench's realistic shared ensemble) loaded into a "
            "fresh server, then watch's initial read. The mirror keeps no data: per znode, its "
            "own estimate of its heap (its arrays' capacities) and the growth of malloc's "
            "in-use bytes over the read (allocator overhead, and the few fixed buffers of the "
            "watcher and its client, included).\n\n"
         << "| znodes | mean path bytes | estimate bytes/znode | malloc bytes/znode | load s | "
            "initial read s |\n|---|---|---|---|---|---|\n";
  for (int64_t size : sizes) {
    auto cluster = zkserver::ZooKeeperCluster::Start(
        {.config = {{"forceSync", "no"}, {"snapCount", "10000000"}},
         .jvm_flags = {"-Xmx4g", "-XX:+UseSerialGC"}});
    if (!cluster.ok()) {
      report << "| " << size << " | not run: " << cluster.status().ToString() << " |\n";
      continue;
    }
    auto loader = zk::Client::Connect({.connect_string = (*cluster)->ConnectString()});
    if (!loader.ok()) continue;
    std::vector<sampletree::SampleNode> tree =
        sampletree::GenerateSampleTree({.target_nodes = size});
    const std::string prefix = "/mirror";
    if (auto created = (*loader)->Create(prefix, "").get(); !created.ok()) {
      report << "| " << size << " | not run: " << created.status().ToString() << " |\n";
      continue;
    }
    const auto load_start = Clock::now();
    Status loaded = LoadInMultis(**loader, tree, prefix);
    const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    if (!loaded.ok()) {
      report << "| " << size << " | load failed: " << loaded.ToString() << " |\n";
      continue;
    }
    double path_bytes = 0;
    for (const auto& node : tree)
      path_bytes += static_cast<double>(prefix.size() + node.path.size());
    const int64_t expected = static_cast<int64_t>(tree.size()) + 1;
    tree.clear();
    tree.shrink_to_fit();
    ::malloc_trim(0);

    watch::WatchOptions options;
    options.client.connect_string = (*cluster)->ConnectString();
    options.root = prefix;
    CountingSink sink;
    int64_t heap_before = 0;
    int64_t heap_after = 0;
    {
      watch::TreeWatcher watcher(options);
      heap_before = HeapInUse();
      const auto read_start = Clock::now();
      Status ran = watcher.Run(sink, [&] { return sink.rows.load() >= expected; });
      const double read_s = std::chrono::duration<double>(Clock::now() - read_start).count();
      heap_after = HeapInUse();
      watch::WatchStats stats = watcher.stats();
      if (!ran.ok() || stats.mirror_znodes != expected) {
        report << "| " << size << " | read failed: " << ran.ToString() << " ("
               << stats.mirror_znodes << " of " << expected << ") |\n";
        continue;
      }
      const double n = static_cast<double>(stats.mirror_znodes);
      report << "| " << stats.mirror_znodes << " | "
             << Fixed(path_bytes / static_cast<double>(expected - 1), 1) << " | "
             << Fixed(static_cast<double>(stats.mirror_bytes) / n, 0) << " | "
             << Fixed(static_cast<double>(heap_after - heap_before) / n, 0) << " | "
             << Fixed(load_s, 1) << " | " << Fixed(read_s, 1) << " |\n";
    }
  }
}

std::vector<int64_t> ParseSizes(const std::string& text) {
  std::vector<int64_t> sizes;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoll(item));
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::vector<int64_t> mirror_sizes = {100000};
  bool with_caches = true;
  std::string out = WATCH_BENCH_DEFAULT_OUT;
  constexpr const char* kUsage =
      "usage: watch_bench [--seconds S] [--mirror-znodes N[,N...]] [--skip-caches] [--out FILE]\n";
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (flag == "--skip-caches") {
      with_caches = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
    std::string value = argv[++i];
    if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--mirror-znodes") {
      mirror_sizes = ParseSizes(value);
    } else if (flag == "--out") {
      out = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n%s", flag.c_str(), kUsage);
      return 2;
    }
  }
  if (with_caches && !CompileCuratorCache()) {
    std::fprintf(stderr,
                 "compiling java/CuratorCacheEvents.java failed (is "
                 "libcurator-recipes-java installed? see scripts/setup)\n");
    return 1;
  }
  std::ostringstream report;
  report << "# zkarrow watch benchmark\n\nOne run of `watch_bench`"
         << (with_caches ? "" : " --skip-caches") << " on this machine (2 cores shared with "
         << "other work, so absolute numbers are noisy; all watchers of a section ran at the same "
            "time, on the same cores). zkarrow watch is the in-process engine with --flush-ms "
            "100; Curator's CuratorCache is Debian's Curator 5.4 on ZooKeeper's Java client "
            "3.8.0; kazoo's TreeCache is Debian's kazoo 2.8.\n\n";
  {
    auto cluster = zkserver::ZooKeeperCluster::Start(
        {.config = {{"forceSync", "no"}}, .jvm_flags = {"-Xmx2g", "-XX:+UseSerialGC"}});
    if (!cluster.ok()) {
      std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
      return 1;
    }
    const std::string connect = (*cluster)->ConnectString();
    auto writer = zk::Client::Connect({.connect_string = connect});
    if (!writer.ok()) return 1;
    std::vector<sampletree::SampleNode> nodes = {{kRoot, ""}};
    for (int i = 0; i < kNodes; ++i) nodes.push_back({NodePath(i), Value(-1)});
    if (!sampletree::LoadSampleTree(**writer, nodes).ok()) return 1;

    watch::WatchOptions options;
    options.client.connect_string = connect;
    options.root = kRoot;
    options.flush_interval = std::chrono::milliseconds(100);
    InProcessWatch watch(options);
    std::unique_ptr<CacheProcess> curator, kazoo;
    if (with_caches) {
      curator = StartCurator(connect, kRoot, "/tmp/watch-bench-curator.log");
      kazoo = StartKazoo(connect, kRoot, "/tmp/watch-bench-kazoo.log");
      if (!curator || !kazoo || !curator->WaitReady(kDeadline) || !kazoo->WaitReady(kDeadline)) {
        std::fprintf(stderr, "a cache did not start; see /tmp/watch-bench-*.log\n");
        return 1;
      }
    }
    // The initial rows are flushed once the watch is in place.
    if (!watch.sink().appended.WaitFor(
            [](const Report& r) { return r.path == NodePath(kNodes - 1); }, kDeadline)) {
      std::fprintf(stderr, "watch did not start\n");
      return 1;
    }
    RunThroughput(**writer, {&watch, curator.get(), kazoo.get()}, seconds, report);
    Status stopped = watch.Stop();
    if (!stopped.ok()) std::fprintf(stderr, "watch: %s\n", stopped.ToString().c_str());
    if (curator && !curator->Stop()) std::fprintf(stderr, "CuratorCacheEvents failed\n");
    if (kazoo && !kazoo->Stop()) std::fprintf(stderr, "watch_treecache.py failed\n");
  }
  RunLossiness(with_caches, report);
  RunMirror(mirror_sizes, report);
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  return 0;
}
