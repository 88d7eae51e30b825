// Per-buffer body compression (BodyCompression method BUFFER): each buffer is
// stored as an int64 little-endian uncompressed length followed by the
// compressed bytes, or by the raw bytes when the length is -1.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "arrow/buffer.h"
#include "arrow/ipc/writer.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// Returns the stored form of `raw`: compressed when that saves space, raw
// (length -1) otherwise. An empty buffer stays empty.
Result<std::shared_ptr<const Buffer>> CompressBuffer(Compression codec, int zstd_level,
                                                     const Buffer& raw);

// Bytes of the int64 length prefix of a non-empty stored buffer.
inline constexpr int64_t kCompressionPrefixLength = 8;

// What a stored buffer becomes, read from its prefix alone: the declared
// uncompressed length, or the payload size of a buffer stored raw (-1); 0 for
// an empty buffer. Errors for a buffer shorter than its prefix or a negative
// declared length.
struct StoredBufferInfo {
  int64_t decompressed_length = 0;
  bool stored_raw = false;  // the payload is the data (prefix -1)
};
Result<StoredBufferInfo> ReadStoredBufferInfo(std::span<const uint8_t> stored);

// Inverse of CompressBuffer for untrusted input: decompresses into exactly
// the declared length, which the codec must produce; a raw buffer is a
// zero-copy slice of `stored`.
// REQUIRES: the caller checked ReadStoredBufferInfo(stored) against its limits
// (this allocates the declared length).
Result<std::shared_ptr<const Buffer>> DecompressBuffer(Compression codec,
                                                       const std::shared_ptr<const Buffer>& stored);

}  // namespace zkarrow::arrow::ipc
