#include "znodes/datadir/data_dir.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "znodes/datadir/data_dir_files.h"
#include "znodes/datadir/data_tree.h"
#include "znodes/datadir/file_format.h"
#include "znodes/datadir/snapshot.h"
#include "znodes/datadir/txn_log_pipeline.h"

namespace zkarrow::znodes {
namespace {

using datadir::DataFile;
using datadir::DataTree;
using datadir::SnapshotInfo;
using datadir::ZxidToHex;

// The digest algorithm this reader implements (DigestCalculator's version).
constexpr int32_t kDigestVersion = 2;

std::string FileName(const DataFile& file) { return file.path.filename().string(); }

// Zxids are (epoch << 32) | counter. Within an epoch every transaction is
// logged, so a jump in the counter means transactions are missing; a new
// epoch starts its own count.
bool Continues(int64_t previous, int64_t next) {
  if ((previous >> 32) != (next >> 32)) return next > previous;
  return next == previous + 1;
}

Result<SnapshotInfo> LoadSnapshot(const DataFile& file, DataTree* tree) {
  auto bytes = datadir::LoadSnapshotFile(file.path);
  if (!bytes.ok()) return bytes.status().WithContext(file.path.string());
  tree->Retain(*bytes);
  auto info = datadir::DecodeSnapshot((*bytes)->bytes(), tree);
  if (!info.ok()) return info.status().WithContext(file.path.string());
  return info;
}

// Replays the logs after the snapshot up to `target` (inclusive).
class Replayer {
 public:
  Replayer(const datadir::DataDirListing& listing, const DataFile& snapshot,
           const SnapshotInfo& info, int64_t target, DataTree* tree, DataDirSummary* summary)
      : listing_(listing),
        snapshot_(snapshot),
        info_(info),
        target_(target),
        tree_(tree),
        summary_(summary),
        last_zxid_(snapshot.zxid) {}

  Status Run() {
    const std::vector<DataFile> logs = datadir::LogsAfter(listing_.logs, snapshot_.zxid);
    datadir::TxnLogPipeline pipeline(logs);
    size_t log = logs.size();  // the log being replayed
    bool used = false;         // whether a transaction of it was applied
    while (const datadir::TxnLogPipeline::Block* block = pipeline.Next()) {
      if (block->log != log) {
        log = block->log;
        used = false;
        if (block->bytes) tree_->Retain(block->bytes);
      }
      Status status = ReplayBlock(*block, logs[log], &used);
      if (!status.ok()) return status.WithContext(logs[log].path.string());
      if (reached_target_) break;
    }
    summary_->last_zxid = last_zxid_;
    // With no transaction applied, the digest is due on the final tree:
    // FinalDigestDue() hands it to the caller, who computes it while
    // writing. Otherwise it was checked before the first transaction.
    if (summary_->transactions_applied == 0 && !FinalDigestDue()) CheckDigest();
    if (unconfirmed_) ReportUnconfirmed();
    if (target_ != std::numeric_limits<int64_t>::max() && target_ > last_zxid_) {
      summary_->warnings.push_back("the logs end at zxid " + ZxidToHex(last_zxid_) +
                                   ", before the requested " + ZxidToHex(target_));
    }
    return Status::Ok();
  }

  // Applies a block of `log`'s entries; `used` tells whether any of the
  // log's transactions was applied, in this block or an earlier one.
  Status ReplayBlock(const datadir::TxnLogPipeline::Block& block, const DataFile& log, bool* used) {
    constexpr size_t kAhead = DataTree::kPrefetchAhead;
    for (size_t k = 0; k < block.count; ++k) {
      if (k + kAhead < block.count) tree_->Prefetch(block.txns[k + kAhead]);
      const datadir::Transaction& txn = block.txns[k];
      const int64_t zxid = txn.header.zxid;
      if (zxid <= last_zxid_) continue;  // already in the snapshot
      if (zxid > target_) {
        reached_target_ = true;
        if (*used) ++summary_->logs_replayed;
        return Status::Ok();
      }
      if (!Continues(last_zxid_, zxid)) {
        return Status::InvalidData("transactions " + ZxidToHex(last_zxid_ + 1) + " to " +
                                   ZxidToHex(zxid - 1) + " are missing: the entry at offset " +
                                   std::to_string(block.offsets[k]) + " has zxid " +
                                   ZxidToHex(zxid) + " (a log file was deleted or truncated?)");
      }
      if (summary_->transactions_applied == 0) CheckDigest();  // the snapshot's own tree
      tree_->Apply(txn);
      last_zxid_ = zxid;
      ++summary_->transactions_applied;
      *used = true;
      if (unconfirmed_) {
        ConfirmWithTransaction(txn);
      } else {
        CheckDigest();
      }
    }
    ZKA_RETURN_IF_ERROR(block.status);
    if (!block.log_end) return Status::Ok();
    if (!block.partial_tail.empty()) {
      summary_->warnings.push_back(FileName(log) + ": " + block.partial_tail +
                                   "; the log ends there, as it would for the server");
    }
    if (*used) ++summary_->logs_replayed;
    return Status::Ok();
  }

  // True when the digest is still to be checked, on the snapshot's tree as
  // it is (no transaction applied), in a version this reader computes: the
  // caller then calls RecordDigest.
  bool FinalDigestDue() const {
    return summary_->transactions_applied == 0 && info_.digest &&
           info_.digest->zxid == last_zxid_ && info_.digest->version == kDigestVersion;
  }

  // The snapshot's digest holds for the tree once replay reaches its zxid.
  void CheckDigest() {
    if (!info_.digest || info_.digest->zxid != last_zxid_) return;
    if (info_.digest->version != kDigestVersion) {
      summary_->warnings.push_back(FileName(snapshot_) + ": digest version " +
                                   std::to_string(info_.digest->version) + " not checked");
      return;
    }
    RecordDigest(tree_->Digest());
  }

  // Corruption policy. The server records a snapshot's digest with the
  // zxid of the last transaction it had finished applying when it sealed
  // the file, while the nodes were copied one by one as transactions went
  // on (a fuzzy snapshot). A transaction still being applied at sealing
  // time may be in the nodes but not in the digest, so a mismatch at that
  // zxid is only "unconfirmed": the next transaction's own digest, which
  // 3.6+ logs carry, settles it once replay applied it (the server's own
  // check reports such a race as a mismatch). What no transaction confirms
  // becomes a warning; the rows are the logs' verdict either way.
  void RecordDigest(int64_t actual) {
    if (actual == info_.digest->digest) {
      summary_->digest_verified = true;
    } else {
      unconfirmed_ = Mismatch(actual);
    }
  }

  // A mismatch no transaction came to confirm becomes a warning. Run calls
  // it; so must whoever calls RecordDigest after Run (FinalDigestDue).
  void ReportUnconfirmed() {
    if (!unconfirmed_) return;
    summary_->warnings.push_back(
        *unconfirmed_ +
        " (no transaction after it was replayed to confirm it against: the "
        "snapshot may hold one the server was applying as it wrote it)");
    unconfirmed_.reset();
  }

 private:
  std::string Mismatch(int64_t actual) const {
    return FileName(snapshot_) + ": the tree rebuilt up to zxid " + ZxidToHex(last_zxid_) +
           " has digest " + std::to_string(actual) + ", the snapshot recorded " +
           std::to_string(info_.digest->digest);
  }

  // The first transaction after an unconfirmed snapshot digest: the tree
  // it leaves must have the digest its log entry recorded.
  void ConfirmWithTransaction(const datadir::Transaction& txn) {
    if (!txn.digest || txn.digest->version != kDigestVersion) {
      ReportUnconfirmed();
      return;
    }
    const int64_t actual = tree_->Digest();
    if (actual == txn.digest->tree_digest) {
      summary_->digest_verified = true;
    } else {
      summary_->warnings.push_back(*unconfirmed_ + "; after transaction " + ZxidToHex(last_zxid_) +
                                   " the tree has digest " + std::to_string(actual) +
                                   ", its log entry recorded " +
                                   std::to_string(txn.digest->tree_digest));
    }
    unconfirmed_.reset();
  }

  const datadir::DataDirListing& listing_;
  const DataFile& snapshot_;
  const SnapshotInfo& info_;
  const int64_t target_;
  DataTree* tree_;
  DataDirSummary* summary_;
  int64_t last_zxid_;
  bool reached_target_ = false;
  // A mismatch of the snapshot's digest at its own zxid, awaiting the next
  // transaction's digest (see RecordDigest).
  std::optional<std::string> unconfirmed_;
};

// The sink copies each record's path and data out of the files, in path
// order: far from file order, so each copy would wait on memory. Loading
// them this many records ahead hides that wait.
constexpr size_t kPrefetchRecords = 8;
void Prefetch(const ZnodeRecord& record) {
  __builtin_prefetch(record.path.data());
  if (record.data && !record.data->empty()) {
    const uint8_t* data = record.data->data();
    __builtin_prefetch(data);
    if (record.data->size() > 64) __builtin_prefetch(data + 64);
  }
}

// Calls `sink` on the calling thread for every record of tree.ForEach, which
// runs on a second thread: walking the tree in path order and reading each
// node is about as much work as building and writing its row, and the
// records stay valid as long as the tree (views into its files and copies),
// so they can be handed over in blocks. Few blocks are ever in flight, so
// memory stays bounded; a failing sink stops the walk.
Status ForEachOnTwoThreads(const DataTree& tree,
                           const std::function<Status(const ZnodeRecord&)>& sink) {
  constexpr size_t kBlockRecords = 4096;
  constexpr size_t kBlocks = 4;
  using Block = std::vector<ZnodeRecord>;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Block> full;  // walked, in order
  std::vector<Block> empty(kBlocks);
  bool walked = false;
  bool stop = false;
  Status walk_status;

  // Hands `block` over and returns an empty one, or false once stopped.
  auto hand_over = [&](Block& block) {
    std::unique_lock lock(mutex);
    full.push_back(std::move(block));
    changed.notify_all();
    changed.wait(lock, [&] { return stop || !empty.empty(); });
    if (stop) return false;
    block = std::move(empty.back());
    empty.pop_back();
    return true;
  };
  // Out of memory on the walker's thread is rethrown on the caller's.
  std::exception_ptr walk_exception;
  std::thread walker([&] {
    Status status;
    try {
      Block block = std::move(empty.back());
      empty.pop_back();
      block.reserve(kBlockRecords);
      status = tree.ForEach([&](const ZnodeRecord& record) {
        block.push_back(record);
        if (block.size() == kBlockRecords && !hand_over(block)) {
          return Status::Cancelled("the rows' sink failed");
        }
        return Status::Ok();
      });
      std::lock_guard lock(mutex);
      if (!block.empty()) full.push_back(std::move(block));
    } catch (...) {
      walk_exception = std::current_exception();
    }
    std::lock_guard lock(mutex);
    walked = true;
    walk_status = std::move(status);
    changed.notify_all();
  });
  // However the caller's loop ends (a sink's error or exception), the walker
  // is stopped and joined before the state it uses goes away.
  struct StopAndJoin {
    std::mutex& mutex;
    std::condition_variable& changed;
    bool& stop;
    std::thread& walker;
    ~StopAndJoin() {
      {
        std::lock_guard lock(mutex);
        stop = true;
        changed.notify_all();
      }
      walker.join();
    }
  };

  Status status;
  {
    StopAndJoin stop_and_join{mutex, changed, stop, walker};
    while (status.ok()) {
      Block block;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return walked || !full.empty(); });
        if (full.empty()) break;  // walked, all handed over
        block = std::move(full.front());
        full.pop_front();
      }
      for (size_t k = 0; k < block.size(); ++k) {
        if (k + kPrefetchRecords < block.size()) Prefetch(block[k + kPrefetchRecords]);
        status = sink(block[k]);
        if (!status.ok()) break;
      }
      block.clear();
      std::lock_guard lock(mutex);
      empty.push_back(std::move(block));
      changed.notify_all();
    }
  }
  if (walk_exception) std::rethrow_exception(walk_exception);
  if (!status.ok()) return status;
  return walk_status;
}

int64_t MinZxid(const datadir::DataDirListing& listing) {
  int64_t min = std::numeric_limits<int64_t>::max();
  for (const DataFile& f : listing.snapshots) min = std::min(min, f.zxid);
  for (const DataFile& f : listing.logs) min = std::min(min, f.zxid);
  return min;
}

}  // namespace

Status ReadDataDir(const DataDirOptions& options,
                   const std::function<Status(const ZnodeRecord&)>& sink, DataDirSummary* summary) {
  DataDirSummary local_summary;
  if (summary == nullptr) summary = &local_summary;
  *summary = DataDirSummary{};

  ZKA_ASSIGN_OR_RETURN(auto listing, datadir::ListDataDir(options.dir));
  summary->min_zxid_seen = MinZxid(listing);
  const int64_t target = options.target_zxid.value_or(std::numeric_limits<int64_t>::max());
  if (listing.snapshots.empty()) {
    return Status::InvalidData(listing.dir.string() +
                               " holds transaction logs but no snapshot to replay them onto");
  }

  std::string failures;
  // Snapshots that fail are skipped for older ones, as the server does. When
  // none is usable, the error says why in the terms of the first failure that
  // was not corruption (out of memory, an unsupported compression), which is
  // what the user can act on.
  StatusCode failure_code = StatusCode::kInvalidData;
  for (const DataFile& snapshot : listing.snapshots) {
    if (snapshot.zxid > target) continue;
    auto tree = std::make_unique<DataTree>();
    auto info = LoadSnapshot(snapshot, tree.get());
    if (!info.ok()) {
      summary->warnings.push_back("skipped " + FileName(snapshot) + ": " + info.status().message());
      failures += "\n  " + info.status().message();
      if (failure_code == StatusCode::kInvalidData) failure_code = info.status().code();
      continue;
    }
    // A snapshot is written while transactions go on, so it may hold changes
    // up to its digest's zxid: too late for a target before that.
    if (info->digest && info->digest->zxid > target) {
      summary->warnings.push_back("skipped " + FileName(snapshot) + ": it holds changes up to " +
                                  ZxidToHex(info->digest->zxid) + ", past the target");
      continue;
    }
    summary->snapshot = snapshot.path;
    summary->snapshot_zxid = snapshot.zxid;
    Replayer replayer(listing, snapshot, *info, target, tree.get(), summary);
    ZKA_RETURN_IF_ERROR(replayer.Run());
    summary->znodes = tree->size();
    if (!replayer.FinalDigestDue()) return ForEachOnTwoThreads(*tree, sink);
    // The digest only reads the tree: computed on a second core while the
    // records go out, instead of as a pass of its own.
    auto digest = std::async(std::launch::async, [&tree] { return tree->Digest(); });
    Status written = ForEachOnTwoThreads(*tree, sink);
    const int64_t actual = digest.get();
    ZKA_RETURN_IF_ERROR(written);
    replayer.RecordDigest(actual);
    replayer.ReportUnconfirmed();
    return Status::Ok();
  }
  std::string where = options.target_zxid ? " at or before zxid " + ZxidToHex(target) : "";
  return Status(failure_code,
                "no usable snapshot" + where + " in " + listing.dir.string() + failures);
}

}  // namespace zkarrow::znodes
