// The client side of ArrowService, one implementation per wire protocol
// (flight/flight_client.h, http/http_client.h), so that `zkarrow get` and
// `zkarrow put` are written once against this interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arrow/io.h"
#include "base/status.h"
#include "transport/arrow_service.h"
#include "transport/resource.h"

namespace zkarrow::transport {

struct ClientOptions {
  std::string host;
  int port = 0;
  bool tls = false;
  // PEM file of the CA that signed the server's certificate; empty: the
  // system's trust store.
  std::string tls_ca_file;
  // Sent as "authorization: Bearer TOKEN" when non-empty (read from a file
  // by the caller, never from argv).
  std::string bearer_token;
  // Connect and per-request deadline; a stream being read has none (a
  // `changes` stream is endless by design).
  int connect_timeout_ms = 10'000;
  // Polled (a few times a second) while a Get stream waits for the server;
  // once it returns true, the waiting Read fails with kCancelled. For a
  // command reading an endless stream until a signal or a time limit,
  // when the server may send nothing for long. Empty: never interrupted.
  std::function<bool()> interrupted;
};

// Called as bytes move, for progress lines (from the calling thread).
using ProgressCallback = std::function<void(int64_t bytes)>;

class ArrowClient {
 public:
  virtual ~ArrowClient() = default;

  virtual Result<std::vector<StreamInfo>> List() = 0;
  // The response as an Arrow IPC stream in the stream format (framed
  // messages, ending with the end-of-stream marker when the server
  // completed it), for arrow::ipc::StreamReader. A server error before the
  // first byte is this call's error; one later fails a Read.
  virtual Result<std::unique_ptr<arrow::InputStream>> Get(const Resource& resource,
                                                          const GetOptions& options) = 0;
  // Sends an Arrow IPC stream (stream format bytes, e.g. a file converted
  // on the fly by the caller) as the resource; returns what the server
  // stored.
  virtual Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& ipc_stream,
                                 const ProgressCallback& progress) = 0;
  virtual Status Delete(const Resource& resource) = 0;
  virtual Result<std::string> DoAction(std::string_view type, std::string_view body) = 0;
};

}  // namespace zkarrow::transport
