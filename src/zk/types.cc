#include "zk/types.h"

#include <utility>

namespace zkarrow::zk {

std::vector<Acl> OpenAclUnsafe() { return {{perms::kAll, "world", "anyone"}}; }
std::vector<Acl> CreatorAllAcl() { return {{perms::kAll, "auth", ""}}; }
std::vector<Acl> ReadAclUnsafe() { return {{perms::kRead, "world", "anyone"}}; }

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kNone:
      return "none";
    case EventType::kCreated:
      return "created";
    case EventType::kDeleted:
      return "deleted";
    case EventType::kDataChanged:
      return "data_changed";
    case EventType::kChildrenChanged:
      return "children_changed";
    case EventType::kDataWatchRemoved:
      return "data_watch_removed";
    case EventType::kChildWatchRemoved:
      return "child_watch_removed";
    case EventType::kPersistentWatchRemoved:
      return "persistent_watch_removed";
  }
  return "unknown";
}

std::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kDisconnected:
      return "disconnected";
    case SessionState::kConnected:
      return "connected";
    case SessionState::kAuthFailed:
      return "auth_failed";
    case SessionState::kConnectedReadOnly:
      return "connected_read_only";
    case SessionState::kClosed:
      return "closed";
    case SessionState::kExpired:
      return "expired";
  }
  return "unknown";
}

Op Op::Create(std::string path, std::string data, std::vector<Acl> acl, CreateMode mode,
              int64_t ttl_ms) {
  Op op;
  op.kind = Kind::kCreate;
  op.path = std::move(path);
  op.data = std::move(data);
  op.acl = std::move(acl);
  op.mode = mode;
  op.ttl_ms = ttl_ms;
  return op;
}

Op Op::Delete(std::string path, int32_t version) {
  Op op;
  op.kind = Kind::kDelete;
  op.path = std::move(path);
  op.version = version;
  return op;
}

Op Op::SetData(std::string path, std::string data, int32_t version) {
  Op op;
  op.kind = Kind::kSetData;
  op.path = std::move(path);
  op.data = std::move(data);
  op.version = version;
  return op;
}

Op Op::Check(std::string path, int32_t version) {
  Op op;
  op.kind = Kind::kCheck;
  op.path = std::move(path);
  op.version = version;
  return op;
}

}  // namespace zkarrow::zk
