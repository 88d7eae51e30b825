// Memory budgets of the znode readers, named once here. Each is checked
// before the memory it guards is allocated, and hitting one is an
// OutOfRange error that names the limit and what asked for more.
//
// Corruption policy: a length or count in a file or reply that does not fit
// the bytes that remain is malformed input (InvalidData, decided by
// zk::JuteReader); one that fits but passes a budget here is refused as too
// large (OutOfRange), since the data may be genuine: the message says how to
// get it read (e.g. gunzip the snapshot first).
#pragma once

#include <cstddef>
#include <cstdint>

namespace zkarrow::znodes {

// A gzip snapshot is inflated into memory (the tree refers to its bytes), so
// a few megabytes of gzip could otherwise claim gigabytes. A plain snapshot
// is mapped, and is as large as it is on disk, so it has no such limit.
inline constexpr int64_t kMaxInflatedSnapshotBytes = int64_t{1} << 30;
// Inflation works in steps of this size, checking the budget before each.
inline constexpr size_t kInflateChunkBytes = size_t{4} << 20;

// A snapshot's ACL cache as held in memory (an entry takes ~70 bytes however
// short it is on disk, so a cache of empty entries would multiply the file).
inline constexpr int64_t kMaxAclBytes = int64_t{256} << 20;

// One transaction of a log as decoded (its ops, ACL lists and closeSession
// paths; strings stay views into the mapped log). ZooKeeper itself refuses
// a transaction larger than jute.maxbuffer (1 MiB by default), so this only
// stops a damaged or crafted entry from multiplying its size in memory.
inline constexpr size_t kMaxDecodedTxnBytes = size_t{64} << 20;

// A live walk's memory, whatever the server answers. Replies are decoded on
// the clients' I/O threads and wait there until the walker takes them, so
// each multiRead request reserves its decoded size before it is sent (the
// client fails a reply past it with kOutOfRange, before allocating it):
// a batch of nodes gets an equal share of kMaxWalkReplyBytes per request
// slot, at most kMaxWalkBatchReplyBytes (a batch past it is re-read node by
// node), a node read alone kMaxWalkNodeReplyBytes, and requests wait while
// the reservations in flight would pass kMaxWalkReplyBytes. A server
// answering with millions of child names, times the requests in flight,
// then fails a request instead of filling memory.
inline constexpr size_t kMaxWalkBatchReplyBytes = size_t{32} << 20;
inline constexpr size_t kMaxWalkNodeReplyBytes = size_t{64} << 20;
inline constexpr size_t kMaxWalkReplyBytes = size_t{512} << 20;
// A node's ACL decoded (--acl reads it with a getACL per node): about 800
// entries; real lists hold a handful. A node past it fails the walk.
inline constexpr size_t kMaxWalkAclReplyBytes = size_t{64} << 10;
// Paths found and not read yet (the walk's frontier): past this the walk
// fails rather than queueing more.
inline constexpr size_t kMaxWalkFrontierBytes = size_t{256} << 20;

}  // namespace zkarrow::znodes
