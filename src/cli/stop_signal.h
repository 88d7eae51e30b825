// SIGINT and SIGTERM as a request to stop cleanly, for the commands that run
// until told to (watch, serve, get of a live stream): the handler only sets
// a flag that the command's loop polls, so the command finishes its output
// (last batch, end-of-stream marker) and exits 0 instead of dying mid-write.
#pragma once

#include "base/status.h"

namespace zkarrow::cli {

// Installs the handlers (without SA_RESTART: a blocking read returns EINTR).
Status InstallStopHandlers();
// True once SIGINT or SIGTERM arrived.
bool StopRequested();

}  // namespace zkarrow::cli
