#include "arrow/ipc/sliced_writer.h"

#include <algorithm>
#include <string>

#include "arrow/ipc/body_writer.h"
#include "arrow/ipc/compression.h"
#include "arrow/ipc/message.h"

namespace zkarrow::arrow::ipc {

namespace {

// Generous upper bound on a batch message's flatbuffer apart from its
// FieldNodes and Buffers (16 bytes each) and custom metadata: the Message and
// RecordBatch tables, their vtables, a BodyCompression table and alignment.
constexpr int64_t kMessageOverheadBound = 512;
constexpr int64_t kMetadataEntryOverheadBound = 48;

// An upper bound on the framed size of a message with `body`, with or
// without body compression: a compressed buffer is stored raw behind its
// 8-byte prefix when compression does not make it smaller.
int64_t MessageBound(const BatchBody& body, const KeyValueMetadata& metadata) {
  int64_t bytes = 8 + kMessageOverheadBound +
                  16 * static_cast<int64_t>(body.nodes.size() + body.buffers.size()) +
                  8 * static_cast<int64_t>(body.variadic_counts.size());
  for (const auto& [key, value] : metadata) {
    bytes += kMetadataEntryOverheadBound + static_cast<int64_t>(key.size() + value.size());
  }
  for (const auto& buffer : body.buffers) {
    if (buffer->size() > 0) {
      bytes += PaddedTo(buffer->size() + kCompressionPrefixLength, kBodyAlignment);
    }
  }
  return bytes;
}

// `rows` * `limit` / `size`, without overflow.
int64_t Scaled(int64_t rows, int64_t limit, int64_t size) {
  return static_cast<int64_t>(static_cast<double>(rows) * static_cast<double>(limit) /
                              static_cast<double>(size));
}

}  // namespace

RecordBatch SliceBatch(const RecordBatch& batch, int64_t start, int64_t rows) {
  if (start == 0 && rows == batch.length) return batch;
  RecordBatch slice{batch.schema, rows, {}};
  for (const auto& column : batch.columns) {
    auto sliced = std::make_shared<ArrayData>(*column);
    sliced->offset += start;
    sliced->length = rows;
    sliced->null_count = -1;
    slice.columns.push_back(std::move(sliced));
  }
  return slice;
}

Result<int64_t> BatchMessageBound(const Schema& schema, const RecordBatch& slice,
                                  const KeyValueMetadata& metadata) {
  BatchBody body;
  for (size_t i = 0; i < slice.columns.size(); ++i) {
    ZKA_RETURN_IF_ERROR(AppendArray(schema.fields[i], *slice.columns[i], body));
  }
  return MessageBound(body, metadata);
}

Result<int64_t> DictionaryMessageBound(const Field& value_field, const ArrayData& dictionary) {
  BatchBody body;
  ZKA_RETURN_IF_ERROR(AppendArray(value_field, dictionary, body));
  return MessageBound(body, {});
}

Status WriteBatchSliced(IpcWriter& writer, const Schema& schema, const RecordBatch& batch,
                        const KeyValueMetadata& metadata, int64_t limit) {
  ZKA_ASSIGN_OR_RETURN(int64_t whole, BatchMessageBound(schema, batch, metadata));
  if (whole <= limit || batch.length <= 1) {
    if (whole > limit) {
      return Status::OutOfRange("row 0 needs " + std::to_string(whole) +
                                " bytes as one message, over the limit of " +
                                std::to_string(limit) + " bytes per served message");
    }
    return writer.WriteBatch(batch, metadata);
  }
  // Each slice's row count is guessed from the density of the one before
  // (the whole batch's for the first) and shrunk while it is too large.
  int64_t guess = Scaled(batch.length, limit, whole);
  for (int64_t start = 0; start < batch.length;) {
    int64_t rows = std::clamp<int64_t>(guess, 1, batch.length - start);
    RecordBatch slice = SliceBatch(batch, start, rows);
    ZKA_ASSIGN_OR_RETURN(int64_t size, BatchMessageBound(schema, slice, metadata));
    while (size > limit) {
      if (rows == 1) {
        return Status::OutOfRange("row " + std::to_string(start) + " needs " +
                                  std::to_string(size) +
                                  " bytes as one message, over the limit of " +
                                  std::to_string(limit) + " bytes per served message");
      }
      rows = std::clamp<int64_t>(Scaled(rows, limit, size), 1, rows - 1);
      slice = SliceBatch(batch, start, rows);
      ZKA_ASSIGN_OR_RETURN(size, BatchMessageBound(schema, slice, metadata));
    }
    start += rows;
    ZKA_RETURN_IF_ERROR(start == batch.length ? writer.WriteBatch(slice, metadata)
                                              : writer.WriteBatch(slice));
    guess = Scaled(rows, limit, size);
  }
  return Status::Ok();
}

}  // namespace zkarrow::arrow::ipc
