// Each verb of the `zkarrow` binary lives in its own file and registers its
// subcommand here. A command's callback returns the process exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace zkarrow::cli {

// Exit statuses, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // the work failed (bad input, server error)
inline constexpr int kExitUsage = 2;        // bad arguments
inline constexpr int kExitUnavailable = 3;  // ZooKeeper unreachable or session expired

// Set by a command's callback; main() returns it.
using CommandRunner = std::function<int()>;

void RegisterInspectCommand(CLI::App& app, CommandRunner& runner);
void RegisterCatCommand(CLI::App& app, CommandRunner& runner);
void RegisterConvertCommand(CLI::App& app, CommandRunner& runner);
void RegisterSnapshotCommand(CLI::App& app, CommandRunner& runner);
void RegisterDemoCommand(CLI::App& app, CommandRunner& runner);
void RegisterTxnLogCommand(CLI::App& app, CommandRunner& runner);

}  // namespace zkarrow::cli
