// The zkarrow binary as a child process of a test, stopped by pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace zkarrow::testing {

// `zkarrow VERB ARGS...` as a child process, stderr to a file.
class ZkarrowProcess {
 public:
  // Stdout goes to `stdout_fd` when given, else to the test's own.
  static Result<std::unique_ptr<ZkarrowProcess>> Start(const std::string& verb,
                                                       const std::vector<std::string>& args,
                                                       const std::filesystem::path& stderr_file,
                                                       int stdout_fd = -1);
  ~ZkarrowProcess();  // SIGKILLs a process still running
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits (bounded) for the exit status.
  Result<int> Stop(std::chrono::seconds deadline = std::chrono::seconds(60));
  // Waits (bounded) for the process to exit by itself; its exit status.
  Result<int> Wait(std::chrono::seconds deadline = std::chrono::seconds(60));
  // Waits (bounded) until the process catches SIGINT and SIGTERM (its stop
  // handlers are installed), so that a signal sent next is one it handles
  // rather than one that kills it.
  Status WaitForStopHandlers(std::chrono::seconds deadline = std::chrono::seconds(60));
  bool Running();

 private:
  pid_t pid_ = -1;
};

}  // namespace zkarrow::testing
