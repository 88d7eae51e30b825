// What the diff, restore and copy verbs share: sources named on the command
// line opened with the connection options, and the output of diff rows (the
// diff table as Arrow, a table, JSON lines, or a summary for a terminal).
#pragma once

#include <array>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "arrow/ipc/writer.h"
#include "arrow/print/batch_printer.h"
#include "cli/output_target.h"
#include "cli/zk_connection.h"
#include "treesync/diff.h"
#include "treesync/source.h"

namespace zkarrow::cli {

enum class DiffFormat { kDefault, kSummary, kTable, kJson, kArrow };

// Writes diff rows as `format` to `output` ("-": stdout). kDefault: a
// summary on a terminal, the table otherwise, Arrow into a file.
class DiffOutput {
 public:
  static Result<std::unique_ptr<DiffOutput>> Open(DiffFormat format, const std::string& output);
  Status Append(const treesync::DiffRow& row);
  // Writes what is left (and commits a file). `counts` feeds the summary.
  Status Finish(const treesync::DiffCounts& counts);

 private:
  DiffOutput() = default;
  Status FlushBatch();

  DiffFormat format_ = DiffFormat::kSummary;
  std::string output_;
  std::unique_ptr<OutputTarget> target_;
  std::unique_ptr<arrow::ipc::IpcWriter> writer_;
  std::ostringstream text_;
  std::unique_ptr<arrow::print::BatchPrinter> printer_;
  treesync::DiffBatchBuilder builder_;
  std::vector<std::string> first_lines_;  // the summary's first differences
};

// Counts per change as "added 3, data 1" ("no differences" when none).
std::string DiffCountsText(const treesync::DiffCounts& counts);

// A source or target as given on the command line (a file, zk://HOST:PORT/path,
// datadir:DIR[@ZXID]); a malformed one is the user's argument, a UsageError
// that names it as `role` ("source", "target").
Result<treesync::SourceSpec> ParseSourceArgument(const std::string& text, std::string_view role);

// Options for reading a source given on the command line (credentials and
// session timeout for zk://).
Result<treesync::SourceOptions> MakeSourceOptions(const ZkConnectionArgs& connection);

// The connection options for the sources' ensembles (credentials, TLS,
// SASL). The sources name their ensembles (zk://HOST:PORT/path), so --zk is
// taken only to be refused with that advice, and --help does not offer it.
void AddSourceConnectionOptions(CLI::App& command, ZkConnectionArgs& connection);

// --format for diff rows: summary|table|json|arrow.
CLI::Option* AddDiffFormatOption(CLI::App& command, DiffFormat& format);

// --sessions: ZooKeeper sessions reading each live source.
CLI::Option* AddSourceSessionsOption(CLI::App& command, int& sessions);

// restore and copy: the same verb with a different kind of source.
struct RestoreArgs {
  std::string source;
  std::string target;  // zk://HOST:PORT[,...]/path
  std::string mode = "update";
  bool atomic = false;
  bool dry_run = false;
  bool acl = false;
  bool no_acl = false;
  int in_flight = 8;
  // The target's jute.maxbuffer; 0: ZooKeeper's default.
  int64_t max_request_bytes = 0;
  int batch_ops = 1000;
  // Reading a live source; 0: treesync::kAclReadSessions reading ACLs, else 1.
  int sessions = 0;
  std::string output = "-";  // --dry-run's plan
  DiffFormat format = DiffFormat::kDefault;
  ZkConnectionArgs connection;
};

// Adds restore's options (after SOURCE and TARGET) to `command`.
void AddRestoreOptions(CLI::App& command, RestoreArgs& args);
// Runs restore (or copy, as `verb`) and returns the exit status.
int RunRestore(const std::string& verb, const RestoreArgs& args);

}  // namespace zkarrow::cli
