#include "znodes/znode_record.h"

#include <limits>

namespace zkarrow::znodes {

EphemeralOwnerInfo DecodeStoredEphemeralOwner(int64_t stored_owner) {
  // ZooKeeper's EphemeralType: containers store Long.MIN_VALUE; TTL nodes set
  // the top byte to 0xff, keep the 16 bits below it zero (the extended type
  // "TTL") and the TTL in milliseconds in the low 40 bits. Server ids below
  // 255 keep real session ids out of that range.
  constexpr uint64_t kExtendedMask = 0xff00000000000000ULL;
  constexpr uint64_t kReservedMask = 0x00ffff0000000000ULL;
  constexpr uint64_t kValueMask = 0x000000ffffffffffULL;
  EphemeralOwnerInfo info;
  const auto bits = static_cast<uint64_t>(stored_owner);
  if (stored_owner == 0) return info;
  if (stored_owner == std::numeric_limits<int64_t>::min()) {
    info.kind = NodeKind::kContainer;
    return info;
  }
  if ((bits & kExtendedMask) == kExtendedMask && (bits & kReservedMask) == 0) {
    info.kind = NodeKind::kTtl;
    info.ttl_ms = static_cast<int64_t>(bits & kValueMask);
    return info;
  }
  info.kind = NodeKind::kEphemeral;
  info.client_visible_owner = stored_owner;
  return info;
}

}  // namespace zkarrow::znodes
