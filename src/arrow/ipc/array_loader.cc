#include "arrow/ipc/array_loader.h"

#include <algorithm>
#include <string>

#include "arrow/ipc/array_concat.h"
#include "arrow/ipc/array_validate.h"
#include "arrow/ipc/compression.h"
#include "arrow/ipc/message.h"

namespace zkarrow::arrow::ipc {
namespace {

std::string Str(int64_t n) { return std::to_string(n); }

// Small buffers may legitimately compress far beyond any ratio (a run of
// zeros), so the ratio limit only applies above this size.
constexpr int64_t kRatioExemptSize = int64_t{1} << 20;
// Buffers are read in place when they start on this boundary (what the
// format asks of writers, and what our validation's multi-byte reads need);
// others are copied.
constexpr uintptr_t kReadAlignment = 8;

bool Misaligned(const uint8_t* data) {
  return reinterpret_cast<uintptr_t>(data) % kReadAlignment != 0;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? INT64_MAX : sum;
}

// The sum of an array's buffer sizes, children included (not its dictionary).
int64_t ArrayBytes(const ArrayData& array) {
  int64_t total = 0;
  for (const auto& buffer : array.buffers) total += buffer ? buffer->size() : 0;
  for (const auto& child : array.children) total += ArrayBytes(*child);
  return total;
}

class ArrayLoader {
 public:
  ArrayLoader(const fb::RecordBatch& batch, const std::shared_ptr<const Buffer>& body,
              const BodyPlan& plan, MetadataVersion version, const DictionaryMemo& dictionaries)
      : batch_(batch), body_(body), plan_(plan), version_(version), dictionaries_(dictionaries) {}

  Result<std::shared_ptr<const ArrayData>> Load(const Field& field) {
    auto loaded = LoadUnchecked(field);
    if (!loaded.ok()) return loaded.status().WithContext("field '" + EscapeText(field.name) + "'");
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
    if (next_variadic_ != VariadicCounts()) {
      return Status::InvalidData("message has " + Str(VariadicCounts()) +
                                 " variadic buffer counts, the schema's view arrays use " +
                                 Str(next_variadic_));
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
      case TypeId::kRunEndEncoded:
        // No buffers: its nulls are those of its values.
        array->null_count = 0;
        break;
      default: {
        int64_t count = BufferCount(type.id);
        if (IsViewType(type.id)) {
          ZKA_ASSIGN_OR_RETURN(int64_t variadic, NextVariadicCount());
          count += variadic;
        }
        ZKA_RETURN_IF_ERROR(LoadBuffers(*array, count));
        if (array->null_count == 0) array->buffers[0] = nullptr;
        break;
      }
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

  Status LoadBuffers(ArrayData& array, int64_t count) {
    array.buffers.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
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

  int64_t VariadicCounts() const {
    return batch_.variadicBufferCounts() ? batch_.variadicBufferCounts()->size() : 0;
  }

  // The number of data buffers of the next view array, which must be among
  // the buffers still unread.
  Result<int64_t> NextVariadicCount() {
    if (next_variadic_ >= VariadicCounts()) {
      return Status::InvalidData("message has " + Str(VariadicCounts()) +
                                 " variadic buffer counts, fewer than the schema's view arrays");
    }
    const int64_t count =
        batch_.variadicBufferCounts()->Get(static_cast<flatbuffers::uoffset_t>(next_variadic_++));
    const int64_t left = (batch_.buffers() ? batch_.buffers()->size() : 0) - next_buffer_ - 2;
    if (count < 0 || count > left) {
      return Status::InvalidData("a view array declares " + Str(count) +
                                 " variadic data buffers, the message has " +
                                 Str(std::max<int64_t>(left, 0)) + " left");
    }
    return count;
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
    // PlanBody checked the range, the prefix and the sizes.
    const fb::Buffer* spec = buffers->Get(static_cast<flatbuffers::uoffset_t>(index));
    auto buffer = body_->Slice(spec->offset(), spec->length());
    if (plan_.compression != Compression::kNone) {
      auto decompressed = DecompressBuffer(plan_.compression, buffer);
      if (!decompressed.ok()) {
        return decompressed.status().WithContext("buffer " + Str(index));
      }
      buffer = std::move(decompressed).value();
    }
    return EnsureAligned(std::move(buffer));
  }

  const fb::RecordBatch& batch_;
  const std::shared_ptr<const Buffer>& body_;
  const BodyPlan& plan_;
  MetadataVersion version_;
  const DictionaryMemo& dictionaries_;
  int64_t next_node_ = 0;
  int64_t next_buffer_ = 0;
  int64_t next_variadic_ = 0;
};

}  // namespace

Status DictionaryMemo::Init(const Schema& schema, int64_t max_bytes) {
  entries_.clear();
  budget_ = ByteBudget{0, max_bytes};
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

void DictionaryMemo::Drop(Entry& entry) {
  budget_.Release(entry.charged);
  entry.charged = 0;
  entry.growing.reset();
  entry.values.reset();
}

Status DictionaryMemo::Add(int64_t id, std::shared_ptr<const ArrayData> values, bool is_delta,
                           bool allow_replacement) {
  auto found = entries_.find(id);
  if (found == entries_.end()) {
    return Status::InvalidData("dictionary id " + Str(id) + " is not used by the schema");
  }
  Entry& entry = found->second;
  if (is_delta && entry.values) {
    if (!entry.growing) {
      // The first delta: the values move into storage that grows in place.
      ZKA_ASSIGN_OR_RETURN(entry.growing,
                           GrowingArray::Make(entry.value_field, *entry.values, budget_));
      budget_.Release(entry.charged);
      entry.charged = entry.growing->allocated_bytes();
    }
    // Growth is charged to budget_ as it happens.
    Status appended = entry.growing->Append(*values, budget_);
    entry.charged = entry.growing->allocated_bytes();
    if (!appended.ok()) {
      Drop(entry);
      return appended;
    }
    entry.values = entry.growing->View();
    return Status::Ok();
  }
  if (entry.values && !allow_replacement) {
    return Status::InvalidData("dictionary id " + Str(id) +
                               " is replaced, which the IPC file format does not allow");
  }
  Drop(entry);
  const int64_t bytes = ArrayBytes(*values);
  ZKA_RETURN_IF_ERROR(budget_.Charge(bytes, "dictionaries"));
  entry.charged = bytes;
  entry.values = std::move(values);
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

Result<BodyPlan> PlanBody(const fb::RecordBatch& batch, const Buffer& body,
                          const IpcReadOptions& options) {
  BodyPlan plan;
  ZKA_ASSIGN_OR_RETURN(plan.compression, ReadBodyCompression(batch));
  const auto* buffers = batch.buffers();
  if (buffers == nullptr) return plan;
  struct Range {
    int64_t offset;
    int64_t length;
    int64_t index;
  };
  std::vector<Range> ranges;
  const int64_t body_size = body.size();
  for (int64_t index = 0; index < buffers->size(); ++index) {
    const fb::Buffer* spec = buffers->Get(static_cast<flatbuffers::uoffset_t>(index));
    const int64_t offset = spec->offset();
    const int64_t length = spec->length();
    if (offset < 0 || length < 0 || offset > body_size || length > body_size - offset) {
      return Status::InvalidData("buffer " + Str(index) + " at [" + Str(offset) + ", +" +
                                 Str(length) + ") lies outside the body of " + Str(body_size) +
                                 " bytes");
    }
    if (length > 0) ranges.push_back({offset, length, index});
    const uint8_t* start = body.data() + offset;
    int64_t decoded = length;
    int64_t allocated = Misaligned(start) && length > 0 ? length : 0;
    if (plan.compression != Compression::kNone) {
      auto info = ReadStoredBufferInfo({start, static_cast<size_t>(length)});
      if (!info.ok()) return info.status().WithContext("buffer " + Str(index));
      decoded = info->decompressed_length;
      const int64_t payload = length - kCompressionPrefixLength;
      if (info->stored_raw) {
        allocated = Misaligned(start + kCompressionPrefixLength) && decoded > 0 ? decoded : 0;
      } else {
        allocated = decoded;
        if (decoded > options.max_batch_bytes) {
          return Status::OutOfRange("buffer " + Str(index) + " declares " + Str(decoded) +
                                    " bytes uncompressed, expected at most " +
                                    Str(options.max_batch_bytes) + " (the batch limit)");
        }
        if (decoded > kRatioExemptSize && decoded / options.max_compression_ratio > payload) {
          return Status::OutOfRange(
              "buffer " + Str(index) + " of " + Str(payload) + " compressed bytes declares " +
              Str(decoded) + " bytes uncompressed, expected at most " +
              Str(SaturatingAdd(0, payload * options.max_compression_ratio)) +
              " (compression ratio limit " + Str(options.max_compression_ratio) + ")");
        }
      }
    }
    plan.decoded_sizes.push_back(decoded);
    plan.decoded_bytes = SaturatingAdd(plan.decoded_bytes, decoded);
    plan.allocated_bytes = SaturatingAdd(plan.allocated_bytes, allocated);
  }
  // One stored range read twice would be decompressed or copied twice: a
  // few bytes could then claim the whole budget many times over.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.index < b.index;
  });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range& before = ranges[i - 1];
    const Range& after = ranges[i];
    if (after.offset < before.offset + before.length) {
      return Status::InvalidData("buffer " + Str(after.index) + " at [" + Str(after.offset) +
                                 ", +" + Str(after.length) + ") overlaps buffer " +
                                 Str(before.index) + " at [" + Str(before.offset) + ", +" +
                                 Str(before.length) + "); expected disjoint buffers");
    }
  }
  if (plan.allocated_bytes > options.max_batch_bytes) {
    return Status::OutOfRange("decoding the body needs " + Str(plan.allocated_bytes) +
                              " bytes (decompressed and realigned buffers), expected at most " +
                              Str(options.max_batch_bytes) + " (the batch limit)");
  }
  return plan;
}

Result<std::vector<std::shared_ptr<const ArrayData>>> LoadArrays(
    const std::vector<Field>& fields, const fb::RecordBatch& batch,
    const std::shared_ptr<const Buffer>& body, const BodyPlan& plan, MetadataVersion version,
    const DictionaryMemo& dictionaries) {
  if (batch.length() < 0) {
    return Status::InvalidData("negative record batch length " + Str(batch.length()));
  }
  ArrayLoader loader(batch, body, plan, version, dictionaries);
  std::vector<std::shared_ptr<const ArrayData>> arrays;
  for (const Field& field : fields) {
    ZKA_ASSIGN_OR_RETURN(auto array, loader.Load(field));
    if (array->length != batch.length()) {
      return Status::InvalidData("column '" + EscapeText(field.name) + "' has " +
                                 Str(array->length) + " rows, the record batch " +
                                 Str(batch.length()));
    }
    arrays.push_back(std::move(array));
  }
  ZKA_RETURN_IF_ERROR(loader.CheckAllConsumed());
  return arrays;
}

}  // namespace zkarrow::arrow::ipc
