// Inputs that ask the IPC reader for far more memory or time than their size
// (issue 10): each must end in a clear error before the memory is taken.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "arrow/array_access.h"
#include "arrow/ipc/array_concat.h"
#include "arrow/ipc/array_validate.h"
#include "hostile_ipc.h"
#include "ipc_test_util.h"

namespace zkarrow::arrow::ipc_test {
namespace {

using hostile::Bytes;

Field F(std::string name, DataType type) { return MakeField(std::move(name), std::move(type)); }

void ExpectError(const Status& status, StatusCode code, const std::string& text) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_NE(status.message().find(text), std::string::npos) << status.ToString();
}

TEST(IpcHostile, DeclaredLengthAboveTheBatchLimitIsRefusedBeforeAllocating) {
  // 3 GiB declared by a 49 KB buffer (within the ratio limit): the old reader
  // allocated and zeroed 3 GiB before finding the frame corrupt.
  Bytes stream = hostile::HugeClaimStream(int64_t{3} << 30, 49152);
  ExpectError(ReadStreamBytes(stream).status(), StatusCode::kOutOfRange,
              "expected at most 1073741824 (the batch limit)");
}

TEST(IpcHostile, BuffersSharingOneCompressedFrameAreRefused) {
  Bytes stream = hostile::SharedFrameStream(3, 1 << 20);
  ExpectError(ReadStreamBytes(stream).status(), StatusCode::kInvalidData, "overlaps buffer 1");
  // One reference to the frame is an ordinary stream.
  auto single = ReadStreamBytes(hostile::SharedFrameStream(1, 1 << 20));
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->batches.at(0).length, (1 << 20) / 8);
}

TEST(IpcHostile, BuffersCoveringOneMisalignedRangeAreRefused) {
  ExpectError(ReadStreamBytes(hostile::MisalignedStream(8, 4096)).status(),
              StatusCode::kInvalidData, "overlaps buffer 1");
}

TEST(IpcHostile, MisalignedBuffersAreCopied) {
  auto read = ReadStreamBytes(hostile::MisalignedStream(1, 4096));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const ArrayData& column = *read->batches.at(0).columns.at(0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(column.buffers[1]->data()) % 8, 0u);
  EXPECT_EQ(column.buffers[1]->data()[4094], 1);
}

TEST(IpcHostile, CopiesOfMisalignedBuffersCountAgainstTheBatchLimit) {
  // Two int8 columns of n values in a zstd body: one stored raw (prefix -1)
  // at a misaligned offset, so it is copied, one decompressed. Each fits in
  // the limit, the body too; together they do not.
  const int64_t n = 600000;
  Bytes body = {0};
  hostile::PutInt64(body, -1);
  body.resize(body.size() + n, 7);
  const auto raw_length = static_cast<int64_t>(body.size()) - 1;
  hostile::PadTo8(body);
  const auto compressed_offset = static_cast<int64_t>(body.size());
  hostile::Append(body, hostile::Stored(n, hostile::ZstdZeros(n)));
  const auto compressed_length = static_cast<int64_t>(body.size()) - compressed_offset;
  hostile::PadTo8(body);
  hostile::Batch batch{n,
                       {{n, 0}, {n, 0}},
                       {{0, 0}, {1, raw_length}, {0, 0}, {compressed_offset, compressed_length}},
                       body,
                       true};
  Bytes stream = hostile::SchemaMessage(Schema{{F("a", Int8()), F("b", Int8())}, {}});
  hostile::Append(stream, hostile::RecordBatchMessage(batch));
  ipc::IpcReadOptions limited;
  limited.max_batch_bytes = 1 << 20;
  ExpectError(ReadStreamBytes(stream, limited).status(), StatusCode::kOutOfRange,
              "needs 1200000 bytes");
  limited.max_batch_bytes = 2 * n;
  auto read = ReadStreamBytes(stream, limited);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->batches.at(0).columns.at(0)->buffers[1]->data()[n - 1], 7);
}

TEST(IpcHostile, TheBatchLimitCountsDecompressedBytes) {
  Bytes stream = hostile::SharedFrameStream(1, 1 << 20);
  ipc::IpcReadOptions limited;
  limited.max_batch_bytes = (1 << 20) - 8;
  ExpectError(ReadStreamBytes(stream, limited).status(), StatusCode::kOutOfRange,
              "the batch limit");
}

TEST(IpcHostile, DeltaDictionariesAreCappedAsAWhole) {
  // 100 deltas of 1 MiB each from ~200 bytes each: 100 MiB of dictionary,
  // above a 64 MiB limit (the CLI test uses the default). The old reader had
  // no limit, and copied the whole dictionary again for every delta.
  Bytes stream = hostile::DeltaDictionaryStream(100, 1 << 17);
  EXPECT_LT(stream.size(), 100u * 512);
  ipc::IpcReadOptions limited;
  limited.max_dictionary_bytes = 64 << 20;
  ExpectError(ReadStreamBytes(stream, limited).status(), StatusCode::kOutOfRange,
              "dictionaries need");
  auto read = ReadStreamBytes(stream);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->batches.at(0).columns.at(0)->dictionary->length, 101 * (1 << 17));
}

TEST(IpcHostile, ConcatenatedDictionaryOffsetsMayNotOverflow) {
  // Two lists of 2^30 + 1 nulls each: the concatenation needs offset
  // 2^31 + 2. The old code wrapped it to a negative int32 and kept the array.
  Bytes stream = hostile::ListOfNullDeltaStream((1 << 30) + 1);
  ExpectError(ReadStreamBytes(stream).status(), StatusCode::kOutOfRange,
              "needs offset 2147483650, expected at most 2147483647");
  // Up to the limit, the same stream is fine.
  auto read = ReadStreamBytes(hostile::ListOfNullDeltaStream((1 << 30) - 1));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const ArrayData& dictionary = *read->batches.at(0).columns.at(0)->dictionary;
  EXPECT_EQ(dictionary.length, 2);
  EXPECT_EQ(ReadOffset(dictionary, 2, false), INT32_MAX - 1);
}

TEST(IpcHostile, FileDictionariesAreDecodedWithTheFirstBatchNotToDescribeIt) {
  Field field = F("d", Int64());
  field.dictionary = DictionaryEncoding{0, Int32(), false};
  std::vector<std::optional<int64_t>> values(1 << 16, 0);
  RecordBatch batch{nullptr, 1, {WithDictionary(Primitive<int32_t>({0}), Primitive(values))}};
  ipc::IpcWriteOptions compressed;
  compressed.compression = ipc::Compression::kZstd;
  auto bytes = WriteIpc(Schema{{field}, {}}, {batch}, /*file=*/true, compressed);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ipc::IpcReadOptions limited;
  limited.max_dictionary_bytes = 1 << 16;  // the dictionary needs 512 KiB
  auto reader = ipc::FileReader::Open(*bytes, limited);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto info = (*reader)->ReadBatchInfo(0);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->num_rows, 1);
  ExpectError((*reader)->ReadBatch(0).status(), StatusCode::kOutOfRange, "dictionaries need");
  // The failure sticks.
  ExpectError((*reader)->ReadBatch(0).status(), StatusCode::kOutOfRange, "dictionaries need");
}

TEST(IpcHostile, NamesInErrorsAreEscaped) {
  // A crafted field name must not reach a terminal through an error message.
  Schema schema{{F("x\x1b[2J", Int32())}, {}};
  Bytes stream = hostile::SchemaMessage(schema);
  hostile::Batch batch{1000, {{1000, 0}}, {{0, 0}, {0, 8}}, Bytes(8, 0), false};
  hostile::Append(stream, hostile::RecordBatchMessage(batch));
  Status status = ReadStreamBytes(stream).status();
  ExpectError(status, StatusCode::kInvalidData, "field 'x\\x1b[2J'");
  EXPECT_EQ(status.message().find('\x1b'), std::string::npos) << status.message();
}

TEST(EscapeText, ControlsAndNonUtf8BecomeHexUtf8Stays) {
  EXPECT_EQ(EscapeText("plain name_1"), "plain name_1");
  EXPECT_EQ(EscapeText("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(EscapeText("a\x1b[31m\x07\x7f"), "a\\x1b[31m\\x07\\x7f");
  EXPECT_EQ(EscapeText("\xc2\x9b"
                       "1m"),
            "\\xc2\\x9b1m");  // C1 CSI as UTF-8
  EXPECT_EQ(EscapeText("\x9b"
                       "1m"),
            "\\x9b1m");                             // C1 CSI as a byte
  EXPECT_EQ(EscapeText("\xc0\xaf"), "\\xc0\\xaf");  // overlong
  EXPECT_EQ(EscapeText("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(EscapeText(std::string("nul\0", 4)), "nul\\x00");
}

// ---- GrowingArray: deltas appended in place ----

// Validates `array` and every descendant as the IPC reader would.
void ExpectValid(const DataType& type, const ArrayData& array) {
  for (size_t i = 0; i < array.children.size(); ++i) {
    ExpectValid(type.children[i].type, *array.children[i]);
  }
  Status status = ipc::ValidateLayout(type, array);
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(GrowingArray, ThousandDeltasReuseAFewBlocks) {
  Field field = F("s", Utf8Type());
  ipc::ByteBudget budget{0, int64_t{1} << 30};
  auto grown = ipc::GrowingArray::Make(field, *Strings({"a"}), budget);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  std::set<const uint8_t*> blocks;
  std::vector<std::optional<std::string>> expected = {"a"};
  for (int i = 0; i < 1000; ++i) {
    std::optional<std::string> value;
    if (i % 7 != 0) value = std::string("v").append(std::to_string(i));
    expected.push_back(value);
    ASSERT_TRUE((*grown)->Append(*Strings({value}), budget).ok());
    blocks.insert((*grown)->View()->buffers[2]->data());
  }
  // Appending in place: storage doubles, so ~log2(total) blocks, where a
  // fresh concatenation per delta makes one block per delta.
  EXPECT_LE(blocks.size(), 16u);
  auto view = (*grown)->View();
  ExpectValid(field.type, *view);
  EXPECT_TRUE(ArraysEqual(field, *view, *Strings(expected)));
  EXPECT_EQ(budget.used, (*grown)->allocated_bytes());
}

TEST(GrowingArray, NestedTypesMatchAPlainConcatenation) {
  Field field = F("l", ListType(F("item", StructType({F("x", Int32()), F("b", BoolType())}))));
  auto child_a = Structs({true, false, true}, {Primitive<int32_t>({1, 2, std::nullopt}),
                                               Bools({true, std::nullopt, false})});
  auto child_b = Structs({true}, {Primitive<int32_t>({7}), Bools({true})});
  auto a = Lists({2, std::nullopt, 1}, child_a);
  auto b = Lists({0, 1}, child_b);
  ipc::ByteBudget budget{0, int64_t{1} << 20};
  auto grown = ipc::GrowingArray::Make(field, *a, budget);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  ASSERT_TRUE((*grown)->Append(*b, budget).ok());
  auto expected =
      Lists({2, std::nullopt, 1, 0, 1},
            Structs({true, false, true, true}, {Primitive<int32_t>({1, 2, std::nullopt, 7}),
                                                Bools({true, std::nullopt, false, true})}));
  auto view = (*grown)->View();
  ExpectValid(field.type, *view);
  EXPECT_TRUE(ArraysEqual(field, *view, *expected));
}

TEST(GrowingArray, TheBudgetBoundsGrowth) {
  Field field = F("i", Int64());
  ipc::ByteBudget budget{0, 1024};
  auto grown = ipc::GrowingArray::Make(field, *Primitive<int64_t>({1}), budget);
  ASSERT_TRUE(grown.ok());
  std::vector<std::optional<int64_t>> many(200, 5);
  ExpectError((*grown)->Append(*Primitive<int64_t>(many), budget), StatusCode::kOutOfRange,
              "dictionaries need");
}

}  // namespace
}  // namespace zkarrow::arrow::ipc_test
