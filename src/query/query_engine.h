// SQL over znode trees and Arrow files: SQLite with virtual tables whose
// xBestIndex turns a query's constraints into the cheapest reads.
//
// Tables:
//   znodes        the znode table (znodes/znode_schema.h, typed columns
//                 included) of a live ensemble or of a data directory;
//   txns          with a data directory: its transaction-log table;
//   read_arrow('F') any Arrow IPC file or stream (a table-valued function);
//   NAME          each Arrow file registered with AddArrowFile;
//   datasets.NAME with a server: its datasets (also dataset('NAME')).
// Arrow values map to SQL values as query/internal/arrow_cells.h says; LIKE
// is case-sensitive (paths are), so that a LIKE prefix names a subtree.
//
// The live pushdown (WHERE on path, parent, depth; LIMIT; the columns used)
// only ever makes the reads cheaper: SQLite re-checks every constraint, so
// the rows are those of a full scan. Plans() describes, per scan, what was
// read and why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"
#include "query/server_tables.h"
#include "zk/client.h"

namespace zkarrow::query {

struct QuerySources {
  // The live tree behind `znodes`, read through these sessions (not owned;
  // they must outlive the engine). Empty: no live tree.
  std::vector<zk::Client*> sessions;
  // Or the tree (and the txns table) of a ZooKeeper data directory.
  std::optional<std::filesystem::path> data_dir;
  std::optional<int64_t> zxid;  // with data_dir: the tree as of this zxid
  // Or a zkarrow server: its `znodes` mirror and its datasets, as
  // datasets.NAME or dataset('NAME') (not owned; must outlive the engine).
  ServerTables* server = nullptr;
  // SQL from others (queries a server answers): read_arrow('F') and ATTACH
  // are refused, so a query cannot read the server's files, and no value
  // (string or blob) may grow past kUntrustedMaxValueBytes: one line of SQL
  // such as printf('%.*c', 900000000, 'x') would otherwise take 900 MB
  // (SQLite's printf then returns NULL; most functions fail the query).
  bool untrusted_sql = false;
  static constexpr int kUntrustedMaxValueBytes = 64 << 20;
  // When positive: the most memory SQLite may hold at once, in all of this
  // process's queries together (sqlite3_hard_heap_limit64, which is process
  // wide); a query that needs more fails with "out of memory" instead of
  // the process. Zero leaves the process's limit as it is.
  int64_t memory_limit_bytes = 0;
  // What one statement may hold outside SQLite's memory: the rows its
  // sources keep for its later scans (nodes for lookups, a repeated scan's
  // rows, a data directory's tree for lookups) and the result rows being
  // built, together. Kept rows past it are not kept (later scans read
  // again); a result row that alone needs more fails with kOutOfRange.
  static constexpr int64_t kDefaultStatementMemoryBytes = int64_t{64} << 20;
  int64_t statement_memory_bytes = kDefaultStatementMemoryBytes;
  // Called every few thousand SQLite steps, for every result row and while
  // a scan waits on its source (internal::kStopPollInterval); a non-ok
  // status stops the statement with that status (a deadline, a client
  // gone). Null: never stops.
  std::function<Status()> check_stop;
};

// The scans of a table with one plan, in words, with what they cost: a
// join's inner scans, one per outer row, share a report.
struct ScanReport {
  std::string table;  // as the query names it (read_arrow calls: read_arrow_N)
  std::string plan;   // e.g. "children of /kafka/brokers/ids; reads: getData+getChildren ..."
  int64_t scans = 0;  // how many scans ran this plan
  int64_t estimated_rows = 0;  // rows the plan expects, summed; -1: unknown before reading
  int64_t nodes_read = 0;      // znodes read from the source (live: records + vanished)
  int64_t rows_produced = 0;   // rows handed to SQLite before it re-checked them
};

// Rows as Arrow batches: integers int64, reals float64, text utf8, blobs
// binary, all nullable; names as SQLite names the result columns. A
// column's type is decided by the values of the first batch (blob wins
// over text, text over real, real over integer; all null: the column's
// declared type, else utf8); later values convert to it where that loses
// nothing (integer to real, numbers and text to bytes, numbers to text) or
// fail with the row and column named.
using BatchSink = std::function<Status(const arrow::RecordBatch&)>;

// A result field's metadata key naming the table column its values are
// copied from, as "TABLE.COLUMN" ("datasets.NAME.COLUMN" for a server's
// dataset, "read_arrow_N.COLUMN" for a read_arrow call), through aliases
// and subqueries; absent for an expression and in a statement with a
// compound SELECT. Clients go by it, not by a column's name or its values'
// shape: the web UI shows only znodes.path, .parent and .name as znodes.
inline constexpr const char* kOriginMetadataKey = "zkarrow.origin";

struct QueryStats {
  int64_t rows = 0;
  std::vector<ScanReport> scans;  // one per table and plan, in the order they first ran
  // The most the statement held at once of QuerySources::statement_memory_bytes.
  int64_t peak_held_bytes = 0;
};

class QueryEngine {
 public:
  static Result<std::unique_ptr<QueryEngine>> Open(QuerySources sources);
  ~QueryEngine();
  QueryEngine(const QueryEngine&) = delete;
  QueryEngine& operator=(const QueryEngine&) = delete;

  // Serves the Arrow IPC file (or stream) at `path` as table `name`.
  Status AddArrowFile(const std::string& name, const std::filesystem::path& path);

  // Runs one SQL statement. Bad SQL fails with SQLite's message and the
  // position of the error. `on_schema` receives the result's schema before
  // the first batch goes to `sink` (also when there are no rows). The
  // statement's scans are reported in `stats` (may be null).
  Status Run(const std::string& sql, const std::function<Status(const arrow::Schema&)>& on_schema,
             const BatchSink& sink, QueryStats* stats);
  // Prepares `sql` without running it: bad SQL, an unknown table, a
  // statement that writes fail here as they would in Run.
  Status Check(const std::string& sql);

 private:
  class Impl;
  explicit QueryEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::query
