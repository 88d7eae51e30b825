// read_arrow('FILE') names a table whose columns depend on the file, which
// SQLite's table-valued functions cannot express (their columns are fixed
// when the statement is prepared). So each call is found in the SQL text
// and replaced with the name of a table registered for that file.
// dataset('NAME') (a server's dataset) is found the same way and replaced
// with datasets."NAME".
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/status.h"

namespace zkarrow::query::internal {

struct ArrowCall {
  size_t begin = 0;  // in the original SQL: the call, "read_arrow" to ")"
  size_t end = 0;
  std::string function;  // "read_arrow" or "dataset"
  std::string path;      // the literal's value
};

// The read_arrow and dataset calls of `sql`, outside string literals, quoted identifiers
// and comments. A call whose argument is not one string literal fails.
Result<std::vector<ArrowCall>> FindArrowCalls(const std::string& sql);

// `sql` with each call replaced by names[i].
std::string ReplaceArrowCalls(const std::string& sql, const std::vector<ArrowCall>& calls,
                              const std::vector<std::string>& names);

// "name" with its double quotes doubled: any text as an SQL identifier.
std::string QuoteIdentifier(const std::string& name);

// Whether `sql` has a compound SELECT (UNION, INTERSECT or EXCEPT outside
// string literals, quoted identifiers and comments), anywhere in it: SQLite
// names a compound's result columns after its first SELECT's, whose table
// columns the other SELECTs' rows need not come from.
bool HasCompoundSelect(const std::string& sql);

// Maps an offset in the replaced SQL back to the original.
size_t OriginalOffset(size_t offset, const std::vector<ArrowCall>& calls,
                      const std::vector<std::string>& names);

}  // namespace zkarrow::query::internal
