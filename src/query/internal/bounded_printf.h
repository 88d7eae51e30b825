// printf() and format() for SQL from others, with their widths and
// precisions bounded.
//
// SQLite 3.40's printf('%.*c', N, 'x') with N past the value length limit
// does not stop at the limit: it returns NULL only after counting N down,
// about seven seconds of one step for N = 2,000,000,000 (measured with
// SQLITE_LIMIT_LENGTH at 64 MiB), and no progress handler or interrupt
// ends a step. A query a server answers could hold a worker that long with
// one line. For untrusted SQL both names are replaced, on that connection,
// by a function that refuses a width or precision over the limit and hands
// everything else to SQLite's own printf, so what it formats is unchanged.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "base/status.h"
#include "query/internal/sqlite_handles.h"

namespace zkarrow::query::internal {

class BoundedPrintf {
 public:
  // Replaces printf() and format() on `db`: a width or precision (a number
  // in the format or an argument taken by '*') whose magnitude is over
  // `max_width` fails the statement. REQUIRES: the result outlives `db`'s
  // use of the functions (the engine declares it before the connection).
  static Result<std::unique_ptr<BoundedPrintf>> Register(sqlite3* db, int max_width);

  BoundedPrintf(const BoundedPrintf&) = delete;
  BoundedPrintf& operator=(const BoundedPrintf&) = delete;

 private:
  BoundedPrintf() = default;
  static void Call(sqlite3_context* context, int argc, sqlite3_value** argv);
  // The first width or precision of `format` (with `argv`'s arguments for
  // '*') over max_width_, or 0 when all fit.
  int64_t FirstTooWide(const unsigned char* format, int argc, sqlite3_value** argv) const;

  int max_width_ = 0;
  // A private connection whose built-in printf formats what passed the
  // check; "SELECT printf(?1, ..., ?N)" prepared once per argument count.
  Database builtin_;
  std::vector<Statement> statements_;
};

}  // namespace zkarrow::query::internal
