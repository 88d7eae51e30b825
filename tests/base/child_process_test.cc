#include "base/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace zkarrow {
namespace {

namespace fs = std::filesystem;

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkarrow-child-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string ReadFile(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

int ExitStatus(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(ChildProcessTest, RedirectsItsStreams) {
  fs::path out = dir_ / "out.log";
  std::ofstream(out) << "old\n";
  Result<pid_t> pid = SpawnTiedChild({"/bin/sh", "-c", "cat; echo to-stderr >&2; exit 3"},
                                     {.stdin_path = "/proc/self/cmdline",  // any readable file
                                      .stdout_path = out.string(),
                                      .stderr_to_stdout = true});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_EQ(ExitStatus(*pid), 3);
  std::string text = ReadFile(out);
  EXPECT_EQ(text.find("old"), std::string::npos) << "truncated, not appended: " << text;
  EXPECT_NE(text.find("to-stderr"), std::string::npos) << text;

  pid = SpawnTiedChild({"/bin/sh", "-c", "echo again"},
                       {.stdout_path = out.string(), .append = true});
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  EXPECT_EQ(ExitStatus(*pid), 0);
  EXPECT_NE(ReadFile(out).find("to-stderr\nagain\n"), std::string::npos) << ReadFile(out);
}

TEST_F(ChildProcessTest, AProgramThatCannotRunIsAnErrorNamingIt) {
  Result<pid_t> pid = SpawnTiedChild({"/nonexistent/program"}, {});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().ToString().find("executing /nonexistent/program"), std::string::npos)
      << pid.status().ToString();
  EXPECT_NE(pid.status().ToString().find("No such file"), std::string::npos);

  pid = SpawnTiedChild({"/bin/true"}, {.stderr_path = (dir_ / "no-such-dir" / "err").string()});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().ToString().find("opening the stderr of /bin/true"), std::string::npos)
      << pid.status().ToString();
}

TEST_F(ChildProcessTest, StartsWithSignalsAtTheirDefaults) {
  // A parent that ignores SIGPIPE and blocks SIGTERM (as zkarrow's signal
  // handling does) must not pass either on.
  sigset_t term, old_mask;
  ::sigemptyset(&term);
  ::sigaddset(&term, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old_mask), 0);
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  fs::path out = dir_ / "status";
  Result<pid_t> pid = SpawnTiedChild({"/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"},
                                     {.stdout_path = out.string()});
  ::signal(SIGPIPE, old_pipe);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  ASSERT_EQ(ExitStatus(*pid), 0);
  std::string text = ReadFile(out);
  // grep's own masks: nothing blocked; SIGPIPE (bit 13) not ignored.
  EXPECT_NE(text.find("SigBlk:\t0000000000000000"), std::string::npos) << text;
  std::string ignored = text.substr(text.find("SigIgn:\t") + 8, 16);
  EXPECT_EQ(std::stoull(ignored, nullptr, 16) & (1ull << (SIGPIPE - 1)), 0u) << text;
}

TEST_F(ChildProcessTest, DiesWithItsParent) {
  // This process adopts orphans, so the grandchild below comes back to it
  // when its parent dies, and its end can be read with waitpid.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::close(pipe_fds[0]);
    Result<pid_t> child = SpawnTiedChild({"/bin/sleep", "600"}, {});
    pid_t sent = child.ok() ? *child : -1;
    ssize_t ignored = ::write(pipe_fds[1], &sent, sizeof sent);
    (void)ignored;
    ::_exit(0);  // no destructor, no kill: as if it crashed
  }
  ::close(pipe_fds[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(::read(pipe_fds[0], &grandchild, sizeof grandchild),
            static_cast<ssize_t>(sizeof grandchild));
  ::close(pipe_fds[0]);
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(ExitStatus(parent), 0);
  // sleep 600 ends only by the parent-death signal (SIGKILL, 9).
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::waitpid(grandchild, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(grandchild, SIGKILL);
      ::waitpid(grandchild, nullptr, 0);
      ADD_FAILURE() << "the child outlived its parent by 10 s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace zkarrow
