// Owners of SQLite's handles, so that every exit path closes them.
#pragma once

#include <sqlite3.h>

#include <memory>

namespace zkarrow::query::internal {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
struct FreeSqliteMemory {
  void operator()(void* memory) const { sqlite3_free(memory); }
};

using Database = std::unique_ptr<sqlite3, CloseDatabase>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;
using SqliteString = std::unique_ptr<char, FreeSqliteMemory>;

}  // namespace zkarrow::query::internal
