// Appends one array to another of the same type, for dictionary deltas.
#pragma once

#include <memory>

#include "arrow/array.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// A new array holding the elements of `first` followed by those of `second`;
// both are typed by `field` (indices of `field`'s dictionary encoding, if
// any) and must have passed validation. Nested dictionaries of the result
// are those of `second`.
Result<std::shared_ptr<const ArrayData>> Concatenate(const Field& field, const ArrayData& first,
                                                     const ArrayData& second);

}  // namespace zkarrow::arrow::ipc
