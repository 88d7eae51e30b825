// Hostile Arrow IPC streams, built in memory: small inputs that ask a reader
// for far more memory or time than their size (the cases of issue 10). Each
// generator takes its sizes, so unit tests use small ones and the CLI tests
// the sizes that were measured against the old reader.
#pragma once

#include <flatbuffers/flatbuffers.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"

namespace zkarrow::arrow::hostile {

namespace fb = ipc::fb;
using Bytes = std::vector<uint8_t>;

// <continuation> <length> <flatbuffer padded to 8> <body>
inline Bytes Frame(flatbuffers::FlatBufferBuilder& fbb, const Bytes& body) {
  auto span = fbb.GetBufferSpan();
  Bytes out = {0xff, 0xff, 0xff, 0xff};
  const auto padded = static_cast<uint32_t>((span.size() + 7) / 8 * 8);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(padded >> (8 * i)));
  out.insert(out.end(), span.begin(), span.end());
  out.resize(8 + padded, 0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// The schema message our writer makes for `schema` (its end-of-stream marker cut off).
inline Bytes SchemaMessage(const Schema& schema) {
  BufferOutputStream sink;
  auto writer = ipc::IpcWriter::OpenStream(sink, schema, {});
  if (!writer.ok() || !(*writer)->Close().ok()) return {};
  auto buffer = sink.Finish();
  auto bytes = buffer->bytes();
  return {bytes.begin(), bytes.end() - 8};
}

struct Batch {
  int64_t length = 0;
  std::vector<fb::FieldNode> nodes;
  std::vector<fb::Buffer> buffers;
  Bytes body;
  bool zstd = false;
};

inline flatbuffers::Offset<fb::RecordBatch> BuildBatch(flatbuffers::FlatBufferBuilder& fbb,
                                                       const Batch& batch) {
  auto nodes = fbb.CreateVectorOfStructs(batch.nodes);
  auto buffers = fbb.CreateVectorOfStructs(batch.buffers);
  auto compression = batch.zstd ? fb::CreateBodyCompression(fbb, fb::CompressionType::ZSTD)
                                : flatbuffers::Offset<fb::BodyCompression>();
  return fb::CreateRecordBatch(fbb, batch.length, nodes, buffers, compression);
}

inline Bytes RecordBatchMessage(const Batch& batch) {
  flatbuffers::FlatBufferBuilder fbb;
  auto header = BuildBatch(fbb, batch);
  fbb.Finish(fb::CreateMessage(fbb, fb::MetadataVersion::V5, fb::MessageHeader::RecordBatch,
                               header.Union(), static_cast<int64_t>(batch.body.size())));
  return Frame(fbb, batch.body);
}

inline Bytes DictionaryMessage(int64_t id, const Batch& batch, bool delta) {
  flatbuffers::FlatBufferBuilder fbb;
  auto data = BuildBatch(fbb, batch);
  auto header = fb::CreateDictionaryBatch(fbb, id, data, delta);
  fbb.Finish(fb::CreateMessage(fbb, fb::MetadataVersion::V5, fb::MessageHeader::DictionaryBatch,
                               header.Union(), static_cast<int64_t>(batch.body.size())));
  return Frame(fbb, batch.body);
}

inline void Append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

inline void PutInt64(Bytes& out, int64_t value) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, sizeof(value));
  out.insert(out.end(), bytes, bytes + 8);
}

inline void PadTo8(Bytes& out) { out.resize((out.size() + 7) / 8 * 8, 0); }

// A zstd frame of `n` zero bytes, compressed a chunk at a time.
inline Bytes ZstdZeros(int64_t n) {
  Bytes out;
  ZSTD_CCtx* context = ZSTD_createCCtx();
  ZSTD_CCtx_setPledgedSrcSize(context, static_cast<unsigned long long>(n));
  const Bytes zeros(1 << 20, 0);
  Bytes chunk(ZSTD_CStreamOutSize());
  int64_t left = n;
  while (true) {
    const size_t take = static_cast<size_t>(std::min<int64_t>(left, zeros.size()));
    left -= static_cast<int64_t>(take);
    ZSTD_inBuffer in{zeros.data(), take, 0};
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    size_t remaining;
    do {
      ZSTD_outBuffer sink{chunk.data(), chunk.size(), 0};
      remaining = ZSTD_compressStream2(context, &sink, &in, mode);
      out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<long>(sink.pos));
    } while (mode == ZSTD_e_end ? remaining != 0 : in.pos < in.size);
    if (left == 0) break;
  }
  ZSTD_freeCCtx(context);
  return out;
}

// A compressed buffer as stored: the declared length, then the frame.
inline Bytes Stored(int64_t declared, const Bytes& frame) {
  Bytes out;
  PutInt64(out, declared);
  Append(out, frame);
  return out;
}

// One int64 column whose single compressed buffer declares `declared` bytes
// but holds `payload` bytes of garbage (the frame is corrupt).
inline Bytes HugeClaimStream(int64_t declared, int64_t payload) {
  Bytes stream = SchemaMessage(Schema{{MakeField("i", Int64())}, {}});
  Batch batch{declared / 8, {{declared / 8, 0}}, {}, Stored(declared, Bytes(payload, 0x5a)), true};
  PadTo8(batch.body);
  batch.buffers = {{0, 0}, {0, 8 + payload}};
  Append(stream, RecordBatchMessage(batch));
  return stream;
}

// "c0", "c1", ...: appended, not "c" + std::to_string(i), on which GCC 12
// at -O3 reports a false -Wrestrict.
inline std::string ColumnName(int i) {
  std::string name = "c";
  name += std::to_string(i);
  return name;
}

// `columns` int64 columns whose value buffers all point at one zstd frame
// of `frame_bytes` zeros.
inline Bytes SharedFrameStream(int columns, int64_t frame_bytes) {
  Schema schema;
  for (int i = 0; i < columns; ++i)
    schema.fields.push_back(MakeField(ColumnName(i), Int64()));
  Bytes stream = SchemaMessage(schema);
  Batch batch{frame_bytes / 8, {}, {}, Stored(frame_bytes, ZstdZeros(frame_bytes)), true};
  const auto stored = static_cast<int64_t>(batch.body.size());
  PadTo8(batch.body);
  for (int i = 0; i < columns; ++i) {
    batch.nodes.push_back({frame_bytes / 8, 0});
    batch.buffers.push_back({0, 0});
    batch.buffers.push_back({0, stored});
  }
  Append(stream, RecordBatchMessage(batch));
  return stream;
}

// `columns` int8 columns whose value buffers all cover the same misaligned
// range [1, body_bytes) of an uncompressed body.
inline Bytes MisalignedStream(int columns, int64_t body_bytes) {
  Schema schema;
  for (int i = 0; i < columns; ++i)
    schema.fields.push_back(MakeField(ColumnName(i), Int8()));
  Bytes stream = SchemaMessage(schema);
  Batch batch{body_bytes - 1, {}, {}, Bytes(static_cast<size_t>(body_bytes), 1), false};
  for (int i = 0; i < columns; ++i) {
    batch.nodes.push_back({body_bytes - 1, 0});
    batch.buffers.push_back({0, 0});
    batch.buffers.push_back({1, body_bytes - 1});
  }
  Append(stream, RecordBatchMessage(batch));
  return stream;
}

// A dictionary-encoded int64 column (id 0) and `deltas` + 1 dictionary
// batches of `values_per_delta` zeros each, compressed; then one record
// batch using index 0.
inline Bytes DeltaDictionaryStream(int deltas, int64_t values_per_delta) {
  Field field = MakeField("d", Int64());
  field.dictionary = DictionaryEncoding{0, Int32(), false};
  Bytes stream = SchemaMessage(Schema{{field}, {}});
  Batch values{values_per_delta,
               {{values_per_delta, 0}},
               {},
               Stored(values_per_delta * 8, ZstdZeros(values_per_delta * 8)),
               true};
  const auto stored = static_cast<int64_t>(values.body.size());
  PadTo8(values.body);
  values.buffers = {{0, 0}, {0, stored}};
  for (int i = 0; i <= deltas; ++i) Append(stream, DictionaryMessage(0, values, i > 0));
  Batch indices{1, {{1, 0}}, {{0, 0}, {0, 4}}, Bytes(8, 0), false};
  Append(stream, RecordBatchMessage(indices));
  return stream;
}

// A dictionary of list<null> values (id 0): a first batch and a delta of one
// list each, holding `children` null elements, so the concatenated offsets
// reach 2 * children (past int32 for children > 2^30) without any data.
inline Bytes ListOfNullDeltaStream(int32_t children) {
  Field field = MakeField("d", ListType(MakeField("item", NullType())));
  field.dictionary = DictionaryEncoding{0, Int32(), false};
  Bytes stream = SchemaMessage(Schema{{field}, {}});
  Bytes body;
  PutInt64(body, int64_t{children} << 32);  // offsets {0, children} as int32
  Batch values{1, {{1, 0}, {children, children}}, {{0, 0}, {0, 8}}, body, false};
  Append(stream, DictionaryMessage(0, values, false));
  Append(stream, DictionaryMessage(0, values, true));
  Batch indices{1, {{1, 0}}, {{0, 0}, {0, 4}}, Bytes(8, 0), false};
  Append(stream, RecordBatchMessage(indices));
  return stream;
}

}  // namespace zkarrow::arrow::hostile
