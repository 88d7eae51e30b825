#include "base/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <vector>

// The freed mappings the allocator keeps are process-wide; each test runs in
// a process of its own (gtest_discover_tests), so the tests that expect a
// particular kept mapping back start with none kept.
namespace zkarrow {
namespace {

// Maps `pages` huge pages, fills them with `fill` and frees them: the
// mapping is then kept, its pages faulted in. Returns where it starts.
uint8_t* KeptMapping(size_t pages, uint8_t fill) {
  auto* memory = static_cast<uint8_t*>(AllocateHugePages(pages * kHugePageSize));
  std::memset(memory, fill, pages * kHugePageSize);
  FreeHugePages(memory, pages * kHugePageSize);
  return memory;
}

TEST(HugePagesTest, AllocationIsAlignedAndWritable) {
  const size_t bytes = 3 * kHugePageSize + 123;
  auto* memory = static_cast<uint8_t*>(AllocateHugePages(bytes));
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(memory) % kHugePageSize, 0u);
  std::memset(memory, 0xab, bytes);
  EXPECT_EQ(memory[bytes - 1], 0xab);
  FreeHugePages(memory, bytes);
}

TEST(HugePagesTest, FreedMappingsAreReusedCutToSize) {
  // A freed 8 MiB mapping serves a later 4 MiB request (its tail kept),
  // which is then fully usable; nothing else in this test allocates.
  uint8_t* big = KeptMapping(8, 0x5a);
  auto* reused = static_cast<uint8_t*>(AllocateHugePages(4 * kHugePageSize));
  EXPECT_EQ(reused, big);
  EXPECT_EQ(reused[0], 0x5a);  // the same pages, not fresh ones
  std::memset(reused, 1, 4 * kHugePageSize);
  FreeHugePages(reused, 4 * kHugePageSize);
}

TEST(HugePagesTest, GrowingIntoTheKeptRestKeepsTheAddressAndThePages) {
  // A buffer cut from a larger freed mapping grows back into the rest of
  // that mapping: the same address, and the rest's pages as they were (not
  // fresh zeroed ones, not moved); nothing else in this test allocates.
  uint8_t* big = KeptMapping(8, 0x5a);
  auto* cut = static_cast<uint8_t*>(AllocateHugePages(2 * kHugePageSize));
  ASSERT_EQ(cut, big);
  std::memset(cut, 1, 2 * kHugePageSize);
  auto* grown =
      static_cast<uint8_t*>(ReallocateHugePages(cut, 2 * kHugePageSize, 5 * kHugePageSize));
  EXPECT_EQ(grown, big);
  EXPECT_EQ(grown[2 * kHugePageSize - 1], 1);
  EXPECT_EQ(grown[2 * kHugePageSize], 0x5a);
  EXPECT_EQ(grown[5 * kHugePageSize - 1], 0x5a);
  // What is left of the mapping still serves a request.
  auto* rest = static_cast<uint8_t*>(AllocateHugePages(3 * kHugePageSize));
  EXPECT_EQ(rest, big + 5 * kHugePageSize);
  FreeHugePages(rest, 3 * kHugePageSize);
  FreeHugePages(grown, 5 * kHugePageSize);
}

TEST(HugePagesTest, ReallocationKeepsTheBytes) {
  const size_t old_bytes = kHugePageSize + 10;
  auto* memory = static_cast<uint8_t*>(AllocateHugePages(old_bytes));
  for (size_t i = 0; i < old_bytes; ++i) memory[i] = static_cast<uint8_t>(i * 7);
  const size_t new_bytes = 5 * kHugePageSize;
  auto* grown = static_cast<uint8_t*>(ReallocateHugePages(memory, old_bytes, new_bytes));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(grown) % kHugePageSize, 0u);
  for (size_t i = 0; i < old_bytes; ++i) ASSERT_EQ(grown[i], static_cast<uint8_t>(i * 7)) << i;
  std::memset(grown + old_bytes, 1, new_bytes - old_bytes);
  FreeHugePages(grown, new_bytes);
}

// A buffer grown onto kept mappings is made of several mappings (its old
// pages moved onto the front of a kept one, or a kept rest taken back
// after it), which the next growth must move too, page by page.
TEST(HugePagesTest, GrowingAgainAndAgainThroughKeptMappingsKeepsTheBytes) {
  for (size_t pages : {3, 5}) KeptMapping(pages, 0xee);
  size_t size = kHugePageSize / 2;
  auto* buffer = static_cast<uint8_t*>(AllocateHugePages(size));
  for (size_t i = 0; i < size; ++i) buffer[i] = static_cast<uint8_t>(i * 7 + i / 4096);
  for (size_t grown :
       {2 * kHugePageSize, 4 * kHugePageSize, 9 * kHugePageSize + 1, 24 * kHugePageSize}) {
    buffer = static_cast<uint8_t*>(ReallocateHugePages(buffer, size, grown));
    for (size_t i = 0; i < size; ++i) {
      ASSERT_EQ(buffer[i], static_cast<uint8_t>(i * 7 + i / 4096)) << i << " of " << grown;
    }
    for (size_t i = size; i < grown; ++i) buffer[i] = static_cast<uint8_t>(i * 7 + i / 4096);
    size = grown;
  }
  FreeHugePages(buffer, size);
}

TEST(HugePagesTest, ReallocationWithinTheMappingKeepsTheAddress) {
  auto* memory = AllocateHugePages(100);
  EXPECT_EQ(ReallocateHugePages(memory, 100, kHugePageSize), memory);
  FreeHugePages(memory, kHugePageSize);
}

TEST(HugePagesTest, ResourceServesSmallAndLargeRequests) {
  std::pmr::memory_resource* resource = HugePageResource();
  void* small = resource->allocate(64, 16);
  void* large = resource->allocate(4 * kHugePageSize, 64);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 16, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % kHugePageSize, 0u);
  std::memset(large, 1, 4 * kHugePageSize);
  resource->deallocate(large, 4 * kHugePageSize, 64);
  resource->deallocate(small, 64, 16);

  std::pmr::monotonic_buffer_resource arena(resource);
  std::pmr::vector<int64_t> values(&arena);
  for (int64_t i = 0; i < 1'000'000; ++i) values.push_back(i);
  EXPECT_EQ(values[999'999], 999'999);
}

}  // namespace
}  // namespace zkarrow
