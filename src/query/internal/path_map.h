// Values by znode path, with an index from each parent to its children
// present, so that a `parent = x` lookup visits x's children only. (A map
// ordered by path holds x's whole subtree between x's children: for "/",
// every node.)
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace zkarrow::query::internal {

template <typename Value>
class PathMap {
 public:
  using Entry = std::pair<const std::string, Value>;

  // The value at `path`, made if absent. Paths are absolute ("/", "/a/b").
  Value& operator[](std::string_view path) {
    auto found = entries_.find(path);
    if (found != entries_.end()) return found->second;
    Entry& entry = *entries_.emplace(std::string(path), Value{}).first;
    if (entry.first != "/") {
      // A view into the entry's own key, which stays put (the map's nodes
      // do not move), so the parent needs no copy of its path.
      const std::string_view key = entry.first;
      const size_t slash = key.rfind('/');
      children_[key.substr(0, slash == 0 ? 1 : slash)].push_back(&entry);
    }
    return entry.second;
  }

  const Value* Find(std::string_view path) const {
    auto found = entries_.find(path);
    return found == entries_.end() ? nullptr : &found->second;
  }

  // The entries whose parent is `parent`, in no particular order.
  const std::vector<const Entry*>& Children(std::string_view parent) const {
    static const std::vector<const Entry*> kNone;
    auto found = children_.find(parent);
    return found == children_.end() ? kNone : found->second;
  }

  void Clear() {
    children_.clear();
    entries_.clear();
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };

  std::unordered_map<std::string, Value, Hash, std::equal_to<>> entries_;
  std::unordered_map<std::string_view, std::vector<const Entry*>, Hash, std::equal_to<>> children_;
};

}  // namespace zkarrow::query::internal
