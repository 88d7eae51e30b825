#include "watch/tree_watcher.h"

#include <fnmatch.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "watch/mirror.h"
#include "zk/connect_string.h"
#include "znodes/live/tree_walker.h"
#include "znodes/znode_path.h"

namespace zkarrow::watch {
namespace {

using zk::ErrorCode;
using Clock = std::chrono::steady_clock;

// How often Run() asks should_stop when nothing happens.
constexpr std::chrono::milliseconds kPollInterval{50};
// A multiRead request stays well under the server's 1 MiB jute.maxbuffer.
constexpr size_t kMaxBatchRequestBytes = 512 << 10;
// multiRead batches outstanding while re-reading changed nodes: enough to
// keep the connection busy, few enough that the replies held at once (data
// included) stay bounded however many nodes changed.
constexpr size_t kReadBatchesInFlight = 4;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsRemote(const Status& status, ErrorCode code) {
  return status.code() == StatusCode::kRemote && zk::ErrorCodeOf(status) == code;
}

// A verdict on one node (NOAUTH...) rather than a failure of the session.
bool IsAboutThisNode(const Status& status) {
  if (status.code() != StatusCode::kRemote) return false;
  ErrorCode code = zk::ErrorCodeOf(status);
  return code != ErrorCode::CONNECTIONLOSS && code != ErrorCode::SESSIONEXPIRED &&
         code != ErrorCode::OPERATIONTIMEOUT && code != ErrorCode::SESSIONMOVED;
}

znodes::NodeKind LiveKind(const zk::Stat& stat) {
  // A live read cannot tell containers and TTL nodes from persistent ones
  // (the server hides the marker), as in `snapshot --zk`.
  return stat.ephemeral_owner != 0 ? znodes::NodeKind::kEphemeral : znodes::NodeKind::kPersistent;
}

// What the client's I/O thread hands over: a watch event or a session state
// change, tagged with the session it came from (an expired one's late
// events are dropped).
struct Notice {
  bool session_change = false;
  zk::EventType type = zk::EventType::kNone;
  zk::SessionState state = zk::SessionState::kConnected;
  std::string path;
  uint64_t session_number = 0;
};

// Watch events past `max_events` not yet taken are dropped and the queue
// says so (the taker then re-reads the whole subtree); session changes are
// always kept.
class NoticeQueue {
 public:
  explicit NoticeQueue(size_t max_events) : max_events_(max_events) {}

  void Push(Notice notice) {
    std::lock_guard lock(mutex_);
    if (!notice.session_change && notices_.size() >= max_events_) {
      overflowed_ = true;
    } else {
      notices_.push_back(std::move(notice));
    }
    cv_.notify_one();
  }

  struct Taken {
    std::deque<Notice> notices;
    bool overflowed = false;  // events were dropped since the last take
  };
  // Everything queued, waiting up to `timeout` for the first notice.
  Taken TakeAll(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return !notices_.empty() || overflowed_; });
    return {std::exchange(notices_, {}), std::exchange(overflowed_, false)};
  }

 private:
  const size_t max_events_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Notice> notices_;
  bool overflowed_ = false;
};

// One node re-read because of an event.
struct NodeRead {
  std::string path;
  std::optional<zk::ReadResult> data;  // getData's outcome
  int64_t seen_zxid = 0;               // the client's highest zxid once the read came back
  std::optional<Result<std::optional<zk::Stat>>> exists;  // after a refused getData
  std::optional<Result<zk::AclResult>> acl;
};

struct BatchReply {
  Result<std::vector<zk::ReadResult>> reads = Status::Cancelled("not read");
  int64_t seen_zxid = 0;
};

}  // namespace

class TreeWatcher::Impl {
 public:
  explicit Impl(WatchOptions options) : options_(std::move(options)) {
    if (options_.root.empty()) options_.root = "/";
  }

  Status Run(ChangeSink& sink, const std::function<bool()>& should_stop) {
    sink_ = &sink;
    should_stop_ = &should_stop;
    Status status = RunUntilStopped(should_stop);
    Status flushed = FlushRows();
    return status.ok() ? flushed : status;
  }

  WatchStats stats() const {
    WatchStats stats = stats_;
    stats.mirror_znodes = static_cast<int64_t>(mirror_.size());
    stats.mirror_bytes = static_cast<int64_t>(mirror_.ApproximateBytes());
    return stats;
  }

 private:
  Status RunUntilStopped(const std::function<bool()>& should_stop) {
    const std::string& root = options_.root;
    if (root.front() != '/' || (root.size() > 1 && root.back() == '/')) {
      return Status::InvalidArgument("bad path '" + root +
                                     "': a znode path starts with '/' and does not end with one");
    }
    Status connected = Connect();
    if (stopped_) {
      // No stream yet (not even its schema): not a clean end but a watch
      // that never started, reported as an unreachable ensemble.
      return Status::Timeout("stopped before the watch on " + root + " was in place (" +
                             connected.ToString() + ")");
    }
    ZKA_RETURN_IF_ERROR(connected);
    // The addWatch reply's zxid: the state the watch starts from.
    ZKA_RETURN_IF_ERROR(sink_->Start(client_->last_zxid()));
    next_periodic_resync_ = Clock::now() + options_.resync_interval;
    Status initial = ReadInitialState();
    if (stopped_) return initial;
    // Expired during the initial read: the loop's recovery re-reads the tree
    // and reports the differences from the rows written so far.
    if (IsRemote(initial, ErrorCode::SESSIONEXPIRED)) {
      expired_ = true;
    } else {
      ZKA_RETURN_IF_ERROR(initial);
    }
    return Loop(should_stop);
  }

  Status Connect() {
    const uint64_t number = ++session_number_;
    zk::ClientOptions client_options = options_.client;
    // A stop while no server answers ends the wait at once (Connect runs on
    // Run()'s thread, where should_stop may be asked).
    client_options.abandon_connect = [this] { return !CheckStop().ok(); };
    std::shared_ptr<NoticeQueue> queue = queue_;
    client_options.session_listener =
        [queue, number, user = options_.client.session_listener](const zk::SessionEvent& event) {
          queue->Push({.session_change = true, .state = event.state, .session_number = number});
          if (user) user(event);
        };
    Result<std::unique_ptr<zk::Client>> client = zk::Client::Connect(std::move(client_options));
    if (!client.ok()) {
      return client.status().WithContext("connecting to " + options_.client.connect_string);
    }
    client_ = std::move(*client);
    ++stats_.sessions;
    std::optional<Status> added = AwaitOrStop(client_->AddWatch(
        options_.root, zk::AddWatchMode::kPersistentRecursive,
        [queue, number](const zk::WatchEvent& event) {
          queue->Push({.type = event.type, .path = event.path, .session_number = number});
        }));
    if (!added) return Status::Cancelled("stopped while adding the watch");
    if (IsRemote(*added, ErrorCode::UNIMPLEMENTED)) {
      return Status::NotImplemented(
          "the server does not support persistent recursive watches (addWatch, ZooKeeper 3.6 "
          "and later); zkarrow watch cannot follow changes exactly without them");
    }
    return added->WithContext("adding a recursive watch on " + options_.root);
  }

  znodes::WalkOptions WalkOptionsForRoot() {
    znodes::WalkOptions walk;
    walk.root = options_.root;
    walk.read_acl = options_.read_acl;
    walk.excludes = options_.excludes;
    walk.nodes_per_batch = options_.nodes_per_batch;
    // A server that stops answering holds the walk's replies until the
    // session expires: a stop must not wait for that.
    walk.should_stop = [this] { return !CheckStop().ok(); };
    return walk;
  }

  // A stop ends the read where it is: with the initial rows written so far
  // (not with --no-initial, which writes none), the stream is cut short.
  Status ReadInitialState() {
    ++generation_;
    znodes::WalkStats walk_stats;
    Status walked = znodes::WalkTree(
        {client_.get()}, WalkOptionsForRoot(),
        [&](const znodes::ZnodeRecord& record) -> Status {
          ZKA_RETURN_IF_ERROR(CheckStop());
          Remember(record, Mirror::EntryOf(record, generation_));
          if (!options_.emit_initial) return Status::Ok();
          return Emit(ChangeEvent::kInitial, record.stat ? record.stat->mzxid : 0, record);
        },
        &walk_stats);
    if (stopped_) return options_.emit_initial ? CutShort("initial read") : Status::Ok();
    // The walker fails with NONODE only for its root.
    if (IsRemote(walked, ErrorCode::NONODE)) {
      return zk::ZooKeeperError(ErrorCode::NONODE, "watch", options_.root,
                                "the root to watch does not exist" +
                                    zk::ServerPathNote(client_->chroot(), options_.root));
    }
    return walked;
  }

  Status Loop(const std::function<bool()>& should_stop) {
    std::set<std::string> dirty;
    while (!should_stop()) {
      std::chrono::milliseconds wait = kPollInterval;
      auto until = [](Clock::time_point when) {
        return std::clamp(
            std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now()),
            std::chrono::milliseconds(0), kPollInterval);
      };
      if (unflushed_) wait = std::min(wait, until(first_unflushed_ + options_.flush_interval));
      if (!unreadable_.empty()) wait = std::min(wait, until(next_unreadable_poll_));
      if (options_.resync_interval.count() > 0) {
        wait = std::min(wait, until(next_periodic_resync_));
      }
      // Read before taking the events: the client's I/O thread queues an
      // event before it handles any reply with a later zxid (and shows a
      // 3.9+ notification's own zxid only once its event is queued), so
      // every event of a transaction up to this zxid is among those taken.
      const int64_t settled_zxid = client_->last_zxid();
      NoticeQueue::Taken taken = queue_->TakeAll(wait);
      for (Notice& notice : taken.notices) {
        if (notice.session_number != session_number_) continue;
        if (notice.session_change) {
          ZKA_RETURN_IF_ERROR(OnSessionChange(notice.state));
        } else {
          OnWatchEvent(notice, dirty);
          // Writes elsewhere in the tree: the NOAUTH rows may change with
          // them, so their polls start again at the flush interval. Only
          // ever brought nearer: pushed back by every event, a poll would
          // never come while events kept arriving less than a flush
          // interval apart.
          unreadable_poll_interval_ = options_.flush_interval;
          next_unreadable_poll_ =
              std::min(next_unreadable_poll_, Clock::now() + unreadable_poll_interval_);
        }
      }
      // A backlog past the limit is dropped: one re-read of the whole tree
      // replaces it, with memory bounded by the tree rather than the event
      // rate.
      if (taken.overflowed || dirty.size() > options_.max_backlog) {
        ++stats_.backlog_drops;
        resync_needed_ = true;
      }
      if (options_.resync_interval.count() > 0 && Clock::now() >= next_periodic_resync_) {
        resync_needed_ = true;
      }
      Status status = Status::Ok();
      if (expired_) {
        dirty.clear();
        status = RecoverSession();
      } else if (resync_needed_) {
        dirty.clear();
        resync_needed_ = false;
        status = Resync();
      } else if (!dirty.empty()) {
        std::vector<std::string> paths(dirty.begin(), dirty.end());
        dirty.clear();
        status = Refresh(std::move(paths));
      } else if (!unreadable_.empty() && Clock::now() >= next_unreadable_poll_) {
        // Servers that filter watch events by READ permission (3.8.4+,
        // 3.9.2+ and Debian's 3.8.0 with the CVE-2024-23944 fix) tell us
        // nothing about a NOAUTH node, yet `snapshot` shows its stat (from
        // exists): poll those while idle, less often while they stay the
        // same (each poll is a read and an exists per node for ZooKeeper),
        // at the flush interval again once one changed.
        const int64_t rows_before = stats_.rows;
        status = Refresh(std::vector<std::string>(unreadable_.begin(), unreadable_.end()));
        unreadable_poll_interval_ =
            stats_.rows != rows_before
                ? options_.flush_interval
                : std::max(options_.flush_interval,
                           std::min(2 * unreadable_poll_interval_, options_.unreadable_poll_max));
        next_unreadable_poll_ = Clock::now() + unreadable_poll_interval_;
      }
      if (stopped_) return cut_short_ ? status : Status::Ok();
      if (IsRemote(status, ErrorCode::SESSIONEXPIRED)) {
        expired_ = true;  // recovered on the next turn
      } else if (!status.ok()) {
        return status;
      }
      if (!expired_ && !disconnected_ && !resync_needed_ && settled_zxid > settled_zxid_) {
        settled_zxid_ = settled_zxid;
        ZKA_RETURN_IF_ERROR(sink_->Settled(settled_zxid));
      }
      if (unflushed_ && Clock::now() >= first_unflushed_ + options_.flush_interval) {
        ZKA_RETURN_IF_ERROR(FlushRows());
      }
      ZKA_RETURN_IF_ERROR(sink_->Tick());
    }
    return Status::Ok();
  }

  Status OnSessionChange(zk::SessionState state) {
    switch (state) {
      case zk::SessionState::kDisconnected:
        disconnected_ = true;
        break;
      case zk::SessionState::kConnected:
      case zk::SessionState::kConnectedReadOnly:
        // Persistent watches were re-registered, but what changed while
        // disconnected was not replayed.
        if (disconnected_) resync_needed_ = true;
        disconnected_ = false;
        break;
      case zk::SessionState::kExpired:
        expired_ = true;
        break;
      case zk::SessionState::kAuthFailed:
        return zk::ZooKeeperError(ErrorCode::AUTHFAILED, "watch", options_.root,
                                  "the server rejected the credentials");
      case zk::SessionState::kClosed:
        break;
    }
    return Status::Ok();
  }

  void OnWatchEvent(const Notice& notice, std::set<std::string>& dirty) {
    switch (notice.type) {
      case zk::EventType::kCreated:
      case zk::EventType::kDeleted:
        // The parent's num_children, cversion and pzxid changed too, and
        // recursive watches report no child events.
        if (notice.path != options_.root) {
          if (auto parent = znodes::PathParent(notice.path)) dirty.emplace(*parent);
        }
        [[fallthrough]];
      case zk::EventType::kDataChanged:
        ++stats_.events;
        dirty.insert(notice.path);
        break;
      default:
        break;  // no other type reaches a persistent recursive watch
    }
  }

  // A new session and watch after an expiry, then a full re-read.
  Status RecoverSession() {
    client_.reset();
    expired_ = disconnected_ = resync_needed_ = false;
    ZKA_RETURN_IF_ERROR(Connect());
    // A fresh session may land on a server behind the one the mirror came
    // from: let it catch up with the leader before reading.
    std::optional<Status> synced = AwaitOrStop(client_->Sync(options_.root));
    if (!synced) return Status::Cancelled("stopped while syncing");
    ZKA_RETURN_IF_ERROR(synced->WithContext("sync before a resync"));
    return Resync();
  }

  Status Resync() {
    ++stats_.resyncs;
    next_periodic_resync_ = Clock::now() + options_.resync_interval;
    znodes::ZnodeRecord marker;
    marker.path = options_.root;
    ZKA_RETURN_IF_ERROR(Emit(ChangeEvent::kResync, client_->last_zxid(), marker));
    ++generation_;
    znodes::WalkStats walk_stats;
    Status walked = znodes::WalkTree(
        {client_.get()}, WalkOptionsForRoot(),
        [&](const znodes::ZnodeRecord& record) {
          ZKA_RETURN_IF_ERROR(CheckStop());
          return ApplyRecord(record, client_->last_zxid());
        },
        &walk_stats);
    if (stopped_) return CutShort("resync");
    // The walk itself read the subtrees whose visibility changed on the way.
    resync_needed_ = false;
    // The root itself is gone: everything below it is deleted.
    if (!walked.ok() && !IsRemote(walked, ErrorCode::NONODE)) return walked;
    // Deepest first: each node's children in the mirror are gone by the
    // time it is deleted, so no deletion needs a scan.
    for (const std::string& path : mirror_.NotSeenIn(generation_)) {
      ZKA_RETURN_IF_ERROR(EmitDeleted(path, GoneBy(path)));
    }
    return Status::Ok();
  }

  // The zxid by which a node the resync's walk did not find was gone: the
  // pzxid of its nearest ancestor the walk read, as read. A child's
  // deletion moves its parent's pzxid, so the node (or the ancestor's child
  // on the way to it, whose subtree went first) was deleted at or before
  // that zxid; and a creation of the node after the walk read the ancestor
  // has a later zxid, so the deletion's row comes before its creation's.
  // (The walk's end would not: the creation's event is handled after the
  // resync, with the creation's own, earlier zxid.) With no ancestor read
  // (the root gone), the zxid the walk ended at.
  int64_t GoneBy(std::string_view path) const {
    for (std::optional<std::string_view> at = znodes::PathParent(path); at && InSubtree(*at);
         at = znodes::PathParent(*at)) {
      const Mirror::Entry* ancestor = mirror_.Find(*at);
      if (ancestor != nullptr && ancestor->generation == generation_) return ancestor->pzxid;
    }
    return client_->last_zxid();
  }

  bool InSubtree(std::string_view path) const {
    const std::string& root = options_.root;
    if (root == "/") return true;
    return path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/');
  }

  // As the walker prunes: a path is hidden when it or an ancestor at or
  // below the root matches an exclude pattern.
  bool IsExcluded(const std::string& path) const {
    if (options_.excludes.empty()) return false;
    auto matches = [&](const std::string& candidate) {
      return std::any_of(options_.excludes.begin(), options_.excludes.end(),
                         [&](const std::string& glob) {
                           return ::fnmatch(glob.c_str(), candidate.c_str(), 0) == 0;
                         });
    };
    size_t from = options_.root == "/" ? 1 : options_.root.size();
    if (matches(options_.root)) return true;
    for (size_t slash = path.find('/', from); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (slash > options_.root.size() && matches(path.substr(0, slash))) return true;
    }
    return path != options_.root && matches(path);
  }

  // One multiRead batch of getData (and getACL when asked for) in flight.
  struct ReadChunk {
    size_t begin = 0, end = 0;
    std::future<BatchReply> reply;
    std::vector<std::future<Result<zk::AclResult>>> acls;
  };

  // Re-reads `paths` and reports what changed; the nodes found gone with
  // children still in the mirror are deleted last, with their subtrees,
  // however the pass ends.
  Status Refresh(std::vector<std::string> paths) {
    Status read = ReadAndApply(std::move(paths));
    Status deleted = EmitDeletesDue();
    return read.ok() ? deleted : read;
  }

  // Parents before children, so a new subtree enters the mirror top down.
  // At most kReadBatchesInFlight batches are outstanding and each is
  // applied, in path order, before the next is sent: the replies held at
  // once stay bounded however many paths changed.
  Status ReadAndApply(std::vector<std::string> paths) {
    std::erase_if(paths,
                  [&](const std::string& path) { return !InSubtree(path) || IsExcluded(path); });
    std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
      int da = znodes::PathDepth(a), db = znodes::PathDepth(b);
      return da != db ? da < db : a < b;
    });
    const size_t per_batch = static_cast<size_t>(std::max(1, options_.nodes_per_batch));
    std::deque<ReadChunk> in_flight;
    size_t next = 0;
    while (next < paths.size() || !in_flight.empty()) {
      while (next < paths.size() && in_flight.size() < kReadBatchesInFlight) {
        size_t end = next;
        size_t bytes = 0;
        while (end < paths.size() && end - next < per_batch) {
          bytes += paths[end].size() + 16;
          if (bytes > kMaxBatchRequestBytes && end > next) break;
          ++end;
        }
        in_flight.push_back(SubmitChunk(paths, next, end));
        next = end;
      }
      ReadChunk chunk = std::move(in_flight.front());
      in_flight.pop_front();
      ZKA_RETURN_IF_ERROR(ApplyChunk(paths, chunk));
    }
    return Status::Ok();
  }

  ReadChunk SubmitChunk(const std::vector<std::string>& paths, size_t begin, size_t end) {
    ReadChunk chunk{.begin = begin, .end = end};
    std::vector<zk::ReadOp> ops;
    for (size_t i = begin; i < end; ++i) ops.push_back(zk::ReadOp::GetData(paths[i]));
    auto promise = std::make_shared<std::promise<BatchReply>>();
    chunk.reply = promise->get_future();
    zk::Client* client = client_.get();
    client_->MultiRead(std::move(ops),
                       [promise, client](Result<std::vector<zk::ReadResult>> results) {
                         promise->set_value({std::move(results), client->last_zxid()});
                       });
    if (options_.read_acl) {
      for (size_t i = begin; i < end; ++i) chunk.acls.push_back(client_->GetAcl(paths[i]));
    }
    return chunk;
  }

  // Waits for one batch, asks `exists` for the nodes whose data was refused
  // and reports what changed.
  Status ApplyChunk(const std::vector<std::string>& paths, ReadChunk& chunk) {
    // A server that stops answering holds the reply until the session
    // expires: a stop must not wait for that.
    std::optional<BatchReply> waited = AwaitOrStop(std::move(chunk.reply));
    if (!waited) return Status::Cancelled("stopped while re-reading");
    BatchReply& reply = *waited;
    const size_t begin = chunk.begin, end = chunk.end;
    if (!reply.reads.ok()) {
      if (reply.reads.status().code() == StatusCode::kOutOfRange && end - begin > 1) {
        // Too large a reply together: node by node, one at a time, so that
        // no more than one node's data is held.
        for (size_t i = begin; i < end; ++i) {
          ReadChunk single = SubmitChunk(paths, i, i + 1);
          ZKA_RETURN_IF_ERROR(ApplyChunk(paths, single));
        }
        return Status::Ok();
      }
      return reply.reads.status().WithContext("re-reading " + paths[begin] +
                                              (end - begin > 1 ? " and others" : ""));
    }
    if (reply.reads->size() != end - begin) {
      return Status::Internal("multiRead returned " + std::to_string(reply.reads->size()) +
                              " results for " + std::to_string(end - begin) + " reads");
    }
    std::vector<NodeRead> reads(end - begin);
    std::vector<std::pair<size_t, std::future<Result<std::optional<zk::Stat>>>>> exists;
    for (size_t i = 0; i < reads.size(); ++i) {
      reads[i].path = paths[begin + i];
      reads[i].data = std::move((*reply.reads)[i]);
      reads[i].seen_zxid = reply.seen_zxid;
      ErrorCode error = reads[i].data->error;
      if (error != ErrorCode::OK && error != ErrorCode::NONODE) {
        exists.emplace_back(i, client_->Exists(reads[i].path));
      }
    }
    reply.reads = Status::Cancelled("moved into reads");
    for (auto& [i, stat] : exists) {
      auto exists_reply = AwaitOrStop(std::move(stat));
      if (!exists_reply) return Status::Cancelled("stopped while re-reading");
      reads[i].exists = std::move(*exists_reply);
      reads[i].seen_zxid = std::max(reads[i].seen_zxid, client_->last_zxid());
    }
    for (size_t i = 0; i < chunk.acls.size(); ++i) {
      auto acl_reply = AwaitOrStop(std::move(chunk.acls[i]));
      if (!acl_reply) return Status::Cancelled("stopped while re-reading");
      reads[i].acl = std::move(*acl_reply);
    }
    stats_.nodes_read += static_cast<int64_t>(reads.size());
    for (const NodeRead& read : reads) ZKA_RETURN_IF_ERROR(ApplyRead(read));
    return Status::Ok();
  }

  Status ApplyRead(const NodeRead& read) {
    if (read.path != options_.root) {
      auto parent = znodes::PathParent(read.path);
      const Mirror::Entry* parent_entry = parent ? mirror_.Find(*parent) : nullptr;
      // Not a node `snapshot` would list (below a NOAUTH node, or under a
      // parent that is itself gone): deleted, if it was reported.
      if (parent_entry == nullptr || !parent_entry->children_in_view) {
        return DeleteAfterPass(read.path, read.seen_zxid);
      }
    }
    const zk::ReadResult& data = *read.data;
    if (data.error == ErrorCode::NONODE) return DeleteAfterPass(read.path, read.seen_zxid);

    znodes::ZnodeRecord record;
    record.path = read.path;
    if (data.error == ErrorCode::OK) {
      record.stat = data.stat;
      record.data = std::span(reinterpret_cast<const uint8_t*>(data.data.data()), data.data.size());
      record.null_data = data.null_data;
    } else {
      record.error = zk::ErrorCodeName(data.error);
      if (read.exists) {
        const Result<std::optional<zk::Stat>>& stat = *read.exists;
        if (!stat.ok() && !IsAboutThisNode(stat.status())) {
          return stat.status().WithContext("exists " + read.path);
        }
        if (stat.ok()) {
          if (!stat->has_value()) return DeleteAfterPass(read.path, read.seen_zxid);
          record.stat = **stat;
        }
      }
    }
    if (read.acl) {
      const Result<zk::AclResult>& acl = *read.acl;
      if (acl.ok()) {
        record.acl = &acl->acls;
      } else if (!IsAboutThisNode(acl.status())) {
        return acl.status().WithContext("reading the ACL of " + read.path);
      } else if (IsRemote(acl.status(), ErrorCode::NONODE)) {
        // Deleted between getData and getACL; its delete event follows.
      } else if (record.error.empty()) {
        record.error = zk::ErrorCodeName(zk::ErrorCodeOf(acl.status()));
      }
    }
    if (record.stat) record.kind = LiveKind(*record.stat);
    return ApplyRecord(record, read.seen_zxid);
  }

  // Compares a fresh read with the mirror and reports the difference.
  // `seen_zxid`: the client's highest zxid when the read came back.
  Status ApplyRecord(const znodes::ZnodeRecord& record, int64_t seen_zxid) {
    Mirror::Entry fresh = Mirror::EntryOf(record, generation_);
    Mirror::Entry* old = mirror_.Find(record.path);
    const int64_t mzxid = record.stat ? record.stat->mzxid : 0;
    if (old == nullptr) {
      Remember(record, fresh);
      // Without a stat, the state is the one seen when the read came back.
      return Emit(ChangeEvent::kCreated, record.stat ? mzxid : seen_zxid, record);
    }
    // A read that got no stat says nothing newer than the row reported (and
    // a row with zxid 0 would go back in time): keep that row.
    if (!record.stat) return Suppress(*old);
    // The node's children came into view (its data became readable) or left
    // it: the subtree below changed with no event about it, so re-read the
    // whole tree after this pass.
    if (fresh.children_in_view != old->children_in_view) resync_needed_ = true;
    if (record.stat && old->czxid != 0 && record.stat->czxid != old->czxid) {
      if (record.stat->czxid < old->czxid) return Suppress(*old);  // an older incarnation
      // Deleted and created again between two reads: the deletion came
      // before the new node's creation.
      ZKA_RETURN_IF_ERROR(
          EmitDeleted(std::string(record.path), std::min(seen_zxid, record.stat->czxid)));
      Remember(record, fresh);
      return Emit(ChangeEvent::kCreated, mzxid, record);
    }
    if (record.stat && (record.stat->mzxid < old->mzxid || record.stat->pzxid < old->pzxid)) {
      return Suppress(*old);  // older than what was reported
    }
    if (fresh.fingerprint == old->fingerprint && fresh.mzxid == old->mzxid &&
        fresh.pzxid == old->pzxid && fresh.czxid == old->czxid) {
      return Suppress(*old);
    }
    Remember(record, fresh);
    return Emit(ChangeEvent::kChanged, mzxid, record);
  }

  void Remember(const znodes::ZnodeRecord& record, const Mirror::Entry& entry) {
    mirror_.Put(record.path, entry);
    if (record.stat && !record.data) {
      unreadable_.emplace(record.path);
    } else {
      unreadable_.erase(std::string(record.path));
    }
  }

  Status Suppress(Mirror::Entry& entry) {
    entry.generation = generation_;
    ++stats_.suppressed;
    return Status::Ok();
  }

  // A node a re-read found gone (or out of view): deleted at the end of the
  // pass (EmitDeletesDue), when the nodes below it that the same pass
  // re-reads (read after it: parents go first) have been deleted one by
  // one, so that its subtree rarely needs a scan of the mirror. A node
  // without children in the mirror goes at once.
  Status DeleteAfterPass(const std::string& path, int64_t zxid) {
    const Mirror::Entry* entry = mirror_.Find(path);
    if (entry == nullptr) return Status::Ok();
    if (entry->children == 0) return EmitDeletedNode(path, zxid);
    deletes_due_.emplace(path, zxid);  // a pass reads each path once
    return Status::Ok();
  }

  // The deletions DeleteAfterPass put off, with the nodes still below them,
  // children first. Also when the pass ended early (a stop, a failure): the
  // nodes were seen gone, and their rows go out with the rest.
  Status EmitDeletesDue() {
    if (deletes_due_.empty()) return Status::Ok();
    return EmitDeletedSubtrees(std::exchange(deletes_due_, {}));
  }

  // Deleted rows for `roots` (path: the zxid they were seen gone at) and
  // everything the mirror holds below them, children before their parents,
  // so that a consumer applying the rows to a tree never deletes a node
  // that still has children. A node below a root gets the root's zxid.
  Status EmitDeletedSubtrees(const std::map<std::string, int64_t>& roots) {
    std::vector<std::string> keys;
    keys.reserve(roots.size());
    for (const auto& [path, zxid] : roots) keys.push_back(path);
    for (const std::string& path : mirror_.Subtrees(keys)) {
      // The nearest root at or above the path.
      std::string_view root = path;
      auto due = roots.find(path);
      while (due == roots.end()) {
        root = *znodes::PathParent(root);
        due = roots.find(std::string(root));
      }
      ZKA_RETURN_IF_ERROR(EmitDeletedNode(path, due->second));
    }
    return Status::Ok();
  }

  // A deleted row for `path` and everything the mirror holds below it.
  Status EmitDeleted(const std::string& path, int64_t zxid) {
    const Mirror::Entry* entry = mirror_.Find(path);
    if (entry == nullptr) return Status::Ok();
    if (entry->children == 0) return EmitDeletedNode(path, zxid);
    return EmitDeletedSubtrees({{path, zxid}});
  }

  // A deleted row for `path` (no children in the mirror) if the mirror
  // holds it. Its zxid never goes below the last row's (the node's mzxid).
  Status EmitDeletedNode(std::string_view path, int64_t zxid) {
    const Mirror::Entry* entry = mirror_.Find(path);
    if (entry == nullptr) return Status::Ok();
    znodes::ZnodeRecord record;
    record.path = path;
    record.kind = entry->kind;
    const int64_t row_zxid = std::max(zxid, entry->mzxid);
    mirror_.Erase(path);
    unreadable_.erase(std::string(path));
    return Emit(ChangeEvent::kDeleted, row_zxid, record);
  }

  Status Emit(ChangeEvent event, int64_t zxid, const znodes::ZnodeRecord& record) {
    ChangeRow row{.event = event, .zxid = zxid, .observed_at_ms = NowMs(), .record = record};
    ZKA_RETURN_IF_ERROR(sink_->Append(row));
    ++stats_.rows;
    ++stats_.rows_by_event[static_cast<size_t>(event)];
    if (!unflushed_) {
      unflushed_ = true;
      first_unflushed_ = Clock::now();
    }
    return Status::Ok();
  }

  // Waits for a reply, asking should_stop every kPollInterval: a stop ends
  // the wait (nullopt, stopped_ set) instead of sitting out a server that
  // does not answer. The abandoned reply is dropped when it comes.
  template <typename T>
  std::optional<T> AwaitOrStop(std::future<T> reply) {
    while (reply.wait_for(kPollInterval) != std::future_status::ready) {
      if (!CheckStop().ok()) return std::nullopt;
    }
    return reply.get();
  }

  // A stop inside a read of the whole tree: the rows of that read stop
  // halfway (after a `resync` row, the differences found so far), so the
  // stream's replay is not the tree, and the run must not end as a clean
  // stop would.
  Status CutShort(std::string_view read) {
    cut_short_ = true;
    return Status::Cancelled("stopped during the " + std::string(read) + " of " + options_.root +
                             ": the stream holds only part of it, so its replay is not the tree");
  }

  // Inside a long read: ends it when a stop was asked (SIGINT before the
  // watch loop starts must not wait for the whole tree).
  Status CheckStop() {
    if (should_stop_ == nullptr || !(*should_stop_)()) return Status::Ok();
    stopped_ = true;
    return Status::Cancelled("stopped");
  }

  Status FlushRows() {
    if (!unflushed_ || sink_ == nullptr) return Status::Ok();
    unflushed_ = false;
    return sink_->Flush();
  }

  WatchOptions options_;
  std::shared_ptr<NoticeQueue> queue_ = std::make_shared<NoticeQueue>(options_.max_backlog);
  std::unique_ptr<zk::Client> client_;
  uint64_t session_number_ = 0;
  Mirror mirror_;
  uint32_t generation_ = 0;
  WatchStats stats_;
  ChangeSink* sink_ = nullptr;
  const std::function<bool()>* should_stop_ = nullptr;  // Run()'s, while it runs
  bool stopped_ = false;                                // a read ended early by should_stop
  bool cut_short_ = false;  // that read was the initial read or a resync (CutShort)
  bool unflushed_ = false;
  Clock::time_point first_unflushed_;
  // Nodes a re-read of this pass found gone, with children in the mirror:
  // path -> the zxid seen then (DeleteAfterPass).
  std::map<std::string, int64_t> deletes_due_;
  // In-view nodes whose data was refused (NOAUTH rows), polled for their stat.
  std::set<std::string> unreadable_;
  Clock::time_point next_unreadable_poll_;
  std::chrono::milliseconds unreadable_poll_interval_{0};
  Clock::time_point next_periodic_resync_;
  bool disconnected_ = false;
  bool resync_needed_ = false;
  bool expired_ = false;
  // The last zxid passed to ChangeSink::Settled (a new ensemble's is 0).
  int64_t settled_zxid_ = -1;
};

TreeWatcher::TreeWatcher(WatchOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
TreeWatcher::~TreeWatcher() = default;

Status TreeWatcher::Run(ChangeSink& sink, const std::function<bool()>& should_stop) {
  return impl_->Run(sink, should_stop);
}

WatchStats TreeWatcher::stats() const { return impl_->stats(); }

}  // namespace zkarrow::watch
