// Dictionary values that grow by delta DictionaryBatches.
#pragma once

#include <cstdint>
#include <memory>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// Bytes allocated against a limit (the dictionaries a reader holds).
struct ByteBudget {
  int64_t used = 0;
  int64_t limit = 0;

  // OutOfRange ("... needs N bytes, expected at most LIMIT") unless `more`
  // bytes fit; charges them when they do.
  Status Charge(int64_t more, const char* what);
  void Release(int64_t bytes) { used -= bytes; }
};

// The values of one dictionary, appended to delta by delta. The first delta
// copies the values once into storage with room to spare; every later delta
// is appended in place, and storage that is full doubles. n deltas thus cost
// time linear in the final size (a fresh concatenation per delta costs its
// square). Views handed out earlier stay valid: appends write only past
// their end, and storage that grows is copied, not moved (the old block
// lives as long as a view holds it).
// Not thread-safe; the last byte of a view's validity bitmap may be written
// (its bits past the view's length) by the next Append, so a view is not
// read on another thread while its reader reads on.
class GrowingArray {
 public:
  // REQUIRES: `values` passed validation as an array of `field` (the value
  // field of a dictionary: its own encoding, if any, is that of nested
  // dictionaries).
  static Result<std::unique_ptr<GrowingArray>> Make(const Field& field, const ArrayData& values,
                                                    ByteBudget& budget);
  ~GrowingArray();

  // Appends a validated array of the same field; offsets that would pass
  // their type's maximum and sizes past the budget are errors. Nested
  // dictionaries of the result are those of the last delta. After an error
  // the array is unusable (the reader that owns it has failed).
  Status Append(const ArrayData& delta, ByteBudget& budget);
  // As Append, for elements [from, from + n) of `source` (relative to its
  // offset). REQUIRES: 0 <= from, from + n <= source.length.
  Status AppendRange(const ArrayData& source, int64_t from, int64_t n, ByteBudget& budget);

  // The values so far, as an array in IPC layout sharing this storage.
  std::shared_ptr<const ArrayData> View() const;

  // Capacity of every block this array currently holds (charged to the budget).
  int64_t allocated_bytes() const;

  struct Node;

 private:
  GrowingArray();
  Field field_;
  std::unique_ptr<Node> root_;
};

}  // namespace zkarrow::arrow::ipc
