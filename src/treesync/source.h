// The one source abstraction of diff, restore and copy: a tree read from an
// Arrow znode-table file, a live ensemble (`zk://HOST:PORT[,...]/path`) or
// ZooKeeper's data directory (`datadir:DIR[@ZXID]`), handed out as owned
// records sorted by their path relative to the source's root.
//
// Order: paths compare by their bytes (std::string's order), the order the
// offline reader already produces. A parent sorts before its descendants (a
// prefix sorts first), so walking the stream forwards creates parents first
// and walking a list of paths backwards deletes children first.
//
// Sorting is external: records are collected up to a memory budget, sorted,
// and spilled to unnamed temporary files as runs that a k-way merge reads
// back, so a 1M-node tree streams through bounded memory.
//
// /zookeeper, the server's own subtree (quotas, the ensemble's
// configuration), is left out of every tree rooted above it: its config
// node differs between any two ensembles and only reconfig may write it.
// A root at or below /zookeeper keeps it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "zk/client.h"
#include "znodes/znode_record.h"

namespace zkarrow::treesync {

struct SourceSpec {
  enum class Kind { kFile, kLive, kDataDir };
  Kind kind = Kind::kFile;
  std::string file;             // kFile: the Arrow IPC file or stream
  std::string connect;          // kLive: HOST:PORT[,HOST:PORT...]
  std::string root = "/";       // kLive: the subtree; kFile/kDataDir: "/" (whole table)
  std::string data_dir;         // kDataDir
  std::optional<int64_t> zxid;  // kDataDir: the tree as of this zxid
  std::string text;             // as the user wrote it, for messages
};

// Parses `zk://HOST:PORT[,HOST:PORT...][/path]`, `datadir:DIR[@ZXID]`
// (ZXID decimal or 0x hex) or a file path. Malformed text is kInvalidArgument
// quoting the text with what was expected; the caller says which argument it
// was (a source, restore's target).
Result<SourceSpec> ParseSource(std::string_view text);

// One znode, owned. `path` is relative to the source's root ("/" is the root
// itself).
struct Record {
  std::string path;
  std::optional<zk::Stat> stat;
  znodes::NodeKind kind = znodes::NodeKind::kPersistent;
  std::optional<std::string> data;
  bool null_data = false;  // as znodes::ZnodeRecord::null_data; `data` is then ""
  std::optional<int64_t> ttl_ms;
  std::optional<std::vector<zk::Acl>> acl;
  std::string error;  // "" or a ZooKeeper error code name (e.g. NOAUTH)

  // A view for the znode table's writers, valid while this record lives.
  znodes::ZnodeRecord View() const;
  // Bytes this record takes in memory, roughly: what the sort budget counts.
  size_t MemoryBytes() const;
};

// Records in path order. Next() returns nullptr at the end; the record it
// returns stays valid until the following call.
class RecordStream {
 public:
  virtual ~RecordStream() = default;
  virtual Result<const Record*> Next() = 0;
};

struct SourceOptions {
  // For kLive sources: credentials, session timeout. connect_string is set
  // from the spec.
  zk::ClientOptions client;
  bool read_data = true;
  bool read_acl = false;
  // fnmatch(3) patterns on the path relative to the root; a match prunes the
  // node and its subtree.
  std::vector<std::string> excludes;
  // Records held in memory before a sorted run is spilled to a temporary file.
  size_t sort_memory_bytes = 256 << 20;
  // Live reads: sessions used by the walker.
  int sessions = 1;
  // Polled once per record read, and while a live source's sessions wait
  // for a server to grant them or to answer the walk's reads; when it
  // returns true, reading (or connecting) stops with kCancelled (a SIGINT
  // during restore's read of its source).
  std::function<bool()> stop_requested;
};

// What a read stopped by SourceOptions::stop_requested returns.
Status StoppedBySignal();

// Sessions restore and copy read a live source with when they read ACLs
// (unless told otherwise). Every node's ACL costs a getACL request of its
// own (multiRead carries none), and ZooKeeper's NIO server reads one request
// per connection per pass of its selector, handing it to a worker thread:
// one connection's request rate is bound by that round trip, while several
// connections' requests are read in the same passes. Without ACLs the reads
// are multiRead batches, which one session keeps the server busy with.
// Eight: at 1M nodes copies were faster with 8 than with 4 in every paired
// run, and slower again with 12 (bench/results/treesync.md has the figures);
// each connection counts against the server's maxClientCnxns (60 by default).
inline constexpr int kAclReadSessions = 8;

struct SourceInfo {
  int64_t records = 0;
  int64_t spilled_runs = 0;  // 0: sorted in memory
  int64_t max_zxid = 0;      // newest zxid seen (live, datadir)
};

// Reads the whole source through the sorter and returns its stream. For a
// live source the tree is read with a fresh session that is closed before
// returning, and a root that does not exist is an error (NONODE); `info`
// may be null.
Result<std::unique_ptr<RecordStream>> OpenSource(const SourceSpec& spec,
                                                 const SourceOptions& options, SourceInfo* info);

// The live tree below `root` through an already connected client (the
// restorer's own session); a missing root is an empty stream.
Result<std::unique_ptr<RecordStream>> OpenLiveTree(zk::Client& client, const std::string& root,
                                                   const SourceOptions& options, SourceInfo* info);

// A live source's records as the walk reads them, not sorted: a node always
// comes before its children (the walk learns of a child from its parent's
// listing), other orders are arbitrary. Reads with options.sessions fresh
// sessions, closed before returning; the sink runs on the caller's thread,
// and an error it returns ends the walk. A root that does not exist is an
// error (NONODE). `info` may be null; spilled_runs stays 0.
using OwnedRecordSink = std::function<Status(Record)>;
Status ReadLiveSource(const SourceSpec& spec, const SourceOptions& options,
                      const OwnedRecordSink& sink, SourceInfo* info);

// `absolute` relative to `root` ("/" for the root itself), or nullopt when
// it is outside (or not absolute). `root` is an absolute ZooKeeper path.
std::optional<std::string> RelativePath(std::string_view root, std::string_view absolute);
// The inverse: `relative` ("/" or "/a/b") under `root`.
std::string AbsolutePath(std::string_view root, std::string_view relative);

}  // namespace zkarrow::treesync
