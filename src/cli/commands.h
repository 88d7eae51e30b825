// Each verb of the `zkarrow` binary lives in its own file and registers its
// subcommand here. A command's callback returns the process exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/report.h"

namespace zkarrow::cli {

// Set by a command's callback; main() returns it.
using CommandRunner = std::function<int()>;

void RegisterInspectCommand(CLI::App& app, CommandRunner& runner);
void RegisterCatCommand(CLI::App& app, CommandRunner& runner);
void RegisterConvertCommand(CLI::App& app, CommandRunner& runner);
void RegisterSnapshotCommand(CLI::App& app, CommandRunner& runner);
void RegisterDemoCommand(CLI::App& app, CommandRunner& runner);
void RegisterTxnLogCommand(CLI::App& app, CommandRunner& runner);
void RegisterWatchCommand(CLI::App& app, CommandRunner& runner);
void RegisterQueryCommand(CLI::App& app, CommandRunner& runner);
void RegisterServeCommand(CLI::App& app, CommandRunner& runner);
void RegisterGetCommand(CLI::App& app, CommandRunner& runner);
void RegisterPutCommand(CLI::App& app, CommandRunner& runner);
void RegisterDiffCommand(CLI::App& app, CommandRunner& runner);
void RegisterRestoreCommand(CLI::App& app, CommandRunner& runner);
void RegisterCopyCommand(CLI::App& app, CommandRunner& runner);

}  // namespace zkarrow::cli
