#include "query/internal/table_source.h"

#include <new>
#include <string>
#include <system_error>

#include "query/internal/arrow_cells.h"

namespace zkarrow::query::internal {
namespace {

// Runs `step`, running out of memory while reading a table (or of threads:
// a scan starts its producer's) becoming the query's error: no exception may
// unwind through SQLite's C frames or end a producer thread.
template <typename Step>
Status OutOfMemoryAsStatus(Step&& step) {
  try {
    return step();
  } catch (const std::bad_alloc&) {
    return Status::OutOfRange("out of memory reading the table");
  } catch (const std::system_error& error) {
    return Status::OutOfRange(std::string("cannot start the table's reader thread: ") +
                              error.what());
  }
}

struct Table {
  sqlite3_vtab base{};  // first: SQLite casts between the two
  TableSource* source = nullptr;
  ScanLog* log = nullptr;
  std::string name;
  std::vector<CellReader> readers;
};

struct Cursor {
  sqlite3_vtab_cursor base{};
  std::unique_ptr<BatchStream> stream;
  std::optional<arrow::RecordBatch> batch;  // the current one; none at the end
  int64_t row = 0;
  int64_t batch_start = 0;         // rows in the batches before `batch`
  ScanReport* report = nullptr;    // of this scan's plan, shared with its other scans
  int64_t read_before_stream = 0;  // nodes the scan read before its stream began
  int64_t reported_read = 0;       // of this scan's nodes, those added to `report`

  // Adds the nodes read since the last call to the report.
  void ReportRead() {
    const int64_t read = read_before_stream + (stream ? stream->NodesRead() : 0);
    report->nodes_read += read - reported_read;
    reported_read = read;
  }

  bool AtEnd() const { return !batch.has_value(); }
  // Moves to the first row at or after the current position, pulling
  // batches as needed.
  Status Settle() {
    while (batch && row >= batch->length) {
      batch_start += batch->length;
      row = 0;
      Result<std::optional<arrow::RecordBatch>> next = stream->Next();
      ReportRead();
      if (!next.ok()) {
        batch.reset();
        return next.status();
      }
      batch = std::move(*next);
    }
    return Status::Ok();
  }
};

// Keeps a source's failure (its Status, whose code decides the exit status)
// and hands SQLite its message.
int Fail(sqlite3_vtab* vtab, ScanLog* log, const Status& status) {
  if (log->first_error.ok()) log->first_error = status;
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", status.message().c_str());
  return SQLITE_ERROR;
}

// The module's context: the table's source and the engine's log.
struct ModuleContext {
  std::unique_ptr<TableSource> source;
  ScanLog* log = nullptr;
  std::string name;
};

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char** error) {
  auto* context = static_cast<ModuleContext*>(aux);
  const arrow::Schema& schema = context->source->schema();
  int rc =
      sqlite3_declare_vtab(db, DeclareTableSql(schema, context->source->primary_key()).c_str());
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("declaring the table: %s", sqlite3_errmsg(db));
    return rc;
  }
  auto* table = new (std::nothrow) Table;
  if (table == nullptr) return SQLITE_NOMEM;
  table->source = context->source.get();
  table->log = context->log;
  table->name = context->name;
  table->readers.reserve(schema.fields.size());
  for (const arrow::Field& field : schema.fields) table->readers.emplace_back(field);
  *out = &table->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<Table*>(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  reinterpret_cast<Table*>(vtab)->source->BestIndex(info);
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = new (std::nothrow) Cursor;
  if (cursor == nullptr) return SQLITE_NOMEM;
  *out = &cursor->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  if (cursor->report != nullptr) cursor->ReportRead();
  delete cursor;
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int idx_num, const char* idx_str, int argc,
           sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  auto* table = reinterpret_cast<Table*>(base->pVtab);
  // A rescan: the previous scan's last reads go to its report, then its
  // producer stops (before this scan starts another).
  if (cursor->report != nullptr) cursor->ReportRead();
  cursor->stream.reset();
  cursor->report = nullptr;
  cursor->batch.reset();
  cursor->row = 0;
  cursor->batch_start = 0;
  Status status = OutOfMemoryAsStatus([&]() -> Status {
    ScanReport started{.table = table->name};
    Result<std::unique_ptr<BatchStream>> stream =
        table->source->Scan(idx_num, idx_str, argc, argv, &started);
    cursor->report = table->log->Add(started);
    cursor->read_before_stream = cursor->reported_read = started.nodes_read;
    ZKA_ASSIGN_OR_RETURN(cursor->stream, std::move(stream));
    // An empty batch before the first: Settle pulls the first real one.
    cursor->batch.emplace();
    return cursor->Settle();
  });
  if (!status.ok()) return Fail(&table->base, table->log, status);
  if (!cursor->AtEnd()) ++cursor->report->rows_produced;
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  auto* table = reinterpret_cast<Table*>(base->pVtab);
  ++cursor->row;
  Status status = OutOfMemoryAsStatus([&] { return cursor->Settle(); });
  if (!status.ok()) return Fail(&table->base, table->log, status);
  if (!cursor->AtEnd()) ++cursor->report->rows_produced;
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) { return reinterpret_cast<Cursor*>(base)->AtEnd() ? 1 : 0; }

int Column(sqlite3_vtab_cursor* base, sqlite3_context* context, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  auto* table = reinterpret_cast<Table*>(base->pVtab);
  const arrow::RecordBatch& batch = *cursor->batch;
  if (column < 0 || static_cast<size_t>(column) >= batch.columns.size()) {
    sqlite3_result_null(context);
    return SQLITE_OK;
  }
  table->readers[static_cast<size_t>(column)].Set(
      context, *batch.columns[static_cast<size_t>(column)], cursor->row);
  return SQLITE_OK;
}

int RowId(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  const auto* cursor = reinterpret_cast<Cursor*>(base);
  *rowid = cursor->batch_start + cursor->row;
  return SQLITE_OK;
}

const sqlite3_module kModule = {
    /* iVersion */ 2,
    /* xCreate */ nullptr,  // eponymous-only
    /* xConnect */ Connect,
    /* xBestIndex */ BestIndex,
    /* xDisconnect */ Disconnect,
    /* xDestroy */ Disconnect,
    /* xOpen */ Open,
    /* xClose */ Close,
    /* xFilter */ Filter,
    /* xNext */ Next,
    /* xEof */ Eof,
    /* xColumn */ Column,
    /* xRowid */ RowId,
    /* xUpdate */ nullptr,
    /* xBegin */ nullptr,
    /* xSync */ nullptr,
    /* xCommit */ nullptr,
    /* xRollback */ nullptr,
    /* xFindFunction */ nullptr,
    /* xRename */ nullptr,
    /* xSavepoint */ nullptr,
    /* xRelease */ nullptr,
    /* xRollbackTo */ nullptr,
    /* xShadowName */ nullptr,
};

// The same, for tables made by CREATE VIRTUAL TABLE (in an attached schema).
const sqlite3_module kCreatableModule = {
    /* iVersion */ 2,
    /* xCreate */ Connect,
    /* xConnect */ Connect,
    /* xBestIndex */ BestIndex,
    /* xDisconnect */ Disconnect,
    /* xDestroy */ Disconnect,
    /* xOpen */ Open,
    /* xClose */ Close,
    /* xFilter */ Filter,
    /* xNext */ Next,
    /* xEof */ Eof,
    /* xColumn */ Column,
    /* xRowid */ RowId,
    /* xUpdate */ nullptr,
    /* xBegin */ nullptr,
    /* xSync */ nullptr,
    /* xCommit */ nullptr,
    /* xRollback */ nullptr,
    /* xFindFunction */ nullptr,
    /* xRename */ nullptr,
    /* xSavepoint */ nullptr,
    /* xRelease */ nullptr,
    /* xRollbackTo */ nullptr,
    /* xShadowName */ nullptr,
};

}  // namespace

Status ProducerStream::Output::Emit(arrow::RecordBatch batch) {
  std::unique_lock lock(stream_.mutex_);
  stream_.changed_.wait(lock, [&] {
    return stream_.abandoned_flag_.load() || stream_.queue_.size() < kQueuedBatches;
  });
  if (stream_.abandoned_flag_.load()) return Status::Cancelled("the scan's reader is gone");
  stream_.queue_.push_back(std::move(batch));
  stream_.changed_.notify_all();
  return Status::Ok();
}

ProducerStream::ProducerStream(Produce produce, std::function<Status()> check_stop)
    : check_stop_(std::move(check_stop)), thread_([this, produce = std::move(produce)] {
        Output out(*this);
        Status status = OutOfMemoryAsStatus([&] { return produce(out); });
        std::lock_guard lock(mutex_);
        result_ = std::move(status);
        done_ = true;
        changed_.notify_all();
      }) {}

ProducerStream::~ProducerStream() {
  {
    std::lock_guard lock(mutex_);
    abandoned_flag_ = true;
    queue_.clear();
    changed_.notify_all();
  }
  thread_.join();
}

Result<std::optional<arrow::RecordBatch>> ProducerStream::Next() {
  std::unique_lock lock(mutex_);
  auto ready = [&] { return done_ || !queue_.empty(); };
  if (!check_stop_) changed_.wait(lock, ready);
  while (!changed_.wait_for(lock, kStopPollInterval, ready)) {
    lock.unlock();
    Status stop = check_stop_();
    lock.lock();
    ZKA_RETURN_IF_ERROR(stop);
  }
  if (!queue_.empty()) {
    arrow::RecordBatch batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return std::optional<arrow::RecordBatch>(std::move(batch));
  }
  ZKA_RETURN_IF_ERROR(result_);
  return std::optional<arrow::RecordBatch>();
}

void TableSource::BestIndex(sqlite3_index_info* info) {
  info->estimatedCost = estimated_rows_;
  info->estimatedRows = static_cast<sqlite3_int64>(estimated_rows_);
}

ScanReport* ScanLog::Add(const ScanReport& scan) {
  std::string key = scan.table;
  key += '\0';
  key += scan.plan;
  auto [it, added] = by_plan.try_emplace(std::move(key), nullptr);
  if (added) {
    it->second = &scans.emplace_back(scan);  // a deque: the address stays
    it->second->scans = 1;
    return it->second;
  }
  ScanReport& report = *it->second;
  ++report.scans;
  report.estimated_rows = report.estimated_rows < 0 || scan.estimated_rows < 0
                              ? -1
                              : report.estimated_rows + scan.estimated_rows;
  report.nodes_read += scan.nodes_read;
  report.rows_produced += scan.rows_produced;
  return &report;
}

Status RegisterTable(sqlite3* db, const std::string& name, std::unique_ptr<TableSource> source,
                     ScanLog* log) {
  return RegisterModule(db, name, name, /*creatable=*/false, std::move(source), log);
}

Status RegisterModule(sqlite3* db, const std::string& module, const std::string& name,
                      bool creatable, std::unique_ptr<TableSource> source, ScanLog* log) {
  auto* context = new ModuleContext{std::move(source), log, name};
  const int rc =
      sqlite3_create_module_v2(db, module.c_str(), creatable ? &kCreatableModule : &kModule,
                               context, [](void* aux) { delete static_cast<ModuleContext*>(aux); });
  // sqlite3_create_module_v2 calls the destructor itself when it fails.
  if (rc != SQLITE_OK) {
    return Status::Internal("registering table " + name + ": " + sqlite3_errmsg(db));
  }
  return Status::Ok();
}

}  // namespace zkarrow::query::internal
