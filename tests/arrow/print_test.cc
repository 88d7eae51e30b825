#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "arrow/builder.h"
#include "arrow/dictionary_builder.h"
#include "arrow/print/batch_printer.h"
#include "arrow/print/temporal.h"
#include "arrow/print/value_format.h"
#include "arrow/record_batch_builder.h"

namespace zkarrow::arrow::print {
namespace {

std::string Json(const Field& field, const ArrayData& data, int64_t i) {
  std::string out;
  AppendJson(field, data, i, &out);
  return out;
}

std::string Text(const Field& field, const ArrayData& data, int64_t i) {
  std::string out;
  AppendText(field, data, i, &out);
  return out;
}

std::shared_ptr<const ArrayData> FixedBytes(const void* bytes, size_t size, int64_t length) {
  auto data = std::make_shared<ArrayData>();
  data->length = length;
  data->buffers = {nullptr, Buffer::CopyOf({static_cast<const uint8_t*>(bytes), size})};
  return data;
}

TEST(TemporalTest, DatesAndTimestamps) {
  std::string out;
  AppendDate(0, &out);
  EXPECT_EQ(out, "1970-01-01");
  out.clear();
  AppendDate(-719162, &out);  // the first day of year 1
  EXPECT_EQ(out, "0001-01-01");
  out.clear();
  AppendTimestamp(-1, TimeUnit::kMillisecond, true, &out);
  EXPECT_EQ(out, "1969-12-31T23:59:59.999Z");
  out.clear();
  AppendTimestamp(1700000000123456789, TimeUnit::kNanosecond, false, &out);
  EXPECT_EQ(out, "2023-11-14T22:13:20.123456789");
  out.clear();
  AppendTimeOfDay(45296, TimeUnit::kSecond, &out);
  EXPECT_EQ(out, "12:34:56");
}

TEST(ValueFormatTest, IntegersAreExactInJson) {
  const int64_t values[] = {INT64_MIN, INT64_MAX};
  auto data = FixedBytes(values, sizeof values, 2);
  EXPECT_EQ(Json(MakeField("x", Int64()), *data, 0), "-9223372036854775808");
  const uint64_t big[] = {UINT64_MAX};
  EXPECT_EQ(Json(MakeField("x", UInt64()), *FixedBytes(big, 8, 1), 0), "18446744073709551615");
}

TEST(ValueFormatTest, FloatsRoundTripAndNonFiniteAreStringsInJson) {
  const double values[] = {0.1, NAN, -INFINITY};
  auto data = FixedBytes(values, sizeof values, 3);
  const Field field = MakeField("x", Float64());
  EXPECT_EQ(Json(field, *data, 0), "0.1");
  EXPECT_EQ(Json(field, *data, 1), "\"NaN\"");
  EXPECT_EQ(Json(field, *data, 2), "\"-Infinity\"");
  const uint16_t half[] = {0x3e00};
  EXPECT_EQ(Json(MakeField("h", FloatType(FloatPrecision::kHalf)), *FixedBytes(half, 2, 1), 0),
            "1.5");
}

TEST(ValueFormatTest, Decimals) {
  DataType type;
  type.id = TypeId::kDecimal;
  type.bit_width = 128;
  type.decimal_scale = 2;
  const int64_t values[] = {-1230, -1, 5, 0};  // two little-endian 128-bit values: -1230, 5
  auto data = FixedBytes(values, sizeof values, 2);
  EXPECT_EQ(Text(MakeField("d", type), *data, 0), "-12.30");
  EXPECT_EQ(Json(MakeField("d", type), *data, 1), "\"0.05\"");
}

TEST(ValueFormatTest, BinaryIsEscapedTextAndBase64Json) {
  BinaryBuilder builder;
  ASSERT_TRUE(builder.Append(std::string("a\\\x01\xff", 4)).ok());
  ASSERT_TRUE(builder.Append("hello").ok());
  auto data = builder.Finish();
  const Field field = MakeField("b", BinaryType());
  EXPECT_EQ(Text(field, *data, 0), "a\\x5c\\x01\\xff");
  EXPECT_EQ(Json(field, *data, 1), "\"aGVsbG8=\"");
}

TEST(ValueFormatTest, StringsAreEscapedInJson) {
  StringBuilder builder;
  ASSERT_TRUE(builder.Append("q\"\n\x01 €\xff").ok());
  auto data = builder.Finish();
  EXPECT_EQ(Json(MakeField("s", Utf8Type()), *data, 0), "\"q\\\"\\n\\u0001 €\xef\xbf\xbd\"");
}

TEST(ValueFormatTest, NestedAndDictionary) {
  Schema schema;
  schema.fields.push_back(MakeField(
      "acl", ListType(MakeField(
                 "item", StructType({MakeField("perms", Int32()), MakeField("id", Utf8Type())})))));
  Field kind = MakeField("kind", Utf8Type());
  kind.dictionary = DictionaryEncoding{0, Int8(), false};
  schema.fields.push_back(kind);
  auto rows = RecordBatchBuilder::Make(std::make_shared<const Schema>(schema));
  ASSERT_TRUE(rows.ok());
  auto& acl = rows->column_as<ListBuilder>(0);
  auto& entry = acl.values_as<StructBuilder>();
  ASSERT_TRUE(acl.Append().ok());
  entry.Append();
  entry.child_as<Int32Builder>(0).Append(31);
  entry.child_as<StringBuilder>(1).AppendNull();
  ASSERT_TRUE(rows->column_as<StringDictionaryBuilder>(1).Append("EPHEMERAL").ok());
  auto batch = rows->Finish();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(Json(schema.fields[0], *batch->columns[0], 0), "[{\"perms\":31,\"id\":null}]");
  EXPECT_EQ(Text(schema.fields[0], *batch->columns[0], 0), "[{\"perms\":31,\"id\":null}]");
  EXPECT_EQ(Json(schema.fields[1], *batch->columns[1], 0), "\"EPHEMERAL\"");
  EXPECT_EQ(Text(schema.fields[1], *batch->columns[1], 0), "EPHEMERAL");
}

// A small batch: path utf8, version int32 with a null, ctime timestamp[ms, UTC].
RecordBatch SampleBatch() {
  Schema schema;
  schema.fields = {MakeField("path", Utf8Type()), MakeField("version", Int32()),
                   MakeField("ctime", TimestampType(TimeUnit::kMillisecond, "UTC"))};
  auto rows = RecordBatchBuilder::Make(std::make_shared<const Schema>(schema));
  EXPECT_TRUE(rows->column_as<StringBuilder>(0).Append("/a,b").ok());
  EXPECT_TRUE(rows->column_as<StringBuilder>(0).Append("").ok());
  EXPECT_TRUE(rows->column_as<StringBuilder>(0).Append("line\nbreak \"q\"").ok());
  rows->column_as<Int32Builder>(1).Append(7);
  rows->column_as<Int32Builder>(1).AppendNull();
  rows->column_as<Int32Builder>(1).Append(12345);
  for (int i = 0; i < 3; ++i) rows->column_as<TimestampBuilder>(2).Append(i * 1000);
  return std::move(rows->Finish()).value();
}

std::string PrintSample(PrintOptions options, int64_t rows = 3) {
  RecordBatch batch = SampleBatch();
  std::ostringstream out;
  auto printer = BatchPrinter::Make(*batch.schema, options, out);
  printer->Print(batch, rows);
  printer->Finish();
  return out.str();
}

TEST(BatchPrinterTest, Table) {
  PrintOptions options;
  options.max_cell_width = 12;
  EXPECT_EQ(PrintSample(options),
            "path         | version | ctime\n"
            "-------------+---------+-------------\n"
            "/a,b         |       7 | 1970-01-01T…\n"
            "             |    null | 1970-01-01T…\n"
            "line\\nbreak… |   12345 | 1970-01-01T…\n"
            "(3 rows)\n");
}

TEST(BatchPrinterTest, Csv) {
  PrintOptions options;
  options.format = OutputFormat::kCsv;
  EXPECT_EQ(PrintSample(options),
            "path,version,ctime\n"
            "\"/a,b\",7,1970-01-01T00:00:00.000Z\n"
            "\"\",,1970-01-01T00:00:01.000Z\n"
            "\"line\nbreak \"\"q\"\"\",12345,1970-01-01T00:00:02.000Z\n");
}

TEST(BatchPrinterTest, JsonLinesWithRowLimit) {
  PrintOptions options;
  options.format = OutputFormat::kJson;
  EXPECT_EQ(PrintSample(options, 2),
            "{\"path\":\"/a,b\",\"version\":7,\"ctime\":\"1970-01-01T00:00:00.000Z\"}\n"
            "{\"path\":\"\",\"version\":null,\"ctime\":\"1970-01-01T00:00:01.000Z\"}\n");
}

}  // namespace
}  // namespace zkarrow::arrow::print
