// Feeds arbitrary bytes to the IPC file reader (footer, dictionaries, random
// access to every batch) and touches every array it returns.
#include <cstddef>
#include <cstdint>

#include "arrow/buffer.h"
#include "arrow/ipc/reader.h"
#include "fuzz_touch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zkarrow::arrow;
  ipc::IpcReadOptions options;
  options.max_batch_bytes = 64 << 20;  // keep the fuzzer's memory bounded
  options.max_dictionary_bytes = 64 << 20;
  auto reader = ipc::FileReader::Open(Buffer::CopyOf({data, size}), options);
  if (!reader.ok()) return 0;
  for (int i = 0; i < (*reader)->num_batches() && i < 1000; ++i) {
    (void)(*reader)->ReadBatchInfo(i);
    auto batch = (*reader)->ReadBatch(i);
    if (batch.ok()) fuzz::TouchBatch(*batch);
  }
  return 0;
}
