#include "query/query_engine.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "query/internal/arrow_sources.h"
#include "query/internal/bounded_printf.h"
#include "query/internal/remote_sources.h"
#include "query/internal/result_builder.h"
#include "query/internal/sql_rewrite.h"
#include "query/internal/sqlite_handles.h"
#include "query/internal/statement_memory.h"
#include "query/internal/table_source.h"
#include "query/internal/znode_tables.h"

namespace zkarrow::query {

using internal::ScanLog;

namespace {

// "near "FROMM": syntax error at character 12: SELECT * FROMM znodes\n ^".
std::string PointAt(const std::string& sql, size_t offset) {
  const size_t line_begin = sql.rfind('\n', offset == 0 ? 0 : offset - 1);
  const size_t begin = line_begin == std::string::npos || offset == 0 ? 0 : line_begin + 1;
  size_t end = sql.find('\n', offset);
  if (end == std::string::npos) end = sql.size();
  const size_t line = static_cast<size_t>(std::count(sql.begin(), sql.begin() + begin, '\n')) + 1;
  return " (line " + std::to_string(line) + ", column " + std::to_string(offset - begin + 1) +
         "):\n  " + sql.substr(begin, end - begin) + "\n  " + std::string(offset - begin, ' ') +
         "^";
}

bool IsBlank(const char* text) {
  // Trailing whitespace and comments after the one statement are fine.
  std::string_view rest = text == nullptr ? "" : text;
  while (!rest.empty()) {
    if (std::isspace(static_cast<unsigned char>(rest.front())) || rest.front() == ';') {
      rest.remove_prefix(1);
    } else if (rest.starts_with("--")) {
      const size_t eol = rest.find('\n');
      rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol);
    } else if (rest.starts_with("/*")) {
      const size_t close = rest.find("*/");
      rest.remove_prefix(close == std::string_view::npos ? rest.size() : close + 2);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

class QueryEngine::Impl {
 public:
  Status Open(QuerySources sources) {
    if (sources.statement_memory_bytes <= 0) {
      return Status::InvalidArgument(
          "expected a positive statement_memory_bytes for the query engine, found " +
          std::to_string(sources.statement_memory_bytes));
    }
    memory_ = std::make_unique<internal::StatementMemory>(sources.statement_memory_bytes);
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr);
    db_.reset(db);
    if (rc != SQLITE_OK) {
      return Status::Internal(std::string("opening SQLite: ") +
                              (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    }
    // Paths are case-sensitive; a LIKE pattern that folded case could not
    // name a subtree.
    ZKA_RETURN_IF_ERROR(Execute("PRAGMA case_sensitive_like = ON"));
    check_stop_ = std::move(sources.check_stop);
    if (!sources.sessions.empty()) {
      ZKA_RETURN_IF_ERROR(Register(
          "znodes", internal::MakeLiveZnodeSource(sources.sessions, *memory_, check_stop_)));
    } else if (sources.server != nullptr) {
      ZKA_RETURN_IF_ERROR(RegisterServer(*sources.server));
    } else if (sources.data_dir) {
      ZKA_RETURN_IF_ERROR(
          Register("znodes", internal::MakeDataDirZnodeSource(*sources.data_dir, sources.zxid,
                                                              *memory_, check_stop_)));
    }
    if (sources.data_dir) {
      ZKA_RETURN_IF_ERROR(
          Register("txns", internal::MakeTxnLogSource(*sources.data_dir, sources.zxid)));
    }
    allow_files_ = !sources.untrusted_sql;
    if (sources.memory_limit_bytes > 0) sqlite3_hard_heap_limit64(sources.memory_limit_bytes);
    if (sources.untrusted_sql) {
      sqlite3_limit(db_.get(), SQLITE_LIMIT_LENGTH, QuerySources::kUntrustedMaxValueBytes);
      ZKA_ASSIGN_OR_RETURN(printf_, internal::BoundedPrintf::Register(
                                        db_.get(), QuerySources::kUntrustedMaxValueBytes));
      // After the engine's own ATTACH of `datasets`.
      sqlite3_set_authorizer(db_.get(), &Impl::UntrustedAuthorizer, this);
    }
    if (check_stop_) {
      sqlite3_progress_handler(db_.get(), kStepsBetweenStopChecks, &Impl::ProgressHandler, this);
    }
    return Status::Ok();
  }

  // What SQL from others may not do, judged while SQLite prepares it (a
  // PRAGMA acts then, before any step). A query's ATTACH would open a file
  // of the server's. A PRAGMA that sets a value may act on the whole
  // process: hard_heap_limit=1 or soft_heap_limit fails or slows every
  // other query, temp_store_directory swaps a global string under the
  // others' feet. Reading a setting and the pragmas that describe a table
  // by name stay allowed.
  static int UntrustedAuthorizer(void* self, int action, const char* first, const char* second,
                                 const char*, const char*) {
    Impl& impl = *static_cast<Impl*>(self);
    if (action == SQLITE_ATTACH || action == SQLITE_DETACH) {
      impl.denied_ = std::string(action == SQLITE_ATTACH ? "ATTACH" : "DETACH") +
                     " is not available here (files are not a source of queries a server "
                     "answers)";
      return SQLITE_DENY;
    }
    // fts3_tokenizer('simple') returns the address of a tokenizer in the
    // server's memory: a pointer that defeats its address randomization.
    if (action == SQLITE_FUNCTION && sqlite3_stricmp(second, "fts3_tokenizer") == 0) {
      impl.denied_ =
          "fts3_tokenizer() is not available here (it returns an address in the server's memory)";
      return SQLITE_DENY;
    }
    if (action == SQLITE_PRAGMA && second != nullptr && !DescribesByName(first)) {
      impl.denied_ = "PRAGMA " + std::string(first) + " = " + second +
                     " is not available here (queries a server answers may read a setting, "
                     "PRAGMA " +
                     first + ", but not change one)";
      return SQLITE_DENY;
    }
    return SQLITE_OK;
  }

  // Pragmas whose argument names what to describe rather than a new value.
  static bool DescribesByName(const char* pragma) {
    for (const char* name :
         {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
          "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"}) {
      if (sqlite3_stricmp(pragma, name) == 0) return true;
    }
    return false;
  }

  // SQLite's progress callback: non-zero interrupts the statement.
  static int ProgressHandler(void* self) {
    Impl& impl = *static_cast<Impl*>(self);
    if (!impl.stopped_.ok()) return 1;
    impl.stopped_ = impl.check_stop_();
    return impl.stopped_.ok() ? 0 : 1;
  }

  Status AddArrowFile(const std::string& name, const std::filesystem::path& path) {
    ZKA_ASSIGN_OR_RETURN(auto source, internal::OpenArrowFileSource(path));
    return Register(name, std::move(source));
  }

  // The statement `sql` (read_arrow and dataset calls rewritten to tables),
  // or SQLite's message with the position of the error.
  Result<internal::Statement> Prepare(const std::string& sql) {
    ZKA_ASSIGN_OR_RETURN(std::vector<internal::ArrowCall> calls, internal::FindArrowCalls(sql));
    std::vector<std::string> names;
    for (const internal::ArrowCall& call : calls) {
      if (call.function == "dataset") {
        names.push_back("datasets." + internal::QuoteIdentifier(call.path));
        continue;
      }
      if (!allow_files_) {
        return Status::InvalidArgument("SQL error: read_arrow('" + call.path +
                                       "') is not available here (files are not a source of "
                                       "queries a server answers)");
      }
      auto known = arrow_tables_.find(call.path);
      if (known == arrow_tables_.end()) {
        std::string name = "read_arrow_" + std::to_string(arrow_tables_.size() + 1);
        ZKA_RETURN_IF_ERROR(AddArrowFile(name, call.path).WithContext("read_arrow"));
        known = arrow_tables_.emplace(call.path, std::move(name)).first;
      }
      names.push_back(known->second);
    }
    const std::string rewritten = internal::ReplaceArrowCalls(sql, calls, names);

    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    denied_.clear();
    const int rc = sqlite3_prepare_v3(db_.get(), rewritten.c_str(),
                                      static_cast<int>(rewritten.size()), 0, &raw, &tail);
    internal::Statement statement(raw);
    if (rc != SQLITE_OK) {
      // SQLite's own message would be "not authorized".
      std::string message = denied_.empty() ? sqlite3_errmsg(db_.get()) : denied_;
      const int offset = sqlite3_error_offset(db_.get());
      if (offset >= 0) {
        message +=
            PointAt(sql, internal::OriginalOffset(static_cast<size_t>(offset), calls, names));
      }
      return Status::InvalidArgument("SQL error: " + message);
    }
    if (statement == nullptr) return Status::InvalidArgument("SQL error: no statement to run");
    if (!IsBlank(tail)) {
      const size_t offset = static_cast<size_t>(tail - rewritten.c_str());
      return Status::InvalidArgument("SQL error: one statement at a time; another one starts" +
                                     PointAt(sql, internal::OriginalOffset(offset, calls, names)));
    }
    if (!sqlite3_stmt_readonly(statement.get())) {
      return Status::InvalidArgument(
          "SQL error: zkarrow query only reads (SELECT, WITH, VALUES); this statement would "
          "write");
    }
    return statement;
  }

  Status Check(const std::string& sql) { return Prepare(sql).status(); }

  Status Run(const std::string& sql, const std::function<Status(const arrow::Schema&)>& on_schema,
             const BatchSink& sink, QueryStats* stats) {
    log_ = {};
    for (internal::TableSource* source : sources_) source->StartStatement();
    memory_->ResetPeak();
    ZKA_ASSIGN_OR_RETURN(internal::Statement statement, Prepare(sql));
    stopped_ = Status::Ok();
    internal::ResultBuilder result(statement.get(), on_schema, sink, *memory_);
    Status status;
    while (true) {
      const int step = sqlite3_step(statement.get());
      if (step == SQLITE_ROW) {
        // Every row, not only every few thousand steps: a row of large
        // values (zeroblob, printf) takes a handful of steps and much time.
        if (check_stop_) {
          stopped_ = check_stop_();
          status = stopped_;
          if (!status.ok()) break;
        }
        status = result.AddRow();
        if (!status.ok()) break;
        continue;
      }
      if (step == SQLITE_DONE) {
        status = result.Finish();
      } else if (!stopped_.ok()) {
        status = stopped_;
      } else if (!log_.first_error.ok()) {
        status = log_.first_error;  // a source failed: its own status, with its code
      } else {
        status = StepError();
      }
      break;
    }
    if (stats != nullptr) {
      stats->rows = result.rows();
      stats->scans.assign(log_.scans.begin(), log_.scans.end());
      stats->peak_held_bytes = memory_->peak();
    }
    return status;
  }

 private:
  // znodes from the server's mirror; each of its datasets as a table of the
  // attached schema `datasets`.
  Status RegisterServer(ServerTables& server) {
    ZKA_RETURN_IF_ERROR(Register("znodes", internal::MakeRemoteZnodeSource(server, *memory_)));
    ZKA_ASSIGN_OR_RETURN(std::vector<transport::StreamInfo> listed, server.List());
    ZKA_RETURN_IF_ERROR(Execute("ATTACH DATABASE ':memory:' AS datasets"));
    for (const transport::StreamInfo& info : listed) {
      if (info.resource.segments.size() != 2 || info.resource.segments[0] != "datasets") continue;
      const std::string& name = info.resource.segments[1];
      ZKA_ASSIGN_OR_RETURN(std::unique_ptr<internal::TableSource> source,
                           internal::OpenRemoteDatasetSource(server, info));
      const std::string module = "dataset_" + std::to_string(sources_.size());
      internal::TableSource* registered = source.get();
      ZKA_RETURN_IF_ERROR(internal::RegisterModule(db_.get(), module, "datasets." + name,
                                                   /*creatable=*/true, std::move(source), &log_));
      sources_.push_back(registered);
      ZKA_RETURN_IF_ERROR(Execute("CREATE VIRTUAL TABLE datasets." +
                                  internal::QuoteIdentifier(name) + " USING " + module));
    }
    return Status::Ok();
  }

  // Why sqlite3_step failed. A value past the length limit or a query past
  // the memory limit asked for more than it may have (kOutOfRange); the rest
  // is SQL that cannot run on these values.
  Status StepError() {
    std::string message = std::string("SQL error: ") + sqlite3_errmsg(db_.get());
    const int code = sqlite3_errcode(db_.get());
    if (code == SQLITE_TOOBIG || code == SQLITE_NOMEM)
      return Status::OutOfRange(std::move(message));
    return Status::InvalidData(std::move(message));
  }

  Status Register(const std::string& name, std::unique_ptr<internal::TableSource> source) {
    internal::TableSource* registered = source.get();
    ZKA_RETURN_IF_ERROR(internal::RegisterTable(db_.get(), name, std::move(source), &log_));
    sources_.push_back(registered);  // owned by the module, which lives as long as db_
    return Status::Ok();
  }

  Status Execute(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &error);
    internal::SqliteString owned(error);
    if (rc != SQLITE_OK) {
      return Status::Internal(sql + ": " + (error ? error : sqlite3_errstr(rc)));
    }
    return Status::Ok();
  }

  // SQLite virtual machine steps between two check_stop calls.
  static constexpr int kStepsBetweenStopChecks = 10'000;

  // Declared before db_, whose tables hold on to it.
  std::unique_ptr<internal::StatementMemory> memory_;
  // Declared before db_, whose printf() and format() call it (untrusted SQL).
  std::unique_ptr<internal::BoundedPrintf> printf_;
  internal::Database db_;
  bool allow_files_ = true;
  std::string denied_;  // what UntrustedAuthorizer refused while preparing, and why
  std::function<Status()> check_stop_;
  Status stopped_;  // why check_stop stopped the running statement
  ScanLog log_;
  std::vector<internal::TableSource*> sources_;
  std::map<std::string, std::string> arrow_tables_;  // read_arrow path -> its table
};

QueryEngine::QueryEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryEngine::~QueryEngine() = default;

Result<std::unique_ptr<QueryEngine>> QueryEngine::Open(QuerySources sources) {
  auto impl = std::make_unique<Impl>();
  ZKA_RETURN_IF_ERROR(impl->Open(std::move(sources)));
  return std::unique_ptr<QueryEngine>(new QueryEngine(std::move(impl)));
}

Status QueryEngine::AddArrowFile(const std::string& name, const std::filesystem::path& path) {
  return impl_->AddArrowFile(name, path);
}

Status QueryEngine::Check(const std::string& sql) { return impl_->Check(sql); }

Status QueryEngine::Run(const std::string& sql,
                        const std::function<Status(const arrow::Schema&)>& on_schema,
                        const BatchSink& sink, QueryStats* stats) {
  return impl_->Run(sql, on_schema, sink, stats);
}

}  // namespace zkarrow::query
