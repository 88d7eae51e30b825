// How a one-shot command that writes a table batch after batch uses the heap.
#pragma once

#include <malloc.h>

namespace zkarrow::cli {

// Keeps freed heap memory in the process instead of handing it back to the
// kernel. A batch's column buffers (a few hundred KiB each) are freed when
// it is written and allocated again for the next one; glibc returned them
// (trimming the heap top, unmapping chunks past its mmap threshold), so
// every batch faulted the same pages in again: two thirds of the page
// faults of an offline 1M-znode snapshot. Peak memory is unchanged; it is
// only not given back before the process ends. Not for long-lived servers.
inline void KeepFreedHeapMemory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace zkarrow::cli
