#include "arrow/builder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "arrow/dictionary_builder.h"
#include "arrow/record_batch_builder.h"

namespace zkarrow::arrow {
namespace {

template <typename T>
std::vector<T> Values(const ArrayData& data, int buffer = 1) {
  const Buffer& b = *data.buffers[static_cast<size_t>(buffer)];
  std::vector<T> values(static_cast<size_t>(b.size()) / sizeof(T));
  std::memcpy(values.data(), b.data(), values.size() * sizeof(T));
  return values;
}

std::string StringAt(const ArrayData& data, int64_t i) {
  const auto* offsets = data.buffers[1]->data_as<int32_t>();
  return std::string(data.buffers[2]->data_as<char>() + offsets[i],
                     static_cast<size_t>(offsets[i + 1] - offsets[i]));
}

bool IsAligned(const std::shared_ptr<const Buffer>& buffer) {
  return reinterpret_cast<uintptr_t>(buffer->data()) % kBufferAlignment == 0;
}

TEST(NumericBuilderTest, NoValidityBitmapWithoutNulls) {
  Int32Builder builder;
  builder.Reserve(3);
  builder.Append(1);
  builder.Append(-2);
  builder.AppendValues(std::vector<int32_t>{3, 4});
  auto data = builder.Finish();
  EXPECT_EQ(data->length, 4);
  EXPECT_EQ(data->null_count, 0);
  ASSERT_EQ(data->buffers.size(), 2u);
  EXPECT_EQ(data->buffers[0], nullptr);
  EXPECT_TRUE(IsAligned(data->buffers[1]));
  EXPECT_EQ(Values<int32_t>(*data), (std::vector<int32_t>{1, -2, 3, 4}));
}

TEST(NumericBuilderTest, BitmapAppearsAtFirstNullWithEarlierValuesValid) {
  Int64Builder builder;
  for (int i = 0; i < 10; ++i) builder.Append(i);
  builder.AppendNull();
  builder.Append(11);
  auto data = builder.Finish();
  EXPECT_EQ(data->length, 12);
  EXPECT_EQ(data->null_count, 1);
  ASSERT_NE(data->buffers[0], nullptr);
  EXPECT_EQ(data->buffers[0]->size(), 2);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(data->IsValid(i), i != 10) << i;
  EXPECT_EQ(Values<int64_t>(*data)[10], 0);
  EXPECT_EQ(Values<int64_t>(*data)[11], 11);
}

TEST(NumericBuilderTest, ReusableAfterFinish) {
  Int32Builder builder;
  builder.AppendNull();
  auto first = builder.Finish();
  builder.Append(7);
  auto second = builder.Finish();
  EXPECT_EQ(first->null_count, 1);
  EXPECT_EQ(second->length, 1);
  EXPECT_EQ(second->null_count, 0);
  EXPECT_EQ(second->buffers[0], nullptr);
  EXPECT_EQ(Values<int32_t>(*second), std::vector<int32_t>{7});
  EXPECT_FALSE(first->IsValid(0));  // the first batch's buffers are untouched
}

TEST(BitmapBuilderTest, AppendNAcrossByteBoundaries) {
  for (int64_t prefix : {0, 3, 8}) {
    for (int64_t n : {1, 5, 8, 13, 64, 70}) {
      BitmapBuilder bits;
      bits.AppendN(false, prefix);
      bits.AppendN(true, n);
      bits.Append(false);
      auto buffer = bits.Finish();
      ASSERT_EQ(buffer->size(), BytesForBits(prefix + n + 1));
      for (int64_t i = 0; i < prefix + n + 1; ++i) {
        EXPECT_EQ(GetBit(buffer->data(), i), i >= prefix && i < prefix + n)
            << "prefix " << prefix << " n " << n << " bit " << i;
      }
    }
  }
}

TEST(BooleanBuilderTest, PacksBits) {
  BooleanBuilder builder;
  const std::vector<bool> values = {true, false, true, true, false, false, true, false, true};
  for (bool v : values) builder.Append(v);
  builder.AppendNull();
  auto data = builder.Finish();
  EXPECT_EQ(data->length, 10);
  EXPECT_EQ(data->null_count, 1);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(GetBit(data->buffers[1]->data(), static_cast<int64_t>(i)), values[i]) << i;
  }
  EXPECT_FALSE(data->IsValid(9));
}

TEST(BinaryBuilderTest, OffsetsAndData) {
  BinaryBuilder builder;
  ASSERT_TRUE(builder.Append("/zookeeper").ok());
  builder.AppendNull();
  ASSERT_TRUE(builder.Append("").ok());
  ASSERT_TRUE(builder.Append(std::vector<uint8_t>{0, 255}).ok());
  EXPECT_EQ(builder.value_data_length(), 12);
  auto data = builder.Finish();
  ASSERT_EQ(data->buffers.size(), 3u);
  EXPECT_EQ(Values<int32_t>(*data), (std::vector<int32_t>{0, 10, 10, 10, 12}));
  EXPECT_EQ(StringAt(*data, 0), "/zookeeper");
  EXPECT_FALSE(data->IsValid(1));
  EXPECT_EQ(StringAt(*data, 3), std::string("\0\xff", 2));

  // A new batch starts its offsets at zero again.
  ASSERT_TRUE(builder.Append("x").ok());
  auto next = builder.Finish();
  EXPECT_EQ(Values<int32_t>(*next), (std::vector<int32_t>{0, 1}));
}

TEST(BinaryBuilderTest, EmptyArrayHasOneOffset) {
  BinaryBuilder builder;
  auto data = builder.Finish();
  EXPECT_EQ(data->length, 0);
  EXPECT_EQ(Values<int32_t>(*data), std::vector<int32_t>{0});
  EXPECT_EQ(data->buffers[2]->size(), 0);
}

// The znode table's acl column: list<struct{perms int32, scheme utf8, id utf8}>.
TEST(ListBuilderTest, ListOfStruct) {
  std::vector<std::unique_ptr<ArrayBuilder>> fields;
  fields.push_back(std::make_unique<Int32Builder>());
  fields.push_back(std::make_unique<StringBuilder>());
  fields.push_back(std::make_unique<StringBuilder>());
  ListBuilder acl(std::make_unique<StructBuilder>(std::move(fields)));
  auto& entry = acl.values_as<StructBuilder>();

  ASSERT_TRUE(acl.Append().ok());  // two entries
  for (std::string_view id : {"anyone", "admin"}) {
    entry.Append();
    entry.child_as<Int32Builder>(0).Append(31);
    ASSERT_TRUE(entry.child_as<StringBuilder>(1).Append("world").ok());
    ASSERT_TRUE(entry.child_as<StringBuilder>(2).Append(id).ok());
  }
  acl.AppendNull();
  ASSERT_TRUE(acl.Append().ok());  // empty
  auto data = acl.Finish();

  EXPECT_EQ(data->length, 3);
  EXPECT_EQ(data->null_count, 1);
  EXPECT_EQ(Values<int32_t>(*data), (std::vector<int32_t>{0, 2, 2, 2}));
  ASSERT_EQ(data->children.size(), 1u);
  const ArrayData& structs = *data->children[0];
  EXPECT_EQ(structs.length, 2);
  EXPECT_EQ(structs.buffers.size(), 1u);
  EXPECT_EQ(structs.buffers[0], nullptr);
  ASSERT_EQ(structs.children.size(), 3u);
  EXPECT_EQ(Values<int32_t>(*structs.children[0]), (std::vector<int32_t>{31, 31}));
  EXPECT_EQ(StringAt(*structs.children[2], 1), "admin");

  // Reusable: the next batch's offsets restart at zero.
  ASSERT_TRUE(acl.Append().ok());
  entry.AppendNull();
  auto next = acl.Finish();
  EXPECT_EQ(Values<int32_t>(*next), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(next->children[0]->null_count, 1);
  EXPECT_EQ(next->children[0]->children[1]->null_count, 1);
}

TEST(StringDictionaryBuilderTest, GrowingDictionaryIsSharedUntilItGrows) {
  StringDictionaryBuilder builder(8);
  ASSERT_TRUE(builder.Append("PERSISTENT").ok());
  ASSERT_TRUE(builder.Append("EPHEMERAL").ok());
  builder.AppendNull();
  ASSERT_TRUE(builder.Append("PERSISTENT").ok());
  auto first = builder.Finish();
  EXPECT_EQ(Values<int8_t>(*first), (std::vector<int8_t>{0, 1, 0, 0}));
  EXPECT_EQ(first->null_count, 1);
  ASSERT_NE(first->dictionary, nullptr);
  EXPECT_EQ(first->dictionary->length, 2);
  EXPECT_EQ(StringAt(*first->dictionary, 1), "EPHEMERAL");

  ASSERT_TRUE(builder.Append("EPHEMERAL").ok());
  auto second = builder.Finish();
  EXPECT_EQ(second->dictionary, first->dictionary);  // unchanged: same object

  ASSERT_TRUE(builder.Append("CONTAINER").ok());
  auto third = builder.Finish();
  EXPECT_NE(third->dictionary, first->dictionary);
  EXPECT_EQ(third->dictionary->length, 3);
  EXPECT_EQ(StringAt(*third->dictionary, 0), "PERSISTENT");  // extends the old one
  EXPECT_EQ(Values<int8_t>(*third), std::vector<int8_t>{2});
}

TEST(StringDictionaryBuilderTest, FixedDictionaryRejectsOtherValues) {
  const std::vector<std::string_view> kinds = {"PERSISTENT", "EPHEMERAL", "CONTAINER"};
  auto made = StringDictionaryBuilder::MakeFixed(32, kinds);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  StringDictionaryBuilder& builder = **made;
  ASSERT_TRUE(builder.Append("CONTAINER").ok());
  Status status = builder.Append("TTL");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("TTL"), std::string::npos);
  EXPECT_FALSE(builder.AppendIndex(3).ok());
  ASSERT_TRUE(builder.AppendIndex(1).ok());
  auto data = builder.Finish();
  EXPECT_EQ(data->length, 2);
  EXPECT_EQ(Values<int32_t>(*data), (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(data->dictionary->length, 3);
}

TEST(StringDictionaryBuilderTest, FixedDictionaryRejectsDuplicates) {
  const std::vector<std::string_view> values = {"a", "b", "a"};
  EXPECT_FALSE(StringDictionaryBuilder::MakeFixed(8, values).ok());
}

TEST(StringDictionaryBuilderTest, Int8IndicesFillUp) {
  StringDictionaryBuilder builder(8);
  for (int i = 0; i < 127; ++i) ASSERT_TRUE(builder.Append(std::to_string(i)).ok());
  Status status = builder.Append("one too many");
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(builder.length(), 127);
  EXPECT_TRUE(builder.Append("5").ok());  // known values still work
}

Schema ZnodeSchema() {
  Schema schema;
  schema.fields.push_back(MakeField("path", Utf8Type(), false));
  schema.fields.push_back(MakeField("data", BinaryType()));
  schema.fields.push_back(MakeField("version", Int32()));
  schema.fields.push_back(MakeField("czxid", Int64()));
  schema.fields.push_back(MakeField("ctime", TimestampType(TimeUnit::kMillisecond, "UTC")));
  Field kind = MakeField("kind", Utf8Type());
  kind.dictionary = DictionaryEncoding{0, Int8(), false};
  schema.fields.push_back(kind);
  schema.fields.push_back(MakeField(
      "acl", ListType(MakeField(
                 "item", StructType({MakeField("perms", Int32()), MakeField("scheme", Utf8Type()),
                                     MakeField("id", Utf8Type())})))));
  return schema;
}

TEST(RecordBatchBuilderTest, BuildsTheZnodeTable) {
  auto made = RecordBatchBuilder::Make(std::make_shared<const Schema>(ZnodeSchema()));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  RecordBatchBuilder& rows = *made;
  rows.Reserve(2);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(rows.column_as<StringBuilder>(0).Append("/n" + std::to_string(i)).ok());
    rows.column_as<BinaryBuilder>(1).AppendNull();
    rows.column_as<Int32Builder>(2).Append(i);
    rows.column_as<Int64Builder>(3).Append(int64_t{1} << 40);
    rows.column_as<TimestampBuilder>(4).Append(1700000000000);
    ASSERT_TRUE(rows.column_as<StringDictionaryBuilder>(5).Append("PERSISTENT").ok());
    ASSERT_TRUE(rows.column_as<ListBuilder>(6).Append().ok());
  }
  EXPECT_EQ(rows.num_rows(), 2);
  auto batch = rows.Finish();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->length, 2);
  ASSERT_EQ(batch->columns.size(), 7u);
  EXPECT_EQ(batch->columns[1]->null_count, 2);
  EXPECT_EQ(batch->columns[5]->dictionary->length, 1);
  EXPECT_EQ(rows.num_rows(), 0);
}

TEST(RecordBatchBuilderTest, UnequalColumnsAreAnError) {
  auto made = RecordBatchBuilder::Make(std::make_shared<const Schema>(ZnodeSchema()));
  ASSERT_TRUE(made.ok());
  made->column_as<Int32Builder>(2).Append(1);
  auto batch = made->Finish();
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("\"version\""), std::string::npos)
      << batch.status().message();
}

TEST(RecordBatchBuilderTest, StructChildrenMustKeepUp) {
  Schema schema;
  schema.fields.push_back(MakeField("s", StructType({MakeField("a", Int32())})));
  auto made = RecordBatchBuilder::Make(std::make_shared<const Schema>(schema));
  ASSERT_TRUE(made.ok());
  made->column_as<StructBuilder>(0).Append();  // child "a" not appended
  auto batch = made->Finish();
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("\"a\""), std::string::npos);
}

TEST(RecordBatchBuilderTest, UnsupportedTypeIsNotImplemented) {
  Schema schema;
  DataType decimal;
  decimal.id = TypeId::kDecimal;
  schema.fields.push_back(MakeField("d", decimal));
  auto made = RecordBatchBuilder::Make(std::make_shared<const Schema>(schema));
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kNotImplemented);
}

}  // namespace
}  // namespace zkarrow::arrow
