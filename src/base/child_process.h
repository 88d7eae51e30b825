// A program run as a child process that cannot outlive its parent.
//
// Tests, benchmarks and `zkarrow demo` start servers (ZooKeeper, zkarrow
// serve, a KDC) and stop them by pid when they are done. A parent that dies
// first (an aborted test, a crash, SIGKILL) runs no destructor, so each child
// also asks the kernel for SIGKILL when its parent goes (PR_SET_PDEATHSIG):
// nothing a run started is left holding ports and directories.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace zkarrow {

struct ChildOptions {
  // Where the child's standard streams go; an empty path keeps the parent's.
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  int stdin_fd = -1;              // instead of stdin_path, when >= 0
  int stdout_fd = -1;             // instead of stdout_path, when >= 0
  bool stderr_to_stdout = false;  // instead of stderr_path
  bool append = false;            // open the output paths for appending, else truncate
  // A process group of its own, so that a terminal's Ctrl-C reaches only
  // the parent, which decides how its children stop.
  bool own_process_group = false;
};

// Starts `argv[0]` (a path, not searched in PATH) with `argv`, the signal
// mask cleared and SIGPIPE back to its default (a parent that ignores it
// would pass that on through exec). Returns the pid, to be reaped by the
// caller; a program that cannot be executed is an error here, not an exit
// status later.
// REQUIRES: argv is not empty. The calling thread lives as long as the
// child should: the kernel's parent-death signal follows the thread that
// forked, not the process.
Result<pid_t> SpawnTiedChild(const std::vector<std::string>& argv, const ChildOptions& options);

}  // namespace zkarrow
