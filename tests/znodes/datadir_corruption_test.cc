// Damaged data directories: truncated, corrupted and missing files give
// errors that name the file and offset, and a bad snapshot falls back to an
// older one, which (with the logs) rebuilds the same tree.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "arrow/io.h"
#include "datadir_test_util.h"
#include "datadir_workload_fixture.h"
#include "znodes/datadir/data_dir_files.h"
#include "znodes/datadir/txn_log.h"

namespace zkarrow::znodes {
namespace {

using DataDirCorruptionTest = testing::DataDirWorkloadTest;
using testing::DescribeDifferences;
using testing::ReadTree;
using testing::Tree;

namespace fs = std::filesystem;

constexpr size_t kDigestSectionSize = 20 + 13;

std::vector<uint8_t> ReadBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteBytes(const fs::path& file, std::span<const uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

class Damaged {
 public:
  // A private copy of the server's version-2 folder.
  Damaged(const fs::path& source, const fs::path& scratch) : dir_(scratch / "damaged") {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(source / "version-2", dir_);
    auto listing = datadir::ListDataDir(dir_);
    EXPECT_TRUE(listing.ok());
    listing_ = *listing;
  }
  ~Damaged() { fs::remove_all(dir_); }

  const fs::path& dir() const { return dir_; }
  const datadir::DataDirListing& listing() const { return listing_; }
  fs::path newest_snapshot() const { return listing_.snapshots.front().path; }
  fs::path newest_log() const { return listing_.logs.back().path; }

  void Truncate(const fs::path& file, size_t size, const std::vector<uint8_t>& original) {
    WriteBytes(file, std::span(original).first(size));
  }

 private:
  fs::path dir_;
  datadir::DataDirListing listing_;
};

bool Mentions(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(DataDirCorruptionTest, DamagedNewestSnapshotFallsBackToAnOlderOne) {
  Damaged damaged(data_dir(), out_);
  auto pristine = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_TRUE(pristine.ok()) << pristine.status().ToString();
  const fs::path snapshot = damaged.newest_snapshot();
  const std::string name = snapshot.filename().string();
  const std::vector<uint8_t> original = ReadBytes(snapshot);
  ASSERT_GT(original.size(), 200u);

  // Truncations: every offset near the start and end, a stride through the
  // middle, and random ones.
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 64; ++i) sizes.push_back(i);
  for (size_t i = 64; i < original.size(); i += original.size() / 97 + 1) sizes.push_back(i);
  for (size_t i = original.size() > 80 ? original.size() - 80 : 0; i < original.size(); ++i) {
    sizes.push_back(i);
  }
  std::mt19937 random(42);
  for (int i = 0; i < 30; ++i) sizes.push_back(random() % original.size());
  for (size_t size : sizes) {
    SCOPED_TRACE("truncated to " + std::to_string(size));
    damaged.Truncate(snapshot, size, original);
    DataDirSummary summary;
    auto tree = ReadTree(damaged.dir(), std::nullopt, &summary);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    ASSERT_EQ(DescribeDifferences(*pristine, *tree), "");
    // Cut right after the first seal, the snapshot merely lacks its optional
    // digest section (20 bytes and a 13-byte seal): still valid, for the
    // server too.
    if (size == original.size() - kDigestSectionSize) {
      EXPECT_EQ(summary.snapshot.filename().string(), name);
      continue;
    }
    EXPECT_NE(summary.snapshot.filename().string(), name);
    EXPECT_TRUE(Mentions(summary.warnings, name)) << summary.warnings.size();
    EXPECT_TRUE(Mentions(summary.warnings, "offset"));
  }

  // Flipped bytes: the checksum (or the structure) gives them away.
  for (int i = 0; i < 40; ++i) {
    std::vector<uint8_t> flipped = original;
    size_t at = 16 + random() % (flipped.size() - 16);
    flipped[at] ^= static_cast<uint8_t>(1 + random() % 255);
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    WriteBytes(snapshot, flipped);
    DataDirSummary summary;
    auto tree = ReadTree(damaged.dir(), std::nullopt, &summary);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    EXPECT_TRUE(Mentions(summary.warnings, name));
    ASSERT_EQ(DescribeDifferences(*pristine, *tree), "");
  }

  std::vector<uint8_t> bad_magic = original;
  bad_magic[0] = 'X';
  WriteBytes(snapshot, bad_magic);
  DataDirSummary summary;
  auto tree = ReadTree(damaged.dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_TRUE(Mentions(summary.warnings, "bad magic number at offset 0"));
}

TEST_F(DataDirCorruptionTest, GzipSnapshotsReadTheSame) {
  Damaged damaged(data_dir(), out_);
  auto pristine = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_TRUE(pristine.ok()) << pristine.status().ToString();
  const fs::path snapshot = damaged.newest_snapshot();
  ASSERT_EQ(std::system(("gzip " + snapshot.string()).c_str()), 0);
  DataDirSummary summary;
  auto tree = ReadTree(damaged.dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(summary.snapshot.filename().string(), snapshot.filename().string() + ".gz");
  EXPECT_TRUE(summary.warnings.empty());
  EXPECT_EQ(DescribeDifferences(*pristine, *tree), "");
}

TEST_F(DataDirCorruptionTest, TruncatedLogEndsWhereTheServerWouldStop) {
  Damaged damaged(data_dir(), out_);
  const fs::path log = damaged.newest_log();
  const std::vector<uint8_t> original = ReadBytes(log);
  // Entry boundaries and zxids of the newest log.
  std::vector<std::pair<size_t, int64_t>> entries;  // end offset, zxid
  {
    auto reader = datadir::TxnLogReader::Open(original);
    ASSERT_TRUE(reader.ok());
    datadir::Transaction txn;
    while (true) {
      auto more = reader->Next(&txn);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      entries.emplace_back(reader->offset(), txn.header.zxid);
    }
  }
  // The server rolls its log at a randomized point (snapCount / 2 plus a
  // random share), so the newest log holds anywhere from one entry to
  // snapCount of them; every one is cut at its end and inside.
  ASSERT_GE(entries.size(), 1u);
  std::mt19937 random(7);
  for (size_t i = 0; i < entries.size(); ++i) {
    // At the boundary, and somewhere inside the next entry.
    size_t boundary = entries[i].first;
    size_t next_end = i + 1 < entries.size() ? entries[i + 1].first : boundary + 1;
    for (size_t size : {boundary, boundary + 1 + random() % (next_end - boundary)}) {
      SCOPED_TRACE("log truncated to " + std::to_string(size));
      damaged.Truncate(log, std::min(size, original.size()), original);
      DataDirSummary summary;
      auto tree = ReadTree(damaged.dir(), std::nullopt, &summary);
      ASSERT_TRUE(tree.ok()) << tree.status().ToString();
      int64_t expected_last =
          size >= next_end && i + 1 < entries.size() ? entries[i + 1].second : entries[i].second;
      if (summary.snapshot_zxid > expected_last) continue;  // the snapshot already covers it
      EXPECT_EQ(summary.last_zxid, expected_last);
      // A tail of zeros (the high bytes of the next entry's checksum) reads
      // as the log's zero padding: a clean end, for the server too.
      bool tail_has_data = std::any_of(original.begin() + static_cast<ptrdiff_t>(boundary),
                                       original.begin() + static_cast<ptrdiff_t>(size),
                                       [](uint8_t b) { return b != 0; });
      if (size < next_end && tail_has_data) {
        EXPECT_TRUE(Mentions(summary.warnings, log.filename().string() + ": partial"));
      }
    }
  }
}

TEST_F(DataDirCorruptionTest, CorruptLogEntryIsAnErrorNamingFileAndOffset) {
  Damaged damaged(data_dir(), out_);
  const fs::path log = damaged.newest_log();
  std::vector<uint8_t> bytes = ReadBytes(log);
  // The first entry's payload starts after the header (16) and the entry's
  // checksum and length (12).
  bytes[16 + 12 + 20] ^= 0x5a;
  WriteBytes(log, bytes);
  auto tree = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find(log.filename().string()), std::string::npos)
      << tree.status().message();
  EXPECT_NE(tree.status().message().find("checksum mismatch in the entry at offset 16"),
            std::string::npos)
      << tree.status().message();

  bytes[0] = 'X';
  WriteBytes(log, bytes);
  tree = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find("bad magic number"), std::string::npos)
      << tree.status().message();
}

TEST_F(DataDirCorruptionTest, MissingLogIsAnError) {
  Damaged damaged(data_dir(), out_);
  const auto& logs = damaged.listing().logs;
  ASSERT_GE(logs.size(), 3u);
  // Replay from the oldest snapshot must cross the second log.
  for (const auto& snapshot : damaged.listing().snapshots) {
    if (snapshot.zxid >= logs[1].zxid) fs::remove(snapshot.path);
  }
  fs::remove(logs[1].path);
  auto tree = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find("are missing"), std::string::npos)
      << tree.status().message();
}

TEST_F(DataDirCorruptionTest, NoUsableSnapshotIsAnError) {
  Damaged damaged(data_dir(), out_);
  for (const auto& snapshot : damaged.listing().snapshots) WriteBytes(snapshot.path, {});
  auto tree = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), StatusCode::kInvalidData) << tree.status().ToString();
  EXPECT_NE(tree.status().message().find("no usable snapshot"), std::string::npos)
      << tree.status().message();
  EXPECT_FALSE(ReadTree(damaged.dir() / "nonexistent", std::nullopt).ok());
}

// A snapshot that is not corrupt but cannot be read here (a compression this
// reader does not support) gives the error its code and its advice.
TEST_F(DataDirCorruptionTest, NoUsableSnapshotSaysWhyWhenNotCorrupt) {
  Damaged damaged(data_dir(), out_);
  for (const auto& snapshot : damaged.listing().snapshots) {
    fs::rename(snapshot.path, snapshot.path.string() + ".snappy");
  }
  auto tree = ReadTree(damaged.dir(), std::nullopt);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), StatusCode::kNotImplemented) << tree.status().ToString();
  EXPECT_NE(tree.status().message().find("no usable snapshot"), std::string::npos)
      << tree.status().message();
  EXPECT_NE(tree.status().message().find("zookeeper.snapshot.compression.method"),
            std::string::npos)
      << tree.status().message();
}

}  // namespace
}  // namespace zkarrow::znodes
