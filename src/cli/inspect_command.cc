// `zkarrow inspect FILE`: what an Arrow IPC file or stream holds, without its
// values: format, schema (types, dictionary encodings, metadata), and for
// every record batch its rows, compression and sizes. Batches are described
// from their metadata and buffer prefixes: nothing is decompressed.
#include <cstdio>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "cli/ipc_input.h"
#include "cli/output_target.h"
#include "znodes/znode_schema.h"

namespace zkarrow::cli {
namespace {

void PrintMetadata(const arrow::KeyValueMetadata& metadata, const std::string& indent) {
  for (const auto& [key, value] : metadata) {
    std::printf("%s%s = %s\n", indent.c_str(), arrow::EscapeText(key).c_str(),
                arrow::EscapeText(value).c_str());
  }
}

// Metadata of nested fields, which FieldToString does not show, under their path.
void PrintChildMetadata(const arrow::Field& field, const std::string& path) {
  for (const arrow::Field& child : field.type.children) {
    const std::string child_path = path + "." + child.name;
    if (!child.metadata.empty()) {
      std::printf("    metadata of %s:\n", arrow::EscapeText(child_path).c_str());
      PrintMetadata(child.metadata, "      ");
    }
    PrintChildMetadata(child, child_path);
  }
}

void PrintSchema(const arrow::Schema& schema) {
  std::printf("schema: %zu field%s\n", schema.fields.size(), schema.fields.size() == 1 ? "" : "s");
  for (const arrow::Field& field : schema.fields) {
    std::printf("  %s\n", arrow::EscapeText(arrow::FieldToString(field)).c_str());
    if (!field.metadata.empty()) {
      std::printf("    metadata:\n");
      PrintMetadata(field.metadata, "      ");
    }
    PrintChildMetadata(field, field.name);
  }
  if (!schema.metadata.empty()) {
    std::printf("schema metadata:\n");
    PrintMetadata(schema.metadata, "  ");
  }
}

std::string Bytes(int64_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

Status Inspect(const std::string& source, const arrow::ipc::IpcReadOptions& options) {
  ZKA_ASSIGN_OR_RETURN(auto input, IpcInput::Open(source, options));
  const bool file = input->format() == arrow::ipc::IpcFormat::kFile;
  std::printf("input: %s\n", arrow::EscapeText(input->name()).c_str());
  std::printf("format: %s, metadata version %s\n", file ? "file" : "stream",
              arrow::ipc::MetadataVersionName(input->metadata_version()));
  PrintSchema(*input->schema());
  if (file && !input->file_reader()->footer_metadata().empty()) {
    std::printf("footer metadata:\n");
    PrintMetadata(input->file_reader()->footer_metadata(), "  ");
  }
  ZKA_RETURN_IF_ERROR(FlushStdout());

  int64_t batches = 0;
  int64_t rows = 0;
  int64_t stored = 0;
  int64_t uncompressed = 0;
  std::string compression;
  arrow::KeyValueMetadata last_metadata;
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto info, input->NextInfo());
    if (!info) break;
    const std::string name = arrow::ipc::CompressionName(info->compression);
    compression = compression.empty() || compression == name ? name : "mixed";
    std::printf("batch %lld: %lld row%s, compression %s, body %s (%s uncompressed), metadata %s\n",
                static_cast<long long>(batches), static_cast<long long>(info->num_rows),
                info->num_rows == 1 ? "" : "s", name.c_str(), Bytes(info->body_length).c_str(),
                Bytes(info->uncompressed_body_length).c_str(),
                Bytes(info->metadata_length).c_str());
    if (!info->custom_metadata.empty()) {
      std::printf("  metadata:\n");
      PrintMetadata(info->custom_metadata, "    ");
    }
    // Stop at the first failed write (a full disk, a closed pipe).
    ZKA_RETURN_IF_ERROR(FlushStdout());
    ++batches;
    rows += info->num_rows;
    stored += info->body_length + info->metadata_length;
    uncompressed += info->uncompressed_body_length + info->metadata_length;
    last_metadata = std::move(info->custom_metadata);
  }
  std::printf("total: %lld batch%s, %lld row%s, compression %s, batches %s (%s uncompressed)",
              static_cast<long long>(batches), batches == 1 ? "" : "es",
              static_cast<long long>(rows), rows == 1 ? "" : "s",
              compression.empty() ? "none" : compression.c_str(), Bytes(stored).c_str(),
              Bytes(uncompressed).c_str());
  if (input->size()) std::printf(", %s on disk", Bytes(*input->size()).c_str());
  std::printf("\n");
  // Both are valid Arrow, but a stream cut short in a pipeline (the writer
  // killed, the pipe closed) ends without its marker: say which one this is.
  if (!file) {
    std::printf("end: %s\n", input->ended_with_marker()
                                 ? "end-of-stream marker"
                                 : "no end-of-stream marker (the input stops after a "
                                   "complete message; its writer may have been cut short)");
  }
  // A znode table ends with the run's summary on its last batch.
  if (znodes::IsZnodeTable(*input->schema())) {
    std::printf("zkarrow end-of-run metadata (%s): %s\n", znodes::kMetaZnodes,
                znodes::HasEndOfRunMetadata(last_metadata)
                    ? "present"
                    : "missing: the run that wrote this did not finish");
  }
  return FlushStdout();
}

}  // namespace

void RegisterInspectCommand(CLI::App& app, CommandRunner& runner) {
  auto* command = app.add_subcommand(
      "inspect", "Describe an Arrow IPC file or stream: schema, batches, compression, sizes");
  auto source = std::make_shared<std::string>();
  auto options = std::make_shared<arrow::ipc::IpcReadOptions>();
  command->add_option("FILE", *source, "Arrow IPC file or stream; - for stdin")->required();
  AddIpcInputOptions(*command, *options);
  command->callback([&runner, source, options] {
    runner = [source, options] { return Finish("inspect", Inspect(*source, *options)); };
  });
}

}  // namespace zkarrow::cli
