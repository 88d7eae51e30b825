#include "support/zkarrow_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

extern char** environ;

namespace zkarrow::testing {

Result<std::unique_ptr<ZkarrowProcess>> ZkarrowProcess::Start(
    const std::string& verb, const std::vector<std::string>& args,
    const std::filesystem::path& stderr_file, int stdout_fd) {
  std::vector<std::string> argv_strings = {ZKARROW_BINARY, verb};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  pid_t pid = -1;
  int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return Status::FromErrno(error, "spawning zkarrow " + verb);
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

}  // namespace zkarrow::testing
