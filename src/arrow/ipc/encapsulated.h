// Encapsulated IPC messages apart from their framing. A stream on disk or
// over HTTP frames each message as <0xFFFFFFFF> <int32 length> <Message
// flatbuffer padded to 8> <body>; Arrow Flight carries the same two parts in
// separate fields of FlightData (data_header, data_body). The writers in
// this library produce the framed form; MessageSplitter turns it into parts
// and WriteFramed turns parts back into the framed form, so there is one
// encoder for every transport.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "arrow/buffer.h"
#include "arrow/io.h"
#include "base/status.h"

namespace zkarrow::arrow::ipc {

struct EncapsulatedMessage {
  // The Message flatbuffer (as written: padded to a multiple of 8 bytes).
  std::shared_ptr<const Buffer> metadata;
  // The message body (bodyLength bytes); null or empty for a schema.
  std::shared_ptr<const Buffer> body;

  int64_t framed_size() const {
    return 8 + (metadata ? metadata->size() : 0) + (body ? body->size() : 0);
  }
};

// An OutputStream for an IpcWriter in stream format: cuts what is written
// into messages. The end-of-stream marker ends the stream and is not a
// message; anything after it, or bytes that are not a well-formed stream,
// fail the write (InvalidData), so a misuse cannot go unnoticed.
// REQUIRES: the bytes come from this process's own IpcWriter. A part's
// declared length is reserved before its bytes arrive, so untrusted input
// (an upload) must go through a reader with budgets (IpcReadOptions), never
// through this class.
class MessageSplitter final : public OutputStream {
 public:
  Status Write(std::span<const uint8_t> bytes) override;

  // The messages completed since the last call, in order.
  std::vector<EncapsulatedMessage> TakeMessages();
  bool ended() const { return state_ == State::kEnded; }
  // True between messages (no partial message buffered).
  bool at_message_boundary() const { return state_ == State::kPrefix && filled_ == 0; }

 private:
  enum class State : uint8_t { kPrefix, kMetadata, kBody, kEnded };
  Status FinishMetadata();

  State state_ = State::kPrefix;
  uint8_t prefix_[8] = {};
  int64_t filled_ = 0;  // bytes of the current part received
  BufferBuilder part_;
  int64_t part_size_ = 0;
  std::shared_ptr<const Buffer> metadata_;
  std::vector<EncapsulatedMessage> done_;
};

// Writes `message` as the stream format frames it.
Status WriteFramed(OutputStream& out, const EncapsulatedMessage& message);

// Checks a message received in parts (e.g. from Flight) before it is framed
// for a reader: the metadata is a verifiable Message flatbuffer whose
// bodyLength equals the body's size. Returns the framed message's size.
Result<int64_t> CheckEncapsulated(const EncapsulatedMessage& message);

}  // namespace zkarrow::arrow::ipc
