#include "cli/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "cli/report.h"

namespace zkarrow::cli {

namespace {

std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");

// The first signal names the stop: a second one (an impatient Ctrl-C after
// a SIGTERM) does not change the exit status the run ends with.
extern "C" void RequestStop(int signal) {
  int none = 0;
  stop_signal.compare_exchange_strong(none, signal);
}

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

bool StopRequested() { return StopSignal() != 0; }

int StopSignal() { return stop_signal.load(); }

Status AsSignalStop(Status status, std::string_view what) {
  const int signal = StopSignal();
  if (status.ok() || status.code() != StatusCode::kCancelled || signal == 0 ||
      ExitCodeFor(status) != kExitFailure) {
    return status;
  }
  const std::string name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  return SignalStop(signal, "stopped by " + name + std::string(what));
}

}  // namespace zkarrow::cli
