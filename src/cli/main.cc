// The zkarrow binary: parses the command line and runs one verb.
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"zkarrow: ZooKeeper trees as Apache Arrow tables"};
  app.set_version_flag("--version", std::string("zkarrow ") + ZKARROW_VERSION);
  app.require_subcommand(1);

  zkarrow::cli::CommandRunner runner;
  zkarrow::cli::RegisterSnapshotCommand(app, runner);
  zkarrow::cli::RegisterDemoCommand(app, runner);
  zkarrow::cli::RegisterInspectCommand(app, runner);
  zkarrow::cli::RegisterCatCommand(app, runner);
  zkarrow::cli::RegisterConvertCommand(app, runner);
  zkarrow::cli::RegisterTxnLogCommand(app, runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? zkarrow::cli::kExitOk : zkarrow::cli::kExitUsage;
  }
  return runner ? runner() : zkarrow::cli::kExitUsage;
}
