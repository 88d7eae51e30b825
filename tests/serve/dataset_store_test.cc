// The dataset store of `zkarrow serve`: uploads become visible whole or not
// at all, survive restarts, are served in messages that fit a limit, and
// read back to the uploaded values.
#include "serve/dataset_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc_test_util.h"

namespace zkarrow::serve {
namespace {

using arrow::Buffer;
using arrow::DataType;
using arrow::Field;
using arrow::RecordBatch;
using arrow::Schema;
using arrow::ipc::Compression;
using arrow::ipc_test::ArrayPtr;
using arrow::ipc_test::ReadBack;
using transport::IpcMessage;
using transport::MessageStream;
namespace fs = std::filesystem;
namespace t = arrow::ipc_test;

constexpr int64_t kSmallLimit = 64 * 1024;

Field DictionaryField(std::string name, int64_t id) {
  Field field = arrow::MakeField(std::move(name), arrow::Utf8Type());
  field.dictionary = arrow::DictionaryEncoding{id, arrow::Int32(), false};
  return field;
}

// A string, a bool, a list, a struct and a dictionary column (besides the
// id), with nulls in each, so that slices exercise offsets, bitmaps at bit
// offsets, child ranges and dictionary indices.
Schema MixedSchema() {
  return Schema{
      {arrow::MakeField("id", arrow::Int64(), false), arrow::MakeField("s", arrow::Utf8Type()),
       arrow::MakeField("b", arrow::BoolType()),
       arrow::MakeField("l", arrow::ListType(arrow::MakeField("item", arrow::Int32()))),
       arrow::MakeField("st", arrow::StructType({arrow::MakeField("x", arrow::Int32()),
                                                 arrow::MakeField("y", arrow::Utf8Type())})),
       DictionaryField("d", 0)},
      {{"origin", "dataset_store_test"}}};
}

ArrayPtr Colors() { return t::Strings({"red", "green", std::nullopt, "blue"}); }

// `rows` rows whose ids start at `first_id`; strings of about `width` bytes.
RecordBatch MixedBatch(int64_t first_id, int64_t rows, size_t width, const ArrayPtr& colors) {
  std::vector<std::optional<int64_t>> ids;
  std::vector<std::optional<std::string>> strings, ys;
  std::vector<std::optional<bool>> bools;
  std::vector<std::optional<int>> list_sizes;
  std::vector<std::optional<int32_t>> items, xs, indices;
  std::vector<bool> struct_valid;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t id = first_id + r;
    ids.push_back(id);
    strings.push_back(id % 7 == 3
                          ? std::nullopt
                          : std::optional(std::to_string(id) + std::string(width, 'a' + id % 26)));
    bools.push_back(id % 5 == 1 ? std::nullopt : std::optional(id % 3 == 0));
    const int size = static_cast<int>(id % 4);
    list_sizes.push_back(id % 11 == 2 ? std::nullopt : std::optional(size));
    for (int k = 0; k < (id % 11 == 2 ? 0 : size); ++k) {
      items.push_back(k == 1 ? std::nullopt : std::optional(static_cast<int32_t>(id * 10 + k)));
    }
    struct_valid.push_back(id % 13 != 4);
    xs.push_back(id % 6 == 0 ? std::nullopt : std::optional(static_cast<int32_t>(-id)));
    ys.push_back("y" + std::to_string(id % 100));
    indices.push_back(id % 17 == 5 ? std::nullopt : std::optional(static_cast<int32_t>(id % 4)));
  }
  return RecordBatch{nullptr,
                     rows,
                     {t::Primitive<int64_t>(ids), t::Strings(strings), t::Bools(bools),
                      t::Lists(list_sizes, t::Primitive<int32_t>(items)),
                      t::Structs(struct_valid, {t::Primitive<int32_t>(xs), t::Strings(ys)}),
                      t::WithDictionary(t::Primitive<int32_t>(indices), colors)}};
}

struct Upload {
  Schema schema;
  std::vector<RecordBatch> batches;
  std::shared_ptr<const Buffer> bytes;  // as an IPC stream
};

Upload MakeUpload(int64_t first_id, int batches, int64_t rows, size_t width,
                  const arrow::KeyValueMetadata& message_metadata = {}) {
  Upload upload{MixedSchema(), {}, nullptr};
  ArrayPtr colors = Colors();
  for (int i = 0; i < batches; ++i) {
    upload.batches.push_back(MixedBatch(first_id + i * rows, rows, width, colors));
  }
  auto bytes = t::WriteIpc(upload.schema, upload.batches, false, {}, message_metadata);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  upload.bytes = *bytes;
  return upload;
}

Result<DatasetInfo> PutBytes(DatasetStore& store, std::string_view name,
                             const std::shared_ptr<const Buffer>& bytes,
                             std::optional<int64_t> if_version = {}) {
  arrow::BufferInputStream in(bytes);
  return store.Put(name, in, if_version);
}

// Every message a Read yields, and the stream they make, read back.
struct Served {
  std::vector<IpcMessage> messages;
  ReadBack read;
  std::vector<arrow::ipc::BatchInfo> batch_infos;
};

Result<Served> ReadDataset(const Dataset& dataset, Compression compression) {
  ZKA_ASSIGN_OR_RETURN(auto stream, dataset.Read(compression));
  Served served;
  arrow::BufferOutputStream framed;
  while (true) {
    IpcMessage message;
    ZKA_ASSIGN_OR_RETURN(MessageStream::Poll poll, stream->Next(&message));
    if (poll == MessageStream::Poll::kEnd) break;
    if (poll != MessageStream::Poll::kMessage)
      return Status::Internal("a stored dataset said pending");
    ZKA_RETURN_IF_ERROR(arrow::ipc::WriteFramed(framed, message));
    served.messages.push_back(std::move(message));
  }
  ZKA_RETURN_IF_ERROR(arrow::ipc::WriteEndOfStream(framed));
  auto bytes = framed.Finish();
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(
                                        std::make_unique<arrow::BufferInputStream>(bytes)));
  served.read.schema = reader->shared_schema();
  while (true) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) break;
    served.read.batches.push_back(std::move(*batch));
    served.batch_infos.push_back(reader->last_batch_info());
  }
  if (!reader->ended_with_marker()) return Status::Internal("no end-of-stream marker");
  return served;
}

// rows [offset, offset + length) of `array`, for comparison (ArraysEqual
// wants true null counts).
ArrayPtr SliceForCompare(const ArrayPtr& array, int64_t offset, int64_t length) {
  auto slice = std::make_shared<arrow::ArrayData>(*array);
  slice->offset += offset;
  slice->length = length;
  if (!slice->buffers.empty() && slice->buffers[0]) {
    int64_t nulls = 0;
    for (int64_t i = 0; i < length; ++i) nulls += !slice->IsValid(i);
    slice->null_count = nulls;
  } else {
    slice->null_count = array->null_count == array->length && array->length > 0 ? length : 0;
  }
  return slice;
}

// The same rows with the same values, however they are cut into batches.
::testing::AssertionResult SameRows(const Schema& schema, const std::vector<RecordBatch>& expected,
                                    const std::vector<RecordBatch>& actual) {
  size_t ea = 0, ac = 0;
  int64_t eo = 0, ao = 0, row = 0;
  while (true) {
    while (ea < expected.size() && eo == expected[ea].length) ++ea, eo = 0;
    while (ac < actual.size() && ao == actual[ac].length) ++ac, ao = 0;
    if (ea == expected.size() || ac == actual.size()) {
      if (ea == expected.size() && ac == actual.size()) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure() << "row counts differ: one side ends after row " << row;
    }
    const int64_t n = std::min(expected[ea].length - eo, actual[ac].length - ao);
    for (size_t c = 0; c < schema.fields.size(); ++c) {
      std::string why;
      if (!arrow::ArraysEqual(schema.fields[c], *SliceForCompare(expected[ea].columns[c], eo, n),
                              *SliceForCompare(actual[ac].columns[c], ao, n), &why)) {
        return ::testing::AssertionFailure()
               << "column " << schema.fields[c].name << " from row " << row << ": " << why;
      }
    }
    eo += n;
    ao += n;
    row += n;
  }
}

std::string Sha256Hex(std::span<const uint8_t> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr), 1);
  std::string hex;
  char two[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(two, sizeof(two), "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

std::shared_ptr<const Buffer> Garbage(size_t size) {
  std::vector<uint8_t> bytes(size);
  uint32_t state = 12345;
  for (auto& byte : bytes) {
    state = state * 1664525 + 1013904223;
    byte = static_cast<uint8_t>(state >> 24);
  }
  return Buffer::CopyOf(bytes);
}

class DatasetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "zkarrow-store-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<DatasetStore> OpenStore(DatasetStoreOptions options = {}) {
    auto store = DatasetStore::Open(dir_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::set<std::string> Files() const {
    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      files.insert(entry.path().filename().string());
    }
    return files;
  }

  // The current version of `name` holds exactly `upload`'s rows.
  void ExpectServes(const DatasetStore& store, std::string_view name, const Upload& upload,
                    int64_t version) {
    auto dataset = store.Get(name);
    ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
    EXPECT_EQ((*dataset)->info().version, version);
    auto served = ReadDataset(**dataset, Compression::kNone);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_TRUE(SameRows(upload.schema, upload.batches, served->read.batches));
  }

  fs::path dir_;
};

TEST_F(DatasetStoreTest, RoundTripKeepsValuesSchemaAndChecksum) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 3, 100, 10);
  auto info = PutBytes(*store, "mixed", upload.bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, "mixed");
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->rows, 300);
  EXPECT_GT(info->created_ms, 0);
  std::string why;
  EXPECT_TRUE(arrow::SchemasEqual(upload.schema, *info->schema, &why)) << why;

  // The stored file is named after its version and checksum, which match it.
  const std::string file = "mixed.v1." + info->sha256_hex + ".arrow";
  EXPECT_EQ(Files(), std::set<std::string>{file});
  auto mapped = arrow::MapFile(dir_ / file);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(info->bytes, (*mapped)->size());
  EXPECT_EQ(info->sha256_hex, Sha256Hex((*mapped)->bytes()));
  // ...and is an Arrow IPC file any reader opens.
  auto as_file = t::ReadFileBytes(*mapped);
  ASSERT_TRUE(as_file.ok()) << as_file.status().ToString();
  EXPECT_TRUE(SameRows(upload.schema, upload.batches, as_file->batches));

  auto dataset = store->Get("mixed");
  ASSERT_TRUE(dataset.ok());
  auto served = ReadDataset(**dataset, Compression::kNone);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(SameRows(upload.schema, upload.batches, served->read.batches));
  EXPECT_TRUE(arrow::SchemasEqual(upload.schema, *served->read.schema, &why)) << why;
  // schema, the dictionary, three batches; bodies are slices of the mapping.
  ASSERT_EQ(served->messages.size(), 5u);
  const Buffer& stored = *(*dataset)->file();
  for (size_t i = 1; i < served->messages.size(); ++i) {
    const Buffer& body = *served->messages[i].body;
    EXPECT_GE(body.data(), stored.data());
    EXPECT_LE(body.data() + body.size(), stored.data() + stored.size());
  }
  ASSERT_EQ(store->List().size(), 1u);
  EXPECT_EQ(store->List()[0].sha256_hex, info->sha256_hex);
}

TEST_F(DatasetStoreTest, EmptyUploadsRoundTrip) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload no_batches{MixedSchema(), {}, nullptr};
  auto bytes = t::WriteIpc(no_batches.schema, {}, false);
  ASSERT_TRUE(bytes.ok());
  auto info = PutBytes(*store, "schema-only", *bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 0);
  auto dataset = store->Get("schema-only");
  ASSERT_TRUE(dataset.ok());
  auto served = ReadDataset(**dataset, Compression::kZstd);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(served->messages.size(), 1u);  // the schema
  EXPECT_TRUE(served->read.batches.empty());
  std::string why;
  EXPECT_TRUE(arrow::SchemasEqual(no_batches.schema, *served->read.schema, &why)) << why;

  Upload empty_batch = MakeUpload(0, 1, 0, 1);
  info = PutBytes(*store, "zero-rows", empty_batch.bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 0);
  ExpectServes(*store, "zero-rows", empty_batch, 1);
}

// What a replica does (issue 13): it uploads the messages a holder serves.
// The file it stores is the holder's, byte for byte, so their SHA-256 agree.
TEST_F(DatasetStoreTest, StoringAServedStreamReproducesTheFile) {
  DatasetStoreOptions options;
  options.max_batch_bytes_served = kSmallLimit;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 3, 3000, 20, {{"k", "v"}});
  auto original = PutBytes(*store, "original", upload.bytes);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  auto dataset = store->Get("original");
  ASSERT_TRUE(dataset.ok());
  auto served = ReadDataset(**dataset, Compression::kNone);
  ASSERT_TRUE(served.ok());
  arrow::BufferOutputStream framed;
  for (const IpcMessage& message : served->messages) {
    ASSERT_TRUE(arrow::ipc::WriteFramed(framed, message).ok());
  }
  ASSERT_TRUE(arrow::ipc::WriteEndOfStream(framed).ok());
  auto copy = PutBytes(*store, "copy", framed.Finish());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(copy->sha256_hex, original->sha256_hex);
  EXPECT_EQ(copy->bytes, original->bytes);
  EXPECT_EQ(copy->rows, original->rows);
}

// What a catalog (src/coord) does with the store: versions it numbers,
// installed in any order, removed one by one, never pruned by the store.
TEST_F(DatasetStoreTest, CatalogVersionsAreInstalledAndRemovedAsTold) {
  DatasetStoreOptions options;
  options.keep_versions = 0;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload v5 = MakeUpload(0, 1, 10, 2), v3 = MakeUpload(50, 2, 10, 2),
         other = MakeUpload(9, 1, 4, 1);
  auto prepare = [&](const Upload& upload) {
    arrow::BufferInputStream in(upload.bytes);
    auto prepared = store->Prepare("c", in);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    return std::move(*prepared);
  };
  auto five = store->CommitVersion(prepare(v5), 5, 1234);
  ASSERT_TRUE(five.ok()) << five.status().ToString();
  EXPECT_EQ(five->version, 5);
  EXPECT_EQ(five->created_ms, 1234);
  // An older version arrives later (a replica fetching a kept version):
  // it is stored, and the highest version stays current.
  auto three = store->CommitVersion(prepare(v3), 3, 1000);
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  ExpectServes(*store, "c", v5, 5);
  auto kept = store->Get("c", 3);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  std::vector<DatasetInfo> versions = store->ListVersions();
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 3);
  EXPECT_EQ(versions[1].version, 5);
  // The same version again: the same bytes are a retried install, other
  // bytes a conflict that stores nothing.
  auto again = store->CommitVersion(prepare(v5), 5, 99);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->created_ms, 1234);
  auto clash = store->CommitVersion(prepare(other), 5, 99);
  EXPECT_EQ(clash.status().code(), StatusCode::kConflict) << clash.status().ToString();
  EXPECT_EQ(Files().size(), 2u);
  // Removal, one version at a time; the last one takes the name with it.
  ASSERT_TRUE(store->Remove("c", 5).ok());
  EXPECT_EQ(store->Remove("c", 5).code(), StatusCode::kNotFound);
  ExpectServes(*store, "c", v3, 3);
  ASSERT_TRUE(store->Remove("c", 3).ok());
  EXPECT_TRUE(store->List().empty());
  EXPECT_TRUE(Files().empty());
  // Reopened with keep_versions 0, nothing is pruned either.
  ASSERT_TRUE(store->CommitVersion(prepare(v3), 1, 1).ok());
  ASSERT_TRUE(store->CommitVersion(prepare(v5), 2, 2).ok());
  ASSERT_TRUE(store->CommitVersion(prepare(other), 3, 3).ok());
  store.reset();
  store = OpenStore(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ListVersions().size(), 3u);
}

TEST_F(DatasetStoreTest, AnIpcFileIsAcceptedAsAnUpload) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 3, 200, 10);
  auto file = t::WriteIpc(upload.schema, upload.batches, true);
  ASSERT_TRUE(file.ok());
  arrow::BufferInputStream in(*file);
  auto info = store->Put("from-file", in);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 600);
  std::array<uint8_t, 1> more{};
  EXPECT_EQ(in.Read(more).value(), 0);  // the footer was read too
  ExpectServes(*store, "from-file", upload, 1);
  // The same data as a stream is stored as the same file.
  auto from_stream = PutBytes(*store, "from-stream", upload.bytes);
  ASSERT_TRUE(from_stream.ok());
  EXPECT_EQ(from_stream->sha256_hex, info->sha256_hex);
  // A file cut short is refused like a stream.
  auto cut = Buffer::CopyOf((*file)->bytes().first(static_cast<size_t>((*file)->size() / 2)));
  auto refused = PutBytes(*store, "from-file", cut);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidData) << refused.status().ToString();
  ExpectServes(*store, "from-file", upload, 1);
}

TEST_F(DatasetStoreTest, ReplacingKeepsOldReadersValid) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload first = MakeUpload(0, 2, 50, 8);
  Upload second = MakeUpload(1000, 1, 70, 3);
  ASSERT_TRUE(PutBytes(*store, "t", first.bytes).ok());
  auto old_version = store->Get("t");
  ASSERT_TRUE(old_version.ok());
  auto old_stream = (*old_version)->Read(Compression::kNone);
  ASSERT_TRUE(old_stream.ok());

  auto info = PutBytes(*store, "t", second.bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, 2);
  // keep_versions 1: the old file is gone from the directory...
  EXPECT_EQ(Files(), std::set<std::string>{"t.v2." + info->sha256_hex + ".arrow"});
  auto gone = store->Get("t", 1);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("kept: 2"), std::string::npos) << gone.status().ToString();
  // ...but whoever held it still reads it whole.
  auto served = ReadDataset(**old_version, Compression::kNone);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(SameRows(first.schema, first.batches, served->read.batches));
  ExpectServes(*store, "t", second, 2);
}

TEST_F(DatasetStoreTest, MalformedUploadsStoreNothing) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload good = MakeUpload(0, 2, 40, 5);
  ASSERT_TRUE(PutBytes(*store, "t", good.bytes).ok());
  const std::set<std::string> files = Files();

  Upload big = MakeUpload(0, 2, 400, 20);
  const auto bytes = big.bytes->bytes();
  struct Case {
    std::string what;
    std::shared_ptr<const Buffer> bytes;
    std::string expected;  // in the message
  };
  std::vector<uint8_t> bad_schema(bytes.begin(), bytes.end());
  for (size_t i = 12; i < 40; ++i) bad_schema[i] ^= 0x5a;  // inside the schema flatbuffer
  // Bytes after the end-of-stream marker would be dropped unread.
  std::vector<uint8_t> two_streams(bytes.begin(), bytes.end());
  two_streams.insert(two_streams.end(), bytes.begin(), bytes.end());
  std::vector<uint8_t> stray_bytes(bytes.begin(), bytes.end());
  stray_bytes.push_back('x');
  std::vector<Case> cases = {
      {"truncated mid-batch", Buffer::CopyOf(bytes.first(bytes.size() * 3 / 4)), "batch 1"},
      {"cut at a message boundary", Buffer::CopyOf(bytes.first(bytes.size() - 8)),
       "end-of-stream marker"},
      {"two streams one after the other", Buffer::CopyOf(two_streams), "found more bytes"},
      {"a byte after the marker", Buffer::CopyOf(stray_bytes), "found more bytes"},
      {"garbage", Garbage(5000), ""},
      {"bad schema", Buffer::CopyOf(bad_schema), ""},
      {"empty", Buffer::Zeroed(0), ""},
  };
  for (const Case& bad : cases) {
    auto result = PutBytes(*store, "t", bad.bytes);
    ASSERT_FALSE(result.ok()) << bad.what;
    EXPECT_TRUE(result.status().code() == StatusCode::kInvalidData ||
                result.status().code() == StatusCode::kNotImplemented)
        << bad.what << ": " << result.status().ToString();
    EXPECT_NE(result.status().message().find("nothing stored"), std::string::npos)
        << bad.what << ": " << result.status().ToString();
    EXPECT_NE(result.status().message().find(bad.expected), std::string::npos)
        << bad.what << ": " << result.status().ToString();
    EXPECT_EQ(Files(), files) << bad.what;
    ExpectServes(*store, "t", good, 1);
  }
  // A malformed first upload of a name leaves no trace of the name either.
  EXPECT_FALSE(PutBytes(*store, "fresh", Garbage(100)).ok());
  EXPECT_EQ(store->Get("fresh").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->List().size(), 1u);
  // The next good upload is version 2: failures consumed no number.
  auto next = PutBytes(*store, "t", good.bytes);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version, 2);
}

TEST_F(DatasetStoreTest, NamesAreValidated) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 1, 5, 1);
  for (const std::string& name :
       {std::string("../x"), std::string("a/b"), std::string(""), std::string(129, 'n'),
        std::string(".hidden"), std::string("."), std::string(".."), std::string("a b"),
        std::string("a\0b", 3), std::string("caf\xc3\xa9"), std::string("/abs")}) {
    auto put = PutBytes(*store, name, upload.bytes);
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(store->Get(name).status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(store->Drop(name).code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(Files().empty());
  for (const auto& entry : fs::directory_iterator(dir_.parent_path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("x.v1.")) << entry.path();
  }
  for (const std::string& name :
       {std::string(128, 'n'), std::string("A-b_c.1"), std::string("x.v1.arrow")}) {
    auto put = PutBytes(*store, name, upload.bytes);
    EXPECT_TRUE(put.ok()) << name << ": " << put.status().ToString();
  }
  EXPECT_EQ(store->List().size(), 3u);
}

TEST_F(DatasetStoreTest, ARestartReloadsEveryNameAndVersion) {
  DatasetStoreOptions options;
  options.keep_versions = 2;
  Upload a1 = MakeUpload(0, 1, 10, 2), a2 = MakeUpload(100, 2, 10, 2), b1 = MakeUpload(7, 1, 3, 1);
  std::vector<DatasetInfo> before;
  {
    auto store = OpenStore(options);
    ASSERT_TRUE(store);
    ASSERT_TRUE(PutBytes(*store, "a", a1.bytes).ok());
    ASSERT_TRUE(PutBytes(*store, "a", a2.bytes).ok());
    ASSERT_TRUE(PutBytes(*store, "b.v1.x", b1.bytes).ok());
    before = store->List();
    // One store per directory.
    auto second = DatasetStore::Open(dir_, options);
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
  }
  std::ofstream(dir_ / "README.txt") << "not a dataset\n";

  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  std::vector<DatasetInfo> after = store->List();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].version, before[i].version);
    EXPECT_EQ(after[i].rows, before[i].rows);
    EXPECT_EQ(after[i].bytes, before[i].bytes);
    EXPECT_EQ(after[i].sha256_hex, before[i].sha256_hex);
    EXPECT_TRUE(arrow::SchemasEqual(*after[i].schema, *before[i].schema));
  }
  ExpectServes(*store, "a", a2, 2);
  ExpectServes(*store, "b.v1.x", b1, 1);
  auto kept = store->Get("a", 1);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  auto served = ReadDataset(**kept, Compression::kNone);
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(SameRows(a1.schema, a1.batches, served->read.batches));
  ASSERT_EQ(store->open_notes().size(), 1u);
  EXPECT_NE(store->open_notes()[0].find("README.txt"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "README.txt"));  // left alone

  auto next = PutBytes(*store, "a", b1.bytes);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version, 3);
  EXPECT_EQ(store->Get("a", 1).status().code(), StatusCode::kNotFound);  // keep_versions 2
  EXPECT_EQ(Files().size(), 4u);  // a v2 and v3, b.v1.x v1, README.txt

  // Opened to keep fewer versions, the store deletes the older ones.
  store.reset();
  options.keep_versions = 1;
  store = OpenStore(options);
  ASSERT_TRUE(store);
  EXPECT_EQ(Files(), (std::set<std::string>{"README.txt", "a.v3." + next->sha256_hex + ".arrow",
                                            "b.v1.x.v1." + before[1].sha256_hex + ".arrow"}));
  ExpectServes(*store, "a", b1, 3);
}

TEST_F(DatasetStoreTest, ADamagedFileIsSkippedAndTheVersionBeforeServed) {
  DatasetStoreOptions options;
  options.keep_versions = 2;
  Upload v1 = MakeUpload(0, 1, 20, 4), v2 = MakeUpload(50, 1, 20, 4);
  std::string damaged;
  {
    auto store = OpenStore(options);
    ASSERT_TRUE(store);
    ASSERT_TRUE(PutBytes(*store, "t", v1.bytes).ok());
    auto info = PutBytes(*store, "t", v2.bytes);
    ASSERT_TRUE(info.ok());
    damaged = "t.v2." + info->sha256_hex + ".arrow";
  }
  {
    std::fstream file(dir_ / damaged, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('\x7f');
  }
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  ExpectServes(*store, "t", v1, 1);
  ASSERT_EQ(store->open_notes().size(), 1u);
  EXPECT_NE(store->open_notes()[0].find("SHA-256"), std::string::npos) << store->open_notes()[0];
  EXPECT_TRUE(fs::exists(dir_ / damaged));  // kept for whoever investigates
  auto next = PutBytes(*store, "t", v2.bytes);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version, 3);  // 2 is taken on disk
}

TEST_F(DatasetStoreTest, IfVersionIsCompareAndSet) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 1, 5, 1);
  auto created = PutBytes(*store, "t", upload.bytes, 0);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->version, 1);
  auto again = PutBytes(*store, "t", upload.bytes, 0);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find("at version 1"), std::string::npos)
      << again.status().ToString();
  auto next = PutBytes(*store, "t", upload.bytes, 1);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version, 2);
  auto stale = PutBytes(*store, "t", upload.bytes, 1);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  auto absent = PutBytes(*store, "u", upload.bytes, 3);
  EXPECT_EQ(absent.status().code(), StatusCode::kConflict);
  EXPECT_NE(absent.status().message().find("does not exist"), std::string::npos);
  EXPECT_EQ(store->List().size(), 1u);

  // Checked again at commit: an upload prepared against version 2 loses to
  // a commit in between.
  arrow::BufferInputStream in(upload.bytes);
  auto prepared = store->Prepare("t", in);
  ASSERT_TRUE(prepared.ok());
  ASSERT_TRUE(PutBytes(*store, "t", upload.bytes, 2).ok());
  auto late = store->Commit(std::move(*prepared), 2);
  EXPECT_EQ(late.status().code(), StatusCode::kConflict);
  EXPECT_EQ(store->Get("t").value()->info().version, 3);
  EXPECT_EQ(Files().size(), 1u);
}

TEST_F(DatasetStoreTest, ConcurrentPutsOfOneNameEachGetOneVersion) {
  constexpr int kWriters = 6;
  DatasetStoreOptions options;
  options.keep_versions = kWriters;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  std::vector<Upload> uploads;
  for (int w = 0; w < kWriters; ++w) uploads.push_back(MakeUpload(w * 100000, 4, 300, 30));
  std::vector<Result<DatasetInfo>> results(kWriters, Status::Internal("not run"));
  {
    std::vector<std::jthread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] { results[w] = PutBytes(*store, "shared", uploads[w].bytes); });
    }
  }
  std::set<int64_t> versions;
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_TRUE(results[w].ok()) << results[w].status().ToString();
    versions.insert(results[w]->version);
    // The version this writer got holds exactly its upload.
    auto dataset = store->Get("shared", results[w]->version);
    ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
    auto served = ReadDataset(**dataset, Compression::kNone);
    ASSERT_TRUE(served.ok());
    EXPECT_TRUE(SameRows(uploads[w].schema, uploads[w].batches, served->read.batches));
  }
  EXPECT_EQ(versions, (std::set<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Files().size(), static_cast<size_t>(kWriters));

  // Creating with if_version 0 at once: exactly one wins.
  std::vector<Result<DatasetInfo>> creates(kWriters, Status::Internal("not run"));
  {
    std::vector<std::jthread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] { creates[w] = PutBytes(*store, "once", uploads[w].bytes, 0); });
    }
  }
  int won = 0;
  for (const auto& result : creates) {
    if (result.ok()) {
      ++won;
      EXPECT_EQ(result->version, 1);
    } else {
      EXPECT_EQ(result.status().code(), StatusCode::kConflict) << result.status().ToString();
    }
  }
  EXPECT_EQ(won, 1);
}

TEST_F(DatasetStoreTest, LargeBatchesAreServedInSlicesUnderTheLimit) {
  DatasetStoreOptions options;
  options.max_batch_bytes_served = kSmallLimit;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  // One batch of about 1.5 MB and a small one, with custom metadata on both.
  Upload upload{MixedSchema(), {}, nullptr};
  ArrayPtr colors = Colors();
  upload.batches = {MixedBatch(0, 20000, 60, colors), MixedBatch(20000, 10, 2, colors)};
  auto bytes = t::WriteIpc(upload.schema, upload.batches, false, {}, {{"end", "yes"}});
  ASSERT_TRUE(bytes.ok());
  auto info = PutBytes(*store, "big", *bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->rows, 20010);
  auto dataset = store->Get("big");
  ASSERT_TRUE(dataset.ok());
  for (Compression compression : {Compression::kNone, Compression::kZstd, Compression::kLz4Frame}) {
    SCOPED_TRACE(static_cast<int>(compression));
    auto served = ReadDataset(**dataset, compression);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_GT(served->read.batches.size(), 20u);
    for (const IpcMessage& message : served->messages) {
      EXPECT_LE(message.framed_size(), kSmallLimit);
    }
    EXPECT_TRUE(SameRows(upload.schema, upload.batches, served->read.batches));
    // Each uploaded batch's metadata stays on the slice that ends it.
    int64_t rows = 0;
    for (size_t i = 0; i < served->read.batches.size(); ++i) {
      rows += served->read.batches[i].length;
      const bool ends_a_batch = rows == 20000 || rows == 20010;
      const arrow::KeyValueMetadata expected =
          ends_a_batch ? arrow::KeyValueMetadata{{"end", "yes"}} : arrow::KeyValueMetadata{};
      EXPECT_EQ(served->batch_infos[i].custom_metadata, expected) << "batch " << i;
    }
  }
}

DataType TypeWith(arrow::TypeId id, auto&& set) {
  DataType type = t::Typed(id);
  set(type);
  return type;
}

// The types MixedBatch does not have, `rows` rows of each: slicing them must
// keep every value (the body writer rebases offsets and child ranges).
Upload OtherTypes(int64_t rows) {
  using arrow::MakeField;
  Upload upload;
  std::vector<ArrayPtr> columns;
  auto add = [&](Field field, ArrayPtr array) {
    upload.schema.fields.push_back(std::move(field));
    columns.push_back(std::move(array));
  };
  std::vector<std::optional<std::string>> fixed, strings, keys;
  std::vector<std::optional<int16_t>> pairs;
  std::vector<std::optional<int64_t>> values;
  std::vector<std::optional<int>> map_sizes, list_sizes;
  std::vector<bool> pair_valid, entry_valid;
  std::vector<int8_t> type_ids;
  std::vector<std::optional<int32_t>> union_ints, dictionary_indices;
  std::vector<std::optional<std::string>> union_strings;
  for (int64_t r = 0; r < rows; ++r) {
    fixed.push_back(r % 9 == 1 ? std::nullopt : std::optional(std::string(5, 'A' + r % 26)));
    strings.push_back(r % 8 == 2 ? std::nullopt : std::optional("large-" + std::to_string(r)));
    pair_valid.push_back(r % 10 != 3);
    pairs.push_back(static_cast<int16_t>(r));
    pairs.push_back(r % 4 == 0 ? std::nullopt : std::optional(static_cast<int16_t>(-r)));
    const int entries = static_cast<int>(r % 3);
    map_sizes.push_back(r % 12 == 5 ? std::nullopt : std::optional(entries));
    for (int e = 0; e < (r % 12 == 5 ? 0 : entries); ++e) {
      keys.push_back("k" + std::to_string(r) + "." + std::to_string(e));
      values.push_back(e == 1 ? std::nullopt : std::optional(r * 100 + e));
      entry_valid.push_back(true);
    }
    type_ids.push_back(static_cast<int8_t>(r % 3 == 0 ? 7 : 5));
    union_ints.push_back(r % 5 == 0 ? std::nullopt : std::optional(static_cast<int32_t>(r)));
    union_strings.push_back("u" + std::to_string(r));
    list_sizes.push_back(r % 7 == 6 ? std::nullopt : std::optional(1));
    dictionary_indices.push_back(static_cast<int32_t>(r % 4));
  }
  add(MakeField("null", arrow::NullType()), t::Nulls(rows));
  add(MakeField("fsb5",
                TypeWith(arrow::TypeId::kFixedSizeBinary, [](DataType& d) { d.byte_width = 5; })),
      t::FixedBytes(5, fixed));
  add(MakeField("large_utf8", t::Typed(arrow::TypeId::kLargeUtf8)), t::Strings<int64_t>(strings));
  add(MakeField("binary", arrow::BinaryType()), t::Strings(strings));
  add(MakeField("fixed_list", TypeWith(arrow::TypeId::kFixedSizeList,
                                       [](DataType& d) {
                                         d.list_size = 2;
                                         d.children = {MakeField("item", arrow::Int16())};
                                       })),
      t::WithValidity({}, pair_valid, {t::Primitive<int16_t>(pairs)}));
  add(MakeField("map", TypeWith(arrow::TypeId::kMap,
                                [](DataType& d) {
                                  d.children = {MakeField(
                                      "entries",
                                      arrow::StructType({MakeField("key", arrow::Utf8Type(), false),
                                                         MakeField("value", arrow::Int64())}),
                                      false)};
                                })),
      t::Lists(map_sizes,
               t::Structs(entry_valid, {t::Strings(keys), t::Primitive<int64_t>(values)})));
  add(MakeField(
          "sparse_union",
          TypeWith(
              arrow::TypeId::kUnion,
              [](DataType& d) {
                d.union_mode = arrow::UnionMode::kSparse;
                d.union_type_ids = {5, 7};
                d.children = {MakeField("i", arrow::Int32()), MakeField("s", arrow::Utf8Type())};
              })),
      t::SparseUnion(type_ids, {t::Primitive<int32_t>(union_ints), t::Strings(union_strings)}));
  Field item = DictionaryField("item", 4);
  add(MakeField("list_of_dict", arrow::ListType(item)),
      t::Lists(list_sizes, t::WithDictionary(t::Primitive<int32_t>(dictionary_indices), Colors())));
  upload.batches.push_back(RecordBatch{nullptr, rows, std::move(columns)});
  auto bytes = t::WriteIpc(upload.schema, upload.batches, false);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  upload.bytes = *bytes;
  return upload;
}

TEST_F(DatasetStoreTest, EveryOtherTypeIsSlicedToo) {
  DatasetStoreOptions options;
  options.max_batch_bytes_served = 16 * 1024;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload upload = OtherTypes(5000);
  auto info = PutBytes(*store, "types", upload.bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto dataset = store->Get("types");
  ASSERT_TRUE(dataset.ok());
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    auto served = ReadDataset(**dataset, compression);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    EXPECT_GT(served->read.batches.size(), 5u);
    for (const IpcMessage& message : served->messages) {
      EXPECT_LE(message.framed_size(), options.max_batch_bytes_served);
    }
    EXPECT_TRUE(SameRows(upload.schema, upload.batches, served->read.batches));
  }
}

// The body writer writes a dense union's children whole in every slice (its
// offsets point anywhere into them), so slicing cannot make such a column
// smaller: a batch whose dense union children pass the limit is refused
// with the sizes, and stored when they fit.
TEST_F(DatasetStoreTest, DenseUnionChildrenMustFitTheLimit) {
  Schema schema{
      {arrow::MakeField("dense", TypeWith(arrow::TypeId::kUnion,
                                          [](DataType& d) {
                                            d.union_mode = arrow::UnionMode::kDense;
                                            d.children = {arrow::MakeField("i", arrow::Int64())};
                                          }))},
      {}};
  auto batch_of = [](int64_t rows) {
    std::vector<int8_t> type_ids(static_cast<size_t>(rows), 0);
    std::vector<int32_t> offsets;
    std::vector<std::optional<int64_t>> values;
    for (int64_t r = 0; r < rows; ++r) {
      offsets.push_back(static_cast<int32_t>(r));
      values.push_back(r);
    }
    return RecordBatch{
        nullptr, rows, {t::DenseUnion(type_ids, offsets, {t::Primitive<int64_t>(values)})}};
  };
  DatasetStoreOptions options;
  options.max_batch_bytes_served = 16 * 1024;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  std::vector<RecordBatch> small = {batch_of(1000), batch_of(1000)};
  auto bytes = t::WriteIpc(schema, small, false);
  ASSERT_TRUE(bytes.ok());
  auto stored = PutBytes(*store, "dense", *bytes);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  auto dataset = store->Get("dense");
  ASSERT_TRUE(dataset.ok());
  auto served = ReadDataset(**dataset, Compression::kNone);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(SameRows(schema, small, served->read.batches));

  bytes = t::WriteIpc(schema, {batch_of(4000)}, false);
  ASSERT_TRUE(bytes.ok());
  auto refused = PutBytes(*store, "dense", *bytes);
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("over the limit of 16384"), std::string::npos)
      << refused.status().ToString();
}

TEST_F(DatasetStoreTest, RowsAndDictionariesOverTheLimitAreRefused) {
  DatasetStoreOptions options;
  options.max_batch_bytes_served = kSmallLimit;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload good = MakeUpload(0, 1, 10, 1);
  ASSERT_TRUE(PutBytes(*store, "t", good.bytes).ok());
  const auto files = Files();

  Schema one_column{{arrow::MakeField("s", arrow::Utf8Type())}, {}};
  std::vector<RecordBatch> huge_row = {
      {nullptr, 3, {t::Strings({"small", std::string(100 * 1024, 'x'), "small"})}}};
  auto bytes = t::WriteIpc(one_column, huge_row, false);
  ASSERT_TRUE(bytes.ok());
  auto refused = PutBytes(*store, "t", *bytes);
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("row 1 needs"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("limit of 65536"), std::string::npos);

  Schema dictionary_column{{DictionaryField("d", 3)}, {}};
  std::vector<std::optional<std::string>> words;
  for (int i = 0; i < 5000; ++i) words.push_back("word-" + std::to_string(i) + "-padding-padding");
  auto dictionary = t::Strings(words);
  std::vector<RecordBatch> big_dictionary = {
      {nullptr, 2, {t::WithDictionary(t::Primitive<int32_t>({0, 4999}), dictionary)}},
      {nullptr, 2, {t::WithDictionary(t::Primitive<int32_t>({1, 2}), dictionary)}}};
  bytes = t::WriteIpc(dictionary_column, big_dictionary, false);
  ASSERT_TRUE(bytes.ok());
  // Cut inside the second batch: the dictionary is refused at the first one,
  // before the rest of the upload is read.
  auto cut = Buffer::CopyOf((*bytes)->bytes().first(static_cast<size_t>((*bytes)->size() - 40)));
  refused = PutBytes(*store, "t", cut);
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
  EXPECT_NE(
      refused.status().message().find("upload batch 0: the dictionary of field 'd' (id 3) needs"),
      std::string::npos)
      << refused.status().ToString();

  EXPECT_EQ(Files(), files);
  ExpectServes(*store, "t", good, 1);
}

TEST_F(DatasetStoreTest, ReplacedDictionariesAreRefused) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload good = MakeUpload(0, 1, 10, 1);
  ASSERT_TRUE(PutBytes(*store, "t", good.bytes).ok());
  Schema schema{{DictionaryField("d", 7)}, {}};
  auto first = t::WithDictionary(t::Primitive<int32_t>({0, 1}), t::Strings({"a", "b"}));
  auto second = t::WithDictionary(t::Primitive<int32_t>({2, 0}), t::Strings({"x", "y", "z"}));
  auto bytes = t::WriteIpc(schema, {{nullptr, 2, {first}}, {nullptr, 2, {second}}}, false);
  ASSERT_TRUE(bytes.ok());
  auto refused = PutBytes(*store, "t", *bytes);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("upload batch 1: a dictionary is replaced"),
            std::string::npos)
      << refused.status().ToString();
  ExpectServes(*store, "t", good, 1);
  // The same dictionary across batches is stored once and fine.
  auto same = t::WriteIpc(schema, {{nullptr, 2, {first}}, {nullptr, 2, {first}}}, false);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(PutBytes(*store, "t", *same).ok());
}

TEST_F(DatasetStoreTest, ZstdReadsAreCompressedAndEqual) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 3, 2000, 50);  // repetitive strings compress well
  ASSERT_TRUE(PutBytes(*store, "z", upload.bytes).ok());
  auto dataset = store->Get("z");
  ASSERT_TRUE(dataset.ok());
  auto plain = ReadDataset(**dataset, Compression::kNone);
  auto zstd = ReadDataset(**dataset, Compression::kZstd);
  ASSERT_TRUE(plain.ok() && zstd.ok()) << zstd.status().ToString();
  EXPECT_TRUE(SameRows(upload.schema, upload.batches, zstd->read.batches));
  ASSERT_EQ(zstd->batch_infos.size(), 3u);
  for (const auto& info : zstd->batch_infos) EXPECT_EQ(info.compression, Compression::kZstd);
  for (const auto& info : plain->batch_infos) EXPECT_EQ(info.compression, Compression::kNone);
  int64_t plain_bytes = 0, zstd_bytes = 0;
  for (const auto& m : plain->messages) plain_bytes += m.framed_size();
  for (const auto& m : zstd->messages) zstd_bytes += m.framed_size();
  EXPECT_LT(zstd_bytes * 2, plain_bytes);
}

TEST_F(DatasetStoreTest, DropRemovesEveryVersion) {
  DatasetStoreOptions options;
  options.keep_versions = 3;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload upload = MakeUpload(0, 1, 30, 2);
  ASSERT_TRUE(PutBytes(*store, "t", upload.bytes).ok());
  ASSERT_TRUE(PutBytes(*store, "t", upload.bytes).ok());
  auto held = store->Get("t");
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(store->Drop("t").ok());
  EXPECT_TRUE(Files().empty());
  EXPECT_TRUE(store->List().empty());
  EXPECT_EQ(store->Get("t").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Drop("t").code(), StatusCode::kNotFound);
  auto served = ReadDataset(**held, Compression::kNone);
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(SameRows(upload.schema, upload.batches, served->read.batches));
  auto again = PutBytes(*store, "t", upload.bytes, 0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->version, 1);
}

// A file size limit makes writes fail as a full disk does (EFBIG instead of
// ENOSPC), in a child process so that the limit does not reach the tests.
TEST_F(DatasetStoreTest, AFullDiskIsAnIoErrorAndStoresNothing) {
  Upload good = MakeUpload(0, 1, 10, 1);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    ASSERT_TRUE(PutBytes(*store, "t", good.bytes).ok());
  }
  const auto files = Files();
  Upload big = MakeUpload(0, 4, 5000, 100);  // about 2.5 MB
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {
      256 * 1024, 256 * 1024
    };
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    auto store = DatasetStore::Open(dir_);
    if (!store.ok()) ::_exit(11);
    auto put = PutBytes(**store, "t", big.bytes);
    if (put.ok()) ::_exit(12);
    if (put.status().code() != StatusCode::kIoError) ::_exit(13);
    const std::string expected = "writing its file in " + dir_.string() + ": File too large";
    if (put.status().message().find(expected) == std::string::npos) ::_exit(14);
    if (put.status().message().find("nothing stored") == std::string::npos) ::_exit(16);
    auto current = (*store)->Get("t");
    if (!current.ok() || (*current)->info().version != 1) ::_exit(15);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Files(), files);
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->open_notes().empty());
  ExpectServes(*store, "t", good, 1);
}

// Reads the upload from a pipe and reports (one byte on `progress`) once
// `report_after` bytes have come through.
class ReportingPipe final : public arrow::InputStream {
 public:
  ReportingPipe(int fd, int progress, int64_t report_after)
      : in_(arrow::FileInputStream::FromFd(fd)), progress_(progress), report_after_(report_after) {}
  Result<int64_t> Read(std::span<uint8_t> out) override {
    ZKA_ASSIGN_OR_RETURN(int64_t n, in_->Read(out));
    read_ += n;
    if (!reported_ && read_ >= report_after_) {
      reported_ = true;
      const char byte = 1;
      if (::write(progress_, &byte, 1) != 1) return Status::IoError("progress pipe");
    }
    return n;
  }

 private:
  std::unique_ptr<arrow::FileInputStream> in_;
  int progress_;
  int64_t report_after_;
  int64_t read_ = 0;
  bool reported_ = false;
};

// The size of the unnamed file a process holds open in `dir`, or -1.
int64_t UnnamedFileSize(pid_t pid, const fs::path& dir) {
  std::error_code error;
  const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(fds, error)) {
    std::error_code link_error;
    fs::path target = fs::read_symlink(entry.path(), link_error);
    if (link_error) continue;
    const std::string text = target.string();
    // O_TMPFILE files show as "DIR/#INODE (deleted)".
    if (text.starts_with((dir / "#").string()) && text.ends_with(" (deleted)")) {
      struct stat info {};
      if (::stat(entry.path().c_str(), &info) == 0) return info.st_size;
    }
  }
  return -1;
}

TEST_F(DatasetStoreTest, AProcessKilledDuringAnUploadLeavesNothing) {
  Upload good = MakeUpload(0, 1, 10, 1);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    ASSERT_TRUE(PutBytes(*store, "t", good.bytes).ok());
  }
  const auto files = Files();
  // About 4 MB in 8 batches; 3 MB of it is sent, well past the writer's
  // 1 MiB buffer, so the unnamed file has data when the process dies.
  Upload big = MakeUpload(0, 8, 4000, 120);
  const int64_t sent = big.bytes->size() * 3 / 4;
  int data[2], progress[2];
  ASSERT_EQ(::pipe(data), 0);
  ASSERT_EQ(::pipe(progress), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(data[1]);
    ::close(progress[0]);
    auto store = DatasetStore::Open(dir_);
    if (!store.ok()) ::_exit(11);
    ReportingPipe in(data[0], progress[1], sent);
    (void)(*store)->Put("t", in);  // blocks for the rest, which never comes
    ::_exit(12);
  }
  ::close(data[0]);
  ::close(progress[1]);
  const auto bytes = big.bytes->bytes().first(static_cast<size_t>(sent));
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(data[1], bytes.data() + done, bytes.size() - done);
    ASSERT_GT(n, 0);
    done += static_cast<size_t>(n);
  }
  struct pollfd wait_for {
    progress[0], POLLIN, 0
  };
  ASSERT_EQ(::poll(&wait_for, 1, 120'000), 1) << "the child never read the upload";
  // The child is blocked reading; what it has parsed is written or about to
  // be. Wait (bounded) until its unnamed file holds more than the buffer.
  int64_t size = -1;
  for (int i = 0; i < 1200 && size <= (int64_t{1} << 20); ++i) {
    size = UnnamedFileSize(child, fs::canonical(dir_));
    if (size <= (int64_t{1} << 20)) ::usleep(100'000);
  }
  EXPECT_GT(size, int64_t{1} << 20) << "no unnamed file with data in the child";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  ::close(data[1]);
  ::close(progress[0]);

  EXPECT_EQ(Files(), files);
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->open_notes().empty());
  EXPECT_EQ(store->List().size(), 1u);
  ExpectServes(*store, "t", good, 1);
}

TEST_F(DatasetStoreTest, UploadsAreReadWithinTheReadBudget) {
  DatasetStoreOptions options;
  options.read.max_batch_bytes = 64 * 1024;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload small = MakeUpload(0, 1, 10, 1);
  ASSERT_TRUE(PutBytes(*store, "t", small.bytes).ok());
  const auto files = Files();
  Upload big = MakeUpload(0, 2, 5000, 40);  // batches of about 300 KB
  auto refused = PutBytes(*store, "t", big.bytes);
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("upload batch 0"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(Files(), files);
  ExpectServes(*store, "t", small, 1);
}

// `upload`'s batches as a zstd-compressed stream: the values repeat, so it
// is a small fraction of what it decodes to.
std::shared_ptr<const Buffer> Zstd(const Upload& upload) {
  auto bytes =
      t::WriteIpc(upload.schema, upload.batches, false, {.compression = Compression::kZstd});
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : nullptr;
}

// The upload limit bounds what an upload decodes to and what it stores, not
// only the bytes received: a small compressed upload of large values is
// refused, before one batch is decoded past the limit, or once its stored
// file would pass it.
TEST_F(DatasetStoreTest, UploadsDecodingPastTheUploadLimitAreRefused) {
  constexpr int64_t kLimit = 256 * 1024;
  DatasetStoreOptions options;
  options.max_upload_bytes = kLimit;
  auto store = OpenStore(options);
  ASSERT_TRUE(store);
  Upload small = MakeUpload(0, 3, 100, 100);
  auto stored = PutBytes(*store, "t", Zstd(small));
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_LE(stored->bytes, kLimit);
  const auto files = Files();
  struct Case {
    std::string what;
    Upload upload;
    std::string expected;  // in the message
  };
  const std::vector<Case> cases = {
      // About 2 MB decoded.
      {"one large batch", MakeUpload(0, 1, 2000, 1000), "upload batch 0: decoded within"},
      // About 100 KB decoded each: the third does not fit.
      {"many batches", MakeUpload(0, 20, 100, 1000), "stored uncompressed, the upload needs"},
  };
  for (const Case& big : cases) {
    std::shared_ptr<const Buffer> bytes = Zstd(big.upload);
    ASSERT_TRUE(bytes);
    ASSERT_LT(bytes->size(), kLimit / 2) << big.what;  // received within the limit
    auto refused = PutBytes(*store, "t", bytes);
    ASSERT_FALSE(refused.ok()) << big.what;
    const std::string message = refused.status().ToString();
    EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << big.what << ": " << message;
    for (const std::string& part :
         {big.expected, std::string("the upload limit of 262144 bytes (--max-upload-mb)"),
          std::string("nothing stored")}) {
      EXPECT_NE(message.find(part), std::string::npos) << big.what << ": " << message;
    }
    EXPECT_EQ(Files(), files) << big.what;
    ExpectServes(*store, "t", small, 1);
  }
}

TEST_F(DatasetStoreTest, OptionsAreChecked) {
  DatasetStoreOptions options;
  options.keep_versions = -1;
  EXPECT_EQ(DatasetStore::Open(dir_, options).status().code(), StatusCode::kInvalidArgument);
  options.keep_versions = 1;
  options.max_batch_bytes_served = 100;
  auto refused = DatasetStore::Open(dir_, options);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("found 100"), std::string::npos);
  options = {};
  options.max_upload_bytes = 0;
  refused = DatasetStore::Open(dir_, options);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("found 0"), std::string::npos);
}

}  // namespace
}  // namespace zkarrow::serve
