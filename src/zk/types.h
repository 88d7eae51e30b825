// The values the ZooKeeper client hands to and receives from callers: node
// metadata, ACLs, creation modes, watch and session events. Plain data, no
// behaviour beyond a few constructors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "zk/error_code.h"

namespace zkarrow::zk {

// A znode's metadata (ZooKeeper's Stat record); times are milliseconds since
// the epoch.
struct Stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;

  friend bool operator==(const Stat&, const Stat&) = default;
};

// Permission bits of an ACL entry.
namespace perms {
inline constexpr int32_t kRead = 1;
inline constexpr int32_t kWrite = 2;
inline constexpr int32_t kCreate = 4;
inline constexpr int32_t kDelete = 8;
inline constexpr int32_t kAdmin = 16;
inline constexpr int32_t kAll = 31;
}  // namespace perms

struct Acl {
  int32_t perms = 0;
  std::string scheme;  // "world", "digest", "ip", "auth", "sasl", ...
  std::string id;      // "anyone", "user:base64(sha1(user:password))", ...

  friend bool operator==(const Acl&, const Acl&) = default;
};

// world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
std::vector<Acl> OpenAclUnsafe();
// Every permission for the identities the session authenticated as
// (ZooDefs.Ids.CREATOR_ALL_ACL); needs a prior AddAuth.
std::vector<Acl> CreatorAllAcl();
// world:anyone may read (ZooDefs.Ids.READ_ACL_UNSAFE).
std::vector<Acl> ReadAclUnsafe();

// The values are ZooKeeper's create flags.
enum class CreateMode : int32_t {
  kPersistent = 0,
  kEphemeral = 1,
  kPersistentSequential = 2,
  kEphemeralSequential = 3,
  // Deleted by the server once its last child is gone.
  kContainer = 4,
  // Deleted by the server when unmodified for `ttl` ms and childless; the
  // server needs extendedTypesEnabled=true.
  kPersistentWithTtl = 5,
  kPersistentSequentialWithTtl = 6,
};

enum class EventType : int32_t {
  kNone = -1,  // a session state change, not a node event
  kCreated = 1,
  kDeleted = 2,
  kDataChanged = 3,
  kChildrenChanged = 4,
  kDataWatchRemoved = 5,
  kChildWatchRemoved = 6,
  kPersistentWatchRemoved = 7,
};
std::string_view EventTypeName(EventType type);

enum class SessionState : int32_t {
  kDisconnected = 0,
  kConnected = 3,
  kAuthFailed = 4,
  kConnectedReadOnly = 5,
  kClosed = 7,
  kExpired = -112,
};
std::string_view SessionStateName(SessionState state);

struct WatchEvent {
  EventType type = EventType::kNone;
  SessionState state = SessionState::kConnected;
  std::string path;  // relative to the chroot, if any
};

struct SessionEvent {
  SessionState state = SessionState::kDisconnected;
  std::string server;  // "host:port" connected to or lost
  Status reason;       // why the connection was lost or the session ended
};

// Listeners run on the client's I/O thread and must return quickly: hand
// heavy work to another thread. They may submit new requests.
using WatchListener = std::function<void(const WatchEvent&)>;
using SessionListener = std::function<void(const SessionEvent&)>;

// AddWatch modes (ZooKeeper 3.6+).
enum class AddWatchMode : int32_t {
  kPersistent = 0,           // data and children events of the node itself
  kPersistentRecursive = 1,  // created/deleted/data events of the node and its subtree
};

// Which watches RemoveWatches removes.
enum class WatcherType : int32_t { kChildren = 1, kData = 2, kAny = 3 };

struct DataResult {
  std::string data;
  // The node holds ZooKeeper's null data (a jute buffer of length -1, what getData returns as
  // null), which the server keeps apart from empty data; `data` is then empty.
  bool null_data = false;
  Stat stat;
};

struct ChildrenResult {
  std::vector<std::string> children;
  Stat stat;
};

struct AclResult {
  std::vector<Acl> acls;
  Stat stat;
};

struct CreateResult {
  std::string path;  // the created path (sequential nodes get a suffix)
  Stat stat;
};

// One identity of the session (WhoAmI).
struct ClientIdentity {
  std::string scheme;
  std::string user;
};

// One operation of an atomic Multi.
struct Op {
  enum class Kind { kCreate, kDelete, kSetData, kCheck };

  static Op Create(std::string path, std::string data, std::vector<Acl> acl,
                   CreateMode mode = CreateMode::kPersistent, int64_t ttl_ms = 0);
  static Op Delete(std::string path, int32_t version = -1);
  static Op SetData(std::string path, std::string data, int32_t version = -1);
  // Fails the transaction unless the node's version is `version`.
  static Op Check(std::string path, int32_t version);

  Kind kind = Kind::kCheck;
  std::string path;
  std::string data;
  // kCreate, kSetData: write ZooKeeper's null data (a jute buffer of length -1, what getData
  // returns as null), which the server keeps apart from empty data; `data` is then empty.
  bool null_data = false;
  std::vector<Acl> acl;
  CreateMode mode = CreateMode::kPersistent;
  int64_t ttl_ms = 0;
  int32_t version = -1;
};

// The outcome of one Multi operation. When the transaction fails, the failing
// operation carries its error, the others OK or RUNTIMEINCONSISTENCY (rolled
// back), and nothing was applied.
struct OpResult {
  ErrorCode error = ErrorCode::OK;
  std::string path;  // kCreate: the created path
  Stat stat;         // kCreate, kSetData
};

// One read of a MultiRead batch.
struct ReadOp {
  enum class Kind { kGetData, kGetChildren };
  static ReadOp GetData(std::string path) { return {Kind::kGetData, std::move(path)}; }
  static ReadOp GetChildren(std::string path) { return {Kind::kGetChildren, std::move(path)}; }

  Kind kind = Kind::kGetData;
  std::string path;
};

// The outcome of one ReadOp: an error (e.g. NONODE: the node vanished) or the
// data and stat (kGetData) or the children (kGetChildren). One failed read
// does not fail the others.
struct ReadResult {
  ErrorCode error = ErrorCode::OK;
  std::string data;
  // kGetData: the node holds ZooKeeper's null data (a jute buffer of length -1, what getData
  // returns as null), which the server keeps apart from empty data; `data` is then empty.
  bool null_data = false;
  Stat stat;
  std::vector<std::string> children;
};

}  // namespace zkarrow::zk
