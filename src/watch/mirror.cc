#include "watch/mirror.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <optional>
#include <utility>

#include "znodes/znode_path.h"

namespace zkarrow::watch {
namespace {

// splitmix64's finalizer: every input bit moves every output bit.
uint64_t Mix(uint64_t h, uint64_t value) {
  uint64_t x = h ^ (value + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t MixText(uint64_t h, std::string_view text) {
  h = Mix(h, std::hash<std::string_view>{}(text));
  return Mix(h, text.size());
}

}  // namespace

Mirror::Entry Mirror::EntryOf(const znodes::ZnodeRecord& record, uint32_t generation) {
  Entry entry;
  entry.generation = generation;
  entry.kind = record.kind;
  entry.children_in_view = record.data.has_value();
  uint64_t h = Mix(0, static_cast<uint64_t>(record.kind));
  h = MixText(h, record.error);
  h = Mix(h, record.stat.has_value());
  if (record.stat) {
    const zk::Stat& s = *record.stat;
    entry.czxid = s.czxid;
    entry.mzxid = s.mzxid;
    entry.pzxid = s.pzxid;
    for (int64_t v : {s.ctime, s.mtime, s.ephemeral_owner, int64_t{s.version}, int64_t{s.cversion},
                      int64_t{s.aversion}, int64_t{s.data_length}, int64_t{s.num_children}}) {
      h = Mix(h, static_cast<uint64_t>(v));
    }
  }
  h = Mix(h, record.data.has_value());
  h = Mix(h, record.acl != nullptr);
  if (record.acl) {
    for (const zk::Acl& acl : *record.acl) {
      h = Mix(h, static_cast<uint64_t>(acl.perms));
      h = MixText(h, acl.scheme);
      h = MixText(h, acl.id);
    }
  }
  entry.fingerprint = h;
  return entry;
}

namespace {

// Grown by a quarter (not doubled) when full: the spare capacity a large
// mirror carries stays small, and growth stays amortized O(1).
template <typename T>
void ReserveFor(std::vector<T>& v, size_t needed) {
  if (needed > v.capacity()) v.reserve(std::max(needed, v.capacity() + v.capacity() / 4 + 16));
}

// Below this many bytes of erased paths the arena is not worth compacting.
constexpr size_t kMinGarbageToCompact = 64 << 10;
constexpr size_t kMinSlots = 16;

// A path as the arena stores it: its length (LEB128), then its bytes.
std::string_view ReadPath(const char* p) {
  uint64_t size = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<uint8_t>(*p++);
    size |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  return {p, size};
}

// Appends `path` to `arena`; returns where it starts.
uint64_t WritePath(std::vector<char>& arena, std::string_view path) {
  char length[10];
  size_t length_bytes = 0;
  for (uint64_t size = path.size();; size >>= 7) {
    length[length_bytes++] = static_cast<char>((size & 0x7f) | (size >= 0x80 ? 0x80 : 0));
    if (size < 0x80) break;
  }
  const uint64_t offset = arena.size();
  ReserveFor(arena, arena.size() + length_bytes + path.size());
  arena.insert(arena.end(), length, length + length_bytes);
  arena.insert(arena.end(), path.begin(), path.end());
  return offset;
}

}  // namespace

std::string_view Mirror::PathOf(const Node& node) const {
  return ReadPath(arena_.data() + node.path_offset);
}

size_t Mirror::HomeSlot(std::string_view path) const {
  return std::hash<std::string_view>{}(path) & (slots_.size() - 1);
}

size_t Mirror::FindSlot(std::string_view path) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = HomeSlot(path);; i = (i + 1) & mask) {
    const uint32_t slot = slots_[i];
    if (slot == 0 || PathOf(nodes_[slot - 1]) == path) return i;
  }
}

void Mirror::ClearSlot(size_t hole) {
  const size_t mask = slots_.size() - 1;
  slots_[hole] = 0;
  for (size_t i = (hole + 1) & mask; slots_[i] != 0; i = (i + 1) & mask) {
    const size_t home = HomeSlot(PathOf(nodes_[slots_[i] - 1]));
    // The entry at i stays when its home lies cyclically in (hole, i]: a
    // lookup from there reaches i without crossing the hole.
    const bool stays = hole < i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!stays) {
      slots_[hole] = slots_[i];
      slots_[i] = 0;
      hole = i;
    }
  }
}

void Mirror::Rehash(size_t slot_count) {
  slots_.assign(slot_count, 0);
  slots_.shrink_to_fit();
  const size_t mask = slot_count - 1;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    size_t i = HomeSlot(PathOf(nodes_[n]));
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<uint32_t>(n + 1);
  }
}

void Mirror::CompactArena() {
  std::vector<char> arena;
  arena.reserve(arena_.size() - arena_garbage_);
  for (Node& node : nodes_) node.path_offset = WritePath(arena, PathOf(node));
  arena_ = std::move(arena);
  arena_garbage_ = 0;
}

Mirror::Entry* Mirror::Find(std::string_view path) {
  if (slots_.empty()) return nullptr;
  const uint32_t slot = slots_[FindSlot(path)];
  return slot == 0 ? nullptr : &nodes_[slot - 1].entry;
}

const Mirror::Entry* Mirror::Find(std::string_view path) const {
  if (slots_.empty()) return nullptr;
  const uint32_t slot = slots_[FindSlot(path)];
  return slot == 0 ? nullptr : &nodes_[slot - 1].entry;
}

void Mirror::CountChild(std::string_view path, bool added) {
  const std::optional<std::string_view> parent = znodes::PathParent(path);
  Entry* entry = parent ? Find(*parent) : nullptr;
  // A saturated count no longer knows how many are left.
  if (entry == nullptr || entry->children == kManyChildren) return;
  if (added) {
    ++entry->children;
  } else if (entry->children > 0) {
    --entry->children;
  }
}

void Mirror::Put(std::string_view path, const Entry& entry) {
  // At most 3/4 of the slots in use, so probe runs stay short.
  if ((nodes_.size() + 1) * 4 > slots_.size() * 3) Rehash(std::max(kMinSlots, slots_.size() * 2));
  const size_t slot = FindSlot(path);
  if (slots_[slot] != 0) {
    Entry& stored = nodes_[slots_[slot] - 1].entry;
    const uint16_t children = stored.children;
    stored = entry;
    stored.children = children;
    return;
  }
  ReserveFor(nodes_, nodes_.size() + 1);
  nodes_.push_back({entry, WritePath(arena_, path)});
  nodes_.back().entry.children = 0;
  slots_[slot] = static_cast<uint32_t>(nodes_.size());
  CountChild(path, /*added=*/true);
}

void Mirror::Erase(std::string_view path) {
  if (slots_.empty()) return;
  const size_t slot = FindSlot(path);
  if (slots_[slot] == 0) return;
  CountChild(path, /*added=*/false);
  const size_t index = slots_[slot] - 1;
  const std::string_view erased = PathOf(nodes_[index]);
  arena_garbage_ += static_cast<size_t>(erased.data() + erased.size() -
                                        (arena_.data() + nodes_[index].path_offset));
  ClearSlot(slot);
  // The last node moves into the erased one's place; its slot follows it.
  const size_t last = nodes_.size() - 1;
  if (index != last) {
    slots_[FindSlot(PathOf(nodes_[last]))] = static_cast<uint32_t>(index + 1);
    nodes_[index] = nodes_[last];
  }
  nodes_.pop_back();
  if (arena_garbage_ >= kMinGarbageToCompact && arena_garbage_ * 2 > arena_.size()) {
    CompactArena();
  }
}

std::vector<std::string> Mirror::NotSeenIn(uint32_t generation) const {
  std::vector<std::string> paths;
  for (const Node& node : nodes_) {
    if (node.entry.generation != generation) paths.emplace_back(PathOf(node));
  }
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    int da = znodes::PathDepth(a), db = znodes::PathDepth(b);
    return da != db ? da > db : a < b;
  });
  return paths;
}

std::vector<std::string> Mirror::Subtrees(const std::vector<std::string>& roots) const {
  // "root/" for each root held, those below another root left out: the
  // subtrees are then disjoint, and a path is below a root exactly when
  // the greatest prefix not after it (in byte order) starts it.
  std::vector<std::string> prefixes;
  for (const std::string& root : roots) {
    if (Find(root) != nullptr) prefixes.push_back(root == "/" ? root : root + "/");
  }
  std::sort(prefixes.begin(), prefixes.end());
  std::vector<std::string> outermost;
  bool any_children = false;
  for (std::string& prefix : prefixes) {
    if (!outermost.empty() && prefix.starts_with(outermost.back())) continue;
    const std::string_view root(prefix.data(), prefix.size() == 1 ? 1 : prefix.size() - 1);
    any_children = any_children || Find(root)->children > 0;
    outermost.push_back(std::move(prefix));
  }
  std::vector<std::string> paths;
  for (const std::string& prefix : outermost) {
    paths.emplace_back(prefix.size() == 1 ? prefix : prefix.substr(0, prefix.size() - 1));
  }
  if (any_children) {
    for (const Node& node : nodes_) {
      const std::string_view path = PathOf(node);
      auto after = std::upper_bound(outermost.begin(), outermost.end(), path,
                                    [](std::string_view p, const std::string& prefix) {
                                      return p < std::string_view(prefix);
                                    });
      // (Longer than the prefix: the root "/" is its own prefix.)
      if (after != outermost.begin() && path.size() > std::prev(after)->size() &&
          path.starts_with(*std::prev(after))) {
        paths.emplace_back(path);
      }
    }
  }
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    int da = znodes::PathDepth(a), db = znodes::PathDepth(b);
    return da != db ? da > db : a < b;
  });
  return paths;
}

size_t Mirror::ApproximateBytes() const {
  return nodes_.capacity() * sizeof(Node) + slots_.capacity() * sizeof(uint32_t) +
         arena_.capacity();
}

}  // namespace zkarrow::watch
