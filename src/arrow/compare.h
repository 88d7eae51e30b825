// Logical equality of arrays: two arrays are equal when every element has the
// same validity and value, however the bytes are laid out (offsets, slices,
// padding, values under nulls, dictionary order and indices).
#pragma once

#include <string>

#include "arrow/array.h"
#include "arrow/type.h"

namespace zkarrow::arrow {

// Compares two arrays of `field`'s type. Dictionary-encoded fields compare the
// values the indices point at. Floating point compares bit patterns, so NaN
// equals the same NaN and 0.0 differs from -0.0. When they differ and `why` is
// not null, it says where, e.g. `[3].scheme[0]: "digest" vs "world"`.
bool ArraysEqual(const Field& field, const ArrayData& left, const ArrayData& right,
                 std::string* why = nullptr);

// Compares fields, types, nullability, dictionary encodings and metadata.
bool SchemasEqual(const Schema& left, const Schema& right, std::string* why = nullptr);

// Compares schemas (fields, types, metadata, dictionary encodings) and every
// column of two batches.
bool BatchesEqual(const RecordBatch& left, const RecordBatch& right, std::string* why = nullptr);

}  // namespace zkarrow::arrow
