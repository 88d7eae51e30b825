// Feeds arbitrary bytes to the IPC stream reader and touches every array it
// returns, so that sanitizers see any read the validation let through.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "fuzz_touch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zkarrow::arrow;
  ipc::IpcReadOptions options;
  options.max_batch_bytes = 64 << 20;  // keep the fuzzer's memory bounded
  options.max_dictionary_bytes = 64 << 20;
  auto reader = ipc::StreamReader::Open(
      std::make_unique<BufferInputStream>(std::span<const uint8_t>(data, size)), options);
  if (!reader.ok()) return 0;
  for (int i = 0; i < 1000; ++i) {
    auto batch = (*reader)->Next();
    if (!batch.ok() || !batch->has_value()) break;
    fuzz::TouchBatch(**batch);
  }
  return 0;
}
