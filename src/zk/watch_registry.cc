#include "zk/watch_registry.h"

#include <utility>

namespace zkarrow::zk {

void WatchRegistry::Add(Kind kind, const std::string& path, WatchListener listener) {
  Of(kind).emplace(path, std::move(listener));
}

void WatchRegistry::Take(Listeners& listeners, std::string_view path,
                         std::vector<WatchListener>& out) {
  auto [begin, end] = listeners.equal_range(path);
  for (auto it = begin; it != end; ++it) out.push_back(std::move(it->second));
  listeners.erase(begin, end);
}

void WatchRegistry::Copy(const Listeners& listeners, std::string_view path,
                         std::vector<WatchListener>& out) {
  auto [begin, end] = listeners.equal_range(path);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
}

std::vector<WatchListener> WatchRegistry::Trigger(const WatchEvent& event) {
  std::vector<WatchListener> triggered;
  const std::string& path = event.path;
  bool recursive_applies = false;
  switch (event.type) {
    case EventType::kCreated:
    case EventType::kDataChanged:
      Take(Of(Kind::kData), path, triggered);
      Take(Of(Kind::kExist), path, triggered);
      recursive_applies = true;
      break;
    case EventType::kChildrenChanged:
      // Recursive watches report the children's own events instead.
      Take(Of(Kind::kChild), path, triggered);
      break;
    case EventType::kDeleted:
      Take(Of(Kind::kData), path, triggered);
      Take(Of(Kind::kExist), path, triggered);
      Take(Of(Kind::kChild), path, triggered);
      recursive_applies = true;
      break;
    default:
      return triggered;
  }
  Copy(Of(Kind::kPersistent), path, triggered);
  if (recursive_applies) {
    // The node itself and every ancestor up to the root.
    std::string_view prefix = path;
    for (;;) {
      Copy(Of(Kind::kPersistentRecursive), prefix, triggered);
      if (prefix == "/") break;
      size_t slash = prefix.rfind('/');
      prefix = slash == 0 ? std::string_view("/") : prefix.substr(0, slash);
    }
  }
  return triggered;
}

void WatchRegistry::Remove(std::string_view path, WatcherType type) {
  auto erase = [&](Kind kind) {
    auto [begin, end] = Of(kind).equal_range(path);
    Of(kind).erase(begin, end);
  };
  if (type == WatcherType::kData || type == WatcherType::kAny) {
    erase(Kind::kData);
    erase(Kind::kExist);
  }
  if (type == WatcherType::kChildren || type == WatcherType::kAny) erase(Kind::kChild);
  if (type == WatcherType::kAny) {
    erase(Kind::kPersistent);
    erase(Kind::kPersistentRecursive);
  }
}

std::vector<std::string> WatchRegistry::Paths(Kind kind) const {
  std::vector<std::string> paths;
  const Listeners& listeners = by_kind_[static_cast<size_t>(kind)];
  for (auto it = listeners.begin(); it != listeners.end(); it = listeners.upper_bound(it->first)) {
    paths.push_back(it->first);
  }
  return paths;
}

bool WatchRegistry::empty() const {
  for (const Listeners& listeners : by_kind_) {
    if (!listeners.empty()) return false;
  }
  return true;
}

}  // namespace zkarrow::zk
