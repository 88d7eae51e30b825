// What the mirror cannot answer, done on ZooKeeper itself through a
// session of its own: a node's ACL (the action `acl`; the mirror keeps no
// ACLs, whose changes fire no watch), and the writes of `zkarrow serve
// --allow-writes` (the web UI's editing; the actions set_data, create and
// delete on both transports). Every change names the version its client
// saw (set_data, delete), so a concurrent change is reported as a conflict
// instead of being overwritten. Bodies are JSON:
//   acl       {"path": "/a"} -> {"path", "acl": [{"scheme", "id", "perms"}], "aversion"}
//   set_data  {"path": "/a", "data": "text", "version": 3}
//   create    {"path": "/a/b", "data": "text"}        (persistent, open ACL)
//   delete    {"path": "/a/b", "version": 0}
// Data is UTF-8 text (what the page edits). Paths must lie in the served
// subtree. The answer is {"path": P, "zxid": Z, "version": V} (delete:
// without the version: ZooKeeper returns no stat), Z the write's zxid (a
// delete's: its reply's, at or past the delete), for a `sync` that makes
// the write visible in the served state.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "zk/client.h"

namespace zkarrow::serve {

class ZnodeAccess {
 public:
  // `root`: the served subtree (requests elsewhere are refused). Writes
  // are refused (PermissionDenied) unless `allow_writes`. Connects on the
  // first request and again after a session is lost.
  ZnodeAccess(zk::ClientOptions options, std::string root, bool allow_writes);
  ~ZnodeAccess();

  // The action names this answers: acl, set_data, create, delete.
  static bool Handles(std::string_view action);
  bool allow_writes() const { return allow_writes_; }
  // Conflict (409) for BADVERSION and NODEEXISTS, NotFound for NONODE,
  // PermissionDenied for NOAUTH and for writes not allowed,
  // InvalidArgument for a bad body or NOTEMPTY.
  Result<std::string> Do(std::string_view action, std::string_view body);

 private:
  Result<zk::Client*> Connected();

  const zk::ClientOptions options_;
  const std::string root_;
  const bool allow_writes_;
  std::mutex mu_;  // one write at a time: each is a short round trip
  std::unique_ptr<zk::Client> client_;
  // Set by client_'s listener once its session expired or was closed.
  std::atomic<bool> session_ended_{false};
};

}  // namespace zkarrow::serve
