#include "cli/report.h"

#include <cstdio>
#include <string>

#include "zk/error_code.h"

namespace zkarrow::cli {
namespace {

// Chosen far from ZooKeeper's error codes, which share the detail field.
constexpr int32_t kUsageDetail = 0x75736167;      // "usag"
constexpr int32_t kDifferentDetail = 0x64696666;  // "diff"
// Plus the signal's number (below 64 on Linux).
constexpr int32_t kSignalDetail = 0x73696700;  // "sig\0"
constexpr int kMaxSignal = 64;

bool IsDifferent(const Status& status) {
  return status.code() == StatusCode::kConflict && status.detail() == kDifferentDetail;
}

}  // namespace

Status UsageError(std::string message) {
  return {StatusCode::kInvalidArgument, std::move(message), kUsageDetail};
}

Status SignalStop(int signal, std::string message) {
  return {StatusCode::kCancelled, std::move(message), kSignalDetail + signal};
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == StatusCode::kInvalidArgument && status.detail() == kUsageDetail) {
    return kExitUsage;
  }
  if (status.code() == StatusCode::kCancelled && status.detail() > kSignalDetail &&
      status.detail() <= kSignalDetail + kMaxSignal) {
    return kExitSignalBase + (status.detail() - kSignalDetail);
  }
  switch (zk::ErrorCodeOf(status)) {
    case zk::ErrorCode::CONNECTIONLOSS:
    case zk::ErrorCode::SESSIONEXPIRED:
    case zk::ErrorCode::OPERATIONTIMEOUT:  // also kTimeout: no server granted a session
      return kExitUnavailable;
    default:
      break;
  }
  return kExitFailure;
}

int ReportFailure(std::string_view command, const Status& status) {
  // A usage error is the user's own words, and a signal's stop the
  // command's: no "invalid argument:" or "cancelled:" prefix.
  const int code = ExitCodeFor(status);
  std::string text =
      code == kExitUsage || code > kExitSignalBase ? status.message() : status.ToString();
  std::fprintf(stderr, "zkarrow %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               text.c_str());
  return code;
}

int ReportUsageError(std::string_view command, std::string message) {
  return ReportFailure(command, UsageError(std::move(message)));
}

Status Different(std::string summary) {
  return {StatusCode::kConflict, std::move(summary), kDifferentDetail};
}

int FinishComparison(std::string_view command, const Status& status) {
  if (status.ok()) return kExitOk;
  if (IsDifferent(status)) {
    std::fprintf(stderr, "zkarrow %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 status.message().c_str());
    return kExitDifferent;
  }
  const int code = ReportFailure(command, status);
  return code == kExitFailure ? kExitComparisonFailure : code;
}

}  // namespace zkarrow::cli
