// Checks that an array read from untrusted bytes is consistent with its type
// before anyone indexes into it: buffer sizes against the length, offsets in
// range and increasing, child lengths against offsets, null counts against
// the validity bitmap, union type ids declared, dictionary indices in range,
// views inside their data buffers (Utf8View values UTF-8), list views inside
// their child, run ends increasing up to the length. Arrays are in IPC layout (offset 0); children
// have been validated already.
#pragma once

#include <cstdint>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// `type` is the physical type of `array`: the index type for dictionary indices.
Status ValidateLayout(const DataType& type, const ArrayData& array);

Status ValidateDictionaryIndices(const DataType& index_type, const ArrayData& indices,
                                 int64_t dictionary_length);

}  // namespace zkarrow::arrow::ipc
