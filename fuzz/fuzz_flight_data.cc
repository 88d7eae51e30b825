// libFuzzer target: FlightData from a hostile Flight server, as the client
// reads it (ParseFlightData, a hand-written reader of protobuf's wire format
// that copies each part once into aligned memory). The first input byte
// cuts the rest into gRPC slices, since a message arrives in pieces of any
// size. Besides never crashing, the reader must agree with protobuf's own
// parser: whenever protobuf accepts the bytes, ParseFlightData accepts them
// too and finds the same header and body, and the two messages pass or fail
// the same encapsulation check.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "transport/flight/flight_codec.h"

namespace {

using zkarrow::transport::IpcMessage;
namespace fproto = ::arrow::flight::protocol;

std::string Bytes(const std::shared_ptr<const zkarrow::arrow::Buffer>& buffer) {
  if (!buffer) return {};
  return {reinterpret_cast<const char*>(buffer->data()), static_cast<size_t>(buffer->size())};
}

}  // namespace

// gRPC's slices call into the library through a pointer its initializer
// sets when the first channel or server is made; the client always has a
// channel before it reads FlightData, so the fuzzer makes one too. It never
// connects (nothing is sent on it).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;  // the slice size, 1 to 64 bytes
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  int64_t framed_size = 0;
  auto ours = zkarrow::transport::flight::ParseFlightData(buffer, &framed_size);

  fproto::FlightData theirs;
  if (!theirs.ParseFromString(bytes)) return 0;  // malformed: ours may refuse or skip
  const bool has_message = !theirs.data_header().empty() || !theirs.data_body().empty();
  int64_t their_framed_size = 0;
  const std::string header = theirs.data_header();
  const std::string body = theirs.data_body();
  auto their_message = zkarrow::transport::flight::TakeMessage(theirs, &their_framed_size);
  if (!has_message) {
    if (!ours.ok() || ours->has_value()) std::abort();  // a FlightData without a message
    return 0;
  }
  if (ours.ok() != their_message.ok()) std::abort();
  if (!ours.ok()) return 0;
  if (!ours->has_value()) std::abort();
  const IpcMessage& message = **ours;
  if (Bytes(message.metadata) != header || Bytes(message.body) != body) std::abort();
  if (framed_size != their_framed_size) std::abort();
  return 0;
}
