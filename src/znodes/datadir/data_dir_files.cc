#include "znodes/datadir/data_dir_files.h"

#include <zlib.h>

#include <algorithm>
#include <string>
#include <system_error>

#include "arrow/io.h"
#include "znodes/datadir/file_format.h"
#include "znodes/limits.h"

namespace zkarrow::znodes::datadir {
namespace {

// Inflates a whole gzip file (GZIPOutputStream writes a single member) in
// steps of kInflateChunkBytes into a buffer that grows without copying, and
// stops with an error before the output passes kMaxInflatedSnapshotBytes.
Result<std::shared_ptr<const arrow::Buffer>> Gunzip(std::span<const uint8_t> compressed) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  arrow::BufferBuilder out;
  // zlib counts input in uInt: feed at most 1 GiB per call.
  constexpr size_t kInputStep = size_t{1} << 30;
  size_t consumed = 0;
  int rc = Z_OK;
  bool over_budget = false;
  // Where one byte past the budget goes. It lives as long as the stream:
  // inflate() also reads back what it wrote to next_out (its window).
  uint8_t probe = 0;
  while (true) {
    const int64_t room = kMaxInflatedSnapshotBytes - out.size();
    if (room <= 0) {
      // Full: one more byte of output means the snapshot is too large.
      stream.next_out = &probe;
      stream.avail_out = 1;
    } else {
      const int64_t step = std::min<int64_t>(room, static_cast<int64_t>(kInflateChunkBytes));
      out.Reserve(step);
      stream.next_out = out.mutable_data() + out.size();
      stream.avail_out = static_cast<uInt>(step);
    }
    stream.next_in = const_cast<Bytef*>(compressed.data() + consumed);  // zlib is not const-correct
    stream.avail_in = static_cast<uInt>(std::min(compressed.size() - consumed, kInputStep));
    const uInt in_before = stream.avail_in;
    const uInt out_before = stream.avail_out;
    rc = inflate(&stream, Z_NO_FLUSH);
    consumed += in_before - stream.avail_in;
    const uInt produced = out_before - stream.avail_out;
    if (room <= 0) {
      if (produced > 0) {
        over_budget = true;
        break;
      }
    } else {
      out.UnsafeAdvance(produced);
    }
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    // No progress: fine if only the output was full; otherwise the input ended.
    if (rc == Z_BUF_ERROR && stream.avail_out == 0) continue;
    break;
  }
  inflateEnd(&stream);
  if (over_budget) {
    return Status::OutOfRange(
        "the gzip snapshot inflates to more than " +
        std::to_string(kMaxInflatedSnapshotBytes >> 20) + " MiB (" + std::to_string(consumed) +
        " compressed bytes read so far), the limit for compressed snapshots; gunzip it and "
        "read the plain file, which is mapped rather than held in memory");
  }
  if (rc != Z_STREAM_END) {
    return Status::InvalidData(std::string(rc == Z_BUF_ERROR ? "truncated" : "corrupt") +
                               " gzip stream at compressed offset " + std::to_string(consumed));
  }
  return out.Finish();
}

}  // namespace

Result<DataDirListing> ListDataDir(const std::filesystem::path& dir) {
  DataDirListing listing;
  std::error_code error;
  listing.dir = std::filesystem::is_directory(dir / "version-2", error) ? dir / "version-2" : dir;
  std::filesystem::directory_iterator entries(listing.dir, error);
  if (error) {
    return Status::IoError("cannot list " + listing.dir.string() + ": " + error.message());
  }
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(error)) continue;
    if (auto zxid = ZxidFromFileName(name, "snapshot")) {
      listing.snapshots.push_back({entry.path(), *zxid});
    } else if (auto log_zxid = ZxidFromFileName(name, "log")) {
      listing.logs.push_back({entry.path(), *log_zxid});
    }
  }
  if (listing.snapshots.empty() && listing.logs.empty()) {
    return Status::InvalidArgument(listing.dir.string() +
                                   " holds no ZooKeeper snapshot.* or log.* files");
  }
  std::sort(listing.snapshots.begin(), listing.snapshots.end(),
            [](const DataFile& a, const DataFile& b) { return a.zxid > b.zxid; });
  std::sort(listing.logs.begin(), listing.logs.end(),
            [](const DataFile& a, const DataFile& b) { return a.zxid < b.zxid; });
  return listing;
}

Result<std::shared_ptr<const arrow::Buffer>> LoadSnapshotFile(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  if (name.ends_with(".snappy")) {
    return Status::NotImplemented(
        "snappy-compressed snapshots are not supported; restart ZooKeeper with "
        "zookeeper.snapshot.compression.method=none or gz to write a readable one");
  }
  ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::MapFile(path));
  if (!name.ends_with(".gz")) return bytes;
  return Gunzip(bytes->bytes());
}

Result<std::shared_ptr<const arrow::Buffer>> LoadLogFile(const std::filesystem::path& path) {
  return arrow::MapFile(path);
}

std::vector<DataFile> LogsAfter(const std::vector<DataFile>& logs, int64_t snapshot_zxid) {
  int64_t first = 0;
  for (const DataFile& log : logs) {
    if (log.zxid <= snapshot_zxid + 1 && log.zxid > first) first = log.zxid;
  }
  std::vector<DataFile> selected;
  for (const DataFile& log : logs) {
    if (log.zxid >= first) selected.push_back(log);
  }
  return selected;
}

}  // namespace zkarrow::znodes::datadir
