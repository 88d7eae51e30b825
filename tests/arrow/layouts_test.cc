// The layouts added to the Arrow format after 1.0: Utf8View/BinaryView,
// ListView/LargeListView, RunEndEncoded, Decimal32/64. Arrays built here
// from the specification's description are written and read back through
// every encoding (file and stream, uncompressed, lz4, zstd), sliced, nested,
// dictionary-encoded, printed, and converted to their 1.0 equivalents
// (convert --compat 1.0) and from utf8 to views (--string-view).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/builder.h"
#include "arrow/ipc/sliced_writer.h"
#include "arrow/layout_convert.h"
#include "arrow/print/value_format.h"
#include "ipc_test_util.h"

namespace zkarrow::arrow::ipc_test {
namespace {

Field F(std::string name, DataType type, bool nullable = true) {
  return MakeField(std::move(name), std::move(type), nullable);
}

DataType WithChildren(TypeId id, std::vector<Field> children) {
  DataType type = Typed(id);
  type.children = std::move(children);
  return type;
}

DataType Decimal(int32_t width, int32_t precision, int32_t scale) {
  DataType type = Typed(TypeId::kDecimal);
  type.bit_width = width;
  type.decimal_precision = precision;
  type.decimal_scale = scale;
  return type;
}

// Short (inline), exactly 12 bytes (inline), long (in a data buffer), empty,
// non-ASCII, null.
const std::vector<std::optional<std::string>> kStrings = {"zk",
                                                          "twelve bytes",
                                                          "/brokers/ids/1001/partitions",
                                                          "",
                                                          std::nullopt,
                                                          "名前 ü-ñ-😀",
                                                          "a",
                                                          "/config/topics/orders-long-name"};

ArrayPtr Views(const std::vector<std::optional<std::string>>& values) {
  BinaryViewBuilder builder;
  for (const auto& value : values) {
    if (value) {
      EXPECT_TRUE(builder.Append(*value).ok());
    } else {
      builder.AppendNull();
    }
  }
  return builder.Finish();
}

// A list view over the child [10, 11, 12, 13, null]: out of order,
// overlapping, empty and null views.
template <typename Offset>
ArrayPtr ListViews(const std::vector<Offset>& offsets, const std::vector<Offset>& sizes,
                   const std::vector<bool>& valid) {
  return WithValidity({BufferOf(offsets), BufferOf(sizes)}, valid,
                      {Primitive<int16_t>({10, 11, 12, 13, std::nullopt})});
}

// Logical [7, 7, 7, null, null, 9, 8, 8] as runs of (7 x3) (null x2) (9) (8 x2).
template <typename RunEnd>
ArrayPtr Runs() {
  auto run_ends = Primitive<RunEnd>({3, 5, 6, 8});
  auto values = Primitive<int32_t>({7, std::nullopt, 9, 8});
  auto array = std::make_shared<ArrayData>();
  array->length = 8;
  array->children = {run_ends, values};
  return array;
}

DataType RunsType(DataType run_end) {
  return WithChildren(TypeId::kRunEndEncoded,
                      {F("run_ends", std::move(run_end), false), F("values", Int32())});
}

struct Table {
  Schema schema;
  RecordBatch batch;
};

// Every new layout, nested and dictionary-encoded ones included.
Table NewLayouts() {
  Table t;
  auto add = [&](Field field, ArrayPtr array) {
    t.schema.fields.push_back(std::move(field));
    t.batch.columns.push_back(std::move(array));
  };
  const int64_t n = 8;
  add(F("utf8_view", Typed(TypeId::kUtf8View)), Views(kStrings));
  add(F("binary_view", Typed(TypeId::kBinaryView)),
      Views({std::string("\0\xff", 2), std::string(40, '\x80'), std::nullopt, "", "x", "y", "z",
             std::string(13, 'q')}));
  // A struct holding a view column, and a list of views.
  add(F("pair", StructType({F("s", Typed(TypeId::kUtf8View))})),
      Structs(std::vector<bool>(n, true), {Views(kStrings)}));
  add(F("list_of_views", ListType(F("item", Typed(TypeId::kUtf8View)))),
      Lists({1, 2, 0, std::nullopt, 1, 1, 1, 2}, Views(kStrings)));
  Field dictionary = F("dict_view", Typed(TypeId::kUtf8View));
  dictionary.dictionary = DictionaryEncoding{7, Int8(), false};
  add(dictionary, WithDictionary(Primitive<int8_t>({0, 1, 2, std::nullopt, 2, 1, 0, 0}),
                                 Views({"short", "a value of many bytes", std::nullopt})));
  add(F("list_view", WithChildren(TypeId::kListView, {F("item", Int16())})),
      ListViews<int32_t>({3, 0, 1, 4, 2, 0, 0, 0}, {2, 3, 3, 0, 0, 5, 0, 0},
                         {true, true, true, true, false, true, false, false}));
  add(F("runs16", RunsType(Int16())), Runs<int16_t>());
  add(F("runs32", RunsType(Int32())), Runs<int32_t>());
  add(F("runs64", RunsType(Int64())), Runs<int64_t>());
  add(F("dec32", Decimal(32, 9, 2)),
      Primitive<int32_t>({123456789, -1, 0, std::nullopt, 5, -999999999, 1, 2}));
  add(F("dec64", Decimal(64, 18, 4)),
      Primitive<int64_t>({int64_t{999999999999999999}, -12345, 0, 1, std::nullopt, 7, 8, 9}));
  add(F("large_list_view", WithChildren(TypeId::kLargeListView, {F("item", Int16())})),
      ListViews<int64_t>({4, 4, 0, 1, 0, 3, 2, 0}, {1, 0, 5, 2, 1, 2, 3, 4},
                         std::vector<bool>(8, true)));
  t.batch.length = n;
  return t;
}

std::vector<std::string> JsonRows(const Schema& schema, const RecordBatch& batch) {
  std::vector<std::string> rows;
  for (int64_t i = 0; i < batch.length; ++i) {
    std::string row;
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      row += schema.fields[c].name + "=";
      print::AppendJson(schema.fields[c], *batch.columns[c], i, &row);
      row += " ";
    }
    rows.push_back(row);
  }
  return rows;
}

TEST(NewLayouts, RoundTripThroughEveryEncoding) {
  Table t = NewLayouts();
  for (bool file : {false, true}) {
    for (auto codec :
         {ipc::Compression::kNone, ipc::Compression::kLz4Frame, ipc::Compression::kZstd}) {
      SCOPED_TRACE(std::string(file ? "file" : "stream") + " codec " +
                   std::to_string(static_cast<int>(codec)));
      auto bytes = WriteIpc(t.schema, {t.batch, t.batch}, file, {.compression = codec});
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      auto read = ReadAnyBytes(*bytes, file);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      std::string why;
      ASSERT_TRUE(SchemasEqual(t.schema, *read->schema, &why)) << why;
      ASSERT_EQ(read->batches.size(), 2u);
      for (const RecordBatch& batch : read->batches) {
        RecordBatch expected = t.batch;
        expected.schema = read->schema;
        EXPECT_TRUE(BatchesEqual(expected, batch, &why)) << why;
      }
    }
  }
}

TEST(NewLayouts, PrintedValues) {
  Table t = NewLayouts();
  std::vector<std::string> rows = JsonRows(t.schema, t.batch);
  EXPECT_EQ(rows[0],
            "utf8_view=\"zk\" binary_view=\"AP8=\" pair={\"s\":\"zk\"} list_of_views=[\"zk\"] "
            "dict_view=\"short\" list_view=[13,null] runs16=7 runs32=7 runs64=7 "
            "dec32=\"1234567.89\" dec64=\"99999999999999.9999\" large_list_view=[null] ");
  EXPECT_EQ(rows[3],
            "utf8_view=\"\" binary_view=\"\" pair={\"s\":\"\"} list_of_views=null dict_view=null "
            "list_view=[] runs16=null runs32=null runs64=null dec32=null dec64=\"0.0001\" "
            "large_list_view=[11,12] ");
  EXPECT_EQ(rows[5],
            "utf8_view=\"名前 ü-ñ-😀\" binary_view=\"eQ==\" pair={\"s\":\"名前 ü-ñ-😀\"} "
            "list_of_views=[null] dict_view=\"a value of many bytes\" "
            "list_view=[10,11,12,13,null] runs16=9 runs32=9 runs64=9 dec32=\"-9999999.99\" "
            "dec64=\"0.0007\" large_list_view=[13,null] ");
  std::string text;
  print::AppendText(t.schema.fields[0], *t.batch.columns[0], 2, &text);
  EXPECT_EQ(text, "/brokers/ids/1001/partitions");
}

// Slices of every layout write as the rows they hold: views are compacted,
// run ends rebased, list views keep their whole child.
TEST(NewLayouts, SlicesWriteTheirOwnRows) {
  Table t = NewLayouts();
  t.batch.schema = std::make_shared<const Schema>(t.schema);
  for (int64_t start = 0; start < t.batch.length; ++start) {
    for (int64_t rows = 0; start + rows <= t.batch.length; ++rows) {
      RecordBatch slice = ipc::SliceBatch(t.batch, start, rows);
      auto bytes = WriteIpc(t.schema, {slice}, false);
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      auto read = ReadStreamBytes((*bytes)->bytes());
      ASSERT_TRUE(read.ok()) << "rows [" << start << ", +" << rows
                             << "): " << read.status().ToString();
      std::vector<std::string> expected = JsonRows(t.schema, t.batch);
      std::vector<std::string> actual = JsonRows(t.schema, read->batches.at(0));
      ASSERT_EQ(actual.size(), static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) {
        EXPECT_EQ(actual[static_cast<size_t>(i)], expected[static_cast<size_t>(start + i)])
            << "rows [" << start << ", +" << rows << ")";
      }
    }
  }
}

TEST(NewLayouts, SlicedViewsCarryOnlyTheirOwnData) {
  std::vector<std::optional<std::string>> values;
  for (int i = 0; i < 1000; ++i)
    values.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  Schema schema{{F("s", Typed(TypeId::kUtf8View))}, {}};
  RecordBatch batch{std::make_shared<const Schema>(schema), 1000, {Views(values)}};
  auto whole = WriteIpc(schema, {batch}, false);
  auto tenth = WriteIpc(schema, {ipc::SliceBatch(batch, 500, 100)}, false);
  ASSERT_TRUE(whole.ok() && tenth.ok());
  EXPECT_GT((*whole)->size(), 100000);
  EXPECT_LT((*tenth)->size(), 13000) << "a slice of 100 rows holds more than its 10 KB of values";
}

// What --compat 1.0 writes: the same values in 1.0 layouts only.
TEST(NewLayouts, Format1ConversionKeepsEveryValue) {
  Table t = NewLayouts();
  auto source = std::make_shared<const Schema>(t.schema);
  t.batch.schema = source;
  Format1Converter converter(source);
  const Schema& target = *converter.schema();
  for (const Field& field : target.fields) {
    EXPECT_FALSE(IsNewerThanFormat1(field.type)) << FieldToString(field);
  }
  EXPECT_EQ(FieldToString(target.fields[0]), "utf8_view: utf8");
  EXPECT_EQ(FieldToString(target.fields[4]),
            "dict_view: dictionary<values=utf8, indices=int8, id=7>");
  EXPECT_EQ(FieldToString(target.fields[5]), "list_view: list<item: int16>");
  EXPECT_EQ(FieldToString(target.fields[6]), "runs16: int32");
  EXPECT_EQ(FieldToString(target.fields[9]), "dec32: decimal128(9, 2)");
  auto first = converter.Convert(t.batch);
  auto second = converter.Convert(t.batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->columns[4]->dictionary, second->columns[4]->dictionary)
      << "a shared dictionary must stay one dictionary";
  EXPECT_EQ(JsonRows(t.schema, t.batch), JsonRows(target, *first));
  // A file (which cannot replace dictionaries) of both batches reads back.
  auto bytes = WriteIpc(target, {*first, *second}, true);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto read = ReadFileBytes(*bytes);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(JsonRows(t.schema, t.batch), JsonRows(*read->schema, read->batches.at(1)));
}

TEST(NewLayouts, StringViewsOfUtf8Columns) {
  Schema schema{{F("path", Utf8Type()), F("n", Int32()), F("other", Utf8Type())}, {}};
  auto source = std::make_shared<const Schema>(schema);
  RecordBatch batch{
      source,
      8,
      {Strings(kStrings), Primitive<int32_t>({1, 2, 3, 4, 5, 6, 7, 8}), Strings(kStrings)}};
  auto target = std::make_shared<const Schema>(WithStringViews(schema, {"path"}));
  EXPECT_EQ(target->fields[0].type.id, TypeId::kUtf8View);
  EXPECT_EQ(target->fields[2].type.id, TypeId::kUtf8);
  auto views = ToStringViews(target, batch);
  ASSERT_TRUE(views.ok());
  EXPECT_EQ(JsonRows(schema, batch), JsonRows(*target, *views));
  // Long values go to one data buffer; short ones stay in their views.
  EXPECT_EQ(views->columns[0]->buffers.size(), 3u);
  EXPECT_EQ(views->columns[0]->buffers[2]->size(), 28 + 17 + 31);
}

TEST(NewLayouts, DeltaDictionariesOfViewsAreRefusedClearly) {
  Field field = F("d", Typed(TypeId::kUtf8View));
  field.dictionary = DictionaryEncoding{1, Int8(), false};
  Schema schema{{field}, {}};
  auto dictionary = Views({"a", "b"});
  RecordBatch batch{nullptr, 1, {WithDictionary(Primitive<int8_t>({1}), dictionary)}};
  BufferOutputStream sink;
  auto writer = ipc::IpcWriter::OpenStream(sink, schema);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->WriteBatch(batch).ok());
  ASSERT_TRUE((*writer)->WriteDictionaryDelta(1, *Views({"c"}), Views({"a", "b", "c"})).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  auto bytes = sink.Finish();
  auto read = ReadStreamBytes(bytes->bytes());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotImplemented) << read.status().ToString();
  EXPECT_NE(read.status().message().find("utf8_view"), std::string::npos);
}

}  // namespace
}  // namespace zkarrow::arrow::ipc_test
