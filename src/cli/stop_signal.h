// SIGINT and SIGTERM as a request to stop cleanly: the handler only records
// the signal, which the command's loop polls. Commands that run until told
// to (watch, serve, get of a live stream) then finish their output (last
// batch, end-of-stream marker) and exit 0; commands that stop before their
// end (restore, copy, diff) say what they did and exit 128 + the signal
// (report.h's SignalStop), instead of dying mid-write.
#pragma once

#include <string_view>

#include "base/status.h"

namespace zkarrow::cli {

// Installs the handlers (without SA_RESTART: a blocking read returns EINTR).
Status InstallStopHandlers();
// True once SIGINT or SIGTERM arrived.
bool StopRequested();
// The first of SIGINT or SIGTERM that arrived; 0 before either did.
int StopSignal();

// What a command that a signal stopped before its end returns: when
// `status` is the run stopping for a SIGINT or SIGTERM (kCancelled, once one
// arrived), SignalStop(that signal, "stopped by SIGINT" + `what`), which
// exits 130 (143 for SIGTERM); any other status as it is.
Status AsSignalStop(Status status, std::string_view what = "");

}  // namespace zkarrow::cli
