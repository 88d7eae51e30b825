// The one way a command reports how it ended: a message on stderr and the
// exit status. Every verb goes through here, so the exit codes (documented
// in the README) mean the same thing everywhere:
//   0 success; 1 the work failed (bad input, a server error, I/O);
//   2 bad arguments, decided by the command line layer only;
//   3 ZooKeeper unreachable or the session expired;
//   128+N stopped by signal N before the end (130 SIGINT, 143 SIGTERM), as
//   a shell reports a process that signal killed, after the command said
//   what it had done (restore, copy, diff; see stop_signal.h).
// A Status from the libraries never becomes 2, whatever its code: a library's
// kInvalidArgument means the program asked something impossible of it, which
// is a failure of the run, not of the user's arguments.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace zkarrow::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;
inline constexpr int kExitSignalBase = 128;

// A refused argument found while the command runs (an unknown column name,
// a malformed --zxid): the only Status that exits 2. The marker lives in the
// status's detail, which no library sets together with kInvalidArgument.
Status UsageError(std::string message);

// A run that signal `signal` (SIGINT, SIGTERM) stopped before its end: the
// one Status that exits kExitSignalBase + signal. ReportFailure prints
// `message` as it is.
Status SignalStop(int signal, std::string message);

// 0 for OK, 2 for a UsageError, 128+N for a SignalStop, else 1 or 3 (see
// above).
int ExitCodeFor(const Status& status);

// Prints "zkarrow COMMAND: MESSAGE" and returns ExitCodeFor(status).
// REQUIRES: !status.ok().
int ReportFailure(std::string_view command, const Status& status);

// ReportFailure(command, UsageError(message)): returns kExitUsage.
int ReportUsageError(std::string_view command, std::string message);

// 0 if `status` is OK, else ReportFailure(command, status).
inline int Finish(std::string_view command, const Status& status) {
  return status.ok() ? kExitOk : ReportFailure(command, status);
}

// Comparisons (`diff`) follow diff(1): 1 means "the inputs differ", an
// outcome, not a failure. It leaves through the same path as a Status made
// by Different(); the command's failures that elsewhere exit 1 exit
// kExitComparisonFailure instead, so that 1 keeps one meaning.
inline constexpr int kExitDifferent = 1;
inline constexpr int kExitComparisonFailure = 4;
Status Different(std::string summary);

// For comparisons: 0 for OK, 1 for Different (its summary on stderr), 2, 3
// and 128+N as ExitCodeFor, 4 for every other failure.
int FinishComparison(std::string_view command, const Status& status);

}  // namespace zkarrow::cli
