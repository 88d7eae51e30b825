// `zkarrow snapshot`: the znode table of a live ensemble (--zk) or of
// ZooKeeper's own data directory (--data-dir), as an Arrow IPC file or stream.
#include "cli/snapshot_command.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/heap_policy.h"
#include "cli/ipc_options.h"
#include "cli/number_checks.h"
#include "cli/output_target.h"
#include "cli/progress_line.h"
#include "zk/client.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/live/tree_walker.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::cli {

Result<int64_t> ParseZxid(const std::string& text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  std::string_view digits = std::string_view(text).substr(hex ? 2 : 0);
  int64_t zxid = 0;
  auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), zxid, hex ? 16 : 10);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || zxid < 0) {
    return UsageError("--zxid wants a zxid in decimal or 0x hex, not '" + text + "'");
  }
  return zxid;
}

namespace {

int Fail(const Status& status) { return ReportFailure("snapshot", status); }

Status SnapshotLive(const SnapshotArgs& args, znodes::ZnodeTableOptions table_options,
                    OutputTarget& output) {
  ZKA_ASSIGN_OR_RETURN(zk::ClientOptions client_options, MakeClientOptions(args.connection));
  ZKA_ASSIGN_OR_RETURN(auto sessions, ConnectSessions(client_options, args.sessions));
  table_options.schema_metadata = {
      {znodes::kMetaSource, args.connection.zk},
      {znodes::kMetaRoot, args.path},
      {znodes::kMetaStartTime, IsoTimeNow()},
      {znodes::kMetaVersion, ZKARROW_VERSION},
      {znodes::kMetaData, args.no_data ? znodes::kMetaDataNotRead : znodes::kMetaDataRead},
  };
  ZKA_ASSIGN_OR_RETURN(auto writer, znodes::ZnodeTableWriter::Open(output.stream(), table_options));

  znodes::WalkOptions walk;
  walk.root = args.path;
  walk.read_data = !args.no_data;
  walk.read_acl = args.acl;
  walk.max_depth = args.max_depth;
  walk.excludes = args.excludes;
  walk.nodes_per_batch = args.batch_nodes;
  walk.batches_in_flight_per_session = args.in_flight;
  std::vector<zk::Client*> clients;
  for (auto& session : sessions) clients.push_back(session.get());

  ProgressLine progress("znodes");
  znodes::WalkStats stats;
  auto started = std::chrono::steady_clock::now();
  ZKA_RETURN_IF_ERROR(znodes::WalkTree(
      clients, walk, [&](const znodes::ZnodeRecord& record) { return writer->Append(record); },
      &stats, [&](const znodes::WalkStats& s) { progress.Update(s.znodes, s.data_bytes); }));
  ZKA_RETURN_IF_ERROR(writer->Finish({
      {znodes::kMetaMinZxid, std::to_string(stats.min_czxid)},
      {znodes::kMetaMaxZxid, std::to_string(stats.max_zxid)},
      {znodes::kMetaEndTime, IsoTimeNow()},
      {znodes::kMetaZnodes, std::to_string(stats.znodes)},
  }));
  ZKA_RETURN_IF_ERROR(output.Commit());
  progress.Clear();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(
      stderr,
      "zkarrow snapshot: %s znodes (%s of data) from %s in %.2f s, %s znodes/s; "
      "%s errors, %s vanished during the walk, %s subtrees excluded; wrote %s%s\n",
      FormatCount(stats.znodes).c_str(), FormatBytes(stats.data_bytes).c_str(),
      args.connection.zk.c_str(), seconds,
      FormatCount(static_cast<int64_t>(static_cast<double>(stats.znodes) / std::max(seconds, 1e-9)))
          .c_str(),
      FormatCount(stats.errors).c_str(), FormatCount(stats.vanished).c_str(),
      FormatCount(stats.excluded).c_str(), FormatBytes(output.bytes_written()).c_str(),
      output.is_stdout() ? " to stdout" : (" to " + args.output).c_str());
  return Status::Ok();
}

Status SnapshotDataDir(const SnapshotArgs& args, znodes::ZnodeTableOptions table_options,
                       OutputTarget& output) {
  KeepFreedHeapMemory();
  znodes::DataDirOptions options;
  options.dir = args.data_dir;
  if (!args.zxid.empty()) {
    ZKA_ASSIGN_OR_RETURN(options.target_zxid, ParseZxid(args.zxid));
  }
  table_options.schema_metadata = {
      {znodes::kMetaSource, "data-dir:" + args.data_dir},
      {znodes::kMetaRoot, "/"},
      {znodes::kMetaStartTime, IsoTimeNow()},
      {znodes::kMetaVersion, ZKARROW_VERSION},
      {znodes::kMetaData, znodes::kMetaDataRead},
  };
  ZKA_ASSIGN_OR_RETURN(auto writer, znodes::ZnodeTableWriter::Open(output.stream(), table_options));
  ProgressLine progress("znodes");
  int64_t rows = 0;
  int64_t bytes = 0;
  znodes::DataDirSummary summary;
  ZKA_RETURN_IF_ERROR(znodes::ReadDataDir(
      options,
      [&](const znodes::ZnodeRecord& record) {
        ++rows;
        if (record.data) bytes += static_cast<int64_t>(record.data->size());
        progress.Update(rows, bytes);
        return writer->Append(record);
      },
      &summary));
  progress.Clear();
  for (const std::string& warning : summary.warnings) {
    std::fprintf(stderr, "zkarrow snapshot: warning: %s\n", warning.c_str());
  }
  ZKA_RETURN_IF_ERROR(writer->Finish({
      {znodes::kMetaMinZxid, std::to_string(summary.min_zxid_seen)},
      {znodes::kMetaMaxZxid, std::to_string(summary.last_zxid)},
      {znodes::kMetaEndTime, IsoTimeNow()},
      {znodes::kMetaZnodes, std::to_string(rows)},
      {"zkarrow.snapshot_file", summary.snapshot.string()},
  }));
  ZKA_RETURN_IF_ERROR(output.Commit());
  std::fprintf(stderr,
               "zkarrow snapshot: %s znodes (%s of data) from %s + %zu transaction logs "
               "(%zu transactions), tree as of zxid 0x%llx; wrote %s\n",
               FormatCount(rows).c_str(), FormatBytes(bytes).c_str(),
               summary.snapshot.filename().c_str(), summary.logs_replayed,
               summary.transactions_applied, static_cast<unsigned long long>(summary.last_zxid),
               FormatBytes(output.bytes_written()).c_str());
  return Status::Ok();
}

}  // namespace

int RunSnapshot(const SnapshotArgs& args) {
  if (args.connection.zk.empty() == args.data_dir.empty()) {
    return ReportUsageError(
        "snapshot",
        "say where the tree comes from: either --zk HOST:PORT[,...][/chroot] (a live ensemble) "
        "or --data-dir DIR (ZooKeeper's data directory)");
  }
  if (!args.zxid.empty() && args.data_dir.empty()) {
    return ReportUsageError("snapshot",
                            "--zxid needs --data-dir (live reads see only the present)");
  }
  if (!args.data_dir.empty() &&
      (args.no_data || args.acl || args.max_depth >= 0 || !args.excludes.empty() ||
       args.path != "/" || !args.connection.auth.empty() || !args.connection.auth_file.empty() ||
       args.sessions != 1)) {
    return ReportUsageError(
        "snapshot",
        "--path, --no-data, --acl, --max-depth, --exclude, --auth, --auth-file and --sessions "
        "apply to live reads (--zk); --data-dir always reads the whole tree with data and ACLs");
  }
  if (Status path = CheckZnodePath(args.path, "--path"); !path.ok()) return Fail(path);
  if (Status tty = CheckArrowNotToTerminal(args.output); !tty.ok()) return Fail(tty);
  // Offline the rows come as fast as memory allows, and copying the output
  // into the page cache, then writing it back at the fsync, was the larger
  // part of a run; a live walk waits on the ensemble instead.
  auto output = OutputTarget::Open(args.output, {.direct_io = !args.data_dir.empty()});
  if (!output.ok()) return Fail(output.status());
  znodes::ZnodeTableOptions table_options;
  table_options.format = args.ipc.ResolveFormat((*output)->is_stdout());
  table_options.compression = args.ipc.compression;
  table_options.typed_values = args.typed;
  table_options.string_view = args.string_view;
  Status status = args.connection.zk.empty() ? SnapshotDataDir(args, table_options, **output)
                                             : SnapshotLive(args, table_options, **output);
  return status.ok() ? kExitOk : Fail(status);
}

void RegisterSnapshotCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<SnapshotArgs>();
  CLI::App* command = app.add_subcommand(
      "snapshot", "Read a ZooKeeper tree (live or from its data directory) into an Arrow table");
  command->footer(
      "Examples:\n"
      "  zkarrow snapshot --zk 127.0.0.1:2181 -o tree.arrow\n"
      "  zkarrow snapshot --zk zk1:2181,zk2:2181/kafka --path /brokers --acl -o - | ...\n"
      "  zkarrow snapshot --data-dir /var/lib/zookeeper --zxid 0x1a2b -o past.arrow\n"
      "Credentials: --auth-file FILE (SCHEME:CREDENTIAL lines, mode 600) or $ZKARROW_AUTH keep\n"
      "them out of ps and shell history; digest credentials are sent in clear text.");
  AddZkConnectionOptions(*command, args->connection, /*zk_required=*/false,
                         ZkTlsNames::kAlsoUnprefixed);
  command->add_option("--data-dir", args->data_dir,
                      "Offline: ZooKeeper's dataDir (or its version-2 folder)");
  command->add_option("--zxid", args->zxid,
                      "With --data-dir: the tree as of this zxid (decimal or 0x hex)");
  command->add_option("--path", args->path, "Subtree to read (live)")->default_str("/");
  command->add_option("-o,--output", args->output, "Output file, or - for stdout")->required();
  command->add_flag("--no-data", args->no_data, "Do not keep node data (stat only)");
  command->add_flag("--acl", args->acl, "Read every node's ACL into the acl column");
  command->add_flag("--typed", args->typed,
                    "Add value_type/value_int/value_float/value_text columns");
  command->add_flag("--string-view", args->string_view,
                    "Write path, name and parent as utf8_view (Arrow format 1.4; off by "
                    "default: every reader reads utf8, see the README's measurements)");
  command->add_option("--max-depth", args->max_depth, "Levels below --path to read")
      ->check(kNonNegative);
  command->add_option("--exclude", args->excludes,
                      "Glob on the absolute path; prunes matching subtrees (repeatable)");
  command->add_option("--sessions", args->sessions, "ZooKeeper sessions to read with")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command->add_option("--batch-nodes", args->batch_nodes, "Nodes per multiRead request")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  command->add_option("--in-flight", args->in_flight, "multiRead requests in flight per session")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  AddIpcOutputOptions(*command, args->ipc);
  command->callback([args, &runner] { runner = [args] { return RunSnapshot(*args); }; });
}

}  // namespace zkarrow::cli
