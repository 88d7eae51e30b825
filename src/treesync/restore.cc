#include "treesync/restore.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "zk/connect_string.h"
#include "zk/error_code.h"
#include "zk/protocol.h"

namespace zkarrow::treesync {
namespace {

using zk::ErrorCode;

// One op of a batch and the node state it is meant to produce.
struct Intent {
  std::string path;               // relative to the target root
  std::optional<Record> desired;  // nullopt: the node should not exist
  int32_t version = -1;           // deletes: the version the plan saw
  bool ancestor = false;          // a missing ancestor of the target's root, not a source node
};

struct Batch {
  std::vector<zk::Op> ops;
  std::vector<Intent> intents;  // intents[i] belongs to ops[i]
  size_t bytes = zk::kMultiEndBytes + zk::kRequestPacketOverhead;
};

struct InFlight {
  Batch batch;
  std::future<Result<std::vector<zk::OpResult>>> reply;
};

struct DeferredAcl {
  std::string path;  // relative
  std::vector<zk::Acl> acl;
  int32_t aversion = 0;
};

// Held by a node until its subtree exists: every identity the restorer's
// session authenticated as, and no one else.
zk::Acl TemporaryAcl() { return {zk::perms::kAll, "auth", ""}; }

bool IsWorld(const zk::Acl& acl) { return acl.scheme == "world" && acl.id == "anyone"; }

// Whether anyone (so also the restorer) may create children under a node
// with this ACL; when not, the node's ACL is set only after its subtree.
bool LetsAnyoneCreate(const std::vector<zk::Acl>& acl) {
  return std::any_of(acl.begin(), acl.end(), [](const zk::Acl& entry) {
    return IsWorld(entry) && (entry.perms & zk::perms::kCreate) != 0;
  });
}

// Whether anyone at all may create children under a node with this ACL.
bool GrantsCreate(const std::vector<zk::Acl>& acl) {
  return std::any_of(acl.begin(), acl.end(),
                     [](const zk::Acl& entry) { return (entry.perms & zk::perms::kCreate) != 0; });
}

Result<zk::CreateMode> CreateModeOf(const Record& record) {
  switch (record.kind) {
    case znodes::NodeKind::kContainer:
      return zk::CreateMode::kContainer;
    case znodes::NodeKind::kTtl:
      if (!record.ttl_ms || *record.ttl_ms <= 0) {
        return Status(StatusCode::kInvalidData,
                      "source node " + record.path + " is a TTL node without a positive ttl_ms");
      }
      return zk::CreateMode::kPersistentWithTtl;
    default:
      // Sequential nodes keep their exact names: created as named, no flag.
      return zk::CreateMode::kPersistent;
  }
}

// The number ZooKeeper appended to a sequential node's name ("%010d" of
// the parent's cversion), or nullopt when the name does not end in one.
std::optional<int64_t> SequenceSuffix(std::string_view name) {
  constexpr size_t kDigits = 10;
  if (name.size() < kDigits) return std::nullopt;
  int64_t value = 0;
  for (char c : name.substr(name.size() - kDigits)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// A source stream whose records are also shown to `see` as they pass.
class ObservedStream final : public RecordStream {
 public:
  ObservedStream(RecordStream& inner, std::function<void(const Record&)> see)
      : inner_(inner), see_(std::move(see)) {}
  Result<const Record*> Next() override {
    ZKA_ASSIGN_OR_RETURN(const Record* record, inner_.Next());
    if (record != nullptr) see_(*record);
    return record;
  }

 private:
  RecordStream& inner_;
  std::function<void(const Record&)> see_;
};

// The child created and deleted to advance a parent's cversion; never
// visible (both ops are in one multi).
constexpr std::string_view kSequencePlaceholder = "zkarrow-sequence-placeholder";

// Whether restore in `options.mode` acts on this difference (old = target,
// new = source), counting what it skips.
bool Acts(const DiffRow& row, const RestoreOptions& options, RestoreStats* stats) {
  switch (row.change) {
    case Change::kAdded:
      if (row.new_record->kind == znodes::NodeKind::kEphemeral) {
        ++stats->skipped_ephemeral;
        return false;
      }
      return true;
    case Change::kRemoved:
      if (options.mode != RestoreMode::kMirror) return false;
      // A target's ephemeral node is its session's (a lock, a live
      // registration): deleting it would take it from a running client.
      if (row.old_record->kind == znodes::NodeKind::kEphemeral) {
        ++stats->skipped_ephemeral;
        return false;
      }
      return true;
    case Change::kData:
    case Change::kAcl:
      // An ephemeral node on either side is not restored (its kind row
      // counts it), nor is it written through.
      if (row.old_record->kind == znodes::NodeKind::kEphemeral ||
          row.new_record->kind == znodes::NodeKind::kEphemeral) {
        return false;
      }
      return options.mode != RestoreMode::kCreate &&
             (row.change == Change::kData || options.restore_acl);
    case Change::kKind:
      if (row.new_record->kind == znodes::NodeKind::kEphemeral ||
          row.old_record->kind == znodes::NodeKind::kEphemeral) {
        ++stats->skipped_ephemeral;
      } else {
        ++stats->kind_mismatches;
      }
      return false;
    case Change::kStat:
      return false;
  }
  return false;
}

// Diffs with the options restore compares by.
DiffOptions RestoreDiffOptions(const RestoreOptions& options) {
  DiffOptions diff;
  diff.compare_acl = options.restore_acl;
  // The target is read live, where containers and TTL nodes look persistent.
  diff.exact_kinds = false;
  diff.unknown_below_old_errors = false;
  diff.stop_requested = options.stop_requested;
  return diff;
}

class Restorer {
 public:
  Restorer(zk::Client& client, std::string root, const RestoreOptions& options, RestoreStats* stats)
      : client_(client), root_(std::move(root)), options_(options), stats_(*stats) {
    batch_limit_ =
        static_cast<size_t>(static_cast<double>(options.max_request_bytes) * options.batch_fill);
  }

  // Every entry point ends here: after a failure, the batches still in
  // flight are waited for, so that the counts say what the target holds.
  Status Run(RecordStream& source) { return Settled(RunAll(source)); }

  // Whether the target subtree holds no node below its root (/zookeeper
  // aside); `root` gets the root node when it exists. A target these reads
  // fail on (NOAUTH, a lost connection) counts as not empty: the general
  // path reads it again and reports what is wrong.
  bool TargetIsEmpty(std::optional<Record>* root) {
    auto children = client_.GetChildren2(root_).get();
    if (!children.ok()) return zk::ErrorCodeOf(children.status()) == ErrorCode::NONODE;
    // The server's own subtree, which the sources leave out of a tree rooted above it.
    if (root_ == "/") std::erase(children->children, "zookeeper");
    if (!children->children.empty()) return false;
    Result<std::optional<Record>> read = ReadTarget("/");
    if (!read.ok()) return false;
    *root = std::move(*read);
    return true;
  }

  // Into an empty target: `source` read on a thread of its own, each record
  // planned as it arrives (the target's root compared, every other node
  // created).
  Status Stream(const SourceSpec& source, const SourceOptions& source_options, SourceInfo* info,
                const std::optional<Record>& target_root) {
    RecordQueue queue;
    std::thread reader([&] {
      queue.Close(ReadLiveSource(
          source, source_options, [&](Record record) { return queue.Push(std::move(record)); },
          info));
    });
    Status written = Settled(WriteStream(queue, target_root));
    queue.Cancel();  // a reader still walking stops at its next record
    reader.join();
    return written;
  }

 private:
  // Records from the source's walk (on its own thread) to the restorer: the
  // walk waits while kCopyQueueBytes are queued, the restorer while none are.
  class RecordQueue {
   public:
    // Fails (kCancelled) once the restorer stopped.
    Status Push(Record record) {
      const size_t bytes = record.MemoryBytes();
      std::unique_lock lock(mutex_);
      // A record larger than the whole budget still passes, alone.
      space_.wait(lock, [&] {
        return cancelled_ || queued_bytes_ == 0 || queued_bytes_ + bytes <= kCopyQueueBytes;
      });
      if (cancelled_) return Status::Cancelled("the copy stopped writing");
      queued_bytes_ += bytes;
      records_.push_back({std::move(record), bytes});
      ready_.notify_one();
      return Status::Ok();
    }
    // The reader is done; `end` is how its walk ended.
    void Close(Status end) {
      std::lock_guard lock(mutex_);
      closed_ = true;
      end_ = std::move(end);
      ready_.notify_one();
    }
    void Cancel() {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      space_.notify_all();
    }
    // The next record; nullopt once a walk that succeeded handed out all.
    Result<std::optional<Record>> Pop() {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return !records_.empty() || closed_; });
      if (records_.empty()) {
        if (!end_.ok()) return end_;
        return std::optional<Record>();
      }
      std::optional<Record> record(std::move(records_.front().first));
      queued_bytes_ -= records_.front().second;
      records_.pop_front();
      space_.notify_one();
      return record;
    }

   private:
    std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::deque<std::pair<Record, size_t>> records_;  // with their MemoryBytes
    size_t queued_bytes_ = 0;
    bool closed_ = false;
    bool cancelled_ = false;
    Status end_;
  };

  Status RunAll(RecordStream& source) {
    // --atomic writes nothing outside its one transaction: the missing
    // ancestors are its first ops.
    ZKA_RETURN_IF_ERROR(options_.atomic ? PlanAncestors() : CreateAncestors());
    SourceOptions read;
    read.read_acl = options_.restore_acl;
    read.stop_requested = options_.stop_requested;
    ZKA_ASSIGN_OR_RETURN(auto target, OpenLiveTree(client_, root_, read, nullptr));
    ObservedStream observed(source, [&](const Record& record) { ObserveSequence(record); });
    DiffCounts counts;
    ZKA_RETURN_IF_ERROR(Diff(
        *target, observed, RestoreDiffOptions(options_),
        [&](const DiffRow& row) { return Consider(row); }, &counts));
    stats_.unreadable = counts.unreadable;
    if (options_.atomic) return RunAtomic();
    return Complete();
  }

  // After a failure: waits for the batches still in flight, counting those
  // that applied; those whose outcome stays unknown (the connection dropped
  // with them in flight, and they were not read again) are counted as such.
  Status Settled(Status status) {
    if (status.ok()) return status;
    while (!in_flight_.empty()) {
      InFlight done = std::move(in_flight_.front());
      in_flight_.pop_front();
      Result<std::vector<zk::OpResult>> reply = done.reply.get();
      if (!reply.ok()) {
        ++stats_.unknown_batches;
      } else if (std::all_of(reply->begin(), reply->end(), [](const zk::OpResult& result) {
                   return result.error == ErrorCode::OK;
                 })) {
        Count(done.batch);
      }
    }
    stats_.unknown_batches += static_cast<int64_t>(lost_.size());
    lost_.clear();
    stats_.temporary_acls_left = static_cast<int64_t>(temporary_acls_.size());
    if (!temporary_acls_.empty()) stats_.first_temporary_acl = *temporary_acls_.begin();
    return status;
  }

  // Fails once a stop was requested: no write is sent after it.
  Status CheckStop() const {
    if (options_.stop_requested && options_.stop_requested()) return StoppedBySignal();
    return Status::Ok();
  }

  Status WriteStream(RecordQueue& queue, const std::optional<Record>& target_root) {
    const DiffOptions diff = RestoreDiffOptions(options_);
    bool ancestors_created = false;
    // The walk hands out a parent before its children.
    UnreadableSubtrees unreadable;
    for (;;) {
      ZKA_ASSIGN_OR_RETURN(std::optional<Record> record, queue.Pop());
      if (!record) break;
      if (unreadable.Covers(record->path) || unreadable.Add(*record, /*in_old=*/false)) {
        stats_.unreadable = unreadable.count();
        continue;
      }
      ObserveSequence(*record);
      // Nothing is written before the source's root has been read.
      if (!ancestors_created) ZKA_RETURN_IF_ERROR(CreateAncestors());
      ancestors_created = true;
      if (record->path == "/" && target_root) {
        Status status;
        CompareRecords(*target_root, *record, diff, [&](Change change) {
          if (status.ok()) status = Consider({change, &*target_root, &*record});
        });
        ZKA_RETURN_IF_ERROR(status);
      } else {
        ZKA_RETURN_IF_ERROR(Consider({Change::kAdded, nullptr, &*record}));
      }
    }
    if (!ancestors_created) ZKA_RETURN_IF_ERROR(CreateAncestors());
    return Complete();
  }

  // One difference (old = target, new = source) into the plan, if restore acts on it.
  Status Consider(const DiffRow& row) {
    if (options_.require_acl && row.new_record && !row.new_record->acl) {
      return Status(StatusCode::kInvalidArgument,
                    "the source has no ACL for " + row.new_record->path +
                        " (snapshot it with --acl, or restore without requiring ACLs)");
    }
    return Acts(row, options_, &stats_) ? Plan(row) : Status::Ok();
  }

  // Everything planned written: batches, re-planning, deletes, then ACLs.
  Status Complete() {
    ZKA_RETURN_IF_ERROR(Flush());
    ZKA_RETURN_IF_ERROR(Drain());
    ZKA_RETURN_IF_ERROR(ReplanFailed());
    // Children before parents: the reverse of path order.
    std::reverse(deletes_.begin(), deletes_.end());
    for (Intent& intent : deletes_) {
      zk::Op op = zk::Op::Delete(AbsolutePath(root_, intent.path), intent.version);
      ZKA_RETURN_IF_ERROR(Add(std::move(op), std::move(intent)));
    }
    deletes_.clear();
    ZKA_RETURN_IF_ERROR(Flush());
    ZKA_RETURN_IF_ERROR(Drain());
    ZKA_RETURN_IF_ERROR(ReplanFailed());
    // Before the final ACLs: a temporary one still lets the restorer create.
    ZKA_RETURN_IF_ERROR(AdvanceSequences());
    return ApplyAcls();
  }

  // Notes the highest sequence suffix among a parent's source children.
  void ObserveSequence(const Record& record) {
    if (record.kind == znodes::NodeKind::kEphemeral) return;  // not restored
    const size_t slash = record.path.rfind('/');
    if (record.path == "/" || slash == std::string::npos) return;
    const std::optional<int64_t> suffix =
        SequenceSuffix(std::string_view(record.path).substr(slash + 1));
    if (!suffix) return;
    int64_t& high = sequence_high_[slash == 0 ? "/" : record.path.substr(0, slash)];
    high = std::max(high, *suffix);
  }

  // Advances each noted parent's cversion past its highest sequence suffix
  // (see kMaxSequenceAdvance). What it cannot do becomes a warning: the
  // tree itself is restored.
  Status AdvanceSequences() {
    for (const auto& [parent, high] : sequence_high_) {
      ZKA_RETURN_IF_ERROR(CheckStop());
      const std::string absolute = AbsolutePath(root_, parent);
      auto stat = client_.Exists(absolute).get();
      if (!stat.ok()) return stat.status().WithContext("reading " + absolute);
      if (!stat->has_value()) continue;
      // The next sequential create is named after the cversion, so it must exceed `high`.
      const int64_t needed = high + 1 - (*stat)->cversion;
      if (needed <= 0) continue;
      const std::string advice = "the next sequential create under " + absolute +
                                 " would get sequence number " + std::to_string((*stat)->cversion) +
                                 ", not past its highest restored one, " + std::to_string(high) +
                                 "; creating and deleting a child there " + std::to_string(needed) +
                                 " times moves it past";
      if (needed > kMaxSequenceAdvance) {
        stats_.warnings.push_back(advice + " (more than the " +
                                  std::to_string(kMaxSequenceAdvance) + " a restore does)");
        continue;
      }
      const std::string placeholder =
          (absolute == "/" ? "/" : absolute + "/") + std::string(kSequencePlaceholder);
      const int64_t pairs_per_batch = std::max(1, options_.max_ops_per_batch / 2);
      std::deque<std::future<Result<std::vector<zk::OpResult>>>> replies;
      Status failed;  // the first failure; the batches after it are still waited for
      auto settle_oldest = [&] {
        Status status = MultiStatus(replies.front().get());
        replies.pop_front();
        if (failed.ok()) failed = std::move(status);
      };
      for (int64_t done = 0; done < needed && failed.ok();) {
        std::vector<zk::Op> ops;
        for (int64_t i = 0; i < pairs_per_batch && done < needed; ++i, done += 2) {
          ops.push_back(zk::Op::Create(placeholder, "", zk::OpenAclUnsafe()));
          ops.push_back(zk::Op::Delete(placeholder));
        }
        replies.push_back(client_.Multi(std::move(ops)));
        if (replies.size() >= static_cast<size_t>(std::max(1, options_.batches_in_flight))) {
          settle_oldest();
        }
      }
      while (!replies.empty()) settle_oldest();
      if (!failed.ok()) stats_.warnings.push_back(advice + ", which failed: " + failed.ToString());
    }
    sequence_high_.clear();
    return Status::Ok();
  }

  // A multi reply as one status: its first failed op's error.
  static Status MultiStatus(const Result<std::vector<zk::OpResult>>& reply) {
    if (!reply.ok()) return reply.status();
    for (const zk::OpResult& result : *reply) {
      if (result.error != ErrorCode::OK && result.error != ErrorCode::RUNTIMEINCONSISTENCY) {
        return Status(StatusCode::kRemote, std::string(zk::ErrorCodeName(result.error)),
                      static_cast<int32_t>(result.error));
      }
    }
    return Status::Ok();
  }

  Status CreateAncestors() {
    for (size_t slash = root_.find('/', 1); slash != std::string::npos;
         slash = root_.find('/', slash + 1)) {
      const std::string ancestor = root_.substr(0, slash);
      auto created = client_.Create(ancestor, "", options_.default_acl).get();
      if (!created.ok() && zk::ErrorCodeOf(created.status()) != ErrorCode::NODEEXISTS) {
        return created.status().WithContext("creating the target's ancestor " + ancestor);
      }
    }
    return Status::Ok();
  }

  // The ancestors of the root that do not exist, as creates into the plan.
  Status PlanAncestors() {
    bool missing = false;
    for (size_t slash = root_.find('/', 1); slash != std::string::npos;
         slash = root_.find('/', slash + 1)) {
      const std::string ancestor = root_.substr(0, slash);
      if (!missing) {
        auto exists = client_.Exists(ancestor).get();
        if (!exists.ok()) {
          return exists.status().WithContext("reading the target's ancestor " + ancestor);
        }
        missing = !exists->has_value();
      }
      if (missing) {
        Record record;
        record.path = ancestor;
        record.data = "";
        ZKA_RETURN_IF_ERROR(
            Add(zk::Op::Create(ancestor, "", options_.default_acl, zk::CreateMode::kPersistent),
                {.path = ancestor, .desired = std::move(record), .ancestor = true}));
      }
    }
    return Status::Ok();
  }

  // One acted-on difference into ops.
  Status Plan(const DiffRow& row) {
    switch (row.change) {
      case Change::kAdded:
        return PlanCreate(*row.new_record);
      case Change::kRemoved:
        deletes_.push_back({row.old_record->path, std::nullopt,
                            row.old_record->stat ? row.old_record->stat->version : -1});
        return Status::Ok();
      case Change::kData: {
        const Record& desired = *row.new_record;
        zk::Op op = zk::Op::SetData(AbsolutePath(root_, desired.path), *desired.data,
                                    row.old_record->stat ? row.old_record->stat->version : -1);
        op.null_data = desired.null_data;
        return Add(std::move(op), {desired.path, desired});
      }
      case Change::kAcl:
        ZKA_RETURN_IF_ERROR(CheckNotRedacted(*row.new_record));
        DeferAcl({row.new_record->path, *row.new_record->acl,
                  row.old_record->stat ? row.old_record->stat->aversion : -1});
        return Status::Ok();
      default:
        return Status::Ok();
    }
  }

  // A hidden digest hash cannot be written back: it would lock everyone out.
  static Status CheckNotRedacted(const Record& desired) {
    for (const zk::Acl& entry : *desired.acl) {
      if (IsRedactedDigest(entry)) {
        return Status(StatusCode::kInvalidData,
                      "cannot restore the ACL of " + desired.path + ": its source was read " +
                          "without ADMIN permission, so ZooKeeper hid the digest of '" + entry.id +
                          "'; read the source with credentials that have ADMIN "
                          "there, or use --no-acl");
      }
    }
    return Status::Ok();
  }

  Status PlanCreate(const Record& desired) {
    if (!desired.data) {
      return Status(StatusCode::kInvalidData,
                    "the source has no data for " + desired.path +
                        " (a --no-data snapshot, or a node it could not read" +
                        (desired.error.empty() ? "" : ": " + desired.error) +
                        "): restore needs every node's bytes");
    }
    ZKA_ASSIGN_OR_RETURN(zk::CreateMode mode, CreateModeOf(desired));
    std::vector<zk::Acl> acl = options_.default_acl;
    if (options_.restore_acl && desired.acl) {
      ZKA_RETURN_IF_ERROR(CheckNotRedacted(desired));
      acl = *desired.acl;
      const bool has_children = desired.stat && desired.stat->num_children > 0;
      if (has_children && options_.atomic && !GrantsCreate(acl) && atomic_refusal_.ok()) {
        // Reported once the plan is complete, after a size refusal if any.
        atomic_refusal_ = Status(
            StatusCode::kNotImplemented,
            "--atomic cannot restore " + desired.path +
                ": its ACL grants no one CREATE, yet it has children in the source, and one "
                "transaction cannot set an ACL after creating them (ZooKeeper's multi has no "
                "setACL); nothing was written (without --atomic, such ACLs are set after the "
                "subtree exists)");
      }
      if (has_children && !options_.atomic && !LetsAnyoneCreate(acl)) {
        if (!options_.has_credentials) {
          return Status(StatusCode::kInvalidArgument,
                        "the source's ACL of " + desired.path +
                            " lets the world create no children, so it is created with a "
                            "temporary ACL naming the restorer until its subtree exists, but "
                            "the restorer has no identity (--auth, --auth-file, $ZKARROW_AUTH, "
                            "--sasl, a TLS client certificate); give one, or restore with "
                            "--no-acl");
        }
        DeferAcl({desired.path, std::move(acl), 0});
        acl = {TemporaryAcl()};
      }
    }
    zk::Op op = zk::Op::Create(AbsolutePath(root_, desired.path), *desired.data, std::move(acl),
                               mode, desired.ttl_ms.value_or(0));
    op.null_data = desired.null_data;
    return Add(std::move(op), {desired.path, desired});
  }

  Status Add(zk::Op op, Intent intent) {
    const size_t bytes = zk::MultiOpEncodedBytes(op);
    const size_t alone = bytes + zk::kMultiEndBytes + zk::kRequestPacketOverhead;
    if (!options_.atomic && alone > options_.max_request_bytes) {
      return WriteAlone(std::move(op), std::move(intent));
    }
    if (!options_.atomic &&
        (current_.bytes + bytes > batch_limit_ ||
         current_.ops.size() >= static_cast<size_t>(options_.max_ops_per_batch))) {
      ZKA_RETURN_IF_ERROR(Flush());
    }
    current_.bytes += bytes;
    ++planned_ops_;
    if (options_.atomic && current_.bytes > options_.max_request_bytes) {
      // Refused in the end: only the size is still counted, not the ops kept.
      current_.ops.clear();
      current_.intents.clear();
      return Status::Ok();
    }
    current_.ops.push_back(std::move(op));
    current_.intents.push_back(std::move(intent));
    return Status::Ok();
  }

  // An op that fits in no multi (the multi's headers take it past
  // jute.maxbuffer) may still fit a request of its own, as the node's own
  // create did on the source: sent alone, after the batches before it (one
  // session's requests apply in order), and settled like a batch.
  Status WriteAlone(zk::Op op, Intent intent) {
    // Alone, an op is its multi encoding without the MultiHeader before it
    // (the size of the closing one), in a packet with xid and type.
    const size_t request =
        zk::MultiOpEncodedBytes(op) - zk::kMultiEndBytes + zk::kRequestPacketOverhead;
    if (request > options_.max_request_bytes) {
      return Status::OutOfRange("writing " + op.path + " takes a request of " +
                                std::to_string(request) + " bytes; the server accepts at most " +
                                std::to_string(options_.max_request_bytes) + " (jute.maxbuffer)");
    }
    ZKA_RETURN_IF_ERROR(Flush());
    ZKA_RETURN_IF_ERROR(CheckStop());
    Status sent;
    if (op.kind == zk::Op::Kind::kCreate) {
      sent = client_.Create(op.path, op.data, op.acl, op.mode, op.ttl_ms).get().status();
    } else if (op.kind == zk::Op::Kind::kSetData) {
      sent = client_.SetData(op.path, op.data, op.version).get().status();
    } else {
      return Status::Internal("only creates and data updates can outgrow a multi, not " + op.path);
    }
    ++stats_.batches;
    stats_.request_bytes += static_cast<int64_t>(request);
    if (options_.progress) options_.progress(stats_);
    Batch batch;
    batch.ops.push_back(std::move(op));
    batch.intents.push_back(std::move(intent));
    batch.bytes = request;
    // The server's answer as the one result of a multi (a conflict is
    // re-planned); a lost connection or a local failure as a multi's.
    const ErrorCode error = zk::ErrorCodeOf(sent);
    if (sent.ok() || (sent.code() == StatusCode::kRemote && error != ErrorCode::CONNECTIONLOSS)) {
      return Settle(batch, std::vector<zk::OpResult>{{.error = sent.ok() ? ErrorCode::OK : error}});
    }
    return Settle(batch, sent);
  }

  Status Flush() {
    if (current_.ops.empty()) return Status::Ok();
    ZKA_RETURN_IF_ERROR(CheckStop());
    while (in_flight_.size() >= static_cast<size_t>(std::max(1, options_.batches_in_flight))) {
      ZKA_RETURN_IF_ERROR(ReapOldest());
    }
    InFlight sent;
    sent.batch = std::move(current_);
    current_ = Batch{};
    sent.reply = client_.Multi(sent.batch.ops);
    ++stats_.batches;
    stats_.request_bytes += static_cast<int64_t>(sent.batch.bytes);
    in_flight_.push_back(std::move(sent));
    if (options_.progress) options_.progress(stats_);
    return Status::Ok();
  }

  Status Drain() {
    while (!in_flight_.empty()) ZKA_RETURN_IF_ERROR(ReapOldest());
    return Status::Ok();
  }

  Status ReapOldest() {
    InFlight done = std::move(in_flight_.front());
    in_flight_.pop_front();
    return Settle(done.batch, done.reply.get());
  }

  // Counts an applied batch, or queues its nodes for re-planning.
  Status Settle(Batch& batch, const Result<std::vector<zk::OpResult>>& reply) {
    if (!reply.ok()) {
      // The connection dropped with the batch in flight: it may or may not
      // have been applied. Reading the nodes again tells.
      if (zk::ErrorCodeOf(reply.status()) == ErrorCode::CONNECTIONLOSS) {
        ++stats_.replanned_batches;
        ++round_requeued_;
        ++round_lost_;
        round_largest_lost_ = std::max(round_largest_lost_, batch.bytes);
        lost_.push_back(std::move(batch));
        return Status::Ok();
      }
      ++stats_.unknown_batches;
      return reply.status().WithContext("writing " + batch.ops.front().path + " and the " +
                                        std::to_string(batch.ops.size() - 1) + " ops after it");
    }
    for (size_t i = 0; i < reply->size(); ++i) {
      const ErrorCode error = (*reply)[i].error;
      if (error == ErrorCode::OK || error == ErrorCode::RUNTIMEINCONSISTENCY) continue;
      switch (error) {
        // Someone else changed these nodes since the plan was made (or an
        // earlier batch it depended on failed): plan them again.
        case ErrorCode::NODEEXISTS:
        case ErrorCode::NONODE:
        case ErrorCode::BADVERSION:
        case ErrorCode::NOTEMPTY:
          return Requeue(batch);
        default:
          return OpError(batch.ops[i], error);
      }
    }
    Count(batch);
    return Status::Ok();
  }

  // An applied batch into the counts.
  void Count(const Batch& batch) {
    for (size_t i = 0; i < batch.ops.size(); ++i) {
      const zk::Op& op = batch.ops[i];
      switch (op.kind) {
        case zk::Op::Kind::kCreate:
          ++stats_.created;
          if (!batch.intents[i].ancestor) CountNodeWritten(batch.intents[i].path);
          if (op.acl.size() == 1 && op.acl[0] == TemporaryAcl()) temporary_acls_.insert(op.path);
          break;
        case zk::Op::Kind::kSetData:
          ++stats_.updated;
          CountNodeWritten(batch.intents[i].path);
          break;
        case zk::Op::Kind::kDelete:
          ++stats_.deleted;
          break;
        case zk::Op::Kind::kCheck:
          break;
      }
    }
  }

  // A source node (relative path) that a confirmed write of this run wrote:
  // into RestoreStats::nodes_written, unless a write before counted it. Of
  // the nodes written several times (created or set, then given an ACL),
  // only those with a deferred ACL are remembered.
  void CountNodeWritten(const std::string& path) {
    last_counted_ = path;
    const auto acl = acl_nodes_.find(path);
    if (acl != acl_nodes_.end()) {
      if (acl->second) return;
      acl->second = true;
    }
    ++stats_.nodes_written;
  }

  // An ACL for the last phase. Its node may already have been counted: a
  // node's ACL row comes right after its data row, whose setData, too large
  // for a multi, went alone and was confirmed at once.
  void DeferAcl(DeferredAcl acl) {
    const auto [node, added] = acl_nodes_.try_emplace(acl.path, false);
    if (added && acl.path == last_counted_) node->second = true;
    acls_.push_back(std::move(acl));
  }

  // Whether a batch whose connection dropped in flight applied: every node
  // it creates or sets holds its data at the version the op leaves, all of
  // them written by one transaction (one mzxid), and every node it deletes
  // is gone. A multi applies whole or not at all.
  Result<bool> Applied(const Batch& batch) {
    // All read at once (pipelined): a batch holds up to --batch-ops nodes.
    std::vector<std::future<Result<zk::DataResult>>> reads;
    for (const zk::Op& op : batch.ops) {
      if (op.kind != zk::Op::Kind::kCheck) reads.push_back(client_.GetData(op.path));
    }
    std::optional<int64_t> mzxid;
    size_t next = 0;
    for (const zk::Op& op : batch.ops) {
      if (op.kind == zk::Op::Kind::kCheck) continue;
      auto data = reads[next++].get();
      if (!data.ok() && zk::ErrorCodeOf(data.status()) != ErrorCode::NONODE) {
        return data.status().WithContext("re-reading " + op.path);
      }
      if (op.kind == zk::Op::Kind::kDelete) {
        if (data.ok()) return false;
        continue;
      }
      if (!data.ok() || data->data != op.data || data->null_data != op.null_data) return false;
      const int32_t version = op.kind == zk::Op::Kind::kCreate ? 0 : op.version + 1;
      if (op.version >= 0 || op.kind == zk::Op::Kind::kCreate) {
        if (data->stat.version != version) return false;
      }
      if (mzxid && *mzxid != data->stat.mzxid) return false;
      mzxid = data->stat.mzxid;
    }
    return true;
  }

  Status Requeue(Batch& batch) {
    ++stats_.replanned_batches;
    ++round_requeued_;
    for (Intent& intent : batch.intents) failed_.push_back(std::move(intent));
    return Status::Ok();
  }

  static Status OpError(const zk::Op& op, ErrorCode error) {
    const char* verb = op.kind == zk::Op::Kind::kCreate    ? "creating "
                       : op.kind == zk::Op::Kind::kDelete  ? "deleting "
                       : op.kind == zk::Op::Kind::kSetData ? "setting the data of "
                                                           : "checking ";
    const bool ttl = op.kind == zk::Op::Kind::kCreate &&
                     (op.mode == zk::CreateMode::kPersistentWithTtl ||
                      op.mode == zk::CreateMode::kPersistentSequentialWithTtl);
    return ActionError(verb + op.path, error, ttl);
  }

  static Status ActionError(const std::string& action, ErrorCode error, bool ttl_create) {
    std::string message = action + ": " + std::string(zk::ErrorCodeName(error)) + " (" +
                          std::string(zk::ErrorCodeDescription(error)) + ")";
    if (error == ErrorCode::UNIMPLEMENTED && ttl_create) {
      message +=
          ": the target server refuses TTL nodes; ZooKeeper creates them only with "
          "extendedTypesEnabled=true (zookeeper.extendedTypesEnabled)";
    } else if (error == ErrorCode::NOAUTH) {
      message +=
          ": the restorer's credentials (--auth, --auth-file) do not allow this on the "
          "target; an ACL there (or on the parent) denies it";
    }
    return Status(StatusCode::kRemote, std::move(message), static_cast<int32_t>(error));
  }

  // The current state of a target node (nullopt: absent).
  Result<std::optional<Record>> ReadTarget(const std::string& path) {
    const std::string absolute = AbsolutePath(root_, path);
    auto data = client_.GetData(absolute).get();
    if (!data.ok()) {
      if (zk::ErrorCodeOf(data.status()) == ErrorCode::NONODE) return std::optional<Record>();
      return data.status().WithContext("re-reading " + absolute);
    }
    Record record;
    record.path = path;
    record.stat = data->stat;
    record.kind = data->stat.ephemeral_owner != 0 ? znodes::NodeKind::kEphemeral
                                                  : znodes::NodeKind::kPersistent;
    record.data = std::move(data->data);
    record.null_data = data->null_data;
    if (options_.restore_acl) {
      auto acl = client_.GetAcl(absolute).get();
      if (!acl.ok()) {
        if (zk::ErrorCodeOf(acl.status()) == ErrorCode::NONODE) return std::optional<Record>();
        return acl.status().WithContext("re-reading the ACL of " + absolute);
      }
      record.acl = std::move(acl->acls);
    }
    return std::optional<Record>(std::move(record));
  }

  // The nodes of failed batches, read again and planned anew, until every
  // batch applied or the rounds run out.
  Status ReplanFailed() {
    for (int round = 0; !failed_.empty() || !lost_.empty(); ++round) {
      // A server drops the connection of a client whose request exceeds
      // its jute.maxbuffer: when every failed batch of the last round lost
      // its connection, the batches are likely too large for the target,
      // and another run would fail the same way.
      const bool all_lost = round_requeued_ > 0 && round_lost_ == round_requeued_;
      const size_t largest_lost = round_largest_lost_;
      round_requeued_ = round_lost_ = 0;
      round_largest_lost_ = 0;
      if (round >= options_.max_replan_rounds && all_lost) {
        return Status(
            StatusCode::kRemote,
            "the target dropped the connection on every batch of the last of " +
                std::to_string(round) + " re-planning rounds (the largest " +
                std::to_string(largest_lost) +
                " bytes; batches are planned for a jute.maxbuffer of " +
                std::to_string(options_.max_request_bytes) +
                " bytes): a server drops a request larger than its jute.maxbuffer, so the "
                "target's is probably smaller; give it with --max-request-bytes (the servers' "
                "-Djute.maxbuffer) and run again");
      }
      // Lost batches that applied are counted, not planned again.
      std::vector<Batch> lost = std::move(lost_);
      lost_.clear();
      for (size_t i = 0; i < lost.size(); ++i) {
        Result<bool> applied = Applied(lost[i]);
        if (!applied.ok()) {
          // Unread, they stay of unknown outcome.
          for (size_t j = i; j < lost.size(); ++j) lost_.push_back(std::move(lost[j]));
          return applied.status();
        }
        if (*applied) {
          Count(lost[i]);
        } else {
          for (Intent& intent : lost[i].intents) failed_.push_back(std::move(intent));
        }
      }
      if (failed_.empty()) continue;
      if (round >= options_.max_replan_rounds) {
        return Status(
            StatusCode::kConflict,
            "the target kept changing under the restore: " + std::to_string(failed_.size()) +
                " nodes (first " + failed_[0].path + ") still conflicted after " +
                std::to_string(round) + " re-planning rounds; run it again");
      }
      std::vector<Intent> intents = std::move(failed_);
      failed_.clear();
      std::sort(intents.begin(), intents.end(),
                [](const Intent& a, const Intent& b) { return a.path < b.path; });
      std::vector<Intent> removals;
      const DiffOptions diff = RestoreDiffOptions(options_);
      for (Intent& intent : intents) {
        ZKA_ASSIGN_OR_RETURN(std::optional<Record> current, ReadTarget(intent.path));
        if (!intent.desired) {
          if (current) ZKA_RETURN_IF_ERROR(PlanSubtreeRemoval(intent.path, &removals));
          continue;
        }
        const Record& desired = *intent.desired;
        if (!current) {
          ZKA_RETURN_IF_ERROR(PlanCreate(desired));
          continue;
        }
        Status status;
        CompareRecords(*current, desired, diff, [&](Change change) {
          DiffRow row{change, &*current, &desired};
          if (status.ok() && Acts(row, options_, &stats_)) status = Plan(row);
        });
        ZKA_RETURN_IF_ERROR(status);
      }
      ZKA_RETURN_IF_ERROR(Flush());
      ZKA_RETURN_IF_ERROR(Drain());
      std::reverse(removals.begin(), removals.end());
      for (Intent& intent : removals) {
        zk::Op op = zk::Op::Delete(AbsolutePath(root_, intent.path), intent.version);
        ZKA_RETURN_IF_ERROR(Add(std::move(op), std::move(intent)));
      }
      ZKA_RETURN_IF_ERROR(Flush());
      ZKA_RETURN_IF_ERROR(Drain());
    }
    return Status::Ok();
  }

  // A node that should not exist, with whatever children someone added
  // meanwhile (none of which the source has either): deletes in path order.
  Status PlanSubtreeRemoval(const std::string& path, std::vector<Intent>* removals) {
    const std::string absolute = AbsolutePath(root_, path);
    auto children = client_.GetChildren2(absolute).get();
    if (!children.ok()) {
      if (zk::ErrorCodeOf(children.status()) == ErrorCode::NONODE) return Status::Ok();
      return children.status().WithContext("re-reading " + absolute);
    }
    removals->push_back({path, std::nullopt, children->stat.version});
    std::sort(children->children.begin(), children->children.end());
    for (const std::string& child : children->children) {
      ZKA_RETURN_IF_ERROR(
          PlanSubtreeRemoval(path == "/" ? "/" + child : path + "/" + child, removals));
    }
    return Status::Ok();
  }

  // The last phase: ACLs, deepest first, each guarded by the ACL version
  // read; a node whose ACL changed meanwhile is read again.
  Status ApplyAcls() {
    std::sort(acls_.begin(), acls_.end(),
              [](const DeferredAcl& a, const DeferredAcl& b) { return a.path > b.path; });
    for (int round = 0; !acls_.empty(); ++round) {
      if (round >= options_.max_replan_rounds) {
        return Status(StatusCode::kConflict, "the ACL of " + acls_[0].path +
                                                 " kept changing under the restore; run it again");
      }
      std::vector<DeferredAcl> retry;
      const size_t window = static_cast<size_t>(std::max(1, options_.max_ops_per_batch));
      for (size_t begin = 0; begin < acls_.size(); begin += window) {
        ZKA_RETURN_IF_ERROR(CheckStop());
        const size_t end = std::min(acls_.size(), begin + window);
        std::vector<std::future<Result<zk::Stat>>> replies;
        for (size_t i = begin; i < end; ++i) {
          replies.push_back(
              client_.SetAcl(AbsolutePath(root_, acls_[i].path), acls_[i].acl, acls_[i].aversion));
        }
        for (size_t i = begin; i < end; ++i) {
          Result<zk::Stat> reply = replies[i - begin].get();
          if (reply.ok()) {
            AclSet(acls_[i].path);
            continue;
          }
          const ErrorCode error = zk::ErrorCodeOf(reply.status());
          if (error == ErrorCode::BADVERSION || error == ErrorCode::CONNECTIONLOSS) {
            auto current = client_.GetAcl(AbsolutePath(root_, acls_[i].path)).get();
            if (!current.ok()) {
              return current.status().WithContext("re-reading the ACL of " + acls_[i].path);
            }
            if (!AclsEquivalent(current->acls, acls_[i].acl)) {
              retry.push_back({acls_[i].path, acls_[i].acl, current->stat.aversion});
            } else if (error == ErrorCode::CONNECTIONLOSS) {
              // The ACL the lost request set, most likely.
              AclSet(acls_[i].path);
            } else {
              // Someone else's, or an earlier entry's for the same node.
              temporary_acls_.erase(AbsolutePath(root_, acls_[i].path));
            }
            continue;
          }
          return ActionError("setting the ACL of " + AbsolutePath(root_, acls_[i].path), error,
                             false);
        }
      }
      acls_ = std::move(retry);
    }
    return Status::Ok();
  }

  // A deferred ACL confirmed set on its node (relative path).
  void AclSet(const std::string& path) {
    ++stats_.acls_set;
    CountNodeWritten(path);
    temporary_acls_.erase(AbsolutePath(root_, path));
  }

  Status RunAtomic() {
    // One transaction cannot hold setACL (ZooKeeper's multi has no such op).
    if (!acls_.empty()) {
      return Status(StatusCode::kNotImplemented,
                    "--atomic cannot change the ACL of existing nodes (first " + acls_[0].path +
                        "): ZooKeeper's multi has no setACL; nothing was written");
    }
    std::reverse(deletes_.begin(), deletes_.end());
    for (Intent& intent : deletes_) {
      zk::Op op = zk::Op::Delete(AbsolutePath(root_, intent.path), intent.version);
      ZKA_RETURN_IF_ERROR(Add(std::move(op), std::move(intent)));
    }
    if (current_.bytes > options_.max_request_bytes) {
      return Status::OutOfRange(
          "--atomic: the change set is " + std::to_string(current_.bytes) + " bytes in " +
          std::to_string(planned_ops_) + " operations; one ZooKeeper request may carry at most " +
          std::to_string(options_.max_request_bytes) +
          " bytes (jute.maxbuffer), so it cannot be applied as one transaction; nothing was "
          "written (without --atomic it is applied in batches)");
    }
    ZKA_RETURN_IF_ERROR(atomic_refusal_);
    if (current_.ops.empty()) return Status::Ok();
    Batch batch = std::move(current_);
    current_ = Batch{};
    ++stats_.batches;
    stats_.request_bytes += static_cast<int64_t>(batch.bytes);
    Result<std::vector<zk::OpResult>> reply = client_.Multi(batch.ops).get();
    if (!reply.ok()) {
      ++stats_.unknown_batches;
      return reply.status().WithContext(
          "--atomic: the transaction's outcome is unknown (all of it applied, or none)");
    }
    std::vector<zk::OpResult> results = std::move(*reply);
    for (size_t i = 0; i < results.size(); ++i) {
      const ErrorCode error = results[i].error;
      if (error == ErrorCode::OK || error == ErrorCode::RUNTIMEINCONSISTENCY) continue;
      return OpError(batch.ops[i], error)
          .WithContext("--atomic: the transaction was rejected, nothing was changed");
    }
    ZKA_RETURN_IF_ERROR(Settle(batch, results));
    return AdvanceSequences();
  }

  zk::Client& client_;
  std::string root_;
  const RestoreOptions& options_;
  RestoreStats& stats_;
  size_t batch_limit_ = 0;
  Batch current_;
  int64_t planned_ops_ = 0;  // for --atomic's refusal: all ops, kept or not
  Status atomic_refusal_;    // --atomic: a node its one transaction cannot write
  std::deque<InFlight> in_flight_;
  // Batches whose connection dropped in flight, not yet read again: they
  // applied whole or not at all.
  std::vector<Batch> lost_;
  // Of the current re-planning round: batches re-queued, those of them
  // whose connection dropped, and the largest of these.
  int64_t round_requeued_ = 0;
  int64_t round_lost_ = 0;
  size_t round_largest_lost_ = 0;
  std::vector<Intent> failed_;
  std::vector<Intent> deletes_;
  std::vector<DeferredAcl> acls_;
  // Nodes (relative) with a deferred ACL -> whether a confirmed write of
  // this run counted them in RestoreStats::nodes_written already.
  std::map<std::string, bool> acl_nodes_;
  // The node (relative) a confirmed write counted last.
  std::string last_counted_;
  // Absolute paths of nodes created with TemporaryAcl() whose own ACL is not set yet.
  std::set<std::string> temporary_acls_;
  // Parent (relative) -> highest sequence suffix among its source children.
  std::map<std::string, int64_t> sequence_high_;
};

// The addresses a connect string's servers resolve to, as "address port"
// (a host that does not resolve stands for itself).
std::set<std::string> ServerAddresses(const zk::ConnectString& connect) {
  std::set<std::string> addresses;
  for (const zk::HostPort& server : connect.servers) {
    const std::string port = std::to_string(server.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found) != 0) {
      addresses.insert(server.host + " " + port);
      continue;
    }
    for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
      char host[NI_MAXHOST];
      if (::getnameinfo(info->ai_addr, info->ai_addrlen, host, sizeof(host), nullptr, 0,
                        NI_NUMERICHOST) == 0) {
        addresses.insert(std::string(host) + " " + port);
      }
    }
    ::freeaddrinfo(found);
  }
  return addresses;
}

}  // namespace

Status PlanRestore(RecordStream& target, RecordStream& source, const RestoreOptions& options,
                   const DiffSink& sink, RestoreStats* stats) {
  RestoreStats local;
  if (stats == nullptr) stats = &local;
  DiffCounts counts;
  ZKA_RETURN_IF_ERROR(Diff(
      target, source, RestoreDiffOptions(options),
      [&](const DiffRow& row) { return Acts(row, options, stats) ? sink(row) : Status::Ok(); },
      &counts));
  stats->unreadable = counts.unreadable;
  return Status::Ok();
}

Status Restore(RecordStream& source, zk::Client& client, const std::string& target_root,
               const RestoreOptions& options, RestoreStats* stats) {
  RestoreStats local;
  if (stats == nullptr) stats = &local;
  Restorer restorer(client, target_root, options, stats);
  return restorer.Run(source);
}

Status Copy(const SourceSpec& source, const SourceOptions& source_options, zk::Client& client,
            const std::string& target_root, const RestoreOptions& options, RestoreStats* stats,
            SourceInfo* info) {
  RestoreStats local;
  if (stats == nullptr) stats = &local;
  Restorer restorer(client, target_root, options, stats);
  std::optional<Record> root;
  if (!options.atomic && source.kind == SourceSpec::Kind::kLive) {
    if (restorer.TargetIsEmpty(&root)) return restorer.Stream(source, source_options, info, root);
  }
  ZKA_ASSIGN_OR_RETURN(auto records, OpenSource(source, source_options, info));
  return restorer.Run(*records);
}

namespace {

// A server address that the connect strings of `source` and `target` share,
// as "ADDRESS port PORT", or nullopt when they name different ensembles.
Result<std::optional<std::string>> SharedServer(const SourceSpec& source,
                                                const SourceSpec& target) {
  ZKA_ASSIGN_OR_RETURN(zk::ConnectString source_servers, zk::ParseConnectString(source.connect));
  ZKA_ASSIGN_OR_RETURN(zk::ConnectString target_servers, zk::ParseConnectString(target.connect));
  const std::set<std::string> source_addresses = ServerAddresses(source_servers);
  for (std::string address : ServerAddresses(target_servers)) {
    if (!source_addresses.contains(address)) continue;
    address.replace(address.rfind(' '), 1, " port ");
    return std::optional<std::string>(std::move(address));
  }
  return std::optional<std::string>();
}

}  // namespace

Status CheckSourceAndTargetApart(const SourceSpec& source, const SourceSpec& target,
                                 RestoreMode mode) {
  if (source.kind != SourceSpec::Kind::kLive || target.kind != SourceSpec::Kind::kLive) {
    return Status::Ok();
  }
  // The same subtree is harmless (nothing differs); only a target strictly
  // inside the source grows with every read, and only a mirror deletes what
  // the source lacks.
  if (target.root == source.root) return Status::Ok();
  const bool target_inside = RelativePath(source.root, target.root).has_value();
  const bool source_inside =
      mode == RestoreMode::kMirror && RelativePath(target.root, source.root).has_value();
  if (!target_inside && !source_inside) return Status::Ok();
  ZKA_ASSIGN_OR_RETURN(std::optional<std::string> shared, SharedServer(source, target));
  if (!shared) return Status::Ok();
  if (target_inside) {
    return Status(StatusCode::kInvalidArgument,
                  "the target " + target.text + " lies inside the source " + source.text +
                      " on the same ensemble (both reach " + *shared +
                      "): the copy would read what it writes, nesting the tree one level "
                      "deeper on every run; choose a target outside " +
                      source.root + ", or snapshot the source to a file and restore that");
  }
  return Status(StatusCode::kInvalidArgument,
                "the source " + source.text + " lies inside the target " + target.text +
                    " on the same ensemble (both reach " + *shared +
                    "): --mode mirror would delete the source while it copies it, the source "
                    "not holding itself; leave out --mode mirror to add and update only, or "
                    "snapshot the source to a file and restore that with --mode mirror (which "
                    "then deletes " +
                    source.root + " with the rest of what the file lacks)");
}

Status CheckSourceNotWrittenIntoItself(const SourceSpec& source, const SourceSpec& target,
                                       zk::Client& client) {
  if (source.kind != SourceSpec::Kind::kLive || target.kind != SourceSpec::Kind::kLive ||
      target.root == source.root) {
    return Status::Ok();
  }
  const std::optional<std::string> place = RelativePath(target.root, source.root);
  if (!place) return Status::Ok();
  ZKA_ASSIGN_OR_RETURN(std::optional<std::string> shared, SharedServer(source, target));
  if (!shared) return Status::Ok();
  // The source's node whose copy would land on the source's own root.
  const std::string inner = AbsolutePath(source.root, *place);
  auto exists = client.Exists(inner).get();
  if (!exists.ok()) return exists.status().WithContext("reading " + inner);
  if (!exists->has_value()) return Status::Ok();
  return Status(StatusCode::kInvalidArgument,
                "the source " + source.text + " lies inside the target " + target.text +
                    " on the same ensemble (both reach " + *shared + ") and holds " + *place +
                    ", its own place in the target: the copy would write " + inner + " over " +
                    source.root +
                    " and its subtree below it, copying the source into itself "
                    "while it reads it; nothing was written. Choose a target that does not "
                    "hold the source, or snapshot the source to a file and restore that");
}

}  // namespace zkarrow::treesync
