// `zkarrow query "SQL"`: SQL over a live tree (--zk), a data directory
// (--data-dir [--zxid]), a zkarrow server (--server URL) and Arrow files (read_arrow('F') or FILES
// named on the command line), through the query engine (query/query_engine.h). The result is one
// Arrow table, written as Arrow IPC or printed as a table, CSV or JSON Lines from the same batches.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

#include "arrow/ipc/writer.h"
#include "arrow/print/batch_printer.h"
#include "cli/choice_option.h"
#include "cli/commands.h"
#include "cli/ipc_options.h"
#include "cli/output_target.h"
#include "cli/remote.h"
#include "cli/snapshot_command.h"
#include "cli/zk_connection.h"
#include "query/query_engine.h"
#include "query/server_tables.h"

namespace zkarrow::cli {
namespace {

enum class QueryFormat : uint8_t { kDefault, kTable, kCsv, kJson, kArrow };

const std::map<std::string, QueryFormat> kQueryFormats = {{"table", QueryFormat::kTable},
                                                          {"csv", QueryFormat::kCsv},
                                                          {"json", QueryFormat::kJson},
                                                          {"arrow", QueryFormat::kArrow}};

struct QueryArgs {
  std::string sql;
  std::vector<std::string> files;
  ZkConnectionArgs connection;
  std::string data_dir;
  std::string zxid;  // decimal or 0x hex; empty: the newest state
  std::string server;
  RemoteArgs remote;
  std::string output = "-";
  QueryFormat format = QueryFormat::kDefault;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
  bool explain = false;
};

// A std::ostream over an OutputTarget's stream, so that the printer writes
// text output to a file with the same guarantees as Arrow output (the file
// appears whole, or not at all). The first write error is kept.
class TargetStreamBuf final : public std::streambuf {
 public:
  explicit TargetStreamBuf(arrow::OutputStream& sink) : sink_(sink) {
    setp(buffer_, buffer_ + sizeof(buffer_));
  }
  const Status& status() const { return status_; }

 protected:
  int_type overflow(int_type c) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    if (!status_.ok()) return -1;
    const auto size = static_cast<size_t>(pptr() - pbase());
    if (size > 0) status_ = sink_.Write({reinterpret_cast<const uint8_t*>(pbase()), size});
    setp(buffer_, buffer_ + sizeof(buffer_));
    return status_.ok() ? 0 : -1;
  }

 private:
  arrow::OutputStream& sink_;
  Status status_;
  char buffer_[1 << 16];
};

// A file named on the command line is the table named after its stem
// ("/tmp/snap-1.arrow" -> snap_1).
std::string TableNameFor(const std::string& file) {
  std::string name = std::filesystem::path(file).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) name = "t_" + name;
  return name;
}

// Scans with the same plan (a join's inner lookups, one per outer row) are
// one line, summed by the engine, in the order they first ran.
void PrintExplain(const query::QueryStats& stats, std::ostream& out) {
  int64_t scans = 0;
  for (const query::ScanReport& report : stats.scans) scans += report.scans;
  out << stats.rows << " row(s); " << scans << " scan(s):\n";
  for (const query::ScanReport& report : stats.scans) {
    out << "  " << (report.scans > 1 ? std::to_string(report.scans) + " scans of " : "")
        << report.table << ": " << report.plan << "\n";
    out << "    estimated rows: "
        << (report.estimated_rows >= 0 ? std::to_string(report.estimated_rows) : "unknown")
        << "; read: " << report.nodes_read << "; rows to SQLite: " << report.rows_produced << "\n";
  }
  out << "held at most " << stats.peak_held_bytes
      << " bytes (rows kept for later scans, result rows being built)\n";
}

// SQLite's "no such table" for a table an option gives (the tree's, the
// logs'): the error then names that option.
Status WithSourceHint(const Status& status, const QueryArgs& args) {
  const std::string& message = status.message();
  const bool tree = !args.connection.zk.empty() || !args.data_dir.empty() || !args.server.empty();
  std::string hint;
  if (!tree && message.find("no such table: znodes") != std::string::npos) {
    hint = "; the znodes table is the tree of --zk, --data-dir or --server: give one";
  } else if (args.data_dir.empty() && message.find("no such table: txns") != std::string::npos) {
    hint = "; the txns table is the transaction logs of --data-dir";
  }
  if (hint.empty()) return status;
  return Status(status.code(), message + hint);
}

Status Query(const QueryArgs& args) {
  const bool to_stdout = args.output == "-";
  QueryFormat format = args.format;
  if (format == QueryFormat::kDefault) {
    format = to_stdout && ::isatty(STDOUT_FILENO) ? QueryFormat::kTable : QueryFormat::kArrow;
  }
  if (format == QueryFormat::kArrow && !args.explain) {
    ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  }
  query::QuerySources sources;
  std::vector<std::unique_ptr<zk::Client>> sessions;
  if (!args.connection.zk.empty()) {
    ZKA_ASSIGN_OR_RETURN(zk::ClientOptions client_options, MakeClientOptions(args.connection));
    ZKA_ASSIGN_OR_RETURN(sessions, ConnectSessions(client_options, 1));
    for (auto& session : sessions) sources.sessions.push_back(session.get());
  }
  if (!args.data_dir.empty()) {
    sources.data_dir = args.data_dir;
    if (!args.zxid.empty()) {
      ZKA_ASSIGN_OR_RETURN(sources.zxid, ParseZxid(args.zxid));
    }
  }
  std::unique_ptr<transport::ArrowClient> client;
  std::unique_ptr<query::ServerTables> server;
  if (!args.server.empty()) {
    ZKA_ASSIGN_OR_RETURN(transport::ServerUrl url, ParseUrlArgument(args.server));
    ZKA_ASSIGN_OR_RETURN(client, ConnectRemote(url, args.remote));
    server = query::ServerTablesOverClient(*client, args.server);
    sources.server = server.get();
  }
  ZKA_ASSIGN_OR_RETURN(auto engine, query::QueryEngine::Open(std::move(sources)));
  for (const std::string& file : args.files) {
    ZKA_RETURN_IF_ERROR(engine->AddArrowFile(TableNameFor(file), file));
  }

  std::unique_ptr<OutputTarget> target;
  std::unique_ptr<arrow::ipc::IpcWriter> writer;
  std::unique_ptr<arrow::print::BatchPrinter> printer;
  std::unique_ptr<TargetStreamBuf> text_buffer;
  std::unique_ptr<std::ostream> text_file;  // text formats and --explain with -o FILE
  std::ios::sync_with_stdio(false);

  // --explain's plan goes where the rows would have gone, as text.
  auto on_schema = [&](const arrow::Schema& schema) -> Status {
    if (format == QueryFormat::kArrow && !args.explain) {
      ZKA_ASSIGN_OR_RETURN(target, OutputTarget::Open(args.output));
      const auto ipc_format =
          target->is_stdout() ? arrow::ipc::IpcFormat::kStream : arrow::ipc::IpcFormat::kFile;
      ZKA_ASSIGN_OR_RETURN(writer, arrow::ipc::IpcWriter::Open(target->stream(), schema, ipc_format,
                                                               {.compression = args.compression}));
      return Status::Ok();
    }
    if (!to_stdout) {
      ZKA_ASSIGN_OR_RETURN(target, OutputTarget::Open(args.output));
      text_buffer = std::make_unique<TargetStreamBuf>(target->stream());
      text_file = std::make_unique<std::ostream>(text_buffer.get());
    }
    if (args.explain) return Status::Ok();
    arrow::print::PrintOptions options;
    options.format = format == QueryFormat::kCsv    ? arrow::print::OutputFormat::kCsv
                     : format == QueryFormat::kJson ? arrow::print::OutputFormat::kJson
                                                    : arrow::print::OutputFormat::kTable;
    printer = arrow::print::BatchPrinter::Make(schema, options, text_file ? *text_file : std::cout);
    return Status::Ok();
  };
  auto on_batch = [&](const arrow::RecordBatch& batch) -> Status {
    if (writer) return writer->WriteBatch(batch);
    if (!printer) return Status::Ok();
    printer->Print(batch, batch.length);
    // Stop at the first failed write (a full disk, a closed pipe), not after
    // the rest of the query ran for nobody.
    return text_buffer ? text_buffer->status() : FlushStdout();
  };
  query::QueryStats stats;
  if (Status ran = engine->Run(args.sql, on_schema, on_batch, &stats); !ran.ok()) {
    return WithSourceHint(ran, args);
  }
  if (writer) {
    ZKA_RETURN_IF_ERROR(writer->Close());
    return target->Commit();
  }
  std::ostream& text = text_file ? *text_file : std::cout;
  if (args.explain) {
    PrintExplain(stats, text);
  } else if (printer) {
    printer->Finish();
  }
  if (!text_file) return FlushStdout();
  text_file->flush();
  ZKA_RETURN_IF_ERROR(text_buffer->status());
  return target->Commit();
}

}  // namespace

void RegisterQueryCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<QueryArgs>();
  auto* command = app.add_subcommand(
      "query", "Run SQL over a live tree, a data directory or Arrow files (SQLite)");
  command->footer(
      "Tables:\n"
      "  znodes            the znode table of --zk or --data-dir (the snapshot columns,\n"
      "                    typed ones included; acl as JSON text)\n"
      "  txns              with --data-dir: the transaction-log table\n"
      "  read_arrow('F')   any Arrow IPC file or stream\n"
      "  NAME              each FILE given, named after its file name without extension\n"
      "  datasets.NAME     with --server: the server's datasets (also dataset('NAME'));\n"
      "                    znodes is then the server's mirror\n"
      "On a live tree, WHERE on path (=, IN, LIKE 'p%', GLOB 'p*', ranges), parent (=)\n"
      "and depth (<=, <, =), LIMIT without other filters, and the columns used decide\n"
      "what is read; --explain shows it. LIKE is case-sensitive. Timestamps are epoch ms.");
  command->add_option("SQL", args->sql, "One SQL statement (SELECT, WITH, VALUES)")->required();
  command->add_option("FILES", args->files, "Arrow IPC files to query as tables");
  AddZkConnectionOptions(*command, args->connection, /*zk_required=*/false,
                         ZkTlsNames::kPrefixedOnly);
  command->add_option("--data-dir", args->data_dir,
                      "ZooKeeper's data directory (offline; also gives the txns table)");
  command->add_option("--zxid", args->zxid,
                      "With --data-dir: the tree as of this zxid (decimal or 0x hex)");
  command->add_option("--server", args->server,
                      "A zkarrow serve URL (grpc://HOST:PORT or http://HOST:PORT): its znodes "
                      "and datasets");
  AddRemoteOptions(*command, args->remote);
  command->add_option("-o,--output", args->output, "Output file, or - for stdout")
      ->default_str("-");
  AddChoiceOption(*command, "--format", args->format, kQueryFormats,
                  "Output: table (default on a terminal), csv, json (JSON Lines) or arrow "
                  "(default otherwise: an IPC file, or a stream on stdout)");
  AddChoiceOption(*command, "--compression", args->compression, kCompressionNames,
                  "With arrow output: body compression of every record batch");
  command->add_flag("--explain", args->explain,
                    "Run the query and print each scan's plan and counts instead of the rows "
                    "(text, to stdout or -o FILE)");
  command->callback([&runner, args] {
    runner = [args] {
      const int tree_sources = (args->connection.zk.empty() ? 0 : 1) +
                               (args->data_dir.empty() ? 0 : 1) + (args->server.empty() ? 0 : 1);
      if (tree_sources > 1) {
        return ReportUsageError("query", "use one of --zk, --data-dir and --server");
      }
      if (!args->zxid.empty() && args->data_dir.empty()) {
        return ReportUsageError("query", "--zxid needs --data-dir");
      }
      Status status = Query(*args);
      std::fflush(stdout);
      return Finish("query", status);
    };
  });
}

}  // namespace zkarrow::cli
