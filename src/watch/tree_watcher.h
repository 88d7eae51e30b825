// The change engine of `zkarrow watch`: keeps a mirror of a live subtree and
// reports every difference it reads as a change row, in order per path: the
// latest state of every node, not every intermediate version (events carry
// no data, and changes made before a node's re-read merge into one row).
//
// How:
// - addWatch(root, PERSISTENT_RECURSIVE) first, then the initial walk
//   (znodes::WalkTree, multiRead batches), so no change falls between them.
// - Watch events carry no data: their paths (and, on create and delete, the
//   parent's, whose num_children/cversion/pzxid changed without an event)
//   are re-read in pipelined multiRead batches. Events that pile up while a
//   batch is read are handled together (coalesced). A read is compared with
//   the mirror: rows are emitted only for real differences, never for a
//   state older than the one reported (same czxid, older mzxid or pzxid).
// - ZooKeeper re-registers persistent watches after a reconnection but does
//   not replay what changed meanwhile, and an expired session loses the
//   watch. After either, the engine re-reads the whole subtree (a new
//   session and watch after expiry), emits one `resync` row, then
//   created/changed/deleted rows for exactly the differences.
// - Nodes in view are those `snapshot` would list: the root and the children
//   of nodes whose data could be read (not below a NOAUTH node), minus
//   excluded subtrees. Servers with the fix for CVE-2024-23944 (3.8.4+,
//   3.9.2+, Debian's 3.8.0-11+deb12u2) send no event about a node the
//   session cannot read, so NOAUTH rows (stat from `exists`) are polled
//   while idle: a flush interval after the tree went quiet, then at
//   intervals that double while the polls find them unchanged, up to
//   WatchOptions::unreadable_poll_max. A node the session cannot read that is
//   created or deleted under a readable parent fires nothing either: it and
//   the parent's new child count reach the stream only with the next event
//   that re-reads the parent, or the next resync.
//
// Threads: listeners on the client's I/O thread only queue events; all
// reading, diffing and the sink run on the thread that calls Run().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "watch/change_schema.h"
#include "watch/change_writer.h"
#include "zk/client.h"
#include "znodes/live/tree_walker.h"

namespace zkarrow::watch {

// Changed paths waiting to be re-read (and watch events waiting to be
// taken) past which the engine drops them and re-reads the whole subtree
// instead (a resync): memory stays bounded by the tree, not the event rate.
inline constexpr size_t kDefaultMaxBacklog = 100'000;

struct WatchOptions {
  // The engine sets its own session listener (the caller's is called too).
  zk::ClientOptions client;
  std::string root = "/";
  bool emit_initial = true;  // false: the initial state fills the mirror only
  bool read_acl = false;     // ACLs of every row read (ACL-only changes fire no watch)
  // fnmatch(3) patterns on the absolute path; a match hides the subtree.
  std::vector<std::string> excludes;
  int nodes_per_batch = znodes::WalkOptions{}.nodes_per_batch;
  size_t max_backlog = kDefaultMaxBacklog;
  // Rows are handed to ChangeSink::Flush at most this long after the first
  // unflushed one.
  std::chrono::milliseconds flush_interval{100};
  // When positive, the whole subtree is also re-read this often (a resync):
  // the one way to see nodes the session cannot read appear and disappear
  // under readable parents on servers that filter events by ACL (above).
  std::chrono::milliseconds resync_interval{0};
  // The longest wait between two polls of the NOAUTH rows while the tree is
  // quiet (see above). Each poll costs ZooKeeper a read and an exists per
  // such node: every flush interval, ten of them made 115 requests a second
  // for as long as the tree stayed quiet. At or below flush_interval, they
  // are polled every flush interval.
  std::chrono::milliseconds unreadable_poll_max{5000};
};

// Where rows go. Called on Run()'s thread only.
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // Once, before any row: the zxid the server had applied when the watch
  // was registered.
  virtual Status Start(int64_t start_zxid) = 0;
  virtual Status Append(const ChangeRow& row) = 0;
  // The rows so far should reach the reader now.
  virtual Status Flush() = 0;
  // Every change in the subtree up to `zxid` has been appended: the rows so
  // far replay into a tree that holds every transaction up to `zxid` (and
  // possibly some later ones: ZooKeeper has no read at a fixed zxid, so a
  // re-read may already show a newer state, whose own event then changes
  // nothing). Called after each round of event handling, with a zxid that
  // never decreases; not while disconnected or with a resync pending.
  virtual Status Settled(int64_t zxid) {
    (void)zxid;
    return Status::Ok();
  }
  // Called on every turn of the watch loop, rows or not (every 50 ms or
  // so while the tree is quiet): for work due on time rather than on a row,
  // such as closing an output file that has reached its age.
  virtual Status Tick() { return Status::Ok(); }
};

struct WatchStats {
  int64_t rows = 0;
  int64_t events = 0;         // watch notifications received
  int64_t nodes_read = 0;     // nodes re-read because of events
  int64_t suppressed = 0;     // re-reads that showed nothing new
  int64_t resyncs = 0;        // full re-reads after a disconnect or expiry
  int64_t backlog_drops = 0;  // backlogs past max_backlog replaced by a resync
  int64_t sessions = 0;       // sessions used (1 + expiries)
  std::array<int64_t, kChangeEventNames.size()> rows_by_event = {};
  int64_t mirror_znodes = 0;
  int64_t mirror_bytes = 0;  // Mirror::ApproximateBytes
};

class TreeWatcher {
 public:
  explicit TreeWatcher(WatchOptions options);
  ~TreeWatcher();
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Connects, reads the initial state and streams changes until
  // `should_stop` returns true (asked at least every 50 ms, also while
  // connecting or waiting for a server) or a failure that is not a
  // disconnect or an expiry (those are handled): a missing root at the
  // start, an ensemble unreachable after an expiry, the sink's error. A
  // stop before the watch is in place (no ChangeSink::Start yet) is a
  // kTimeout failure: nothing was watched. A stop during the initial read
  // (with emit_initial) or a resync is a kCancelled failure: the rows of
  // that read stop halfway, so their replay is not the tree. The rows
  // appended are flushed before it returns, either way.
  Status Run(ChangeSink& sink, const std::function<bool()>& should_stop);

  // From Run()'s thread (e.g. inside the sink) or after Run(). Counts the
  // mirror's bytes, so not for every row.
  WatchStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::watch
