// Offline tests of treesync: source names, the external sort (spilled runs
// merged back in order), the diff merge, the diff table, and diff's exit
// codes through the CLI's one failure path.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "cli/report.h"
#include "treesync/diff.h"
#include "treesync/internal/record_sorter.h"
#include "treesync/source.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::treesync {
namespace {

Record Node(std::string path, std::string data, int32_t version = 0) {
  Record record;
  record.path = std::move(path);
  record.data = std::move(data);
  record.stat = zk::Stat{};
  record.stat->version = version;
  return record;
}

// Every record of a stream's remaining paths.
std::vector<std::string> Paths(RecordStream& stream) {
  std::vector<std::string> paths;
  while (true) {
    auto next = stream.Next();
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || *next == nullptr) return paths;
    paths.push_back((*next)->path);
  }
}

class VectorSource final : public RecordStream {
 public:
  explicit VectorSource(std::vector<Record> records) : records_(std::move(records)) {}
  Result<const Record*> Next() override {
    return next_ < records_.size() ? &records_[next_++] : nullptr;
  }

 private:
  std::vector<Record> records_;
  size_t next_ = 0;
};

// A file of this test process's own in the temporary folder.
std::filesystem::path ScratchPath(std::string_view extension) {
  return std::filesystem::temp_directory_path() /
         ("treesync-unit-" + std::to_string(::getpid()) + std::string(extension));
}

TEST(ParseSourceTest, TheThreeForms) {
  auto live = ParseSource("zk://h1:2181,h2:2182/app/cfg");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->kind, SourceSpec::Kind::kLive);
  EXPECT_EQ(live->connect, "h1:2181,h2:2182");
  EXPECT_EQ(live->root, "/app/cfg");
  auto whole = ParseSource("zk://h1:2181");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->root, "/");
  auto datadir = ParseSource("datadir:/var/lib/zk@0x1f");
  ASSERT_TRUE(datadir.ok()) << datadir.status().ToString();
  EXPECT_EQ(datadir->kind, SourceSpec::Kind::kDataDir);
  EXPECT_EQ(datadir->data_dir, "/var/lib/zk");
  EXPECT_EQ(datadir->zxid, 31);
  auto file = ParseSource("backup.arrow");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->kind, SourceSpec::Kind::kFile);
}

TEST(ParseSourceTest, MalformedSourcesSayWhatWasExpected) {
  auto no_host = ParseSource("zk:///app");
  ASSERT_FALSE(no_host.ok());
  EXPECT_NE(no_host.status().message().find("found no host"), std::string::npos);
  auto trailing = ParseSource("zk://h:1/app/");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("trailing"), std::string::npos);
  auto zxid = ParseSource("datadir:/d@12x");
  ASSERT_FALSE(zxid.ok());
  EXPECT_NE(zxid.status().message().find("found '12x'"), std::string::npos);
  EXPECT_FALSE(ParseSource("zk://h:notaport/").ok());
}

TEST(PathsTest, RelativeAndAbsolute) {
  EXPECT_EQ(RelativePath("/app", "/app"), "/");
  EXPECT_EQ(RelativePath("/app", "/app/x/y"), "/x/y");
  EXPECT_EQ(RelativePath("/app", "/apple"), std::nullopt);
  EXPECT_EQ(RelativePath("/", "/x"), "/x");
  EXPECT_EQ(AbsolutePath("/app", "/"), "/app");
  EXPECT_EQ(AbsolutePath("/app", "/x"), "/app/x");
  EXPECT_EQ(AbsolutePath("/", "/x"), "/x");
  EXPECT_EQ(RelativePath("/", "x"), std::nullopt);
}

// A znode table written by znodes' own writer (file and stream formats),
// read back as a source: fields intact, rows sorted, paths relative to the
// table's root, excludes pruning subtrees.
TEST(FileSourceTest, ZnodeTablesReadBackSortedAndRelative) {
  const std::vector<zk::Acl> acl = {{zk::perms::kRead, "digest", "alice:abc="}};
  for (auto format : {arrow::ipc::IpcFormat::kFile, arrow::ipc::IpcFormat::kStream}) {
    const std::filesystem::path path = ScratchPath(".arrow");
    {
      auto out = arrow::FileOutputStream::Open(path);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      znodes::ZnodeTableOptions options;
      options.format = format;
      options.schema_metadata = {{znodes::kMetaRoot, "/app"}};
      auto writer = znodes::ZnodeTableWriter::Open(**out, options);
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      // Out of order, as a live walk writes them.
      for (std::string p : {"/app/z", "/app", "/app/a/skip", "/app/a", "/app/ttl"}) {
        Record record = Node(p, "data of " + p, 4);
        record.acl = acl;
        if (p == "/app/ttl") {
          record.kind = znodes::NodeKind::kTtl;
          record.ttl_ms = 60000;
        }
        ASSERT_TRUE((*writer)->Append(record.View()).ok());
      }
      ASSERT_TRUE((*writer)->Finish({}).ok());
    }
    auto spec = ParseSource(path.string());
    ASSERT_TRUE(spec.ok());
    SourceOptions options;
    options.read_acl = true;
    options.excludes = {"/a/s*"};
    SourceInfo info;
    auto stream = OpenSource(*spec, options, &info);
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    std::vector<std::string> paths;
    while (true) {
      auto next = (*stream)->Next();
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (*next == nullptr) break;
      const Record& record = **next;
      paths.push_back(record.path);
      EXPECT_EQ(record.acl, acl);
      ASSERT_TRUE(record.stat.has_value());
      EXPECT_EQ(record.stat->version, 4);
      if (record.path == "/ttl") {
        EXPECT_EQ(record.kind, znodes::NodeKind::kTtl);
        EXPECT_EQ(record.ttl_ms, 60000);
        EXPECT_EQ(record.data, "data of /app/ttl");
      }
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"/", "/a", "/ttl", "/z"}));
    EXPECT_EQ(info.records, 4);
    std::filesystem::remove(path);
  }
}

// A null data cell without an error is ZooKeeper's null data when the table
// says it read data (zkarrow.data: read); with "none" (--no-data), or in a
// table without the key (written before it), it is data not read. A row with
// an error is never null data.
TEST(FileSourceTest, NullDataCellsFollowTheTablesDataMetadata) {
  const std::filesystem::path path = ScratchPath(".arrow");
  struct Case {
    std::optional<std::string> data_metadata;
    bool null_is_null_data;
  };
  for (const Case& c : {Case{znodes::kMetaDataRead, true}, Case{znodes::kMetaDataNotRead, false},
                        Case{std::nullopt, false}}) {
    SCOPED_TRACE(c.data_metadata.value_or("(no key)"));
    {
      auto out = arrow::FileOutputStream::Open(path);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      znodes::ZnodeTableOptions options;
      if (c.data_metadata) options.schema_metadata = {{znodes::kMetaData, *c.data_metadata}};
      auto writer = znodes::ZnodeTableWriter::Open(**out, options);
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      Record null_data = Node("/null", "");
      null_data.null_data = true;
      Record unreadable = Node("/secret", "");
      unreadable.data.reset();
      unreadable.error = "NOAUTH";
      for (const Record& record : {Node("/", ""), Node("/empty", ""), null_data, unreadable}) {
        ASSERT_TRUE((*writer)->Append(record.View()).ok());
      }
      ASSERT_TRUE((*writer)->Finish({}).ok());
    }
    auto spec = ParseSource(path.string());
    ASSERT_TRUE(spec.ok());
    auto stream = OpenSource(*spec, SourceOptions{}, nullptr);
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    std::map<std::string, Record> records;
    while (true) {
      auto next = (*stream)->Next();
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (*next == nullptr) break;
      records[(*next)->path] = **next;
    }
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records["/empty"].data, "");
    EXPECT_FALSE(records["/empty"].null_data);
    EXPECT_EQ(records["/null"].null_data, c.null_is_null_data);
    EXPECT_EQ(records["/null"].data.has_value(), c.null_is_null_data);
    EXPECT_FALSE(records["/secret"].data.has_value());
    EXPECT_FALSE(records["/secret"].null_data);
  }
  std::filesystem::remove(path);
}

TEST(FileSourceTest, AFileThatIsNotAZnodeTableIsRefusedClearly) {
  const std::filesystem::path path = ScratchPath(".txt");
  {
    auto out = arrow::FileOutputStream::Open(path);
    ASSERT_TRUE(out.ok());
    const std::string text = "not arrow at all";
    ASSERT_TRUE(
        (*out)->Write(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size())).ok());
  }
  auto stream = OpenSource(*ParseSource(path.string()), SourceOptions{}, nullptr);
  ASSERT_FALSE(stream.ok());
  EXPECT_NE(stream.status().message().find("expected an Arrow IPC file or stream"),
            std::string::npos)
      << stream.status().ToString();
  std::filesystem::remove(path);
}

// A row whose path is not an absolute znode path under the table's root
// would be written beside the target's root ("/t" + "\x1b" = "/t\x1b") or
// outside it: the whole file is refused, naming the row, before any write.
TEST(FileSourceTest, ARowOutsideTheTablesRootIsRefused) {
  const std::filesystem::path path = ScratchPath(".arrow");
  struct Case {
    std::string root, bad_row, expected;
  };
  const std::vector<Case> cases = {
      {"/", "\x1b", "row 2: invalid znode path '\\x1b': must start with '/'"},
      {"/", "/a//b", "row 2: invalid znode path '/a//b': empty component"},
      {"/app", "/apple", "row 2: expected a path under the table's root '/app'"},
  };
  for (const Case& c : cases) {
    {
      auto out = arrow::FileOutputStream::Open(path);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      znodes::ZnodeTableOptions options;
      options.schema_metadata = {{znodes::kMetaRoot, c.root}};
      auto writer = znodes::ZnodeTableWriter::Open(**out, options);
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      const std::string top = c.root == "/" ? "/a" : c.root + "/a";
      for (const std::string& p : {c.root, top, c.bad_row}) {
        ASSERT_TRUE((*writer)->Append(Node(p, "").View()).ok());
      }
      ASSERT_TRUE((*writer)->Finish({}).ok());
    }
    auto stream = OpenSource(*ParseSource(path.string()), SourceOptions{}, nullptr);
    ASSERT_FALSE(stream.ok()) << "root " << c.root << ", row " << c.bad_row;
    EXPECT_EQ(stream.status().code(), StatusCode::kInvalidData);
    EXPECT_NE(stream.status().message().find(c.expected), std::string::npos)
        << stream.status().ToString();
  }
  std::filesystem::remove(path);
}

// A znode table whose writer did not finish is valid Arrow up to where it
// stopped: read as a source it would be a tree without everything after
// the cut, which restore --mode mirror deletes. It is refused instead: a
// stream without its end-of-stream marker (cut at a message boundary, or
// only the schema), and a zkarrow table without its end-of-run metadata.
TEST(FileSourceTest, AnIncompleteTableIsRefused) {
  const std::filesystem::path path = ScratchPath(".arrows");
  struct Case {
    std::string name;
    arrow::ipc::IpcFormat format;
    int rows;
    bool finish;
    arrow::KeyValueMetadata end_of_run;
    std::string expected;  // "" for a complete table
  };
  const arrow::KeyValueMetadata end_of_run = {{znodes::kMetaZnodes, "5"}};
  const std::vector<Case> cases = {
      {"cut after two batches",
       arrow::ipc::IpcFormat::kStream,
       5,
       false,
       {},
       "expected the end-of-stream marker after the last record batch, found the end of the "
       "file after 2 record batches (4 rows)"},
      {"only the schema",
       arrow::ipc::IpcFormat::kStream,
       0,
       false,
       {},
       "after 0 record batches (0 rows)"},
      {"stream without end-of-run metadata",
       arrow::ipc::IpcFormat::kStream,
       5,
       true,
       {},
       "expected the znode table's end-of-run metadata (zkarrow.znodes) on its last batch"},
      {"file without end-of-run metadata",
       arrow::ipc::IpcFormat::kFile,
       5,
       true,
       {},
       "expected the znode table's end-of-run metadata (zkarrow.znodes) on its last batch"},
      {"complete stream", arrow::ipc::IpcFormat::kStream, 5, true, end_of_run, ""},
      {"complete file", arrow::ipc::IpcFormat::kFile, 5, true, end_of_run, ""},
  };
  for (const Case& c : cases) {
    {
      auto out = arrow::FileOutputStream::Open(path);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      znodes::ZnodeTableOptions options;
      options.format = c.format;
      options.max_batch_rows = 2;
      options.schema_metadata = {{znodes::kMetaSource, "unit test"}, {znodes::kMetaRoot, "/"}};
      auto writer = znodes::ZnodeTableWriter::Open(**out, options);
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      for (int i = 0; i < c.rows; ++i) {
        ASSERT_TRUE(
            (*writer)->Append(Node(i == 0 ? "/" : "/n" + std::to_string(i), "").View()).ok());
      }
      // Without Finish the writer stops after its last full batch.
      if (c.finish) {
        ASSERT_TRUE((*writer)->Finish(c.end_of_run).ok());
      }
    }
    auto stream = OpenSource(*ParseSource(path.string()), SourceOptions{}, nullptr);
    if (c.expected.empty()) {
      ASSERT_TRUE(stream.ok()) << c.name << ": " << stream.status().ToString();
      EXPECT_EQ(Paths(**stream).size(), 5u) << c.name;
      continue;
    }
    ASSERT_FALSE(stream.ok()) << c.name;
    EXPECT_EQ(stream.status().code(), StatusCode::kInvalidData) << c.name;
    EXPECT_NE(stream.status().message().find(c.expected), std::string::npos)
        << c.name << ": " << stream.status().ToString();
    EXPECT_NE(stream.status().message().find("the file is incomplete"), std::string::npos)
        << c.name << ": " << stream.status().ToString();
  }
  std::filesystem::remove(path);
}

// /zookeeper (quotas, the ensemble's config) belongs to the server: a tree
// rooted above it leaves it out, a root inside it keeps it.
TEST(FileSourceTest, TheServersOwnSubtreeIsLeftOutUnlessItIsTheRoot) {
  const std::filesystem::path path = ScratchPath(".arrow");
  auto write = [&](const std::string& root) {
    auto out = arrow::FileOutputStream::Open(path);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    znodes::ZnodeTableOptions options;
    options.schema_metadata = {{znodes::kMetaRoot, root}};
    auto writer = znodes::ZnodeTableWriter::Open(**out, options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    // The rows a snapshot rooted there holds.
    for (std::string p :
         {"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota", "/zookeeperish", "/app"}) {
      if (!RelativePath(root, p)) continue;
      ASSERT_TRUE((*writer)->Append(Node(p, "").View()).ok());
    }
    ASSERT_TRUE((*writer)->Finish({}).ok());
  };
  auto paths = [&]() {
    auto stream = OpenSource(*ParseSource(path.string()), SourceOptions{}, nullptr);
    EXPECT_TRUE(stream.ok()) << stream.status().ToString();
    return stream.ok() ? Paths(**stream) : std::vector<std::string>{};
  };
  write("/");
  EXPECT_EQ(paths(), (std::vector<std::string>{"/", "/app", "/zookeeperish"}));
  write("/zookeeper");
  EXPECT_EQ(paths(), (std::vector<std::string>{"/", "/config", "/quota"}));
  std::filesystem::remove(path);
}

TEST(RecordSorterTest, SpilledRunsMergeBackInPathOrder) {
  std::vector<std::string> paths;
  for (int i = 0; i < 3000; ++i) paths.push_back("/n" + std::to_string(i * 7919 % 3001));
  paths.push_back("/");
  std::vector<std::string> shuffled = paths;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  // A budget of a few records forces many runs.
  internal::RecordSorter sorter(/*memory_budget=*/20000);
  // ZooKeeper's null data, which a spilled run (this first record's) keeps
  // apart from empty data.
  Record null_data = Node("/null", "");
  null_data.null_data = true;
  paths.push_back(null_data.path);
  ASSERT_TRUE(sorter.Add(std::move(null_data)).ok());
  for (const std::string& path : shuffled) {
    Record record = Node(path, "data of " + path);
    record.acl = std::vector<zk::Acl>{{zk::perms::kRead, "digest", "u:x"}};
    ASSERT_TRUE(sorter.Add(std::move(record)).ok());
  }
  EXPECT_GT(sorter.spilled_runs(), 10);
  auto stream = std::move(sorter).Finish();
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::sort(paths.begin(), paths.end());
  // Records come back whole: check one field of each kind on the first.
  auto first = (*stream)->Next();
  ASSERT_TRUE(first.ok() && *first != nullptr);
  EXPECT_EQ((*first)->path, "/");
  EXPECT_EQ((*first)->data, "data of /");
  ASSERT_TRUE((*first)->acl.has_value());
  EXPECT_EQ((*first)->acl->at(0).id, "u:x");
  EXPECT_FALSE((*first)->null_data);
  std::vector<std::string> rest;
  rest.push_back("/");
  while (true) {
    auto next = (*stream)->Next();
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    if (*next == nullptr) break;
    rest.push_back((*next)->path);
    EXPECT_EQ((*next)->null_data, (*next)->path == "/null") << (*next)->path;
    EXPECT_EQ((*next)->data.has_value(), true) << (*next)->path;
  }
  EXPECT_EQ(rest, paths);
}

TEST(RecordSorterTest, TheSamePathTwiceIsAnError) {
  for (size_t budget : {size_t{1}, size_t{1} << 20}) {  // spilled and in memory
    internal::RecordSorter sorter(budget);
    ASSERT_TRUE(sorter.Add(Node("/a", "1")).ok());
    ASSERT_TRUE(sorter.Add(Node("/b", "2")).ok());
    ASSERT_TRUE(sorter.Add(Node("/a", "3")).ok());
    auto stream = std::move(sorter).Finish();
    Status status = stream.status();
    while (status.ok()) {
      auto next = (*stream)->Next();
      status = next.status();
      if (status.ok() && *next == nullptr) break;
    }
    ASSERT_FALSE(status.ok()) << "budget " << budget;
    EXPECT_NE(status.message().find("/a twice"), std::string::npos) << status.ToString();
  }
}

TEST(DiffTest, OneRowPerDifferenceInPathOrder) {
  Record acl_old = Node("/acl", "same");
  acl_old.acl = zk::OpenAclUnsafe();
  Record acl_new = acl_old;
  acl_new.acl = zk::ReadAclUnsafe();
  Record both_old = Node("/both", "x");
  both_old.acl = zk::OpenAclUnsafe();
  Record both_new = Node("/both", "y");
  both_new.acl = zk::ReadAclUnsafe();
  Record container = Node("/kind", "");
  container.kind = znodes::NodeKind::kContainer;
  VectorSource a({Node("/", ""), acl_old, both_old, Node("/gone", "g"), Node("/kind", ""),
                  Node("/same", "s", 1)});
  VectorSource b(
      {Node("/", ""), acl_new, both_new, container, Node("/new", "n"), Node("/same", "s", 5)});
  std::vector<std::pair<std::string, Change>> rows;
  DiffCounts counts;
  Status status = Diff(
      a, b, DiffOptions{},
      [&](const DiffRow& row) {
        rows.emplace_back(row.path(), row.change);
        return Status::Ok();
      },
      &counts);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const std::vector<std::pair<std::string, Change>> expected = {
      {"/acl", Change::kAcl},      {"/both", Change::kData}, {"/both", Change::kAcl},
      {"/gone", Change::kRemoved}, {"/kind", Change::kKind}, {"/new", Change::kAdded}};
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(counts.total(), 6);
  EXPECT_EQ(counts.compared, 7);
}

// A stop requested in the middle of a diff (SIGINT) ends the merge at the
// next path, with StoppedBySignal(): a diff of two large sorted files used
// to run to its end, deaf to the signal.
TEST(DiffTest, AStopRequestedEndsTheMergeAtTheNextPath) {
  std::vector<Record> old_side, new_side;
  for (int i = 0; i < 1000; ++i) {
    const std::string path = "/n" + std::to_string(1000 + i);
    old_side.push_back(Node(path, "old"));
    new_side.push_back(Node(path, "new"));
  }
  VectorSource a(std::move(old_side));
  VectorSource b(std::move(new_side));
  int64_t rows = 0;
  DiffOptions options;
  options.stop_requested = [&] { return rows >= 10; };
  DiffCounts counts;
  Status status = Diff(
      a, b, options,
      [&](const DiffRow&) {
        ++rows;
        return Status::Ok();
      },
      &counts);
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.ToString();
  EXPECT_EQ(status.message(), StoppedBySignal().message());
  EXPECT_EQ(rows, 10);
  EXPECT_EQ(counts.compared, 10);
}

// A row with an error (a node its reader could not read) stands for an
// unknown subtree: the other side's nodes at and below it give no rows,
// whichever side it is on, while paths sorting among its descendants
// ("/sec-next" between "/sec" and "/sec/c") are compared as usual.
TEST(DiffTest, NothingAtOrBelowAnUnreadableNodeIsCompared) {
  Record unreadable = Node("/sec", "");
  unreadable.data.reset();
  unreadable.error = "NOAUTH";
  Record unreadable_old = unreadable;
  unreadable_old.path = "/old";
  VectorSource a({Node("/", ""), unreadable_old, Node("/sec", "s"), Node("/sec-next", "1"),
                  Node("/sec/c", "c"), Node("/sec/c/d", "d")});
  VectorSource b({Node("/", ""), Node("/old", "o"), Node("/old/new", "n"), unreadable,
                  Node("/sec-next", "2"), Node("/zz", "z")});
  std::vector<std::pair<std::string, Change>> rows;
  DiffCounts counts;
  Status status = Diff(
      a, b, DiffOptions{},
      [&](const DiffRow& row) {
        rows.emplace_back(row.path(), row.change);
        return Status::Ok();
      },
      &counts);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const std::vector<std::pair<std::string, Change>> expected = {{"/sec-next", Change::kData},
                                                                {"/zz", Change::kAdded}};
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(counts.unreadable.subtrees, 2);
  ASSERT_TRUE(counts.unreadable.first.has_value());
  EXPECT_EQ(counts.unreadable.first->path, "/old");
  EXPECT_TRUE(counts.unreadable.first->in_old);
  EXPECT_EQ(UnreadableText(counts.unreadable, "A", "B"),
            "2 unreadable subtrees (first /old: NOAUTH in A)");
}

// ZooKeeper's null data differs from empty data; data not read compares
// with neither.
TEST(DiffTest, NullDataDiffersFromEmptyData) {
  Record null_data = Node("/n", "");
  null_data.null_data = true;
  Record unread = Node("/n", "");
  unread.data.reset();
  auto changes = [](const Record& old_record, const Record& new_record) {
    VectorSource a({old_record});
    VectorSource b({new_record});
    std::vector<Change> found;
    DiffCounts counts;
    EXPECT_TRUE(Diff(
                    a, b, DiffOptions{},
                    [&](const DiffRow& row) {
                      found.push_back(row.change);
                      return Status::Ok();
                    },
                    &counts)
                    .ok());
    return found;
  };
  EXPECT_EQ(changes(null_data, Node("/n", "")), std::vector<Change>{Change::kData});
  EXPECT_EQ(changes(Node("/n", ""), null_data), std::vector<Change>{Change::kData});
  EXPECT_EQ(changes(null_data, null_data), std::vector<Change>{});
  EXPECT_EQ(changes(null_data, unread), std::vector<Change>{});
}

TEST(DiffTest, StatAndKindsOnlyWhenAsked) {
  Record container = Node("/kind", "");
  container.kind = znodes::NodeKind::kContainer;
  auto count = [&](DiffOptions options) {
    VectorSource a({Node("/kind", ""), Node("/v", "s", 1)});
    VectorSource b({container, Node("/v", "s", 2)});
    DiffCounts counts;
    EXPECT_TRUE(Diff(
                    a, b, options, [](const DiffRow&) { return Status::Ok(); }, &counts)
                    .ok());
    return counts.total();
  };
  EXPECT_EQ(count({}), 1);  // the kind
  EXPECT_EQ(count({.compare_stat = true}), 2);
  // A live side cannot see containers: only ephemeral-or-not compares.
  EXPECT_EQ(count({.exact_kinds = false}), 0);
}

TEST(DiffTest, ARedactedDigestMatchesAnyHashOfItsUser) {
  // ZooKeeper shows "alice:x" to a reader without ADMIN permission.
  const std::vector<zk::Acl> full = {{zk::perms::kRead, "digest", "alice:aYXlLOpEooaV1c="}};
  const std::vector<zk::Acl> redacted = {{zk::perms::kRead, "digest", "alice:x"}};
  const std::vector<zk::Acl> bob = {{zk::perms::kRead, "digest", "bob:x"}};
  const std::vector<zk::Acl> writable = {{zk::perms::kWrite, "digest", "alice:x"}};
  EXPECT_TRUE(IsRedactedDigest(redacted[0]));
  EXPECT_FALSE(IsRedactedDigest(full[0]));
  EXPECT_TRUE(AclsEquivalent(full, redacted));
  EXPECT_TRUE(AclsEquivalent(redacted, full));
  EXPECT_FALSE(AclsEquivalent(full, bob));
  EXPECT_FALSE(AclsEquivalent(full, writable));
  EXPECT_FALSE(AclsEquivalent(full, {}));
}

TEST(DiffTableTest, RowsRoundTripThroughTheIpcWriter) {
  DiffBatchBuilder builder;
  Record old_record = Node("/a", "old", 3);
  old_record.acl = zk::OpenAclUnsafe();
  Record new_record = Node("/a", "new", 4);
  new_record.acl = zk::ReadAclUnsafe();
  ASSERT_TRUE(builder.Append({Change::kData, &old_record, &new_record}).ok());
  ASSERT_TRUE(builder.Append({Change::kAdded, nullptr, &new_record}).ok());
  arrow::RecordBatch batch = builder.Finish();
  ASSERT_EQ(batch.length, 2);
  arrow::BufferOutputStream out;
  auto writer = arrow::ipc::IpcWriter::OpenFile(out, *builder.schema());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->WriteBatch(batch).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto reader = arrow::ipc::FileReader::Open(out.Finish());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->schema(), DiffTableSchema());
  auto read = (*reader)->ReadBatch(0);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->length, 2);
  EXPECT_FALSE(read->columns[4]->IsValid(1));  // no old data for an added node
}

TEST(DiffExitTest, DifferentIsOneAndFailuresMoveToFour) {
  EXPECT_EQ(cli::FinishComparison("diff", Status::Ok()), 0);
  EXPECT_EQ(cli::FinishComparison("diff", cli::Different("2 differences")), 1);
  EXPECT_EQ(cli::FinishComparison("diff", cli::UsageError("bad")), 2);
  EXPECT_EQ(cli::FinishComparison("diff", Status::IoError("disk")), 4);
  // Elsewhere a Different status would be an ordinary failure.
  EXPECT_EQ(cli::ExitCodeFor(Status::IoError("disk")), 1);
}

}  // namespace
}  // namespace zkarrow::treesync
