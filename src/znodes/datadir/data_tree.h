// The znode tree as ZooKeeper's DataTree keeps it: loaded from a snapshot,
// then changed by replaying transactions with the server's own tolerance
// (a snapshot is fuzzy, so a replayed create may find its node present and a
// delete may find it gone). Paths and data are views into the files the tree
// was built from, which the tree keeps alive, so nothing is copied.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <memory_resource>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arrow/buffer.h"
#include "base/huge_pages.h"
#include "base/status.h"
#include "zk/types.h"
#include "znodes/datadir/txn.h"
#include "znodes/znode_record.h"

namespace zkarrow::znodes::datadir {

// The stat ZooKeeper stores (StatPersisted): cversion counts child creations
// only, and the ephemeral owner field also marks containers and TTL nodes.
struct PersistedStat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int64_t pzxid = 0;
};

// StatPersisted as a snapshot record stores it (60 bytes, big-endian).
inline constexpr size_t kPersistedStatSize = 60;
PersistedStat DecodePersistedStat(const uint8_t* bytes);

class DataTree {
 public:
  // The id ZooKeeper gives the world:anyone/all ACL of a bare root.
  static constexpr int64_t kOpenAclId = -1;

  DataTree();
  DataTree(const DataTree&) = delete;
  DataTree& operator=(const DataTree&) = delete;

  // Keeps `bytes` alive as long as the tree, for the views taken from it.
  void Retain(std::shared_ptr<const arrow::Buffer> bytes);

  // Loading a snapshot: its ACL cache entries, then its nodes, parents first.
  // The root's path is "" in snapshots; "/" is accepted too. `record`, when
  // given, is where the node's record starts in the snapshot's bytes (its
  // path length) and encodes exactly these values, checked by the decoder:
  // the tree then keeps only that pointer and reads the rest from the bytes
  // when it needs them, instead of a copy of every node.
  Status AddAcl(int64_t id, std::vector<zk::Acl> acl);
  // `data` nullopt: the node holds ZooKeeper's null data (length -1).
  Status AddNode(std::string_view path, std::optional<std::span<const uint8_t>> data,
                 int64_t acl_id, const PersistedStat& stat, const uint8_t* record = nullptr);

  // Applies a transaction as DataTree.processTxn does. Failures ZooKeeper
  // tolerates on replay (node exists, no node) are counted, not errors.
  void Apply(const Transaction& txn);
  // For a transaction to be applied soon: starts loading the part of the
  // path index its lookup will read, a cache miss that would otherwise
  // stall Apply, and keeps the path's hash for Apply to use. Called this
  // many transactions ahead: far enough that a miss completes before its
  // transaction's turn, near enough that the hashes are still kept.
  static constexpr size_t kPrefetchAhead = 8;
  void Prefetch(const Transaction& txn);
  size_t tolerated_failures() const { return tolerated_failures_; }

  size_t size() const { return live_count_; }

  // Every node in path byte order, with its client-visible stat. Fails,
  // before calling `sink`, for a snapshot that held a path twice.
  Status ForEach(const std::function<Status(const ZnodeRecord&)>& sink) const;

  // ZooKeeper's tree digest (DigestCalculator version 2): the sum of a CRC32
  // per node, over the nodes outside /zookeeper/. Only reads the tree, so
  // it may run on another thread beside ForEach.
  int64_t Digest() const;

 private:
  // Nodes live in chunks that never move, addressed by index; a node's
  // children are a singly linked list in no particular order, sorted only
  // when ForEach emits them. A deleted node stays as a tombstone (dead), in
  // its parent's list and in the path index, and is brought back in place
  // when the same path is created again.
  using Index = uint32_t;
  static constexpr Index kNone = 0xffffffff;
  // A node's values: a snapshot node's are read from its record in the
  // file; those a transaction made or changed live in `changed_`.
  struct Values {
    std::string_view path;
    std::span<const uint8_t> data;
    bool null_data = false;  // as ZnodeRecord::null_data; `data` is then empty
    const std::vector<zk::Acl>* acl = nullptr;
    PersistedStat stat;
  };
  // 32 bytes, the files' bytes holding the rest: a million nodes cost
  // 32 MB of fresh memory, not the 136 MB that copies of their values took
  // (clearing fresh pages was a fifth of a 1M-node run). A node a plain
  // create made reads its values from that transaction in its log the same
  // way, until something changes it.
  struct Node {
    // The node's record in the snapshot, or (log_acl != kFromSnapshot) the
    // payload of the create transaction that made it; unused once changed.
    const uint8_t* record = nullptr;
    // kNone, an index into changed_, or (with kChildStatBit) into
    // child_stats_ when only the children's fields changed.
    Index changed = kNone;
    Index parent = kNone;
    Index first_child = kNone;
    Index next_sibling = kNone;
    int32_t num_children = 0;
    bool alive = true;
    // For a node read from its create transaction: the slot of its ACL list
    // in log_acls_ (the transaction holds the list, not its interned copy).
    uint16_t log_acl = kFromSnapshot;
  };
  static constexpr uint16_t kFromSnapshot = 0xffff;
  // A node whose only change is its children's (cversion, pzxid, moved by
  // creates and deletes under it): those two fields, 16 bytes, instead of a
  // 104-byte copy of all its values; a replay of 1M creates gives a third
  // of its nodes children.
  struct ChildStat {
    int64_t pzxid;
    int32_t cversion;
  };
  static constexpr Index kChildStatBit = Index{1} << 31;
  // Every node index, changed_ index and child_stats_ index stays below it.
  static constexpr Index kMaxNodes = kChildStatBit - 1;
  // Where the children's fields of a node being changed are.
  struct ChildFields {
    int32_t* cversion;
    int64_t* pzxid;
  };
  static constexpr size_t kChunkBits = 16;
  static constexpr size_t kChunkNodes = size_t{1} << kChunkBits;

  // What the server's DataTree methods return or throw.
  enum class Outcome { kOk, kNoNode, kNodeExists };

  Node& node(Index i) { return chunks_[i >> kChunkBits][i & (kChunkNodes - 1)]; }
  const Node& node(Index i) const { return chunks_[i >> kChunkBits][i & (kChunkNodes - 1)]; }
  Values& changed(Index i) { return changed_[i >> kChunkBits][i & (kChunkNodes - 1)]; }
  const Values& changed(Index i) const { return changed_[i >> kChunkBits][i & (kChunkNodes - 1)]; }
  static bool HasValues(const Node& n) {
    return n.changed != kNone && !(n.changed & kChildStatBit);
  }
  ChildStat& child_stat(Index i) { return child_stats_[i >> kChunkBits][i & (kChunkNodes - 1)]; }
  const ChildStat& child_stat(Index i) const {
    return child_stats_[i >> kChunkBits][i & (kChunkNodes - 1)];
  }
  // Appends to changed_, returning the new entry's index.
  Index AddChanged(const Values& values);
  // Appends a live node under `parent` (kNone for the root).
  // `hash` is PathHash(path) when the caller has it.
  Index NewNode(Index parent, const uint8_t* record, Index changed, std::string_view path,
                uint16_t log_acl = kFromSnapshot, std::optional<uint64_t> hash = std::nullopt);
  // The log_acl slot of an interned list, or kFromSnapshot when the slots
  // are used up (the node then keeps its values in changed_).
  uint16_t LogAclSlot(const std::vector<zk::Acl>* acl);
  // `with_acl` false leaves acl null (the digest needs no ACL lookup).
  Values Read(Index i, bool with_acl = true) const;
  std::string_view PathOf(Index i) const;
  // The values in the node's file record, without changes.
  Values ReadFromFile(Index i, bool with_acl) const;
  // The node's values, copied into changed_ on first change.
  Values& Change(Index i);
  // The node's cversion and pzxid, to be changed: in its values when it has
  // them, else in a ChildStat of its own.
  ChildFields ChangeChildFields(Index i);
  // The path index: built on first need (a transaction, or a snapshot that
  // is not depth first), then kept up to date. Open addressing over
  // (32 bits of hash, node index) entries; never shrinks.
  void EnsureIndex();
  void IndexInsert(Index i, uint64_t hash);
  // The node with this path, dead or alive; kNone when never seen.
  Index Lookup(std::string_view path) const;
  Index FindLive(std::string_view path) const;
  // The same with the path's PathHash, computed once per operation.
  Index Lookup(std::string_view path, uint64_t hash) const;
  Index FindLive(std::string_view path, uint64_t hash) const;
  // PathHash of the first operation's path, from Prefetch when it saw the
  // transaction.
  uint64_t FirstPathHash(const Transaction& txn) const;
  Index FindLoadedParent(std::string_view parent_path);
  const std::vector<zk::Acl>* InternAcl(std::span<const TxnAcl> acl);
  // `payload` is the whole transaction's bytes when `op` is all of it (not
  // part of a multi), else null.
  // `hash` is PathHash(op.path).
  void ApplyOp(const TxnHeader& header, int32_t header_type, const TxnOp& op,
               const uint8_t* payload, uint64_t hash);
  // These mirror DataTree's methods of the same names; a failure is what the
  // server would have thrown (NoNode, NodeExists) and ignored on replay.
  Outcome CreateNode(const TxnOp& op, int64_t owner, const TxnHeader& header,
                     const uint8_t* payload, uint64_t hash);
  bool DeleteNode(std::string_view path, int64_t zxid, uint64_t hash);
  void Bury(Index i);
  bool SetCversionPzxid(std::string_view parent_path, int32_t cversion, int64_t zxid);
  void KillSession(int64_t session, const TxnOp& op, int64_t zxid);

  // Chunks of nodes from an arena of huge pages: a snapshot's nodes are
  // allocated all at once and live as long as the tree, so a malloc and
  // page faults apiece would be waste.
  HugePageArena node_arena_;
  std::vector<Node*> chunks_;
  size_t node_count_ = 0;  // every node ever added, dead ones included
  // The values of nodes transactions made or changed, in chunks from the
  // same arena (a replay of 1M creates holds 1M of them).
  std::vector<Values*> changed_;
  size_t changed_count_ = 0;
  std::vector<ChildStat*> child_stats_;  // in chunks from the same arena
  size_t child_stat_count_ = 0;
  size_t live_count_ = 0;
  Index root_ = kNone;
  // Empty until EnsureIndex; 0 = free slot. On huge pages: a lookup is a
  // cache miss in a table of many megabytes, which 4 KiB pages would make a
  // TLB miss too, after a page fault per 4 KiB to fill it.
  std::pmr::vector<uint64_t> index_{HugePageResource()};
  size_t index_mask_ = 0;
  // The path hashes Prefetch computed, by zxid modulo their count (more
  // than kPrefetchAhead, so that none is overwritten before its use), so
  // that a path is hashed once. Used only for the same zxid and the same
  // view of the path; a hash not kept is computed again.
  struct PrefetchedHash {
    bool valid = false;
    int64_t zxid = 0;
    std::string_view path;
    uint64_t hash = 0;
  };
  std::array<PrefetchedHash, 2 * kPrefetchAhead> prefetched_{};
  // While a snapshot loads: the nodes from the root to the last one added.
  std::vector<Index> load_path_;
  // The parent of the last node a transaction created.
  Index last_parent_ = kNone;
  // The first structural error found (a node twice); ForEach reports it.
  Status load_error_;
  // The snapshot's ACL lists by id (its ReferenceCountedACLCache), and every
  // list by content, so that nodes created or changed by transactions share
  // one copy of each list. Transactions' lists live in txn_acls_; the
  // containers are node-based, so the pointers nodes hold stay valid.
  std::unordered_map<int64_t, std::vector<zk::Acl>> acls_by_id_;
  std::deque<std::vector<zk::Acl>> txn_acls_;
  std::map<std::string, const std::vector<zk::Acl>*> acls_by_content_;
  const std::vector<zk::Acl>* last_interned_ = nullptr;
  // The lists of nodes read from their create transactions, by log_acl.
  std::vector<const std::vector<zk::Acl>*> log_acls_;
  std::unordered_map<const std::vector<zk::Acl>*, uint16_t> log_acl_slots_;
  // Session -> the paths of its ephemeral nodes (closeSession deletes them).
  std::unordered_map<int64_t, std::set<std::string_view>> ephemerals_;
  std::vector<std::shared_ptr<const arrow::Buffer>> retained_;
  size_t tolerated_failures_ = 0;
};

}  // namespace zkarrow::znodes::datadir
