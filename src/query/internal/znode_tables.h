// The `znodes` table over a live ensemble or a data directory, and the
// optimizer that turns a query's constraints into the reads of one scan.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "query/internal/statement_memory.h"
#include "query/internal/table_source.h"
#include "query/server_tables.h"
#include "zk/client.h"

namespace zkarrow::query::internal {

// What one scan of `znodes` needs, from the constraints SQLite passed to
// xFilter. Every field only narrows the reads: SQLite re-checks each row.
struct ZnodePlan {
  std::optional<std::vector<std::string>> paths;  // path = x / path IN (...): these nodes only
  std::optional<std::string> prefix;  // path LIKE 'p%' / GLOB 'p*' / a range: paths starting so
  std::optional<std::string> parent;  // parent = x: x's children
  std::optional<int> max_depth;       // depth <= n (absolute: "/" is 0)
  std::optional<int64_t> row_limit;   // LIMIT + OFFSET, when nothing else filters or sorts
  bool read_data = true;
  bool read_acl = true;
  bool read_error = true;  // the error column: NOAUTH needs a read that needs READ

  // Which rows, in words: "subtree(s) of paths starting with '/a/', depth <= 3".
  std::string Describe() const;
};

// The requests a live scan with `plan` sends, in words.
std::string DescribeLiveReads(const ZnodePlan& plan);

// The literal prefix every string a LIKE (case-sensitive) or GLOB pattern
// matches starts with.
std::string LikePrefix(std::string_view pattern);
std::string GlobPrefix(std::string_view pattern);

// What each source keeps for a statement's later scans comes out of
// `memory`, the statement's. A scan waiting on ZooKeeper or reading a data
// directory asks `check_stop` (may be null; QuerySources::check_stop) at
// least every kStopPollInterval or 4,096 records. REQUIRES: sessions
// (server, memory) outlive the source.
std::unique_ptr<TableSource> MakeLiveZnodeSource(std::vector<zk::Client*> sessions,
                                                 StatementMemory& memory,
                                                 std::function<Status()> check_stop);
// The `znodes` mirror of a zkarrow server.
std::unique_ptr<TableSource> MakeRemoteZnodeSource(ServerTables& server, StatementMemory& memory);
std::unique_ptr<TableSource> MakeDataDirZnodeSource(std::filesystem::path dir,
                                                    std::optional<int64_t> zxid,
                                                    StatementMemory& memory,
                                                    std::function<Status()> check_stop);

}  // namespace zkarrow::query::internal
