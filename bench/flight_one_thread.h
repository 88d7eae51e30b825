// Flight small requests for serve_bench with a cheap load generator: many
// concurrent DoGet calls, each on a channel (and connection) of its own, as
// FlightClient makes them, all driven by the calling thread on one gRPC
// completion queue (as wrk drives many connections from few threads), so
// that the clients' threads do not take the CPU the server needs on a small
// machine.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "base/status.h"

namespace zkarrow::bench {

struct OneThreadRun {
  std::vector<double> latencies_ms;  // one per DoGet that succeeded
  double seconds = 0;                // from the first call's start to the last one's end
  int failures = 0;                  // calls that failed or sent what is not a message
};

// `clients` channels to the Flight server at `address` (made as
// FlightClient::Connect makes them, connected before the clock starts),
// each with one DoGet at a time, `requests` in turn, the ticket a
// `znodes?path=` of one of `leaves`. Each call's FlightData is checked and
// framed as FlightClient's stream does it (ParseFlightData, FramedParts); once
// the call has ended well, `decode` reads the IPC stream on this thread
// (its time is part of the call's latency).
Result<OneThreadRun> FlightSmallOnOneThread(
    const std::string& address, int clients, int requests, const std::vector<std::string>& leaves,
    const std::function<void(std::unique_ptr<arrow::InputStream>)>& decode);

}  // namespace zkarrow::bench
