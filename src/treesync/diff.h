// The difference of two trees: a merge of two sorted record streams into
// rows of the `diff` table, whose schema is defined here once (diff's
// output, restore's --dry-run plan).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "arrow/array.h"
#include "arrow/builder.h"
#include "base/status.h"
#include "treesync/source.h"

namespace zkarrow::treesync {

enum class Change : uint8_t { kAdded, kRemoved, kData, kAcl, kKind, kStat };

// Names by Change value; also the change column's dictionary, in this order.
inline constexpr std::array<std::string_view, 6> kChangeNames = {"added", "removed", "data",
                                                                 "acl",   "kind",    "stat"};
static_assert(kChangeNames.size() == static_cast<size_t>(Change::kStat) + 1);

inline std::string_view ChangeName(Change change) {
  return kChangeNames[static_cast<size_t>(change)];
}

struct DiffOptions {
  // ACLs are compared when both records have them (snapshots taken with --acl).
  bool compare_acl = true;
  // Also versions and zxids (--stat).
  bool compare_stat = false;
  // False when a side was read live, where containers and TTL nodes look
  // persistent: kinds then compare only as ephemeral or not.
  bool exact_kinds = true;
  // Whether an unreadable row of the old side (A) stands for an unknown
  // subtree, as one of the new side (B) always does. Restore's old side is
  // its target, which it writes: there an unreadable node stays a row, and
  // the write planned from it fails with the target's error (NOAUTH),
  // telling the restorer its credentials do not suffice there.
  bool unknown_below_old_errors = true;
  // Polled once per path the merge compares; when it returns true, the diff
  // stops with StoppedBySignal() (a SIGINT during a long diff of two sorted
  // files, or restore's plan).
  std::function<bool()> stop_requested;
};

// One difference between the old side (A) and the new side (B). `old_record`
// is null for kAdded, `new_record` for kRemoved. Views into the streams'
// records, valid during the sink's call.
struct DiffRow {
  Change change = Change::kAdded;
  const Record* old_record = nullptr;
  const Record* new_record = nullptr;
  const std::string& path() const { return old_record ? old_record->path : new_record->path; }
};

using DiffSink = std::function<Status(const DiffRow&)>;

// A node a side could not read: its row carries an error (NOAUTH, ...), so
// its data or ACL are unknown, and so is what lies below it (a node that
// cannot be read cannot be listed either). Nothing at or below it is
// compared: the other side's nodes there are neither removed nor added.
struct UnreadableSubtree {
  std::string path;     // relative to the roots
  std::string error;    // the row's error, e.g. NOAUTH
  bool in_old = false;  // which side: old (A; restore's target) or new (B; restore's source)
};

struct UnreadableCount {
  int64_t subtrees = 0;  // outermost ones: one below another is not counted
  std::optional<UnreadableSubtree> first;
};

// "1 unreadable subtree (/sec: NOAUTH in backup.arrow)", or "" for none.
std::string UnreadableText(const UnreadableCount& count, std::string_view old_name,
                           std::string_view new_name);

// The unreadable subtrees met so far, in any order in which a parent comes
// before its descendants (path order, a live walk's order).
class UnreadableSubtrees {
 public:
  // Whether `path` is at or below one of them.
  bool Covers(std::string_view path) const;
  // Makes `record` one of them if its row has an error; returns whether it did.
  bool Add(const Record& record, bool in_old);
  const UnreadableCount& count() const { return count_; }

 private:
  std::set<std::string, std::less<>> roots_;
  UnreadableCount count_;
};

struct DiffCounts {
  std::array<int64_t, kChangeNames.size()> by_change{};
  int64_t compared = 0;        // paths seen on either side
  UnreadableCount unreadable;  // not compared
  int64_t total() const;
};

// The changes that turn tree A into tree B, in path order; a node differing
// in several respects gives one row per respect (data, acl, kind, stat).
// Unreadable subtrees (UnreadableSubtree) give no rows; counts has them.
Status Diff(RecordStream& a, RecordStream& b, const DiffOptions& options, const DiffSink& sink,
            DiffCounts* counts);

// The changes between two records of the same path (both present).
void CompareRecords(const Record& a, const Record& b, const DiffOptions& options,
                    const std::function<void(Change)>& found);

// The diff table's schema: path, change (dictionary of kChangeNames),
// old_kind, new_kind (dictionaries of the node kinds), old_data, new_data,
// old_acl, new_acl, old_version, new_version, old_mzxid, new_mzxid.
arrow::Schema DiffTableSchema();

// Builds batches of the diff table.
class DiffBatchBuilder {
 public:
  DiffBatchBuilder();
  Status Append(const DiffRow& row);
  int64_t rows() const { return rows_; }
  int64_t data_bytes() const;
  arrow::RecordBatch Finish();
  const std::shared_ptr<const arrow::Schema>& schema() const { return schema_; }

 private:
  std::shared_ptr<const arrow::Schema> schema_;
  std::shared_ptr<const arrow::ArrayData> change_dictionary_, kind_dictionary_;
  int64_t rows_ = 0;
  arrow::StringBuilder path_;
  arrow::Int32Builder change_, old_kind_, new_kind_;
  arrow::BinaryBuilder old_data_, new_data_;
  arrow::ListBuilder old_acl_, new_acl_;
  arrow::Int32Builder old_version_, new_version_;
  arrow::Int64Builder old_mzxid_, new_mzxid_;
};

// ZooKeeper hides the hash of a digest ACL entry from a reader without ADMIN
// permission on the node ("alice:x"). Such an entry matches any entry of the
// same user, perms and scheme: the hash cannot be compared.
bool IsRedactedDigest(const zk::Acl& entry);
bool AclsEquivalent(const std::vector<zk::Acl>& a, const std::vector<zk::Acl>& b);

// "cdrwa" letters of an ACL entry's permissions, and "scheme:id:perms,...".
std::string AclText(const std::vector<zk::Acl>& acl);

}  // namespace zkarrow::treesync
