// `zkarrow convert IN OUT`: re-encodes an Arrow IPC file or stream (to the
// other format, or with other compression). The schema with all its metadata,
// every batch's custom metadata and every value are carried over; only the
// layouts change when asked (--compat 1.0, --string-view).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arrow/ipc/writer.h"
#include "arrow/layout_convert.h"
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
  std::string compat;  // "" or "1.0"
  bool string_view = false;
};

// What --compat and --string-view make of the input's batches.
class LayoutChange {
 public:
  LayoutChange(const ConvertArgs& args, const std::shared_ptr<const arrow::Schema>& schema)
      : schema_(schema) {
    if (!args.compat.empty()) {
      format1_.emplace(schema);
      schema_ = format1_->schema();
    } else if (args.string_view) {
      std::vector<std::string> utf8_columns;
      for (const arrow::Field& field : schema->fields) utf8_columns.push_back(field.name);
      schema_ =
          std::make_shared<const arrow::Schema>(arrow::WithStringViews(*schema, utf8_columns));
      string_view_ = true;
    }
  }

  const arrow::Schema& schema() const { return *schema_; }

  Result<arrow::RecordBatch> Apply(const arrow::RecordBatch& batch) {
    if (format1_) return format1_->Convert(batch);
    if (string_view_) return arrow::ToStringViews(schema_, batch);
    return batch;
  }

 private:
  std::shared_ptr<const arrow::Schema> schema_;
  std::optional<arrow::Format1Converter> format1_;
  bool string_view_ = false;
};

Status Convert(const ConvertArgs& args) {
  ZKA_RETURN_IF_ERROR(CheckArrowNotToTerminal(args.destination, "name a file as OUT"));
  ZKA_ASSIGN_OR_RETURN(auto input, IpcInput::Open(args.source, args.read_options));
  ZKA_ASSIGN_OR_RETURN(auto output, OutputTarget::Open(args.destination));
  LayoutChange layouts(args, input->schema());
  ZKA_ASSIGN_OR_RETURN(auto writer,
                       arrow::ipc::IpcWriter::Open(output->stream(), layouts.schema(),
                                                   args.ipc.ResolveFormat(output->is_stdout()),
                                                   {.compression = args.ipc.compression}));
  int64_t batches = 0;
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto read, input->Next());
    if (!read) break;
    ZKA_ASSIGN_OR_RETURN(arrow::ipc::BatchInfo info, input->LastBatchInfo());
    auto batch = layouts.Apply(*read);
    if (!batch.ok())
      return batch.status().WithContext("converting batch " + std::to_string(batches));
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
      "  zkarrow convert tree.arrow - --format stream | ...\n"
      "  zkarrow convert polars.arrow old.arrow --compat 1.0   # for readers of format 1.0");
  command->add_option("IN", args->source, "Arrow IPC file or stream; - for stdin")->required();
  command->add_option("OUT", args->destination, "Output file; - for stdout")->required();
  AddIpcOutputOptions(*command, args->ipc);
  AddIpcInputOptions(*command, args->read_options);
  auto* compat =
      command
          ->add_option("--compat", args->compat,
                       "Write only the layouts of this format version: 1.0 turns views into "
                       "utf8/binary/list, run-end encoded columns into plain ones, decimal32/64 "
                       "into decimal128")
          ->check(CLI::IsMember({"1.0"}))
          ->option_text("1.0");
  command
      ->add_flag("--string-view", args->string_view,
                 "Write the top-level utf8 columns as utf8_view (Arrow format 1.4)")
      ->excludes(compat);
  command->callback(
      [&runner, args] { runner = [args] { return Finish("convert", Convert(*args)); }; });
}

}  // namespace zkarrow::cli
