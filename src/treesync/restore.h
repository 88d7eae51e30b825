// Makes a live subtree equal a source tree (restore, copy).
//
// The plan is diff(target, source) read in path order: creates (parents
// first) and data updates go out in `multi` batches that stay under the
// server's request limit, several in flight on one session (ZooKeeper
// applies one session's requests in order, so a batch may create children
// of nodes an earlier batch creates). Every write is guarded by what the
// plan saw: setData and delete carry the version read, a create fails if
// the node appeared meanwhile. A batch that fails (someone else changed one
// of its nodes, or the connection dropped and its outcome is unknown) is
// not retried blindly: its nodes are read again and planned anew.
//
// ACLs: a node with children in the source whose ACL would not let the
// restorer create them is created with a temporary ACL (the restorer's own
// identities: scheme "auth") and gets its real ACL at the end,
// deepest first, once the subtree below exists; other ACL changes happen in
// that same last phase (ZooKeeper's multi has no setACL), each guarded by
// the ACL version read. A restorer without identities is refused such a
// node before it is written: any temporary ACL that would let it (the world)
// create children and set the ACL would let everyone read and take the node
// while the restore runs.
//
// Unreadable subtrees of the source (a row with an error, e.g. NOAUTH in a
// snapshot taken without the credentials to read it) are skipped and
// counted: nothing is created, changed or deleted at or below them. A node
// of the target the restorer cannot read is no such thing: the writes
// planned there fail and say so (DiffOptions::unknown_below_old_errors).
//
// Ephemeral nodes are skipped and counted, the source's and the target's:
// they belong to sessions (a target's lock or registration is neither
// deleted by mirror nor written).
// Sequential names are created exactly as named, and their parents'
// sequence counters advanced past them (kMaxSequenceAdvance). Container and TTL nodes are
// created with their kinds (createContainer, createTTL) when the source knows
// them (offline sources and files made from them; a live read sees them as
// persistent).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "treesync/diff.h"
#include "treesync/source.h"
#include "zk/client.h"

namespace zkarrow::treesync {

enum class RestoreMode { kCreate, kUpdate, kMirror };
inline constexpr std::array<std::string_view, 3> kRestoreModeNames = {"create", "update", "mirror"};

struct RestoreStats {
  int64_t created = 0;
  int64_t updated = 0;  // data set
  int64_t acls_set = 0;
  int64_t deleted = 0;
  // Source znodes this run wrote (created, or their data or ACL set), each
  // once: what the summary counts against the source's znodes. A node
  // created and then given its ACL is one, and so is one whose data and ACL
  // were both set; deleted nodes (not the source's) and created ancestors
  // of the target's root are none.
  int64_t nodes_written = 0;
  int64_t skipped_ephemeral = 0;
  int64_t kind_mismatches = 0;  // same path, different kind: left alone
  // Source subtrees below an unreadable node: nothing at or below them is
  // written, the source not saying what is there.
  UnreadableCount unreadable;
  int64_t batches = 0;  // multi requests sent
  int64_t replanned_batches = 0;
  // Sent, but the run stopped without learning whether they applied (the
  // connection dropped with them in flight): running again settles them.
  int64_t unknown_batches = 0;
  int64_t request_bytes = 0;  // total size of the multi requests
  // What the restore could not make right and leaves to the user.
  std::vector<std::string> warnings;
  // Nodes created with the temporary ACL (see above) whose own ACL was not
  // set yet because the run stopped: running again sets it.
  int64_t temporary_acls_left = 0;
  std::string first_temporary_acl;  // absolute path of one of them
};

// ZooKeeper names a sequential node after its parent's cversion (the count
// of child creations and deletions under it), which a restore that creates
// the children by name does not carry over: the application's next
// sequential create there would collide with a restored node. So after the
// tree is written, each parent's cversion is advanced past the highest
// ten-digit suffix among its source children, by creating and deleting a
// placeholder child in multi batches. Past this many creations and
// deletions for one parent, a warning gives the exact count instead.
inline constexpr int64_t kMaxSequenceAdvance = 1'000'000;

struct RestoreOptions {
  RestoreMode mode = RestoreMode::kUpdate;
  // Restore ACLs (when the source has them).
  bool restore_acl = true;
  // Fail when a source node carries no ACL (a snapshot taken without --acl).
  bool require_acl = false;
  // The whole change set in one multi, or nothing written.
  bool atomic = false;
  // The server's jute.maxbuffer, as the client knows it.
  size_t max_request_bytes = zk::ClientOptions{}.max_request_bytes;
  // Batches are planned to this share of max_request_bytes: the server logs
  // a multi as a transaction a little larger than the request.
  double batch_fill = 0.9;
  int max_ops_per_batch = 1000;
  int batches_in_flight = 8;
  // Rounds of re-planning failed batches before giving up.
  int max_replan_rounds = 20;
  // True when the client authenticates as someone (digest, SASL, x509):
  // temporary ACLs name the restorer's identities (scheme "auth"). Without,
  // a node that needs a temporary ACL is refused.
  bool has_credentials = false;
  // ACL of created nodes when the source carries none.
  std::vector<zk::Acl> default_acl = zk::OpenAclUnsafe();
  // Called on the caller's thread after each batch is sent (progress lines).
  std::function<void(const RestoreStats&)> progress;
  // Polled before each batch (and each window of ACLs) is sent; when it
  // returns true, no further write is sent, the batches in flight are
  // waited for and counted, and the restore fails with kCancelled (SIGINT).
  std::function<bool()> stop_requested;
};

// The diff rows (old = target, new = source) that restore acts on in `mode`,
// in path order: what --dry-run prints.
Status PlanRestore(RecordStream& target, RecordStream& source, const RestoreOptions& options,
                   const DiffSink& sink, RestoreStats* stats);

// Makes the subtree `target_root` of `client`'s ensemble equal `source`.
// Creates missing ancestors of target_root (with --atomic, in its one
// transaction). `stats` may be null.
Status Restore(RecordStream& source, zk::Client& client, const std::string& target_root,
               const RestoreOptions& options, RestoreStats* stats);

// Makes the subtree `target_root` equal the live tree `source` (copy, and
// restore from zk://). Into an empty target (its root missing, or present
// without children; /zookeeper aside) the source is not sorted: records are
// written in the order the walk reads them, a parent before its children
// (one session applies the batches in order), so reading the source and
// writing the target overlap, with at most kCopyQueueBytes of records
// between them. A source read that fails then has written part of the tree;
// running the copy again finishes it (the target is no longer empty: the
// general path). Otherwise, and with --atomic, as Restore(OpenSource(...)).
// `stats` and `info` may be null.
Status Copy(const SourceSpec& source, const SourceOptions& source_options, zk::Client& client,
            const std::string& target_root, const RestoreOptions& options, RestoreStats* stats,
            SourceInfo* info);

// Refuses a live source and target that overlap on the same ensemble in a
// way the run would break:
// - the source's subtree holds the target (copy /a to /a/b, or / to
//   /backup): the copy would read what it writes, so every run nests the
//   tree one level deeper and none converges;
// - in mirror mode, the target's subtree holds the source (copy /a/b to
//   /a): the source is a node of the target that the source itself does
//   not hold, so mirroring deletes it.
// The ensembles count as the same when their connect strings share a
// server address (host names resolved); ensembles reached only through
// different addresses of the same servers are not recognised.
Status CheckSourceAndTargetApart(const SourceSpec& source, const SourceSpec& target,
                                 RestoreMode mode);

// Refuses, in every mode, a live source inside its target on the same
// ensemble (as CheckSourceAndTargetApart tells) that holds a node at its own
// place in the target: copying /a/b to /a while /a/b/b exists writes /a/b/b
// over /a/b and its subtree below /a/b, so the run writes into its own source
// as it reads it. Asks `client`, a session to the target's ensemble, whether
// that node exists: what the tree holds, not the arguments, decides.
Status CheckSourceNotWrittenIntoItself(const SourceSpec& source, const SourceSpec& target,
                                       zk::Client& client);

// Records read but not yet planned into batches, in a streaming copy.
inline constexpr size_t kCopyQueueBytes = 32 << 20;

}  // namespace zkarrow::treesync
