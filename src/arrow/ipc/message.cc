#include "arrow/ipc/message.h"

#include <array>
#include <cstring>
#include <string>

namespace zkarrow::arrow::ipc {
namespace {

constexpr int64_t kMetadataAlignment = 8;
// Flatbuffers nests a few tables per level of type nesting.
constexpr int kVerifierDepthPerLevel = 3;
constexpr int kVerifierMaxTables = 1000000;

Status CheckMessageLengths(int64_t metadata_length, int64_t body_length,
                           const IpcReadOptions& options) {
  if (metadata_length > options.max_metadata_size) {
    return Status::OutOfRange("message metadata of " + std::to_string(metadata_length) +
                              " bytes exceeds the limit of " +
                              std::to_string(options.max_metadata_size));
  }
  if (body_length < 0) {
    return Status::InvalidData("negative message body length " + std::to_string(body_length));
  }
  if (body_length > options.max_batch_bytes) {
    return Status::OutOfRange("message body of " + std::to_string(body_length) +
                              " bytes exceeds the batch limit of " +
                              std::to_string(options.max_batch_bytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

uint32_t LoadUint32Le(const uint8_t* bytes) {
  return static_cast<uint32_t>(bytes[0]) | (static_cast<uint32_t>(bytes[1]) << 8) |
         (static_cast<uint32_t>(bytes[2]) << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
}

void StoreUint32Le(uint8_t* bytes, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
}

Result<int64_t> WriteFramedMetadata(OutputStream& out, std::span<const uint8_t> flatbuffer) {
  int64_t padded = PaddedTo(static_cast<int64_t>(flatbuffer.size()), kMetadataAlignment);
  if (padded > INT32_MAX) return Status::OutOfRange("message metadata exceeds 2 GiB");
  std::array<uint8_t, 8> prefix{};
  StoreUint32Le(prefix.data(), kContinuationToken);
  StoreUint32Le(prefix.data() + 4, static_cast<uint32_t>(padded));
  ZKA_RETURN_IF_ERROR(out.Write(prefix));
  ZKA_RETURN_IF_ERROR(out.Write(flatbuffer));
  static constexpr std::array<uint8_t, kMetadataAlignment> kZeros{};
  ZKA_RETURN_IF_ERROR(
      out.Write(std::span(kZeros).first(static_cast<size_t>(padded) - flatbuffer.size())));
  return static_cast<int64_t>(prefix.size()) + padded;
}

Status WriteEndOfStream(OutputStream& out) {
  std::array<uint8_t, 8> marker{};
  StoreUint32Le(marker.data(), kContinuationToken);
  return out.Write(marker);
}

MetadataVersion ToMetadataVersion(fb::MetadataVersion version) {
  return static_cast<MetadataVersion>(static_cast<int>(version));
}

namespace {

// The flatbuffers verifier checks that a vector of structs lies inside the
// buffer, not that its elements are aligned; reading a misaligned struct is
// undefined behaviour, and a well-formed writer never produces one.
Status CheckBatchVectorsAligned(const fb::RecordBatch* batch) {
  if (batch == nullptr) return Status::Ok();
  if (!IsStructVectorAligned(batch->nodes()) || !IsStructVectorAligned(batch->buffers())) {
    return Status::InvalidData("record batch metadata has misaligned field nodes or buffers");
  }
  return Status::Ok();
}

}  // namespace

Result<const fb::Message*> VerifyMessage(const Buffer& metadata, const IpcReadOptions& options) {
  flatbuffers::Verifier verifier(metadata.data(), static_cast<size_t>(metadata.size()),
                                 kVerifierDepthPerLevel * options.max_nesting_depth + 16,
                                 kVerifierMaxTables);
  if (!fb::VerifyMessageBuffer(verifier)) {
    return Status::InvalidData("message metadata is not a valid Message flatbuffer");
  }
  const fb::Message* message = fb::GetMessage(metadata.data());
  // The verifier accepts a union tag without its table; every reader of the
  // header relies on it being there.
  if (message->header_type() == fb::MessageHeader::NONE || message->header() == nullptr) {
    return Status::InvalidData("message has no header");
  }
  ZKA_RETURN_IF_ERROR(CheckBatchVectorsAligned(message->header_as_RecordBatch()));
  if (const fb::DictionaryBatch* dictionary = message->header_as_DictionaryBatch()) {
    ZKA_RETURN_IF_ERROR(CheckBatchVectorsAligned(dictionary->data()));
  }
  auto version = static_cast<int>(message->version());
  if (version < static_cast<int>(fb::MetadataVersion::V4)) {
    return Status::NotImplemented("metadata version V" + std::to_string(version + 1) +
                                  " (before Arrow 0.8) is not supported");
  }
  if (version > static_cast<int>(fb::MetadataVersion::V5)) {
    return Status::NotImplemented("metadata version V" + std::to_string(version + 1) +
                                  " is newer than this reader (V5)");
  }
  return message;
}

Result<std::optional<Message>> ReadMessage(InputStream& in, const IpcReadOptions& options,
                                           bool* end_marker) {
  if (end_marker != nullptr) *end_marker = false;
  std::array<uint8_t, 4> word{};
  ZKA_ASSIGN_OR_RETURN(int64_t got, ReadFully(in, word));
  if (got == 0) return std::optional<Message>();  // input ended between messages
  if (got < 4) return Status::InvalidData("stream ends inside a message length prefix");
  uint32_t length = LoadUint32Le(word.data());
  int64_t prefix_length = 4;
  if (length == kContinuationToken) {
    ZKA_ASSIGN_OR_RETURN(got, ReadFully(in, word));
    if (got < 4) return Status::InvalidData("stream ends inside a message length prefix");
    length = LoadUint32Le(word.data());
    prefix_length = 8;
  }
  if (length == 0) {
    if (end_marker != nullptr) *end_marker = true;
    return std::optional<Message>();
  }
  if (length > INT32_MAX) {
    return Status::InvalidData("message metadata length " + std::to_string(length) +
                               " is negative as an int32");
  }
  ZKA_RETURN_IF_ERROR(CheckMessageLengths(length, 0, options));
  ZKA_ASSIGN_OR_RETURN(auto metadata, in.ReadBuffer(length));
  if (metadata->size() < length) {
    return Status::InvalidData("stream ends inside message metadata (" +
                               std::to_string(metadata->size()) + " of " + std::to_string(length) +
                               " bytes)");
  }
  Message message;
  message.metadata = EnsureAligned(std::move(metadata));
  message.framed_metadata_length = prefix_length + length;
  ZKA_ASSIGN_OR_RETURN(message.header, VerifyMessage(*message.metadata, options));
  int64_t body_length = message.header->bodyLength();
  ZKA_RETURN_IF_ERROR(CheckMessageLengths(length, body_length, options));
  ZKA_ASSIGN_OR_RETURN(message.body, in.ReadBuffer(body_length));
  if (message.body->size() < body_length) {
    return Status::InvalidData("stream ends inside a message body (" +
                               std::to_string(message.body->size()) + " of " +
                               std::to_string(body_length) + " bytes)");
  }
  return std::optional<Message>(std::move(message));
}

Result<Message> ReadMessageAt(const std::shared_ptr<const Buffer>& file, int64_t offset,
                              int64_t metadata_length, int64_t body_length,
                              const IpcReadOptions& options) {
  int64_t size = file->size();
  if (offset < 0 || offset % kMetadataAlignment != 0 || metadata_length < 8 ||
      metadata_length > size || offset > size - metadata_length) {
    return Status::InvalidData("message block at offset " + std::to_string(offset) +
                               " with metadata length " + std::to_string(metadata_length) +
                               " is misaligned or outside the file");
  }
  ZKA_RETURN_IF_ERROR(CheckMessageLengths(metadata_length, body_length, options));
  const uint8_t* frame = file->data() + offset;
  int64_t prefix_length = 4;
  uint32_t length = LoadUint32Le(frame);
  if (length == kContinuationToken) {
    length = LoadUint32Le(frame + 4);
    prefix_length = 8;
  }
  if (length == 0 || length > INT32_MAX || length > metadata_length - prefix_length) {
    return Status::InvalidData("message at offset " + std::to_string(offset) +
                               " declares metadata length " + std::to_string(length) +
                               ", inconsistent with its block (" + std::to_string(metadata_length) +
                               " bytes)");
  }
  Message message;
  message.metadata = EnsureAligned(file->Slice(offset + prefix_length, length));
  message.framed_metadata_length = metadata_length;
  ZKA_ASSIGN_OR_RETURN(message.header, VerifyMessage(*message.metadata, options));
  int64_t declared_body = message.header->bodyLength();
  if (declared_body < 0 || declared_body > body_length) {
    return Status::InvalidData("message at offset " + std::to_string(offset) +
                               " declares a body of " + std::to_string(declared_body) +
                               " bytes but its block holds " + std::to_string(body_length));
  }
  int64_t body_start = offset + metadata_length;
  if (body_length > size - body_start) {
    return Status::InvalidData("message body at offset " + std::to_string(body_start) +
                               " runs past the end of the file");
  }
  message.body = file->Slice(body_start, declared_body);
  return message;
}

std::shared_ptr<const Buffer> EnsureAligned(std::shared_ptr<const Buffer> buffer) {
  if (reinterpret_cast<uintptr_t>(buffer->data()) % kMetadataAlignment == 0) return buffer;
  return Buffer::CopyOf(buffer->bytes());
}

}  // namespace zkarrow::arrow::ipc
