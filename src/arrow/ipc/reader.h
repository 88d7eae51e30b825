// Reads the Arrow IPC stream and file formats. All input is untrusted: every
// message is verified and every buffer checked against the schema before an
// array is handed out, and errors name the message, batch and field at fault.
//
// FileReader works on the whole file in memory, typically a read-only mmap:
// opening costs O(footer + schema) plus verifying the dictionary messages,
// which are decoded with the first batch read; uncompressed buffers of a
// batch are zero-copy slices of the mapping.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "arrow/array.h"
#include "arrow/buffer.h"
#include "arrow/io.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

// Tells the formats apart from the first bytes of the input (pass at least 8):
// "ARROW1" starts a file; a continuation token (0xFFFFFFFF) or a positive
// legacy length prefix starts a stream. Anything else is an error.
Result<IpcFormat> DetectFormat(std::span<const uint8_t> prefix);

enum class MetadataVersion : uint8_t { kV1, kV2, kV3, kV4, kV5 };
const char* MetadataVersionName(MetadataVersion version);  // "V5"
const char* CompressionName(Compression compression);      // "none", "lz4_frame", "zstd"

// What a reader may allocate for untrusted input. The policy, decided here
// and enforced before anything is allocated:
// - A message's body, as stored, is at most max_batch_bytes.
// - What a message makes beyond its stored bytes (every decompressed buffer,
//   at the length its 8-byte prefix declares, and an aligned copy of every
//   buffer that is not 8-byte aligned) is at most max_batch_bytes together.
//   A message whose buffers overlap is refused: no writer produces one, and
//   one stored range would be decompressed or copied once per reference.
// - The dictionaries a reader holds at once (a stream's deltas included) are
//   at most max_dictionary_bytes together: they live as long as the reader.
// A limit that is hit is an OutOfRange error naming the limit and the size
// asked for; a malformed message is InvalidData. Peak memory of one reader
// is then about max_batch_bytes (plus the stored body when it is read from
// a pipe) plus max_dictionary_bytes.
inline constexpr int64_t kDefaultMaxBatchBytes = int64_t{1} << 30;
inline constexpr int64_t kDefaultMaxDictionaryBytes = int64_t{256} << 20;

struct IpcReadOptions {
  // Upper bound on one message's flatbuffer metadata.
  int64_t max_metadata_size = int64_t{64} << 20;
  // See the policy above.
  int64_t max_batch_bytes = kDefaultMaxBatchBytes;
  int64_t max_dictionary_bytes = kDefaultMaxDictionaryBytes;
  // Upper bound on a compressed buffer's declared length relative to its
  // stored size, which catches declared lengths the codec cannot produce.
  // The default is above what the codecs reach (LZ4 about 255, ZSTD about
  // 32768 on runs of one byte).
  int64_t max_compression_ratio = 65536;
  // Nesting depth of types (list<list<...>>) accepted in a schema.
  int max_nesting_depth = 64;
};

// What `zkarrow inspect` shows about one record batch message.
struct BatchInfo {
  int64_t num_rows = 0;
  int64_t metadata_length = 0;  // framed flatbuffer, as stored
  int64_t body_length = 0;      // as stored (compressed when compressed)
  int64_t num_buffers = 0;
  // Sum of buffer sizes after decompression, from the length prefixes (no
  // buffer is decompressed to describe a batch).
  int64_t uncompressed_body_length = 0;
  Compression compression = Compression::kNone;
  MetadataVersion version = MetadataVersion::kV5;
  KeyValueMetadata custom_metadata;
};

class StreamReader {
 public:
  // Reads the schema message; dictionary batches are read as they come.
  static Result<std::unique_ptr<StreamReader>> Open(std::unique_ptr<InputStream> input,
                                                    IpcReadOptions options = {});
  ~StreamReader();

  const Schema& schema() const;
  const std::shared_ptr<const Schema>& shared_schema() const;
  MetadataVersion metadata_version() const;

  // The next record batch, or nullopt at the end-of-stream marker (or at a
  // clean end of input between messages).
  Result<std::optional<RecordBatch>> Next();
  // Like Next(), but only verifies the next record batch message (its
  // metadata, buffer ranges and declared sizes against the limits) and
  // describes it, without decompressing or decoding any body; dictionary
  // batches are verified the same way and not kept, so a reader is used
  // either with Next() or with NextInfo(), not both.
  Result<std::optional<BatchInfo>> NextInfo();
  // Describes the batch the last successful Next() returned.
  const BatchInfo& last_batch_info() const;
  int64_t num_dictionary_batches_read() const;
  // After Next() returned nullopt: whether the stream ended with its
  // end-of-stream marker, or the input simply ran out between messages
  // (valid, but what a writer cut short leaves behind).
  bool ended_with_marker() const;

 private:
  class Impl;
  explicit StreamReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class FileReader {
 public:
  static Result<std::unique_ptr<FileReader>> Open(std::shared_ptr<const Buffer> file_bytes,
                                                  IpcReadOptions options = {});
  // Maps the file read-only and opens it.
  static Result<std::unique_ptr<FileReader>> OpenPath(const std::filesystem::path& path,
                                                      IpcReadOptions options = {});
  ~FileReader();

  const Schema& schema() const;
  const std::shared_ptr<const Schema>& shared_schema() const;
  MetadataVersion metadata_version() const;  // of the footer
  const KeyValueMetadata& footer_metadata() const;
  int num_batches() const;
  int num_dictionaries() const;

  Result<RecordBatch> ReadBatch(int i);
  // Reads only the metadata of batch i.
  Result<BatchInfo> ReadBatchInfo(int i) const;

 private:
  class Impl;
  explicit FileReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::arrow::ipc
