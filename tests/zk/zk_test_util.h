// Shared pieces of the zk integration tests: a server for the whole suite,
// a client connected to it, and bounded waits.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "zk/sync_client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow::zk::testing {

inline constexpr std::chrono::seconds kWait{20};

// Collects watch events from the I/O thread; tests wait for them with a
// deadline.
class EventLog {
 public:
  WatchListener Listener() {
    return [this](const WatchEvent& event) {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
      cv_.notify_all();
    };
  }

  // The next event, or nullopt if none came within `timeout`.
  std::optional<WatchEvent> Next(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
    WatchEvent event = events_.front();
    events_.pop_front();
    return event;
  }

  size_t size() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<WatchEvent> events_;
};

inline std::string EventString(const std::optional<WatchEvent>& event) {
  if (!event) return "<no event>";
  return std::string(EventTypeName(event->type)) + " " + event->path;
}

}  // namespace zkarrow::zk::testing
