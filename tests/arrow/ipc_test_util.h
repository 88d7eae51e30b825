// Hand-made arrays of every Arrow 1.0 type for the IPC tests, built directly
// in the IPC buffer layout so the tests control offsets, slices and unions.
#pragma once

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "arrow/buffer.h"
#include "arrow/compare.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"

namespace zkarrow::arrow::ipc_test {

using ArrayPtr = std::shared_ptr<const ArrayData>;

template <typename T>
std::shared_ptr<const Buffer> BufferOf(const std::vector<T>& values) {
  return Buffer::CopyOf(
      {reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(T)});
}

// Validity bitmap for `valid`, or null when all are valid.
inline std::shared_ptr<const Buffer> Bitmap(const std::vector<bool>& bits, bool drop_if_all_set) {
  bool all = true;
  std::vector<uint8_t> bytes((bits.size() + 7) / 8, 0);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i]) bytes[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    all = all && bits[i];
  }
  if (all && drop_if_all_set) return nullptr;
  return Buffer::CopyOf(bytes);
}

inline ArrayPtr WithValidity(std::vector<std::shared_ptr<const Buffer>> rest,
                             const std::vector<bool>& valid, std::vector<ArrayPtr> children = {}) {
  auto array = std::make_shared<ArrayData>();
  array->length = static_cast<int64_t>(valid.size());
  for (bool v : valid) array->null_count += !v;
  array->buffers.push_back(Bitmap(valid, true));
  for (auto& buffer : rest) array->buffers.push_back(std::move(buffer));
  array->children = std::move(children);
  return array;
}

template <typename T>
ArrayPtr Primitive(const std::vector<std::optional<T>>& values) {
  std::vector<T> raw;
  std::vector<bool> valid;
  for (const auto& v : values) {
    raw.push_back(v.value_or(T{}));
    valid.push_back(v.has_value());
  }
  return WithValidity({BufferOf(raw)}, valid);
}

inline ArrayPtr Bools(const std::vector<std::optional<bool>>& values) {
  std::vector<bool> bits;
  std::vector<bool> valid;
  for (const auto& v : values) {
    bits.push_back(v.value_or(false));
    valid.push_back(v.has_value());
  }
  return WithValidity({Bitmap(bits, false)}, valid);
}

// Fixed-width elements given as byte strings of `width` bytes each.
inline ArrayPtr FixedBytes(int width, const std::vector<std::optional<std::string>>& values) {
  std::string raw;
  std::vector<bool> valid;
  for (const auto& v : values) {
    raw += v ? *v : std::string(static_cast<size_t>(width), '\0');
    valid.push_back(v.has_value());
  }
  return WithValidity({Buffer::CopyOf({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()})},
                      valid);
}

template <typename Offset = int32_t>
ArrayPtr Strings(const std::vector<std::optional<std::string>>& values) {
  std::vector<Offset> offsets = {0};
  std::string data;
  std::vector<bool> valid;
  for (const auto& v : values) {
    if (v) data += *v;
    offsets.push_back(static_cast<Offset>(data.size()));
    valid.push_back(v.has_value());
  }
  return WithValidity(
      {BufferOf(offsets),
       Buffer::CopyOf({reinterpret_cast<const uint8_t*>(data.data()), data.size()})},
      valid);
}

// A list array whose element i has sizes[i] child elements (nullopt = null list).
template <typename Offset = int32_t>
ArrayPtr Lists(const std::vector<std::optional<int>>& sizes, ArrayPtr child) {
  std::vector<Offset> offsets = {0};
  std::vector<bool> valid;
  for (const auto& s : sizes) {
    offsets.push_back(static_cast<Offset>(offsets.back() + s.value_or(0)));
    valid.push_back(s.has_value());
  }
  return WithValidity({BufferOf(offsets)}, valid, {std::move(child)});
}

inline ArrayPtr Structs(const std::vector<bool>& valid, std::vector<ArrayPtr> children) {
  return WithValidity({}, valid, std::move(children));
}

inline ArrayPtr Nulls(int64_t length) {
  auto array = std::make_shared<ArrayData>();
  array->length = length;
  array->null_count = length;
  return array;
}

inline ArrayPtr SparseUnion(const std::vector<int8_t>& type_ids, std::vector<ArrayPtr> children) {
  auto array = std::make_shared<ArrayData>();
  array->length = static_cast<int64_t>(type_ids.size());
  array->buffers = {BufferOf(type_ids)};
  array->children = std::move(children);
  return array;
}

inline ArrayPtr DenseUnion(const std::vector<int8_t>& type_ids, const std::vector<int32_t>& offsets,
                           std::vector<ArrayPtr> children) {
  auto array = std::make_shared<ArrayData>();
  array->length = static_cast<int64_t>(type_ids.size());
  array->buffers = {BufferOf(type_ids), BufferOf(offsets)};
  array->children = std::move(children);
  return array;
}

inline ArrayPtr WithDictionary(ArrayPtr indices, ArrayPtr dictionary) {
  auto array = std::make_shared<ArrayData>(*indices);
  array->dictionary = std::move(dictionary);
  return array;
}

// A slice sharing `array`'s buffers: offset moves, null count recomputed by the
// caller's knowledge (passed in).
inline ArrayPtr Sliced(const ArrayPtr& array, int64_t offset, int64_t length, int64_t null_count) {
  auto sliced = std::make_shared<ArrayData>(*array);
  sliced->offset += offset;
  sliced->length = length;
  sliced->null_count = null_count;
  return sliced;
}

inline DataType Typed(TypeId id) {
  DataType type;
  type.id = id;
  return type;
}

// Writes `batches` as a stream or file into memory.
inline Result<std::shared_ptr<const Buffer>> WriteIpc(
    const Schema& schema, const std::vector<RecordBatch>& batches, bool file,
    ipc::IpcWriteOptions options = {}, const KeyValueMetadata& message_metadata = {}) {
  BufferOutputStream sink;
  ZKA_ASSIGN_OR_RETURN(auto writer, file ? ipc::IpcWriter::OpenFile(sink, schema, options)
                                         : ipc::IpcWriter::OpenStream(sink, schema, options));
  for (const auto& batch : batches)
    ZKA_RETURN_IF_ERROR(writer->WriteBatch(batch, message_metadata));
  ZKA_RETURN_IF_ERROR(writer->Close());
  return sink.Finish();
}

struct ReadBack {
  std::shared_ptr<const Schema> schema;
  std::vector<RecordBatch> batches;
};

inline Result<ReadBack> ReadStreamBytes(std::span<const uint8_t> bytes,
                                        ipc::IpcReadOptions options = {}) {
  ZKA_ASSIGN_OR_RETURN(
      auto reader, ipc::StreamReader::Open(std::make_unique<BufferInputStream>(bytes), options));
  ReadBack out{reader->shared_schema(), {}};
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) return out;
    out.batches.push_back(std::move(*batch));
  }
}

inline Result<ReadBack> ReadFileBytes(std::shared_ptr<const Buffer> bytes,
                                      ipc::IpcReadOptions options = {}) {
  ZKA_ASSIGN_OR_RETURN(auto reader, ipc::FileReader::Open(std::move(bytes), options));
  ReadBack out{reader->shared_schema(), {}};
  for (int i = 0; i < reader->num_batches(); ++i) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->ReadBatch(i));
    out.batches.push_back(std::move(batch));
  }
  return out;
}

inline Result<ReadBack> ReadAnyBytes(std::shared_ptr<const Buffer> bytes, bool file,
                                     ipc::IpcReadOptions options = {}) {
  return file ? ReadFileBytes(std::move(bytes), options) : ReadStreamBytes(bytes->bytes(), options);
}

}  // namespace zkarrow::arrow::ipc_test
