// Record batches cut into row slices so that every message fits a size
// limit: what a transport with a message size limit needs (Arrow Flight over
// gRPC, whose clients refuse messages over 4 MiB by default), for batches
// that were made without one (uploads, files).
#pragma once

#include <cstdint>

#include "arrow/array.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// The rows [start, start + rows) of `batch`, sharing its buffers. The null
// counts of a slice are unknown (-1): the body writer counts them.
// REQUIRES: 0 <= start, 0 <= rows, start + rows <= batch.length.
RecordBatch SliceBatch(const RecordBatch& batch, int64_t start, int64_t rows);

// Upper bounds on the framed size of the message that writes `batch` (with
// `metadata`), or a dictionary of `value_field`, with or without body
// compression (a compressed buffer is stored raw behind its 8-byte prefix
// when compression does not make it smaller).
Result<int64_t> BatchMessageBound(const Schema& schema, const RecordBatch& batch,
                                  const KeyValueMetadata& metadata);
Result<int64_t> DictionaryMessageBound(const Field& value_field, const ArrayData& dictionary);

// Writes `batch` as row slices whose messages are at most `limit` bytes
// framed, with `metadata` on the last slice (where writers put what they
// know at the end of a batch). A single row over the limit is OutOfRange,
// naming the row and the sizes. Dictionaries are the writer's: check them
// with DictionaryMessageBound. A dense union's children are written whole
// in every slice, so slicing cannot shrink such a column.
Status WriteBatchSliced(IpcWriter& writer, const Schema& schema, const RecordBatch& batch,
                        const KeyValueMetadata& metadata, int64_t limit);

}  // namespace zkarrow::arrow::ipc
