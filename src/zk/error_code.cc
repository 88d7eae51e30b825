#include "zk/error_code.h"

#include <string>

namespace zkarrow::zk {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK:
      return "OK";
    case ErrorCode::SYSTEMERROR:
      return "SYSTEMERROR";
    case ErrorCode::RUNTIMEINCONSISTENCY:
      return "RUNTIMEINCONSISTENCY";
    case ErrorCode::DATAINCONSISTENCY:
      return "DATAINCONSISTENCY";
    case ErrorCode::CONNECTIONLOSS:
      return "CONNECTIONLOSS";
    case ErrorCode::MARSHALLINGERROR:
      return "MARSHALLINGERROR";
    case ErrorCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case ErrorCode::OPERATIONTIMEOUT:
      return "OPERATIONTIMEOUT";
    case ErrorCode::BADARGUMENTS:
      return "BADARGUMENTS";
    case ErrorCode::UNKNOWNSESSION:
      return "UNKNOWNSESSION";
    case ErrorCode::NEWCONFIGNOQUORUM:
      return "NEWCONFIGNOQUORUM";
    case ErrorCode::RECONFIGINPROGRESS:
      return "RECONFIGINPROGRESS";
    case ErrorCode::APIERROR:
      return "APIERROR";
    case ErrorCode::NONODE:
      return "NONODE";
    case ErrorCode::NOAUTH:
      return "NOAUTH";
    case ErrorCode::BADVERSION:
      return "BADVERSION";
    case ErrorCode::NOCHILDRENFOREPHEMERALS:
      return "NOCHILDRENFOREPHEMERALS";
    case ErrorCode::NODEEXISTS:
      return "NODEEXISTS";
    case ErrorCode::NOTEMPTY:
      return "NOTEMPTY";
    case ErrorCode::SESSIONEXPIRED:
      return "SESSIONEXPIRED";
    case ErrorCode::INVALIDCALLBACK:
      return "INVALIDCALLBACK";
    case ErrorCode::INVALIDACL:
      return "INVALIDACL";
    case ErrorCode::AUTHFAILED:
      return "AUTHFAILED";
    case ErrorCode::SESSIONMOVED:
      return "SESSIONMOVED";
    case ErrorCode::NOTREADONLY:
      return "NOTREADONLY";
    case ErrorCode::EPHEMERALONLOCALSESSION:
      return "EPHEMERALONLOCALSESSION";
    case ErrorCode::NOWATCHER:
      return "NOWATCHER";
    case ErrorCode::REQUESTTIMEOUT:
      return "REQUESTTIMEOUT";
    case ErrorCode::RECONFIGDISABLED:
      return "RECONFIGDISABLED";
    case ErrorCode::SESSIONCLOSEDREQUIRESASLAUTH:
      return "SESSIONCLOSEDREQUIRESASLAUTH";
    case ErrorCode::QUOTAEXCEEDED:
      return "QUOTAEXCEEDED";
    case ErrorCode::THROTTLEDOP:
      return "THROTTLEDOP";
  }
  return "UNKNOWN";
}

std::string_view ErrorCodeDescription(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK:
      return "ok";
    case ErrorCode::SYSTEMERROR:
      return "system error";
    case ErrorCode::RUNTIMEINCONSISTENCY:
      return "runtime inconsistency";
    case ErrorCode::DATAINCONSISTENCY:
      return "data inconsistency";
    case ErrorCode::CONNECTIONLOSS:
      return "connection lost";
    case ErrorCode::MARSHALLINGERROR:
      return "malformed message";
    case ErrorCode::UNIMPLEMENTED:
      return "operation not implemented by the server";
    case ErrorCode::OPERATIONTIMEOUT:
      return "operation timed out";
    case ErrorCode::BADARGUMENTS:
      return "bad arguments";
    case ErrorCode::UNKNOWNSESSION:
      return "unknown session";
    case ErrorCode::NEWCONFIGNOQUORUM:
      return "no quorum of the new configuration";
    case ErrorCode::RECONFIGINPROGRESS:
      return "a reconfiguration is in progress";
    case ErrorCode::APIERROR:
      return "API error";
    case ErrorCode::NONODE:
      return "node does not exist";
    case ErrorCode::NOAUTH:
      return "not authorized";
    case ErrorCode::BADVERSION:
      return "version mismatch";
    case ErrorCode::NOCHILDRENFOREPHEMERALS:
      return "ephemeral nodes may not have children";
    case ErrorCode::NODEEXISTS:
      return "node already exists";
    case ErrorCode::NOTEMPTY:
      return "node has children";
    case ErrorCode::SESSIONEXPIRED:
      return "session expired";
    case ErrorCode::INVALIDCALLBACK:
      return "invalid callback";
    case ErrorCode::INVALIDACL:
      return "invalid ACL";
    case ErrorCode::AUTHFAILED:
      return "authentication failed";
    case ErrorCode::SESSIONMOVED:
      return "session moved to another server";
    case ErrorCode::NOTREADONLY:
      return "server is read-only";
    case ErrorCode::EPHEMERALONLOCALSESSION:
      return "ephemeral node on a local session";
    case ErrorCode::NOWATCHER:
      return "no such watcher";
    case ErrorCode::REQUESTTIMEOUT:
      return "request timed out";
    case ErrorCode::RECONFIGDISABLED:
      return "reconfiguration is disabled";
    case ErrorCode::SESSIONCLOSEDREQUIRESASLAUTH:
      return "session closed: SASL authentication required";
    case ErrorCode::QUOTAEXCEEDED:
      return "quota exceeded";
    case ErrorCode::THROTTLEDOP:
      return "operation throttled";
  }
  return "unknown error code";
}

ErrorCode ErrorCodeOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return ErrorCode::OK;
    case StatusCode::kRemote:
      return static_cast<ErrorCode>(status.detail());
    case StatusCode::kInvalidArgument:
      return ErrorCode::BADARGUMENTS;
    case StatusCode::kInvalidData:
    case StatusCode::kOutOfRange:
      return ErrorCode::MARSHALLINGERROR;
    case StatusCode::kTimeout:
      return ErrorCode::OPERATIONTIMEOUT;
    default:
      return ErrorCode::SYSTEMERROR;
  }
}

Status ZooKeeperError(ErrorCode code, std::string_view operation, std::string_view path,
                      std::string_view extra) {
  std::string message;
  if (!operation.empty()) {
    message += operation;
    if (!path.empty()) message += ' ';
  }
  message += path;
  if (!message.empty()) message += ": ";
  message += ErrorCodeName(code);
  message += " (";
  message += ErrorCodeDescription(code);
  message += ')';
  if (!extra.empty()) {
    message += ": ";
    message += extra;
  }
  return {StatusCode::kRemote, std::move(message), static_cast<int32_t>(code)};
}

}  // namespace zkarrow::zk
