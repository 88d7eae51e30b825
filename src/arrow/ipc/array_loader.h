// Rebuilds arrays from a RecordBatch message in two stages. PlanBody verifies
// the message's buffer list against its body and the limits (reader.h) and
// sizes every buffer from its compression prefix, allocating nothing;
// LoadArrays then walks the schema in pre-order, taking one FieldNode and the
// type's buffers per array from the body, decompressing when the message
// says so, and validating each array (see array_validate.h) before its
// parent sees it.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "arrow/array.h"
#include "arrow/buffer.h"
#include "arrow/ipc/array_concat.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/reader.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// The dictionaries read so far, by id, with the value type each id carries.
// Together they hold at most `max_bytes` (IpcReadOptions::max_dictionary_bytes).
class DictionaryMemo {
 public:
  // Registers every dictionary-encoded field of the schema, nested ones and
  // those inside dictionary value types included.
  Status Init(const Schema& schema, int64_t max_bytes);

  // The field describing the values of dictionary `id` (its type, no encoding).
  Result<const Field*> ValueField(int64_t id) const;
  // The current dictionary of `id`, or null before the first DictionaryBatch.
  std::shared_ptr<const ArrayData> Get(int64_t id) const;
  // Stores a DictionaryBatch: a replacement (refused unless allowed) or a
  // delta appended to the current values (in place, see GrowingArray).
  Status Add(int64_t id, std::shared_ptr<const ArrayData> values, bool is_delta,
             bool allow_replacement);
  int64_t bytes_held() const { return budget_.used; }

 private:
  Status Register(const Field& field);

  struct Entry {
    Field value_field;
    std::shared_ptr<const ArrayData> values;
    std::unique_ptr<GrowingArray> growing;  // after the first delta: holds `values`
    int64_t charged = 0;                    // of budget_, for `values` or `growing`
  };
  void Drop(Entry& entry);

  std::map<int64_t, Entry> entries_;
  ByteBudget budget_;
};

// The verify stage of a RecordBatch message (also of a DictionaryBatch's
// data): every buffer lies inside the body, no two overlap, compression
// prefixes are well formed, and what decoding will allocate fits the limits.
struct BodyPlan {
  Compression compression = Compression::kNone;
  // Bytes each buffer has once decoded (decompressed when compressed).
  std::vector<int64_t> decoded_sizes;
  int64_t decoded_bytes = 0;
  // Bytes decoding allocates: decompressed buffers and aligned copies.
  int64_t allocated_bytes = 0;
};
Result<BodyPlan> PlanBody(const fb::RecordBatch& batch, const Buffer& body,
                          const IpcReadOptions& options);

// The codec of a RecordBatch message's body.
Result<Compression> ReadBodyCompression(const fb::RecordBatch& batch);

// Loads the arrays of `fields` (one per field) from a RecordBatch message.
// REQUIRES: `plan` is PlanBody's for this batch and body.
Result<std::vector<std::shared_ptr<const ArrayData>>> LoadArrays(
    const std::vector<Field>& fields, const fb::RecordBatch& batch,
    const std::shared_ptr<const Buffer>& body, const BodyPlan& plan, MetadataVersion version,
    const DictionaryMemo& dictionaries);

}  // namespace zkarrow::arrow::ipc
