// Arrow over HTTP/1.1 (and HTTPS) for an ArrowService, on Boost.Beast/asio.
// Beast because it is maintained and asynchronous: every connection is a
// chain of asio operations on its own strand, so a long-lived /changes
// stream costs a socket and one message buffer, not a thread.
//
// Routes (every target is parsed by transport::ParseTarget):
//   GET    /znodes?..., /changes?..., /datasets/NAME  Arrow IPC stream, chunked
//   GET    /datasets                                   JSON list (ArrowService::List)
//   GET    /, /flights                                 the same list (/: unless a StaticFile is
//   there) PUT    /datasets/NAME                              body: Arrow IPC stream DELETE
//   /datasets/NAME POST   /actions/TYPE                               body -> DoAction, JSON result
//   GET    /healthz                                    200 "ok" or 503 JSON
//   GET    /metrics                                    Prometheus text
//   GET    a StaticFile's path                         that file, without the token
// Errors are {"error": "...", "status": N} (http_protocol.h maps codes).
//
// Browsers: a Host naming neither an IP address, localhost nor one of
// HttpLimits::allowed_hosts gets a 421 (DNS rebinding); a request other than
// GET or HEAD whose Origin is not the Host's a 403 (CSRF); POST /actions/TYPE
// with a body that is not application/json a 415. No CORS preflight is
// approved.
//
// Threads: `io_threads` run the io_context (all socket work, never blocking
// work); each upload runs ArrowService::Put on a thread of its own (at most
// max_concurrent_streams of them with the responses), fed the request body
// through a one-chunk handoff from the connection's strand, so the socket
// stays with asio (timeouts, TLS) and an upload holds one chunk in memory.
//
// Memory per client: a response is pulled from its MessageStream one
// message at a time, and the next message is pulled only when the previous
// one was written to the socket, so a response holds at most one message
// plus the kernel's socket buffer; a client that takes no bytes for
// write_timeout is disconnected (and its stream cancelled). A live stream's
// own backlog is the service's to bound (message_stream.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "transport/arrow_service.h"

namespace zkarrow::transport::http {

// HTTP-specific limits (ServerOptions has those shared with Flight).
struct HttpLimits {
  int io_threads = 2;
  // Connections open at once; one more gets a 503 and is closed.
  int max_connections = 1024;
  // Request line and headers together (431 past it).
  uint32_t max_header_bytes = 16 * 1024;
  // Bodies other than uploads (POST /actions): 413 past it.
  uint32_t max_small_body_bytes = 1 << 20;
  // Waiting for a request on an idle (keep-alive) connection, or for the
  // rest of one that has started.
  std::chrono::milliseconds idle_timeout{60'000};
  // One read of an upload's body, or one write of a response part, taking
  // longer than this ends the connection (a client that stopped reading).
  std::chrono::milliseconds read_timeout{60'000};
  std::chrono::milliseconds write_timeout{60'000};
  // TCP keepalive on every connection: probes start after this long without
  // traffic, and a peer that answers none within keepalive_timeout is gone.
  // A live stream on a quiet tree writes nothing for as long as the tree
  // stays quiet, so without it a client whose host vanished (powered off,
  // network cut) would hold its connection and stream slot for ever.
  std::chrono::milliseconds keepalive_time{30'000};
  std::chrono::milliseconds keepalive_timeout{20'000};
  // Shutdown waits this long for connections and uploads to end after
  // closing them.
  std::chrono::milliseconds shutdown_timeout{10'000};
  // The chunk an upload is read in (and the most it holds).
  size_t upload_chunk_bytes = 64 * 1024;
  // Host names (without a port, any case) the server answers besides IP
  // addresses, "localhost" and its subdomains: any other Host gets a 421,
  // so that a page of another site cannot reach the server by DNS rebinding.
  std::vector<std::string> allowed_hosts;
};

// A file answered to GET (and HEAD) at `path` without the bearer token: a
// page's code and styles, never data (the page asks its user for the token
// and sends it as a header with its own requests). A static file's path
// takes precedence over the service's routes ("/" over the listing, which
// stays at /datasets and /flights).
struct StaticFile {
  std::string path;          // "/", "/app.js"
  std::string content_type;  // "text/html; charset=utf-8"
  std::string_view body;     // storage that outlives the server (embedded)
  // Extra response headers, e.g. Content-Security-Policy.
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpServer {
 public:
  // Listens on options.host:options.port (0: a free port) with TLS when
  // options has a certificate and key. `service` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                   ArrowService& service,
                                                   const HttpLimits& limits = {},
                                                   std::vector<StaticFile> static_files = {});
  ~HttpServer();  // Shutdown()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // Stops accepting, ends every open response (live streams are cancelled;
  // their clients see a response without the end-of-stream marker), fails
  // uploads in progress (nothing is stored), waits up to shutdown_timeout
  // for connections and uploads to end, then stops the I/O threads. Calling
  // it again does nothing.
  void Shutdown();

  class Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace zkarrow::transport::http
