// One znode as the znode table sees it, whichever source read it (a live
// ensemble or ZooKeeper's data directory). A record is a view: its strings
// and spans belong to the producer and need only live until
// ZnodeTableWriter::Append returns, so walkers can hand over response buffers
// without copying.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "zk/types.h"

namespace zkarrow::znodes {

enum class NodeKind : uint8_t { kPersistent, kEphemeral, kContainer, kTtl };

// Names by NodeKind value; also the kind column's dictionary, in this order.
inline constexpr std::array<std::string_view, 4> kNodeKindNames = {"persistent", "ephemeral",
                                                                   "container", "ttl"};
static_assert(kNodeKindNames.size() == static_cast<size_t>(NodeKind::kTtl) + 1);

inline std::string_view NodeKindName(NodeKind kind) {
  return kNodeKindNames[static_cast<size_t>(kind)];
}

struct ZnodeRecord {
  std::string_view path;  // absolute, "/" for the root
  // Stat is missing only when not even `exists` could read it.
  std::optional<zk::Stat> stat;
  NodeKind kind = NodeKind::kPersistent;
  // The bytes; nullopt when not read (--no-data, or an error).
  std::optional<std::span<const uint8_t>> data;
  // Read, and the node holds ZooKeeper's null data (jute buffer length -1:
  // a create or setData without data), which ZooKeeper keeps apart from
  // empty data; `data` is then an empty span, so "read or not" stays
  // `data.has_value()`. The table writes such data as a null `data` cell.
  bool null_data = false;
  std::optional<int64_t> ttl_ms;              // TTL nodes, offline only
  const std::vector<zk::Acl>* acl = nullptr;  // nullptr: not read
  std::string_view error;                     // "" or a ZooKeeper error code name, e.g. "NOAUTH"
};

// ZooKeeper keeps container and TTL markers in the ephemeral owner field of
// the stat it stores; clients see 0 there. These decode the stored value.
struct EphemeralOwnerInfo {
  NodeKind kind = NodeKind::kPersistent;
  std::optional<int64_t> ttl_ms;
  int64_t client_visible_owner = 0;
};
EphemeralOwnerInfo DecodeStoredEphemeralOwner(int64_t stored_owner);

}  // namespace zkarrow::znodes
