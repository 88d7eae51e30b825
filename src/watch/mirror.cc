#include "watch/mirror.h"

#include <algorithm>

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

Mirror::Entry* Mirror::Find(std::string_view path) {
  auto it = map_.find(path);
  return it == map_.end() ? nullptr : &it->second;
}

const Mirror::Entry* Mirror::Find(std::string_view path) const {
  auto it = map_.find(path);
  return it == map_.end() ? nullptr : &it->second;
}

void Mirror::Put(std::string_view path, const Entry& entry) {
  auto it = map_.find(path);
  if (it == map_.end()) {
    map_.emplace(std::string(path), entry);
  } else {
    it->second = entry;
  }
}

void Mirror::Erase(std::string_view path) {
  auto it = map_.find(path);
  if (it != map_.end()) map_.erase(it);
}

std::vector<std::string> Mirror::NotSeenIn(uint32_t generation) const {
  std::vector<std::string> paths;
  for (const auto& [path, entry] : map_) {
    if (entry.generation != generation) paths.push_back(path);
  }
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    int da = znodes::PathDepth(a), db = znodes::PathDepth(b);
    return da != db ? da > db : a < b;
  });
  return paths;
}

size_t Mirror::ApproximateBytes() const {
  // A node: next pointer, the key, the entry, the cached hash; keys longer
  // than the small-string buffer (15 bytes) own a heap block as well.
  constexpr size_t kNode = sizeof(void*) + sizeof(std::string) + sizeof(Entry) + sizeof(size_t);
  size_t bytes = map_.bucket_count() * sizeof(void*) + map_.size() * kNode;
  for (const auto& [path, entry] : map_) {
    if (path.capacity() > 15) bytes += path.capacity() + 1;
  }
  return bytes;
}

}  // namespace zkarrow::watch
