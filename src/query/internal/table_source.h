// The virtual-table side of the engine: a TableSource produces the Arrow
// batches of one scan as a stream; RegisterTable makes it an SQLite table
// whose cursor pulls those batches and serves their cells through
// CellReaders.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"
#include "query/query_engine.h"

namespace zkarrow::query::internal {

// How often a scan waiting on its source (a walk's batch, a point read's
// reply) asks the statement's stop check (QuerySources::check_stop): SQLite
// asks it only between steps, and a step waiting on a source is one step.
inline constexpr std::chrono::milliseconds kStopPollInterval{50};

// Ok once `future` is ready; the stop check's status if it says to stop
// first. A null check waits as long as the source takes.
template <typename T>
Status AwaitReady(const std::future<T>& future, const std::function<Status()>& check_stop) {
  if (!check_stop) {
    future.wait();
    return Status::Ok();
  }
  while (future.wait_for(kStopPollInterval) != std::future_status::ready) {
    ZKA_RETURN_IF_ERROR(check_stop());
  }
  return Status::Ok();
}

// The rows of one scan, pulled a batch at a time as SQLite steps through
// them, so that a scan holds a batch or two, not the table.
class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // The next batch; nullopt after the last one.
  virtual Result<std::optional<arrow::RecordBatch>> Next() = 0;
  // Nodes (or rows) read from the source so far, for ScanReport::nodes_read.
  virtual int64_t NodesRead() const { return 0; }
};

// Batches already in memory (an index lookup's rows, a small table).
class VectorStream final : public BatchStream {
 public:
  explicit VectorStream(std::vector<arrow::RecordBatch> batches) : batches_(std::move(batches)) {}
  Result<std::optional<arrow::RecordBatch>> Next() override {
    if (next_ >= batches_.size()) return std::optional<arrow::RecordBatch>();
    return std::optional<arrow::RecordBatch>(std::move(batches_[next_++]));
  }

 private:
  std::vector<arrow::RecordBatch> batches_;
  size_t next_ = 0;
};

// Rows that a function pushes (a tree walk, a data directory's replay),
// made on a thread of their own and handed over through a queue of at most
// kQueuedBatches batches: a scan's memory stays bounded whatever the
// table's size. When the reader goes away first (LIMIT met, an error, the
// statement reset), Emit fails with kCancelled, which the function is
// expected to return; the destructor waits for it.
class ProducerStream final : public BatchStream {
 public:
  static constexpr size_t kQueuedBatches = 2;

  // What the producing function writes to; used on the producer's thread.
  class Output {
   public:
    explicit Output(ProducerStream& stream) : stream_(stream) {}
    // Blocks while the queue is full.
    Status Emit(arrow::RecordBatch batch);
    // True once the reader is gone: stop reading before the next Emit.
    bool abandoned() const { return stream_.abandoned_flag_.load(); }
    void CountRead(int64_t nodes) { stream_.nodes_read_ += nodes; }

   private:
    ProducerStream& stream_;
  };
  using Produce = std::function<Status(Output& out)>;

  // `check_stop` (may be null) is asked while Next waits for a batch.
  explicit ProducerStream(Produce produce, std::function<Status()> check_stop = nullptr);
  ~ProducerStream() override;
  ProducerStream(const ProducerStream&) = delete;
  ProducerStream& operator=(const ProducerStream&) = delete;

  Result<std::optional<arrow::RecordBatch>> Next() override;
  int64_t NodesRead() const override { return nodes_read_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<arrow::RecordBatch> queue_;  // guarded by mutex_
  bool done_ = false;                     // guarded: the producer returned
  Status result_;                         // guarded: what the producer returned
  std::atomic<bool> abandoned_flag_{false};
  std::atomic<int64_t> nodes_read_{0};
  std::function<Status()> check_stop_;
  std::thread thread_;  // last: starts once everything above exists
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
  // xFilter: the rows of one scan for the plan BestIndex chose. Fills in
  // report->plan and estimated_rows (nodes_read comes from the stream).
  virtual Result<std::unique_ptr<BatchStream>> Scan(int idx_num, const char* idx_str, int argc,
                                                    sqlite3_value** argv, ScanReport* report) = 0;

 protected:
  double estimated_rows_ = 1e6;
};

// What the engine keeps across the scans of a statement: their reports, and
// the first failure of a source (its Status, whose code decides the exit
// status, which SQLite's error text alone would lose).
struct ScanLog {
  // One report per table and plan: a join over a million outer rows runs a
  // million inner scans, whose reports would take hundreds of MB.
  std::deque<ScanReport> scans;
  std::unordered_map<std::string, ScanReport*> by_plan;  // table + '\0' + plan -> in scans
  Status first_error;

  // The report of `scan`'s table and plan, with `scan` (a scan that just
  // started: its estimate and what it read before its stream) added.
  ScanReport* Add(const ScanReport& scan);
};

// Registers `source` as the eponymous-only virtual table `name` (it exists
// without CREATE VIRTUAL TABLE and cannot be created again).
Status RegisterTable(sqlite3* db, const std::string& name, std::unique_ptr<TableSource> source,
                     ScanLog* log);

// Registers `source` as module `module`; creatable: a table of it is made by
// CREATE VIRTUAL TABLE SCHEMA.T USING module (e.g. in an attached schema),
// and reported as `name`.
Status RegisterModule(sqlite3* db, const std::string& module, const std::string& name,
                      bool creatable, std::unique_ptr<TableSource> source, ScanLog* log);

}  // namespace zkarrow::query::internal
