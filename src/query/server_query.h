// Queries answered by a zkarrow server over its own data: the SQL runs with
// the query engine against the server's ArrowService (no socket), on a
// worker thread of its own, and its result leaves as a MessageStream, the
// same Arrow stream `zkarrow query -o -` writes. serve/ only sees a handler
// (serve::QueryHandler); this is what the CLI's serve command hands it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/status.h"
#include "query/query_engine.h"
#include "query/server_tables.h"
#include "transport/arrow_service.h"
#include "transport/message_stream.h"

namespace zkarrow::query {

// The SQL text comes in the request target, which transport::ParseTarget
// bounds (8 KiB).
struct ServerQueryOptions {
  // A query still running after this fails with kTimeout (checked whenever
  // the query reads its sources or produces a row, and every few thousand
  // SQLite steps).
  std::chrono::milliseconds timeout{30'000};
  // Encoded result messages waiting for the client; the query pauses
  // while this many, or this many bytes, are queued (a larger message
  // waits for an empty queue), so a slow client bounds its memory: with
  // the batch being built (ResultBuilder::kBatchBytes and a row), a query's
  // result holds about this much and two batches at once.
  int max_queued_messages = 8;
  int64_t max_queued_bytes = int64_t{8} << 20;
  // The most memory SQLite may hold for all of the server's queries at once
  // (QuerySources::memory_limit_bytes): a query past it fails, the server
  // stays up.
  int64_t memory_limit_bytes = int64_t{512} << 20;
  // What each query may hold outside SQLite's memory, besides its queued
  // messages (QuerySources::statement_memory_bytes): rows kept for its
  // later scans and the result rows being built.
  int64_t statement_memory_bytes = QuerySources::kDefaultStatementMemoryBytes;
};

// Starts `sql` on a worker thread and returns its result stream at once
// (kPending until the first message). Bad SQL, an unknown table, a timeout
// end the stream with the error. REQUIRES: `service` outlives the stream.
Result<std::unique_ptr<transport::MessageStream>> StartServerQuery(
    transport::ArrowService& service, std::string_view sql, const ServerQueryOptions& options);

}  // namespace zkarrow::query
