// Finds ZooKeeper's files in a data directory and loads them: snapshots
// (plain or gzip) and transaction logs, each with the zxid in its name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "arrow/buffer.h"
#include "base/status.h"

namespace zkarrow::znodes::datadir {

struct DataFile {
  std::filesystem::path path;
  int64_t zxid = 0;  // from the name: a snapshot's last applied, a log's first
};

struct DataDirListing {
  std::filesystem::path dir;        // where the files are (a version-2 folder, usually)
  std::vector<DataFile> snapshots;  // newest first
  std::vector<DataFile> logs;       // oldest first
};

// Lists `dir`, or `dir`/version-2 when that exists (a dataDir or dataLogDir
// given as configured). Fails when the folder holds neither kind of file.
Result<DataDirListing> ListDataDir(const std::filesystem::path& dir);

// A snapshot's bytes: the file mapped, or inflated when it ends in .gz.
Result<std::shared_ptr<const arrow::Buffer>> LoadSnapshotFile(const std::filesystem::path& path);

// A log's bytes, mapped.
Result<std::shared_ptr<const arrow::Buffer>> LoadLogFile(const std::filesystem::path& path);

// The logs that hold the transactions after `snapshot_zxid`, as
// FileTxnLog.getLogFiles picks them: the last log starting at or before
// snapshot_zxid + 1, and every later one.
std::vector<DataFile> LogsAfter(const std::vector<DataFile>& logs, int64_t snapshot_zxid);

}  // namespace zkarrow::znodes::datadir
