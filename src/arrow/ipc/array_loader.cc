#include "arrow/ipc/array_loader.h"

#include <string>

#include "arrow/ipc/array_concat.h"
#include "arrow/ipc/array_validate.h"
#include "arrow/ipc/compression.h"
#include "arrow/ipc/message.h"

namespace zkarrow::arrow::ipc {
namespace {

std::string Str(int64_t n) { return std::to_string(n); }

class ArrayLoader {
 public:
  ArrayLoader(const fb::RecordBatch& batch, const std::shared_ptr<const Buffer>& body,
              Compression compression, MetadataVersion version, const DictionaryMemo& dictionaries,
              const IpcReadOptions& options)
      : batch_(batch),
        body_(body),
        compression_(compression),
        version_(version),
        dictionaries_(dictionaries),
        options_(options) {}

  Result<std::shared_ptr<const ArrayData>> Load(const Field& field) {
    auto loaded = LoadUnchecked(field);
    if (!loaded.ok()) return loaded.status().WithContext("field '" + field.name + "'");
    return loaded;
  }

  // Every node and buffer of the message must have been used.
  Status CheckAllConsumed() const {
    int64_t nodes = batch_.nodes() ? batch_.nodes()->size() : 0;
    int64_t buffers = batch_.buffers() ? batch_.buffers()->size() : 0;
    if (next_node_ != nodes || next_buffer_ != buffers) {
      return Status::InvalidData("message has " + Str(nodes) + " field nodes and " + Str(buffers) +
                                 " buffers, the schema uses " + Str(next_node_) + " and " +
                                 Str(next_buffer_));
    }
    return Status::Ok();
  }

 private:
  Result<std::shared_ptr<const ArrayData>> LoadUnchecked(const Field& field) {
    const DataType& type = field.dictionary ? field.dictionary->index_type : field.type;
    auto array = std::make_shared<ArrayData>();
    ZKA_ASSIGN_OR_RETURN(const fb::FieldNode* node, NextNode());
    array->length = node->length();
    array->null_count = node->null_count();
    if (array->length < 0 || array->null_count < 0 || array->null_count > array->length) {
      return Status::InvalidData("field node has length " + Str(array->length) +
                                 " and null count " + Str(array->null_count));
    }
    switch (type.id) {
      case TypeId::kNull:
        array->null_count = array->length;
        break;
      case TypeId::kUnion:
        // Before V5, unions had a validity bitmap; it carries nothing we keep.
        if (version_ < MetadataVersion::kV5) ZKA_RETURN_IF_ERROR(NextBuffer().status());
        array->null_count = 0;
        ZKA_RETURN_IF_ERROR(LoadBuffers(*array, BufferCount(type.id, type.union_mode)));
        break;
      default:
        ZKA_RETURN_IF_ERROR(LoadBuffers(*array, BufferCount(type.id)));
        if (array->null_count == 0) array->buffers[0] = nullptr;
        break;
    }
    for (const Field& child : type.children) {
      ZKA_ASSIGN_OR_RETURN(auto child_array, Load(child));
      array->children.push_back(std::move(child_array));
    }
    ZKA_RETURN_IF_ERROR(ValidateLayout(type, *array));
    if (field.dictionary) {
      int64_t id = field.dictionary->id;
      array->dictionary = dictionaries_.Get(id);
      if (!array->dictionary) {
        return Status::InvalidData("dictionary id " + Str(id) +
                                   " is used before any DictionaryBatch defined it");
      }
      ZKA_RETURN_IF_ERROR(ValidateDictionaryIndices(type, *array, array->dictionary->length));
    }
    return std::shared_ptr<const ArrayData>(std::move(array));
  }

  Status LoadBuffers(ArrayData& array, int count) {
    for (int i = 0; i < count; ++i) {
      ZKA_ASSIGN_OR_RETURN(auto buffer, NextBuffer());
      array.buffers.push_back(std::move(buffer));
    }
    // An empty array may omit its offsets; give readers the one offset they
    // expect (harmless for the other types' second buffer).
    if (count >= 2 && array.length == 0 && array.buffers[1]->size() == 0) {
      array.buffers[1] = Buffer::Zeroed(8);
    }
    return Status::Ok();
  }

  Result<const fb::FieldNode*> NextNode() {
    const auto* nodes = batch_.nodes();
    if (nodes == nullptr || next_node_ >= nodes->size()) {
      return Status::InvalidData("message has fewer field nodes than the schema needs");
    }
    return nodes->Get(static_cast<flatbuffers::uoffset_t>(next_node_++));
  }

  Result<std::shared_ptr<const Buffer>> NextBuffer() {
    const auto* buffers = batch_.buffers();
    if (buffers == nullptr || next_buffer_ >= buffers->size()) {
      return Status::InvalidData("message has fewer buffers than the schema needs");
    }
    int64_t index = next_buffer_++;
    const fb::Buffer* spec = buffers->Get(static_cast<flatbuffers::uoffset_t>(index));
    int64_t offset = spec->offset();
    int64_t length = spec->length();
    if (offset < 0 || length < 0 || offset > body_->size() || length > body_->size() - offset) {
      return Status::InvalidData("buffer " + Str(index) + " at [" + Str(offset) + ", +" +
                                 Str(length) + ") lies outside the body of " + Str(body_->size()) +
                                 " bytes");
    }
    auto buffer = body_->Slice(offset, length);
    if (compression_ != Compression::kNone) {
      auto decompressed =
          DecompressBuffer(compression_, buffer,
                           {options_.max_decompressed_buffer_size, options_.max_compression_ratio});
      if (!decompressed.ok()) {
        return decompressed.status().WithContext("buffer " + Str(index));
      }
      buffer = std::move(decompressed).value();
    }
    return EnsureAligned(std::move(buffer));
  }

  const fb::RecordBatch& batch_;
  const std::shared_ptr<const Buffer>& body_;
  Compression compression_;
  MetadataVersion version_;
  const DictionaryMemo& dictionaries_;
  const IpcReadOptions& options_;
  int64_t next_node_ = 0;
  int64_t next_buffer_ = 0;
};

}  // namespace

Status DictionaryMemo::Init(const Schema& schema) {
  entries_.clear();
  for (const Field& field : schema.fields) ZKA_RETURN_IF_ERROR(Register(field));
  return Status::Ok();
}

Status DictionaryMemo::Register(const Field& field) {
  if (field.dictionary) {
    Field value_field = field;
    value_field.dictionary.reset();
    int64_t id = field.dictionary->id;
    auto [entry, inserted] = entries_.try_emplace(id, Entry{value_field, nullptr});
    if (!inserted && entry->second.value_field.type != value_field.type) {
      return Status::InvalidData("dictionary id " + Str(id) +
                                 " is used by fields of different value types");
    }
  }
  for (const Field& child : field.type.children) ZKA_RETURN_IF_ERROR(Register(child));
  return Status::Ok();
}

Result<const Field*> DictionaryMemo::ValueField(int64_t id) const {
  auto entry = entries_.find(id);
  if (entry == entries_.end()) {
    return Status::InvalidData("dictionary id " + Str(id) + " is not used by the schema");
  }
  return &entry->second.value_field;
}

std::shared_ptr<const ArrayData> DictionaryMemo::Get(int64_t id) const {
  auto entry = entries_.find(id);
  return entry == entries_.end() ? nullptr : entry->second.values;
}

Status DictionaryMemo::Add(int64_t id, std::shared_ptr<const ArrayData> values, bool is_delta,
                           bool allow_replacement) {
  auto entry = entries_.find(id);
  if (entry == entries_.end()) {
    return Status::InvalidData("dictionary id " + Str(id) + " is not used by the schema");
  }
  std::shared_ptr<const ArrayData>& current = entry->second.values;
  if (is_delta && current) {
    ZKA_ASSIGN_OR_RETURN(current, Concatenate(entry->second.value_field, *current, *values));
    return Status::Ok();
  }
  if (current && !allow_replacement) {
    return Status::InvalidData("dictionary id " + Str(id) +
                               " is replaced, which the IPC file format does not allow");
  }
  current = std::move(values);
  return Status::Ok();
}

Result<Compression> ReadBodyCompression(const fb::RecordBatch& batch) {
  const fb::BodyCompression* compression = batch.compression();
  if (compression == nullptr) return Compression::kNone;
  if (compression->method() != fb::BodyCompressionMethod::BUFFER) {
    return Status::NotImplemented("body compression method " +
                                  Str(static_cast<int>(compression->method())) +
                                  " is not supported (only BUFFER)");
  }
  switch (compression->codec()) {
    case fb::CompressionType::LZ4_FRAME:
      return Compression::kLz4Frame;
    case fb::CompressionType::ZSTD:
      return Compression::kZstd;
  }
  return Status::NotImplemented("unknown body compression codec " +
                                Str(static_cast<int>(compression->codec())));
}

Result<std::vector<std::shared_ptr<const ArrayData>>> LoadArrays(
    const std::vector<Field>& fields, const fb::RecordBatch& batch,
    const std::shared_ptr<const Buffer>& body, MetadataVersion version,
    const DictionaryMemo& dictionaries, const IpcReadOptions& options) {
  if (batch.length() < 0) {
    return Status::InvalidData("negative record batch length " + Str(batch.length()));
  }
  if (batch.variadicBufferCounts() != nullptr && batch.variadicBufferCounts()->size() != 0) {
    return Status::NotImplemented("variadic buffers (view types) are not supported");
  }
  ZKA_ASSIGN_OR_RETURN(Compression compression, ReadBodyCompression(batch));
  ArrayLoader loader(batch, body, compression, version, dictionaries, options);
  std::vector<std::shared_ptr<const ArrayData>> arrays;
  for (const Field& field : fields) {
    ZKA_ASSIGN_OR_RETURN(auto array, loader.Load(field));
    if (array->length != batch.length()) {
      return Status::InvalidData("column '" + field.name + "' has " + Str(array->length) +
                                 " rows, the record batch " + Str(batch.length()));
    }
    arrays.push_back(std::move(array));
  }
  ZKA_RETURN_IF_ERROR(loader.CheckAllConsumed());
  return arrays;
}

}  // namespace zkarrow::arrow::ipc
