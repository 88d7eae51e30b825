#include "serve/tree_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "arrow/ipc/encapsulated.h"
#include "watch/change_schema.h"
#include "watch/change_writer.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::serve {

namespace {

using Clock = std::chrono::steady_clock;
using transport::IpcMessage;
using transport::MessageStream;

// A znode as the mirror holds it: an owned copy of a ZnodeRecord. Nodes
// are immutable once published; a change replaces the pointer, so a
// response holding pointers keeps the state it was cut from.
struct StoredNode {
  std::string path;
  std::optional<zk::Stat> stat;
  znodes::NodeKind kind = znodes::NodeKind::kPersistent;
  std::optional<std::vector<uint8_t>> data;
  bool null_data = false;  // as ZnodeRecord::null_data
  std::optional<int64_t> ttl_ms;
  std::optional<std::vector<zk::Acl>> acl;
  std::string error;

  static std::shared_ptr<const StoredNode> CopyOf(const znodes::ZnodeRecord& record) {
    auto node = std::make_shared<StoredNode>();
    node->path = record.path;
    node->stat = record.stat;
    node->kind = record.kind;
    if (record.data) node->data.emplace(record.data->begin(), record.data->end());
    node->null_data = record.null_data;
    node->ttl_ms = record.ttl_ms;
    if (record.acl != nullptr) node->acl = *record.acl;
    node->error = record.error;
    return node;
  }

  znodes::ZnodeRecord View(bool with_data) const {
    znodes::ZnodeRecord record;
    record.path = path;
    record.stat = stat;
    record.kind = kind;
    if (with_data && data) {
      record.data = std::span<const uint8_t>(*data);
      record.null_data = null_data;
    }
    record.ttl_ms = ttl_ms;
    record.acl = acl ? &*acl : nullptr;
    record.error = error;
    return record;
  }

  // The same node as `other` in every column a row shows.
  bool SameAs(const StoredNode& other) const {
    return path == other.path && stat == other.stat && kind == other.kind && data == other.data &&
           null_data == other.null_data && ttl_ms == other.ttl_ms && acl == other.acl &&
           error == other.error;
  }

  // What the node costs in memory, roughly (for the history's budget).
  int64_t bytes() const {
    int64_t total = static_cast<int64_t>(sizeof(StoredNode) + path.size() + error.size());
    if (data) total += static_cast<int64_t>(data->size());
    if (acl) {
      for (const zk::Acl& entry : *acl) {
        total += static_cast<int64_t>(sizeof(zk::Acl) + entry.scheme.size() + entry.id.size());
      }
    }
    return total;
  }
};
using NodePtr = std::shared_ptr<const StoredNode>;

// The nodes published changes replaced or removed after a state was cut,
// kept while a cut of that state may still point to them. A cut holds raw
// pointers into the state and the Retired of its state, which holds every
// later one: copying a million shared pointers into a cut and releasing
// them after touched every node twice more, most of the cost of cutting.
struct Retired {
  std::vector<NodePtr> nodes;
  std::shared_ptr<Retired> newer;  // set once the next state is published

  Retired() = default;
  Retired(const Retired&) = delete;
  Retired& operator=(const Retired&) = delete;
  // Unlinks the chain iteratively: released recursively, the chain of a
  // cut held across many epochs could overflow the stack.
  ~Retired() {
    std::shared_ptr<Retired> next = std::move(newer);
    while (next && next.use_count() == 1) next = std::move(next->newer);
  }
};

struct StoredChange {
  watch::ChangeEvent event = watch::ChangeEvent::kInitial;
  int64_t zxid = 0;
  int64_t observed_at_ms = 0;
  NodePtr node;  // deleted and resync: only the path is set
};

struct Epoch {
  uint64_t seq = 0;
  int64_t zxid = 0;
  std::vector<StoredChange> changes;
  int64_t bytes = 0;
};
using EpochPtr = std::shared_ptr<const Epoch>;

bool InSubtree(std::string_view path, std::string_view root) {
  if (root == "/") return true;
  return path == root ||
         (path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/');
}

// How long a failed watcher waits before the next attempt: doubled after
// each failure up to the maximum, so an ensemble that stays away is not
// hammered, and one that returns is followed again within seconds.
constexpr std::chrono::milliseconds kRestartDelayMin{500};
constexpr std::chrono::milliseconds kRestartDelayMax{8000};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class TreeService::Core : public watch::ChangeSink,
                          public std::enable_shared_from_this<TreeService::Core> {
 public:
  explicit Core(TreeServiceOptions options)
      : options_(std::move(options)),
        watcher_(std::make_unique<watch::TreeWatcher>(options_.watch)) {}

  // --- The watcher's side (its thread only) ---

  Status Start(int64_t start_zxid) override {
    (void)start_zxid;
    return Status::Ok();
  }

  Status Append(const watch::ChangeRow& row) override {
    if (restarting_) {
      // A new watcher's rows describe the tree from scratch: they build the
      // state the served one is compared with (PublishRestart).
      switch (row.event) {
        case watch::ChangeEvent::kInitial:
        case watch::ChangeEvent::kCreated:
        case watch::ChangeEvent::kChanged:
          fresh_[std::string(row.record.path)] = StoredNode::CopyOf(row.record);
          break;
        case watch::ChangeEvent::kDeleted:
          fresh_.erase(std::string(row.record.path));
          break;
        case watch::ChangeEvent::kResync:
          break;
      }
      return Status::Ok();
    }
    StoredChange change{row.event, row.zxid, row.observed_at_ms, nullptr};
    if (row.event == watch::ChangeEvent::kDeleted || row.event == watch::ChangeEvent::kResync) {
      auto node = std::make_shared<StoredNode>();
      node->path = row.record.path;
      change.node = std::move(node);
    } else {
      change.node = StoredNode::CopyOf(row.record);
    }
    pending_bytes_ += change.node->bytes();
    pending_.push_back(std::move(change));
    return Status::Ok();
  }

  Status Flush() override { return Status::Ok(); }

  Status Settled(int64_t zxid) override {
    if (Clock::now() >= next_stats_) {
      // WatchStats counts the watcher's mirror: not for every settlement.
      std::lock_guard lock(stats_mu_);
      watch_stats_ = watcher_->stats();
      next_stats_ = Clock::now() + std::chrono::seconds(1);
    }
    if (restarting_) {
      PublishRestart(zxid);
    } else {
      Publish(zxid);
    }
    return Status::Ok();
  }

  // Runs watchers until Stop(). A watcher fails when following ZooKeeper
  // is no longer possible (the ensemble gone past the session timeout):
  // the last state stays served, Health() says why it may be stale, and a
  // new watcher (a new session) reads the tree again; PublishRestart then
  // moves the served state to what it read, as one epoch.
  void RunWatcher() {
    std::chrono::milliseconds delay = kRestartDelayMin;
    for (;;) {
      Status status = watcher_->Run(*this, [this] { return stopping_.load(); });
      std::unique_lock lock(state_mu_);
      if (stopping_) break;
      failure_ = status.ok() ? Status::Unavailable("the watcher ended") : status;
      if (!restarting_) {
        // A failed restart keeps its delay growing; after a restart that
        // completed, the next failure starts again at the shortest.
        delay = kRestartDelayMin;
      }
      epoch_cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
      if (stopping_) break;
      delay = std::min(delay * 2, kRestartDelayMax);
      ++restarts_;
      lock.unlock();
      // Rows of the failed watcher not yet settled are dropped: the new
      // watcher's read covers them.
      pending_.clear();
      pending_bytes_ = 0;
      fresh_.clear();
      restarting_ = true;
      watcher_ = std::make_unique<watch::TreeWatcher>(options_.watch);
    }
    std::lock_guard lock(state_mu_);
    stopped_ = true;
    epoch_cv_.notify_all();
  }

  // The first settlement of a restarted watcher: its state (fresh_)
  // replaces the served one as one epoch of a `resync` row and exactly the
  // differences, the contract of `zkarrow watch` after an expiry: the
  // deletions first, children before their parents (the served nodes in
  // reverse path order), then the new and changed nodes, parents first, so
  // that the rows apply to a tree one by one. The service is healthy again.
  void PublishRestart(int64_t zxid) {
    const int64_t now = NowMs();
    auto mzxid = [&](const NodePtr& node) { return node->stat ? node->stat->mzxid : zxid; };
    // Served nodes gone or replaced by a new incarnation, in path order,
    // with the zxid they are known gone at.
    std::vector<std::pair<const NodePtr*, int64_t>> gone;
    std::vector<StoredChange> put;
    {
      // Only this thread changes nodes_: reading it needs no lock.
      auto old_it = nodes_.begin();
      auto new_it = fresh_.begin();
      while (old_it != nodes_.end() || new_it != fresh_.end()) {
        if (new_it == fresh_.end() || (old_it != nodes_.end() && old_it->first < new_it->first)) {
          gone.emplace_back(&old_it->second, zxid);
          ++old_it;
        } else if (old_it == nodes_.end() || new_it->first < old_it->first) {
          put.push_back({watch::ChangeEvent::kCreated, mzxid(new_it->second), now, new_it->second});
          ++new_it;
        } else {
          const NodePtr& old = old_it->second;
          const NodePtr& fresh = new_it->second;
          if (old->stat && fresh->stat && old->stat->czxid != fresh->stat->czxid) {
            // Deleted and created again while nobody watched: the
            // deletion came before the new node's creation.
            gone.emplace_back(&old, std::min(zxid, fresh->stat->czxid));
            put.push_back({watch::ChangeEvent::kCreated, mzxid(fresh), now, fresh});
          } else if (!old->SameAs(*fresh)) {
            put.push_back({watch::ChangeEvent::kChanged, mzxid(fresh), now, fresh});
          }
          ++old_it;
          ++new_it;
        }
      }
    }
    auto root_marker = std::make_shared<StoredNode>();
    root_marker->path = options_.watch.root;
    pending_.push_back({watch::ChangeEvent::kResync, zxid, now, std::move(root_marker)});
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
      const NodePtr& old = *it->first;
      auto marker = std::make_shared<StoredNode>();
      marker->path = old->path;
      marker->kind = old->kind;
      const int64_t row_zxid = std::max(it->second, old->stat ? old->stat->mzxid : 0);
      pending_.push_back({watch::ChangeEvent::kDeleted, row_zxid, now, std::move(marker)});
    }
    std::move(put.begin(), put.end(), std::back_inserter(pending_));
    for (const StoredChange& change : pending_) pending_bytes_ += change.node->bytes();
    fresh_.clear();
    restarting_ = false;
    {
      std::lock_guard lock(state_mu_);
      failure_ = Status::Ok();
    }
    Publish(zxid);
  }

  // Applies the pending rows as one epoch labelled `zxid`.
  void Publish(int64_t zxid) {
    std::vector<std::function<void()>> wakeups;
    {
      std::unique_lock lock(state_mu_);
      last_settled_ = Clock::now();
      last_seen_zxid_ = std::max(last_seen_zxid_, zxid);
      // A label that does not grow would name two states; those rows wait.
      if (zxid <= zxid_) return;
      const bool initial = zxid_ < 0;
      // A cut of the state now replaced may still point to its nodes (no
      // cut starts meanwhile: cuts take the lock this holds).
      const bool cut_alive = retired_.use_count() > 1;
      auto retire = [&](NodePtr& node) {
        if (cut_alive) retired_->nodes.push_back(std::move(node));
      };
      for (const StoredChange& change : pending_) {
        switch (change.event) {
          case watch::ChangeEvent::kInitial:
          case watch::ChangeEvent::kCreated:
          case watch::ChangeEvent::kChanged: {
            auto [it, inserted] = nodes_.try_emplace(change.node->path, change.node);
            if (!inserted) {
              retire(it->second);
              it->second = change.node;
            }
            break;
          }
          case watch::ChangeEvent::kDeleted: {
            auto it = nodes_.find(change.node->path);
            if (it != nodes_.end()) {
              retire(it->second);
              nodes_.erase(it);
            }
            break;
          }
          case watch::ChangeEvent::kResync:
            break;
        }
      }
      if (cut_alive) {
        auto newer = std::make_shared<Retired>();
        retired_->newer = newer;
        retired_ = std::move(newer);
      }
      zxid_ = zxid;
      ++epochs_;
      if (initial) {
        // The initial state is the history's base, not an epoch of it.
        history_base_zxid_ = zxid;
      } else if (!pending_.empty()) {
        auto epoch = std::make_shared<Epoch>();
        epoch->seq = next_seq_++;
        epoch->zxid = zxid;
        epoch->changes = std::move(pending_);
        epoch->bytes = pending_bytes_;
        history_bytes_ += epoch->bytes;
        history_.push_back(std::move(epoch));
        // The newest epoch stays even when it alone passes the budget.
        while (history_.size() > 1 && history_bytes_ > options_.history_bytes) {
          history_bytes_ -= history_.front()->bytes;
          history_base_zxid_ = history_.front()->zxid;
          history_.pop_front();
        }
      }
      pending_.clear();
      pending_bytes_ = 0;
      std::lock_guard wake_lock(wake_mu_);
      wakeups.swap(wakeups_);
    }
    epoch_cv_.notify_all();
    for (auto& wakeup : wakeups) wakeup();
  }

  // --- The readers' side ---

  struct Cut {
    std::vector<const StoredNode*> nodes;  // alive while `retired` is held
    std::shared_ptr<const Retired> retired;
    int64_t zxid = -1;
    uint64_t next_seq = 0;  // the first epoch after this state
  };

  Result<Cut> CutState(std::string_view root) const {
    std::shared_lock lock(state_mu_);
    ZKA_RETURN_IF_ERROR(ReadableLocked());
    Cut cut;
    cut.zxid = zxid_;
    cut.next_seq = next_seq_;
    cut.retired = retired_;
    // The whole tree is the common request (the web UI's): its size is
    // known, and a vector grown to a million pointers would copy them all
    // several times.
    if (root == options_.watch.root) cut.nodes.reserve(nodes_.size());
    ForEachInSubtreeLocked(root, [&](const NodePtr& node) { cut.nodes.push_back(node.get()); });
    if (cut.nodes.empty()) {
      return Status::NotFound("no znode " + std::string(root) + " in the served tree (at zxid " +
                              std::to_string(zxid_) + ")");
    }
    return cut;
  }

  // The served state's label and the number of the epoch after it.
  Result<std::pair<int64_t, uint64_t>> Position() const {
    std::shared_lock lock(state_mu_);
    ZKA_RETURN_IF_ERROR(ReadableLocked());
    return std::pair<int64_t, uint64_t>(zxid_, next_seq_);
  }

  Result<int64_t> Count(std::string_view root) const {
    std::shared_lock lock(state_mu_);
    ZKA_RETURN_IF_ERROR(ReadableLocked());
    if (root == options_.watch.root) return static_cast<int64_t>(nodes_.size());
    int64_t count = 0;
    ForEachInSubtreeLocked(root, [&](const NodePtr&) { ++count; });
    if (count == 0)
      return Status::NotFound("no znode " + std::string(root) + " in the served tree");
    return count;
  }

  // The epoch numbered `seq`: the epoch itself; nullptr when it is not
  // there yet; OutOfRange when the history no longer holds it.
  Result<EpochPtr> EpochAt(uint64_t seq) const {
    std::shared_lock lock(state_mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (seq >= next_seq_) return EpochPtr();
    if (history_.empty() || seq < history_.front()->seq) {
      return Status::OutOfRange(
          "the stream fell behind: the server no longer holds the changes it was to send "
          "next (history kept: " +
          std::to_string(options_.history_bytes) +
          " bytes); reconnect with from= the last zkarrow.zxid received to resume");
    }
    return history_[seq - history_.front()->seq];
  }

  // Where a stream resuming after `zxid` starts: the first epoch with a
  // larger label, or nullopt when the history does not reach back that far.
  std::optional<uint64_t> ResumePoint(int64_t zxid) const {
    std::shared_lock lock(state_mu_);
    if (zxid < history_base_zxid_ || zxid > zxid_) return std::nullopt;
    for (const EpochPtr& epoch : history_) {
      if (epoch->zxid > zxid) return epoch->seq;
    }
    return next_seq_;
  }

  // Calls `wakeup` once an epoch numbered `seq` or later exists (at once
  // when it does already) or the service stops.
  void NotifyAt(uint64_t seq, std::function<void()> wakeup) {
    {
      std::shared_lock lock(state_mu_);
      if (seq >= next_seq_ && !stopping_) {
        std::lock_guard wake_lock(wake_mu_);
        wakeups_.push_back(std::move(wakeup));
        return;
      }
    }
    wakeup();
  }

  Status ReadableLocked() const {
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (zxid_ < 0) {
      if (!failure_.ok()) return failure_.WithContext("the tree could not be read");
      return Status::Unavailable("the initial state of the tree is still being read");
    }
    return Status::Ok();
  }

  // Visits root's subtree in byte order: root, then its descendants, which
  // all start with root + "/" and so lie in [root + "/", root + "0") ('0'
  // is the byte after '/'). They do not follow root at once: siblings whose
  // names continue root's with a byte below '/' ("/a b", "/a%b", "/a-x",
  // "/a.b") sort between "/a" and "/a/y".
  template <typename Visit>
  void ForEachInSubtreeLocked(std::string_view root, Visit visit) const {
    if (root == "/") {
      for (const auto& [path, node] : nodes_) visit(node);
      return;
    }
    if (auto it = nodes_.find(root); it != nodes_.end()) visit(it->second);
    const std::string first = std::string(root) + '/';
    const std::string end = std::string(root) + '0';
    for (auto it = nodes_.lower_bound(first); it != nodes_.end() && it->first < end; ++it) {
      visit(it->second);
    }
  }

  Status Health() const {
    std::shared_lock lock(state_mu_);
    ZKA_RETURN_IF_ERROR(ReadableLocked());
    if (!failure_.ok()) {
      return Status::Unavailable("serving the state at zxid " + std::to_string(zxid_) +
                                 ", but following ZooKeeper failed: " + failure_.ToString());
    }
    return Status::Ok();
  }

  Result<int64_t> WaitFor(int64_t zxid, std::chrono::milliseconds timeout) const {
    std::shared_lock lock(state_mu_);
    bool reached =
        epoch_cv_.wait_for(lock, timeout, [&] { return zxid_ >= zxid || stopping_ || stopped_; });
    if (zxid_ >= zxid) return zxid_;
    if (stopping_ || stopped_) {
      return Status::Unavailable("the mirror stopped at zxid " + std::to_string(zxid_) +
                                 " before reaching " + std::to_string(zxid));
    }
    (void)reached;
    return Status::Timeout("the mirror is at zxid " + std::to_string(zxid_) + ", not yet at " +
                           std::to_string(zxid) + " after " + std::to_string(timeout.count()) +
                           " ms");
  }

  void Stop() {
    std::vector<std::function<void()>> wakeups;
    {
      std::unique_lock lock(state_mu_);
      stopping_ = true;
      std::lock_guard wake_lock(wake_mu_);
      wakeups.swap(wakeups_);
    }
    epoch_cv_.notify_all();
    for (auto& wakeup : wakeups) wakeup();
    if (thread_.joinable()) thread_.join();
  }

  TreeMetrics Metrics() const {
    TreeMetrics metrics;
    {
      std::shared_lock lock(state_mu_);
      metrics.zxid = zxid_;
      metrics.last_seen_zxid = last_seen_zxid_;
      metrics.znodes = static_cast<int64_t>(nodes_.size());
      metrics.watcher_restarts = restarts_;
      metrics.epochs = epochs_;
      metrics.history_epochs = static_cast<int64_t>(history_.size());
      metrics.history_bytes = history_bytes_;
      metrics.seconds_since_epoch =
          std::chrono::duration<double>(Clock::now() - last_settled_).count();
    }
    metrics.streams = streams_.load();
    metrics.response_cache_hits = cache_hits();
    metrics.response_cache_bytes = cache_bytes();
    metrics.response_cache_recording_bytes = cache_recording_bytes();
    metrics.streams_behind = streams_behind_.load();
    std::lock_guard lock(stats_mu_);
    metrics.watch = watch_stats_;
    return metrics;
  }

  arrow::KeyValueMetadata SchemaMetadata(int64_t zxid, bool data_read) const {
    return {
        {znodes::kMetaSource, options_.source},
        {znodes::kMetaRoot, options_.watch.root},
        {znodes::kMetaVersion, ZKARROW_VERSION},
        {znodes::kMetaData, data_read ? znodes::kMetaDataRead : znodes::kMetaDataNotRead},
        {kMetaZxid, std::to_string(zxid)},
    };
  }

  int64_t zxid() const {
    std::shared_lock lock(state_mu_);
    return zxid_;
  }

  // Encoded `znodes` responses, shared by every client asking for the same
  // request of the same state: a state never changes under its label, so
  // a response is encoded once per label instead of once per client.
  struct ResponseKey {
    int64_t zxid = -1;
    std::string path;
    bool data = true;
    bool typed = false;
    std::vector<int> columns;
    arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
    friend bool operator==(const ResponseKey&, const ResponseKey&) = default;
  };
  using Messages = std::shared_ptr<const std::vector<IpcMessage>>;

  struct ResponseKeyHash {
    size_t operator()(const ResponseKey& key) const {
      size_t h = std::hash<std::string>()(key.path);
      auto mix = [&h](uint64_t v) {
        h ^= std::hash<uint64_t>()(v) + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2);
      };
      mix(static_cast<uint64_t>(key.zxid));
      mix((key.data ? 1u : 0u) | (key.typed ? 2u : 0u) |
          (static_cast<unsigned>(key.compression) << 2));
      for (int column : key.columns) mix(static_cast<uint64_t>(column));
      return h;
    }
  };

  Messages CachedResponse(const ResponseKey& key) const {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return nullptr;
    ++cache_hits_;
    return it->second.messages;
  }

  // The cache's budget covers the responses it keeps and the copies that
  // responses in flight keep for it (until they end, however slowly their
  // clients read): a response reserves the bytes of each message before it
  // keeps a copy. The oldest kept responses go to make room; when the
  // copies in flight hold the rest, false: the response is not kept. A
  // response of a state no longer served is not kept either.
  bool ReserveCacheBytes(int64_t response_zxid, int64_t bytes) {
    const int64_t label = zxid();
    std::lock_guard lock(cache_mu_);
    if (response_zxid != label) return false;
    ForgetOtherStatesLocked(label);
    while (!cache_order_.empty() &&
           cache_bytes_ + cache_recording_bytes_ + bytes > options_.response_cache_bytes) {
      EvictLocked(cache_.find(cache_order_.front()));
    }
    if (cache_bytes_ + cache_recording_bytes_ + bytes > options_.response_cache_bytes) {
      return false;
    }
    cache_recording_bytes_ += bytes;
    return true;
  }

  // A response in flight no longer keeps its copies (`bytes` reserved).
  void ReleaseCacheBytes(int64_t bytes) {
    std::lock_guard lock(cache_mu_);
    cache_recording_bytes_ -= bytes;
  }

  // Keeps `messages` (of `bytes` in all, reserved) for `key`. The cache
  // holds one state's responses: a newer label empties it.
  void CacheResponse(ResponseKey key, Messages messages, int64_t bytes) {
    const int64_t label = zxid();
    std::lock_guard lock(cache_mu_);
    cache_recording_bytes_ -= bytes;
    if (key.zxid != label) return;
    ForgetOtherStatesLocked(label);
    // Two requests that missed at once both get here: the later one
    // replaces the earlier.
    if (auto it = cache_.find(key); it != cache_.end()) EvictLocked(it);
    cache_bytes_ += bytes;
    auto order = cache_order_.insert(cache_order_.end(), key);
    cache_.emplace(std::move(key), CachedEntry{std::move(messages), bytes, order});
  }

  const TreeServiceOptions& options() const { return options_; }
  std::thread& thread() { return thread_; }
  std::atomic<int64_t> streams_{0};
  std::atomic<int64_t> streams_behind_{0};

 private:
  const TreeServiceOptions options_;
  std::unique_ptr<watch::TreeWatcher> watcher_;  // replaced by RunWatcher after a failure
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Watcher thread only.
  bool restarting_ = false;  // a new watcher's rows go to fresh_ until it settles
  std::map<std::string, NodePtr, std::less<>> fresh_;
  std::vector<StoredChange> pending_;
  int64_t pending_bytes_ = 0;
  Clock::time_point next_stats_;

  mutable std::shared_mutex state_mu_;
  mutable std::condition_variable_any epoch_cv_;
  std::map<std::string, NodePtr, std::less<>> nodes_;
  std::shared_ptr<Retired> retired_ = std::make_shared<Retired>();
  int64_t zxid_ = -1;
  int64_t last_seen_zxid_ = -1;
  int64_t epochs_ = 0;
  int64_t restarts_ = 0;
  std::deque<EpochPtr> history_;
  int64_t history_bytes_ = 0;
  int64_t history_base_zxid_ = -1;
  uint64_t next_seq_ = 0;
  Clock::time_point last_settled_ = Clock::now();
  Status failure_;
  bool stopped_ = false;

  std::mutex wake_mu_;  // after state_mu_ when both are held
  std::vector<std::function<void()>> wakeups_;

  mutable std::mutex stats_mu_;
  watch::WatchStats watch_stats_;

  struct CachedEntry {
    Messages messages;
    int64_t bytes = 0;
    std::list<ResponseKey>::iterator order;  // its key in cache_order_
  };
  mutable std::mutex cache_mu_;
  std::unordered_map<ResponseKey, CachedEntry, ResponseKeyHash> cache_;
  // The cached keys in insertion order, oldest first: the next to evict.
  std::list<ResponseKey> cache_order_;
  int64_t cache_label_ = -1;
  int64_t cache_bytes_ = 0;
  // Reserved by responses in flight for their copies; within the budget
  // with cache_bytes_.
  int64_t cache_recording_bytes_ = 0;
  mutable int64_t cache_hits_ = 0;

  void ForgetOtherStatesLocked(int64_t label) {
    if (cache_label_ == label) return;
    cache_.clear();
    cache_order_.clear();
    cache_bytes_ = 0;
    cache_label_ = label;
  }
  template <typename Iterator>
  void EvictLocked(Iterator it) {
    cache_bytes_ -= it->second.bytes;
    cache_order_.erase(it->second.order);
    cache_.erase(it);
  }

 public:
  int64_t cache_hits() const {
    std::lock_guard lock(cache_mu_);
    return cache_hits_;
  }
  int64_t cache_bytes() const {
    std::lock_guard lock(cache_mu_);
    return cache_bytes_;
  }
  int64_t cache_recording_bytes() const {
    std::lock_guard lock(cache_mu_);
    return cache_recording_bytes_;
  }
};

namespace {

// A `znodes` response: the cut's nodes encoded a batch per pull.
class ZnodesStream final : public MessageStream {
 public:
  static Result<std::unique_ptr<ZnodesStream>> Open(std::shared_ptr<TreeService::Core> core,
                                                    TreeService::Core::Cut cut,
                                                    TreeService::Core::ResponseKey key) {
    auto stream = std::unique_ptr<ZnodesStream>(new ZnodesStream(core, std::move(cut), key));
    znodes::ZnodeTableOptions options;
    options.format = arrow::ipc::IpcFormat::kStream;
    options.compression = key.compression;
    options.typed_values = key.typed;
    options.columns = key.columns;
    // The builder reserves a batch's rows up front: no more than the
    // response has (a one-node request is common).
    options.max_batch_rows =
        std::clamp<int64_t>(static_cast<int64_t>(stream->cut_.nodes.size()), 1, kServedBatchRows);
    options.max_batch_bytes = kServedBatchBytes;
    options.schema_metadata = core->SchemaMetadata(stream->cut_.zxid, key.data);
    ZKA_ASSIGN_OR_RETURN(stream->writer_,
                         znodes::ZnodeTableWriter::Open(stream->splitter_, std::move(options)));
    stream->Collect();
    return stream;
  }

  ~ZnodesStream() override { StopRecording(); }  // a response cut short is not kept

  Result<Poll> Next(IpcMessage* out) override {
    while (ready_.empty()) {
      if (!writer_) {
        if (recorded_) {
          core_->CacheResponse(std::move(key_), std::move(recorded_), recorded_bytes_);
          recorded_.reset();
          recorded_bytes_ = 0;
        }
        return Poll::kEnd;
      }
      if (next_ == cut_.nodes.size()) {
        ZKA_RETURN_IF_ERROR(writer_->Finish({
            {znodes::kMetaZnodes, std::to_string(cut_.nodes.size())},
            {kMetaZxid, std::to_string(cut_.zxid)},
        }));
        writer_.reset();
        cut_.nodes.clear();
        cut_.retired.reset();
      } else {
        // The nodes lie scattered in memory: the ones a few rows ahead, and
        // their paths, are fetched while this one is encoded.
        if (next_ + 8 < cut_.nodes.size()) __builtin_prefetch(cut_.nodes[next_ + 8]);
        if (next_ + 4 < cut_.nodes.size()) __builtin_prefetch(cut_.nodes[next_ + 4]->path.data());
        ZKA_RETURN_IF_ERROR(writer_->Append(cut_.nodes[next_++]->View(with_data_)));
      }
      Collect();
    }
    *out = std::move(ready_.front());
    ready_.pop_front();
    return Poll::kMessage;
  }

 private:
  ZnodesStream(std::shared_ptr<TreeService::Core> core, TreeService::Core::Cut cut,
               TreeService::Core::ResponseKey key)
      : core_(std::move(core)),
        cut_(std::move(cut)),
        with_data_(key.data),
        key_(std::move(key)),
        recorded_(std::make_shared<std::vector<IpcMessage>>()) {}

  // Every message goes out, and is kept for the cache while the response
  // stays within what the cache would take and the cache's budget has room
  // for the copy.
  void Collect() {
    for (IpcMessage& message : splitter_.TakeMessages()) {
      if (recorded_) {
        const int64_t size = message.framed_size();
        if (recorded_bytes_ + size > core_->options().response_cache_bytes / 2 ||
            !core_->ReserveCacheBytes(key_.zxid, size)) {
          StopRecording();
        } else {
          recorded_bytes_ += size;
          recorded_->push_back(message);
        }
      }
      ready_.push_back(std::move(message));
    }
  }

  void StopRecording() {
    if (!recorded_) return;
    core_->ReleaseCacheBytes(recorded_bytes_);
    recorded_.reset();
    recorded_bytes_ = 0;
  }

  std::shared_ptr<TreeService::Core> core_;
  TreeService::Core::Cut cut_;
  bool with_data_;
  TreeService::Core::ResponseKey key_;
  std::shared_ptr<std::vector<IpcMessage>> recorded_;
  int64_t recorded_bytes_ = 0;
  size_t next_ = 0;
  arrow::ipc::MessageSplitter splitter_;
  std::unique_ptr<znodes::ZnodeTableWriter> writer_;
  std::deque<IpcMessage> ready_;
};

// A `changes` stream: optionally a state as `initial` rows, then every
// epoch from a position on, encoded when pulled.
class ChangesStream final : public MessageStream {
 public:
  static Result<std::unique_ptr<ChangesStream>> Open(std::shared_ptr<TreeService::Core> core,
                                                     const ChangesRequest& request) {
    auto stream = std::unique_ptr<ChangesStream>(new ChangesStream(core));
    int64_t start_zxid = -1;
    std::optional<uint64_t> resume;
    if (request.from_zxid) resume = core->ResumePoint(*request.from_zxid);
    if (request.initial || (request.from_zxid && !resume)) {
      // A state to start from: a client too far behind (or asking for it)
      // gets the whole tree again, after a resync row when it asked to
      // resume, so it knows to replace what it had.
      ZKA_ASSIGN_OR_RETURN(TreeService::Core::Cut cut, core->CutState(core->options().watch.root));
      start_zxid = cut.zxid;
      stream->next_seq_ = cut.next_seq;
      stream->resync_first_ = request.from_zxid.has_value();
      stream->initial_ = std::move(cut.nodes);
      stream->initial_retired_ = std::move(cut.retired);
    } else if (resume) {
      stream->next_seq_ = *resume;
      start_zxid = *request.from_zxid;
    } else {
      ZKA_ASSIGN_OR_RETURN(auto position, core->Position());
      start_zxid = position.first;
      stream->next_seq_ = position.second;
    }
    stream->label_ = start_zxid;
    watch::ChangeWriterOptions options;
    options.format = arrow::ipc::IpcFormat::kStream;
    options.compression = request.compression;
    options.typed_values = request.typed;
    options.max_batch_rows = kServedBatchRows;
    options.max_batch_bytes = kServedBatchBytes;
    options.schema_metadata = core->SchemaMetadata(start_zxid, /*data_read=*/true);
    options.schema_metadata.emplace_back(watch::kMetaStartZxid, std::to_string(start_zxid));
    ZKA_ASSIGN_OR_RETURN(stream->writer_, watch::ChangeWriter::Open(stream->splitter_, options));
    stream->Collect();
    return stream;
  }

  ~ChangesStream() override { --core_->streams_; }

  Result<Poll> Next(IpcMessage* out) override {
    while (ready_.empty()) {
      if (!initial_.empty() || resync_first_) {
        ZKA_RETURN_IF_ERROR(AppendInitial());
      } else {
        Result<EpochPtr> epoch = core_->EpochAt(next_seq_);
        if (!epoch.ok()) {
          if (epoch.status().code() == StatusCode::kOutOfRange) ++core_->streams_behind_;
          return epoch.status();
        }
        if (!*epoch) return Poll::kPending;
        ZKA_RETURN_IF_ERROR(AppendEpoch(**epoch));
        ++next_seq_;
      }
      Collect();
    }
    *out = std::move(ready_.front());
    ready_.pop_front();
    return Poll::kMessage;
  }

  void NotifyWhenReady(std::function<void()> wakeup) override {
    core_->NotifyAt(next_seq_, std::move(wakeup));
  }

 private:
  explicit ChangesStream(std::shared_ptr<TreeService::Core> core) : core_(std::move(core)) {
    ++core_->streams_;
  }

  Status AppendInitial() {
    const int64_t now = NowMs();
    if (resync_first_) {
      resync_first_ = false;
      znodes::ZnodeRecord marker;
      marker.path = core_->options().watch.root;
      ZKA_RETURN_IF_ERROR(writer_->Append({watch::ChangeEvent::kResync, label_, now, marker}));
    }
    // A batch's worth per pull, so a large state streams as it is read.
    for (int64_t rows = 0; rows < kServedBatchRows && next_initial_ < initial_.size(); ++rows) {
      const StoredNode& node = *initial_[next_initial_++];
      ZKA_RETURN_IF_ERROR(writer_->Append(
          {watch::ChangeEvent::kInitial, node.stat ? node.stat->mzxid : 0, now, node.View(true)}));
    }
    if (next_initial_ == initial_.size()) {
      initial_.clear();
      initial_retired_.reset();
      return writer_->Flush({{kMetaZxid, std::to_string(label_)}});
    }
    return Status::Ok();
  }

  Status AppendEpoch(const Epoch& epoch) {
    for (const StoredChange& change : epoch.changes) {
      ZKA_RETURN_IF_ERROR(writer_->Append(
          {change.event, change.zxid, change.observed_at_ms, change.node->View(true)}));
    }
    label_ = epoch.zxid;
    return writer_->Flush({{kMetaZxid, std::to_string(epoch.zxid)}});
  }

  void Collect() {
    for (IpcMessage& message : splitter_.TakeMessages()) ready_.push_back(std::move(message));
  }

  std::shared_ptr<TreeService::Core> core_;
  uint64_t next_seq_ = 0;
  int64_t label_ = -1;
  bool resync_first_ = false;
  std::vector<const StoredNode*> initial_;  // alive while initial_retired_ is held
  std::shared_ptr<const Retired> initial_retired_;
  size_t next_initial_ = 0;
  arrow::ipc::MessageSplitter splitter_;
  std::unique_ptr<watch::ChangeWriter> writer_;
  std::deque<IpcMessage> ready_;
};

}  // namespace

TreeService::TreeService(std::shared_ptr<Core> core) : core_(std::move(core)) {}

TreeService::~TreeService() { Stop(); }

Result<std::unique_ptr<TreeService>> TreeService::Start(TreeServiceOptions options) {
  if (options.watch.root.empty()) options.watch.root = "/";
  options.watch.emit_initial = true;
  auto core = std::make_shared<Core>(std::move(options));
  core->thread() = std::thread([raw = core.get()] { raw->RunWatcher(); });
  return std::unique_ptr<TreeService>(new TreeService(std::move(core)));
}

void TreeService::Stop() { core_->Stop(); }

Status TreeService::Health() const { return core_->Health(); }

const std::string& TreeService::root() const { return core_->options().watch.root; }

int64_t TreeService::zxid() const { return core_->zxid(); }

arrow::Schema TreeService::ZnodesSchema(bool typed, const std::vector<int>& columns) const {
  arrow::Schema schema = znodes::ZnodeTableSchema(typed);
  if (!columns.empty()) schema = znodes::SelectFields(schema, columns);
  schema.metadata = core_->SchemaMetadata(core_->zxid(), /*data_read=*/true);
  return schema;
}

arrow::Schema TreeService::ChangesSchema(bool typed) const {
  arrow::Schema schema = watch::ChangeTableSchema(typed);
  schema.metadata = core_->SchemaMetadata(core_->zxid(), /*data_read=*/true);
  return schema;
}

Result<int64_t> TreeService::CountZnodes(const std::string& path) const {
  return core_->Count(path.empty() ? root() : path);
}

Result<std::unique_ptr<transport::MessageStream>> TreeService::Znodes(
    const ZnodesRequest& request) const {
  const std::string& path = request.path.empty() ? root() : request.path;
  if (!InSubtree(path, root())) {
    return Status::NotFound("path " + path + " is outside the served subtree " + root());
  }
  Core::ResponseKey key{core_->zxid(),      path, request.data, request.typed, request.columns,
                        request.compression};
  if (auto cached = core_->CachedResponse(key)) {
    return std::unique_ptr<transport::MessageStream>(
        new transport::VectorMessageStream(std::move(cached)));
  }
  ZKA_ASSIGN_OR_RETURN(Core::Cut cut, core_->CutState(path));
  key.zxid = cut.zxid;
  ZKA_ASSIGN_OR_RETURN(auto stream, ZnodesStream::Open(core_, std::move(cut), std::move(key)));
  return std::unique_ptr<transport::MessageStream>(std::move(stream));
}

Result<std::unique_ptr<transport::MessageStream>> TreeService::Changes(
    const ChangesRequest& request) {
  ZKA_ASSIGN_OR_RETURN(auto stream, ChangesStream::Open(core_, request));
  return std::unique_ptr<transport::MessageStream>(std::move(stream));
}

Result<int64_t> TreeService::WaitFor(int64_t zxid, std::chrono::milliseconds timeout) const {
  return core_->WaitFor(zxid, timeout);
}

TreeMetrics TreeService::metrics() const { return core_->Metrics(); }

}  // namespace zkarrow::serve
