// The client side of watches: which listeners wait on which paths, which of
// them an event triggers (one-shot ones are consumed), and what to re-register
// after a reconnection. Paths are relative to the chroot. Used only on the
// I/O thread, so it needs no lock.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "zk/types.h"

namespace zkarrow::zk {

class WatchRegistry {
 public:
  enum class Kind {
    kData,                 // getData, or exists on an existing node
    kExist,                // exists on a missing node
    kChild,                // getChildren
    kPersistent,           // addWatch(kPersistent)
    kPersistentRecursive,  // addWatch(kPersistentRecursive)
  };

  void Add(Kind kind, const std::string& path, WatchListener listener);

  // The listeners `event` triggers, in registration order; one-shot ones are
  // removed from the registry.
  std::vector<WatchListener> Trigger(const WatchEvent& event);

  // Drops the listeners RemoveWatches(path, type) removes.
  void Remove(std::string_view path, WatcherType type);

  // Paths with at least one listener of `kind`, for setWatches2.
  std::vector<std::string> Paths(Kind kind) const;
  bool empty() const;

 private:
  using Listeners = std::multimap<std::string, WatchListener, std::less<>>;

  Listeners& Of(Kind kind) { return by_kind_[static_cast<size_t>(kind)]; }
  // Moves (one-shot) or copies the listeners of `path` into `out`.
  static void Take(Listeners& listeners, std::string_view path, std::vector<WatchListener>& out);
  static void Copy(const Listeners& listeners, std::string_view path,
                   std::vector<WatchListener>& out);

  Listeners by_kind_[5];
};

}  // namespace zkarrow::zk
