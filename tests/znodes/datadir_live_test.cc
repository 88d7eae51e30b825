// The offline reader against a real ZooKeeper: a kazoo script builds a tree
// in steps (snapshots get written along the way), dumping what the server
// shows after each; ReadDataDir must rebuild exactly that, at each step's
// zxid and at the end, while the server runs and after it stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "datadir_test_util.h"
#include "datadir_workload_fixture.h"
#include "zkserver/zookeeper_cluster.h"
#include "znodes/datadir/data_dir.h"

namespace zkarrow::znodes {
namespace {

using testing::DescribeDifferences;
using testing::LoadDump;
using testing::ReadTree;

using DataDirLiveTest = testing::DataDirWorkloadTest;
using testing::Step;

TEST_F(DataDirLiveTest, WroteSeveralSnapshotsAndLogs) {
  int snapshots = 0;
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir() / "version-2")) {
    std::string name = entry.path().filename().string();
    snapshots += name.starts_with("snapshot.");
    logs += name.starts_with("log.");
  }
  EXPECT_GE(snapshots, 3);
  EXPECT_GE(logs, 3);
}

TEST_F(DataDirLiveTest, LatestTreeMatchesTheServerWhileItRuns) {
  ASSERT_FALSE(steps_.empty());
  DataDirSummary summary;
  auto tree = ReadTree(data_dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  auto expected = LoadDump(steps_.back().dump);
  EXPECT_EQ(DescribeDifferences(expected, *tree), "");
  EXPECT_EQ(summary.znodes, expected.size());
  EXPECT_GT(summary.snapshot_zxid, 0);
  for (const auto& warning : summary.warnings) ADD_FAILURE() << "warning: " << warning;
}

TEST_F(DataDirLiveTest, EveryStepMatchesAtItsZxid) {
  for (const Step& step : steps_) {
    SCOPED_TRACE("step " + step.name);
    DataDirSummary summary;
    auto tree = ReadTree(data_dir(), step.zxid, &summary);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    EXPECT_EQ(summary.last_zxid, step.zxid);
    EXPECT_LE(summary.snapshot_zxid, step.zxid);
    EXPECT_EQ(DescribeDifferences(LoadDump(step.dump), *tree), "");
  }
}

TEST_F(DataDirLiveTest, KindsAndTtlAreExact) {
  auto tree = ReadTree(data_dir(), std::nullopt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->at("/app/box").kind, "container");
  EXPECT_EQ(tree->at("/app/ttl").kind, "ttl:3600000");
  EXPECT_EQ(tree->at("/app/config").kind, "persistent");
  // The ephemerals' session closed before the end; at step 1 they exist.
  EXPECT_FALSE(tree->contains("/app/lock"));
  auto early = ReadTree(data_dir(), steps_.front().zxid);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->at("/app/lock").kind, "ephemeral");
  EXPECT_NE(early->at("/app/lock").stat[7], 0);  // the owner's session id
}

// ZooKeeper's null data (length -1 in the snapshot's and the log's records)
// is not empty data: from a snapshot (/app/null, made in step 1), a create
// and a setData in the logs.
TEST_F(DataDirLiveTest, NullDataIsKeptApartFromEmptyData) {
  auto early = ReadTree(data_dir(), steps_.front().zxid);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->at("/app/null").data_hex, testing::kNullData);
  EXPECT_EQ(early->at("/app/to-null").data_hex, "78");
  EXPECT_EQ(early->at("/app/empty").data_hex, "");
  auto tree = ReadTree(data_dir(), std::nullopt);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->at("/app/null").data_hex, testing::kNullData);
  EXPECT_EQ(tree->at("/app/to-null").data_hex, testing::kNullData);
  EXPECT_EQ(tree->at("/app/null-late").data_hex, testing::kNullData);
  EXPECT_EQ(tree->at("/bulk/late00").data_hex, "");
}

TEST_F(DataDirLiveTest, MatchesAfterTheServerStopsAndVerifiesTheDigest) {
  ASSERT_TRUE(cluster_->Stop(0).ok());
  DataDirSummary summary;
  auto tree = ReadTree(data_dir(), std::nullopt, &summary);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(DescribeDifferences(LoadDump(steps_.back().dump), *tree), "");
  EXPECT_TRUE(summary.digest_verified);
  // The version-2 folder and the dataDir are both accepted.
  auto direct = ReadTree(data_dir() / "version-2", std::nullopt);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(DescribeDifferences(*tree, *direct), "");
}

struct TxnRow {
  int64_t zxid = 0;
  std::string type;
  std::optional<int32_t> multi_index;
  std::optional<std::string> path;
  std::optional<std::string> data;
  std::optional<std::string> error;
};

std::string StringAt(const arrow::ArrayData& array, int64_t i) {
  const int32_t* offsets = array.buffers[1]->data_as<int32_t>() + array.offset;
  return {array.buffers[2]->data_as<char>() + offsets[i],
          static_cast<size_t>(offsets[i + 1] - offsets[i])};
}

std::optional<std::string> OptionalStringAt(const arrow::ArrayData& array, int64_t i) {
  if (!array.IsValid(i)) return std::nullopt;
  return StringAt(array, i);
}

// Runs `zkarrow txnlog` and reads its stream back.
std::vector<TxnRow> RunTxnLogCommand(const std::filesystem::path& data_dir,
                                     const std::filesystem::path& out) {
  std::string command = std::string(ZKARROW_BINARY) + " txnlog --data-dir " + data_dir.string() +
                        " -o " + out.string() + " --format stream --compression zstd 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<TxnRow> rows;
  auto input = arrow::FileInputStream::Open(out);
  EXPECT_TRUE(input.ok()) << input.status().ToString();
  if (!input.ok()) return rows;
  auto reader = arrow::ipc::StreamReader::Open(std::move(*input));
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return rows;
  while (true) {
    auto batch = (*reader)->Next();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok() || !*batch) break;
    const auto& columns = (*batch)->columns;
    for (int64_t i = 0; i < (*batch)->length; ++i) {
      TxnRow row;
      row.zxid = columns[0]->buffers[1]->data_as<int64_t>()[columns[0]->offset + i];
      int32_t type_index = columns[4]->buffers[1]->data_as<int32_t>()[columns[4]->offset + i];
      row.type = StringAt(*columns[4]->dictionary, type_index);
      if (columns[5]->IsValid(i)) {
        row.multi_index = columns[5]->buffers[1]->data_as<int32_t>()[columns[5]->offset + i];
      }
      row.path = OptionalStringAt(*columns[6], i);
      row.data = OptionalStringAt(*columns[7], i);
      row.error = OptionalStringAt(*columns[14], i);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

TEST_F(DataDirLiveTest, TxnLogRowsFollowTheWorkload) {
  std::vector<TxnRow> rows = RunTxnLogCommand(data_dir(), out_ / "txns.arrows");
  ASSERT_FALSE(rows.empty());
  for (size_t i = 1; i < rows.size(); ++i) ASSERT_LE(rows[i - 1].zxid, rows[i].zxid);

  // Every operation the workload made appears in order; those whose zxid
  // the client learnt sit at exactly that zxid.
  std::ifstream in(out_ / "ops.jsonl");
  std::string line;
  size_t at = 0;
  int checked = 0;
  while (std::getline(in, line)) {
    auto op = nlohmann::json::parse(line);
    std::string type = op["type"].get<std::string>();
    std::optional<std::string> path;
    if (!op["path"].is_null()) path = op["path"].get<std::string>();
    auto matches = [&](const TxnRow& row) {
      if (type == "multi") return row.multi_index == 0;
      return !row.multi_index && row.type == type && (!path || row.path == path);
    };
    while (at < rows.size() && !matches(rows[at])) ++at;
    ASSERT_LT(at, rows.size()) << "operation not found in order: " << line;
    if (!op["zxid"].is_null()) {
      EXPECT_EQ(rows[at].zxid, op["zxid"].get<int64_t>()) << line;
    }
    ++at;
    ++checked;
  }
  EXPECT_GT(checked, 250);

  // The first multi: five operations at one zxid. The second failed on its
  // check: the server logged the operations before the failure as they were
  // and the failing one as an error (replay then applies none of them).
  auto multi =
      std::find_if(rows.begin(), rows.end(), [](const TxnRow& r) { return r.multi_index == 0; });
  ASSERT_NE(multi, rows.end());
  std::vector<std::string> types;
  for (auto it = multi; it != rows.end() && it->zxid == multi->zxid; ++it)
    types.push_back(it->type);
  EXPECT_EQ(types, (std::vector<std::string>{"create", "create", "setData", "delete", "check"}));
  auto failed =
      std::find_if(multi + 5, rows.end(), [](const TxnRow& r) { return r.multi_index == 0; });
  ASSERT_NE(failed, rows.end());
  ASSERT_LT(failed + 1, rows.end());
  EXPECT_EQ(failed->type, "create");
  EXPECT_EQ(failed->path, "/never");
  EXPECT_EQ((failed + 1)->type, "error");
  EXPECT_EQ((failed + 1)->error, "BADVERSION");

  // A create or setData with ZooKeeper's null data has a null data cell;
  // with empty data an empty one.
  auto find = [&](const std::string& type, const std::string& path) {
    return std::find_if(rows.begin(), rows.end(),
                        [&](const TxnRow& r) { return r.type == type && r.path == path; });
  };
  auto null_create = find("create", "/app/null");
  ASSERT_NE(null_create, rows.end());
  EXPECT_EQ(null_create->data, std::nullopt);
  auto null_set = find("setData", "/app/to-null");
  ASSERT_NE(null_set, rows.end());
  EXPECT_EQ(null_set->data, std::nullopt);
  auto empty_create = find("create", "/app/empty");
  ASSERT_NE(empty_create, rows.end());
  EXPECT_EQ(empty_create->data, "");
}

}  // namespace
}  // namespace zkarrow::znodes
