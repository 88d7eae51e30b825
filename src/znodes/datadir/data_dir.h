// Reads a znode tree offline from ZooKeeper's own data directory: the newest
// valid snapshot at or before the target zxid, with the transaction logs
// replayed on top of it the way the server does when it restarts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "znodes/znode_record.h"

namespace zkarrow::znodes {

struct DataDirOptions {
  // The server's dataDir, its version-2 folder, or a separate dataLogDir
  // holding both kinds of file: all are accepted.
  std::filesystem::path dir;
  // Point in time: the tree as of this zxid. Unset: the newest state.
  std::optional<int64_t> target_zxid;
};

struct DataDirSummary {
  std::filesystem::path snapshot;  // the snapshot the tree was loaded from
  int64_t snapshot_zxid = 0;       // from its file name
  int64_t last_zxid = 0;           // the last transaction applied (or the snapshot's)
  int64_t min_zxid_seen = 0;       // the oldest zxid any file mentioned
  size_t logs_replayed = 0;
  size_t transactions_applied = 0;
  // Things a reader should know, e.g. a corrupt snapshot that was skipped
  // in favour of an older one.
  std::vector<std::string> warnings;
  size_t znodes = 0;
  // True when replay reached the zxid of the snapshot's tree digest (3.6+)
  // and the rebuilt tree's digest matched it: the server's own
  // consistency check, passed. A digest at the snapshot's own zxid that
  // does not match may be confirmed by the next transaction's digest
  // instead (see RecordDigest in data_dir.cc).
  bool digest_verified = false;
};

// Calls `sink` for every znode of the reconstructed tree in path order
// (sorted by the paths' bytes) with its client-visible stat, its kind
// (container and TTL told apart exactly), TTL, data and ACL. Records are
// views valid only during the call. `summary` may be null.
Status ReadDataDir(const DataDirOptions& options,
                   const std::function<Status(const ZnodeRecord&)>& sink, DataDirSummary* summary);

}  // namespace zkarrow::znodes
