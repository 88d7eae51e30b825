// A Flight client for `zkarrow get` and `zkarrow put` (ArrowClient), plus
// the Flight calls that have no counterpart there (GetFlightInfo,
// GetSchema, ListActions, Handshake). It speaks to any Flight server for
// what the specification fixes (FlightData as IPC messages, PATH and CMD
// descriptors); tickets and descriptors follow zkarrow's resources.
//
// Calls block the calling thread. Unary calls and listings have the
// connect timeout as their deadline; a Get stream has none (a `changes`
// stream is endless): ClientOptions::interrupted ends a wait in its Read
// (kCancelled), and destroying the stream cancels the call.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "transport/arrow_client.h"

namespace zkarrow::transport::flight {

// The action Delete() runs: its body is the resource's target (e.g.
// "/datasets/NAME"); Flight has no delete call of its own.
inline constexpr std::string_view kDropAction = "drop";

// Drops gRPC's own log lines for the rest of the process. A command-line
// client reports a failed call in a message of its own (a refused TLS
// handshake included); gRPC printed its internals beside it ("E1204 ...
// ssl_transport_security.cc:1501] Handshake failed with fatal error ...").
// Not for servers, whose operators read those lines; not when
// GRPC_VERBOSITY is set, which asks for them.
void DropGrpcLogs();

class FlightClient final : public ArrowClient {
 public:
  // Opens a channel to options.host:options.port (TLS when options.tls,
  // verified against options.tls_ca_file or the system's roots) and waits
  // up to options.connect_timeout_ms for it to connect.
  static Result<std::unique_ptr<FlightClient>> Connect(const ClientOptions& options);
  ~FlightClient() override;

  Result<std::vector<StreamInfo>> List() override;
  Result<std::unique_ptr<arrow::InputStream>> Get(const Resource& resource,
                                                  const GetOptions& options) override;
  // Sends the stream's messages as FlightData (the descriptor on the
  // first); every message must fit in a FlightData of 4 MiB (write smaller
  // batches), else OutOfRange. `progress` gets the bytes sent so far. The
  // result is the resource and the server's PutResult app_metadata (counts
  // and schema unknown: -1 and null).
  Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& ipc_stream,
                         const ProgressCallback& progress) override;
  // DoAction(kDropAction, resource target).
  Status Delete(const Resource& resource) override;
  // The bodies of the action's results, concatenated.
  Result<std::string> DoAction(std::string_view type, std::string_view body) override;

  Result<StreamInfo> GetFlightInfo(const Resource& resource);
  Result<std::shared_ptr<const arrow::Schema>> GetSchema(const Resource& resource);
  Result<std::vector<ActionType>> ListActions();
  // Sends one HandshakeRequest with `payload`; returns the response's.
  Result<std::string> Handshake(std::string_view payload);

 private:
  class Impl;
  explicit FlightClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::transport::flight
