// treesync_bench [--nodes N] [--rounds R] [--out FILE] [--diff-limit N]
//
// `zkarrow restore` (from a snapshot file) and `zkarrow copy` (live to live)
// against zkcopy's approach (read the whole tree, then batches of multi
// creates, many in flight, parents first) implemented with the official C
// client (bench/c_client_copy.c) and with kazoo (bench/kazoo_copy.py), and
// copies without ACLs (`copy --no-acl` against the C client reading none),
// in the same run, each as its own process: a source server holding the sample
// tree of N znodes (default 100k) and a target server (both forceSync=no,
// so the disk of this machine does not bound them; its JIT warmed by 20k
// creates first), every method writing its own fresh subtree of the
// target, R rounds in rotation. Reports znodes/s (znodes created on the
// target, counted there afterwards, over the process's wall time) and peak
// RSS (from bench_rusage_exec, so the runner's own memory is not counted);
// checks with `zkarrow diff` that the copies are equal (up to --diff-limit
// znodes, default 200k; above it the counts are compared). Prints a markdown
// report and writes it to FILE (bench/results/treesync.md). Heavy: run it
// under `flock /tmp/zkarrow-heavy.lock`.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "bench_flags.h"
#include "sampletree/sample_tree.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace {

using namespace zkarrow;
using Clock = std::chrono::steady_clock;

struct Run {
  int exit = -1;
  double seconds = 0;
  long max_rss_kb = 0;
};

// Runs argv as a grandchild through bench_rusage_exec (stdout and stderr to
// `log`): a child forked from this process would start with this process's
// peak RSS (the generated tree: hundreds of MB at 1M znodes) as its own.
Run Execute(const std::vector<std::string>& argv, const std::string& log) {
  Run run;
  const std::string report = log + ".rusage";
  const auto started = Clock::now();
  std::vector<std::string> args = {BENCH_RUSAGE_EXEC, report};
  args.insert(args.end(), argv.begin(), argv.end());
  Result<pid_t> spawned = SpawnTiedChild(args, {.stdout_path = log, .stderr_to_stdout = true});
  if (!spawned.ok()) std::fprintf(stderr, "%s\n", spawned.status().ToString().c_str());
  const pid_t pid = spawned.ok() ? *spawned : -1;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid) {
    run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  double user = 0, system = 0;
  int exit = -1;
  std::ifstream(report) >> user >> system >> run.max_rss_kb >> exit;
  std::filesystem::remove(report);
  return run;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t nodes = 100000;
  int rounds = 1;
  std::string out = TREESYNC_BENCH_DEFAULT_OUT;
  int64_t diff_limit = 200000;
  constexpr const char* kUsage =
      "usage: treesync_bench [--nodes N] [--rounds R] [--out FILE] [--diff-limit N]\n";
  if (auto exit_code = bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", [&](const std::string& v) { nodes = std::stoll(v); }},
           {"--rounds", [&](const std::string& v) { rounds = std::stoi(v); }},
           {"--out", [&](const std::string& v) { out = v; }},
           {"--diff-limit", [&](const std::string& v) { diff_limit = std::stoll(v); }}})) {
    return *exit_code;
  }

  zkserver::ClusterOptions server;
  server.config = {{"forceSync", "no"}};
  // The target holds every method's copy: 4 methods x 1M znodes need more
  // than the 3 GB the 1M source needs.
  server.jvm_flags = {"-Xmx8g", "-XX:+UseSerialGC"};
  auto source = zkserver::ZooKeeperCluster::Start(server);
  auto target = zkserver::ZooKeeperCluster::Start(server);
  if (!source.ok() || !target.ok()) {
    std::fprintf(stderr, "starting ZooKeeper: %s %s\n", source.status().ToString().c_str(),
                 target.status().ToString().c_str());
    return 1;
  }
  const std::string source_hosts = (*source)->ConnectString();
  const std::string target_hosts = (*target)->ConnectString();
  auto loader = zk::Client::Connect({.connect_string = source_hosts});
  auto counter = zk::Client::Connect({.connect_string = target_hosts});
  if (!loader.ok() || !counter.ok()) {
    std::fprintf(stderr, "connecting failed\n");
    return 1;
  }
  auto tree = sampletree::GenerateSampleTree({.target_nodes = nodes});
  const size_t tree_size = tree.size();
  const auto load_started = Clock::now();
  Status loaded = sampletree::LoadSampleTree(**loader, tree);
  if (!loaded.ok()) {
    std::fprintf(stderr, "loading: %s\n", loaded.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "loaded %zu znodes in %.1f s\n", tree_size,
               std::chrono::duration<double>(Clock::now() - load_started).count());
  tree = {};
  // The target's JIT, warmed before anything is measured (the first method
  // to write would otherwise pay for it: 18k vs 42k znodes/s at 100k).
  Status warmed = sampletree::LoadSampleTree(**counter, [] {
    auto warmup = sampletree::GenerateSampleTree({.target_nodes = 20000});
    for (auto& node : warmup) node.path = "/warmup" + node.path;
    warmup.insert(warmup.begin(), {"/warmup", ""});
    return warmup;
  }());
  if (!warmed.ok()) {
    std::fprintf(stderr, "warming the target: %s\n", warmed.ToString().c_str());
    return 1;
  }
  const std::filesystem::path work =
      std::filesystem::temp_directory_path() / ("treesync-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(work);
  const std::string file = (work / "source.arrow").string();
  const std::string zkarrow = ZKARROW_BINARY;
  Run snapshot = Execute({zkarrow, "snapshot", "--zk", source_hosts, "--acl", "-o", file},
                         (work / "snapshot.log").string());
  if (snapshot.exit != 0) {
    std::fprintf(stderr, "snapshot failed:\n%s", Slurp((work / "snapshot.log").string()).c_str());
    return 1;
  }

  struct Method {
    std::string name;
    std::function<std::vector<std::string>(const std::string& root)> argv;
  };
  const std::vector<Method> methods = {
      {"zkarrow restore (file)",
       [&](const std::string& root) {
         return std::vector<std::string>{zkarrow, "restore", file, "zk://" + target_hosts + root};
       }},
      {"zkarrow copy (live)",
       [&](const std::string& root) {
         return std::vector<std::string>{zkarrow, "copy", "zk://" + source_hosts + "/",
                                         "zk://" + target_hosts + root};
       }},
      {"C client, zkcopy's approach",
       [&](const std::string& root) {
         return std::vector<std::string>{BENCH_C_CLIENT_COPY, source_hosts, "/", target_hosts,
                                         root};
       }},
      // ACLs read by one session instead of the default several (see
      // treesync::kAclReadSessions).
      {"zkarrow copy --sessions 1 (live)",
       [&](const std::string& root) {
         return std::vector<std::string>{
             zkarrow,      "copy", "zk://" + source_hosts + "/", "zk://" + target_hosts + root,
             "--sessions", "1"};
       }},
      // Without ACLs (zkcopy's own behaviour, everything world-open): no
      // getACL per node on either side.
      {"zkarrow copy --no-acl (live)",
       [&](const std::string& root) {
         return std::vector<std::string>{zkarrow, "copy", "zk://" + source_hosts + "/",
                                         "zk://" + target_hosts + root, "--no-acl"};
       }},
      {"C client, zkcopy's approach, no ACLs",
       [&](const std::string& root) {
         return std::vector<std::string>{
             BENCH_C_CLIENT_COPY, source_hosts, "/", target_hosts, root, "1000", "8", "no-acl"};
       }},
      {"kazoo, zkcopy's approach",
       [&](const std::string& root) {
         return std::vector<std::string>{
             "/usr/bin/python3", TREESYNC_BENCH_SOURCE_DIR "/kazoo_copy.py",
             source_hosts,       "/",
             target_hosts,       root};
       }},
  };
  std::map<std::string, std::vector<std::pair<Run, int64_t>>> results;
  std::vector<std::string> roots;
  for (int round = 0; round < rounds; ++round) {
    for (size_t m = 0; m < methods.size(); ++m) {
      const std::string root = "/r" + std::to_string(round) + "m" + std::to_string(m);
      const std::string log = (work / ("run" + root.substr(1) + ".log")).string();
      Run run = Execute(methods[m].argv(root), log);
      if (run.exit != 0) {
        std::fprintf(stderr, "%s failed (exit %d):\n%s", methods[m].name.c_str(), run.exit,
                     Slurp(log).c_str());
        return 1;
      }
      auto created = (*counter)->GetAllChildrenNumber(root).get();
      const int64_t znodes = created.ok() ? *created + 1 : 0;
      results[methods[m].name].push_back({run, znodes});
      roots.push_back(root);
      std::fprintf(stderr, "%s: %lld znodes in %.2f s: %s", methods[m].name.c_str(),
                   static_cast<long long>(znodes), run.seconds, Slurp(log).c_str());
    }
  }
  // The copies must agree: every method's subtree against the first's (by
  // diff, or by count past --diff-limit: a diff reads both trees with one
  // getACL per node).
  std::string agreement;
  const bool diffed = static_cast<int64_t>(tree_size) <= diff_limit;
  if (!diffed) {
    const int64_t first = results.begin()->second.front().second;
    bool same = true;
    for (const auto& [name, runs] : results) {
      for (const auto& [run, znodes] : runs) same = same && znodes == first;
    }
    agreement = "- not diffed (over --diff-limit); znode counts " +
                std::string(same ? "all equal" : "DIFFER") + "\n";
  }
  for (size_t i = 1; diffed && i < roots.size(); ++i) {
    Run diff = Execute({zkarrow, "diff", "zk://" + target_hosts + roots[0],
                        "zk://" + target_hosts + roots[i], "--format", "summary"},
                       (work / "diff.log").string());
    agreement += "- `" + roots[0] + "` vs `" + roots[i] + "`: " +
                 (diff.exit == 0 ? "equal" : "DIFFERENT: " + Slurp((work / "diff.log").string())) +
                 "\n";
  }

  std::ostringstream report;
  report << "# diff / restore / copy: znodes written per second\n\n"
         << "`build-*/bench/treesync_bench --nodes " << nodes << " --rounds " << rounds
         << "`: the sample tree of " << tree_size
         << " generated znodes (ephemerals are skipped by every method) on one ZooKeeper "
            "3.8 server, copied to a second one (forceSync=no, its JIT warmed by 20k "
            "creates) on the same machine; each method a separate process writing a fresh "
            "subtree. zkcopy's approach: the whole tree read into memory, then multi "
            "batches of 1,000 creates, 8 in flight; \"no ACLs\": neither side reads or "
            "copies ACLs (zkcopy's own behaviour). znodes/s = znodes under the subtree "
            "afterwards / the process's wall time (reading included); peak RSS of the "
            "process (`bench_rusage_exec`).\n\n"
         << "| method | znodes | seconds | znodes/s | peak RSS |\n|---|---:|---:|---:|---:|\n";
  char line[256];
  for (const Method& method : methods) {
    for (const auto& [run, znodes] : results[method.name]) {
      std::snprintf(line, sizeof(line), "| %s | %lld | %.2f | %.0f | %.0f MB |\n",
                    method.name.c_str(), static_cast<long long>(znodes), run.seconds,
                    static_cast<double>(znodes) / run.seconds,
                    static_cast<double>(run.max_rss_kb) / 1024.0);
      report << line;
    }
  }
  std::snprintf(line, sizeof(line), "\nThe snapshot file (`snapshot --acl`) took %.2f s.\n\n",
                snapshot.seconds);
  report << line << "Copies compared" << (diffed ? " with `zkarrow diff`" : "") << ":\n"
         << agreement;
  std::printf("%s", report.str().c_str());
  std::ofstream(out) << report.str();
  std::filesystem::remove_all(work);
  return 0;
}
