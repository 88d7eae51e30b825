// `zkarrow demo`: the main job end to end on an embedded default. Starts a
// private ZooKeeper (Debian's package) on a free loopback port, loads a
// realistic sample tree, snapshots it to an Arrow file, shows `inspect` and
// the first rows, and stops the server.
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/child_process.h"
#include "cli/commands.h"
#include "cli/output_target.h"
#include "cli/snapshot_command.h"
#include "sampletree/sample_tree.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow::cli {
namespace {

struct DemoArgs {
  std::string output = "zkarrow-demo.arrow";
  int64_t nodes = 3000;
};

// Runs this same binary with `args` (inspect, cat), sharing stdout.
int RunSelf(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/proc/self/exe"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::fflush(stdout);
  Result<pid_t> pid = SpawnTiedChild(argv, {});
  if (!pid.ok()) return ReportFailure("demo", pid.status());
  int status = 0;
  if (::waitpid(*pid, &status, 0) != *pid || !WIFEXITED(status)) return kExitFailure;
  return WEXITSTATUS(status);
}

int Fail(const Status& status) { return ReportFailure("demo", status); }

int RunDemo(const DemoArgs& args) {
  // The demo narrates on stdout and then inspects the table from its file:
  // a table on stdout would come out mixed with the narration.
  if (args.output == "-") {
    return ReportUsageError("demo",
                            "-o - is not for the demo, which prints its steps on stdout; give a "
                            "file name (default zkarrow-demo.arrow), or use snapshot -o -");
  }
  // Checked before the server starts and the tree loads (minutes with a
  // large --nodes), with snapshot's words; the snapshot opens it again.
  if (auto output = OutputTarget::Open(args.output); !output.ok()) return Fail(output.status());
  std::printf("== Starting a private ZooKeeper (Debian's zookeeper package) on 127.0.0.1...\n");
  std::fflush(stdout);
  auto cluster = zkserver::ZooKeeperCluster::Start({});
  if (!cluster.ok()) return Fail(cluster.status());
  std::string connect = (*cluster)->ConnectString();
  std::printf("   serving on %s, data in %s\n", connect.c_str(), (*cluster)->root().c_str());

  zk::ClientOptions options;
  options.connect_string = connect;
  auto loader = zk::Client::Connect(options);
  if (!loader.ok()) return Fail(loader.status());
  std::vector<sampletree::SampleNode> tree =
      sampletree::GenerateSampleTree({.target_nodes = args.nodes});
  std::printf(
      "== Loading a sample tree: %zu znodes (Kafka, SolrCloud, HBase, config store, "
      "locks and services; ephemerals included)\n",
      tree.size());
  std::fflush(stdout);
  int64_t bytes = 0;
  if (Status loaded = sampletree::LoadSampleTree(**loader, tree, &bytes); !loaded.ok()) {
    return Fail(loaded.WithContext("loading the sample tree"));
  }

  std::printf("== zkarrow snapshot --zk %s --acl --typed -o %s\n", connect.c_str(),
              args.output.c_str());
  std::fflush(stdout);
  SnapshotArgs snapshot;
  snapshot.connection.zk = connect;
  snapshot.output = args.output;
  snapshot.acl = true;
  snapshot.typed = true;
  if (int code = RunSnapshot(snapshot); code != kExitOk) return code;

  std::printf("\n== zkarrow inspect %s\n", args.output.c_str());
  if (int code = RunSelf({"inspect", args.output}); code != kExitOk) return code;
  std::printf("\n== zkarrow cat %s --limit 15\n", args.output.c_str());
  if (int code = RunSelf({"cat", args.output, "--limit", "15", "--columns",
                          "path,kind,data_length,num_children,mzxid,value_type,value_text"});
      code != kExitOk) {
    return code;
  }
  std::printf(
      "\n== Stopping ZooKeeper. The table stays in %s: read it with pandas "
      "(pyarrow.ipc.open_file), Polars (pl.read_ipc) or DuckDB.\n",
      args.output.c_str());
  return kExitOk;
}

}  // namespace

void RegisterDemoCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* command = app.add_subcommand(
      "demo", "Snapshot a sample tree on a private, embedded ZooKeeper: no setup needed");
  command->add_option("-o,--output", args->output, "Where to write the table")
      ->default_str("zkarrow-demo.arrow");
  command->add_option("--nodes", args->nodes, "Approximate size of the sample tree")
      ->check(CLI::Range(100, 10000000))
      ->default_str("3000");
  command->callback([args, &runner] { runner = [args] { return RunDemo(*args); }; });
}

}  // namespace zkarrow::cli
