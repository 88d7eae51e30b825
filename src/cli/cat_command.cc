// `zkarrow cat FILE`: the values of an Arrow IPC file or stream as a table,
// CSV or JSON Lines (see arrow/print/batch_printer.h for each format).
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "arrow/print/batch_printer.h"
#include "cli/choice_option.h"
#include "cli/commands.h"
#include "cli/ipc_input.h"
#include "cli/number_checks.h"
#include "cli/output_target.h"

namespace zkarrow::cli {
namespace {

struct CatArgs {
  std::string source;
  arrow::print::OutputFormat format = arrow::print::OutputFormat::kTable;
  int64_t limit = -1;                // all rows
  std::vector<std::string> columns;  // all when empty
  int64_t max_width = 40;
  arrow::ipc::IpcReadOptions read_options;
};

const std::map<std::string, arrow::print::OutputFormat> kOutputFormats = {
    {"table", arrow::print::OutputFormat::kTable},
    {"csv", arrow::print::OutputFormat::kCsv},
    {"json", arrow::print::OutputFormat::kJson}};

// Positions of the selected columns, in the order asked for.
Result<std::vector<size_t>> SelectColumns(const arrow::Schema& schema,
                                          const std::vector<std::string>& names) {
  std::vector<size_t> selected;
  if (names.empty()) {
    for (size_t i = 0; i < schema.fields.size(); ++i) selected.push_back(i);
    return selected;
  }
  for (const std::string& name : names) {
    size_t i = 0;
    while (i < schema.fields.size() && schema.fields[i].name != name) ++i;
    if (i == schema.fields.size()) {
      std::string known;
      for (const arrow::Field& field : schema.fields)
        known += (known.empty() ? "" : ", ") + field.name;
      return UsageError("no column \"" + name + "\"; the columns are: " + known);
    }
    selected.push_back(i);
  }
  return selected;
}

Status Cat(const CatArgs& args) {
  ZKA_ASSIGN_OR_RETURN(auto input, IpcInput::Open(args.source, args.read_options));
  ZKA_ASSIGN_OR_RETURN(std::vector<size_t> selected, SelectColumns(*input->schema(), args.columns));
  auto schema = std::make_shared<arrow::Schema>();
  schema->metadata = input->schema()->metadata;
  for (size_t i : selected) schema->fields.push_back(input->schema()->fields[i]);

  std::ios::sync_with_stdio(false);
  arrow::print::PrintOptions options;
  options.format = args.format;
  options.max_cell_width = args.max_width;
  auto printer = arrow::print::BatchPrinter::Make(*schema, options, std::cout);
  int64_t remaining = args.limit < 0 ? INT64_MAX : args.limit;
  while (remaining > 0) {
    ZKA_ASSIGN_OR_RETURN(auto batch, input->Next());
    if (!batch) break;
    arrow::RecordBatch projected{schema, batch->length, {}};
    for (size_t i : selected) projected.columns.push_back(batch->columns[i]);
    const int64_t rows = std::min(remaining, batch->length);
    printer->Print(projected, rows);
    remaining -= rows;
    // Stop at the first failed write (a full disk, a closed pipe).
    ZKA_RETURN_IF_ERROR(FlushStdout());
  }
  printer->Finish();
  return FlushStdout();
}

}  // namespace

void RegisterCatCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<CatArgs>();
  auto* command = app.add_subcommand("cat", "Print the values of an Arrow IPC file or stream");
  command->footer(
      "Formats:\n"
      "  table  aligned columns; long cells cut at --max-width characters\n"
      "  csv    RFC 4180 quoting; null is an empty field, the empty string is \"\"\n"
      "  json   JSON Lines: one object per row; binary as base64, decimals as strings,\n"
      "         times as ISO-8601 (UTC instants end in Z), 64-bit integers as exact numbers\n"
      "Binary in table and csv: printable ASCII as is, other bytes as \\xNN.");
  command->add_option("FILE", args->source, "Arrow IPC file or stream; - for stdin")->required();
  AddChoiceOption(*command, "--format", args->format, kOutputFormats, "Output format");
  command->add_option("--limit", args->limit, "Print at most N rows")->check(kNonNegative);
  command->add_option("--columns", args->columns, "Only these columns, in this order: a,b,c")
      ->delimiter(',');
  command->add_option("--max-width", args->max_width, "Table: widest cell, in characters")
      ->check(CLI::Range(int64_t{4}, int64_t{1} << 20))
      ->default_str("40");
  AddIpcInputOptions(*command, args->read_options);
  command->callback([&runner, args] {
    runner = [args] {
      Status status = Cat(*args);
      std::fflush(stdout);
      return Finish("cat", status);
    };
  });
}

}  // namespace zkarrow::cli
