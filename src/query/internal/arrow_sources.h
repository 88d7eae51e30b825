// Tables over Arrow IPC data: a file or stream on disk (read_arrow, or a
// file named on the command line) and the txns table of a data directory.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "base/status.h"
#include "query/internal/table_source.h"

namespace zkarrow::query::internal {

// Opens the file and reads its schema now, so that a file that is not Arrow
// fails before the query runs. Files in the file format are memory-mapped:
// a scan touches only the buffers of the columns SQLite asks for.
Result<std::unique_ptr<TableSource>> OpenArrowFileSource(const std::filesystem::path& path);

// The transaction-log table (znodes/datadir/txnlog_table.h) of `dir`, built
// when first scanned; with `zxid`, its transactions up to that zxid.
std::unique_ptr<TableSource> MakeTxnLogSource(std::filesystem::path dir,
                                              std::optional<int64_t> zxid);

}  // namespace zkarrow::query::internal
