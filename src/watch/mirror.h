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
    // How many entries of the mirror are this node's children: kept by Put
    // and Erase (whatever the entry handed to Put says), so that deleting a
    // node can tell, without a scan, whether rows for its children must
    // come first. Stops at kManyChildren, which then means "some" (a scan
    // finds them). In what would be the entry's padding: no memory.
    uint16_t children = 0;
  };
  static constexpr uint16_t kManyChildren = UINT16_MAX;

  // The entry a record would leave in the mirror.
  static Entry EntryOf(const znodes::ZnodeRecord& record, uint32_t generation);

  // A pointer from Find is valid until the next Put or Erase.
  Entry* Find(std::string_view path);
  const Entry* Find(std::string_view path) const;
  // Adds or replaces `path`'s entry (keeping its count of children).
  // REQUIRES: fewer than 2^32 - 1 paths (ZooKeeper keeps its whole tree in
  // one JVM's heap: real trees are thousands of times smaller); a new
  // path's children are not in the mirror yet (parents are put first), or
  // its count would miss them.
  void Put(std::string_view path, const Entry& entry);
  // REQUIRES: `path` has no children in the mirror (they are erased
  // first, see Subtrees), or their parent's count would be lost with it.
  void Erase(std::string_view path);
  size_t size() const { return nodes_.size(); }

  // Paths whose generation is not `generation`, deepest first (children
  // before their parents).
  std::vector<std::string> NotSeenIn(uint32_t generation) const;

  // The paths of `roots` the mirror holds and of every node below them,
  // each once, deepest first (children before their parents): the order
  // in which a vanished subtree is deleted. Reads the whole mirror once,
  // and only when a root has children.
  std::vector<std::string> Subtrees(const std::vector<std::string>& roots) const;

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
  static_assert(sizeof(Node) == 48, "a node is 48 bytes: each byte more is 1 MB at 1M znodes");

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
  // Counts a child of `path`'s parent in or out.
  void CountChild(std::string_view path, bool added);

  std::vector<Node> nodes_;
  std::vector<uint32_t> slots_;  // 0: empty, else a node's index + 1; a power of two long
  std::vector<char> arena_;
  size_t arena_garbage_ = 0;  // bytes of erased nodes' paths in arena_
};

}  // namespace zkarrow::watch
