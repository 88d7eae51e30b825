// Walks a live ZooKeeper tree (or a subtree) and hands every znode to a sink
// as a ZnodeRecord. Reads go out as multiRead batches (getData + getChildren
// of many nodes in one request), several batches in flight per session, over
// one or more sessions; a server without multiRead gets pipelined single
// reads instead (the client falls back by itself).
//
// Replies arrive on the clients' I/O threads; they are queued and turned into
// records on the caller's thread, so the sink (Arrow building, compression,
// disk writes) never stalls the network threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "zk/client.h"
#include "znodes/znode_record.h"

namespace zkarrow::znodes {

struct WalkOptions {
  std::string root = "/";
  bool read_data = true;  // false: data stays null (stat is still read)
  // With read_data false: once the nodes read so far hold on average more
  // than kStatOnlyAverageDataBytes of data, read the next batches with
  // getChildren2 per node (exists where children are not listed), which
  // returns the stat without the data, instead of multiRead batches, whose
  // only read that returns a stat is getData (ZooKeeper's multiRead takes
  // getData and getChildren only). A request per node costs the server
  // far more than a share of a batch, so this pays only for large data.
  bool stat_without_data = false;
  bool read_acl = false;
  int max_depth = -1;  // levels below the root to visit; -1: all
  // fnmatch(3) patterns on the absolute path; a match prunes the node and
  // everything below it.
  std::vector<std::string> excludes;
  // 250 x 8 nodes in flight: measured near the knee (100k-znode tree: 100
  // per batch 145k znodes/s, 250 222k, 1000 233k), and each request stays
  // small enough not to hold up the server's other clients.
  int nodes_per_batch = 250;
  int batches_in_flight_per_session = 8;
  // Asked while the walk waits for replies (at least every
  // kWalkStopPollInterval): true ends the walk at once with kCancelled, the
  // requests still out abandoned (their replies are dropped as they come).
  // Without it the walk waits as long as the server does.
  std::function<bool()> should_stop;
};

inline constexpr std::chrono::milliseconds kWalkStopPollInterval{50};

// A node read alone costs about 30 us more than its share of a multiRead
// (100k-znode sample tree on the shared VM: 29k znodes/s with getChildren2
// per node, 285k with multiRead batches); data dropped unread costs the
// server's serialization and the wire, a few hundred MB/s on loopback. So
// reading without data pays from about 16 KiB per node (less on a slower
// network).
inline constexpr int64_t kStatOnlyAverageDataBytes = 16 << 10;

struct WalkStats {
  int64_t znodes = 0;  // records handed to the sink
  int64_t data_bytes = 0;
  int64_t vanished = 0;   // deleted while the walk ran: skipped
  int64_t errors = 0;     // records with an error (e.g. NOAUTH)
  int64_t excluded = 0;   // subtrees pruned by excludes
  int64_t min_czxid = 0;  // the zxid range seen in the stats read
  int64_t max_zxid = 0;
};

using RecordSink = std::function<Status(const ZnodeRecord&)>;
// Called on the walker's thread after every handled batch, for progress lines.
using ProgressCallback = std::function<void(const WalkStats&)>;

// Reads the tree below options.root through `sessions` (one or more clients
// of the same ensemble). Fails on the first error that is not about a single
// node (connection, session expiry, the root missing) or that the sink returns.
Status WalkTree(const std::vector<zk::Client*>& sessions, const WalkOptions& options,
                const RecordSink& sink, WalkStats* stats,
                const ProgressCallback& progress = nullptr);

}  // namespace zkarrow::znodes
