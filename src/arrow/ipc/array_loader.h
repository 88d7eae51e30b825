// Rebuilds arrays from a RecordBatch message: walks the schema in pre-order,
// taking one FieldNode and the type's buffers per array from the body,
// decompressing when the message says so, and validating each array (see
// array_validate.h) before its parent sees it.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "arrow/array.h"
#include "arrow/buffer.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/reader.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// The dictionaries read so far, by id, with the value type each id carries.
class DictionaryMemo {
 public:
  // Registers every dictionary-encoded field of the schema, nested ones and
  // those inside dictionary value types included.
  Status Init(const Schema& schema);

  // The field describing the values of dictionary `id` (its type, no encoding).
  Result<const Field*> ValueField(int64_t id) const;
  // The current dictionary of `id`, or null before the first DictionaryBatch.
  std::shared_ptr<const ArrayData> Get(int64_t id) const;
  // Stores a DictionaryBatch: a replacement (refused unless allowed) or a
  // delta appended to the current values.
  Status Add(int64_t id, std::shared_ptr<const ArrayData> values, bool is_delta,
             bool allow_replacement);

 private:
  Status Register(const Field& field);

  struct Entry {
    Field value_field;
    std::shared_ptr<const ArrayData> values;
  };
  std::map<int64_t, Entry> entries_;
};

// The codec of a RecordBatch message's body.
Result<Compression> ReadBodyCompression(const fb::RecordBatch& batch);

// Loads the arrays of `fields` (one per field) from a RecordBatch message.
Result<std::vector<std::shared_ptr<const ArrayData>>> LoadArrays(
    const std::vector<Field>& fields, const fb::RecordBatch& batch,
    const std::shared_ptr<const Buffer>& body, MetadataVersion version,
    const DictionaryMemo& dictionaries, const IpcReadOptions& options);

}  // namespace zkarrow::arrow::ipc
