// Writes record batches in the Arrow IPC stream or file format (metadata
// version V5, little-endian), optionally with per-buffer body compression.
//
// Dictionary-encoded columns carry their dictionary in ArrayData::dictionary.
// The writer emits a DictionaryBatch before the first record batch that uses
// an id, and, in streams, again whenever the dictionary *object* of that id
// changes (replacement). The file format cannot express replacement, so the
// file writer refuses it.
#pragma once

#include <cstdint>
#include <memory>

#include "arrow/array.h"
#include "arrow/io.h"
#include "arrow/type.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

enum class Compression : uint8_t { kNone, kLz4Frame, kZstd };
enum class IpcFormat : uint8_t { kStream, kFile };

struct IpcWriteOptions {
  Compression compression = Compression::kNone;
  int zstd_level = 1;
};

class IpcWriter {
 public:
  static Result<std::unique_ptr<IpcWriter>> OpenStream(OutputStream& sink, const Schema& schema,
                                                       IpcWriteOptions options = {});
  static Result<std::unique_ptr<IpcWriter>> OpenFile(OutputStream& sink, const Schema& schema,
                                                     IpcWriteOptions options = {});
  // OpenStream or OpenFile, as `format` says.
  static Result<std::unique_ptr<IpcWriter>> Open(OutputStream& sink, const Schema& schema,
                                                 IpcFormat format, IpcWriteOptions options = {});
  ~IpcWriter();
  IpcWriter(const IpcWriter&) = delete;
  IpcWriter& operator=(const IpcWriter&) = delete;

  // The batch must match the schema given at open (same fields, same types).
  Status WriteBatch(const RecordBatch& batch);
  // As above, with custom metadata on the RecordBatch message.
  Status WriteBatch(const RecordBatch& batch, const KeyValueMetadata& message_metadata);

  // Streams only: appends `delta` to the dictionary `id` (a DictionaryBatch
  // with isDelta) and records `combined` (old values followed by `delta`) as
  // the current dictionary, so that batches referring to `combined` do not
  // trigger a replacement.
  Status WriteDictionaryDelta(int64_t id, const ArrayData& delta,
                              std::shared_ptr<const ArrayData> combined);

  // Writes the end-of-stream marker (and, for files, the footer). Further
  // writes fail. Does not close the sink.
  Status Close();

 private:
  class Impl;
  explicit IpcWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::arrow::ipc
