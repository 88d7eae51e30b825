// `zkarrow watch`: a live ZooKeeper subtree as an Arrow IPC stream of
// changes (src/watch does the work; this file parses options, owns the
// output files and their rotation, and ends cleanly on a signal or --for).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/choice_option.h"
#include "cli/commands.h"
#include "cli/ipc_options.h"
#include "cli/number_checks.h"
#include "cli/output_target.h"
#include "cli/progress_line.h"
#include "cli/stop_signal.h"
#include "cli/zk_connection.h"
#include "watch/change_writer.h"
#include "watch/tree_watcher.h"
#include "znodes/znode_schema.h"

namespace zkarrow::cli {
namespace {

struct WatchArgs {
  ZkConnectionArgs connection;
  std::string path = "/";
  std::string output;
  bool no_initial = false;
  bool typed = false;
  bool acl = false;
  std::vector<std::string> excludes;
  int flush_ms = 100;
  double for_seconds = 0;  // 0: until SIGINT/SIGTERM
  int64_t rotate_rows = 0;
  int64_t rotate_seconds = 0;
  int64_t resync_seconds = 0;
  int noauth_poll_max_ms = static_cast<int>(watch::WatchOptions{}.unreadable_poll_max.count());
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
};

// The integer conversions (%d, %5d, %05d) of a rotation pattern, and where
// its first other '%' is, if any (%% is an escape).
struct PatternScan {
  int conversions = 0;
  std::optional<size_t> unsupported;
};

PatternScan ScanPattern(const std::string& pattern) {
  PatternScan scan;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 < pattern.size() && pattern[i + 1] == '%') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (j < pattern.size() && pattern[j] == '0') ++j;
    size_t width_start = j;
    while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') ++j;
    if (j - width_start > 2 || j >= pattern.size() || pattern[j] != 'd') {
      if (!scan.unsupported) scan.unsupported = i;
      continue;
    }
    ++scan.conversions;
    i = j;
  }
  return scan;
}

// With rotation, OUT must hold exactly one integer conversion (%d, %05d...)
// and otherwise only %% escapes: it goes to snprintf.
Status CheckRotationPattern(const std::string& pattern) {
  const PatternScan scan = ScanPattern(pattern);
  if (scan.unsupported) {
    return UsageError("-o " + pattern +
                      ": with --rotate-rows/--rotate-seconds, OUT is a pattern with one integer "
                      "conversion such as changes-%05d.arrows; found an unsupported '%' at " +
                      std::to_string(*scan.unsupported));
  }
  if (scan.conversions != 1) {
    return UsageError("-o " + pattern + ": expected exactly one %d-style conversion, found " +
                      std::to_string(scan.conversions));
  }
  return Status::Ok();
}

// Writes the change rows to stdout, one file, or a sequence of files
// (each a complete stream: schema, batches, end-of-stream marker), each an
// OutputTarget.
//
// A single -o FILE gets its name (OutputTarget::NameNow) once the initial
// read is complete (the first Settled, or a clean end before it): a watch
// that fails at the start (a missing root) or is stopped during its initial
// read leaves an existing FILE as it was. A rotated file is created under
// its name and never replaces one. A write the output does not take (a
// reader not reading) ends with kCancelled once `should_stop` says so and
// the output has taken nothing for a second (arrow::kWriteStallBeforeCancel),
// instead of holding the process past its stop.
class StreamSink final : public watch::ChangeSink {
 public:
  StreamSink(const WatchArgs& args, std::function<bool()> should_stop)
      : args_(args), should_stop_(std::move(should_stop)) {}

  // Before the connect, so that an output that cannot be created is said at
  // once, not after the connect and the initial read: a single output is
  // opened (a FILE's data goes to an unnamed file until it is named), the
  // directory of rotated files checked.
  Status Prepare() {
    if (!Rotating()) return OpenOutput();
    std::filesystem::path directory = std::filesystem::path(RotatedName(0)).parent_path();
    if (directory.empty()) directory = ".";
    if (::access(directory.c_str(), W_OK) != 0) {
      return Status::FromErrno(errno, "creating files in " + directory.string());
    }
    return Status::Ok();
  }

  Status Start(int64_t start_zxid) override {
    options_.format = arrow::ipc::IpcFormat::kStream;
    options_.compression = args_.compression;
    options_.typed_values = args_.typed;
    options_.schema_metadata = {
        {znodes::kMetaSource, args_.connection.zk},
        {znodes::kMetaRoot, args_.path},
        {znodes::kMetaStartTime, IsoTimeNow()},
        {znodes::kMetaVersion, ZKARROW_VERSION},
        {znodes::kMetaData, znodes::kMetaDataRead},
        {watch::kMetaStartZxid, std::to_string(start_zxid)},
    };
    if (Rotating()) {
      // A new run continues the numbering after the files already there
      // (0, 1, 2... taken in a row) instead of overwriting them.
      while (std::filesystem::exists(RotatedName(file_index_))) ++file_index_;
    }
    return OpenNext();
  }

  Status Append(const watch::ChangeRow& row) override {
    if (Rotating() && writer_ && FileIsFull()) ZKA_RETURN_IF_ERROR(CloseCurrent());
    // A rotated file closed by Tick: the next one starts with this row.
    if (!writer_) ZKA_RETURN_IF_ERROR(OpenNext());
    ++rows_in_file_;
    return Whole(writer_->Append(row));
  }

  Status Flush() override { return writer_ ? Whole(writer_->Flush()) : Status::Ok(); }

  Status Settled(int64_t) override { return output_ ? output_->NameNow() : Status::Ok(); }

  // A full rotated file is closed now, not when the next row comes: a
  // reader of the finished files (one that ships them on, say) gets every
  // row within --rotate-seconds (or once --rotate-rows are in) even while
  // the tree is quiet. The next file is opened by the next row, so a quiet
  // tree adds no empty files.
  Status Tick() override {
    if (Rotating() && writer_ && FileIsFull()) return CloseCurrent();
    // A reader that closed the pipe while the tree is quiet: no write would
    // tell until the next change, and the run would hold its session (for
    // ever, on a tree that stays quiet) for no one.
    return output_ ? output_->CheckReader() : Status::Ok();
  }

  // A clean end: the current file gets its end-of-stream marker.
  Status Finish() { return CloseCurrent(); }

  // After a failed run: the current file is closed without the marker, so
  // that its reader can tell a failure from a clean stop. The rows are
  // already written (Run flushes them either way); a message a failed write
  // cut (a full disk) is taken back, so that the file ends after its last
  // whole message, readable. A file not named yet is discarded (by
  // OutputTarget's destructor).
  Status Abandon() {
    writer_.reset();
    if (!output_) return Status::Ok();
    Status trimmed = output_->TruncateTo(whole_bytes_);
    output_.reset();
    return trimmed;
  }

  int files() const { return files_; }

 private:
  bool Rotating() const { return args_.rotate_rows > 0 || args_.rotate_seconds > 0; }

  bool FileIsFull() const {
    if (args_.rotate_rows > 0 && rows_in_file_ >= args_.rotate_rows) return true;
    return args_.rotate_seconds > 0 && std::chrono::steady_clock::now() - opened_at_ >=
                                           std::chrono::seconds(args_.rotate_seconds);
  }

  // Opens the next file (a single output's only one, if Prepare did not)
  // and starts its stream.
  Status OpenNext() {
    if (!output_) ZKA_RETURN_IF_ERROR(OpenOutput());
    ++files_;
    rows_in_file_ = 0;
    opened_at_ = std::chrono::steady_clock::now();
    ZKA_ASSIGN_OR_RETURN(writer_, watch::ChangeWriter::Open(output_->stream(), options_));
    whole_bytes_ = output_->bytes_written();
    return Status::Ok();
  }

  Status OpenOutput() {
    const std::string name = Rotating() ? RotatedName(file_index_) : args_.output;
    auto output =
        OutputTarget::Open(name, {.create_new = Rotating(), .cancel_check = should_stop_});
    if (Rotating() && !output.ok() && output.status().detail() == EEXIST) {
      return Status::IoError(name +
                             ": the next rotated file exists already (written by another "
                             "watch?); rotation does not overwrite files");
    }
    ZKA_RETURN_IF_ERROR(output.status());
    output_ = std::move(*output);
    ++file_index_;
    return Status::Ok();
  }

  // The writer's calls write whole messages or fail: after one that
  // succeeded, the file ends after a whole message.
  Status Whole(Status written) {
    if (written.ok()) whole_bytes_ = output_->bytes_written();
    return written;
  }

  // OUT with the file number; CheckRotationPattern vetted OUT as a format.
  std::string RotatedName(int index) const {
    const int size = std::snprintf(nullptr, 0, args_.output.c_str(), index);
    std::string name(static_cast<size_t>(std::max(size, 0)), '\0');
    std::snprintf(name.data(), name.size() + 1, args_.output.c_str(), index);
    return name;
  }

  Status CloseCurrent() {
    if (!writer_) return Status::Ok();
    ZKA_RETURN_IF_ERROR(writer_->Finish());
    writer_.reset();
    return std::exchange(output_, nullptr)->Commit();
  }

  const WatchArgs& args_;
  const std::function<bool()> should_stop_;
  watch::ChangeWriterOptions options_;
  std::unique_ptr<OutputTarget> output_;
  int64_t whole_bytes_ = 0;  // of output_, up to the end of its last whole message
  // Writes output_, so declared after it (destroyed before it).
  std::unique_ptr<watch::ChangeWriter> writer_;
  int file_index_ = 0;  // the next rotated file's number
  int files_ = 0;       // files this run wrote
  int64_t rows_in_file_ = 0;
  std::chrono::steady_clock::time_point opened_at_;
};

Status RunWatch(const WatchArgs& args) {
  ZKA_RETURN_IF_ERROR(CheckZnodePath(args.path, "--path"));
  ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  if (args.rotate_rows > 0 || args.rotate_seconds > 0) {
    if (args.output == "-") {
      return UsageError("--rotate-rows/--rotate-seconds write files; -o - (stdout) cannot rotate");
    }
    ZKA_RETURN_IF_ERROR(CheckRotationPattern(args.output));
  } else if (args.output != "-" && ScanPattern(args.output).conversions > 0) {
    // Without rotation there is one file, and its name is taken as written:
    // a file literally named changes-%05d.arrows is not what was meant.
    return UsageError("-o " + args.output +
                      ": a %d-style pattern numbers rotated files; give --rotate-rows or "
                      "--rotate-seconds, or name a single file");
  } else if (std::error_code error;
             args.output != "-" && std::filesystem::is_directory(args.output, error)) {
    // Checked before the connect and the initial read, after which the
    // output is opened.
    return UsageError("-o " + args.output + " is a directory; name a file");
  }
  watch::WatchOptions options;
  ZKA_ASSIGN_OR_RETURN(options.client, MakeClientOptions(args.connection));
  options.root = args.path;
  options.emit_initial = !args.no_initial;
  options.read_acl = args.acl;
  options.excludes = args.excludes;
  options.flush_interval = std::chrono::milliseconds(args.flush_ms);
  options.resync_interval = std::chrono::seconds(args.resync_seconds);
  options.unreadable_poll_max = std::chrono::milliseconds(args.noauth_poll_max_ms);
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());

  const auto started = std::chrono::steady_clock::now();
  // Elapsed seconds compared as a double: --for 1e10 as a time_point would
  // overflow and stop at once.
  auto elapsed_seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  auto should_stop = [&] {
    return StopRequested() || (args.for_seconds > 0 && elapsed_seconds() >= args.for_seconds);
  };
  watch::TreeWatcher watcher(options);
  StreamSink sink(args, should_stop);
  ZKA_RETURN_IF_ERROR(sink.Prepare());
  Status ran = watcher.Run(sink, should_stop);
  if (!ran.ok()) {
    Status abandoned = sink.Abandon();
    return abandoned.ok() ? ran : ran.WithContext(abandoned.ToString());
  }
  if (Status finished = sink.Finish(); !finished.ok()) {
    Status abandoned = sink.Abandon();
    return abandoned.ok() ? finished : finished.WithContext(abandoned.ToString());
  }

  watch::WatchStats stats = watcher.stats();
  double seconds = elapsed_seconds();
  using watch::ChangeEvent;
  auto count = [&](ChangeEvent event) {
    return FormatCount(stats.rows_by_event[static_cast<size_t>(event)]);
  };
  std::fprintf(
      stderr,
      "zkarrow watch: %s rows in %.1f s (%s initial, %s created, %s changed, %s deleted, "
      "%s resyncs) from %s; %s events, %s nodes re-read; mirror of %s znodes, %s "
      "(%s bytes/znode); %d file%s\n",
      FormatCount(stats.rows).c_str(), seconds, count(ChangeEvent::kInitial).c_str(),
      count(ChangeEvent::kCreated).c_str(), count(ChangeEvent::kChanged).c_str(),
      count(ChangeEvent::kDeleted).c_str(), count(ChangeEvent::kResync).c_str(),
      args.connection.zk.c_str(), FormatCount(stats.events).c_str(),
      FormatCount(stats.nodes_read).c_str(), FormatCount(stats.mirror_znodes).c_str(),
      FormatBytes(stats.mirror_bytes).c_str(),
      FormatCount(stats.mirror_znodes > 0 ? stats.mirror_bytes / stats.mirror_znodes : 0).c_str(),
      sink.files(), sink.files() == 1 ? "" : "s");
  return Status::Ok();
}

}  // namespace

void RegisterWatchCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* command = app.add_subcommand(
      "watch",
      "Stream the changes of a live ZooKeeper tree as Arrow rows: every znode's latest state");
  command->footer(
      "Writes an Arrow IPC stream: the znode table's columns plus event (initial, created,\n"
      "changed, deleted, resync), zxid and observed_at. First the tree as it is (initial rows),\n"
      "then changes as they happen. Replaying the rows in order (initial/created/changed put the\n"
      "row at its path, deleted removes it) gives the tree as `snapshot` would read it, across\n"
      "disconnects and session expiry (after which a resync row precedes the differences).\n"
      "ZooKeeper's events carry no data, so a row is the node's state when re-read after its\n"
      "event: changes that pile up before the re-read give one row with the latest state, and\n"
      "intermediate versions are never seen. The version column shows such a merge (a jump,\n"
      "e.g. 245 -> 1247); the last state of every node is always written.\n"
      "ACL-only changes fire no watch in ZooKeeper and are not reported. SIGINT, SIGTERM or\n"
      "--for end the stream cleanly (rows flushed, end-of-stream marker, exit 0), also\n"
      "to a slow reader, except when the output then takes no bytes for a second (a reader\n"
      "not reading): the run ends, without the marker, exit 1. So does a stop during the initial "
      "read or a resync: the\n"
      "rows of that read stop halfway, and their replay is not the tree. A reader closing\n"
      "the pipe ends the run with exit 1.\n"
      "Examples:\n"
      "  zkarrow watch --zk 127.0.0.1:2181 -o - | consumer\n"
      "  zkarrow watch --zk zk1:2181,zk2:2181/kafka --path /brokers --no-initial -o "
      "changes.arrows\n"
      "  zkarrow watch --zk 127.0.0.1:2181 --rotate-rows 100000 -o changes-%05d.arrows\n"
      "  zkarrow watch --zk 127.0.0.1:2181 --exclude '/zookeeper*' --for 60 -o minute.arrows");
  AddZkConnectionOptions(*command, args->connection, /*zk_required=*/true,
                         ZkTlsNames::kAlsoUnprefixed);
  command->add_option("--path", args->path, "Subtree to watch")->default_str("/");
  command
      ->add_option("-o,--output", args->output,
                   "Output stream file, - for stdout, or with --rotate-* a pattern like "
                   "changes-%05d.arrows")
      ->required();
  command->add_flag("--no-initial", args->no_initial,
                    "Do not write the initial state, only changes from now on");
  command->add_flag("--typed", args->typed,
                    "Add value_type/value_int/value_float/value_text columns");
  command->add_flag("--acl", args->acl, "Read the ACL of every row into the acl column");
  command->add_option("--exclude", args->excludes,
                      "Glob on the absolute path; hides matching subtrees (repeatable)");
  command->add_option("--flush-ms", args->flush_ms, "Write buffered rows at least this often")
      ->check(CLI::Range(1, 600000))
      ->default_str("100");
  command->add_option("--for", args->for_seconds, "Stop after this many seconds")->check(kPositive);
  auto* rows = command
                   ->add_option("--rotate-rows", args->rotate_rows,
                                "Close the output file once it holds N rows (the next one "
                                "starts with the next row)")
                   ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  auto* seconds = command
                      ->add_option("--rotate-seconds", args->rotate_seconds,
                                   "Close the output file S seconds after it started, changes "
                                   "or not (the next one starts with the next row)")
                      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  rows->excludes(seconds);
  command
      ->add_option("--resync-seconds", args->resync_seconds,
                   "Also re-read the whole subtree every S seconds (a resync row each time): "
                   "shows nodes the session cannot read appearing under readable parents, "
                   "which servers filtering events by ACL never report")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  command
      ->add_option("--noauth-poll-max-ms", args->noauth_poll_max_ms,
                   "NOAUTH rows (nodes the session cannot read; servers send no event for "
                   "them) are polled for their stat while the tree is quiet, at intervals "
                   "doubling from --flush-ms up to this while they stay the same; at or below "
                   "--flush-ms, every --flush-ms")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  AddChoiceOption(*command, "--compression", args->compression, kCompressionNames,
                  "Arrow body compression of every record batch");
  command->callback(
      [args, &runner] { runner = [args] { return Finish("watch", RunWatch(*args)); }; });
}

}  // namespace zkarrow::cli
