#include "arrow/ipc/writer.h"

#include <array>
#include <map>
#include <string>
#include <vector>

#include "arrow/ipc/body_writer.h"
#include "arrow/ipc/compression.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/metadata.h"

namespace zkarrow::arrow::ipc {
namespace {

using flatbuffers::FlatBufferBuilder;

// The dictionary-encoded arrays of a batch, inner dictionaries before the
// outer ones that refer to them (the order readers need them in).
struct DictionaryUse {
  const Field* field;  // the dictionary-encoded field
  std::shared_ptr<const ArrayData> dictionary;
};

Status CollectDictionaries(const Field& field, const ArrayData& array,
                           std::vector<DictionaryUse>& uses) {
  const std::vector<Field>& children = field.type.children;
  if (field.dictionary) {
    if (!array.dictionary) {
      return Status::InvalidArgument("field '" + field.name +
                                     "' is dictionary-encoded but its array has no dictionary");
    }
    // The dictionary values may themselves hold dictionary-encoded children.
    for (size_t i = 0; i < children.size() && i < array.dictionary->children.size(); ++i) {
      if (array.dictionary->children[i]) {
        ZKA_RETURN_IF_ERROR(CollectDictionaries(children[i], *array.dictionary->children[i], uses));
      }
    }
    uses.push_back({&field, array.dictionary});
    return Status::Ok();
  }
  for (size_t i = 0; i < children.size() && i < array.children.size(); ++i) {
    if (array.children[i])
      ZKA_RETURN_IF_ERROR(CollectDictionaries(children[i], *array.children[i], uses));
  }
  return Status::Ok();
}

}  // namespace

class IpcWriter::Impl {
 public:
  Impl(OutputStream& sink, const Schema& schema, IpcWriteOptions options, bool is_file)
      : sink_(sink), schema_(schema), options_(options), is_file_(is_file) {}

  Status Start() {
    if (options_.compression != Compression::kNone &&
        options_.compression != Compression::kLz4Frame &&
        options_.compression != Compression::kZstd) {
      return Status::InvalidArgument("unknown compression codec");
    }
    if (is_file_) {
      std::array<uint8_t, 8> magic{};
      std::copy(std::begin(kFileMagic), std::end(kFileMagic), magic.begin());
      ZKA_RETURN_IF_ERROR(Write(magic));
    }
    FlatBufferBuilder fbb;
    ZKA_ASSIGN_OR_RETURN(auto schema, WriteSchema(fbb, schema_));
    fbb.Finish(fb::CreateMessage(fbb, fb::MetadataVersion::V5, fb::MessageHeader::Schema,
                                 schema.Union(), 0));
    return WriteMetadata(fbb.GetBufferSpan()).status();
  }

  Status WriteBatch(const RecordBatch& batch, const KeyValueMetadata& message_metadata) {
    ZKA_RETURN_IF_ERROR(CheckOpen());
    ZKA_RETURN_IF_ERROR(CheckBatch(batch));
    std::vector<DictionaryUse> uses;
    for (size_t i = 0; i < batch.columns.size(); ++i) {
      ZKA_RETURN_IF_ERROR(CollectDictionaries(schema_.fields[i], *batch.columns[i], uses));
    }
    for (const DictionaryUse& use : uses) ZKA_RETURN_IF_ERROR(WriteDictionaryIfNew(use));

    BatchBody body;
    for (size_t i = 0; i < batch.columns.size(); ++i) {
      ZKA_RETURN_IF_ERROR(AppendArray(schema_.fields[i], *batch.columns[i], body));
    }
    ZKA_ASSIGN_OR_RETURN(fb::Block block,
                         WriteBodyMessage(body, batch.length, message_metadata, nullptr));
    record_blocks_.push_back(block);
    return Status::Ok();
  }

  Status WriteDictionaryDelta(int64_t id, const ArrayData& delta,
                              std::shared_ptr<const ArrayData> combined) {
    ZKA_RETURN_IF_ERROR(CheckOpen());
    if (is_file_) {
      return Status::InvalidArgument("dictionary deltas are written to streams only");
    }
    auto known = dictionaries_.find(id);
    if (known == dictionaries_.end()) {
      return Status::InvalidArgument("dictionary delta for id " + std::to_string(id) +
                                     " before any batch used that dictionary");
    }
    ZKA_ASSIGN_OR_RETURN(const Field* field, FindDictionaryField(id));
    ZKA_RETURN_IF_ERROR(WriteDictionary(*field, id, delta, /*is_delta=*/true));
    known->second = std::move(combined);
    return Status::Ok();
  }

  Status Close() {
    ZKA_RETURN_IF_ERROR(CheckOpen());
    closed_ = true;
    ZKA_RETURN_IF_ERROR(WriteEndOfStream(sink_));
    position_ += 8;
    if (is_file_) ZKA_RETURN_IF_ERROR(WriteFooter());
    return sink_.Flush();
  }

 private:
  Status CheckOpen() const {
    return closed_ ? Status::InvalidArgument("the IPC writer is closed") : Status::Ok();
  }

  Status CheckBatch(const RecordBatch& batch) const {
    if (batch.schema && *batch.schema != schema_) {
      return Status::InvalidArgument("record batch schema differs from the writer's schema");
    }
    if (batch.columns.size() != schema_.fields.size()) {
      return Status::InvalidArgument("record batch has " + std::to_string(batch.columns.size()) +
                                     " columns, the schema " +
                                     std::to_string(schema_.fields.size()));
    }
    for (size_t i = 0; i < batch.columns.size(); ++i) {
      if (!batch.columns[i] || batch.columns[i]->length != batch.length) {
        return Status::InvalidArgument("column '" + schema_.fields[i].name +
                                       "' is missing or its length differs from the batch's");
      }
    }
    return Status::Ok();
  }

  Result<const Field*> FindDictionaryField(int64_t id) const {
    std::vector<const Field*> pending;
    for (const Field& field : schema_.fields) pending.push_back(&field);
    while (!pending.empty()) {
      const Field* field = pending.back();
      pending.pop_back();
      if (field->dictionary && field->dictionary->id == id) return field;
      for (const Field& child : field->type.children) pending.push_back(&child);
    }
    return Status::InvalidArgument("no field uses dictionary id " + std::to_string(id));
  }

  Status WriteDictionaryIfNew(const DictionaryUse& use) {
    int64_t id = use.field->dictionary->id;
    auto known = dictionaries_.find(id);
    if (known != dictionaries_.end()) {
      if (known->second == use.dictionary) return Status::Ok();
      if (is_file_) {
        return Status::InvalidArgument(
            "field '" + use.field->name + "': dictionary " + std::to_string(id) +
            " changed, but the IPC file format cannot replace a dictionary (use a stream)");
      }
    }
    ZKA_RETURN_IF_ERROR(WriteDictionary(*use.field, id, *use.dictionary, /*is_delta=*/false));
    dictionaries_[id] = use.dictionary;
    return Status::Ok();
  }

  Status WriteDictionary(const Field& field, int64_t id, const ArrayData& values, bool is_delta) {
    Field value_field = field;
    value_field.dictionary.reset();
    BatchBody body;
    ZKA_RETURN_IF_ERROR(AppendArray(value_field, values, body));
    DictionaryTarget target{id, is_delta};
    ZKA_ASSIGN_OR_RETURN(fb::Block block, WriteBodyMessage(body, values.length, {}, &target));
    dictionary_blocks_.push_back(block);
    return Status::Ok();
  }

  struct DictionaryTarget {
    int64_t id;
    bool is_delta;
  };

  // Writes a RecordBatch message, or a DictionaryBatch when `dictionary` is set.
  Result<fb::Block> WriteBodyMessage(const BatchBody& body, int64_t length,
                                     const KeyValueMetadata& message_metadata,
                                     const DictionaryTarget* dictionary) {
    std::vector<std::shared_ptr<const Buffer>> stored;
    stored.reserve(body.buffers.size());
    for (const auto& buffer : body.buffers) {
      if (options_.compression == Compression::kNone) {
        stored.push_back(buffer);
      } else {
        ZKA_ASSIGN_OR_RETURN(auto compressed,
                             CompressBuffer(options_.compression, options_.zstd_level, *buffer));
        stored.push_back(std::move(compressed));
      }
    }
    std::vector<fb::Buffer> layout;
    int64_t body_length = 0;
    for (const auto& buffer : stored) {
      layout.emplace_back(body_length, buffer->size());
      body_length += PaddedTo(buffer->size(), kBodyAlignment);
    }

    FlatBufferBuilder fbb;
    auto nodes = fbb.CreateVectorOfStructs(body.nodes);
    auto buffers = fbb.CreateVectorOfStructs(layout);
    flatbuffers::Offset<fb::BodyCompression> compression = 0;
    if (options_.compression != Compression::kNone) {
      compression = fb::CreateBodyCompression(fbb,
                                              options_.compression == Compression::kLz4Frame
                                                  ? fb::CompressionType::LZ4_FRAME
                                                  : fb::CompressionType::ZSTD,
                                              fb::BodyCompressionMethod::BUFFER);
    }
    auto variadic_counts =
        body.variadic_counts.empty() ? 0 : fbb.CreateVector(body.variadic_counts);
    auto batch = fb::CreateRecordBatch(fbb, length, nodes, buffers, compression, variadic_counts);
    auto metadata = ipc::WriteMetadata(fbb, message_metadata);
    if (dictionary) {
      auto header = fb::CreateDictionaryBatch(fbb, dictionary->id, batch, dictionary->is_delta);
      fbb.Finish(fb::CreateMessage(fbb, fb::MetadataVersion::V5, fb::MessageHeader::DictionaryBatch,
                                   header.Union(), body_length, metadata));
    } else {
      fbb.Finish(fb::CreateMessage(fbb, fb::MetadataVersion::V5, fb::MessageHeader::RecordBatch,
                                   batch.Union(), body_length, metadata));
    }

    int64_t message_offset = position_;
    ZKA_ASSIGN_OR_RETURN(int64_t metadata_length, WriteMetadata(fbb.GetBufferSpan()));
    static constexpr std::array<uint8_t, kBodyAlignment> kZeros{};
    for (const auto& buffer : stored) {
      ZKA_RETURN_IF_ERROR(Write(buffer->bytes()));
      int64_t padding = PaddedTo(buffer->size(), kBodyAlignment) - buffer->size();
      ZKA_RETURN_IF_ERROR(Write(std::span(kZeros).first(static_cast<size_t>(padding))));
    }
    return fb::Block(message_offset, static_cast<int32_t>(metadata_length), body_length);
  }

  Result<int64_t> WriteMetadata(std::span<const uint8_t> flatbuffer) {
    ZKA_ASSIGN_OR_RETURN(int64_t written, WriteFramedMetadata(sink_, flatbuffer));
    position_ += written;
    return written;
  }

  Status Write(std::span<const uint8_t> bytes) {
    ZKA_RETURN_IF_ERROR(sink_.Write(bytes));
    position_ += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }

  Status WriteFooter() {
    FlatBufferBuilder fbb;
    ZKA_ASSIGN_OR_RETURN(auto schema, WriteSchema(fbb, schema_));
    auto dictionaries = fbb.CreateVectorOfStructs(dictionary_blocks_);
    auto batches = fbb.CreateVectorOfStructs(record_blocks_);
    fbb.Finish(fb::CreateFooter(fbb, fb::MetadataVersion::V5, schema, dictionaries, batches));
    auto footer = fbb.GetBufferSpan();
    ZKA_RETURN_IF_ERROR(Write(footer));
    std::array<uint8_t, 4> length{};
    StoreUint32Le(length.data(), static_cast<uint32_t>(footer.size()));
    ZKA_RETURN_IF_ERROR(Write(length));
    return Write(kFileMagic);
  }

  OutputStream& sink_;
  Schema schema_;
  IpcWriteOptions options_;
  bool is_file_;
  bool closed_ = false;
  int64_t position_ = 0;
  // The dictionary last written for each id; a different object means replacement.
  std::map<int64_t, std::shared_ptr<const ArrayData>> dictionaries_;
  std::vector<fb::Block> dictionary_blocks_;
  std::vector<fb::Block> record_blocks_;
};

IpcWriter::IpcWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IpcWriter::~IpcWriter() = default;

Result<std::unique_ptr<IpcWriter>> IpcWriter::OpenStream(OutputStream& sink, const Schema& schema,
                                                         IpcWriteOptions options) {
  auto impl = std::make_unique<Impl>(sink, schema, options, /*is_file=*/false);
  ZKA_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<IpcWriter>(new IpcWriter(std::move(impl)));
}

Result<std::unique_ptr<IpcWriter>> IpcWriter::OpenFile(OutputStream& sink, const Schema& schema,
                                                       IpcWriteOptions options) {
  auto impl = std::make_unique<Impl>(sink, schema, options, /*is_file=*/true);
  ZKA_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<IpcWriter>(new IpcWriter(std::move(impl)));
}

Result<std::unique_ptr<IpcWriter>> IpcWriter::Open(OutputStream& sink, const Schema& schema,
                                                   IpcFormat format, IpcWriteOptions options) {
  return format == IpcFormat::kFile ? OpenFile(sink, schema, options)
                                    : OpenStream(sink, schema, options);
}

Status IpcWriter::WriteBatch(const RecordBatch& batch) { return impl_->WriteBatch(batch, {}); }

Status IpcWriter::WriteBatch(const RecordBatch& batch, const KeyValueMetadata& message_metadata) {
  return impl_->WriteBatch(batch, message_metadata);
}

Status IpcWriter::WriteDictionaryDelta(int64_t id, const ArrayData& delta,
                                       std::shared_ptr<const ArrayData> combined) {
  return impl_->WriteDictionaryDelta(id, delta, std::move(combined));
}

Status IpcWriter::Close() { return impl_->Close(); }

}  // namespace zkarrow::arrow::ipc
