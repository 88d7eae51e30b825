#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace zkarrow {
namespace {

size_t RoundUp(size_t bytes, size_t unit) { return (bytes + unit - 1) / unit * unit; }

// Below this a request is served by operator new: a huge page would be
// mostly empty, and small blocks are what malloc is good at.
constexpr size_t kSmallRequest = size_t{1} << 20;

class HugePageMemoryResource final : public std::pmr::memory_resource {
 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    if (bytes < kSmallRequest) return ::operator new (bytes, std::align_val_t{alignment});
    return AllocateHugePages(bytes);
  }
  void do_deallocate(void* memory, size_t bytes, size_t alignment) override {
    if (bytes < kSmallRequest) {
      ::operator delete (memory, bytes, std::align_val_t{alignment});
    } else {
      FreeHugePages(memory, bytes);
    }
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

}  // namespace

void* AllocateHugePages(size_t bytes) {
  const size_t length = RoundUp(bytes == 0 ? 1 : bytes, kHugePageSize);
  // Map one huge page more than needed, then unmap the ends so that what
  // remains starts on a huge-page boundary.
  void* mapped = mmap(nullptr, length + kHugePageSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = RoundUp(start, kHugePageSize);
  if (aligned > start) munmap(mapped, aligned - start);
  const uintptr_t end = start + length + kHugePageSize;
  if (end > aligned + length)
    munmap(reinterpret_cast<void*>(aligned + length), end - aligned - length);
  // Only a hint: without THP support the mapping simply uses small pages.
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void FreeHugePages(void* memory, size_t bytes) {
  if (memory != nullptr) munmap(memory, RoundUp(bytes == 0 ? 1 : bytes, kHugePageSize));
}

void* ReallocateHugePages(void* memory, size_t old_bytes, size_t new_bytes) {
  const size_t old_length = RoundUp(old_bytes == 0 ? 1 : old_bytes, kHugePageSize);
  if (RoundUp(new_bytes, kHugePageSize) <= old_length) return memory;
  void* grown = AllocateHugePages(new_bytes);
  // Moves the old pages over the start of the new mapping (which mremap
  // unmaps first); the rest of it stays fresh.
  void* moved = mremap(memory, old_length, old_length, MREMAP_MAYMOVE | MREMAP_FIXED, grown);
  if (moved == MAP_FAILED) {
    FreeHugePages(grown, new_bytes);
    throw std::bad_alloc();
  }
  return grown;
}

std::pmr::memory_resource* HugePageResource() {
  static HugePageMemoryResource resource;
  return &resource;
}

}  // namespace zkarrow
