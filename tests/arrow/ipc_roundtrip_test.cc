// Round trips of every Arrow 1.0 type through the IPC stream and file
// formats, uncompressed and with LZ4_FRAME and ZSTD body compression.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <tuple>

#include "ipc_test_util.h"

namespace zkarrow::arrow::ipc_test {
namespace {

using ipc::Compression;

Field F(std::string name, DataType type, bool nullable = true) {
  return MakeField(std::move(name), std::move(type), nullable);
}

DataType Param(TypeId id, auto&& set) {
  DataType type = Typed(id);
  set(type);
  return type;
}

Field DictField(std::string name, DataType values, DataType index, int64_t id) {
  Field field = F(std::move(name), std::move(values));
  field.dictionary = DictionaryEncoding{id, std::move(index), false};
  return field;
}

// One column of every type, four rows each.
struct AllTypes {
  Schema schema;
  RecordBatch batch;
};

AllTypes MakeAllTypes() {
  AllTypes t;
  std::vector<Field>& f = t.schema.fields;
  std::vector<ArrayPtr> c;
  auto add = [&](Field field, ArrayPtr array) {
    f.push_back(std::move(field));
    c.push_back(std::move(array));
  };
  add(F("null", NullType()), Nulls(4));
  add(F("bool", BoolType()), Bools({true, std::nullopt, false, true}));
  add(F("i8", Int8()), Primitive<int8_t>({1, -2, std::nullopt, 127}));
  add(F("i16", Int16()), Primitive<int16_t>({1, -2, 300, std::nullopt}));
  add(F("i32", Int32(), false), Primitive<int32_t>({1, -2, 70000, 4}));
  add(F("i64", Int64()), Primitive<int64_t>({std::nullopt, -2, int64_t{1} << 40, 4}));
  add(F("u8", UInt8()), Primitive<uint8_t>({1, 255, std::nullopt, 4}));
  add(F("u16", UInt16()), Primitive<uint16_t>({1, 65535, 3, 4}));
  add(F("u32", UInt32()), Primitive<uint32_t>({1, 2, 3, std::nullopt}));
  add(F("u64", UInt64()), Primitive<uint64_t>({~uint64_t{0}, 2, 3, 4}));
  add(F("half", FloatType(FloatPrecision::kHalf)),
      Primitive<uint16_t>({0x3c00, 0, std::nullopt, 1}));
  add(F("float", FloatType(FloatPrecision::kSingle)),
      Primitive<float>({1.5f, std::nullopt, -0.0f, 3}));
  add(F("double", Float64()), Primitive<double>({1.5, 2.25, std::nullopt, 1e300}));
  add(F("dec128", Param(TypeId::kDecimal,
                        [](DataType& d) {
                          d.bit_width = 128;
                          d.decimal_precision = 10;
                          d.decimal_scale = 2;
                        })),
      FixedBytes(16, {std::string(16, '\x01'), std::nullopt, std::string(16, '\0'),
                      std::string(16, '\x7f')}));
  add(F("dec256", Param(TypeId::kDecimal,
                        [](DataType& d) {
                          d.bit_width = 256;
                          d.decimal_precision = 60;
                          d.decimal_scale = 5;
                        })),
      FixedBytes(32, {std::string(32, '\x02'), std::string(32, '\x03'), std::nullopt,
                      std::string(32, '\0')}));
  add(F("date32", Param(TypeId::kDate, [](DataType& d) { d.date_unit = DateUnit::kDay; })),
      Primitive<int32_t>({1, 2, std::nullopt, 18000}));
  add(F("date64", Param(TypeId::kDate, [](DataType& d) { d.date_unit = DateUnit::kMillisecond; })),
      Primitive<int64_t>({86400000, 0, std::nullopt, 1}));
  add(F("time32s", Param(TypeId::kTime,
                         [](DataType& d) {
                           d.bit_width = 32;
                           d.time_unit = TimeUnit::kSecond;
                         })),
      Primitive<int32_t>({1, 2, 3, std::nullopt}));
  add(F("time32ms", Param(TypeId::kTime,
                          [](DataType& d) {
                            d.bit_width = 32;
                            d.time_unit = TimeUnit::kMillisecond;
                          })),
      Primitive<int32_t>({1, 2, 3, 4}));
  add(F("time64us", Param(TypeId::kTime,
                          [](DataType& d) {
                            d.bit_width = 64;
                            d.time_unit = TimeUnit::kMicrosecond;
                          })),
      Primitive<int64_t>({1, std::nullopt, 3, 4}));
  add(F("time64ns", Param(TypeId::kTime,
                          [](DataType& d) {
                            d.bit_width = 64;
                            d.time_unit = TimeUnit::kNanosecond;
                          })),
      Primitive<int64_t>({1, 2, 3, 4}));
  add(F("ts_utc", TimestampType(TimeUnit::kMillisecond, "UTC")),
      Primitive<int64_t>({1, 2, std::nullopt, 4}));
  add(F("ts_naive", TimestampType(TimeUnit::kNanosecond, "")), Primitive<int64_t>({1, 2, 3, 4}));
  add(F("duration", Param(TypeId::kDuration, [](DataType& d) { d.time_unit = TimeUnit::kSecond; })),
      Primitive<int64_t>({-1, 2, 3, std::nullopt}));
  add(F("interval_ym",
        Param(TypeId::kInterval, [](DataType& d) { d.interval_unit = IntervalUnit::kYearMonth; })),
      Primitive<int32_t>({12, std::nullopt, -1, 0}));
  add(F("interval_dt",
        Param(TypeId::kInterval, [](DataType& d) { d.interval_unit = IntervalUnit::kDayTime; })),
      Primitive<int64_t>({12, 13, std::nullopt, 0}));
  add(F("interval_mdn", Param(TypeId::kInterval,
                              [](DataType& d) { d.interval_unit = IntervalUnit::kMonthDayNano; })),
      FixedBytes(16, {std::string(16, '\x05'), std::nullopt, std::string(16, '\x06'),
                      std::string(16, '\0')}));
  add(F("fsb3", Param(TypeId::kFixedSizeBinary, [](DataType& d) { d.byte_width = 3; })),
      FixedBytes(3, {"abc", std::nullopt, "xyz", std::string("\0\1\2", 3)}));
  add(F("binary", BinaryType()), Strings({"a", std::string("\0\xff", 2), std::nullopt, ""}));
  add(F("utf8", Utf8Type()), Strings({"héllo", "", std::nullopt, "world"}));
  add(F("large_binary", Typed(TypeId::kLargeBinary)),
      Strings<int64_t>({"x", std::nullopt, "yz", ""}));
  add(F("large_utf8", Typed(TypeId::kLargeUtf8)), Strings<int64_t>({"", "b", "cc", std::nullopt}));
  add(F("list", ListType(F("item", Int32()))),
      Lists({2, std::nullopt, 0, 3}, Primitive<int32_t>({1, 2, 3, std::nullopt, 5})));
  add(F("large_list",
        Param(TypeId::kLargeList, [](DataType& d) { d.children = {F("item", Utf8Type())}; })),
      Lists<int64_t>({1, 1, std::nullopt, 1}, Strings({"p", "q", std::nullopt})));
  add(F("fixed_list", Param(TypeId::kFixedSizeList,
                            [](DataType& d) {
                              d.list_size = 2;
                              d.children = {F("item", Int16())};
                            })),
      WithValidity({}, {true, false, true, true},
                   {Primitive<int16_t>({1, 2, 0, 0, 5, std::nullopt, 7, 8})}));
  add(F("struct", StructType({F("a", Int32()), F("b", Utf8Type())})),
      Structs({true, true, false, true}, {Primitive<int32_t>({1, std::nullopt, 3, 4}),
                                          Strings({"w", "x", "y", std::nullopt})}));
  add(F("map", Param(TypeId::kMap,
                     [](DataType& d) {
                       d.children = {F(
                           "entries",
                           StructType({F("key", Utf8Type(), false), F("value", Int64())}), false)};
                     })),
      Lists({1, 0, std::nullopt, 2},
            Structs({true, true, true},
                    {Strings({"k1", "k2", "k3"}), Primitive<int64_t>({10, std::nullopt, 30})})));
  add(F("sparse_union", Param(TypeId::kUnion,
                              [](DataType& d) {
                                d.union_mode = UnionMode::kSparse;
                                d.union_type_ids = {5, 7};
                                d.children = {F("i", Int32()), F("s", Utf8Type())};
                              })),
      SparseUnion({5, 7, 5, 7}, {Primitive<int32_t>({1, 0, std::nullopt, 0}),
                                 Strings({"", "two", "", std::nullopt})}));
  add(F("dense_union", Param(TypeId::kUnion,
                             [](DataType& d) {
                               d.union_mode = UnionMode::kDense;
                               d.children = {F("i", Int32()), F("s", Utf8Type())};
                             })),
      DenseUnion({0, 1, 1, 0}, {0, 0, 1, 1},
                 {Primitive<int32_t>({1, 4}), Strings({"b", std::nullopt})}));
  auto words = Strings({"apple", "banana", "cherry"});
  add(DictField("dict_i8", Utf8Type(), Int8(), 0),
      WithDictionary(Primitive<int8_t>({0, 2, std::nullopt, 1}), words));
  add(DictField("dict_u32", Int64(), UInt32(), 1),
      WithDictionary(Primitive<uint32_t>({1, 1, 0, std::nullopt}), Primitive<int64_t>({100, 200})));
  add(F("list_of_dict", ListType(DictField("item", Utf8Type(), Int16(), 2))),
      Lists({1, 2, 0, std::nullopt}, WithDictionary(Primitive<int16_t>({2, 0, 1}), words)));
  Field extension =
      F("uuid_ext", Param(TypeId::kFixedSizeBinary, [](DataType& d) { d.byte_width = 3; }));
  extension.metadata = {{"ARROW:extension:name", "zkarrow.test"},
                        {"ARROW:extension:metadata", "v1"}};
  add(extension, FixedBytes(3, {"aaa", "bbb", std::nullopt, "ddd"}));

  t.schema.metadata = {{"origin", "zkarrow test"}, {"empty", ""}};
  t.batch.length = 4;
  t.batch.columns = std::move(c);
  return t;
}

void ExpectBatchEq(const Schema& schema, const RecordBatch& expected, const RecordBatch& actual) {
  ASSERT_EQ(expected.length, actual.length);
  ASSERT_EQ(expected.columns.size(), actual.columns.size());
  for (size_t i = 0; i < expected.columns.size(); ++i) {
    std::string why;
    EXPECT_TRUE(ArraysEqual(schema.fields[i], *expected.columns[i], *actual.columns[i], &why))
        << schema.fields[i].name << ": " << why;
  }
}

RecordBatch SliceBatch(const RecordBatch& batch, int64_t offset, int64_t length) {
  RecordBatch sliced{batch.schema, length, {}};
  for (const auto& column : batch.columns) {
    int64_t nulls = 0;
    for (int64_t i = offset; i < offset + length; ++i) {
      // Unions and null arrays have no validity bitmap to count.
      if (column->buffers.empty()) {
        nulls += column->null_count > 0;
      } else if (column->buffers.size() >= 2 || column->children.size() > 0) {
        nulls += !column->IsValid(i);
      }
    }
    sliced.columns.push_back(
        Sliced(column, offset, length,
               column->buffers.empty() ? (column->null_count > 0 ? length : 0) : nulls));
  }
  return sliced;
}

class RoundTripTest : public ::testing::TestWithParam<std::tuple<bool, Compression>> {
 protected:
  bool file() const { return std::get<0>(GetParam()); }
  ipc::IpcWriteOptions options() const {
    ipc::IpcWriteOptions o;
    o.compression = std::get<1>(GetParam());
    return o;
  }
};

TEST_P(RoundTripTest, EveryTypeSurvives) {
  AllTypes t = MakeAllTypes();
  auto bytes = WriteIpc(t.schema, {t.batch, t.batch}, file(), options());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto read = ReadAnyBytes(*bytes, file());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read->schema, t.schema);
  ASSERT_EQ(read->batches.size(), 2u);
  for (const auto& batch : read->batches) ExpectBatchEq(t.schema, t.batch, batch);
}

TEST_P(RoundTripTest, SlicedArraysAreWrittenFromTheirOffset) {
  AllTypes t = MakeAllTypes();
  for (auto [offset, length] : {std::pair{1, 2}, {1, 3}, {3, 1}, {0, 0}, {4, 0}}) {
    RecordBatch sliced = SliceBatch(t.batch, offset, length);
    auto bytes = WriteIpc(t.schema, {sliced}, file(), options());
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    auto read = ReadAnyBytes(*bytes, file());
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->batches.size(), 1u);
    for (const auto& column : read->batches[0].columns) EXPECT_EQ(column->offset, 0);
    ExpectBatchEq(t.schema, sliced, read->batches[0]);
  }
}

TEST_P(RoundTripTest, ZeroColumnsAndNoBatches) {
  Schema empty;
  RecordBatch rows{nullptr, 5, {}};
  auto bytes = WriteIpc(empty, {rows}, file(), options());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto read = ReadAnyBytes(*bytes, file());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->batches.size(), 1u);
  EXPECT_EQ(read->batches[0].length, 5);

  AllTypes t = MakeAllTypes();
  auto no_batches = WriteIpc(t.schema, {}, file(), options());
  ASSERT_TRUE(no_batches.ok());
  auto read_none = ReadAnyBytes(*no_batches, file());
  ASSERT_TRUE(read_none.ok()) << read_none.status().ToString();
  EXPECT_EQ(*read_none->schema, t.schema);
  EXPECT_TRUE(read_none->batches.empty());
}

TEST_P(RoundTripTest, LargeCompressibleColumn) {
  Schema schema{{F("zeros", Int64())}, {}};
  std::vector<std::optional<int64_t>> values(100000, int64_t{7});
  values[5] = std::nullopt;
  RecordBatch batch{nullptr, 100000, {Primitive<int64_t>(values)}};
  auto bytes = WriteIpc(schema, {batch}, file(), options());
  ASSERT_TRUE(bytes.ok());
  if (options().compression != Compression::kNone) {
    EXPECT_LT((*bytes)->size(), 100000);
  }
  auto read = ReadAnyBytes(*bytes, file());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectBatchEq(schema, batch, read->batches[0]);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, RoundTripTest,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(Compression::kNone,
                                                              Compression::kLz4Frame,
                                                              Compression::kZstd)),
                         [](const auto& test_info) {
                           return std::string(std::get<0>(test_info.param) ? "File" : "Stream") +
                                  "_" + ipc::CompressionName(std::get<1>(test_info.param));
                         });

TEST(IpcMetadata, CustomMetadataOnSchemaFieldsAndMessages) {
  AllTypes t = MakeAllTypes();
  KeyValueMetadata message_metadata = {{"batch", "first"}};
  for (bool file : {false, true}) {
    auto bytes = WriteIpc(t.schema, {t.batch}, file, {}, message_metadata);
    ASSERT_TRUE(bytes.ok());
    ipc::BatchInfo info;
    if (file) {
      auto reader = ipc::FileReader::Open(*bytes);
      ASSERT_TRUE(reader.ok());
      EXPECT_EQ((*reader)->schema().metadata, t.schema.metadata);
      EXPECT_EQ((*reader)->schema().fields.back().metadata, t.schema.fields.back().metadata);
      EXPECT_EQ((*reader)->metadata_version(), ipc::MetadataVersion::kV5);
      auto described = (*reader)->ReadBatchInfo(0);
      ASSERT_TRUE(described.ok());
      info = *described;
    } else {
      auto reader = ipc::StreamReader::Open(std::make_unique<BufferInputStream>(*bytes));
      ASSERT_TRUE(reader.ok());
      ASSERT_TRUE((*reader)->Next().ok());
      info = (*reader)->last_batch_info();
      EXPECT_EQ((*reader)->num_dictionary_batches_read(), 3);
    }
    EXPECT_EQ(info.custom_metadata, message_metadata);
    EXPECT_EQ(info.num_rows, 4);
    EXPECT_EQ(info.compression, Compression::kNone);
    EXPECT_EQ(info.version, ipc::MetadataVersion::kV5);
    EXPECT_EQ(info.body_length % 64, 0);
    EXPECT_EQ(info.uncompressed_body_length <= info.body_length, true);
  }
}

TEST(IpcCompression, BatchInfoReportsCodecAndSizes) {
  Schema schema{{F("v", Int64())}, {}};
  std::vector<std::optional<int64_t>> values(10000, int64_t{1});
  RecordBatch batch{nullptr, 10000, {Primitive<int64_t>(values)}};
  ipc::IpcWriteOptions options;
  options.compression = Compression::kZstd;
  auto bytes = WriteIpc(schema, {batch}, true, options);
  ASSERT_TRUE(bytes.ok());
  auto reader = ipc::FileReader::Open(*bytes);
  ASSERT_TRUE(reader.ok());
  auto info = (*reader)->ReadBatchInfo(0);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->compression, Compression::kZstd);
  EXPECT_EQ(info->uncompressed_body_length, 80000);
  EXPECT_LT(info->body_length, 80000);
}

// Tiny buffers do not shrink when compressed: they are stored raw (length -1).
TEST(IpcCompression, IncompressibleBuffersAreStoredRaw) {
  Schema schema{{F("v", Int8())}, {}};
  RecordBatch batch{nullptr, 1, {Primitive<int8_t>({42})}};
  for (Compression codec : {Compression::kLz4Frame, Compression::kZstd}) {
    ipc::IpcWriteOptions options;
    options.compression = codec;
    auto bytes = WriteIpc(schema, {batch}, false, options);
    ASSERT_TRUE(bytes.ok());
    const uint8_t raw_marker[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    auto span = (*bytes)->bytes();
    EXPECT_NE(std::search(span.begin(), span.end(), std::begin(raw_marker), std::end(raw_marker)),
              span.end());
    auto read = ReadStreamBytes(span);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ExpectBatchEq(schema, batch, read->batches[0]);
  }
}

TEST(IpcDictionaries, StreamsReplaceDictionariesAndFilesRefuse) {
  Schema schema{{DictField("d", Utf8Type(), Int32(), 7)}, {}};
  auto first = WithDictionary(Primitive<int32_t>({0, 1}), Strings({"a", "b"}));
  auto second = WithDictionary(Primitive<int32_t>({2, 0}), Strings({"x", "y", "z"}));
  std::vector<RecordBatch> batches = {
      {nullptr, 2, {first}}, {nullptr, 2, {first}}, {nullptr, 2, {second}}};
  auto bytes = WriteIpc(schema, batches, false);
  ASSERT_TRUE(bytes.ok());
  auto reader = ipc::StreamReader::Open(std::make_unique<BufferInputStream>(*bytes));
  ASSERT_TRUE(reader.ok());
  for (const auto& expected : batches) {
    auto batch = (*reader)->Next();
    ASSERT_TRUE(batch.ok() && batch->has_value()) << batch.status().ToString();
    ExpectBatchEq(schema, expected, **batch);
  }
  EXPECT_EQ((*reader)->num_dictionary_batches_read(), 2);  // the repeat is not re-sent

  auto file = WriteIpc(schema, batches, true);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("cannot replace a dictionary"), std::string::npos)
      << file.status().ToString();
}

TEST(IpcDictionaries, DeltasAppendToTheDictionary) {
  Schema schema{{DictField("d", Utf8Type(), UInt8(), 3)}, {}};
  auto base = Strings({"a", "b"});
  auto combined = Strings({"a", "b", "c", std::nullopt});
  BufferOutputStream sink;
  auto writer = ipc::IpcWriter::OpenStream(sink, schema);
  ASSERT_TRUE(writer.ok());
  RecordBatch first{nullptr, 2, {WithDictionary(Primitive<uint8_t>({1, 0}), base)}};
  ASSERT_TRUE((*writer)->WriteBatch(first).ok());
  ASSERT_TRUE((*writer)->WriteDictionaryDelta(3, *Strings({"c", std::nullopt}), combined).ok());
  RecordBatch second{nullptr, 3, {WithDictionary(Primitive<uint8_t>({3, 2, 0}), combined)}};
  ASSERT_TRUE((*writer)->WriteBatch(second).ok());
  ASSERT_TRUE((*writer)->Close().ok());

  auto read = ReadStreamBytes(sink.bytes());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->batches.size(), 2u);
  ExpectBatchEq(schema, first, read->batches[0]);
  ExpectBatchEq(schema, second, read->batches[1]);
  std::string why;
  EXPECT_TRUE(
      ArraysEqual(F("v", Utf8Type()), *combined, *read->batches[1].columns[0]->dictionary, &why))
      << why;
  EXPECT_FALSE(ArraysEqual(F("v", Utf8Type()), *base, *read->batches[1].columns[0]->dictionary));
}

TEST(IpcFile, MappedFilesAreReadWithoutCopying) {
  AllTypes t = MakeAllTypes();
  auto bytes = WriteIpc(t.schema, {t.batch, t.batch, t.batch}, true);
  ASSERT_TRUE(bytes.ok());
  auto path = std::filesystem::temp_directory_path() /
              ("zkarrow_ipc_mmap_" + std::to_string(::getpid()) + ".arrow");
  {
    auto out = FileOutputStream::Open(path);
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE((*out)->Write((*bytes)->bytes()).ok());
    ASSERT_TRUE((*out)->Close().ok());
  }
  auto mapped = MapFile(path);
  ASSERT_TRUE(mapped.ok());
  auto reader = ipc::FileReader::Open(*mapped);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->num_batches(), 3);
  auto batch = (*reader)->ReadBatch(2);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ExpectBatchEq(t.schema, t.batch, *batch);
  const uint8_t* begin = (*mapped)->data();
  const uint8_t* end = begin + (*mapped)->size();
  const uint8_t* values = batch->columns[4]->buffers[1]->data();  // i32
  EXPECT_TRUE(values >= begin && values < end) << "values buffer is a copy, not a slice of the map";
  EXPECT_FALSE((*reader)->ReadBatch(3).ok());

  auto by_path = ipc::FileReader::OpenPath(path);
  ASSERT_TRUE(by_path.ok()) << by_path.status().ToString();
  EXPECT_EQ((*by_path)->num_batches(), 3);
  std::filesystem::remove(path);
}

TEST(IpcFormat, DetectsFileAndStream) {
  AllTypes t = MakeAllTypes();
  auto file = WriteIpc(t.schema, {}, true);
  auto stream = WriteIpc(t.schema, {}, false);
  ASSERT_TRUE(file.ok() && stream.ok());
  EXPECT_EQ(*ipc::DetectFormat((*file)->bytes().first(8)), ipc::IpcFormat::kFile);
  EXPECT_EQ(*ipc::DetectFormat((*stream)->bytes().first(8)), ipc::IpcFormat::kStream);
  const uint8_t garbage[8] = {'h', 'e', 'l', 'l', 'o', 0xff, 0xff, 0xff};
  EXPECT_FALSE(ipc::DetectFormat({garbage + 1, 7}).ok() &&
               ipc::DetectFormat({garbage + 4, 4}).ok());
  EXPECT_FALSE(ipc::DetectFormat({garbage, 2}).ok());
}

TEST(IpcWriterErrors, RefusesBatchesThatDoNotMatchTheSchema) {
  Schema schema{{F("a", Int32())}, {}};
  BufferOutputStream sink;
  auto writer = ipc::IpcWriter::OpenStream(sink, schema);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE((*writer)->WriteBatch({nullptr, 1, {}}).ok());
  EXPECT_FALSE((*writer)->WriteBatch({nullptr, 2, {Primitive<int32_t>({1})}}).ok());
  auto bad_buffers = std::make_shared<ArrayData>(*Primitive<int32_t>({1}));
  bad_buffers->buffers.pop_back();
  Status status = (*writer)->WriteBatch({nullptr, 1, {bad_buffers}});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'a'"), std::string::npos) << status.ToString();
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_FALSE((*writer)->WriteBatch({nullptr, 1, {Primitive<int32_t>({1})}}).ok());
}

}  // namespace
}  // namespace zkarrow::arrow::ipc_test
