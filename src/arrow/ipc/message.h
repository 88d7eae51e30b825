// Framing of IPC messages: <continuation 0xFFFFFFFF> <int32 metadata length>
// <Message flatbuffer, zero-padded to 8 bytes> <body>. Also reads the
// pre-0.15 framing without the continuation token.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "arrow/buffer.h"
#include "arrow/io.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/reader.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

inline constexpr uint32_t kContinuationToken = 0xFFFFFFFF;
inline constexpr uint8_t kFileMagic[6] = {'A', 'R', 'R', 'O', 'W', '1'};
// Buffers in a body we write start on this boundary and are padded to it.
inline constexpr int64_t kBodyAlignment = 64;

// Writes continuation token, length and `flatbuffer` padded to a multiple of
// 8 bytes; returns the number of bytes written (the block's metaDataLength).
Result<int64_t> WriteFramedMetadata(OutputStream& out, std::span<const uint8_t> flatbuffer);
// The end-of-stream marker: continuation token and a zero length.
Status WriteEndOfStream(OutputStream& out);

struct Message {
  std::shared_ptr<const Buffer> metadata;  // the flatbuffer, 8-byte aligned
  const fb::Message* header = nullptr;     // verified, points into `metadata`
  std::shared_ptr<const Buffer> body;
  int64_t framed_metadata_length = 0;  // prefix + flatbuffer + padding
};

MetadataVersion ToMetadataVersion(fb::MetadataVersion version);

// Verifies a Message flatbuffer and its metadata version.
Result<const fb::Message*> VerifyMessage(const Buffer& metadata, const IpcReadOptions& options);

// Reads the next message from a stream; nullopt at an end-of-stream marker
// (either form; *end_marker is then set) or when the input ends cleanly
// before a message.
Result<std::optional<Message>> ReadMessage(InputStream& in, const IpcReadOptions& options,
                                           bool* end_marker = nullptr);

// Reads the message of a file block at [offset, offset + metadata_length +
// body_length) of `file`; the body is a zero-copy slice.
Result<Message> ReadMessageAt(const std::shared_ptr<const Buffer>& file, int64_t offset,
                              int64_t metadata_length, int64_t body_length,
                              const IpcReadOptions& options);

// `buffer` itself when its data is 8-byte aligned, else an aligned copy:
// flatbuffers and our validation read multi-byte values in place.
std::shared_ptr<const Buffer> EnsureAligned(std::shared_ptr<const Buffer> buffer);

inline int64_t PaddedTo(int64_t n, int64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

uint32_t LoadUint32Le(const uint8_t* bytes);
void StoreUint32Le(uint8_t* bytes, uint32_t value);

}  // namespace zkarrow::arrow::ipc
