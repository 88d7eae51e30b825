#include "znodes/live/tree_walker.h"

#include <fnmatch.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "zk/connect_string.h"
#include "znodes/limits.h"
#include "znodes/znode_path.h"

namespace zkarrow::znodes {
namespace {

using zk::ErrorCode;

// A multiRead request stays well under the server's 1 MiB jute.maxbuffer
// however long the paths: a node costs its path twice (getData and
// getChildren) plus about 16 bytes of framing per operation.
constexpr size_t kMaxBatchRequestBytes = 512 << 10;
size_t RequestBytes(const std::string& path) { return 2 * (path.size() + 16); }

struct PendingNode {
  std::string path;
  int depth = 0;  // levels below the walk's root
  // Read in a request of its own: its batch's reply was too large.
  bool alone = false;
};

// What a node waiting in the frontier costs, for kMaxWalkFrontierBytes.
size_t FrontierBytes(size_t path_size) { return sizeof(PendingNode) + path_size; }

// One multiRead request and the follow-up requests its nodes need. Shared by
// the walker and the callbacks of its requests, so that a walk ended early
// leaves its requests' replies somewhere to land; the I/O threads only fill
// in results and count down.
struct Batch {
  std::vector<PendingNode> nodes;
  std::vector<bool> list_children;  // per node: was getChildren asked for
  size_t session = 0;
  // The decoded size its replies may take (the multiRead's and, with ACLs,
  // one getACL per node), reserved against kMaxWalkReplyBytes.
  size_t reply_bytes = 0;
  Result<std::vector<zk::ReadResult>> reads = Status::Cancelled("not read yet");
  std::vector<std::optional<Result<zk::AclResult>>> acls;
  // Stats fetched with `exists` for nodes whose data could not be read.
  std::vector<std::optional<Result<std::optional<zk::Stat>>>> fallback_stats;
  bool followed_up = false;
  int outstanding = 0;  // guarded by the walker's mutex
};

// Batches whose replies are complete, handed from I/O threads to the walker.
// Shared with the requests' callbacks, as the batches.
class CompletionQueue {
 public:
  // Counts one reply of `batch`; the last one queues the batch.
  void ReplyArrived(const std::shared_ptr<Batch>& batch) {
    std::lock_guard lock(mutex_);
    if (--batch->outstanding == 0) {
      ready_.push_back(batch);
      cv_.notify_one();
    }
  }
  void Expect(Batch& batch, int replies) {
    std::lock_guard lock(mutex_);
    batch.outstanding += replies;
  }
  // The next complete batch; null once `should_stop` (when set) says so first.
  std::shared_ptr<Batch> Pop(const std::function<bool()>& should_stop) {
    std::unique_lock lock(mutex_);
    while (ready_.empty()) {
      if (!should_stop) {
        cv_.wait(lock, [&] { return !ready_.empty(); });
        break;
      }
      if (cv_.wait_for(lock, kWalkStopPollInterval, [&] { return !ready_.empty(); })) break;
      lock.unlock();
      const bool stop = should_stop();
      lock.lock();
      if (stop) return nullptr;
    }
    std::shared_ptr<Batch> batch = std::move(ready_.front());
    ready_.pop_front();
    return batch;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Batch>> ready_;
};

// A server's verdict on one node (NOAUTH, NONODE, ...), as opposed to a
// failure of the session or the connection, which ends the walk.
bool IsAboutThisNode(const Status& status) {
  if (status.code() != StatusCode::kRemote) return false;
  ErrorCode code = zk::ErrorCodeOf(status);
  return code != ErrorCode::CONNECTIONLOSS && code != ErrorCode::SESSIONEXPIRED &&
         code != ErrorCode::OPERATIONTIMEOUT && code != ErrorCode::SESSIONMOVED;
}

class Walker {
 public:
  Walker(const std::vector<zk::Client*>& sessions, const WalkOptions& options,
         const RecordSink& sink, WalkStats* stats, const ProgressCallback& progress)
      : sessions_(sessions),
        options_(options),
        sink_(sink),
        stats_(*stats),
        progress_(progress),
        in_flight_per_session_(sessions.size(), 0) {}

  // Requests still out share their batches and the queue: the walk ends
  // without waiting for them, however it ends (an error, a stop, an
  // exception unwinding through Run()).
  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;

  Status Run() {
    if (sessions_.empty()) return Status::InvalidArgument("the walk needs at least one session");
    std::string root = options_.root.empty() ? "/" : options_.root;
    if (root.front() != '/' || (root.size() > 1 && root.back() == '/')) {
      return Status::InvalidArgument("bad path '" + root +
                                     "': a znode path starts with '/' and does not end with one");
    }
    root_path_ = root;
    if (IsExcluded(root)) {
      ++stats_.excluded;
      return Status::Ok();
    }
    Push({root, 0});
    return Loop();
  }

 private:
  Status Loop() {
    while (!pending_.empty() || InFlight() > 0) {
      SubmitWhileRoom();
      if (InFlight() == 0) continue;
      std::shared_ptr<Batch> ready = queue_->Pop(options_.should_stop);
      if (!ready) return Status::Cancelled("stopped while reading " + root_path_);
      if (NeedsFollowUp(ready)) continue;
      // No request of this batch is out any more: it is ours alone.
      std::shared_ptr<Batch> batch = Retire(*ready);
      ZKA_RETURN_IF_ERROR(Handle(*batch));
      if (progress_) progress_(stats_);
    }
    return Status::Ok();
  }

  int InFlight() const { return static_cast<int>(batches_.size()); }

  bool IsExcluded(const std::string& path) const {
    return std::any_of(
        options_.excludes.begin(), options_.excludes.end(),
        [&](const std::string& glob) { return ::fnmatch(glob.c_str(), path.c_str(), 0) == 0; });
  }

  bool ListsChildren(const PendingNode& node) const {
    return options_.max_depth < 0 || node.depth < options_.max_depth;
  }

  void Push(PendingNode node) {
    pending_bytes_ += FrontierBytes(node.path.size());
    pending_.push_back(std::move(node));
  }
  PendingNode Pop() {
    PendingNode node = std::move(pending_.back());
    pending_.pop_back();
    pending_bytes_ -= FrontierBytes(node.path.size());
    return node;
  }

  void SubmitWhileRoom() {
    const int per_session = std::max(1, options_.batches_in_flight_per_session);
    while (!pending_.empty()) {
      size_t session = LeastLoadedSession();
      if (in_flight_per_session_[session] >= per_session) return;
      const bool alone = pending_.back().alone;
      const size_t reply_bytes = alone ? kMaxWalkNodeReplyBytes : BatchReplyBytes();
      // With nothing in flight a request always goes out, so the walk moves on.
      if (InFlight() > 0 && reserved_reply_bytes_ + reply_bytes > kMaxWalkReplyBytes) return;
      auto batch = std::make_shared<Batch>();
      batch->session = session;
      batch->reply_bytes = reply_bytes;
      const size_t limit = alone ? 1 : static_cast<size_t>(std::max(1, options_.nodes_per_batch));
      size_t request_bytes = 0;
      while (!pending_.empty() && batch->nodes.size() < limit && !pending_.back().alone) {
        request_bytes += RequestBytes(pending_.back().path);
        if (request_bytes > kMaxBatchRequestBytes && !batch->nodes.empty()) break;
        batch->nodes.push_back(Pop());
      }
      if (batch->nodes.empty()) batch->nodes.push_back(Pop());  // the back node, read alone
      if (options_.read_acl) batch->reply_bytes += batch->nodes.size() * kMaxWalkAclReplyBytes;
      reserved_reply_bytes_ += batch->reply_bytes;
      Submit(batch);
      batches_.push_back(std::move(batch));
    }
  }

  // A batch's share of kMaxWalkReplyBytes: every request slot (sessions
  // times batches in flight) can be filled at once, and no share passes
  // kMaxWalkBatchReplyBytes. With very many slots the floor of 1 MiB applies
  // and the reservations, not the slots, limit the requests in flight.
  size_t BatchReplyBytes() const {
    const size_t slots =
        sessions_.size() * static_cast<size_t>(std::max(1, options_.batches_in_flight_per_session));
    return std::clamp(kMaxWalkReplyBytes / slots, size_t{1} << 20, kMaxWalkBatchReplyBytes);
  }

  size_t LeastLoadedSession() const {
    return static_cast<size_t>(
        std::min_element(in_flight_per_session_.begin(), in_flight_per_session_.end()) -
        in_flight_per_session_.begin());
  }

  void Submit(const std::shared_ptr<Batch>& shared) {
    Batch& batch = *shared;
    ++in_flight_per_session_[batch.session];
    zk::Client& client = *sessions_[batch.session];
    if (!options_.read_data && options_.stat_without_data && stat_nodes_ > 0 &&
        stat_data_bytes_ / stat_nodes_ >= kStatOnlyAverageDataBytes) {
      SubmitStatReads(client, shared);
    } else {
      SubmitMultiRead(client, shared);
    }
    if (options_.read_acl) {
      batch.acls.resize(batch.nodes.size());
      for (size_t i = 0; i < batch.nodes.size(); ++i) {
        client.GetAcl(
            batch.nodes[i].path,
            [queue = queue_, shared, i](Result<zk::AclResult> acl) {
              shared->acls[i] = std::move(acl);
              queue->ReplyArrived(shared);
            },
            kMaxWalkAclReplyBytes);
      }
    }
  }

  int AclReplies(const Batch& batch) const {
    return options_.read_acl ? static_cast<int>(batch.nodes.size()) : 0;
  }

  void SubmitMultiRead(zk::Client& client, const std::shared_ptr<Batch>& shared) {
    Batch& batch = *shared;
    std::vector<zk::ReadOp> ops;
    ops.reserve(batch.nodes.size() * 2);
    for (const PendingNode& node : batch.nodes) {
      ops.push_back(zk::ReadOp::GetData(node.path));
      bool list = ListsChildren(node);
      batch.list_children.push_back(list);
      if (list) ops.push_back(zk::ReadOp::GetChildren(node.path));
    }
    queue_->Expect(batch, 1 + AclReplies(batch));
    client.MultiRead(
        std::move(ops),
        [queue = queue_, shared](Result<std::vector<zk::ReadResult>> reads) {
          shared->reads = std::move(reads);
          queue->ReplyArrived(shared);
        },
        batch.reply_bytes);
  }

  // The replies laid out as a multiRead's would be (per node: a stat-only
  // "getData" result, then the children when listed), so that Handle and
  // the NOAUTH follow-up treat both kinds of batch alike. A session's
  // replies complete one at a time on its I/O thread; the first failure
  // that is not about a node fails the whole batch, as a failed multiRead.
  void SubmitStatReads(zk::Client& client, const std::shared_ptr<Batch>& shared) {
    Batch& batch = *shared;
    size_t ops = 0;
    for (const PendingNode& node : batch.nodes) {
      const bool list = ListsChildren(node);
      batch.list_children.push_back(list);
      ops += list ? 2 : 1;
    }
    batch.reads = std::vector<zk::ReadResult>(ops);
    queue_->Expect(batch, static_cast<int>(batch.nodes.size()) + AclReplies(batch));
    auto fail = [&batch = *shared](const Status& status, size_t op) {
      if (!batch.reads.ok()) return false;
      if (IsAboutThisNode(status)) {
        const zk::ErrorCode code = zk::ErrorCodeOf(status);
        (*batch.reads)[op].error = code;
        return true;
      }
      batch.reads = status;
      return false;
    };
    size_t op = 0;
    for (size_t i = 0; i < batch.nodes.size(); ++i) {
      const std::string& path = batch.nodes[i].path;
      if (batch.list_children[i]) {
        client.GetChildren2(path,
                            [queue = queue_, shared, op, fail](Result<zk::ChildrenResult> read) {
                              Batch& replied = *shared;
                              if (read.ok()) {
                                if (replied.reads.ok()) {
                                  (*replied.reads)[op].stat = read->stat;
                                  (*replied.reads)[op + 1].children = std::move(read->children);
                                }
                              } else if (fail(read.status(), op)) {
                                (*replied.reads)[op + 1].error = (*replied.reads)[op].error;
                              }
                              queue->ReplyArrived(shared);
                            });
        op += 2;
      } else {
        client.Exists(path,
                      [queue = queue_, shared, op, fail](Result<std::optional<zk::Stat>> stat) {
                        Batch& replied = *shared;
                        if (stat.ok()) {
                          if (replied.reads.ok()) {
                            if (*stat) {
                              (*replied.reads)[op].stat = **stat;
                            } else {
                              (*replied.reads)[op].error = zk::ErrorCode::NONODE;
                            }
                          }
                        } else {
                          fail(stat.status(), op);
                        }
                        queue->ReplyArrived(shared);
                      });
        op += 1;
      }
    }
  }

  // Nodes whose data read was refused still get their stat from `exists`,
  // which needs no permission. Sends those requests once; true if it did.
  bool NeedsFollowUp(const std::shared_ptr<Batch>& shared) {
    Batch& batch = *shared;
    if (batch.followed_up || !batch.reads.ok()) return false;
    batch.followed_up = true;
    std::vector<size_t> refused;
    size_t op = 0;
    for (size_t i = 0; i < batch.nodes.size(); ++i) {
      if (op < batch.reads->size() && (*batch.reads)[op].error == ErrorCode::NOAUTH) {
        refused.push_back(i);
      }
      op += batch.list_children[i] ? 2 : 1;
    }
    if (refused.empty()) return false;
    batch.fallback_stats.resize(batch.nodes.size());
    queue_->Expect(batch, static_cast<int>(refused.size()));
    zk::Client& client = *sessions_[batch.session];
    for (size_t i : refused) {
      client.Exists(batch.nodes[i].path,
                    [queue = queue_, shared, i](Result<std::optional<zk::Stat>> stat) {
                      shared->fallback_stats[i] = std::move(stat);
                      queue->ReplyArrived(shared);
                    });
    }
    return true;
  }

  // Takes a batch whose replies are all in out of the in-flight set.
  std::shared_ptr<Batch> Retire(const Batch& batch) {
    --in_flight_per_session_[batch.session];
    reserved_reply_bytes_ -= batch.reply_bytes;
    auto it = std::find_if(batches_.begin(), batches_.end(),
                           [&batch](const auto& owned) { return owned.get() == &batch; });
    std::shared_ptr<Batch> retired = std::move(*it);
    batches_.erase(it);
    return retired;
  }

  Status Handle(Batch& batch) {
    if (!batch.reads.ok()) {
      // A reply (or request) too large for the client's limits or the
      // batch's share of the budget: read the nodes one by one, each with
      // the larger share of a node read alone.
      const bool read_alone = batch.nodes.size() == 1 && batch.nodes.front().alone;
      if (batch.reads.status().code() == StatusCode::kOutOfRange && !read_alone) {
        for (auto node = batch.nodes.rbegin(); node != batch.nodes.rend(); ++node) {
          node->alone = true;
          Push(std::move(*node));
        }
        return Status::Ok();
      }
      return batch.reads.status().WithContext("reading " + batch.nodes.front().path +
                                              (batch.nodes.size() > 1 ? " and others" : ""));
    }
    const std::vector<zk::ReadResult>& reads = *batch.reads;
    size_t op = 0;
    for (size_t i = 0; i < batch.nodes.size(); ++i) {
      const zk::ReadResult* data = op < reads.size() ? &reads[op] : nullptr;
      const zk::ReadResult* children =
          batch.list_children[i] && op + 1 < reads.size() ? &reads[op + 1] : nullptr;
      op += batch.list_children[i] ? 2 : 1;
      if (data == nullptr) return Status::Internal("multiRead returned fewer results than ops");
      ZKA_RETURN_IF_ERROR(HandleNode(batch, i, *data, children));
    }
    return Status::Ok();
  }

  Status RootMissing(const std::string& path) const {
    return zk::ZooKeeperError(
        ErrorCode::NONODE, "read", path,
        "the walk's root does not exist" + zk::ServerPathNote(sessions_[0]->chroot(), path));
  }

  Status HandleNode(Batch& batch, size_t i, const zk::ReadResult& data,
                    const zk::ReadResult* children) {
    const PendingNode& node = batch.nodes[i];
    if (data.error == ErrorCode::NONODE ||
        (children != nullptr && children->error == ErrorCode::NONODE)) {
      if (node.path == root_path_) {
        return RootMissing(node.path);
      }
      ++stats_.vanished;
      return Status::Ok();
    }

    ZnodeRecord record;
    record.path = node.path;
    std::optional<zk::Stat> stat;
    if (data.error == ErrorCode::OK) {
      stat = data.stat;
      if (options_.read_data) {
        record.data =
            std::span(reinterpret_cast<const uint8_t*>(data.data.data()), data.data.size());
        record.null_data = data.null_data;
      }
    } else {
      record.error = zk::ErrorCodeName(data.error);
      if (i < batch.fallback_stats.size() && batch.fallback_stats[i] &&
          batch.fallback_stats[i]->ok()) {
        stat = **batch.fallback_stats[i];
        if (!stat) {  // gone between the two reads
          if (node.path == root_path_) {
            return RootMissing(node.path);
          }
          ++stats_.vanished;
          return Status::Ok();
        }
      }
    }
    if (children != nullptr && children->error != ErrorCode::OK && record.error.empty()) {
      record.error = zk::ErrorCodeName(children->error);
    }
    if (options_.read_acl && i < batch.acls.size() && batch.acls[i]) {
      const Result<zk::AclResult>& acl = *batch.acls[i];
      if (acl.ok()) {
        record.acl = &acl->acls;
      } else if (!IsAboutThisNode(acl.status())) {
        return acl.status().WithContext("reading the ACL of " + node.path);
      } else if (record.error.empty()) {
        record.error = zk::ErrorCodeName(zk::ErrorCodeOf(acl.status()));
      }
    }
    record.stat = stat;
    if (stat) {
      ++stat_nodes_;
      stat_data_bytes_ += stat->data_length;
      record.kind = stat->ephemeral_owner != 0 ? NodeKind::kEphemeral : NodeKind::kPersistent;
      if (stat->czxid > 0 && (stats_.min_czxid == 0 || stat->czxid < stats_.min_czxid)) {
        stats_.min_czxid = stat->czxid;
      }
      stats_.max_zxid = std::max({stats_.max_zxid, stat->czxid, stat->mzxid, stat->pzxid});
    }
    ZKA_RETURN_IF_ERROR(sink_(record));
    ++stats_.znodes;
    if (!record.error.empty()) ++stats_.errors;
    if (record.data) stats_.data_bytes += static_cast<int64_t>(record.data->size());

    if (children != nullptr && children->error == ErrorCode::OK) {
      return QueueChildren(node, *children);
    }
    return Status::Ok();
  }

  // Children go on a stack, so the walk is roughly depth-first and the
  // queue holds sibling lists along the current paths, not a whole level of
  // the tree. Rows come out in no particular order: batches are pipelined.
  // Fails, queueing nothing, when the frontier would pass kMaxWalkFrontierBytes.
  Status QueueChildren(const PendingNode& node, const zk::ReadResult& children) {
    const size_t prefix = node.path.size() + 1;  // "parent/"
    size_t bytes = 0;
    for (const std::string& name : children.children) bytes += FrontierBytes(prefix + name.size());
    if (bytes > kMaxWalkFrontierBytes - std::min(pending_bytes_, kMaxWalkFrontierBytes)) {
      return Status::OutOfRange(
          node.path + " lists " + std::to_string(children.children.size()) + " children (" +
          std::to_string(bytes) + " bytes of paths); with " + std::to_string(pending_.size()) +
          " paths already waiting, the walk would hold more than " +
          std::to_string(kMaxWalkFrontierBytes >> 20) + " MiB of paths to read");
    }
    for (const std::string& name : children.children) {
      std::string path = JoinPath(node.path, name);
      if (IsExcluded(path)) {
        ++stats_.excluded;
        continue;
      }
      Push({std::move(path), node.depth + 1});
    }
    return Status::Ok();
  }

  const std::vector<zk::Client*>& sessions_;
  const WalkOptions& options_;
  const RecordSink& sink_;
  WalkStats& stats_;
  const ProgressCallback& progress_;
  std::string root_path_;
  std::vector<PendingNode> pending_;             // a stack: the back is read next
  size_t pending_bytes_ = 0;                     // FrontierBytes of pending_
  size_t reserved_reply_bytes_ = 0;              // reply_bytes of the batches in flight
  int64_t stat_nodes_ = 0;                       // nodes whose stat was read so far
  int64_t stat_data_bytes_ = 0;                  // their data_length, summed
  std::vector<std::shared_ptr<Batch>> batches_;  // in flight
  std::vector<int> in_flight_per_session_;
  std::shared_ptr<CompletionQueue> queue_ = std::make_shared<CompletionQueue>();
};

}  // namespace

Status WalkTree(const std::vector<zk::Client*>& sessions, const WalkOptions& options,
                const RecordSink& sink, WalkStats* stats, const ProgressCallback& progress) {
  *stats = WalkStats{};
  return Walker(sessions, options, sink, stats, progress).Run();
}

}  // namespace zkarrow::znodes
