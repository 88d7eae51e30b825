// The zkarrow binary: parses the command line and runs one verb.
#include <csignal>
#include <cstdio>
#include <exception>
#include <new>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // One policy for every command: a reader that closes its end of a pipe is
  // a write error (EPIPE) reported as any other (a message, exit 1), not a
  // silent death by SIGPIPE that leaves the output's state unsaid.
  std::signal(SIGPIPE, SIG_IGN);
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
  zkarrow::cli::RegisterWatchCommand(app, runner);
  zkarrow::cli::RegisterQueryCommand(app, runner);
  zkarrow::cli::RegisterServeCommand(app, runner);
  zkarrow::cli::RegisterGetCommand(app, runner);
  zkarrow::cli::RegisterPutCommand(app, runner);
  zkarrow::cli::RegisterDiffCommand(app, runner);
  zkarrow::cli::RegisterRestoreCommand(app, runner);
  zkarrow::cli::RegisterCopyCommand(app, runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? zkarrow::cli::kExitOk : zkarrow::cli::kExitUsage;
  }
  if (!runner) {  // require_subcommand(1) makes this unreachable; say so if not
    std::fprintf(stderr, "zkarrow: no command given; see zkarrow --help\n");
    return zkarrow::cli::kExitUsage;
  }
  // Errors are values in zkarrow; an exception reaching here is memory
  // exhaustion or a bug. Catching it unwinds the command's stack, so its
  // destructors discard partial output, and the process exits 1 with a
  // message instead of terminate()'s abort.
  try {
    return runner();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "zkarrow: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zkarrow: internal error: %s\n", e.what());
  }
  return zkarrow::cli::kExitFailure;
}
