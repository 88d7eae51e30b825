// Writes ZooKeeper's snapshot and transaction-log files from test code, for
// inputs a real server would take too long to produce (tens of thousands of
// transactions) or would never write (hostile lengths).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zk/types.h"
#include "znodes/datadir/data_tree.h"
#include "znodes/datadir/snapshot.h"
#include "znodes/datadir/txn.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::znodes::testing {

// One log entry: the TxnHeader's fields and the record that follows it.
struct LogEntry {
  int64_t session = 0x1000;
  int32_t cxid = 0;
  int64_t zxid = 0;
  int64_t time_ms = 0;
  int32_t type = 0;
  std::vector<uint8_t> record;
  std::optional<datadir::TxnDigest> digest;  // the tree digest after it (3.6+)
};

// Records (the bytes after the TxnHeader) of a few transaction types.
std::vector<uint8_t> CreateRecord(std::string_view path, std::string_view data,
                                  const std::vector<zk::Acl>& acl, int32_t parent_cversion);
std::vector<uint8_t> SetDataRecord(std::string_view path, std::string_view data, int32_t version);
std::vector<uint8_t> DeleteRecord(std::string_view path);

// A whole log file: header, checksummed entries, no preallocated padding.
std::vector<uint8_t> TxnLogFile(const std::vector<LogEntry>& entries);

struct SnapshotNode {
  std::string path;  // "" for the root, as ZooKeeper writes it
  std::string data;
  int64_t acl_id = -1;
  datadir::PersistedStat stat;
};
struct SnapshotAcl {
  int64_t id = 0;
  std::vector<zk::Acl> acl;
};

// A whole snapshot: header, no sessions, the ACL cache, the nodes (parents
// first), the seal, then the digest section (3.6+) and its seal if given.
std::vector<uint8_t> SnapshotFile(const std::vector<SnapshotAcl>& acls,
                                  const std::vector<SnapshotNode>& nodes,
                                  std::optional<datadir::ZxidDigest> digest = std::nullopt);

void WriteFile(const std::filesystem::path& file, std::span<const uint8_t> bytes);

// A fresh data directory's `version-2` folder under the system's temporary
// directory, named after `label` and this process; removed with everything in
// it when this goes.
class ScratchDataDir {
 public:
  explicit ScratchDataDir(std::string_view label);
  ~ScratchDataDir();
  ScratchDataDir(const ScratchDataDir&) = delete;
  ScratchDataDir& operator=(const ScratchDataDir&) = delete;

  const std::filesystem::path& version2() const { return version2_; }

 private:
  std::filesystem::path version2_;
};

// Inputs whose dictionary-encoded values first appear after the first batch
// (issue 10), in a data directory's version-2 folder:
// - log.100000001: createSession, `creates` creates of /n<i>, then a setData
//   and a delete (txnlog types);
// - snapshot.0: the root, `nodes` persistent nodes /n<i> holding text, then
//   /zz-container holding an int and /zz-ttl (a TTL of 60 s) holding JSON,
//   last in path order (node kinds and typed value types).
inline constexpr int kRowsPastTheFirstBatch = static_cast<int>(kRowsPerBatch) + 4'000;
void WriteLateTypesLog(const std::filesystem::path& version2, int creates);
void WriteLateKindsSnapshot(const std::filesystem::path& version2, int nodes);

}  // namespace zkarrow::znodes::testing
