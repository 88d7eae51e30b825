// Decodes a snapshot file (snapshot.<zxid hex>, after any decompression):
//   FileHeader "ZKSN"
//   sessions:  count, then (id long, timeout int) each
//   ACL cache: count, then (id long, vector<ACL>) each
//   nodes:     (path, data buffer, acl id long, StatPersisted) each, parents
//              first, the root as ""; the path "/" ends the list
//   seal:      Adler-32 of every byte before it (long), then the string "/"
// followed, since 3.6, by the zxid digest (zxid long, version int, digest
// long) and its own seal, and, since 3.9, the last processed zxid (long) and
// a seal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "base/status.h"
#include "znodes/datadir/data_tree.h"
#include "znodes/datadir/file_format.h"

namespace zkarrow::znodes::datadir {

// The tree digest as of a zxid: the snapshot is exact (no longer fuzzy)
// once replay has reached that zxid.
struct ZxidDigest {
  int64_t zxid = 0;
  int32_t version = 0;
  int64_t digest = 0;
};

struct SnapshotInfo {
  FileHeader header;
  size_t sessions = 0;
  size_t nodes = 0;
  std::optional<ZxidDigest> digest;  // absent before 3.6, or when zxid is 0
  std::optional<int64_t> last_processed_zxid;
};

// Adds the snapshot's ACLs and nodes to `tree`, which should be empty, and
// checks every seal. Errors name the offset in `bytes`. The tree refers to
// `bytes`; the caller keeps them alive (DataTree::Retain).
Result<SnapshotInfo> DecodeSnapshot(std::span<const uint8_t> bytes, DataTree* tree);

}  // namespace zkarrow::znodes::datadir
