#include "support/zkarrow_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <thread>

#include "base/child_process.h"

namespace zkarrow::testing {

Result<std::unique_ptr<ZkarrowProcess>> ZkarrowProcess::Start(
    const std::string& verb, const std::vector<std::string>& args,
    const std::filesystem::path& stderr_file, int stdout_fd) {
  std::vector<std::string> argv = {ZKARROW_BINARY, verb};
  argv.insert(argv.end(), args.begin(), args.end());
  ZKA_ASSIGN_OR_RETURN(pid_t pid, SpawnTiedChild(argv, {.stderr_path = stderr_file.string(),
                                                        .stdout_fd = stdout_fd}));
  auto process = std::unique_ptr<ZkarrowProcess>(new ZkarrowProcess());
  process->pid_ = pid;
  return process;
}

ZkarrowProcess::~ZkarrowProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ZkarrowProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

Result<int> ZkarrowProcess::Stop(std::chrono::seconds deadline) {
  if (pid_ <= 0) return Status::Internal("the zkarrow process is not running");
  ::kill(pid_, SIGTERM);
  return Wait(deadline);
}

Result<int> ZkarrowProcess::Wait(std::chrono::seconds deadline) {
  if (pid_ <= 0) return Status::Internal("the zkarrow process is not running");
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return Status::Internal("zkarrow died of signal " + std::to_string(WTERMSIG(status)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Timeout("zkarrow did not exit within " + std::to_string(deadline.count()) + " s");
}

Status ZkarrowProcess::WaitForStopHandlers(std::chrono::seconds deadline) {
  if (pid_ <= 0) return Status::Internal("the zkarrow process is not running");
  // /proc/PID/status's SigCgt: the caught signals, a hexadecimal mask with
  // bit N-1 for signal N.
  const uint64_t wanted = (uint64_t{1} << (SIGINT - 1)) | (uint64_t{1} << (SIGTERM - 1));
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (!line.starts_with("SigCgt:")) continue;
      if ((std::stoull(line.substr(7), nullptr, 16) & wanted) == wanted) return Status::Ok();
    }
    if (!Running()) return Status::Internal("zkarrow exited before it caught SIGINT and SIGTERM");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Timeout("zkarrow did not catch SIGINT and SIGTERM within " +
                         std::to_string(deadline.count()) + " s");
}

}  // namespace zkarrow::testing
