// Helpers for the offline-reader tests: the tree as rows that compare
// field by field, read either from a kazoo dump or from ReadDataDir.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "znodes/datadir/data_dir.h"

namespace zkarrow::znodes::testing {

// NodeRow::data_hex of a node holding ZooKeeper's null data (not hex).
inline constexpr const char* kNullData = "null";

struct NodeRow {
  std::string data_hex;
  std::vector<int64_t> stat;     // kazoo's ZnodeStat order
  std::vector<std::string> acl;  // "perms:scheme:id"
  std::string kind;              // offline only
  friend bool operator==(const NodeRow& a, const NodeRow& b) {
    return a.data_hex == b.data_hex && a.stat == b.stat && a.acl == b.acl;
  }
};
using Tree = std::map<std::string, NodeRow>;

// A dump written by datadir_workload.py.
Tree LoadDump(const std::filesystem::path& file);

// The tree ReadDataDir reconstructs.
Result<Tree> ReadTree(const std::filesystem::path& dir, std::optional<int64_t> target_zxid,
                      DataDirSummary* summary = nullptr);

// "" when equal, else the differing paths and fields (at most a few).
std::string DescribeDifferences(const Tree& expected, const Tree& actual);

}  // namespace zkarrow::znodes::testing
