// Turns in-memory arrays into the IPC body layout: one FieldNode per array in
// pre-order, and its buffers in the order the format lists them. Sliced arrays
// (offset != 0, or children of sliced parents) are normalised so that every
// written buffer starts at element 0, with offsets rebased to start at 0; a
// slice of a view array gets views and data of its own (compacted), one of a
// run-end encoded array its own run ends. List views and dense unions point
// into whole children, which are written whole.
#pragma once

#include <memory>
#include <vector>

#include "arrow/array.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

struct BatchBody {
  std::vector<fb::FieldNode> nodes;
  std::vector<std::shared_ptr<const Buffer>> buffers;  // uncompressed
  // The data buffers of each view array, in pre-order (RecordBatch's
  // variadicBufferCounts).
  std::vector<int64_t> variadic_counts;
};

// Appends `array`, whose type is described by `field` (for a dictionary-encoded
// field: the indices), to `body`.
Status AppendArray(const Field& field, const ArrayData& array, BatchBody& body);

}  // namespace zkarrow::arrow::ipc
