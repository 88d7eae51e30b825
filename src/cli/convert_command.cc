// `zkarrow convert IN OUT`: re-encodes an Arrow IPC file or stream (to the
// other format, or with other compression). The schema with all its metadata,
// every batch's custom metadata and every value are carried over.
#include <cstdio>
#include <memory>
#include <string>

#include "arrow/ipc/writer.h"
#include "cli/commands.h"
#include "cli/ipc_input.h"
#include "cli/ipc_options.h"
#include "cli/output_target.h"

namespace zkarrow::cli {
namespace {

struct ConvertArgs {
  std::string source;
  std::string destination;
  IpcOutputOptions ipc;
  arrow::ipc::IpcReadOptions read_options;
};

Status Convert(const ConvertArgs& args) {
  ZKA_ASSIGN_OR_RETURN(auto input, IpcInput::Open(args.source, args.read_options));
  ZKA_ASSIGN_OR_RETURN(auto output, OutputTarget::Open(args.destination));
  ZKA_ASSIGN_OR_RETURN(auto writer,
                       arrow::ipc::IpcWriter::Open(output->stream(), *input->schema(),
                                                   args.ipc.ResolveFormat(output->is_stdout()),
                                                   {.compression = args.ipc.compression}));
  int64_t batches = 0;
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, input->Next());
    if (!batch) break;
    ZKA_ASSIGN_OR_RETURN(arrow::ipc::BatchInfo info, input->LastBatchInfo());
    Status written = writer->WriteBatch(*batch, info.custom_metadata);
    if (!written.ok()) return written.WithContext("writing batch " + std::to_string(batches));
    ++batches;
  }
  ZKA_RETURN_IF_ERROR(writer->Close());
  return output->Commit();
}

}  // namespace

void RegisterConvertCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<ConvertArgs>();
  auto* command = app.add_subcommand(
      "convert", "Re-encode an Arrow IPC file or stream (format, compression); values unchanged");
  command->footer(
      "Examples:\n"
      "  zkarrow convert tree.arrows tree.arrow --compression zstd\n"
      "  zkarrow convert tree.arrow - --format stream | ...");
  command->add_option("IN", args->source, "Arrow IPC file or stream; - for stdin")->required();
  command->add_option("OUT", args->destination, "Output file; - for stdout")->required();
  AddIpcOutputOptions(*command, args->ipc);
  AddIpcInputOptions(*command, args->read_options);
  command->callback(
      [&runner, args] { runner = [args] { return Finish("convert", Convert(*args)); }; });
}

}  // namespace zkarrow::cli
