// `zkarrow copy zk://A/path zk://B/path`: restore with a live source, read
// through bounded memory (sorted runs spill to temporary files, or, into an
// empty target, records stream from the walk to the writes).
#include "cli/commands.h"
#include "cli/treesync_cli.h"

namespace zkarrow::cli {

void RegisterCopyCommand(CLI::App& app, CommandRunner& runner) {
  auto args = std::make_shared<RestoreArgs>();
  CLI::App* command =
      app.add_subcommand("copy", "Copy a live subtree to another (same semantics as restore)");
  command->footer(
      "The source is read with --auth credentials too; ACLs are copied unless --no-acl.\n"
      "Into an empty target, nodes are created as they are read (parents first, no sort).\n"
      "Containers and TTL nodes read live look persistent and are copied as such.\n"
      "Example:\n"
      "  zkarrow copy zk://old1:2181,old2:2181/app zk://new1:2181/app --mode mirror");
  command->add_option("SOURCE", args->source, "zk://HOST:PORT[,HOST:PORT...]/path")->required();
  command->add_option("TARGET", args->target, "zk://HOST:PORT[,HOST:PORT...]/path")->required();
  AddRestoreOptions(*command, *args);
  command->callback([args, &runner] { runner = [args] { return RunRestore("copy", *args); }; });
}

}  // namespace zkarrow::cli
