#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "znodes/typed_value.h"
#include "znodes/znode_path.h"
#include "znodes/znode_schema.h"
#include "znodes/znode_table_writer.h"

namespace zkarrow::znodes {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(ZnodePathTest, NameParentDepth) {
  EXPECT_EQ(PathName("/"), "");
  EXPECT_EQ(PathName("/a/bc"), "bc");
  EXPECT_EQ(PathParent("/"), std::nullopt);
  EXPECT_EQ(PathParent("/a"), "/");
  EXPECT_EQ(PathParent("/a/b"), "/a");
  EXPECT_EQ(PathDepth("/"), 0);
  EXPECT_EQ(PathDepth("/a"), 1);
  EXPECT_EQ(PathDepth("/a/b/c"), 3);
  EXPECT_EQ(JoinPath("/", "x"), "/x");
  EXPECT_EQ(JoinPath("/a", "x"), "/a/x");
}

// PathDepth counts eight bytes at a time: slashes at every position of a
// word and in the tail, next to bytes that differ from '/' (0x2f) only in
// the high bit (0xaf) or the lowest one (0x2e), or are 0x00 or 0xff.
TEST(ZnodePathTest, DepthOfLongPaths) {
  const std::string fillers[] = {"a", "\xaf", ".", "\x2e\xaf", std::string(1, '\0'), "\xff"};
  for (const std::string& filler : fillers) {
    for (size_t length = 2; length <= 40; ++length) {
      for (size_t step = 1; step <= 9; ++step) {
        std::string path;
        int32_t slashes = 0;
        for (size_t i = 0; path.size() < length; ++i) {
          if (i % step == 0) {
            path += '/';
            ++slashes;
          } else {
            path += filler;
          }
        }
        slashes -= static_cast<int32_t>(
            std::count(path.begin() + static_cast<ptrdiff_t>(length), path.end(), '/'));
        path.resize(length);
        EXPECT_EQ(PathDepth(path), slashes) << length << " " << step;
      }
    }
  }
}

TEST(TypedValueTest, ClassifiesEachKind) {
  EXPECT_EQ(ClassifyValue({}).type, ValueType::kEmpty);
  TypedValue number = ClassifyValue(Bytes(" 42\n"));
  EXPECT_EQ(number.type, ValueType::kInt);
  EXPECT_EQ(number.as_int, 42);
  EXPECT_EQ(number.as_float, 42.0);
  EXPECT_EQ(ClassifyValue(Bytes("-9223372036854775808")).as_int, INT64_MIN);
  EXPECT_EQ(ClassifyValue(Bytes("9223372036854775808")).type, ValueType::kFloat);
  TypedValue real = ClassifyValue(Bytes("2.5e3"));
  EXPECT_EQ(real.type, ValueType::kFloat);
  EXPECT_EQ(real.as_float, 2500.0);
  EXPECT_EQ(ClassifyValue(Bytes("true")).as_int, 1);
  EXPECT_EQ(ClassifyValue(Bytes("false")).type, ValueType::kBool);
  EXPECT_EQ(ClassifyValue(Bytes(R"({"a":[1,2]})")).type, ValueType::kJson);
  EXPECT_EQ(ClassifyValue(Bytes("{not json")).type, ValueType::kText);
  EXPECT_EQ(ClassifyValue(Bytes("nan")).type, ValueType::kText);
  EXPECT_EQ(ClassifyValue(Bytes("héllo wörld")).type, ValueType::kText);
  EXPECT_EQ(ClassifyValue(Bytes(std::string_view("a\0b", 3))).type, ValueType::kBinary);
  EXPECT_EQ(ClassifyValue(Bytes("\xff\xfe")).type, ValueType::kBinary);
}

TEST(TypedValueTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(Bytes("名前 😀")));
  EXPECT_FALSE(IsValidUtf8(Bytes("\xc0\xaf")));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8(Bytes("\xed\xa0\x80")));      // surrogate
  EXPECT_FALSE(IsValidUtf8(Bytes("\xf4\x90\x80\x80")));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8(Bytes("\xe2\x82")));          // truncated
}

TEST(EphemeralOwnerTest, DecodesStoredMarkers) {
  EXPECT_EQ(DecodeStoredEphemeralOwner(0).kind, NodeKind::kPersistent);
  auto container = DecodeStoredEphemeralOwner(INT64_MIN);
  EXPECT_EQ(container.kind, NodeKind::kContainer);
  EXPECT_EQ(container.client_visible_owner, 0);
  auto ttl = DecodeStoredEphemeralOwner(static_cast<int64_t>(0xff00000000000000ULL | 3600000));
  EXPECT_EQ(ttl.kind, NodeKind::kTtl);
  EXPECT_EQ(ttl.ttl_ms, 3600000);
  auto session = DecodeStoredEphemeralOwner(0x0100017f5e3a0002);
  EXPECT_EQ(session.kind, NodeKind::kEphemeral);
  EXPECT_EQ(session.client_visible_owner, 0x0100017f5e3a0002);
}

TEST(ZnodeSchemaTest, ColumnsAreTheContract) {
  arrow::Schema schema = ZnodeTableSchema(true);
  std::vector<std::string> names;
  for (const auto& field : schema.fields) names.push_back(field.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "path",       "name",        "parent",       "depth",     "kind",
                       "data",       "data_length", "num_children", "version",   "cversion",
                       "aversion",   "czxid",       "mzxid",        "pzxid",     "ephemeral_owner",
                       "ctime",      "mtime",       "ttl_ms",       "acl",       "error",
                       "value_type", "value_int",   "value_float",  "value_text"}));
  EXPECT_EQ(arrow::FieldToString(schema.fields[kCtimeColumn]), "ctime: timestamp[ms, tz=UTC]");
  EXPECT_EQ(arrow::FieldToString(schema.fields[kPathColumn]), "path: utf8 not null");
  EXPECT_TRUE(schema.fields[kKindColumn].dictionary.has_value());
  EXPECT_EQ(arrow::TypeToString(schema.fields[kAclColumn].type),
            "list<item: struct<perms: int32 not null, scheme: utf8 not null, id: utf8 not null> "
            "not null>");
  EXPECT_EQ(ZnodeTableSchema(false).fields.size(), static_cast<size_t>(kBaseColumnCount));
}

TEST(ZnodeTableWriterTest, WritesBatchesAndReadsBack) {
  arrow::BufferOutputStream sink;
  ZnodeTableOptions options;
  options.typed_values = true;
  options.max_batch_rows = 2;
  options.schema_metadata = {{kMetaSource, "test"}};
  auto writer = ZnodeTableWriter::Open(sink, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();

  std::vector<zk::Acl> acl = {{31, "world", "anyone"}};
  zk::Stat stat;
  stat.czxid = 5;
  stat.mtime = 1700000000123;
  ZnodeRecord root{.path = "/", .stat = stat, .data = Bytes(""), .acl = &acl};
  ZnodeRecord child{.path = "/a", .stat = stat, .kind = NodeKind::kEphemeral, .data = Bytes("7")};
  ZnodeRecord denied{.path = "/a/secret", .stat = stat, .error = "NOAUTH"};
  for (const auto* record : {&root, &child, &denied}) {
    Status appended = (*writer)->Append(*record);
    ASSERT_TRUE(appended.ok()) << appended.ToString();
  }
  ASSERT_TRUE((*writer)->Finish({{kMetaZnodes, "3"}}).ok());
  EXPECT_EQ((*writer)->rows_written(), 3);

  auto reader = arrow::ipc::FileReader::Open(sink.Finish());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->schema().metadata, options.schema_metadata);
  int64_t rows = 0;
  for (int b = 0; b < (*reader)->num_batches(); ++b) {
    auto batch = (*reader)->ReadBatch(b);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    rows += batch->length;
  }
  EXPECT_EQ(rows, 3);
  auto last = (*reader)->ReadBatchInfo((*reader)->num_batches() - 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->custom_metadata, (arrow::KeyValueMetadata{{kMetaZnodes, "3"}}));

  auto first = (*reader)->ReadBatch(0);
  ASSERT_TRUE(first.ok());
  const arrow::ArrayData& parent = *first->columns[kParentColumn];
  EXPECT_FALSE(parent.IsValid(0));  // "/" has no parent
  EXPECT_TRUE(parent.IsValid(1));
  const arrow::ArrayData& value_int = *first->columns[kValueIntColumn];
  EXPECT_EQ(value_int.buffers[1]->data_as<int64_t>()[1], 7);
}

// ZooKeeper's null data is a null data cell (and no typed value), empty data
// an empty one classified `empty`.
TEST(ZnodeTableWriterTest, NullDataIsANullCellAndEmptyDataAnEmptyOne) {
  arrow::BufferOutputStream sink;
  ZnodeTableOptions options;
  options.typed_values = true;
  auto writer = ZnodeTableWriter::Open(sink, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ZnodeRecord null_data{.path = "/null", .stat = zk::Stat{}, .data = Bytes(""), .null_data = true};
  ZnodeRecord empty{.path = "/empty", .stat = zk::Stat{}, .data = Bytes("")};
  for (const auto* record : {&null_data, &empty}) {
    ASSERT_TRUE((*writer)->Append(*record).ok());
  }
  ASSERT_TRUE((*writer)->Finish({}).ok());
  auto reader = arrow::ipc::FileReader::Open(sink.Finish());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto batch = (*reader)->ReadBatch(0);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  const arrow::ArrayData& data = *batch->columns[kDataColumn];
  EXPECT_FALSE(data.IsValid(0));
  EXPECT_TRUE(data.IsValid(1));
  EXPECT_FALSE(batch->columns[kErrorColumn]->IsValid(0));
  const arrow::ArrayData& value_type = *batch->columns[kValueTypeColumn];
  EXPECT_FALSE(value_type.IsValid(0));
  EXPECT_TRUE(value_type.IsValid(1));
}

// Counts what is written and keeps nothing.
class CountingSink final : public arrow::OutputStream {
 public:
  Status Write(std::span<const uint8_t> bytes) override {
    written += static_cast<int64_t>(bytes.size());
    return Status::Ok();
  }
  int64_t written = 0;
};

// Issue 10: ACL bytes were not counted in the batch size, so rows sharing a
// 1 MiB ACL id filled one batch past the 2 GiB of 32-bit offsets and the
// append aborted. Counted, they are cut into batches of about 32 MB.
TEST(ZnodeTableWriterTest, LargeAclIdsAreCountedInTheBatchSize) {
  CountingSink sink;
  auto writer = ZnodeTableWriter::Open(sink, {.format = arrow::ipc::IpcFormat::kStream});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::vector<zk::Acl> acl = {{31, "digest", std::string(size_t{1} << 20, 'x')}};
  constexpr int kRows = 2100;  // 2100 MiB of ACL ids
  std::string path;
  for (int i = 0; i < kRows; ++i) {
    path = "/n" + std::to_string(i);
    Status appended = (*writer)->Append({.path = path, .stat = zk::Stat{}, .acl = &acl});
    ASSERT_TRUE(appended.ok()) << appended.ToString();
  }
  ASSERT_TRUE((*writer)->Finish({}).ok());
  EXPECT_EQ((*writer)->rows_written(), kRows);
  EXPECT_GT(sink.written, int64_t{kRows} << 20);
}

}  // namespace
}  // namespace zkarrow::znodes
