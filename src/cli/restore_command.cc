// `zkarrow restore SOURCE zk://HOST:PORT/target`: makes a live subtree equal
// a source tree (a znode-table file, another live subtree, a data
// directory), in guarded multi batches or, with --atomic, one transaction.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/number_checks.h"
#include "cli/progress_line.h"
#include "cli/stop_signal.h"
#include "cli/treesync_cli.h"
#include "treesync/restore.h"

namespace zkarrow::cli {
namespace {

Result<treesync::RestoreMode> ParseMode(const std::string& text) {
  for (size_t i = 0; i < treesync::kRestoreModeNames.size(); ++i) {
    if (treesync::kRestoreModeNames[i] == text) return static_cast<treesync::RestoreMode>(i);
  }
  return UsageError("--mode wants create, update or mirror, not '" + text + "'");
}

// What restore left alone below the source's unreadable nodes and why, as
// a line of its own; "" when it left nothing.
std::string UnreadableLine(const std::string& verb, const treesync::UnreadableCount& count) {
  const std::string text = treesync::UnreadableText(count, "the target", "the source");
  if (text.empty()) return "";
  const std::string it = count.subtrees == 1 ? "it" : "them";
  return "zkarrow " + verb + ": skipped " + text + ": nothing at or below " + it +
         " was written, the source not saying what is there; take the source again with "
         "credentials that can read " +
         it + "\n";
}

// The restorer's session to the target, before anything is written; a
// source it would write into is refused there.
Result<std::unique_ptr<zk::Client>> ConnectTarget(const treesync::SourceSpec& source,
                                                  const treesync::SourceSpec& target,
                                                  const zk::ClientOptions& options) {
  auto client = zk::Client::Connect(options);
  if (!client.ok()) {
    return AsSignalStop(
        client.status().WithContext("nothing was written: connecting to the target " + target.text),
        " while connecting to " + target.text + "; nothing was written");
  }
  ZKA_RETURN_IF_ERROR(treesync::CheckSourceNotWrittenIntoItself(source, target, **client));
  return client;
}

// --dry-run: the plan as diff rows, and a summary line.
Status DryRun(const std::string& verb, const RestoreArgs& args, const treesync::SourceSpec& source,
              const treesync::SourceSpec& target, const treesync::SourceOptions& source_options,
              const zk::ClientOptions& client_options, const treesync::RestoreOptions& options) {
  treesync::RestoreStats stats;
  ZKA_ASSIGN_OR_RETURN(auto records, treesync::OpenSource(source, source_options, nullptr));
  ZKA_ASSIGN_OR_RETURN(auto client, ConnectTarget(source, target, client_options));
  treesync::SourceOptions target_read;
  target_read.read_acl = options.restore_acl;
  target_read.stop_requested = StopRequested;
  ZKA_ASSIGN_OR_RETURN(auto current,
                       treesync::OpenLiveTree(*client, target.root, target_read, nullptr));
  ZKA_ASSIGN_OR_RETURN(auto output, DiffOutput::Open(args.format, args.output));
  treesync::DiffCounts counts;
  ZKA_RETURN_IF_ERROR(treesync::PlanRestore(
      *current, *records, options,
      [&](const treesync::DiffRow& row) {
        ++counts.by_change[static_cast<size_t>(row.change)];
        return output->Append(row);
      },
      &stats));
  ZKA_RETURN_IF_ERROR(output->Finish(counts));
  std::fprintf(stderr,
               "zkarrow %s: dry run, nothing written: %s; would skip %lld ephemeral nodes and "
               "leave %lld kind mismatches\n",
               verb.c_str(), DiffCountsText(counts).c_str(),
               static_cast<long long>(stats.skipped_ephemeral),
               static_cast<long long>(stats.kind_mismatches));
  std::fputs(UnreadableLine(verb, stats.unreadable).c_str(), stderr);
  return Status::Ok();
}

Status Restore(const std::string& verb, const RestoreArgs& args) {
  if (args.acl && args.no_acl) return UsageError("--acl and --no-acl exclude each other");
  if (!args.connection.zk.empty()) {
    return UsageError("the target names its ensemble (zk://HOST:PORT/path): --zk is not used");
  }
  ZKA_ASSIGN_OR_RETURN(treesync::RestoreMode mode, ParseMode(args.mode));
  ZKA_ASSIGN_OR_RETURN(treesync::SourceSpec source, ParseSourceArgument(args.source, "source"));
  ZKA_ASSIGN_OR_RETURN(treesync::SourceSpec target, ParseSourceArgument(args.target, "target"));
  if (target.kind != treesync::SourceSpec::Kind::kLive) {
    return UsageError("the target must be a live subtree, zk://HOST:PORT[,...]/path, not '" +
                      args.target + "'");
  }
  if (verb == "copy" && source.kind != treesync::SourceSpec::Kind::kLive) {
    return UsageError("copy reads a live subtree, zk://HOST:PORT[,...]/path, not '" + args.source +
                      "' (restore takes files and data directories)");
  }
  if (args.dry_run && args.atomic) return UsageError("--dry-run and --atomic exclude each other");
  if (args.dry_run && args.format == DiffFormat::kArrow) {
    ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  }
  if (Status apart = treesync::CheckSourceAndTargetApart(source, target, mode); !apart.ok()) {
    return UsageError(apart.message());
  }
  ZKA_ASSIGN_OR_RETURN(treesync::SourceOptions source_options, MakeSourceOptions(args.connection));
  source_options.read_acl = !args.no_acl;
  source_options.sessions =
      args.sessions > 0 ? args.sessions : (args.no_acl ? 1 : treesync::kAclReadSessions);
  const auto started = std::chrono::steady_clock::now();
  zk::ClientOptions client_options = source_options.client;
  client_options.connect_string = target.connect;
  if (args.max_request_bytes > 0) {
    client_options.max_request_bytes = static_cast<size_t>(args.max_request_bytes);
  }

  treesync::RestoreOptions options;
  options.mode = mode;
  options.atomic = args.atomic;
  options.restore_acl = !args.no_acl;
  options.require_acl = args.acl;
  options.max_request_bytes = client_options.max_request_bytes;
  options.batches_in_flight = args.in_flight;
  options.max_ops_per_batch = args.batch_ops;
  options.has_credentials = HasIdentity(client_options);
  // SIGINT and SIGTERM stop the run between batches rather than in the
  // middle of one: the batches in flight are waited for, and the summary
  // says what was written and what is left, instead of the process
  // vanishing with the target half-written. A dry run stops reading; a
  // connect stops waiting for a server that does not answer.
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());
  options.stop_requested = StopRequested;
  source_options.stop_requested = StopRequested;
  client_options.abandon_connect = StopRequested;
  if (args.dry_run) {
    return AsSignalStop(DryRun(verb, args, source, target, source_options, client_options, options),
                        " during the dry run, before its plan was complete; nothing was written");
  }
  treesync::RestoreStats stats;
  treesync::SourceInfo source_info;
  ProgressLine progress("batches");
  options.progress = [&](const treesync::RestoreStats& s) {
    progress.Update(s.batches, s.request_bytes);
  };
  Status status;
  if (source.kind == treesync::SourceSpec::Kind::kLive) {
    // Reading and writing overlap when the target is empty.
    ZKA_ASSIGN_OR_RETURN(auto client, ConnectTarget(source, target, client_options));
    status =
        treesync::Copy(source, source_options, *client, target.root, options, &stats, &source_info);
  } else {
    // The whole source is read (and checked) before the first write.
    auto records = treesync::OpenSource(source, source_options, &source_info);
    if (!records.ok()) {
      return AsSignalStop(records.status().WithContext("nothing was written"),
                          " while reading the source; nothing was written");
    }
    ZKA_ASSIGN_OR_RETURN(auto client, ConnectTarget(source, target, client_options));
    status = treesync::Restore(**records, *client, target.root, options, &stats);
  }
  progress.Clear();
  // Failed before any batch went out (a source or target that does not
  // answer, a refusal while planning): a summary of zeros would only stand
  // before the error.
  if (!status.ok() && stats.batches == 0) {
    return AsSignalStop(status.WithContext("nothing was written"),
                        " before the first write; nothing was written");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(stderr,
               "zkarrow %s: %s created, %s updated, %s ACLs set, %s deleted; skipped %s "
               "ephemeral, %s kind mismatches left alone; %s of %s source znodes in %s batches "
               "(%s re-planned, %s of unknown outcome), %s, %.2f s\n",
               verb.c_str(), FormatCount(stats.created).c_str(), FormatCount(stats.updated).c_str(),
               FormatCount(stats.acls_set).c_str(), FormatCount(stats.deleted).c_str(),
               FormatCount(stats.skipped_ephemeral).c_str(),
               FormatCount(stats.kind_mismatches).c_str(), FormatCount(stats.nodes_written).c_str(),
               FormatCount(source_info.records).c_str(), FormatCount(stats.batches).c_str(),
               FormatCount(stats.replanned_batches).c_str(),
               FormatCount(stats.unknown_batches).c_str(), FormatBytes(stats.request_bytes).c_str(),
               seconds);
  std::fputs(UnreadableLine(verb, stats.unreadable).c_str(), stderr);
  for (const std::string& warning : stats.warnings) {
    std::fprintf(stderr, "zkarrow %s: warning: %s\n", verb.c_str(), warning.c_str());
  }
  // A rejected --atomic transaction changed nothing; any other stop after
  // writing left part of the change set, which a new run (planned from
  // what the target then holds) completes.
  const bool wrote_part = args.atomic ? stats.unknown_batches > 0 : stats.batches > 0;
  if (!status.ok() && wrote_part) {
    const std::string unknown = stats.unknown_batches == 0
                                    ? ""
                                    : ", and " + FormatCount(stats.unknown_batches) +
                                          " batches may or may not have applied";
    std::fprintf(stderr,
                 "zkarrow %s: stopped part way: the counts above are the writes confirmed%s; run "
                 "the same command again to finish (it reads the target anew)\n",
                 verb.c_str(), unknown.c_str());
  }
  if (stats.temporary_acls_left > 0) {
    std::fprintf(stderr,
                 "zkarrow %s: the temporary ACL naming the restorer is still on %s created "
                 "node%s (first %s), not the source's: running the same command again sets it\n",
                 verb.c_str(), FormatCount(stats.temporary_acls_left).c_str(),
                 stats.temporary_acls_left == 1 ? "" : "s", stats.first_temporary_acl.c_str());
  }
  return AsSignalStop(status);
}

}  // namespace

void AddRestoreOptions(CLI::App& command, RestoreArgs& args) {
  command
      .add_option("--mode", args.mode,
                  "create: only missing nodes; update: also data and ACLs that differ; "
                  "mirror: also delete nodes the source lacks")
      ->default_str("update");
  command.add_flag("--atomic", args.atomic,
                   "All in one multi transaction, or nothing (refused before writing when it "
                   "does not fit jute.maxbuffer)");
  command.add_flag("--dry-run", args.dry_run,
                   "Print what would change (the diff table's rows), write nothing");
  command.add_flag("--acl", args.acl, "Restore ACLs; fail if the source has none");
  command.add_flag("--no-acl", args.no_acl, "Leave ACLs alone (created nodes get world:anyone)");
  command.add_option("--in-flight", args.in_flight, "multi batches in flight")
      ->check(kPositive)
      ->default_str("8");
  command
      .add_option("--max-request-bytes", args.max_request_bytes,
                  "The target's jute.maxbuffer: batches are planned to 90% of it")
      ->check(CLI::Range(int64_t{64 << 10}, int64_t{1} << 30))
      ->default_str(std::to_string(zk::ClientOptions{}.max_request_bytes));
  command.add_option("--batch-ops", args.batch_ops, "Operations per multi at most")
      ->check(kPositive)
      ->default_str("1000");
  AddSourceSessionsOption(command, args.sessions)
      ->default_str(std::to_string(treesync::kAclReadSessions) + " reading ACLs, 1 with --no-acl");
  command.add_option("-o,--output", args.output, "With --dry-run: output file, or - for stdout")
      ->default_str("-");
  AddDiffFormatOption(command, args.format);
  AddSourceConnectionOptions(command, args.connection);
}

int RunRestore(const std::string& verb, const RestoreArgs& args) {
  return Finish(verb, Restore(verb, args));
}

void RegisterRestoreCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<RestoreArgs>();
  CLI::App* command = app.add_subcommand(
      "restore", "Make a live subtree equal a snapshot, another subtree or a data directory");
  command->footer(
      "Parents before children; restrictive ACLs set after the subtree below exists; ephemeral\n"
      "nodes skipped (the source's, and the target's: mirror leaves them); sequential names\n"
      "kept; container and TTL nodes created as such (TTL needs extendedTypesEnabled on the\n"
      "server). Batches are multi transactions under jute.maxbuffer,\n"
      "guarded by the versions read: a node changed meanwhile is read again and re-planned.\n"
      "Nothing is written at or below a source node that could not be read (a NOAUTH row of a\n"
      "snapshot taken without the credentials to read it): the summary counts such subtrees.\n"
      "SIGINT/SIGTERM stop it between batches, with a summary, or while it connects, exit\n"
      "130/143; re-running an interrupted restore finishes it. A target inside a live source on "
      "the same ensemble\n"
      "is refused, and so is --mode mirror from a live source inside the target (it would\n"
      "delete it), or any mode when that source holds a node at its own place in the\n"
      "target (/a/b/b copying /a/b to /a: it would write into its own source).\n"
      "Examples:\n"
      "  zkarrow restore backup.arrow zk://zk1:2181/app --mode mirror\n"
      "  zkarrow restore datadir:/var/lib/zookeeper@0x1a2b zk://zk1:2181/ --dry-run");
  command->add_option("SOURCE", args->source, "file, zk://HOST:PORT/path or datadir:DIR[@ZXID]")
      ->required();
  command->add_option("TARGET", args->target, "zk://HOST:PORT[,HOST:PORT...]/path")->required();
  AddRestoreOptions(*command, *args);
  command->callback([args, &runner] { runner = [args] { return RunRestore("restore", *args); }; });
}

}  // namespace zkarrow::cli
