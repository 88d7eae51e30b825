// Arrow Flight (gRPC) in front of an ArrowService: ListFlights,
// GetFlightInfo, GetSchema, DoGet, DoPut, ListActions, DoAction and a
// token Handshake; DoExchange answers UNIMPLEMENTED.
//
// Threads: DoGet runs on gRPC's asynchronous API, so a long-lived stream
// pins no thread: the server pulls MessageStream::Next() (on the two
// threads serving its completion queue) whenever the client took the
// previous message, and a kPending stream
// resumes after its wakeup, which only queues the stream for the server's
// one wakeup thread (the wakeup may come from any thread, holding any
// lock; Next() and Cancel() are never called from inside it). The other
// methods run on gRPC's synchronous thread pool, where blocking is
// allowed: ArrowService::Put reads the upload as the client sends it, and
// DoAction may wait. DoGet, DoPut and DoAction calls in progress together
// are at most ServerOptions::max_concurrent_streams, Handshakes waiting for
// their request at most FlightLimits::max_handshakes; one more is refused
// (UNAVAILABLE).
// A MessageStream is destroyed before its call ends, so before Shutdown()
// returns.
//
// Every FlightData stays within kMaxFlightDataBytes (gRPC's default 4 MiB
// receive limit, which clients apply): a message that does not fit fails
// its DoGet with RESOURCE_EXHAUSTED, so services cut batches smaller.
#pragma once

#include <chrono>
#include <memory>

#include "base/status.h"
#include "transport/arrow_service.h"

namespace zkarrow::transport::flight {

// What Shutdown() gives finite calls in progress before cancelling them.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{5000};

// Flight-specific limits (ServerOptions has those shared with HTTP).
struct FlightLimits {
  // A DoGet whose client has not taken a FlightData for this long is
  // cancelled: a client that stopped reading would otherwise hold its
  // stream slot and its stream's buffers for ever (a live stream is only
  // pulled, and can only fail a lagging client, when a write completes).
  std::chrono::milliseconds write_stall_timeout{60'000};
  // A DoPut whose client has sent nothing for this long is cancelled (it
  // holds a thread of gRPC's pool and a stream slot).
  std::chrono::milliseconds read_stall_timeout{60'000};
  // HTTP/2 pings on connections with calls in progress, so that a client
  // that vanished (host down, network cut) is noticed and its calls end.
  std::chrono::milliseconds keepalive_time{30'000};
  std::chrono::milliseconds keepalive_timeout{20'000};
  // The memory gRPC may hold for all connections (its resource quota):
  // requests are buffered whole before any handler sees them, token check
  // included, so without a bound a client that sends most of many large
  // messages holds that much of the server's memory.
  int64_t grpc_memory_bytes = int64_t{1} << 30;
  // Handshakes waiting for their request at once; one more is refused
  // (UNAVAILABLE). They come before the token is checked, so they have a
  // limit of their own: anonymous clients cannot take the streams' slots.
  int max_handshakes = 16;
  // Streams one connection may have open at once (HTTP/2's
  // SETTINGS_MAX_CONCURRENT_STREAMS, which gRPC leaves unlimited).
  int max_streams_per_connection = 100;
};

class FlightServer {
 public:
  // Listens on options.host:options.port (port 0: a free one, see port()),
  // with TLS when options.tls_cert_file and tls_key_file are set (both or
  // neither), requiring options.bearer_token when it is non-empty.
  // REQUIRES: `service` outlives the server.
  static Result<std::unique_ptr<FlightServer>> Start(const ServerOptions& options,
                                                     ArrowService& service,
                                                     const FlightLimits& limits = {});
  // Shuts down if Shutdown() was not called.
  ~FlightServer();
  FlightServer(const FlightServer&) = delete;
  FlightServer& operator=(const FlightServer&) = delete;

  int port() const;

  // Calls by method and status code, bytes sent and received, streams in
  // progress, in Prometheus text (zkarrow_flight_*), appended to `text`.
  void AppendMetrics(std::string& text) const;

  // Stops accepting calls, ends live streams at once (their clients see
  // UNAVAILABLE; the streams are Cancel()ed), lets other calls in progress
  // finish within `grace`, then cancels them and returns when every call
  // has ended. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = kDefaultShutdownGrace);

 private:
  class Impl;
  explicit FlightServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zkarrow::transport::flight
