// `zkarrow txnlog`: every transaction in ZooKeeper's transaction logs as a
// row of an Arrow table (an audit trail of who changed what, and when).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/heap_policy.h"
#include "cli/ipc_options.h"
#include "cli/output_target.h"
#include "znodes/datadir/txnlog_table.h"

namespace zkarrow::cli {
namespace {

struct TxnLogArgs {
  std::string data_dir;
  std::string output;
  IpcOutputOptions ipc;
};

Status WriteTxnLog(const TxnLogArgs& args) {
  ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.output));
  KeepFreedHeapMemory();
  ZKA_ASSIGN_OR_RETURN(auto output, OutputTarget::Open(args.output, {.direct_io = true}));
  auto writer = arrow::ipc::IpcWriter::Open(output->stream(), znodes::datadir::TxnLogSchema(),
                                            args.ipc.ResolveFormat(output->is_stdout()),
                                            {.compression = args.ipc.compression});
  if (!writer.ok()) return writer.status();

  znodes::datadir::TxnLogSummary summary;
  ZKA_RETURN_IF_ERROR(
      znodes::datadir::WriteTxnLogTable({.dir = args.data_dir}, **writer, &summary));
  ZKA_RETURN_IF_ERROR((*writer)->Close());
  ZKA_RETURN_IF_ERROR(output->Commit());
  for (const std::string& warning : summary.warnings) {
    std::fprintf(stderr, "zkarrow txnlog: warning: %s\n", warning.c_str());
  }
  std::fprintf(stderr,
               "zkarrow txnlog: %zu transactions (%zu rows) from %zu logs, zxid 0x%llx to "
               "0x%llx\n",
               summary.transactions, summary.rows, summary.logs,
               static_cast<unsigned long long>(summary.first_zxid),
               static_cast<unsigned long long>(summary.last_zxid));
  return Status::Ok();
}

}  // namespace

void RegisterTxnLogCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<TxnLogArgs>();
  CLI::App* command = app.add_subcommand(
      "txnlog", "Every transaction in ZooKeeper's transaction logs, as an Arrow table");
  command->footer(
      "One row per transaction; a multi gives one row per operation, sharing its zxid.\n"
      "Examples:\n"
      "  zkarrow txnlog --data-dir /var/lib/zookeeper -o txns.arrow\n"
      "  zkarrow txnlog --data-dir /var/lib/zookeeper/version-2 -o - --format stream | ...");
  command
      ->add_option("--data-dir", args->data_dir,
                   "ZooKeeper's dataDir or dataLogDir (or its version-2 folder)")
      ->required();
  command->add_option("-o,--output", args->output, "Output file, or - for stdout")->required();
  AddIpcOutputOptions(*command, args->ipc);
  command->callback(
      [args, &runner] { runner = [args] { return Finish("txnlog", WriteTxnLog(*args)); }; });
}

}  // namespace zkarrow::cli
