#include "base/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace zkarrow {
namespace {

// In the child between fork and exec only async-signal-safe calls are made;
// a failure is sent to the parent as the errno and the step that failed
// over a close-on-exec pipe, which a successful exec closes unwritten.
struct ChildFailure {
  int step;  // index into kSteps
  int error;
};

constexpr const char* kSteps[] = {"opening the stdin of", "opening the stdout of",
                                  "opening the stderr of", "redirecting the streams of",
                                  "executing"};

[[noreturn]] void FailInChild(int pipe_fd, int step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = ::write(pipe_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

// Opens `path` onto `target_fd` in the child.
bool OpenOnto(const std::string& path, int flags, int target_fd) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool moved = ::dup2(fd, target_fd) >= 0;
  ::close(fd);
  return moved;
}

}  // namespace

Result<pid_t> SpawnTiedChild(const std::vector<std::string>& argv, const ChildOptions& options) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int output_flags = O_WRONLY | O_CREAT | (options.append ? O_APPEND : O_TRUNC);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe for " + argv[0]);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    Status failed = Status::FromErrno(errno, "fork for " + argv[0]);
    ::close(report[0]);
    ::close(report[1]);
    return failed;
  }
  if (pid == 0) {
    ::close(report[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before the prctl took effect: nobody waits.
    if (::getppid() != parent) ::_exit(127);
    if (options.own_process_group) ::setpgid(0, 0);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (options.stdin_fd >= 0) {
      if (::dup2(options.stdin_fd, STDIN_FILENO) < 0) FailInChild(report[1], 3);
    } else if (!options.stdin_path.empty() &&
               !OpenOnto(options.stdin_path, O_RDONLY, STDIN_FILENO)) {
      FailInChild(report[1], 0);
    }
    if (options.stdout_fd >= 0) {
      if (::dup2(options.stdout_fd, STDOUT_FILENO) < 0) FailInChild(report[1], 3);
    } else if (!options.stdout_path.empty() &&
               !OpenOnto(options.stdout_path, output_flags, STDOUT_FILENO)) {
      FailInChild(report[1], 1);
    }
    if (options.stderr_to_stdout) {
      if (::dup2(STDOUT_FILENO, STDERR_FILENO) < 0) FailInChild(report[1], 3);
    } else if (!options.stderr_path.empty() &&
               !OpenOnto(options.stderr_path, output_flags, STDERR_FILENO)) {
      FailInChild(report[1], 2);
    }
    ::execv(args[0], args.data());
    FailInChild(report[1], 4);
  }
  ::close(report[1]);
  ChildFailure failure{};
  ssize_t got;
  do {
    got = ::read(report[0], &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid, nullptr, 0);
    return Status::FromErrno(failure.error, std::string(kSteps[failure.step]) + " " + argv[0]);
  }
  return pid;
}

}  // namespace zkarrow
