// Prints record batches as text, for `zkarrow cat`:
//   table: aligned columns under a header, numbers right-aligned, nulls as
//          "null", cells longer than max_cell_width cut with "…", control
//          characters shown escaped (\n, \t, \xNN), a "(N rows)" footer.
//          The table is laid out once all rows are in, so Finish() prints it.
//   csv:   a header line of field names, then one line per row; fields quoted
//          as RFC 4180 says (when they hold a comma, quote, CR or LF, with
//          quotes doubled); a null is an empty field, an empty string is "".
//          Lines end in \n.
//   json:  JSON Lines, one object per row, keyed by field name.
// Values are rendered as value_format.h describes.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>

#include "arrow/array.h"
#include "arrow/type.h"

namespace zkarrow::arrow::print {

enum class OutputFormat : uint8_t { kTable, kCsv, kJson };

struct PrintOptions {
  OutputFormat format = OutputFormat::kTable;
  int64_t max_cell_width = 40;  // table only; in characters (code points)
};

class BatchPrinter {
 public:
  // `schema` is the schema of every batch printed.
  static std::unique_ptr<BatchPrinter> Make(const Schema& schema, PrintOptions options,
                                            std::ostream& out);
  virtual ~BatchPrinter() = default;

  // Prints the first `rows` rows of `batch` (at most batch.length).
  virtual void Print(const RecordBatch& batch, int64_t rows) = 0;
  // Prints what is still buffered.
  virtual void Finish() = 0;
};

}  // namespace zkarrow::arrow::print
