// The memory one statement holds besides SQLite's own: the rows its sources
// keep for its later scans (nodes for lookups, a repeated scan's batches,
// the data directory's tree loaded for lookups) and the result rows being
// built. One budget for all of them (QuerySources::statement_memory_bytes),
// so a statement's worst case is one number, not a sum of caps.
#pragma once

#include <atomic>
#include <cstdint>

namespace zkarrow::query::internal {

// Thread-safe: a walk keeps nodes from its producer thread while SQLite's
// thread builds result rows.
class StatementMemory {
 public:
  explicit StatementMemory(int64_t limit) : limit_(limit) {}
  StatementMemory(const StatementMemory&) = delete;
  StatementMemory& operator=(const StatementMemory&) = delete;

  int64_t limit() const { return limit_; }
  int64_t held() const { return held_.load(); }
  // The most held at once since the last ResetPeak.
  int64_t peak() const { return peak_.load(); }
  void ResetPeak() { peak_ = held_.load(); }

  // For what a statement may do without (a cache): takes `bytes` if they
  // fit under the limit with everything held, else takes nothing and
  // returns false (the caller reads its source again instead).
  bool TryReserve(int64_t bytes) {
    int64_t held = held_.load();
    do {
      if (held + bytes > limit_) return false;
    } while (!held_.compare_exchange_weak(held, held + bytes));
    NotePeak(held + bytes);
    return true;
  }

  // For what a statement cannot do without (the result row being built,
  // which the caller has checked is within the limit on its own): taken
  // even past the limit, so the caches, not the result, give way.
  void Reserve(int64_t bytes) { NotePeak(held_ += bytes); }

  void Release(int64_t bytes) { held_ -= bytes; }

 private:
  void NotePeak(int64_t held) {
    int64_t peak = peak_.load();
    while (held > peak && !peak_.compare_exchange_weak(peak, held)) {
    }
  }

  const int64_t limit_;
  std::atomic<int64_t> held_{0};
  std::atomic<int64_t> peak_{0};
};

}  // namespace zkarrow::query::internal
