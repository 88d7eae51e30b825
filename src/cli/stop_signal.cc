#include "cli/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <cerrno>

namespace zkarrow::cli {

namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void RequestStop(int) { stop_requested.store(true); }

}  // namespace

Status InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = RequestStop;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM}) {
    if (::sigaction(signal, &action, nullptr) != 0) {
      return Status::FromErrno(errno, "installing the signal handler");
    }
  }
  return Status::Ok();
}

bool StopRequested() { return stop_requested.load(); }

}  // namespace zkarrow::cli
