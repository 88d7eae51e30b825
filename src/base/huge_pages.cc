#include "base/huge_pages.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>

namespace zkarrow {
namespace {

size_t RoundUp(size_t bytes, size_t unit) { return (bytes + unit - 1) / unit * unit; }

// Below this a request is served by operator new: a huge page would be
// mostly empty, and small blocks are what malloc is good at.
constexpr size_t kSmallRequest = size_t{1} << 20;

// Freed mappings kept for reuse. A table is written batch after batch, each
// filling buffers of about the same sizes; a kept mapping's pages are
// already faulted in, where a fresh one's must be cleared by the kernel
// (a fifth of a 1M-znode offline snapshot's time). Trivially destructible,
// so buffers freed by other static destructors at exit still find it.
class MappingCache {
 public:
  // A kept mapping of at least `length` bytes, or nullptr. Of a longer one
  // the rest stays kept, its pages faulted in: unmapping it would discard
  // them, and a buffer that grows past `length` takes it back (TakeAt).
  void* Take(size_t length) {
    std::lock_guard lock(mutex_);
    size_t best_index = count_;
    for (size_t i = 0; i < count_; ++i) {
      if (mappings_[i].length >= length &&
          (best_index == count_ || mappings_[i].length < mappings_[best_index].length)) {
        best_index = i;
      }
    }
    if (best_index == count_) return nullptr;
    return TakeFrontLocked(best_index, length);
  }

  // The first `length` bytes of the kept mapping that starts at `start`, if
  // one does and is that long; false otherwise.
  bool TakeAt(void* start, size_t length) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < count_; ++i) {
      if (mappings_[i].start == start && mappings_[i].length >= length) {
        TakeFrontLocked(i, length);
        return true;
      }
    }
    return false;
  }

  // False when there is no room for it: the caller unmaps. Kept mappings
  // smaller than this one (mostly the rests Take leaves) are unmapped to
  // make room, so that they never crowd out the whole buffers a next batch
  // asks for again; none are when that would not make room enough.
  bool Keep(void* start, size_t length) {
    if (length > kMaxBytes) return false;
    std::array<Mapping, kSlots> evicted;
    size_t evicted_count = 0;
    {
      std::lock_guard lock(mutex_);
      size_t smaller_count = 0;
      size_t smaller_bytes = 0;
      for (size_t i = 0; i < count_; ++i) {
        if (mappings_[i].length < length) {
          ++smaller_count;
          smaller_bytes += mappings_[i].length;
        }
      }
      if (count_ - smaller_count == kSlots || bytes_ - smaller_bytes + length > kMaxBytes) {
        return false;
      }
      while (count_ == kSlots || bytes_ + length > kMaxBytes) {
        size_t smallest = 0;
        for (size_t i = 1; i < count_; ++i) {
          if (mappings_[i].length < mappings_[smallest].length) smallest = i;
        }
        evicted[evicted_count++] = mappings_[smallest];
        bytes_ -= mappings_[smallest].length;
        mappings_[smallest] = mappings_[--count_];
      }
      mappings_[count_++] = {start, length};
      bytes_ += length;
    }
    for (size_t i = 0; i < evicted_count; ++i) munmap(evicted[i].start, evicted[i].length);
    return true;
  }

 private:
  // About two batches' worth of large column buffers.
  static constexpr size_t kMaxBytes = size_t{128} << 20;
  static constexpr size_t kSlots = 32;
  struct Mapping {
    void* start;
    size_t length;
  };

  void* TakeFrontLocked(size_t index, size_t length) {
    Mapping& mapping = mappings_[index];
    void* start = mapping.start;
    if (mapping.length > length) {
      mapping.start = static_cast<char*>(mapping.start) + length;
      mapping.length -= length;
    } else {
      mapping = mappings_[--count_];
    }
    bytes_ -= length;
    return start;
  }

  std::mutex mutex_;
  std::array<Mapping, kSlots> mappings_{};
  size_t count_ = 0;
  size_t bytes_ = 0;
};

MappingCache& Cache() {
  static MappingCache cache;
  return cache;
}

class HugePageMemoryResource final : public std::pmr::memory_resource {
 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    if (bytes < kSmallRequest) return ::operator new (bytes, std::align_val_t{alignment});
    return AllocateHugePages(bytes);
  }
  void do_deallocate(void* memory, size_t bytes, size_t alignment) override {
    if (bytes < kSmallRequest) {
      ::operator delete (memory, std::align_val_t{alignment});
    } else {
      FreeHugePages(memory, bytes);
    }
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

// Moves the pages of [from, from + length) over [to, to + length) (mremap
// unmaps what was there first), a huge page at a time. A range made of
// several mappings (a buffer whose pages were moved onto a kept mapping, or
// that grew into a kept rest, is) moves in one call only on kernels since
// 6.17, while each huge page lies within one mapping: every mapping here
// starts and ends on a huge page. Pages the kernel refuses to move (out of
// mappings, say) are copied instead.
// REQUIRES: `from` and `to` huge-page aligned, `length` a multiple of
// kHugePageSize, the two ranges disjoint.
void MovePages(char* from, char* to, size_t length) {
  size_t moved = 0;
  while (moved < length && mremap(from + moved, kHugePageSize, kHugePageSize,
                                  MREMAP_MAYMOVE | MREMAP_FIXED, to + moved) != MAP_FAILED) {
    moved += kHugePageSize;
  }
  if (moved < length) {
    std::memcpy(to + moved, from + moved, length - moved);
    munmap(from + moved, length - moved);
  }
}

}  // namespace

void* AllocateHugePages(size_t bytes) {
  const size_t length = RoundUp(bytes == 0 ? 1 : bytes, kHugePageSize);
  if (void* kept = Cache().Take(length)) return kept;
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
  if (memory == nullptr) return;
  const size_t length = RoundUp(bytes == 0 ? 1 : bytes, kHugePageSize);
  if (!Cache().Keep(memory, length)) munmap(memory, length);
}

void* ReallocateHugePages(void* memory, size_t old_bytes, size_t new_bytes) {
  const size_t old_length = RoundUp(old_bytes == 0 ? 1 : old_bytes, kHugePageSize);
  const size_t new_length = RoundUp(new_bytes, kHugePageSize);
  if (new_length <= old_length) return memory;
  // The pages right after the mapping are often the kept rest of the one it
  // was cut from (Take): taken back, the mapping grows where it is, with no
  // move and no fresh pages.
  if (Cache().TakeAt(static_cast<char*>(memory) + old_length, new_length - old_length)) {
    return memory;
  }
  void* grown = AllocateHugePages(new_bytes);
  // The old pages go over the start of the new mapping; the rest of it
  // keeps whatever it held.
  MovePages(static_cast<char*>(memory), static_cast<char*>(grown), old_length);
  return grown;
}

std::pmr::memory_resource* HugePageResource() {
  static HugePageMemoryResource resource;
  return &resource;
}

HugePageArena::~HugePageArena() {
  for (const Block& block : blocks_) FreeHugePages(block.memory, block.bytes);
}

void* HugePageArena::Allocate(size_t bytes) {
  void* memory = AllocateHugePages(bytes);
  try {
    blocks_.push_back({memory, bytes});
  } catch (...) {  // a block the arena cannot record would never be freed
    FreeHugePages(memory, bytes);
    throw;
  }
  return memory;
}

}  // namespace zkarrow
