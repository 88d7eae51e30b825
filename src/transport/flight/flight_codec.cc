#include "transport/flight/flight_codec.h"

#include <absl/synchronization/mutex.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "arrow/buffer.h"
#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "flight.grpc.pb.h"

namespace zkarrow::transport::flight {

namespace {

using google::protobuf::internal::WireFormatLite;

// A buffer over a protobuf bytes field taken out of its message: the string
// moves into the owner, so the bytes are not copied.
std::shared_ptr<const arrow::Buffer> BufferOwning(std::string bytes) {
  auto owner = std::make_shared<std::string>(std::move(bytes));
  const auto* data = reinterpret_cast<const uint8_t*>(owner->data());
  auto size = static_cast<int64_t>(owner->size());
  return std::make_shared<const arrow::Buffer>(data, size, std::move(owner));
}

std::string ToString(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

// The key of a length-delimited field (wire type 2) and its length.
grpc::Slice FieldHeader(int field, size_t length) {
  std::string header;
  AppendVarint(header, (static_cast<uint64_t>(field) << 3) | 2);
  AppendVarint(header, length);
  return grpc::Slice(header);
}

// A slice over `buffer`'s bytes that keeps it alive until gRPC is done.
grpc::Slice SliceOf(const std::shared_ptr<const arrow::Buffer>& buffer) {
  auto* owner = new std::shared_ptr<const arrow::Buffer>(buffer);
  return grpc::Slice(
      const_cast<uint8_t*>(buffer->data()), static_cast<size_t>(buffer->size()),
      [](void* held) { delete static_cast<std::shared_ptr<const arrow::Buffer>*>(held); }, owner);
}

}  // namespace

void PrepareGrpcRuntime() {
  static std::once_flag once;
  std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
}

grpc::Status ToGrpcStatus(const Status& status) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (status.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidData:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kConflict:
      code = grpc::StatusCode::ABORTED;
      break;
    case StatusCode::kOutOfRange:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case StatusCode::kTimeout:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case StatusCode::kNotImplemented:
      code = grpc::StatusCode::UNIMPLEMENTED;
      break;
    default:
      break;
  }
  return {code, status.message()};
}

Status FromGrpcStatus(const grpc::Status& status) {
  StatusCode code = StatusCode::kRemote;
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return Status::Ok();
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = StatusCode::kInvalidArgument;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = StatusCode::kNotFound;
      break;
    case grpc::StatusCode::ABORTED:
      code = StatusCode::kConflict;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = StatusCode::kOutOfRange;
      break;
    case grpc::StatusCode::UNAVAILABLE:
      code = StatusCode::kUnavailable;
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      code = StatusCode::kUnauthenticated;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = StatusCode::kPermissionDenied;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = StatusCode::kTimeout;
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      code = StatusCode::kNotImplemented;
      break;
    case grpc::StatusCode::CANCELLED:
      code = StatusCode::kCancelled;
      break;
    default:
      break;
  }
  std::string message = status.error_message();
  if (message.empty()) message = "gRPC status " + std::to_string(status.error_code());
  return {code, std::move(message)};
}

Result<Resource> ResourceFromDescriptor(const fproto::FlightDescriptor& descriptor) {
  switch (descriptor.type()) {
    case fproto::FlightDescriptor::PATH:
      return FromFlightPath({descriptor.path().begin(), descriptor.path().end()});
    case fproto::FlightDescriptor::CMD: {
      auto resource = ParseTarget(descriptor.cmd());
      if (!resource.ok()) return resource.status().WithContext("Flight CMD descriptor");
      return resource;
    }
    default:
      return Status::InvalidArgument("Flight descriptor of type " +
                                     std::to_string(descriptor.type()) +
                                     ", expected PATH (1) or CMD (2)");
  }
}

fproto::FlightDescriptor DescriptorFor(const Resource& resource) {
  std::vector<std::string> path = resource.segments;
  if (resource.segments.size() == 1 && resource.params.size() == 1) {
    if (auto subtree = resource.Param("path")) path.emplace_back(*subtree);
  }
  fproto::FlightDescriptor descriptor;
  auto mapped = FromFlightPath(path);
  if (mapped.ok() && *mapped == resource) {
    descriptor.set_type(fproto::FlightDescriptor::PATH);
    for (std::string& element : path) descriptor.add_path(std::move(element));
  } else {
    descriptor.set_type(fproto::FlightDescriptor::CMD);
    descriptor.set_cmd(resource.ToTarget());
  }
  return descriptor;
}

Result<std::string> EncodeSchema(const arrow::Schema& schema) {
  // The writer's own schema message, cut out of the stream it starts, so
  // that there is one encoder of schemas.
  arrow::ipc::MessageSplitter splitter;
  ZKA_ASSIGN_OR_RETURN(auto writer, arrow::ipc::IpcWriter::OpenStream(splitter, schema));
  std::vector<IpcMessage> messages = splitter.TakeMessages();
  if (messages.empty()) return Status::Internal("the IPC writer wrote no schema message");
  arrow::BufferOutputStream framed;
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteFramed(framed, messages.front()));
  return ToString(framed.bytes());
}

Result<std::shared_ptr<const arrow::Schema>> DecodeSchema(std::string_view bytes) {
  if (bytes.empty()) return std::shared_ptr<const arrow::Schema>();
  // The message followed by an end-of-stream marker is a stream holding
  // only a schema: the stream reader then checks it as it checks any input.
  arrow::BufferOutputStream stream;
  ZKA_RETURN_IF_ERROR(stream.Write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteEndOfStream(stream));
  auto reader =
      arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(stream.Finish()));
  if (!reader.ok()) return reader.status().WithContext("Flight schema");
  return (*reader)->shared_schema();
}

Result<fproto::FlightInfo> ToFlightInfo(const StreamInfo& info,
                                        const fproto::FlightDescriptor& descriptor) {
  fproto::FlightInfo out;
  if (info.schema) {
    ZKA_ASSIGN_OR_RETURN(*out.mutable_schema(), EncodeSchema(*info.schema));
  }
  *out.mutable_flight_descriptor() = descriptor;
  fproto::FlightEndpoint* endpoint = out.add_endpoint();
  endpoint->mutable_ticket()->set_ticket(info.resource.ToTarget());
  for (const std::string& uri : info.locations) endpoint->add_location()->set_uri(uri);
  out.set_total_records(info.total_records);
  out.set_total_bytes(info.total_bytes);
  out.set_app_metadata(info.app_metadata_json);
  return out;
}

Result<StreamInfo> FromFlightInfo(const fproto::FlightInfo& info) {
  StreamInfo out;
  if (info.endpoint_size() > 0) {
    auto resource = ParseTarget(info.endpoint(0).ticket().ticket());
    if (!resource.ok()) return resource.status().WithContext("FlightInfo ticket");
    out.resource = std::move(*resource);
    for (const auto& location : info.endpoint(0).location())
      out.locations.push_back(location.uri());
  } else {
    ZKA_ASSIGN_OR_RETURN(out.resource, ResourceFromDescriptor(info.flight_descriptor()));
  }
  ZKA_ASSIGN_OR_RETURN(out.schema, DecodeSchema(info.schema()));
  out.total_records = info.total_records();
  out.total_bytes = info.total_bytes();
  out.app_metadata_json = info.app_metadata();
  return out;
}

void ToFlightData(const IpcMessage& message, fproto::FlightData& data) {
  if (message.metadata) data.set_data_header(ToString(message.metadata->bytes()));
  if (message.body) data.set_data_body(ToString(message.body->bytes()));
}

grpc::ByteBuffer SerializeFlightData(const IpcMessage& message) {
  std::vector<grpc::Slice> slices;
  // Fields in number order, as protobuf writes them.
  if (message.metadata && message.metadata->size() > 0) {
    slices.push_back(FieldHeader(fproto::FlightData::kDataHeaderFieldNumber,
                                 static_cast<size_t>(message.metadata->size())));
    slices.push_back(SliceOf(message.metadata));
  }
  if (message.body && message.body->size() > 0) {
    slices.push_back(FieldHeader(fproto::FlightData::kDataBodyFieldNumber,
                                 static_cast<size_t>(message.body->size())));
    slices.push_back(SliceOf(message.body));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

Result<IpcMessage> TakeMessage(fproto::FlightData& data, int64_t* framed_size) {
  IpcMessage message;
  message.metadata = BufferOwning(std::move(*data.mutable_data_header()));
  if (!data.data_body().empty()) message.body = BufferOwning(std::move(*data.mutable_data_body()));
  ZKA_ASSIGN_OR_RETURN(*framed_size, arrow::ipc::CheckEncapsulated(message));
  return message;
}

Result<std::optional<IpcMessage>> ParseFlightData(grpc::ByteBuffer& data, int64_t* framed_size) {
  const size_t total = data.Length();
  grpc::ProtoBufferReader reader(&data);
  if (!reader.status().ok()) {
    return Status::InvalidData("FlightData: " + reader.status().error_message());
  }
  google::protobuf::io::CodedInputStream in(&reader);
  auto cut = [&](const std::string& what) {
    return Status::InvalidData("FlightData of " + std::to_string(total) + " bytes: expected " +
                               what + " at byte " + std::to_string(in.CurrentPosition()));
  };
  IpcMessage message;
  // Protobuf's rules: fields in any order, the last of a repeated singular
  // field wins, other fields (descriptor, app_metadata, unknown ones of any
  // wire type, groups included) are skipped by protobuf's own code, a known
  // field of the wrong wire type counts as unknown, field number 0 is
  // malformed.
  while (static_cast<size_t>(in.CurrentPosition()) < total) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return cut("a field tag");
    const uint32_t field = tag >> 3;
    if (field == 0) return cut("a field number above 0");
    std::shared_ptr<const arrow::Buffer>* part = nullptr;
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (field == fproto::FlightData::kDataHeaderFieldNumber) part = &message.metadata;
      if (field == fproto::FlightData::kDataBodyFieldNumber) part = &message.body;
    }
    if (part == nullptr) {
      if (!WireFormatLite::SkipField(&in, tag)) {
        return cut("field " + std::to_string(field) + " of wire type " + std::to_string(tag & 7) +
                   " whole");
      }
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return cut("a length");
    if (length > total - static_cast<size_t>(in.CurrentPosition())) {
      return cut("a field of " + std::to_string(length) + " bytes");
    }
    auto bytes = std::make_shared<arrow::AlignedBytes>(length);
    if (!in.ReadRaw(bytes->data(), static_cast<int>(length))) {
      return cut(std::to_string(length) + " bytes");
    }
    bytes->ZeroFrom(length);
    const uint8_t* start = bytes->data();
    *part = std::make_shared<const arrow::Buffer>(start, length, std::move(bytes));
  }
  const bool has_header = message.metadata && message.metadata->size() > 0;
  const bool has_body = message.body && message.body->size() > 0;
  if (!has_header && !has_body) return std::optional<IpcMessage>();
  if (!has_header) message.metadata = arrow::Buffer::Zeroed(0);
  if (!has_body) message.body.reset();
  ZKA_ASSIGN_OR_RETURN(*framed_size, arrow::ipc::CheckEncapsulated(message));
  return std::optional<IpcMessage>(std::move(message));
}

grpc::ChannelArguments ClientChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

RawDoGet::RawDoGet(const std::shared_ptr<grpc::ChannelInterface>& channel)
    : channel_(channel),
      method_name_("/" + std::string(fproto::FlightService::service_full_name()) + "/DoGet"),
      method_(method_name_.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING, channel) {}

std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> RawDoGet::Prepare(
    grpc::ClientContext& context, const fproto::Ticket& ticket,
    grpc::CompletionQueue& queue) const {
  return std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>>(
      grpc::internal::ClientAsyncReaderFactory<grpc::ByteBuffer>::Create(
          channel_.get(), &queue, method_, &context, ticket, /*start=*/false, nullptr));
}

bool CarriesNoMessage(const fproto::FlightData& data) {
  return data.data_header().empty() && data.data_body().empty();
}

std::shared_ptr<const arrow::Buffer> EndOfStreamBytes() {
  // The continuation token and a zero metadata length.
  uint8_t marker[8] = {};
  arrow::ipc::StoreUint32Le(marker, arrow::ipc::kContinuationToken);
  return arrow::Buffer::CopyOf(marker);
}

Status FramedParts::Push(const IpcMessage& message) {
  if (!message.metadata) return Status::InvalidArgument("a message without metadata");
  arrow::BufferOutputStream framed;
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteFramedMetadata(framed, message.metadata->bytes()).status());
  parts_.push_back(framed.Finish());
  if (message.body && message.body->size() > 0) parts_.push_back(message.body);
  return Status::Ok();
}

void FramedParts::PushBytes(std::shared_ptr<const arrow::Buffer> bytes) {
  if (bytes->size() > 0) parts_.push_back(std::move(bytes));
}

int64_t FramedParts::Read(std::span<uint8_t> out) {
  int64_t total = 0;
  while (!out.empty() && !parts_.empty()) {
    const arrow::Buffer& front = *parts_.front();
    int64_t n = std::min(static_cast<int64_t>(out.size()), front.size() - position_);
    std::copy_n(front.data() + position_, n, out.data());
    out = out.subspan(static_cast<size_t>(n));
    total += n;
    Advance(n);
  }
  return total;
}

std::shared_ptr<const arrow::Buffer> FramedParts::TakeSlice(int64_t length) {
  if (parts_.empty() || parts_.front()->size() - position_ < length) return nullptr;
  auto slice = position_ == 0 && length == parts_.front()->size()
                   ? parts_.front()
                   : parts_.front()->Slice(position_, length);
  Advance(length);
  return slice;
}

void FramedParts::Advance(int64_t n) {
  position_ += n;
  if (position_ == parts_.front()->size()) {
    parts_.pop_front();
    position_ = 0;
  }
}

Result<int64_t> FlightDataInput::Read(std::span<uint8_t> out) {
  if (out.empty()) return int64_t{0};
  ZKA_RETURN_IF_ERROR(Refill());
  return parts_.Read(out);
}

Result<std::shared_ptr<const arrow::Buffer>> FlightDataInput::ReadBuffer(int64_t length) {
  // Nothing to wait for (a schema's empty body).
  if (length <= 0) return InputStream::ReadBuffer(length);
  ZKA_RETURN_IF_ERROR(Refill());
  if (auto slice = parts_.TakeSlice(length)) return slice;
  return InputStream::ReadBuffer(length);
}

Status FlightDataInput::Refill() {
  while (parts_.empty() && failure_.ok() && !ended_) failure_ = Fill();
  return failure_;
}

}  // namespace zkarrow::transport::flight
