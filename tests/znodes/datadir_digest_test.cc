// The snapshot digest policy of the offline reader (data_dir.cc,
// RecordDigest) on files written by test code: a fuzzy snapshot whose
// digest carries its own zxid may already hold the transaction after it,
// which a live server writes only rarely (the race is a few microseconds
// wide), so a test of its own pins it down.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "datadir_files.h"
#include "znodes/datadir/data_dir.h"
#include "znodes/datadir/file_format.h"
#include "znodes/datadir/snapshot.h"

namespace zkarrow::znodes {
namespace {

namespace fs = std::filesystem;
using testing::SnapshotAcl;
using testing::SnapshotNode;

constexpr int32_t kDigestVersion = 2;
constexpr int64_t kSnapshotZxid = 5;
constexpr int64_t kNextZxid = 6;  // creates /b

const std::vector<zk::Acl> kOpen = {{.perms = 31, .scheme = "world", .id = "anyone"}};
const std::vector<SnapshotAcl> kAcls = {{1, kOpen}};

// The tree as of zxid 5 (/a), or as of zxid 6 (/a and /b).
std::vector<SnapshotNode> TreeAt(int64_t zxid) {
  std::vector<SnapshotNode> nodes = {
      {.path = "", .acl_id = 1, .stat = {.cversion = 1, .pzxid = 4}},
      {.path = "/a", .data = "a", .acl_id = 1, .stat = {.czxid = 4, .mzxid = 4, .pzxid = 4}},
  };
  if (zxid >= kNextZxid) {
    nodes[0].stat.cversion = 2;
    nodes[0].stat.pzxid = kNextZxid;
    nodes.push_back({.path = "/b",
                     .data = "b",
                     .acl_id = 1,
                     .stat = {.czxid = kNextZxid, .mzxid = kNextZxid, .pzxid = kNextZxid}});
  }
  return nodes;
}

// ZooKeeper's digest of that tree, as this reader computes it.
int64_t DigestAt(int64_t zxid) {
  const std::vector<uint8_t> bytes = testing::SnapshotFile(kAcls, TreeAt(zxid));
  datadir::DataTree tree;
  EXPECT_TRUE(datadir::DecodeSnapshot(bytes, &tree).ok());
  return tree.Digest();
}

class DataDirDigestTest : public ::testing::Test {
 protected:
  // snapshot.5 holding the tree as of `nodes_zxid`, its digest recorded as
  // `digest` at zxid 5.
  void WriteSnapshot(int64_t nodes_zxid, int64_t digest) {
    testing::WriteFile(dir_ / "snapshot.5",
                       testing::SnapshotFile(kAcls, TreeAt(nodes_zxid),
                                             datadir::ZxidDigest{.zxid = kSnapshotZxid,
                                                                 .version = kDigestVersion,
                                                                 .digest = digest}));
  }
  // log.6: the create of /b, its entry recording `digest` as the tree's after it.
  void WriteLog(int64_t digest) {
    testing::WriteFile(
        dir_ / "log.6",
        testing::TxnLogFile(
            {{.zxid = kNextZxid,
              .type = datadir::kOpCreate,
              .record = testing::CreateRecord("/b", "b", kOpen, 2),
              .digest = datadir::TxnDigest{.version = kDigestVersion, .tree_digest = digest}}}));
  }

  DataDirSummary Read() {
    DataDirSummary summary;
    paths_.clear();
    Status status = ReadDataDir(
        {.dir = dir_},
        [this](const ZnodeRecord& record) {
          paths_.emplace_back(record.path);
          return Status::Ok();
        },
        &summary);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return summary;
  }

  testing::ScratchDataDir scratch_{"digest"};
  const fs::path dir_ = scratch_.version2();
  std::vector<std::string> paths_;
};

TEST_F(DataDirDigestTest, TheTwoTreesDigestDifferently) {
  EXPECT_NE(DigestAt(kSnapshotZxid), DigestAt(kNextZxid));
}

TEST_F(DataDirDigestTest, ExactSnapshotAtItsOwnZxidIsVerified) {
  WriteSnapshot(kSnapshotZxid, DigestAt(kSnapshotZxid));
  DataDirSummary summary = Read();
  EXPECT_TRUE(summary.digest_verified);
  EXPECT_TRUE(summary.warnings.empty()) << summary.warnings.front();
  EXPECT_EQ(paths_, (std::vector<std::string>{"/", "/a"}));
}

// The server sealed snapshot.5 while applying zxid 6: /b is in its nodes but
// not in its digest. Replaying zxid 6 leaves the tree its log entry records.
TEST_F(DataDirDigestTest, FuzzySnapshotIsConfirmedByTheNextTransactionsDigest) {
  WriteSnapshot(kNextZxid, DigestAt(kSnapshotZxid));
  WriteLog(DigestAt(kNextZxid));
  DataDirSummary summary = Read();
  EXPECT_TRUE(summary.digest_verified);
  EXPECT_TRUE(summary.warnings.empty()) << summary.warnings.front();
  EXPECT_EQ(summary.transactions_applied, 1u);
  EXPECT_EQ(paths_, (std::vector<std::string>{"/", "/a", "/b"}));
}

TEST_F(DataDirDigestTest, FuzzySnapshotTheNextTransactionContradictsIsAWarning) {
  WriteSnapshot(kNextZxid, DigestAt(kSnapshotZxid));
  WriteLog(DigestAt(kNextZxid) + 1);
  DataDirSummary summary = Read();
  EXPECT_FALSE(summary.digest_verified);
  ASSERT_EQ(summary.warnings.size(), 1u);
  EXPECT_NE(summary.warnings[0].find("snapshot.5: the tree rebuilt up to zxid"), std::string::npos)
      << summary.warnings[0];
  EXPECT_NE(
      summary.warnings[0].find("its log entry recorded " + std::to_string(DigestAt(kNextZxid) + 1)),
      std::string::npos)
      << summary.warnings[0];
}

TEST_F(DataDirDigestTest, MismatchNoTransactionFollowsIsAWarning) {
  WriteSnapshot(kSnapshotZxid, DigestAt(kSnapshotZxid) + 1);
  DataDirSummary summary = Read();
  EXPECT_FALSE(summary.digest_verified);
  ASSERT_EQ(summary.warnings.size(), 1u);
  EXPECT_NE(summary.warnings[0].find("no transaction after it was replayed"), std::string::npos)
      << summary.warnings[0];
}

}  // namespace
}  // namespace zkarrow::znodes
