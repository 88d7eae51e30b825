// The HTTP side of transport::ArrowClient: synchronous calls over HTTP/1.1
// or HTTPS (Boost.Beast). A connection whose response was read to its end
// is kept for the next call (keep-alive: no connect, and no TLS handshake,
// per request); a kept connection the server has closed meanwhile is found
// at the next call's first write or read, and that call goes again on a new
// one. Uploads always take a new connection. Safe to call from several
// threads at once (each call has a connection of its own).
//
// Deadlines: connecting, the TLS handshake, sending a request without a
// streamed body and reading a response's headers and JSON body each have
// ClientOptions::connect_timeout_ms; an Arrow response body (Get) and an
// upload (Put) have none (a /changes stream is endless by design; an
// upload waits for the server's pace). ClientOptions::interrupted is asked a
// few times a second while a call waits for the server (connecting, the
// handshake, a request's headers, a response's headers and body; not an
// upload's body) and ends that wait with kCancelled once it says so.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transport/arrow_client.h"

namespace zkarrow::transport::http {

class HttpClient final : public ArrowClient {
 public:
  // Checks that the server is reachable (and, with TLS, that its
  // certificate verifies against tls_ca_file or the system's trust store,
  // for options.host) before returning.
  static Result<std::unique_ptr<HttpClient>> Connect(const ClientOptions& options);
  ~HttpClient() override;

  // GET /datasets.
  Result<std::vector<StreamInfo>> List() override;
  // Waits for the response headers: a non-200 status is this call's error
  // (the server's JSON message, its code mapped back by http_protocol.h).
  // The stream then yields the body as it arrives; a response the server
  // cut (no end of the chunked body) fails a Read.
  Result<std::unique_ptr<arrow::InputStream>> Get(const Resource& resource,
                                                  const GetOptions& options) override;
  // PUT with a chunked body read from `ipc_stream` as it is sent. A reply
  // that comes before the body ended (413, a malformed upload) stops the
  // upload and is this call's error.
  Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& ipc_stream,
                         const ProgressCallback& progress) override;
  Status Delete(const Resource& resource) override;
  // POST /actions/TYPE; the result is the response body (JSON).
  Result<std::string> DoAction(std::string_view type, std::string_view body) override;

  class Connection;

 private:
  struct Shared;
  struct Pool;
  explicit HttpClient(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Pool> pool_;
};

}  // namespace zkarrow::transport::http
