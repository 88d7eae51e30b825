// The --format and --compression options shared by every command that
// writes Arrow IPC.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "cli/choice_option.h"

namespace zkarrow::cli {

inline const std::map<std::string, arrow::ipc::IpcFormat> kFormatNames = {
    {"file", arrow::ipc::IpcFormat::kFile}, {"stream", arrow::ipc::IpcFormat::kStream}};

inline const std::map<std::string, arrow::ipc::Compression> kCompressionNames = {
    {"none", arrow::ipc::Compression::kNone},
    {"lz4", arrow::ipc::Compression::kLz4Frame},
    {"zstd", arrow::ipc::Compression::kZstd}};

struct IpcOutputOptions {
  std::string format;  // "" = file, or stream when writing to stdout
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;

  arrow::ipc::IpcFormat ResolveFormat(bool to_stdout) const {
    if (format.empty())
      return to_stdout ? arrow::ipc::IpcFormat::kStream : arrow::ipc::IpcFormat::kFile;
    return kFormatNames.at(format);
  }
};

inline void AddIpcOutputOptions(CLI::App& command, IpcOutputOptions& options) {
  command
      .add_option("--format", options.format,
                  "IPC format: file (random access) or stream; default: file, or stream on stdout")
      ->check(CLI::IsMember({"file", "stream"}))
      ->option_text("file|stream");
  AddChoiceOption(command, "--compression", options.compression, kCompressionNames,
                  "Arrow body compression of every record batch");
}

}  // namespace zkarrow::cli
