// What a zkarrow server serves, as both transports (transport/flight,
// transport/http) see it. The transports own sockets, protocol framing,
// TLS, the bearer token and per-client limits; an ArrowService owns the
// data. Neither side knows ZooKeeper: serve/ implements this interface over
// the live tree and the dataset store.
//
// Errors carry a StatusCode that each transport maps to its own status in
// one place (StatusToHttp, StatusToGrpc):
//   kInvalidArgument, kInvalidData -> 400 / INVALID_ARGUMENT
//   kNotFound                      -> 404 / NOT_FOUND
//   kConflict                      -> 409 / ABORTED
//   kOutOfRange                    -> 413 / RESOURCE_EXHAUSTED
//   kUnavailable                   -> 503 / UNAVAILABLE
//   kUnauthenticated               -> 401 / UNAUTHENTICATED
//   kPermissionDenied              -> 403 / PERMISSION_DENIED
//   kTimeout                       -> 504 / DEADLINE_EXCEEDED
//   kNotImplemented                -> 501 / UNIMPLEMENTED
//   anything else                  -> 500 / INTERNAL
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/writer.h"
#include "arrow/type.h"
#include "base/status.h"
#include "transport/message_stream.h"
#include "transport/resource.h"

namespace zkarrow::transport {

// What a client learns about a resource before reading it (Flight's
// FlightInfo; HTTP's GET /datasets listing).
struct StreamInfo {
  Resource resource;  // the canonical request for it (Flight's ticket)
  std::shared_ptr<const arrow::Schema> schema;
  int64_t total_records = -1;  // -1: unknown (live data, endless streams)
  int64_t total_bytes = -1;
  // Extra facts as JSON text (dataset version, checksum, zxid), or empty.
  std::string app_metadata_json;
  // Other servers that serve the same resource (URIs such as
  // grpc://HOST:PORT; Flight: the endpoint's locations). Empty: only the
  // server that answered, as Flight's rule for an endpoint without
  // locations says.
  std::vector<std::string> locations;
};

struct GetOptions {
  // IPC body compression the client asked for (the codecs parameter).
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
};

// The request parameter that asks for IPC body compression, the same on
// every transport: a Flight ticket or descriptor carries it
// (`/znodes?codecs=zstd`), HTTP maps its Accept header's codecs="zstd" onto
// it. Its value is a comma-separated list of codec names, the first known
// one chosen.
inline constexpr const char* kCodecsParam = "codecs";

// The codec called `name` ("zstd", "lz4" or "lz4_frame", any case), if known.
std::optional<arrow::ipc::Compression> CodecNamed(std::string_view name);
// The name a client sends for `compression` ("" for none).
std::string_view CodecName(arrow::ipc::Compression compression);
// Moves the transport's own parameters (codecs) out of `resource` into the
// options, leaving the service's. A codecs list naming no known codec is
// InvalidArgument.
Result<GetOptions> TakeGetOptions(Resource& resource);

// The error of a request whose service call ran out of memory (a
// std::bad_alloc out of it): that request fails (503, UNAVAILABLE), the
// server goes on serving.
Status OutOfMemoryError();

struct ActionType {
  std::string type;
  std::string description;
};

class ArrowService {
 public:
  virtual ~ArrowService() = default;

  // Everything a client can read now (Flight ListFlights).
  virtual Result<std::vector<StreamInfo>> List() = 0;
  virtual Result<StreamInfo> Describe(const Resource& resource) = 0;
  // Cheap: the stream produces its messages as the transport pulls them.
  virtual Result<std::unique_ptr<MessageStream>> Get(const Resource& resource,
                                                     const GetOptions& options) = 0;
  // Reads an upload (an Arrow IPC stream) to its end, validates it and
  // stores it under the resource; nothing is visible unless it all
  // succeeded. Blocks: transports call it on a thread that may wait for
  // the client's bytes. `upload` fails with OutOfRange past the transport's
  // upload size limit.
  virtual Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& upload) = 0;
  virtual Status Delete(const Resource& resource) = 0;

  // Flight actions (HTTP: POST /actions/TYPE with the body). May block for
  // a bounded time (sync waits for the mirror); the result is JSON text.
  virtual std::vector<ActionType> ListActions() = 0;
  virtual Result<std::string> DoAction(std::string_view type, std::string_view body) = 0;

  // Ok when the service can answer reads (GET /healthz; 503 otherwise).
  virtual Status Health() = 0;
  // The service's own metrics in Prometheus text format, appended to the
  // transport's (requests, bytes, errors).
  virtual void AppendMetrics(std::string& text) = 0;
};

// Limits and security shared by both listeners.
struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (the server reports the one it got)
  // PEM files; both empty: plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // When non-empty, every request must carry "authorization: Bearer TOKEN"
  // (Flight: call metadata, or a Handshake that returns it).
  std::string bearer_token;
  // An upload larger than this is refused (413 / RESOURCE_EXHAUSTED).
  int64_t max_upload_bytes = int64_t{1} << 30;
  // Responses and uploads in progress at once; one more is refused (503).
  int max_concurrent_streams = 64;
};

}  // namespace zkarrow::transport
