// The live tree a zkarrow server serves: a mirror of a ZooKeeper subtree,
// data included, kept current by the change engine of `zkarrow watch`, so
// that reads cost ZooKeeper nothing.
//
// States and epochs. The watcher's rows are not applied one by one: they
// are collected until the watcher reports them settled up to a zxid Z
// (watch::ChangeSink::Settled: every change up to Z has been appended), and
// are then applied at once, as one *epoch* labelled Z. The served state
// therefore moves from one label to the next and is never seen half-way:
// - a `znodes` response is cut from one state and carries its label as
//   `zkarrow.zxid` in the schema metadata;
// - the `changes` stream sends each epoch's rows, the last batch of an
//   epoch carrying the epoch's label as `zkarrow.zxid` in its custom
//   metadata (an epoch of more rows than a batch holds spans batches);
// - so a `znodes` response labelled Z equals the rows of any earlier
//   response replayed with every epoch up to and including the one
//   labelled Z. Labels strictly increase (an epoch whose label would not
//   grow waits for the next settlement).
// A state labelled Z holds every transaction up to Z and possibly a few
// later ones (ZooKeeper has no read at a fixed zxid; see Settled), so a
// client that wrote at zxid W reads its write from any state labelled W or
// more: WaitFor(W) is read-your-writes.
//
// History: the epochs since a point are kept, up to a byte budget, so a
// client that reconnects with the last label it saw (`from`) continues
// exactly; a client further behind, or one that reads too slowly while the
// history moves on, starts over with a `resync` row and the whole state as
// `initial` rows (or, mid-stream, gets an error telling it to reconnect).
// Each live stream holds only its position and one encoded epoch, so a slow
// client costs the server no more memory than a fast one.
//
// Threads: the watcher runs on a thread of its own; responses are encoded
// on the threads that pull them (the transports'); the state is shared
// under a reader/writer lock held only to copy node pointers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arrow/ipc/writer.h"
#include "arrow/type.h"
#include "base/status.h"
#include "transport/message_stream.h"
#include "watch/tree_watcher.h"

namespace zkarrow::serve {

// The schema metadata key of a `znodes` response and the custom metadata
// key of the last batch of each epoch in `changes`: the state's label.
inline constexpr const char* kMetaZxid = "zkarrow.zxid";

// Batches are cut as every served batch is (transport/message_stream.h);
// with the fixed columns (about 100 bytes a row) a batch stays near 3 MiB
// at most.
using transport::kServedBatchBytes;
using transport::kServedBatchRows;

struct TreeServiceOptions {
  watch::WatchOptions watch;
  // Shown as `zkarrow.source` in responses (the connect string).
  std::string source;
  // Bytes of epochs kept for clients that resume with `from`.
  int64_t history_bytes = int64_t{256} << 20;
  // Bytes of encoded `znodes` responses kept for other clients asking for
  // the same request of the same state, and of the copies responses in
  // flight keep until they end (a response larger than half of it, or one
  // whose copy finds the budget spent, is not kept; 0 keeps none). The default keeps the whole
  // table of a million-node tree of the sample's kind (288 MB): encoding it again for every client
  // costs more than sending it.
  int64_t response_cache_bytes = int64_t{768} << 20;
};

struct ZnodesRequest {
  std::string path;  // empty: the served root
  bool data = true;
  bool typed = false;
  // Only these columns of the znode table, in this order (positions from
  // znodes::ZnodeColumnsNamed); empty: all.
  std::vector<int> columns;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
};

struct ChangesRequest {
  // Continue after the epoch labelled this (the last `zkarrow.zxid` the
  // client saw); absent: from the current state on.
  std::optional<int64_t> from_zxid;
  // Start with the current state as `initial` rows.
  bool initial = false;
  bool typed = false;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
};

struct TreeMetrics {
  int64_t zxid = -1;            // the served state's label; -1 before the first
  int64_t last_seen_zxid = -1;  // the highest zxid the watcher has settled or seen
  int64_t znodes = 0;
  int64_t epochs = 0;
  int64_t watcher_restarts = 0;  // new watchers (sessions) after one failed
  int64_t history_epochs = 0;
  int64_t history_bytes = 0;
  int64_t streams = 0;              // live `changes` streams
  int64_t streams_behind = 0;       // streams ended because the history moved past them
  double seconds_since_epoch = 0;   // since the state last moved (or was confirmed)
  int64_t response_cache_hits = 0;  // znodes responses served already encoded
  int64_t response_cache_bytes = 0;
  // Copies responses in flight keep for the cache, within its budget with
  // response_cache_bytes.
  int64_t response_cache_recording_bytes = 0;
  watch::WatchStats watch;
};

class TreeService {
 public:
  // Starts the watcher; returns at once. Health() says when the initial
  // state is served.
  static Result<std::unique_ptr<TreeService>> Start(TreeServiceOptions options);
  ~TreeService();  // Stop()
  TreeService(const TreeService&) = delete;
  TreeService& operator=(const TreeService&) = delete;

  // Ends the watcher and every live stream (they end with an error saying
  // the server is shutting down). Idempotent.
  void Stop();

  // Ok once the initial state is served; Unavailable before, and after the
  // watcher failed (with its error: the last state is still served) until
  // a new watcher, restarted with a new session after a growing delay,
  // has read the tree again and the served state moved to it (one epoch:
  // a `resync` row, then exactly the differences).
  Status Health() const;
  const std::string& root() const;
  // The served state's label; -1 before the initial state.
  int64_t zxid() const;

  // The schema of a response (metadata included, label as of now).
  arrow::Schema ZnodesSchema(bool typed, const std::vector<int>& columns = {}) const;
  arrow::Schema ChangesSchema(bool typed) const;
  // Rows a `znodes` request would return now.
  Result<int64_t> CountZnodes(const std::string& path) const;

  Result<std::unique_ptr<transport::MessageStream>> Znodes(const ZnodesRequest& request) const;
  Result<std::unique_ptr<transport::MessageStream>> Changes(const ChangesRequest& request);

  // Waits until the served state's label is at least `zxid`; returns the
  // label. Timeout after `timeout`, Unavailable when stopped.
  Result<int64_t> WaitFor(int64_t zxid, std::chrono::milliseconds timeout) const;

  TreeMetrics metrics() const;

  class Core;

 private:
  explicit TreeService(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace zkarrow::serve
