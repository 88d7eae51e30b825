// `zkarrow diff A B`: the differences between two trees (Arrow znode tables,
// live subtrees, data directories), compared by path relative to each
// root. Exit 0 when equal, 1 when different (diff(1)'s convention).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "cli/choice_option.h"
#include "cli/commands.h"
#include "cli/output_target.h"
#include "cli/stop_signal.h"
#include "cli/treesync_cli.h"

namespace zkarrow::cli {
namespace {

// Batches of the diff table hold this many rows before they are written.
constexpr int64_t kDiffBatchRows = 64 * 1024;
// Differences listed by the summary after the counts.
constexpr size_t kSummaryLines = 20;
// Bytes of data shown per side in the summary.
constexpr size_t kSummaryDataBytes = 40;

const std::map<std::string, DiffFormat> kDiffFormats = {{"summary", DiffFormat::kSummary},
                                                        {"table", DiffFormat::kTable},
                                                        {"json", DiffFormat::kJson},
                                                        {"arrow", DiffFormat::kArrow}};

struct DiffArgs {
  std::string a, b;
  std::string output = "-";
  DiffFormat format = DiffFormat::kDefault;
  bool stat = false;
  bool no_acl = false;
  int sessions = 1;
  std::vector<std::string> excludes;
  ZkConnectionArgs connection;
};

// Data as quoted text when it is printable UTF-8-ish, else hex; cut.
std::string ShowData(const treesync::Record& record) {
  if (!record.data) return "(not read)";
  if (record.null_data) return "null";
  const std::optional<std::string>& data = record.data;
  const std::string_view bytes = std::string_view(*data).substr(0, kSummaryDataBytes);
  const bool printable = std::all_of(bytes.begin(), bytes.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b >= 0x20 && b != 0x7f;
  });
  std::string text;
  if (printable) {
    text = "\"" + std::string(bytes) + "\"";
  } else {
    static constexpr char kDigits[] = "0123456789abcdef";
    text = "0x";
    for (char c : bytes) {
      auto b = static_cast<unsigned char>(c);
      text += kDigits[b >> 4];
      text += kDigits[b & 15];
    }
  }
  if (data->size() > bytes.size()) text += "… (" + std::to_string(data->size()) + " bytes)";
  return text;
}

std::string SummaryLine(const treesync::DiffRow& row) {
  std::string line = "  " + std::string(treesync::ChangeName(row.change));
  line.resize(10, ' ');
  line += row.path();
  const treesync::Record* old_record = row.old_record;
  const treesync::Record* new_record = row.new_record;
  switch (row.change) {
    case treesync::Change::kData:
      line += ": " + ShowData(*old_record) + " -> " + ShowData(*new_record);
      break;
    case treesync::Change::kAcl:
      line +=
          ": " + treesync::AclText(*old_record->acl) + " -> " + treesync::AclText(*new_record->acl);
      break;
    case treesync::Change::kKind:
      line += ": " + std::string(znodes::NodeKindName(old_record->kind)) + " -> " +
              std::string(znodes::NodeKindName(new_record->kind));
      break;
    case treesync::Change::kStat:
      line += ": version " + std::to_string(old_record->stat->version) + " -> " +
              std::to_string(new_record->stat->version) + ", mzxid " +
              std::to_string(old_record->stat->mzxid) + " -> " +
              std::to_string(new_record->stat->mzxid);
      break;
    default:
      break;
  }
  return line;
}

Status WriteText(OutputTarget* target, const std::string& text) {
  if (target == nullptr) {
    std::cout << text;
    return FlushStdout();
  }
  ZKA_RETURN_IF_ERROR(target->stream().Write(
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return target->Commit();
}

Status RunDiff(const DiffArgs& args, treesync::DiffCounts* counts) {
  if (!args.connection.zk.empty()) {
    return UsageError(
        "diff's sources name their ensembles (zk://HOST:PORT/path): --zk is not used");
  }
  ZKA_ASSIGN_OR_RETURN(treesync::SourceSpec a, ParseSourceArgument(args.a, "source"));
  ZKA_ASSIGN_OR_RETURN(treesync::SourceSpec b, ParseSourceArgument(args.b, "source"));
  if (args.format == DiffFormat::kArrow) {
    ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  }
  ZKA_ASSIGN_OR_RETURN(treesync::SourceOptions options, MakeSourceOptions(args.connection));
  options.read_acl = !args.no_acl;
  options.sessions = args.sessions;
  options.excludes = args.excludes;
  // SIGINT and SIGTERM stop the reading of the sides and their merge, and
  // the command says so, rather than dying without a word. Installed before the output is
  // opened, which then leaves them to us.
  ZKA_RETURN_IF_ERROR(InstallStopHandlers());
  options.stop_requested = StopRequested;
  ZKA_ASSIGN_OR_RETURN(auto output, DiffOutput::Open(args.format, args.output));
  ZKA_ASSIGN_OR_RETURN(auto stream_a, treesync::OpenSource(a, options, nullptr));
  ZKA_ASSIGN_OR_RETURN(auto stream_b, treesync::OpenSource(b, options, nullptr));
  treesync::DiffOptions diff;
  diff.compare_acl = !args.no_acl;
  diff.compare_stat = args.stat;
  // A live read sees containers and TTL nodes as persistent.
  diff.exact_kinds =
      a.kind != treesync::SourceSpec::Kind::kLive && b.kind != treesync::SourceSpec::Kind::kLive;
  diff.stop_requested = StopRequested;
  ZKA_RETURN_IF_ERROR(treesync::Diff(
      *stream_a, *stream_b, diff, [&](const treesync::DiffRow& row) { return output->Append(row); },
      counts));
  ZKA_RETURN_IF_ERROR(output->Finish(*counts));
  // Neither equal nor known to differ there: a comparison that could not be
  // made is a failure (diff(1) exits 2 on a file it cannot read).
  if (counts->unreadable.subtrees > 0) {
    return Status(StatusCode::kRemote,
                  "could not compare " +
                      treesync::UnreadableText(counts->unreadable, a.text, b.text) +
                      " or anything below, the node's contents being unknown (read it with "
                      "credentials that can); elsewhere " +
                      DiffCountsText(*counts));
  }
  if (counts->total() > 0) return Different(DiffCountsText(*counts));
  return Status::Ok();
}

}  // namespace

std::string DiffCountsText(const treesync::DiffCounts& counts) {
  if (counts.total() == 0) return "no differences";
  std::string text = std::to_string(counts.total()) + " differences:";
  bool first = true;
  for (size_t i = 0; i < counts.by_change.size(); ++i) {
    if (counts.by_change[i] == 0) continue;
    text += (first ? " " : ", ") + std::string(treesync::kChangeNames[i]) + " " +
            std::to_string(counts.by_change[i]);
    first = false;
  }
  return text;
}

Result<treesync::SourceSpec> ParseSourceArgument(const std::string& text, std::string_view role) {
  Result<treesync::SourceSpec> spec = treesync::ParseSource(text);
  if (!spec.ok()) return UsageError(std::string(role) + " " + spec.status().message());
  return spec;
}

Result<treesync::SourceOptions> MakeSourceOptions(const ZkConnectionArgs& connection) {
  treesync::SourceOptions options;
  ZKA_ASSIGN_OR_RETURN(options.client, MakeClientOptions(connection));
  return options;
}

void AddSourceConnectionOptions(CLI::App& command, ZkConnectionArgs& connection) {
  AddZkConnectionOptions(command, connection, /*zk_required=*/false, ZkTlsNames::kAlsoUnprefixed);
  command.get_option("--zk")->group("");  // an empty group hides it
}

CLI::Option* AddSourceSessionsOption(CLI::App& command, int& sessions) {
  // More sessions read a live source's ACLs faster: treesync::kAclReadSessions says why.
  return command.add_option("--sessions", sessions, "ZooKeeper sessions reading each live source")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
}

CLI::Option* AddDiffFormatOption(CLI::App& command, DiffFormat& format) {
  return AddChoiceOption(command, "--format", format, kDiffFormats,
                         "Output: summary (default on a terminal), table, json (lines), arrow "
                         "(the diff table; default with -o FILE)");
}

Result<std::unique_ptr<DiffOutput>> DiffOutput::Open(DiffFormat format, const std::string& output) {
  std::unique_ptr<DiffOutput> out(new DiffOutput());
  const bool to_stdout = output == "-";
  if (format == DiffFormat::kDefault) {
    format = !to_stdout                     ? DiffFormat::kArrow
             : ::isatty(STDOUT_FILENO) == 1 ? DiffFormat::kSummary
                                            : DiffFormat::kTable;
  }
  out->format_ = format;
  out->output_ = output;
  if (!to_stdout || format == DiffFormat::kArrow) {
    ZKA_ASSIGN_OR_RETURN(out->target_, OutputTarget::Open(output));
  }
  if (format == DiffFormat::kArrow) {
    ZKA_ASSIGN_OR_RETURN(
        out->writer_,
        arrow::ipc::IpcWriter::Open(out->target_->stream(), *out->builder_.schema(),
                                    out->target_->is_stdout() ? arrow::ipc::IpcFormat::kStream
                                                              : arrow::ipc::IpcFormat::kFile));
  } else if (format == DiffFormat::kTable || format == DiffFormat::kJson) {
    arrow::print::PrintOptions options;
    options.format = format == DiffFormat::kJson ? arrow::print::OutputFormat::kJson
                                                 : arrow::print::OutputFormat::kTable;
    out->printer_ = arrow::print::BatchPrinter::Make(*out->builder_.schema(), options, out->text_);
  }
  return out;
}

Status DiffOutput::Append(const treesync::DiffRow& row) {
  if (format_ == DiffFormat::kSummary) {
    if (first_lines_.size() < kSummaryLines) first_lines_.push_back(SummaryLine(row));
    return Status::Ok();
  }
  ZKA_RETURN_IF_ERROR(builder_.Append(row));
  if (builder_.rows() >= kDiffBatchRows) return FlushBatch();
  return Status::Ok();
}

Status DiffOutput::FlushBatch() {
  if (builder_.rows() == 0) return Status::Ok();
  arrow::RecordBatch batch = builder_.Finish();
  if (writer_) return writer_->WriteBatch(batch);
  printer_->Print(batch, batch.length);
  return Status::Ok();
}

Status DiffOutput::Finish(const treesync::DiffCounts& counts) {
  if (format_ == DiffFormat::kSummary) {
    std::string text =
        DiffCountsText(counts) + " (" + std::to_string(counts.compared) + " paths compared)\n";
    for (const std::string& line : first_lines_) text += line + "\n";
    if (static_cast<size_t>(counts.total()) > first_lines_.size()) {
      text += "  … and " +
              std::to_string(counts.total() - static_cast<int64_t>(first_lines_.size())) +
              " more (--format table|json|arrow lists them all)\n";
    }
    return WriteText(target_.get(), text);
  }
  ZKA_RETURN_IF_ERROR(FlushBatch());
  if (writer_) {
    ZKA_RETURN_IF_ERROR(writer_->Close());
    return target_->Commit();
  }
  printer_->Finish();
  return WriteText(target_.get(), text_.str());
}

void RegisterDiffCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<DiffArgs>();
  CLI::App* command = app.add_subcommand(
      "diff", "Compare two trees (znode-table files, zk://HOST:PORT/path, datadir:DIR[@ZXID])");
  command->footer(
      "Paths are compared relative to each source's root. Rows: path, change (added, removed,\n"
      "data, acl, kind, stat) and old/new data, ACL, kind, version, mzxid. Nothing at or below\n"
      "a node a side could not read (a NOAUTH row) is compared.\n"
      "Exit status: 0 equal, 1 different, 2 bad arguments, 3 ZooKeeper unreachable,\n"
      "4 any other failure, or an unreadable subtree that could not be compared, 130/143\n"
      "stopped by SIGINT/SIGTERM.\n"
      "Examples:\n"
      "  zkarrow diff backup.arrow zk://zk1:2181/app\n"
      "  zkarrow diff zk://staging:2181/cfg zk://prod:2181/cfg --format json\n"
      "  zkarrow diff datadir:/var/lib/zookeeper@0x1a2b datadir:/var/lib/zookeeper -o d.arrow");
  command->add_option("SOURCE_A", args->a, "The old side")->required();
  command->add_option("SOURCE_B", args->b, "The new side")->required();
  command->add_option("-o,--output", args->output, "Output file, or - for stdout")
      ->default_str("-");
  AddDiffFormatOption(*command, args->format);
  command->add_flag("--stat", args->stat, "Also compare versions and zxids");
  command->add_flag("--no-acl", args->no_acl, "Do not read or compare ACLs");
  AddSourceSessionsOption(*command, args->sessions);
  command->add_option("--exclude", args->excludes,
                      "Prune subtrees whose path (relative to the root) matches this fnmatch "
                      "pattern; repeatable");
  AddSourceConnectionOptions(*command, args->connection);
  command->callback([args, &runner] {
    runner = [args] {
      treesync::DiffCounts counts;
      const std::string left = args->output == "-"
                                   ? "the rows printed so far are not all the differences"
                                   : args->output + " was not written";
      return FinishComparison(
          "diff", AsSignalStop(RunDiff(*args, &counts), " before the comparison ended: " + left));
    };
  });
}

}  // namespace zkarrow::cli
