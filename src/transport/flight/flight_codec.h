// Flight's protobuf messages to and from the transport's types, shared by
// FlightServer and FlightClient so that both sides read and write one
// encoding: statuses, descriptors, FlightInfo, encapsulated schemas and
// FlightData. Internal to transport/flight (it exposes the generated code).
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/async_stream.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "arrow/type.h"
#include "base/status.h"
#include "flight.pb.h"
#include "transport/arrow_service.h"
#include "transport/message_stream.h"
#include "transport/resource.h"

namespace zkarrow::transport::flight {

namespace fproto = ::arrow::flight::protocol;

// gRPC's default limit on a received message (4 MiB), which every Flight
// client applies to each FlightData it reads unless told otherwise. A server
// cannot know what a client configured, so nothing larger is sent.
inline constexpr int64_t kMaxFlightDataBytes = int64_t{4} << 20;

// Called before the process's first gRPC server or channel (idempotent).
// Debian builds Abseil without NDEBUG, which turns on absl::Mutex's
// deadlock detection: every lock and unlock of every mutex inside gRPC then
// updates one process-wide lock-order graph under a global lock, ten times
// the cost of the lock itself. It is a debugging aid of Abseil's, not a
// check of ours, so it is switched off for the process.
void PrepareGrpcRuntime();

// The one mapping of StatusCode to gRPC codes (the table in
// transport/arrow_service.h) and its inverse for clients.
grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

// PATH descriptors through FromFlightPath, CMD descriptors as a request
// target (ParseTarget); UNKNOWN is InvalidArgument.
Result<Resource> ResourceFromDescriptor(const fproto::FlightDescriptor& descriptor);
// A PATH descriptor when FromFlightPath maps one back to `resource`
// exactly, else a CMD descriptor holding its target.
fproto::FlightDescriptor DescriptorFor(const Resource& resource);

// The schema as Flight carries it (FlightInfo.schema, SchemaResult.schema):
// an encapsulated IPC Schema message with its stream-format prefix.
Result<std::string> EncodeSchema(const arrow::Schema& schema);
// Reads such bytes (either prefix form); empty bytes give a null schema.
Result<std::shared_ptr<const arrow::Schema>> DecodeSchema(std::string_view bytes);

// The FlightInfo of `info`: one endpoint whose ticket is the resource's
// target, redeemable on this server.
Result<fproto::FlightInfo> ToFlightInfo(const StreamInfo& info,
                                        const fproto::FlightDescriptor& descriptor);
// The inverse: the resource is the first endpoint's ticket (the
// descriptor's when there is no endpoint).
Result<StreamInfo> FromFlightInfo(const fproto::FlightInfo& info);

// Fills data_header and data_body (copies); the caller checks the result's
// size against kMaxFlightDataBytes.
void ToFlightData(const IpcMessage& message, fproto::FlightData& data);
// The same FlightData already serialized for gRPC, without copying the
// message: the protobuf field headers are made here, and the metadata and
// body go out as slices that hold their buffers. DoGet sends every byte of
// a response this way, instead of copying it into a FlightData and from
// there into gRPC's buffers.
grpc::ByteBuffer SerializeFlightData(const IpcMessage& message);
// Moves data_header and data_body out of `data` into a message (no copy)
// and checks it (CheckEncapsulated); *framed_size is its size in the stream
// format. InvalidData when the two parts do not form a message.
Result<IpcMessage> TakeMessage(fproto::FlightData& data, int64_t* framed_size);
// The message of a FlightData as gRPC received it, serialized, checked as
// TakeMessage checks it; nullopt for one that carries no message (only a
// descriptor or app_metadata). Each part is copied once, from gRPC's
// receive slices into a 64-byte aligned buffer of its own (a large body's
// from the huge-page allocator, whose freed mappings are reused with their
// pages faulted in): parsed by protobuf, a body went into a std::string of
// fresh heap memory, faulted in page by page on every DoGet.
Result<std::optional<IpcMessage>> ParseFlightData(grpc::ByteBuffer& data, int64_t* framed_size);

// The arguments of every client channel (FlightClient's): a connection of
// its own, as Arrow's Flight client makes. gRPC shares one connection
// between all channels to the same address with the same arguments by
// default, and clients in one process then queue their calls' reading and
// writing behind each other on it.
grpc::ChannelArguments ClientChannelArguments();

// DoGet on a channel, its FlightData read unparsed (for ParseFlightData).
// The generated stub reads them only as FlightData; this is the call it
// makes (the same method, request and streaming) with grpc::ByteBuffer as
// the type read.
class RawDoGet {
 public:
  explicit RawDoGet(const std::shared_ptr<grpc::ChannelInterface>& channel);
  // The call, not started (StartCall), its events on `queue`.
  std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> Prepare(
      grpc::ClientContext& context, const fproto::Ticket& ticket,
      grpc::CompletionQueue& queue) const;

 private:
  std::shared_ptr<grpc::ChannelInterface> channel_;
  // The generated service's name + "/DoGet"; method_ keeps a pointer to it.
  std::string method_name_;
  grpc::internal::RpcMethod method_;
};
// True for a FlightData without an IPC message (only a descriptor or
// app_metadata), which a stream skips.
bool CarriesNoMessage(const fproto::FlightData& data);

// The stream format's end-of-stream marker as a buffer.
std::shared_ptr<const arrow::Buffer> EndOfStreamBytes();

// Received messages as the bytes of the stream format, for the input
// streams of DoGet (client) and DoPut (server): the framed metadata is a
// small copy, a body is handed out as its own buffer, so that a reader's
// ReadBuffer() of a body (what the IPC reader asks for) copies nothing.
class FramedParts {
 public:
  Status Push(const IpcMessage& message);
  void PushBytes(std::shared_ptr<const arrow::Buffer> bytes);
  bool empty() const { return parts_.empty(); }
  // Copies up to out.size() bytes; 0 only when empty.
  int64_t Read(std::span<uint8_t> out);
  // The next `length` bytes as a slice when the front part holds them all
  // (a body, read whole), else null and nothing is taken.
  std::shared_ptr<const arrow::Buffer> TakeSlice(int64_t length);

 private:
  void Advance(int64_t n);
  std::deque<std::shared_ptr<const arrow::Buffer>> parts_;
  int64_t position_ = 0;  // in parts_.front()
};

// An Arrow IPC stream made of FlightData received one at a time (DoGet's on
// the client, DoPut's on the server): the subclass receives, this hands out
// the framed bytes, a body as its own buffer.
class FlightDataInput : public arrow::InputStream {
 public:
  Result<int64_t> Read(std::span<uint8_t> out) final;
  Result<std::shared_ptr<const arrow::Buffer>> ReadBuffer(int64_t length) final;

  // Receives until there are bytes to hand out, the stream ended, or it
  // failed; the failure is kept and returned from then on.
  Status Refill();
  // Why receiving failed (Ok if it did not).
  const Status& failure() const { return failure_; }

 protected:
  // Receives the next FlightData into parts(), or the end of the stream:
  // then it pushes what ends it (EndOfStreamBytes()) and calls set_ended().
  virtual Status Fill() = 0;
  FramedParts& parts() { return parts_; }
  void set_ended() { ended_ = true; }
  bool ended() const { return ended_; }

 private:
  FramedParts parts_;
  bool ended_ = false;
  Status failure_;
};

}  // namespace zkarrow::transport::flight
