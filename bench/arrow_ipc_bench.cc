// Arrow IPC throughput of zkarrow's own Arrow layer on a znode-like table
// (1M rows: int64 zxid, timestamp mtime, utf8 path, ~100 B binary data),
// next to memcpy of the same number of bytes on the same machine: memcpy is
// the ceiling any serializer of already-built columns can approach.
//
// Also: opening a file through mmap and reading its metadata must cost the
// same for a small and a large file (FileReader reads only the footer).
//
// --arrow_file=PATH additionally writes the 1M-row table there, for the
// Arrow JS comparison (bench/arrow_js_bench.mjs reads the same file).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "arrow/builder.h"
#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "arrow/type.h"

namespace zkarrow::arrow {
namespace {

constexpr int64_t kRows = 1'000'000;
constexpr int64_t kRowsPerBatch = 65536;
constexpr int kDataBytes = 100;

void Check(const Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "arrow_ipc_bench: %s\n", status.ToString().c_str());
    std::abort();
  }
}
template <typename T>
T Check(Result<T> result) {
  Check(result.status());
  return std::move(result).value();
}

std::shared_ptr<const Schema> ZnodeLikeSchema() {
  auto schema = std::make_shared<Schema>();
  schema->fields = {MakeField("czxid", Int64(), false),
                    MakeField("mtime", TimestampType(TimeUnit::kMillisecond, "UTC"), false),
                    MakeField("path", Utf8Type(), false),
                    MakeField("data", BinaryType(), true)};
  return schema;
}

// Deterministic rows shaped like a config store: paths ~45 bytes, data 100.
std::vector<RecordBatch> MakeBatches(int64_t rows) {
  auto schema = ZnodeLikeSchema();
  auto builder = Check(RecordBatchBuilder::Make(schema));
  std::vector<RecordBatch> batches;
  std::string path;
  std::string data(kDataBytes, '\0');
  for (int64_t row = 0; row < rows; ++row) {
    builder.column_as<Int64Builder>(0).Append(0x100000000 + row);
    builder.column_as<TimestampBuilder>(1).Append(1'700'000'000'000 + row * 7);
    char text[96];
    std::snprintf(text, sizeof text, "/config/app-%03lld/service-%04lld/key-%07lld",
                  static_cast<long long>(row % 977), static_cast<long long>(row % 4999),
                  static_cast<long long>(row));
    Check(builder.column_as<BinaryBuilder>(2).Append(text));
    for (int j = 0; j < kDataBytes; ++j) data[j] = static_cast<char>((row * 31 + j) & 0x7f);
    Check(builder.column_as<BinaryBuilder>(3).Append(data));
    if (builder.num_rows() == kRowsPerBatch || row + 1 == rows) {
      batches.push_back(Check(builder.Finish()));
    }
  }
  return batches;
}

// Bytes of column data: what a serializer has to move.
int64_t BodyBytes(const std::vector<RecordBatch>& batches) {
  int64_t bytes = 0;
  for (const RecordBatch& batch : batches) {
    for (const auto& column : batch.columns) {
      for (const auto& buffer : column->buffers) {
        if (buffer) bytes += buffer->size();
      }
    }
  }
  return bytes;
}

// A sink that reuses one pre-faulted allocation: what is left to measure is
// the writer itself. (A fresh multi-100 MB buffer per write costs mostly page
// faults, which in this VM are slow; BM_WriteIpcFileFreshBuffer shows that.)
class ReusedBufferSink final : public OutputStream {
 public:
  explicit ReusedBufferSink(size_t capacity) : bytes_(capacity, 1) {}
  Status Write(std::span<const uint8_t> bytes) override {
    if (bytes.size() > bytes_.size() - size_) return Status::IoError("sink full");
    std::memcpy(bytes_.data() + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
    return Status::Ok();
  }
  void Reset() { size_ = 0; }
  size_t size() const { return size_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t size_ = 0;
};

std::shared_ptr<const Buffer> WriteFile(const std::vector<RecordBatch>& batches,
                                        ipc::IpcWriteOptions options = {}) {
  BufferOutputStream sink;
  auto writer = Check(ipc::IpcWriter::OpenFile(sink, *batches.front().schema, options));
  for (const RecordBatch& batch : batches) Check(writer->WriteBatch(batch));
  Check(writer->Close());
  return sink.Finish();
}

const std::vector<RecordBatch>& Table() {
  static const auto* batches = new std::vector<RecordBatch>(MakeBatches(kRows));
  return *batches;
}

void BM_Memcpy(benchmark::State& state) {
  const int64_t bytes = BodyBytes(Table());
  std::vector<char> source(static_cast<size_t>(bytes), 'x');
  std::vector<char> target(static_cast<size_t>(bytes));
  for (auto _ : state) {
    std::memcpy(target.data(), source.data(), source.size());
    benchmark::DoNotOptimize(target.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_Memcpy)->Unit(benchmark::kMillisecond);

// Appending 1M rows through the builders (what a snapshot does per znode).
void BM_BuildTable(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MakeBatches(kRows));
  state.SetBytesProcessed(state.iterations() * BodyBytes(Table()));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_BuildTable)->Unit(benchmark::kMillisecond);

// Serializing built batches to the IPC file format, into reused memory.
void BM_WriteIpcFile(benchmark::State& state) {
  const auto& batches = Table();
  ipc::IpcWriteOptions options;
  options.compression = static_cast<ipc::Compression>(state.range(0));
  ReusedBufferSink sink(static_cast<size_t>(BodyBytes(batches)) * 2);
  for (auto _ : state) {
    sink.Reset();
    auto writer = Check(ipc::IpcWriter::OpenFile(sink, *batches.front().schema, options));
    for (const RecordBatch& batch : batches) Check(writer->WriteBatch(batch));
    Check(writer->Close());
  }
  state.SetBytesProcessed(state.iterations() * BodyBytes(batches));
  state.SetItemsProcessed(state.iterations() * kRows);
  state.counters["file_MB"] = static_cast<double>(sink.size()) / 1e6;
}
BENCHMARK(BM_WriteIpcFile)
    ->ArgName("compression")  // 0 none, 2 zstd
    ->Arg(static_cast<int>(ipc::Compression::kNone))
    ->Arg(static_cast<int>(ipc::Compression::kZstd))
    ->Unit(benchmark::kMillisecond);

// The same into a new in-memory buffer each time, allocation included: the
// like-for-like comparison with Arrow JS tableToIPC, which returns a new one.
void BM_WriteIpcFileFreshBuffer(benchmark::State& state) {
  const auto& batches = Table();
  for (auto _ : state) benchmark::DoNotOptimize(WriteFile(batches)->size());
  state.SetBytesProcessed(state.iterations() * BodyBytes(batches));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_WriteIpcFileFreshBuffer)->Unit(benchmark::kMillisecond);

// Reading every batch back: verification of every buffer, zero-copy slices.
void BM_ReadIpcFile(benchmark::State& state) {
  ipc::IpcWriteOptions options;
  options.compression = static_cast<ipc::Compression>(state.range(0));
  auto file = WriteFile(Table(), options);
  for (auto _ : state) {
    auto reader = Check(ipc::FileReader::Open(file));
    for (int i = 0; i < reader->num_batches(); ++i) {
      benchmark::DoNotOptimize(Check(reader->ReadBatch(i)));
    }
  }
  state.SetBytesProcessed(state.iterations() * BodyBytes(Table()));
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_ReadIpcFile)
    ->ArgName("compression")
    ->Arg(static_cast<int>(ipc::Compression::kNone))
    ->Arg(static_cast<int>(ipc::Compression::kZstd))
    ->Unit(benchmark::kMillisecond);

// mmap + footer + schema: should not grow with the file.
void BM_OpenPathMetadata(benchmark::State& state) {
  const int64_t rows = state.range(0);
  auto path = std::filesystem::temp_directory_path() /
              ("zkarrow-bench-open-" + std::to_string(rows) + ".arrow");
  {
    auto file = rows == kRows ? WriteFile(Table()) : WriteFile(MakeBatches(rows));
    auto out = Check(FileOutputStream::Open(path));
    Check(out->Write({file->data(), static_cast<size_t>(file->size())}));
    Check(out->Close());
  }
  for (auto _ : state) {
    auto reader = Check(ipc::FileReader::OpenPath(path));
    benchmark::DoNotOptimize(reader->schema().fields.size());
    benchmark::DoNotOptimize(reader->num_batches());
  }
  state.counters["file_MB"] =
      static_cast<double>(std::filesystem::file_size(path)) / 1e6;
  std::filesystem::remove(path);
}
BENCHMARK(BM_OpenPathMetadata)->ArgName("rows")->Arg(1000)->Arg(kRows)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace zkarrow::arrow

int main(int argc, char** argv) {
  std::string arrow_file;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--arrow_file=", 13) == 0) {
      arrow_file = argv[i] + 13;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (!arrow_file.empty()) {
    using namespace zkarrow::arrow;
    auto file = WriteFile(Table());
    auto out = Check(FileOutputStream::Open(arrow_file));
    Check(out->Write({file->data(), static_cast<size_t>(file->size())}));
    Check(out->Close());
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
