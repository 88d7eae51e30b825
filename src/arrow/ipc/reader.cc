#include "arrow/ipc/reader.h"

#include <cstring>
#include <string>

#include "arrow/ipc/array_loader.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/metadata.h"

namespace zkarrow::arrow::ipc {
namespace {

std::string Str(int64_t n) { return std::to_string(n); }

// The file format's trailer: int32 footer length and the magic.
constexpr int64_t kTrailerLength = 4 + sizeof(kFileMagic);
// The leading magic padded to 8 bytes.
constexpr int64_t kLeadingMagicLength = 8;

Result<std::shared_ptr<const Schema>> ReadSchemaMessage(const Message& message,
                                                        const IpcReadOptions& options) {
  if (message.header->header_type() != fb::MessageHeader::Schema) {
    return Status::InvalidData(std::string("the first message must be a Schema, found ") +
                               fb::EnumNameMessageHeader(message.header->header_type()));
  }
  ZKA_ASSIGN_OR_RETURN(Schema schema,
                       ReadSchema(*message.header->header_as_Schema(), options.max_nesting_depth));
  return std::make_shared<const Schema>(std::move(schema));
}

const fb::RecordBatch* DataOf(const Message& message) {
  if (const fb::DictionaryBatch* dictionary = message.header->header_as_DictionaryBatch()) {
    return dictionary->data();
  }
  return message.header->header_as_RecordBatch();
}

// Verifies a record or dictionary batch message's body against the limits.
Result<BodyPlan> PlanMessage(const Message& message, const IpcReadOptions& options) {
  const fb::RecordBatch* batch = DataOf(message);
  if (batch == nullptr) return Status::InvalidData("dictionary batch without data");
  return PlanBody(*batch, *message.body, options);
}

Status ReadDictionaryBatch(const Message& message, DictionaryMemo& memo, bool allow_replacement,
                           const IpcReadOptions& options) {
  const fb::DictionaryBatch* batch = message.header->header_as_DictionaryBatch();
  Status status = [&]() -> Status {
    ZKA_ASSIGN_OR_RETURN(BodyPlan plan, PlanMessage(message, options));
    ZKA_ASSIGN_OR_RETURN(const Field* value_field, memo.ValueField(batch->id()));
    ZKA_ASSIGN_OR_RETURN(auto arrays,
                         LoadArrays({*value_field}, *batch->data(), message.body, plan,
                                    ToMetadataVersion(message.header->version()), memo));
    return memo.Add(batch->id(), std::move(arrays[0]), batch->isDelta(), allow_replacement);
  }();
  return status.WithContext("dictionary batch (id " + Str(batch->id()) + ")");
}

Result<RecordBatch> ReadRecordBatch(const Message& message, const BodyPlan& plan,
                                    const std::shared_ptr<const Schema>& schema,
                                    const DictionaryMemo& memo) {
  const fb::RecordBatch* batch = message.header->header_as_RecordBatch();
  RecordBatch out;
  out.schema = schema;
  out.length = batch->length();
  ZKA_ASSIGN_OR_RETURN(out.columns, LoadArrays(schema->fields, *batch, message.body, plan,
                                               ToMetadataVersion(message.header->version()), memo));
  return out;
}

// Sizes as stored and, for compressed bodies, as the length prefixes declare.
BatchInfo DescribeBatch(const Message& message, const BodyPlan& plan) {
  BatchInfo info;
  const fb::RecordBatch* batch = message.header->header_as_RecordBatch();
  info.num_rows = batch->length();
  info.metadata_length = message.framed_metadata_length;
  info.body_length = message.body->size();
  info.version = ToMetadataVersion(message.header->version());
  info.custom_metadata = ReadMetadata(message.header->custom_metadata());
  info.compression = plan.compression;
  info.num_buffers = static_cast<int64_t>(plan.decoded_sizes.size());
  info.uncompressed_body_length = plan.decoded_bytes;
  return info;
}

}  // namespace

Result<IpcFormat> DetectFormat(std::span<const uint8_t> prefix) {
  if (prefix.size() >= sizeof(kFileMagic) &&
      std::memcmp(prefix.data(), kFileMagic, sizeof(kFileMagic)) == 0) {
    return IpcFormat::kFile;
  }
  if (prefix.size() < 4) {
    return Status::InvalidData("input of " + Str(static_cast<int64_t>(prefix.size())) +
                               " bytes is too short to be Arrow IPC data");
  }
  uint32_t first = LoadUint32Le(prefix.data());
  if (first == kContinuationToken || (first > 0 && first <= INT32_MAX)) return IpcFormat::kStream;
  return Status::InvalidData("input is neither an Arrow IPC file nor an Arrow IPC stream");
}

const char* MetadataVersionName(MetadataVersion version) {
  switch (version) {
    case MetadataVersion::kV1:
      return "V1";
    case MetadataVersion::kV2:
      return "V2";
    case MetadataVersion::kV3:
      return "V3";
    case MetadataVersion::kV4:
      return "V4";
    case MetadataVersion::kV5:
      return "V5";
  }
  return "unknown";
}

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4Frame:
      return "lz4_frame";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

// ---- StreamReader ----

class StreamReader::Impl {
 public:
  Impl(std::unique_ptr<InputStream> input, IpcReadOptions options)
      : input_(std::move(input)), options_(options) {}

  Status Start() {
    ZKA_ASSIGN_OR_RETURN(auto message, ReadMessage(*input_, options_));
    if (!message) return Status::InvalidData("stream ends before its schema message");
    version_ = ToMetadataVersion(message->header->version());
    ZKA_ASSIGN_OR_RETURN(schema_, ReadSchemaMessage(*message, options_));
    return memo_.Init(*schema_, options_.max_dictionary_bytes);
  }

  Result<std::optional<RecordBatch>> Next() { return Checked(&Impl::ReadNext); }
  Result<std::optional<BatchInfo>> NextInfo() { return Checked(&Impl::ReadNextInfo); }

  const std::shared_ptr<const Schema>& schema() const { return schema_; }
  MetadataVersion version() const { return version_; }
  const BatchInfo& last_batch_info() const { return last_batch_info_; }
  int64_t dictionary_batches() const { return dictionary_batches_; }
  bool ended_with_marker() const { return ended_with_marker_; }

 private:
  // Runs a read step unless the stream failed or ended; a failure sticks.
  template <typename T>
  Result<std::optional<T>> Checked(Result<std::optional<T>> (Impl::*step)()) {
    if (!failure_.ok()) return failure_;
    if (finished_) return std::optional<T>();
    auto next = (this->*step)();
    if (!next.ok()) {
      failure_ = next.status().WithContext("stream message " + Str(messages_read_));
      return failure_;
    }
    return next;
  }

  // The next record batch message, verified and planned, reading dictionary
  // batches on the way (decoded into the memo when `decode_dictionaries`,
  // else only verified); nullopt at the end.
  Result<std::optional<std::pair<Message, BodyPlan>>> NextBatchMessage(bool decode_dictionaries) {
    while (true) {
      ++messages_read_;
      ZKA_ASSIGN_OR_RETURN(auto message, ReadMessage(*input_, options_, &ended_with_marker_));
      if (!message) {
        finished_ = true;
        return std::optional<std::pair<Message, BodyPlan>>();
      }
      switch (message->header->header_type()) {
        case fb::MessageHeader::DictionaryBatch:
          if (decode_dictionaries) {
            ZKA_RETURN_IF_ERROR(
                ReadDictionaryBatch(*message, memo_, /*allow_replacement=*/true, options_));
          } else {
            ZKA_RETURN_IF_ERROR(PlanMessage(*message, options_).status());
          }
          ++dictionary_batches_;
          continue;
        case fb::MessageHeader::RecordBatch: {
          ZKA_ASSIGN_OR_RETURN(BodyPlan plan, PlanMessage(*message, options_));
          return std::optional<std::pair<Message, BodyPlan>>(
              std::pair<Message, BodyPlan>(std::move(*message), std::move(plan)));
        }
        case fb::MessageHeader::Schema:
          return Status::InvalidData("unexpected second Schema message");
        default:
          return Status::NotImplemented(std::string("message type ") +
                                        fb::EnumNameMessageHeader(message->header->header_type()) +
                                        " is not supported");
      }
    }
  }

  Result<std::optional<RecordBatch>> ReadNext() {
    ZKA_ASSIGN_OR_RETURN(auto next, NextBatchMessage(/*decode_dictionaries=*/true));
    if (!next) return std::optional<RecordBatch>();
    const auto& [message, plan] = *next;
    ZKA_ASSIGN_OR_RETURN(RecordBatch batch, ReadRecordBatch(message, plan, schema_, memo_));
    last_batch_info_ = DescribeBatch(message, plan);
    return std::optional<RecordBatch>(std::move(batch));
  }

  Result<std::optional<BatchInfo>> ReadNextInfo() {
    ZKA_ASSIGN_OR_RETURN(auto next, NextBatchMessage(/*decode_dictionaries=*/false));
    if (!next) return std::optional<BatchInfo>();
    last_batch_info_ = DescribeBatch(next->first, next->second);
    return std::optional<BatchInfo>(last_batch_info_);
  }

  std::unique_ptr<InputStream> input_;
  IpcReadOptions options_;
  std::shared_ptr<const Schema> schema_;
  MetadataVersion version_ = MetadataVersion::kV5;
  DictionaryMemo memo_;
  BatchInfo last_batch_info_;
  int64_t dictionary_batches_ = 0;
  int64_t messages_read_ = 0;
  bool finished_ = false;
  bool ended_with_marker_ = false;
  Status failure_;
};

StreamReader::StreamReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamReader::~StreamReader() = default;

Result<std::unique_ptr<StreamReader>> StreamReader::Open(std::unique_ptr<InputStream> input,
                                                         IpcReadOptions options) {
  auto impl = std::make_unique<Impl>(std::move(input), options);
  Status status = impl->Start();
  if (!status.ok()) return status.WithContext("reading the stream's schema");
  return std::unique_ptr<StreamReader>(new StreamReader(std::move(impl)));
}

const Schema& StreamReader::schema() const { return *impl_->schema(); }
const std::shared_ptr<const Schema>& StreamReader::shared_schema() const { return impl_->schema(); }
MetadataVersion StreamReader::metadata_version() const { return impl_->version(); }
Result<std::optional<RecordBatch>> StreamReader::Next() { return impl_->Next(); }
Result<std::optional<BatchInfo>> StreamReader::NextInfo() { return impl_->NextInfo(); }
bool StreamReader::ended_with_marker() const { return impl_->ended_with_marker(); }
const BatchInfo& StreamReader::last_batch_info() const { return impl_->last_batch_info(); }
int64_t StreamReader::num_dictionary_batches_read() const { return impl_->dictionary_batches(); }

// ---- FileReader ----

class FileReader::Impl {
 public:
  Impl(std::shared_ptr<const Buffer> file, IpcReadOptions options)
      : file_(std::move(file)), options_(options) {}

  Status Start() {
    int64_t size = file_->size();
    if (size < kLeadingMagicLength + kTrailerLength ||
        std::memcmp(file_->data(), kFileMagic, sizeof(kFileMagic)) != 0 ||
        std::memcmp(file_->data() + size - sizeof(kFileMagic), kFileMagic, sizeof(kFileMagic)) !=
            0) {
      return Status::InvalidData("not an Arrow IPC file: missing the ARROW1 magic at start or end");
    }
    auto footer_length = static_cast<int64_t>(LoadUint32Le(file_->data() + size - kTrailerLength));
    if (footer_length <= 0 || footer_length > size - kLeadingMagicLength - kTrailerLength) {
      return Status::InvalidData("footer length " + Str(footer_length) +
                                 " does not fit in a file of " + Str(size) + " bytes");
    }
    footer_start_ = size - kTrailerLength - footer_length;
    footer_bytes_ = EnsureAligned(file_->Slice(footer_start_, footer_length));
    flatbuffers::Verifier verifier(footer_bytes_->data(), static_cast<size_t>(footer_length),
                                   3 * options_.max_nesting_depth + 16, 1000000);
    if (!fb::VerifyFooterBuffer(verifier)) {
      return Status::InvalidData("the footer is not a valid Footer flatbuffer");
    }
    footer_ = fb::GetFooter(footer_bytes_->data());
    if (!IsStructVectorAligned(footer_->recordBatches()) ||
        !IsStructVectorAligned(footer_->dictionaries())) {
      return Status::InvalidData("the footer's block list is misaligned");
    }
    auto version = static_cast<int>(footer_->version());
    if (version < static_cast<int>(fb::MetadataVersion::V4) ||
        version > static_cast<int>(fb::MetadataVersion::V5)) {
      return Status::NotImplemented("footer metadata version V" + Str(version + 1) +
                                    " is not supported (V4 and V5 are)");
    }
    if (footer_->schema() == nullptr) return Status::InvalidData("the footer has no schema");
    ZKA_ASSIGN_OR_RETURN(Schema schema, ReadSchema(*footer_->schema(), options_.max_nesting_depth));
    schema_ = std::make_shared<const Schema>(std::move(schema));
    footer_metadata_ = ReadMetadata(footer_->custom_metadata());
    ZKA_RETURN_IF_ERROR(memo_.Init(*schema_, options_.max_dictionary_bytes));
    // Dictionaries are verified now and decoded with the first batch, so
    // describing a file (ReadBatchInfo) decodes nothing.
    for (int i = 0; i < num_dictionaries(); ++i) {
      auto message = ReadDictionaryMessage(i);
      Status status = message.ok() ? PlanMessage(*message, options_).status() : message.status();
      if (!status.ok()) return status.WithContext("dictionary block " + Str(i));
    }
    return Status::Ok();
  }

  Result<RecordBatch> ReadBatch(int i) {
    if (!dictionaries_) dictionaries_ = ReadDictionaries();
    if (!dictionaries_->ok()) return *dictionaries_;
    auto batch = [&]() -> Result<RecordBatch> {
      ZKA_ASSIGN_OR_RETURN(Message message, ReadBatchMessage(i));
      ZKA_ASSIGN_OR_RETURN(BodyPlan plan, PlanMessage(message, options_));
      return ReadRecordBatch(message, plan, schema_, memo_);
    }();
    if (!batch.ok()) return batch.status().WithContext("record batch " + Str(i));
    return batch;
  }

  Result<BatchInfo> ReadBatchInfo(int i) const {
    auto info = [&]() -> Result<BatchInfo> {
      ZKA_ASSIGN_OR_RETURN(Message message, ReadBatchMessage(i));
      ZKA_ASSIGN_OR_RETURN(BodyPlan plan, PlanMessage(message, options_));
      return DescribeBatch(message, plan);
    }();
    if (!info.ok()) return info.status().WithContext("record batch " + Str(i));
    return info;
  }

  const std::shared_ptr<const Schema>& schema() const { return schema_; }
  MetadataVersion version() const { return ToMetadataVersion(footer_->version()); }
  const KeyValueMetadata& footer_metadata() const { return footer_metadata_; }
  int num_batches() const {
    return footer_->recordBatches() ? static_cast<int>(footer_->recordBatches()->size()) : 0;
  }
  int num_dictionaries() const {
    return footer_->dictionaries() ? static_cast<int>(footer_->dictionaries()->size()) : 0;
  }

 private:
  Result<Message> ReadBlock(const fb::Block& block, fb::MessageHeader expected) const {
    int64_t offset = block.offset();
    int64_t metadata_length = block.metaDataLength();
    int64_t body_length = block.bodyLength();
    if (offset < kLeadingMagicLength || metadata_length <= 0 || body_length < 0 ||
        offset > footer_start_ || metadata_length > footer_start_ - offset ||
        body_length > footer_start_ - offset - metadata_length) {
      return Status::InvalidData("block [offset " + Str(offset) + ", metadata " +
                                 Str(metadata_length) + ", body " + Str(body_length) +
                                 "] lies outside the data before the footer");
    }
    ZKA_ASSIGN_OR_RETURN(Message message,
                         ReadMessageAt(file_, offset, metadata_length, body_length, options_));
    if (message.header->header_type() != expected) {
      return Status::InvalidData(std::string("block holds a ") +
                                 fb::EnumNameMessageHeader(message.header->header_type()) +
                                 " message, expected " + fb::EnumNameMessageHeader(expected));
    }
    return message;
  }

  Result<Message> ReadBatchMessage(int i) const {
    if (i < 0 || i >= num_batches()) {
      return Status::InvalidArgument("batch index " + Str(i) + " is out of range (file has " +
                                     Str(num_batches()) + " batches)");
    }
    return ReadBlock(*footer_->recordBatches()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                     fb::MessageHeader::RecordBatch);
  }

  Result<Message> ReadDictionaryMessage(int i) const {
    return ReadBlock(*footer_->dictionaries()->Get(static_cast<flatbuffers::uoffset_t>(i)),
                     fb::MessageHeader::DictionaryBatch);
  }

  Status ReadDictionaries() {
    for (int i = 0; i < num_dictionaries(); ++i) {
      Status status = [&]() -> Status {
        ZKA_ASSIGN_OR_RETURN(Message message, ReadDictionaryMessage(i));
        return ReadDictionaryBatch(message, memo_, /*allow_replacement=*/false, options_);
      }();
      if (!status.ok()) return status.WithContext("dictionary block " + Str(i));
    }
    return Status::Ok();
  }

  std::shared_ptr<const Buffer> file_;
  IpcReadOptions options_;
  int64_t footer_start_ = 0;
  std::shared_ptr<const Buffer> footer_bytes_;
  const fb::Footer* footer_ = nullptr;  // points into footer_bytes_
  std::shared_ptr<const Schema> schema_;
  KeyValueMetadata footer_metadata_;
  DictionaryMemo memo_;
  std::optional<Status> dictionaries_;  // once decoded (or failed)
};

FileReader::FileReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileReader::~FileReader() = default;

Result<std::unique_ptr<FileReader>> FileReader::Open(std::shared_ptr<const Buffer> file_bytes,
                                                     IpcReadOptions options) {
  auto impl = std::make_unique<Impl>(std::move(file_bytes), options);
  ZKA_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<FileReader>(new FileReader(std::move(impl)));
}

Result<std::unique_ptr<FileReader>> FileReader::OpenPath(const std::filesystem::path& path,
                                                         IpcReadOptions options) {
  ZKA_ASSIGN_OR_RETURN(auto bytes, MapFile(path));
  auto reader = Open(std::move(bytes), options);
  if (!reader.ok()) return reader.status().WithContext(path.string());
  return reader;
}

const Schema& FileReader::schema() const { return *impl_->schema(); }
const std::shared_ptr<const Schema>& FileReader::shared_schema() const { return impl_->schema(); }
MetadataVersion FileReader::metadata_version() const { return impl_->version(); }
const KeyValueMetadata& FileReader::footer_metadata() const { return impl_->footer_metadata(); }
int FileReader::num_batches() const { return impl_->num_batches(); }
int FileReader::num_dictionaries() const { return impl_->num_dictionaries(); }
Result<RecordBatch> FileReader::ReadBatch(int i) { return impl_->ReadBatch(i); }
Result<BatchInfo> FileReader::ReadBatchInfo(int i) const { return impl_->ReadBatchInfo(i); }

}  // namespace zkarrow::arrow::ipc
