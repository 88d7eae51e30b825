// Test support for `zkarrow watch`: reading change streams back, replaying
// them into a tree, running the command as a child process, and a churn
// driver that changes a subtree at random.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "zk/client.h"

namespace zkarrow::testing {

// The rows of change streams, in order, concatenated: the keys of
// ReadZnodeRows (support/znode_rows.h) plus "event", "zxid" and "acl_read"
// (whether the acl column is non-null). With
// `partial`, a stream still being written is read up to its last whole
// message instead of failing.
Result<std::vector<nlohmann::json>> ReadChangeRows(const std::vector<std::filesystem::path>& files,
                                                   bool partial = false);

// Replays rows as the issue defines it: initial/created/changed put the row
// at its path, deleted removes it, resync is a marker. The result has the
// keys of ReadZnodeRows, sorted by path.
std::vector<nlohmann::json> Replay(const std::vector<nlohmann::json>& rows);

// "" when every step of the replay is a tree: a row that puts a node finds
// its parent already there (but for `root`'s rows), and a deleted row
// removes a node the replay holds, after all of its children; else the
// first row that breaks this. A stream ordered otherwise may still replay
// to the right final tree, yet a consumer applying it to a real tree
// (ZooKeeper, a file system) fails on the way.
std::string CheckTreeReplay(const std::vector<nlohmann::json>& rows, const std::string& root);

// "" when every path's rows go forward in time (zxid never decreases; for
// one incarnation mzxid and pzxid never decrease), else the first violation.
std::string CheckOrder(const std::vector<nlohmann::json>& rows);

// How many rows have `event`.
int64_t CountEvent(const std::vector<nlohmann::json>& rows, const std::string& event);

// Polls `files()` (re-evaluated: rotation adds files) until a row for which
// `match` is true appears or the deadline passes.
Status WaitForRow(const std::function<std::vector<std::filesystem::path>()>& files,
                  const std::function<bool(const nlohmann::json&)>& match,
                  std::chrono::seconds deadline = std::chrono::seconds(90));

// Waits until `file` holds a stream's schema: the watcher writes it once its
// watch is registered, so every later change reaches the stream.
Status WaitForStreamStart(const std::filesystem::path& file,
                          std::chrono::seconds deadline = std::chrono::seconds(90));

// The server port a process has an established TCP connection to, among
// `ports` (read from `ss`); -1 if none.
int ConnectedPort(pid_t pid, const std::vector<int>& ports);

// Random changes below `root`: creates (persistent, ephemeral, sequential,
// deep chains), sets, deletes, multi transactions, delete + re-create, one
// 1 MB value. Errors of individual operations (the node exists, is gone,
// has children, the connection was lost) are expected and ignored.
struct ChurnStats {
  int64_t submitted = 0;
  int64_t succeeded = 0;
};
ChurnStats Churn(zk::Client& client, const std::string& root, uint32_t seed, int operations,
                 const std::atomic<bool>* stop = nullptr);

}  // namespace zkarrow::testing
