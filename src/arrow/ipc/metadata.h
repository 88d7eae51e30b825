// Conversion between zkarrow's Schema and the flatbuffers Schema table, in
// both directions. Reading checks every parameter, since it comes from
// untrusted bytes; writing trusts the caller's Schema but refuses what the
// format cannot express.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include "arrow/ipc/flatbuf.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

using FbKeyValues = flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>;

Result<flatbuffers::Offset<fb::Schema>> WriteSchema(flatbuffers::FlatBufferBuilder& fbb,
                                                    const Schema& schema);
// Returns a null offset (field absent) for empty metadata.
flatbuffers::Offset<FbKeyValues> WriteMetadata(flatbuffers::FlatBufferBuilder& fbb,
                                               const KeyValueMetadata& metadata);

Result<Schema> ReadSchema(const fb::Schema& schema, int max_nesting_depth);
KeyValueMetadata ReadMetadata(const FbKeyValues* key_values);

}  // namespace zkarrow::arrow::ipc
