// Per-buffer body compression (BodyCompression method BUFFER): each buffer is
// stored as an int64 little-endian uncompressed length followed by the
// compressed bytes, or by the raw bytes when the length is -1.
#pragma once

#include <cstdint>
#include <memory>

#include "arrow/buffer.h"
#include "arrow/ipc/writer.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// Returns the stored form of `raw`: compressed when that saves space, raw
// (length -1) otherwise. An empty buffer stays empty.
Result<std::shared_ptr<const Buffer>> CompressBuffer(Compression codec, int zstd_level,
                                                     const Buffer& raw);

struct DecompressionLimits {
  int64_t max_size;
  int64_t max_ratio;
};

// Inverse of CompressBuffer for untrusted input: the declared length is
// checked against `limits` before anything is allocated, and the codec must
// produce exactly that many bytes.
Result<std::shared_ptr<const Buffer>> DecompressBuffer(Compression codec,
                                                       const std::shared_ptr<const Buffer>& stored,
                                                       DecompressionLimits limits);

}  // namespace zkarrow::arrow::ipc
