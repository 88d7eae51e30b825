// Hostile data directories written by test code: inputs small on disk that
// would claim far more memory once read. Each ends with an error naming the
// limit (znodes/limits.h), never with the memory spent.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "datadir_files.h"
#include "zk/jute.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/datadir/file_format.h"
#include "znodes/datadir/txn.h"
#include "znodes/limits.h"

namespace zkarrow::znodes {
namespace {

namespace fs = std::filesystem;

class DataDirLimitsTest : public ::testing::Test {
 protected:
  // ReadDataDir's error for the directory (it must fail).
  std::string ReadError() {
    DataDirSummary summary;
    Status status = ReadDataDir(
        {.dir = dir_}, [](const ZnodeRecord&) { return Status::Ok(); }, &summary);
    EXPECT_FALSE(status.ok());
    return status.ToString();
  }

  testing::ScratchDataDir scratch_{"limits"};
  const fs::path dir_ = scratch_.version2();
};

// Deflates `head`, then `zeros` zero bytes, into a gzip file; the zeros are
// fed in chunks, so the test never holds them.
void WriteGzip(const fs::path& file, std::span<const uint8_t> head, int64_t zeros) {
  z_stream stream{};
  ASSERT_EQ(deflateInit2(&stream, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  std::vector<uint8_t> chunk(size_t{1} << 20);
  std::vector<uint8_t> compressed(size_t{1} << 20);
  auto feed = [&](std::span<const uint8_t> in, int flush) {
    stream.next_in = const_cast<Bytef*>(in.data());
    stream.avail_in = static_cast<uInt>(in.size());
    do {
      stream.next_out = compressed.data();
      stream.avail_out = static_cast<uInt>(compressed.size());
      ASSERT_NE(deflate(&stream, flush), Z_STREAM_ERROR);
      out.write(reinterpret_cast<const char*>(compressed.data()),
                static_cast<std::streamsize>(compressed.size() - stream.avail_out));
    } while (stream.avail_out == 0);
  };
  feed(head, Z_NO_FLUSH);
  for (int64_t left = zeros; left > 0; left -= static_cast<int64_t>(chunk.size())) {
    feed(std::span(chunk).first(
             static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(chunk.size())))),
         Z_NO_FLUSH);
  }
  feed({}, Z_FINISH);
  deflateEnd(&stream);
}

// Issue 10: a 7 MB snapshot.N.gz that inflated to 1.5 GiB took 2.6 GB of
// RSS. This one (about 1 MB of gzip) holds a root whose data claims more
// than the limit: inflation stops at the limit with an error.
TEST_F(DataDirLimitsTest, GzipSnapshotInflatingPastTheLimitIsRefused) {
  zk::JuteWriter head;
  head.WriteInt(datadir::kSnapshotMagic);
  head.WriteInt(datadir::kFileFormatVersion);
  head.WriteLong(0);
  head.WriteInt(0);                                                // sessions
  head.WriteInt(0);                                                // ACL cache
  head.WriteString("");                                            // the root
  head.WriteInt(static_cast<int32_t>(kMaxInflatedSnapshotBytes));  // its data's length
  WriteGzip(dir_ / "snapshot.0.gz", head.bytes(), kMaxInflatedSnapshotBytes + (1 << 20));
  ASSERT_LT(fs::file_size(dir_ / "snapshot.0.gz"), uintmax_t{8} << 20);
  std::string error = ReadError();
  EXPECT_NE(error.find("inflates to more than 1024 MiB"), std::string::npos) << error;
  EXPECT_NE(error.find("snapshot.0.gz"), std::string::npos) << error;
}

// A gzip snapshot under the limit still reads (the chunked inflation keeps
// every byte).
TEST_F(DataDirLimitsTest, GzipSnapshotUnderTheLimitReads) {
  std::vector<testing::SnapshotNode> nodes = {{.path = ""}, {.path = "/a", .data = "x"}};
  nodes[1].data.assign(size_t{9} << 20, 'y');  // more than two inflation steps
  std::vector<uint8_t> plain = testing::SnapshotFile({}, nodes);
  WriteGzip(dir_ / "snapshot.0.gz", plain, 0);
  int64_t rows = 0;
  size_t data_bytes = 0;
  DataDirSummary summary;
  Status status = ReadDataDir(
      {.dir = dir_},
      [&](const ZnodeRecord& record) {
        ++rows;
        data_bytes += record.data ? record.data->size() : 0;
        return Status::Ok();
      },
      &summary);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(data_bytes, size_t{9} << 20);
}

// An ACL cache of empty lists: 12 bytes each on disk, several times that
// decoded. Refused at kMaxAclBytes, before the lists are allocated.
TEST_F(DataDirLimitsTest, AclCacheThatWouldOutgrowTheBudgetIsRefused) {
  zk::JuteWriter head;
  head.WriteInt(datadir::kSnapshotMagic);
  head.WriteInt(datadir::kFileFormatVersion);
  head.WriteLong(0);
  head.WriteInt(0);  // sessions
  const int32_t lists = static_cast<int32_t>(kMaxAclBytes / 64) + 1;
  head.WriteInt(lists);
  std::vector<uint8_t> bytes = head.Release();
  zk::JuteWriter list;
  for (int32_t i = 0; i < lists; ++i) {
    list.WriteLong(i);
    list.WriteInt(0);  // no entries
  }
  bytes.insert(bytes.end(), list.bytes().begin(), list.bytes().end());
  WriteGzip(dir_ / "snapshot.0.gz", bytes, 0);
  std::string error = ReadError();
  EXPECT_NE(error.find("the ACL cache would take more than 256 MiB"), std::string::npos) << error;
}

// A multi claiming as many operations as its bytes allow: 8 bytes each in
// the log, a whole TxnOp each decoded. Refused before the ops are allocated.
TEST(TxnLimitsTest, MultiWhoseOpsWouldOutgrowTheBudgetIsRefused) {
  const int32_t ops = static_cast<int32_t>(kMaxDecodedTxnBytes / sizeof(datadir::TxnOp)) + 1;
  zk::JuteWriter payload;
  payload.WriteLong(0x1000);  // session
  payload.WriteInt(0);        // cxid
  payload.WriteLong(5);       // zxid
  payload.WriteLong(0);       // time
  payload.WriteInt(datadir::kOpMulti);
  payload.WriteInt(ops);
  for (int32_t i = 0; i < ops; ++i) {
    payload.WriteInt(datadir::kOpDelete);
    payload.WriteInt(0);  // an empty sub-record
  }
  auto txn = datadir::DecodeTransaction(payload.bytes());
  ASSERT_FALSE(txn.ok());
  EXPECT_EQ(txn.status().code(), StatusCode::kOutOfRange) << txn.status().ToString();
  EXPECT_NE(txn.status().message().find("multi operations would take more than 64 MiB"),
            std::string::npos)
      << txn.status().ToString();
}

}  // namespace
}  // namespace zkarrow::znodes
