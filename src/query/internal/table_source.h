// The virtual-table side of the engine: a TableSource produces the Arrow
// batches of one scan; RegisterTable makes it an SQLite table whose cursor
// serves those batches through CellReaders.
#pragma once

#include <sqlite3.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"
#include "query/query_engine.h"

namespace zkarrow::query::internal {

// The rows of one scan. `keep`, when set, skips rows the plan already knows
// SQLite would reject (an offline tree held whole); SQLite still checks the
// rest.
struct ScanBatches {
  std::vector<arrow::RecordBatch> batches;
  std::function<bool(const arrow::RecordBatch& batch, int64_t row)> keep;
};

class TableSource {
 public:
  virtual ~TableSource() = default;
  virtual const arrow::Schema& schema() const = 0;
  // A column whose values tell rows apart across scans (the table is then
  // WITHOUT ROWID). Without one, a row's id is its position among all the
  // scan's batches, so every scan must return the same batches.
  virtual std::optional<int> primary_key() const { return std::nullopt; }
  // Called before each statement runs: what a source remembers across the
  // scans of one statement (e.g. nodes already read) is forgotten here.
  virtual void StartStatement() {}
  // xBestIndex. The default plans a full scan of `estimated_rows` rows.
  virtual void BestIndex(sqlite3_index_info* info);
  // xFilter: the batches of one scan for the plan BestIndex chose. Fills in
  // report->plan, estimated_rows and nodes_read.
  virtual Result<ScanBatches> Scan(int idx_num, const char* idx_str, int argc, sqlite3_value** argv,
                                   ScanReport* report) = 0;

 protected:
  double estimated_rows_ = 1e6;
};

// What the engine keeps across the scans of a statement: their reports, and
// the first failure of a source (its Status, whose code decides the exit
// status, which SQLite's error text alone would lose).
struct ScanLog {
  std::deque<ScanReport> scans;
  Status first_error;
};

// Registers `source` as the eponymous-only virtual table `name` (it exists
// without CREATE VIRTUAL TABLE and cannot be created again).
Status RegisterTable(sqlite3* db, const std::string& name, std::unique_ptr<TableSource> source,
                     ScanLog* log);

}  // namespace zkarrow::query::internal
