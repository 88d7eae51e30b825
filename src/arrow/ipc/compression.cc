#include "arrow/ipc/compression.h"

#include <lz4frame.h>
#include <zstd.h>

#include <cstring>
#include <string>

namespace zkarrow::arrow::ipc {
namespace {

constexpr int64_t kLengthPrefix = kCompressionPrefixLength;
constexpr int64_t kStoredRaw = -1;

void PutInt64Le(uint8_t* out, int64_t value) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
}

int64_t GetInt64Le(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return static_cast<int64_t>(value);
}

std::shared_ptr<const Buffer> StoreRaw(const Buffer& raw) {
  BufferBuilder out;
  out.Reserve(kLengthPrefix + raw.size());
  out.UnsafeAppendValue<int64_t>(0);
  PutInt64Le(out.mutable_data(), kStoredRaw);
  out.UnsafeAppend(raw.data(), raw.size());
  return out.Finish();
}

// Writes the compressed bytes after the prefix; returns their size.
Result<int64_t> CompressInto(Compression codec, int zstd_level, const Buffer& raw, uint8_t* out,
                             int64_t capacity) {
  if (codec == Compression::kLz4Frame) {
    LZ4F_preferences_t preferences{};
    preferences.frameInfo.contentSize = static_cast<unsigned long long>(raw.size());
    size_t n = LZ4F_compressFrame(out, static_cast<size_t>(capacity), raw.data(),
                                  static_cast<size_t>(raw.size()), &preferences);
    if (LZ4F_isError(n)) return Status::Internal(std::string("lz4: ") + LZ4F_getErrorName(n));
    return static_cast<int64_t>(n);
  }
  size_t n = ZSTD_compress(out, static_cast<size_t>(capacity), raw.data(),
                           static_cast<size_t>(raw.size()), zstd_level);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  return static_cast<int64_t>(n);
}

int64_t CompressBound(Compression codec, int64_t size) {
  LZ4F_preferences_t preferences{};
  preferences.frameInfo.contentSize = static_cast<unsigned long long>(size);
  return codec == Compression::kLz4Frame
             ? static_cast<int64_t>(
                   LZ4F_compressFrameBound(static_cast<size_t>(size), &preferences))
             : static_cast<int64_t>(ZSTD_compressBound(static_cast<size_t>(size)));
}

Status DecompressLz4(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size) {
  LZ4F_dctx* raw_context = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_context, LZ4F_VERSION))) {
    return Status::Internal("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> context(
      raw_context, &LZ4F_freeDecompressionContext);
  int64_t produced = 0;
  int64_t consumed = 0;
  bool frame_complete = false;
  while (consumed < in_size && !frame_complete) {
    size_t dst_size = static_cast<size_t>(out_size - produced);
    size_t src_size = static_cast<size_t>(in_size - consumed);
    size_t hint = LZ4F_decompress(context.get(), out + produced, &dst_size, in + consumed,
                                  &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return Status::InvalidData(std::string("lz4 frame is corrupt: ") + LZ4F_getErrorName(hint));
    }
    produced += static_cast<int64_t>(dst_size);
    consumed += static_cast<int64_t>(src_size);
    frame_complete = hint == 0;
    if (!frame_complete && dst_size == 0 && src_size == 0) {
      return Status::InvalidData("lz4 frame decompresses to more than its declared length");
    }
  }
  if (!frame_complete) return Status::InvalidData("lz4 frame is truncated");
  if (consumed != in_size || produced != out_size) {
    return Status::InvalidData("lz4 frame has " + std::to_string(produced) +
                               " decompressed bytes, the buffer declares " +
                               std::to_string(out_size));
  }
  return Status::Ok();
}

Status DecompressZstd(const uint8_t* in, int64_t in_size, uint8_t* out, int64_t out_size) {
  size_t n = ZSTD_decompress(out, static_cast<size_t>(out_size), in, static_cast<size_t>(in_size));
  if (ZSTD_isError(n)) {
    return Status::InvalidData(std::string("zstd frame is corrupt: ") + ZSTD_getErrorName(n));
  }
  if (static_cast<int64_t>(n) != out_size) {
    return Status::InvalidData("zstd frame has " + std::to_string(n) +
                               " decompressed bytes, the buffer declares " +
                               std::to_string(out_size));
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const Buffer>> CompressBuffer(Compression codec, int zstd_level,
                                                     const Buffer& raw) {
  if (raw.size() == 0) return Buffer::Zeroed(0);
  if (codec == Compression::kNone) return Status::Internal("CompressBuffer without a codec");
  int64_t bound = CompressBound(codec, raw.size());
  auto storage = std::make_shared<AlignedBytes>(kLengthPrefix + bound);
  ZKA_ASSIGN_OR_RETURN(int64_t compressed, CompressInto(codec, zstd_level, raw,
                                                        storage->data() + kLengthPrefix, bound));
  if (compressed >= raw.size()) return StoreRaw(raw);
  storage->ZeroFrom(kLengthPrefix + compressed);
  PutInt64Le(storage->data(), raw.size());
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, kLengthPrefix + compressed, std::move(storage));
}

Result<StoredBufferInfo> ReadStoredBufferInfo(std::span<const uint8_t> stored) {
  if (stored.empty()) return StoredBufferInfo{};
  const auto size = static_cast<int64_t>(stored.size());
  if (size < kLengthPrefix) {
    return Status::InvalidData("compressed buffer of " + std::to_string(size) +
                               " bytes is shorter than its 8-byte length prefix");
  }
  int64_t declared = GetInt64Le(stored.data());
  if (declared == kStoredRaw) return StoredBufferInfo{size - kLengthPrefix, true};
  if (declared < 0) {
    return Status::InvalidData("compressed buffer declares a negative length " +
                               std::to_string(declared));
  }
  return StoredBufferInfo{declared, false};
}

Result<std::shared_ptr<const Buffer>> DecompressBuffer(
    Compression codec, const std::shared_ptr<const Buffer>& stored) {
  ZKA_ASSIGN_OR_RETURN(StoredBufferInfo info, ReadStoredBufferInfo(stored->bytes()));
  if (stored->size() == 0) return stored;
  int64_t payload = stored->size() - kLengthPrefix;
  if (info.stored_raw) return stored->Slice(kLengthPrefix, payload);
  int64_t declared = info.decompressed_length;
  // Not zeroed first: the codec must fill all of it, or the buffer is
  // dropped with the error, so untouched pages of a frame that turns out
  // corrupt never become resident.
  auto storage = std::make_shared<AlignedBytes>(declared);
  const uint8_t* in = stored->data() + kLengthPrefix;
  if (codec == Compression::kLz4Frame) {
    ZKA_RETURN_IF_ERROR(DecompressLz4(in, payload, storage->data(), declared));
  } else if (codec == Compression::kZstd) {
    ZKA_RETURN_IF_ERROR(DecompressZstd(in, payload, storage->data(), declared));
  } else {
    return Status::Internal("DecompressBuffer without a codec");
  }
  storage->ZeroFrom(declared);  // the padding
  const uint8_t* data = storage->data();
  return std::make_shared<const Buffer>(data, declared, std::move(storage));
}

}  // namespace zkarrow::arrow::ipc
