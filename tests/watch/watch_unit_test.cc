// The watch module's pieces that need no server: the mirror's change
// detection and ordering, and the change table writer's stream.
#include <gtest/gtest.h>
#include <malloc.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "watch/change_schema.h"
#include "watch/change_writer.h"
#include "watch/mirror.h"
#include "znodes/znode_schema.h"

namespace zkarrow::watch {
namespace {

zk::Stat SomeStat() {
  zk::Stat stat;
  stat.czxid = 10;
  stat.mzxid = 20;
  stat.pzxid = 30;
  stat.version = 2;
  stat.cversion = 3;
  stat.data_length = 5;
  stat.num_children = 1;
  stat.ctime = 1000;
  stat.mtime = 2000;
  return stat;
}

TEST(MirrorTest, FingerprintSeesEveryColumnButPathAndData) {
  const std::vector<uint8_t> bytes = {'h', 'e', 'l', 'l', 'o'};
  znodes::ZnodeRecord base;
  base.path = "/a";
  base.stat = SomeStat();
  base.data = std::span(bytes);
  const Mirror::Entry entry = Mirror::EntryOf(base, 1);
  EXPECT_TRUE(entry.children_in_view);
  EXPECT_EQ(entry.czxid, 10);
  EXPECT_EQ(entry.mzxid, 20);
  EXPECT_EQ(entry.pzxid, 30);
  EXPECT_EQ(Mirror::EntryOf(base, 2).fingerprint, entry.fingerprint);

  auto differs = [&](auto change) {
    znodes::ZnodeRecord record = base;
    zk::Stat stat = *record.stat;
    change(record, stat);
    record.stat = stat;
    return Mirror::EntryOf(record, 1).fingerprint != entry.fingerprint;
  };
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.version; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.cversion; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.aversion; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.num_children; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.data_length; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { ++s.mtime; }));
  EXPECT_TRUE(differs([](auto&, zk::Stat& s) { s.ephemeral_owner = 7; }));
  EXPECT_TRUE(differs([](znodes::ZnodeRecord& r, auto&) { r.error = "NOAUTH"; }));
  EXPECT_TRUE(differs([](znodes::ZnodeRecord& r, auto&) { r.data.reset(); }));
  EXPECT_TRUE(
      differs([](znodes::ZnodeRecord& r, auto&) { r.kind = znodes::NodeKind::kEphemeral; }));
  const std::vector<zk::Acl> acl = zk::OpenAclUnsafe();
  const std::vector<zk::Acl> other = zk::ReadAclUnsafe();
  EXPECT_TRUE(differs([&](znodes::ZnodeRecord& r, auto&) { r.acl = &acl; }));
  znodes::ZnodeRecord with_acl = base;
  with_acl.acl = &acl;
  znodes::ZnodeRecord with_other = base;
  with_other.acl = &other;
  EXPECT_NE(Mirror::EntryOf(with_acl, 1).fingerprint, Mirror::EntryOf(with_other, 1).fingerprint);

  znodes::ZnodeRecord refused = base;
  refused.data.reset();
  refused.error = "NOAUTH";
  EXPECT_FALSE(Mirror::EntryOf(refused, 1).children_in_view);
}

TEST(MirrorTest, PutFindEraseAndNotSeenDeepestFirst) {
  Mirror mirror;
  znodes::ZnodeRecord record;
  record.stat = SomeStat();
  for (const char* path : {"/a", "/a/b", "/a/b/c", "/z"}) {
    record.path = path;
    mirror.Put(path, Mirror::EntryOf(record, 1));
  }
  record.path = "/a/b";
  mirror.Put("/a/b", Mirror::EntryOf(record, 2));  // replaces
  EXPECT_EQ(mirror.size(), 4u);
  ASSERT_NE(mirror.Find("/a/b"), nullptr);
  EXPECT_EQ(mirror.Find("/a/b")->generation, 2u);
  EXPECT_EQ(mirror.NotSeenIn(2), (std::vector<std::string>{"/a/b/c", "/a", "/z"}));
  mirror.Erase("/a/b/c");
  mirror.Erase("/not/there");
  EXPECT_EQ(mirror.Find("/a/b/c"), nullptr);
  EXPECT_EQ(mirror.size(), 3u);
}

// Children counted through puts, replacements and erasures; a vanished
// subtree listed children first, a leaf without reading the mirror.
TEST(MirrorTest, CountsChildrenAndListsSubtreesChildrenFirst) {
  Mirror mirror;
  znodes::ZnodeRecord record;
  record.stat = SomeStat();
  auto put = [&](const std::string& path) {
    record.path = path;
    mirror.Put(path, Mirror::EntryOf(record, 1));
  };
  for (const char* path : {"/", "/a", "/a/b", "/a/b/c", "/a/d", "/a-x", "/a-x/y", "/z"}) put(path);
  put("/a");  // a replacement keeps the count
  EXPECT_EQ(mirror.Find("/")->children, 3);
  EXPECT_EQ(mirror.Find("/a")->children, 2);
  EXPECT_EQ(mirror.Find("/a/b")->children, 1);
  EXPECT_EQ(mirror.Find("/a/b/c")->children, 0);
  EXPECT_EQ(mirror.Subtrees({"/a"}), (std::vector<std::string>{"/a/b/c", "/a/b", "/a/d", "/a"}));
  // Nested and missing roots: each path once.
  EXPECT_EQ(mirror.Subtrees({"/a/b", "/a", "/gone", "/a-x/y"}),
            (std::vector<std::string>{"/a/b/c", "/a-x/y", "/a/b", "/a/d", "/a"}));
  EXPECT_EQ(mirror.Subtrees({"/z"}), std::vector<std::string>{"/z"});
  EXPECT_EQ(mirror.Subtrees({"/"}).size(), mirror.size());
  EXPECT_EQ(mirror.Subtrees({"/"}).back(), "/");
  mirror.Erase("/a/b/c");
  EXPECT_EQ(mirror.Find("/a/b")->children, 0);
  mirror.Erase("/a/b");
  mirror.Erase("/a/b");  // no longer there: counted out once
  EXPECT_EQ(mirror.Find("/a")->children, 1);
  put("/a/b");
  EXPECT_EQ(mirror.Find("/a")->children, 2);
  EXPECT_EQ(mirror.Find("/a/b")->children, 0);
}

// Past what the count holds it says "many" for good, and a subtree is
// still listed whole.
TEST(MirrorTest, ChildCountSaturates) {
  Mirror mirror;
  znodes::ZnodeRecord record;
  record.stat = SomeStat();
  constexpr int kChildren = Mirror::kManyChildren + 10;
  for (int i = -1; i < kChildren; ++i) {
    const std::string path = i < 0 ? "/big" : "/big/" + std::to_string(i);
    record.path = path;
    mirror.Put(path, Mirror::EntryOf(record, 1));
  }
  EXPECT_EQ(mirror.Find("/big")->children, Mirror::kManyChildren);
  for (int i = 0; i < 20; ++i) mirror.Erase("/big/" + std::to_string(i));
  EXPECT_EQ(mirror.Find("/big")->children, Mirror::kManyChildren);
  std::vector<std::string> subtree = mirror.Subtrees({"/big"});
  EXPECT_EQ(subtree.size(), static_cast<size_t>(kChildren - 20 + 1));
  EXPECT_EQ(subtree.back(), "/big");
}

// What the mirror costs: the heap it really takes (malloc's count) and its
// own estimate, per znode, for 100k paths of a realistic length.
TEST(MirrorTest, BytesPerZnode) {
  constexpr int kZnodes = 100000;
  std::vector<std::string> paths;
  for (int i = 0; i < kZnodes; ++i) {
    paths.push_back("/brokers/topics/topic-" + std::to_string(i / 50) + "/partitions/" +
                    std::to_string(i % 50));
  }
  size_t path_bytes = 0;
  for (const std::string& path : paths) path_bytes += path.size();
  znodes::ZnodeRecord record;
  record.stat = SomeStat();
  // In-use heap, large blocks (mmapped by malloc) included.
  auto heap = [] {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
  };
  const size_t before = heap();
  auto mirror = std::make_unique<Mirror>();
  for (const std::string& path : paths) {
    record.path = path;
    mirror->Put(path, Mirror::EntryOf(record, 1));
  }
  const size_t after = heap();
  const double measured = static_cast<double>(after - before) / kZnodes;
  const double estimated = static_cast<double>(mirror->ApproximateBytes()) / kZnodes;
  std::printf(
      "mirror: %d znodes, average path %.1f bytes: %.1f bytes/znode measured by malloc, "
      "%.1f estimated\n",
      kZnodes, static_cast<double>(path_bytes) / kZnodes, measured, estimated);
  EXPECT_GT(estimated, static_cast<double>(path_bytes) / kZnodes);
  // Sanitizer builds replace malloc, so its count says nothing there.
  if (after > before) {
    EXPECT_LT(estimated, measured * 1.5);
    EXPECT_GT(estimated, measured * 0.9);
    // The goal: under 150 bytes a znode beyond its data.
    EXPECT_LT(measured, 150);
  }
}

// Random puts and erases against a std::map: every path found with its
// last entry, none of the erased ones, through growth of the index, moves
// of the last node into erased places and compactions of the path arena.
TEST(MirrorTest, AgreesWithAMapThroughGrowthErasureAndCompaction) {
  Mirror mirror;
  std::map<std::string, uint32_t> expected;  // path -> generation
  std::mt19937 random(7);
  znodes::ZnodeRecord record;
  record.stat = SomeStat();
  auto path_of = [](uint32_t n) {
    // Long paths, so that erasing fills the arena with garbage quickly.
    return "/root/" + std::string(200, 'x') + "/" + std::to_string(n);
  };
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 20000; ++i) {
      const uint32_t n = random() % 5000;
      const std::string path = path_of(n);
      if (random() % 3 == 0) {
        mirror.Erase(path);
        expected.erase(path);
      } else {
        const uint32_t generation = static_cast<uint32_t>(random());
        record.path = path;
        mirror.Put(path, Mirror::EntryOf(record, generation));
        expected[path] = generation;
      }
    }
    ASSERT_EQ(mirror.size(), expected.size());
    for (uint32_t n = 0; n < 5000; ++n) {
      const std::string path = path_of(n);
      const Mirror::Entry* entry = mirror.Find(path);
      auto it = expected.find(path);
      ASSERT_EQ(entry != nullptr, it != expected.end()) << path;
      if (entry != nullptr) {
        EXPECT_EQ(entry->generation, it->second) << path;
      }
    }
  }
  // Erased down to nothing and filled again.
  for (const auto& [path, generation] : expected) mirror.Erase(path);
  EXPECT_EQ(mirror.size(), 0u);
  EXPECT_EQ(mirror.Find(path_of(1)), nullptr);
  record.path = "/again";
  mirror.Put("/again", Mirror::EntryOf(record, 9));
  ASSERT_NE(mirror.Find("/again"), nullptr);
  EXPECT_EQ(mirror.NotSeenIn(1), std::vector<std::string>{"/again"});
}

Result<std::vector<arrow::RecordBatch>> ReadAll(std::span<const uint8_t> bytes,
                                                arrow::Schema* schema, bool* marker) {
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(
                                        std::make_unique<arrow::BufferInputStream>(bytes)));
  *schema = reader->schema();
  std::vector<arrow::RecordBatch> batches;
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) break;
    batches.push_back(std::move(*batch));
  }
  *marker = reader->ended_with_marker();
  return batches;
}

TEST(ChangeWriterTest, RowsFlushedAsBatchesThenTheEndMarker) {
  arrow::BufferOutputStream sink;
  ChangeWriterOptions options;
  options.schema_metadata = {{kMetaStartZxid, "42"}};
  auto writer = ChangeWriter::Open(sink, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::string data = "v1";
  znodes::ZnodeRecord node;
  node.path = "/a/b";
  node.stat = SomeStat();
  node.data = std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  ASSERT_TRUE((*writer)->Append({ChangeEvent::kInitial, 20, 1700000000000, node}).ok());
  ASSERT_TRUE((*writer)->Append({ChangeEvent::kChanged, 21, 1700000000001, node}).ok());
  EXPECT_EQ((*writer)->pending_rows(), 2);
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_EQ((*writer)->pending_rows(), 0);
  ASSERT_TRUE((*writer)->Flush().ok());  // nothing pending: no empty batch
  znodes::ZnodeRecord gone;
  gone.path = "/a/b";
  ASSERT_TRUE((*writer)->Append({ChangeEvent::kDeleted, 25, 1700000000002, gone}).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->rows_written(), 3);

  arrow::Schema schema;
  bool marker = false;
  auto batches = ReadAll(sink.bytes(), &schema, &marker);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  EXPECT_TRUE(marker);
  ASSERT_EQ(batches->size(), 2u);
  EXPECT_EQ((*batches)[0].length, 2);
  EXPECT_EQ((*batches)[1].length, 1);
  EXPECT_EQ(schema.fields.size(), ChangeTableSchema(false).fields.size());
  EXPECT_EQ(schema.metadata, options.schema_metadata);

  const size_t event = schema.fields.size() - 3;
  const arrow::ArrayData& events = *(*batches)[1].columns[event];
  ASSERT_NE(events.dictionary, nullptr);
  EXPECT_EQ(events.dictionary->length, 5);
  EXPECT_EQ(events.buffers[1]->data_as<int32_t>()[0], static_cast<int32_t>(ChangeEvent::kDeleted));
  EXPECT_EQ((*batches)[1].columns[event + 1]->buffers[1]->data_as<int64_t>()[0], 25);
  EXPECT_EQ((*batches)[0].columns[event + 2]->buffers[1]->data_as<int64_t>()[1], 1700000000001);
  // A deleted row has its path and no stat.
  EXPECT_FALSE((*batches)[1].columns[znodes::kMzxidColumn]->IsValid(0));
}

}  // namespace
}  // namespace zkarrow::watch
