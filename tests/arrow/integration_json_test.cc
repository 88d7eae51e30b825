#include "arrow/testing/integration_json.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace zkarrow::arrow::testing {
namespace {

template <typename T>
T ValueAt(const ArrayData& data, int64_t i, int buffer = 1) {
  T value;
  std::memcpy(&value, data.buffers[static_cast<size_t>(buffer)]->data() + i * sizeof(T), sizeof(T));
  return value;
}

// One column of `type` (as JSON) holding `column` (as JSON).
Result<IntegrationJson> ParseColumn(const std::string& type, const std::string& children,
                                    const std::string& column) {
  return ParseIntegrationJson(R"({"schema": {"fields": [{"name": "c", "nullable": true, "type": )" +
                              type + R"(, "children": [)" + children +
                              R"(]}]}, "batches": [{"count": 2, "columns": [)" + column + "]}]}");
}

TEST(IntegrationJsonTest, Int64AsStringsAndValidity) {
  auto parsed = ParseColumn(R"({"name": "int", "isSigned": true, "bitWidth": 64})", "",
                            R"({"name": "c", "count": 2, "VALIDITY": [1, 0],
                                "DATA": ["-9223372036854775808", "7"]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ArrayData& c = *parsed->batches[0].columns[0];
  EXPECT_EQ(c.null_count, 1);
  EXPECT_TRUE(c.IsValid(0));
  EXPECT_FALSE(c.IsValid(1));
  EXPECT_EQ(ValueAt<int64_t>(c, 0), INT64_MIN);
}

TEST(IntegrationJsonTest, OutOfRangeIntegerSaysWhere) {
  auto parsed = ParseColumn(R"({"name": "int", "isSigned": false, "bitWidth": 8})", "",
                            R"({"name": "c", "count": 2, "VALIDITY": [1, 1], "DATA": [1, 256]})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "batch 0/c.DATA[1]: 256 does not fit uint8");
}

TEST(IntegrationJsonTest, DecimalTwosComplement) {
  auto parsed = ParseColumn(
      R"({"name": "decimal", "precision": 40, "scale": 2, "bitWidth": 256})", "",
      R"({"name": "c", "count": 2, "VALIDITY": [1, 1], "DATA": ["-1", "18446744073709551616"]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->schema->fields[0].type.bit_width, 256);
  const ArrayData& c = *parsed->batches[0].columns[0];
  ASSERT_EQ(c.buffers[1]->size(), 64);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(c.buffers[1]->data()[i], 0xff);
  for (int i = 32; i < 64; ++i) EXPECT_EQ(c.buffers[1]->data()[i], i == 40 ? 1 : 0) << i;
}

TEST(IntegrationJsonTest, HalfFloats) {
  auto parsed = ParseColumn(R"({"name": "floatingpoint", "precision": "HALF"})", "",
                            R"({"name": "c", "count": 2, "DATA": [1.5, -65504]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ArrayData& c = *parsed->batches[0].columns[0];
  EXPECT_EQ(ValueAt<uint16_t>(c, 0), 0x3e00);
  EXPECT_EQ(ValueAt<uint16_t>(c, 1), 0xfbff);
}

TEST(IntegrationJsonTest, Intervals) {
  auto parsed = ParseColumn(R"({"name": "interval", "unit": "MONTH_DAY_NANO"})", "",
                            R"({"name": "c", "count": 2, "VALIDITY": [1, 1], "DATA": [
          {"months": 1, "days": -2, "nanoseconds": "3000000000"},
          {"months": 0, "days": 0, "nanoseconds": 0}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ArrayData& c = *parsed->batches[0].columns[0];
  ASSERT_EQ(c.buffers[1]->size(), 32);
  EXPECT_EQ(ValueAt<int32_t>(c, 0), 1);
  EXPECT_EQ(ValueAt<int32_t>(c, 1), -2);
  EXPECT_EQ(ValueAt<int64_t>(c, 1), 3000000000);
}

TEST(IntegrationJsonTest, BinaryIsHex) {
  auto parsed = ParseColumn(R"({"name": "binary"})", "",
                            R"({"name": "c", "count": 2, "VALIDITY": [1, 1],
                                "OFFSET": [0, 2, 2], "DATA": ["00fF", ""]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ArrayData& c = *parsed->batches[0].columns[0];
  EXPECT_EQ(c.buffers[2]->size(), 2);
  EXPECT_EQ(c.buffers[2]->data()[1], 0xff);
}

TEST(IntegrationJsonTest, DenseUnion) {
  auto parsed = ParseColumn(
      R"({"name": "union", "mode": "DENSE", "typeIds": [5, 9]})",
      R"({"name": "i", "nullable": true, "type": {"name": "int", "isSigned": true, "bitWidth": 32},
          "children": []},
         {"name": "s", "nullable": true, "type": {"name": "utf8"}, "children": []})",
      R"({"name": "c", "count": 2, "TYPE_ID": [9, 5], "OFFSET": [0, 0], "children": [
          {"name": "i", "count": 1, "VALIDITY": [1], "DATA": [42]},
          {"name": "s", "count": 1, "VALIDITY": [1], "OFFSET": [0, 2], "DATA": ["hi"]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const DataType& type = parsed->schema->fields[0].type;
  EXPECT_EQ(type.union_mode, UnionMode::kDense);
  EXPECT_EQ(type.union_type_ids, (std::vector<int32_t>{5, 9}));
  const ArrayData& c = *parsed->batches[0].columns[0];
  ASSERT_EQ(c.buffers.size(), 2u);  // type ids, offsets: no validity
  EXPECT_EQ(ValueAt<int8_t>(c, 0, 0), 9);
  EXPECT_EQ(c.children.size(), 2u);
}

TEST(IntegrationJsonTest, DictionaryAndMetadata) {
  auto parsed = ParseIntegrationJson(R"({
    "schema": {
      "fields": [{"name": "d", "nullable": true, "type": {"name": "utf8"}, "children": [],
                  "dictionary": {"id": 3, "indexType": {"name": "int", "isSigned": true,
                                 "bitWidth": 16}, "isOrdered": true},
                  "metadata": [{"key": "k", "value": "v"}]}],
      "metadata": [{"key": "top", "value": "level"}]},
    "dictionaries": [{"id": 3, "data": {"count": 2, "columns": [
        {"name": "DICT3", "count": 2, "VALIDITY": [1, 1], "OFFSET": [0, 1, 3], "DATA": ["a", "bc"]}]}}],
    "batches": [{"count": 3, "columns": [
        {"name": "d", "count": 3, "VALIDITY": [1, 0, 1], "DATA": [1, 0, 0]}]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Field& field = parsed->schema->fields[0];
  ASSERT_TRUE(field.dictionary.has_value());
  EXPECT_EQ(field.dictionary->id, 3);
  EXPECT_TRUE(field.dictionary->ordered);
  EXPECT_EQ(field.dictionary->index_type.bit_width, 16);
  EXPECT_EQ(field.metadata, (KeyValueMetadata{{"k", "v"}}));
  EXPECT_EQ(parsed->schema->metadata, (KeyValueMetadata{{"top", "level"}}));
  const ArrayData& c = *parsed->batches[0].columns[0];
  ASSERT_NE(c.dictionary, nullptr);
  EXPECT_EQ(c.dictionary->length, 2);
  EXPECT_EQ(ValueAt<int16_t>(c, 0), 1);
}

// The layouts added after format 1.0, as Arrow's integration JSON spells them.
TEST(IntegrationJsonTest, ViewsInlineAndInDataBuffers) {
  auto parsed = ParseColumn(R"({"name": "utf8view"})", "",
                            R"({"name": "c", "count": 2, "VALIDITY": [1, 1],
                                "VIEWS": [{"SIZE": 2, "INLINED": "zk"},
                                          {"SIZE": 13, "PREFIX_HEX": "2F62726F",
                                           "BUFFER_INDEX": 0, "OFFSET": 1}],
                                "VARIADIC_DATA_BUFFERS": ["782F62726F6B6572732F696473"]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ArrayData& c = *parsed->batches[0].columns[0];
  ASSERT_EQ(c.buffers.size(), 3u);
  EXPECT_EQ(c.buffers[1]->size(), 32);
  EXPECT_EQ(ValueAt<int32_t>(c, 0), 2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.buffers[1]->data()) + 4, 2), "zk");
  EXPECT_EQ(ValueAt<int32_t>(c, 4), 13);
  EXPECT_EQ(ValueAt<int32_t>(c, 6), 0);  // buffer index
  EXPECT_EQ(ValueAt<int32_t>(c, 7), 1);  // offset
  EXPECT_EQ(c.buffers[2]->size(), 13);

  auto too_long = ParseColumn(R"({"name": "binaryview"})", "",
                              R"({"name": "c", "count": 2, "VIEWS": [{"SIZE": 2, "INLINED": "00"},
                                  {"SIZE": 1, "INLINED": "01"}], "VARIADIC_DATA_BUFFERS": []})");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("INLINED holds 1 bytes for SIZE 2"), std::string::npos)
      << too_long.status().ToString();
}

TEST(IntegrationJsonTest, ListViewsRunEndsAndNarrowDecimals) {
  auto lists = ParseColumn(R"({"name": "largelistview"})",
                           R"({"name": "item", "nullable": true, "type": {"name": "int",
                               "isSigned": true, "bitWidth": 8}, "children": []})",
                           R"({"name": "c", "count": 2, "VALIDITY": [1, 1], "OFFSET": ["1", "0"],
                               "SIZE": ["1", "2"], "children": [{"name": "item", "count": 2,
                               "VALIDITY": [1, 1], "DATA": [5, 6]}]})");
  ASSERT_TRUE(lists.ok()) << lists.status().ToString();
  const ArrayData& l = *lists->batches[0].columns[0];
  EXPECT_EQ(ValueAt<int64_t>(l, 0), 1);
  EXPECT_EQ(ValueAt<int64_t>(l, 1, 2), 2);

  auto runs = ParseColumn(
      R"({"name": "runendencoded"})",
      R"({"name": "run_ends", "nullable": false, "type": {"name": "int", "isSigned": true,
          "bitWidth": 16}, "children": []},
         {"name": "values", "nullable": true, "type": {"name": "utf8"}, "children": []})",
      R"({"name": "c", "count": 2, "children": [
          {"name": "run_ends", "count": 1, "DATA": [2]},
          {"name": "values", "count": 1, "VALIDITY": [1], "OFFSET": [0, 1], "DATA": ["x"]}]})");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  const ArrayData& r = *runs->batches[0].columns[0];
  EXPECT_TRUE(r.buffers.empty());
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_EQ(ValueAt<int16_t>(*r.children[0], 0), 2);

  auto decimals = ParseColumn(R"({"name": "decimal", "precision": 9, "scale": 2, "bitWidth": 32})",
                              "", R"({"name": "c", "count": 2, "DATA": ["-1", "999999999"]})");
  ASSERT_TRUE(decimals.ok()) << decimals.status().ToString();
  EXPECT_EQ(ValueAt<int32_t>(*decimals->batches[0].columns[0], 0), -1);
  EXPECT_EQ(ValueAt<int32_t>(*decimals->batches[0].columns[0], 1), 999999999);
}

TEST(IntegrationJsonTest, MalformedJson) {
  EXPECT_EQ(ParseIntegrationJson("{").status().code(), StatusCode::kInvalidData);
  EXPECT_EQ(ParseIntegrationJson("[]").status().code(), StatusCode::kInvalidData);
}

}  // namespace
}  // namespace zkarrow::arrow::testing
