// ZooKeeper's numeric error codes (KeeperException.Code) and how they travel
// inside a Status: StatusCode::kRemote with the code in detail(). Codes the
// client decides locally (CONNECTIONLOSS, SESSIONEXPIRED) travel the same way,
// so callers branch on ErrorCodeOf(status) alone.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace zkarrow::zk {

enum class ErrorCode : int32_t {
  OK = 0,
  SYSTEMERROR = -1,
  RUNTIMEINCONSISTENCY = -2,
  DATAINCONSISTENCY = -3,
  CONNECTIONLOSS = -4,
  MARSHALLINGERROR = -5,
  UNIMPLEMENTED = -6,
  OPERATIONTIMEOUT = -7,
  BADARGUMENTS = -8,
  UNKNOWNSESSION = -12,
  NEWCONFIGNOQUORUM = -13,
  RECONFIGINPROGRESS = -14,
  APIERROR = -100,
  NONODE = -101,
  NOAUTH = -102,
  BADVERSION = -103,
  NOCHILDRENFOREPHEMERALS = -108,
  NODEEXISTS = -110,
  NOTEMPTY = -111,
  SESSIONEXPIRED = -112,
  INVALIDCALLBACK = -113,
  INVALIDACL = -114,
  AUTHFAILED = -115,
  SESSIONMOVED = -118,
  NOTREADONLY = -119,
  EPHEMERALONLOCALSESSION = -120,
  NOWATCHER = -121,
  REQUESTTIMEOUT = -122,
  RECONFIGDISABLED = -123,
  SESSIONCLOSEDREQUIRESASLAUTH = -124,
  QUOTAEXCEEDED = -125,
  THROTTLEDOP = -127,
};

// "NONODE"; "UNKNOWN" for a code this client does not know.
std::string_view ErrorCodeName(ErrorCode code);

// A short human explanation: "node does not exist".
std::string_view ErrorCodeDescription(ErrorCode code);

// The ZooKeeper code a Status carries. Non-ZooKeeper failures map to the
// nearest code: invalid arguments to BADARGUMENTS, malformed or oversized
// data to MARSHALLINGERROR, timeouts to OPERATIONTIMEOUT, the rest to
// SYSTEMERROR.
ErrorCode ErrorCodeOf(const Status& status);

// A kRemote Status for `code`, e.g. "getData /a/b: NONODE (node does not
// exist)". `operation` and `path` say which request failed; either may be
// empty.
Status ZooKeeperError(ErrorCode code, std::string_view operation, std::string_view path,
                      std::string_view extra = {});

}  // namespace zkarrow::zk
