#include "arrow/compare.h"

#include <gtest/gtest.h>

#include <vector>

#include "arrow/builder.h"
#include "arrow/dictionary_builder.h"

namespace zkarrow::arrow {
namespace {

std::shared_ptr<const ArrayData> Sliced(std::shared_ptr<const ArrayData> data, int64_t offset,
                                        int64_t length) {
  auto slice = std::make_shared<ArrayData>(*data);
  slice->offset += offset;
  slice->length = length;
  slice->null_count = -1;  // unknown, as after slicing: equality must not rely on it
  return slice;
}

std::shared_ptr<const ArrayData> Ints(const std::vector<std::optional<int32_t>>& values) {
  Int32Builder builder;
  for (const auto& v : values) {
    if (v) {
      builder.Append(*v);
    } else {
      builder.AppendNull();
    }
  }
  return builder.Finish();
}

std::shared_ptr<const ArrayData> Strings(const std::vector<std::string>& values) {
  StringBuilder builder;
  for (const auto& v : values) EXPECT_TRUE(builder.Append(v).ok());
  return builder.Finish();
}

TEST(ArraysEqualTest, IgnoresValuesUnderNulls) {
  const Field field = MakeField("x", Int32());
  auto a = Ints({1, std::nullopt, 3});
  auto b = std::make_shared<ArrayData>(*Ints({1, 99, 3}));
  b->buffers[0] = a->buffers[0];  // same validity, other value under the null
  b->null_count = 1;
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *a, *b, &why)) << why;
}

TEST(ArraysEqualTest, ReportsFirstDifferentElement) {
  const Field field = MakeField("x", Int32());
  std::string why;
  EXPECT_FALSE(ArraysEqual(field, *Ints({1, 2, 3}), *Ints({1, 2, -3}), &why));
  EXPECT_EQ(why, "[2]: 3 vs -3 (0x03000000 vs 0xfdffffff)");
  EXPECT_FALSE(ArraysEqual(field, *Ints({1, 2}), *Ints({1, std::nullopt}), &why));
  EXPECT_EQ(why, "[1]: valid vs null");
  EXPECT_FALSE(ArraysEqual(field, *Ints({1}), *Ints({1, 2}), &why));
  EXPECT_EQ(why, "length 1 vs 2");
}

TEST(ArraysEqualTest, RespectsOffsets) {
  const Field field = MakeField("s", Utf8Type());
  auto whole = Strings({"a", "bc", "def", "g"});
  auto middle = Strings({"bc", "def"});
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *Sliced(whole, 1, 2), *middle, &why)) << why;
  EXPECT_FALSE(ArraysEqual(field, *Sliced(whole, 2, 2), *middle, &why));
  EXPECT_EQ(why, "[0]: \"def\" vs \"bc\"");
}

TEST(ArraysEqualTest, ListsOfStructsSayWhere) {
  const Field field =
      MakeField("acl", ListType(MakeField("item", StructType({MakeField("perms", Int32()),
                                                              MakeField("scheme", Utf8Type())}))));
  auto build = [](std::string_view second_scheme) {
    std::vector<std::unique_ptr<ArrayBuilder>> children;
    children.push_back(std::make_unique<Int32Builder>());
    children.push_back(std::make_unique<StringBuilder>());
    ListBuilder list(std::make_unique<StructBuilder>(std::move(children)));
    auto& entry = list.values_as<StructBuilder>();
    EXPECT_TRUE(list.Append().ok());
    EXPECT_TRUE(list.Append().ok());
    for (std::string_view scheme : {std::string_view("world"), second_scheme}) {
      entry.Append();
      entry.child_as<Int32Builder>(0).Append(31);
      EXPECT_TRUE(entry.child_as<StringBuilder>(1).Append(scheme).ok());
    }
    return list.Finish();
  };
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *build("digest"), *build("digest"), &why)) << why;
  EXPECT_FALSE(ArraysEqual(field, *build("digest"), *build("ip"), &why));
  EXPECT_EQ(why, "[1][1].scheme[1]: \"digest\" vs \"ip\"");
}

TEST(ArraysEqualTest, DictionariesCompareByValue) {
  Field field = MakeField("kind", Utf8Type());
  field.dictionary = DictionaryEncoding{0, Int8(), false};
  StringDictionaryBuilder a(8);
  ASSERT_TRUE(a.Append("x").ok());
  ASSERT_TRUE(a.Append("y").ok());
  const std::vector<std::string_view> reversed = {"y", "x"};
  auto b = StringDictionaryBuilder::MakeFixed(8, reversed);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->Append("x").ok());
  ASSERT_TRUE((*b)->Append("y").ok());
  auto left = a.Finish();
  auto right = (*b)->Finish();
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *left, *right, &why)) << why;

  ASSERT_TRUE(a.Append("y").ok());
  ASSERT_TRUE((*b)->Append("x").ok());
  EXPECT_FALSE(ArraysEqual(field, *a.Finish(), *(*b)->Finish(), &why));
  EXPECT_EQ(why, "[0] -> dictionary[1]: \"y\" vs \"x\"");
}

TEST(ArraysEqualTest, StructOffsetAppliesToChildren) {
  const Field field = MakeField("s", StructType({MakeField("a", Int32())}));
  auto child = Ints({1, 2, 3});
  auto whole = std::make_shared<ArrayData>();
  whole->length = 3;
  whole->buffers = {nullptr};
  whole->children = {child};
  auto tail = std::make_shared<ArrayData>();
  tail->length = 2;
  tail->buffers = {nullptr};
  tail->children = {Ints({2, 3})};
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *Sliced(whole, 1, 2), *tail, &why)) << why;
}

TEST(ArraysEqualTest, DenseUnion) {
  DataType type;
  type.id = TypeId::kUnion;
  type.union_mode = UnionMode::kDense;
  type.union_type_ids = {5, 7};
  type.children = {MakeField("i", Int32()), MakeField("s", Utf8Type())};
  const Field field = MakeField("u", type);
  auto make = [](std::vector<int8_t> ids, std::vector<int32_t> offsets) {
    auto data = std::make_shared<ArrayData>();
    data->length = static_cast<int64_t>(ids.size());
    data->buffers = {
        Buffer::CopyOf({reinterpret_cast<const uint8_t*>(ids.data()), ids.size()}),
        Buffer::CopyOf({reinterpret_cast<const uint8_t*>(offsets.data()), offsets.size() * 4})};
    data->children = {Ints({10, 20}), Strings({"a", "b"})};
    return data;
  };
  std::string why;
  EXPECT_TRUE(ArraysEqual(field, *make({5, 7}, {0, 1}), *make({5, 7}, {0, 1}), &why)) << why;
  EXPECT_FALSE(ArraysEqual(field, *make({5, 7}, {0, 1}), *make({5, 7}, {1, 1}), &why));
  EXPECT_EQ(why, "[0].i[0] (right [1]): 10 vs 20 (0x0a000000 vs 0x14000000)");
}

TEST(SchemasEqualTest, SaysWhichField) {
  Schema a;
  a.fields = {MakeField("x", Int32()), MakeField("y", Utf8Type())};
  Schema b = a;
  std::string why;
  EXPECT_TRUE(SchemasEqual(a, b, &why));
  b.fields[1].type = BinaryType();
  EXPECT_FALSE(SchemasEqual(a, b, &why));
  EXPECT_EQ(why, "field 1: y: utf8 vs y: binary");
  b = a;
  b.fields[0].metadata = {{"k", "v"}};
  EXPECT_FALSE(SchemasEqual(a, b, &why));
  EXPECT_NE(why.find("metadata"), std::string::npos);
}

}  // namespace
}  // namespace zkarrow::arrow
