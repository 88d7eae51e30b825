// What `watch` remembers of every znode it has reported: enough to tell
// whether a fresh read is new, changed, stale or the same, and nothing more
// (no data: every data change moves mzxid and version, so the stat decides).
// A record of a few zxids and a 64-bit fingerprint of the rest, per path,
// in flat arrays (see the private part for the layout and its cost).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "znodes/znode_record.h"

namespace zkarrow::watch {

class Mirror {
 public:
  struct Entry {
    int64_t czxid = 0;
    int64_t mzxid = 0;
    int64_t pzxid = 0;
    // Everything else a row shows but the path and data: stat fields, kind,
    // error, ACL (when read).
    uint64_t fingerprint = 0;
    // The resync pass that last saw the node.
    uint32_t generation = 0;
    znodes::NodeKind kind = znodes::NodeKind::kPersistent;
    // The node's data (hence its children) could be read: its children are
    // in view, as in `snapshot`, which lists children only of readable nodes.
    bool children_in_view = false;
  };

  // The entry a record would leave in the mirror.
  static Entry EntryOf(const znodes::ZnodeRecord& record, uint32_t generation);

  // A pointer from Find is valid until the next Put or Erase.
  Entry* Find(std::string_view path);
  const Entry* Find(std::string_view path) const;
  // REQUIRES: fewer than 2^32 - 1 paths (ZooKeeper keeps its whole tree in
  // one JVM's heap: real trees are thousands of times smaller).
  void Put(std::string_view path, const Entry& entry);
  void Erase(std::string_view path);
  size_t size() const { return nodes_.size(); }

  // Paths whose generation is not `generation`, deepest first (children
  // before their parents).
  std::vector<std::string> NotSeenIn(uint32_t generation) const;

  // Heap bytes the mirror holds: its three arrays' capacities.
  size_t ApproximateBytes() const;

 private:
  // Every path is stored once, in `arena_`: its length (LEB128), then its
  // bytes. A node is its entry and where its path starts; `slots_` is an
  // open-addressing (linear probing) index of the nodes by path. About 48
  // bytes a node, 5 to 11 of index, and the path: a node-based hash map of
  // std::string keys costs twice that before its path.
  struct Node {
    Entry entry;
    uint64_t path_offset = 0;
  };

  std::string_view PathOf(const Node& node) const;
  // The slot holding `path`'s node, or the empty slot where it would go.
  // REQUIRES: !slots_.empty().
  size_t FindSlot(std::string_view path) const;
  size_t HomeSlot(std::string_view path) const;
  // Empties `slot`, moving later entries of its probe run back into the hole
  // so that every lookup still finds them.
  void ClearSlot(size_t slot);
  void Rehash(size_t slot_count);
  // Rewrites the arena without the paths of erased nodes.
  void CompactArena();

  std::vector<Node> nodes_;
  std::vector<uint32_t> slots_;  // 0: empty, else a node's index + 1; a power of two long
  std::vector<char> arena_;
  size_t arena_garbage_ = 0;  // bytes of erased nodes' paths in arena_
};

}  // namespace zkarrow::watch
