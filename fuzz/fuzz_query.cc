// libFuzzer target: SQL from anyone, as a server runs it (untrusted: no
// files, no ATTACH, values and memory budgeted), with no tables but what
// SQL makes itself (VALUES, recursive CTEs, functions). Our code under test
// is what surrounds SQLite: the rewrite that finds read_arrow/dataset calls
// in the text, error positions, and the result builder that decides column
// types batch by batch and converts values. Besides never crashing, every
// result must be Arrow that the project's own strict reader accepts: each
// batch is written as a stream and read back. Each statement may run only a
// bounded number of steps, so an endless recursive CTE ends as an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "query/query_engine.h"

namespace {

using namespace zkarrow;

// check_stop runs for every result row and every 10,000 steps: this many
// calls end a statement after a thousand rows or ten million steps or so.
// Rows of a few KiB pass the batch's byte limit, so later batches (typed
// by the first) are reached within it.
constexpr int kMaxStopChecks = 1000;
int g_stop_checks = 0;

query::QueryEngine& Engine() {
  static std::unique_ptr<query::QueryEngine> engine = [] {
    query::QuerySources sources;
    sources.untrusted_sql = true;
    sources.memory_limit_bytes = int64_t{256} << 20;
    sources.check_stop = []() -> Status {
      if (++g_stop_checks > kMaxStopChecks) return Status::Timeout("step budget spent");
      return Status::Ok();
    };
    auto opened = query::QueryEngine::Open(std::move(sources));
    if (!opened.ok()) std::abort();
    return std::move(*opened);
  }();
  return *engine;
}

// Aborts (a finding) unless `batch` survives a write and a strict read.
void CheckReadsBack(const arrow::Schema& schema, const arrow::RecordBatch& batch) {
  arrow::BufferOutputStream out;
  auto writer = arrow::ipc::IpcWriter::OpenStream(out, schema);
  if (!writer.ok() || !(*writer)->WriteBatch(batch).ok() || !(*writer)->Close().ok()) {
    std::abort();
  }
  auto reader =
      arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(out.Finish()));
  if (!reader.ok()) std::abort();
  auto read = (*reader)->Next();
  if (!read.ok() || !read->has_value() || (*read)->length != batch.length) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string sql(reinterpret_cast<const char*>(data), size);
  g_stop_checks = 0;
  arrow::Schema schema;
  (void)Engine().Run(
      sql,
      [&](const arrow::Schema& s) {
        schema = s;
        return Status::Ok();
      },
      [&](const arrow::RecordBatch& batch) {
        CheckReadsBack(schema, batch);
        return Status::Ok();
      },
      nullptr);
  return 0;
}
