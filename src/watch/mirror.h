// What `watch` remembers of every znode it has reported: enough to tell
// whether a fresh read is new, changed, stale or the same, and nothing more
// (no data: every data change moves mzxid and version, so the stat decides).
// A record of a few zxids and a 64-bit fingerprint of the rest, per path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
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

  Entry* Find(std::string_view path);
  const Entry* Find(std::string_view path) const;
  void Put(std::string_view path, const Entry& entry);
  void Erase(std::string_view path);
  size_t size() const { return map_.size(); }

  // Paths whose generation is not `generation`, deepest first (children
  // before their parents).
  std::vector<std::string> NotSeenIn(uint32_t generation) const;

  // Heap bytes the mirror holds (nodes, keys, buckets), as libstdc++'s
  // unordered_map lays them out.
  size_t ApproximateBytes() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view path) const { return std::hash<std::string_view>{}(path); }
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
};

}  // namespace zkarrow::watch
