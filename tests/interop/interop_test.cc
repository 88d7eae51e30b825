// Interoperability with independent Arrow implementations from npm, both
// directions: what zkarrow writes (re-encoded gold files, live znode tables),
// Arrow JS, Polars and flechette read value for value as zkarrow does; what
// Arrow JS and Polars write, zkarrow reads as they do. Values are compared
// as canonical dumps (tests/interop/canonical.mjs, canonical_dump.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datadir_files.h"
#include "interop/canonical_dump.h"
#include "sampletree/sample_tree.h"
#include "support/prerequisite.h"
#include "support/znode_rows.h"
#include "zk/client.h"
#include "zkserver/zookeeper_cluster.h"

namespace zkarrow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Dump = std::vector<json>;  // the fields line, then one line per row

const fs::path kInteropDir = ZKARROW_SOURCE_DIR "/tests/interop";
const fs::path kGoldDir = ZKARROW_SOURCE_DIR "/../shared/arrow-testing/1.0.0-littleendian";

std::string Quote(const std::string& text) { return "'" + text + "'"; }

// Why the npm oracles cannot run here, or "" when they can.
std::string MissingNode() {
  if (!zkarrow::testing::RunCommand("command -v node >/dev/null").ok()) return "node not found";
  for (const char* package :
       {"apache-arrow", "nodejs-polars", "@uwdata/flechette", "lz4-napi", "fzstd"}) {
    if (!fs::exists(kInteropDir / "node_modules" / package)) {
      return std::string("tests/interop/node_modules/") + package +
             " missing: run scripts/setup (npm install in tests/interop)";
    }
  }
  return "";
}

#define SKIP_WITHOUT_NODE() \
  if (std::string missing = MissingNode(); !missing.empty()) ZKA_MISSING_PREREQUISITE() << missing

// The command running one of the scripts here.
std::string Node(const std::string& script, const std::string& args) {
  return "node " + Quote((kInteropDir / script).string()) + " " + args;
}

// read_with.mjs READER FILE...: the dump of each file, by path.
std::map<std::string, Dump> ReadWith(const std::string& reader,
                                     const std::vector<fs::path>& files) {
  std::string command = Node("read_with.mjs", reader);
  for (const fs::path& file : files) command += " " + Quote(file.string());
  auto output = zkarrow::testing::RunCommand(command);
  EXPECT_TRUE(output.ok()) << output.status().ToString();
  std::map<std::string, Dump> dumps;
  Dump* current = nullptr;
  for (json& line : zkarrow::testing::ParseJsonLines(output.ok() ? *output : "")) {
    if (line.is_object() && line.contains("file")) {
      current = &dumps[line["file"].get<std::string>()];
    } else if (current != nullptr) {
      current->push_back(std::move(line));
    }
  }
  return dumps;
}

// "" when equal; else the first differing line of each.
std::string DiffDumps(const Dump& expected, const Dump& actual, bool names_only = false) {
  if (expected.empty() || actual.empty()) return "a dump is empty";
  auto names_of = [](const json& fields_line) {
    std::vector<std::string> names;
    for (const json& field : fields_line["fields"]) names.push_back(field["name"]);
    return names;
  };
  if (names_only ? names_of(expected[0]) != names_of(actual[0]) : expected[0] != actual[0]) {
    return "fields differ:\n  expected " + expected[0].dump() + "\n  actual   " + actual[0].dump();
  }
  for (size_t i = 1; i < std::min(expected.size(), actual.size()); ++i) {
    if (expected[i] != actual[i]) {
      return "row " + std::to_string(i - 1) + " differs:\n  expected " + expected[i].dump() +
             "\n  actual   " + actual[i].dump();
    }
  }
  if (expected.size() != actual.size()) {
    return "row counts differ: expected " + std::to_string(expected.size() - 1) + ", got " +
           std::to_string(actual.size() - 1);
  }
  return "";
}

struct Encoding {
  std::string format;       // file | stream
  std::string compression;  // none | lz4 | zstd
  std::string Suffix() const { return "." + compression + "." + format; }
};
const std::vector<Encoding> kEncodings = {{"file", "none"},  {"file", "lz4"},
                                          {"file", "zstd"},  {"stream", "none"},
                                          {"stream", "lz4"}, {"stream", "zstd"}};

std::string IpcOptions(const Encoding& encoding) {
  return " --format " + encoding.format + " --compression " + encoding.compression;
}

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Parameterized tests are named "Test/param": keep that one directory.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ =
        fs::temp_directory_path() / ("zkarrow-interop-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // `zkarrow convert` of `input` into every encoding (with `options`, e.g.
  // --compat 1.0, named in the outputs' names).
  std::vector<fs::path> ConvertToAllEncodings(const fs::path& input,
                                              const std::string& options = "") {
    std::vector<fs::path> outputs;
    std::string tag = options;
    std::replace_if(
        tag.begin(), tag.end(), [](char c) { return !std::isalnum(c); }, '_');
    for (const Encoding& encoding : kEncodings) {
      fs::path out = dir_ / (input.stem().string() + tag + encoding.Suffix());
      auto ran = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " convert " +
                                              Quote(input.string()) + " " + Quote(out.string()) +
                                              IpcOptions(encoding) + " " + options + " 2>&1");
      EXPECT_TRUE(ran.ok()) << ran.status().ToString();
      outputs.push_back(out);
    }
    return outputs;
  }

  fs::path dir_;
};

// -- zkarrow writes, the npm readers read: gold files re-encoded by zkarrow.

struct GoldReader {
  std::string reader;
  std::vector<std::string> cases;  // generated_<case>.arrow_file
};

// The gold files at hand are those of arrow-testing's 1.0.0-littleendian
// (no unions, intervals, maps or extension types). Arrow JS and flechette
// read all of them. nodejs-polars reads decimals but cannot hand their
// values to JS, so Polars skips generated_decimal.
const std::vector<std::string> kAllGold = {
    "primitive", "primitive_large_offsets", "primitive_zerolength", "datetime",   "decimal",
    "nested",    "nested_large_offsets",    "recursive_nested",     "dictionary", "null"};
std::vector<std::string> Without(std::vector<std::string> cases, const std::string& dropped) {
  std::erase(cases, dropped);
  return cases;
}

// Names the parameter in test output (else gtest prints its bytes).
void PrintTo(const GoldReader& param, std::ostream* out) { *out << param.reader; }

class GoldReencodedTest : public InteropTest, public ::testing::WithParamInterface<GoldReader> {};

TEST_P(GoldReencodedTest, ReaderSeesTheGoldValues) {
  SKIP_WITHOUT_NODE();
  if (!fs::exists(kGoldDir))
    ZKA_MISSING_PREREQUISITE() << kGoldDir << " missing (arrow-testing gold files)";
  const GoldReader& param = GetParam();
  std::vector<fs::path> files;
  std::vector<std::pair<fs::path, fs::path>> pairs;  // (gold, re-encoded)
  for (const std::string& name : param.cases) {
    fs::path gold = kGoldDir / ("generated_" + name + ".arrow_file");
    files.push_back(gold);
    for (const fs::path& out : ConvertToAllEncodings(gold)) {
      files.push_back(out);
      pairs.emplace_back(gold, out);
    }
  }
  std::map<std::string, Dump> dumps = ReadWith(param.reader, files);
  for (const auto& [gold, out] : pairs) {
    EXPECT_EQ(DiffDumps(dumps[gold.string()], dumps[out.string()]), "")
        << param.reader << " reading " << out.filename() << " (zkarrow convert of "
        << gold.filename() << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Readers, GoldReencodedTest,
                         ::testing::Values(GoldReader{"arrowjs", kAllGold},
                                           GoldReader{"flechette", kAllGold},
                                           GoldReader{"polars", Without(kAllGold, "decimal")}),
                         [](const auto& test) { return test.param.reader; });

// The two readers that keep every type exact agree with each other, so the
// canonical form means the same thing in both.
TEST_F(InteropTest, ArrowJsAndFlechetteAgreeOnGold) {
  SKIP_WITHOUT_NODE();
  if (!fs::exists(kGoldDir))
    ZKA_MISSING_PREREQUISITE() << kGoldDir << " missing (arrow-testing gold files)";
  std::vector<fs::path> files;
  for (const std::string& name : kAllGold)
    files.push_back(kGoldDir / ("generated_" + name + ".stream"));
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", files);
  std::map<std::string, Dump> flechette = ReadWith("flechette", files);
  for (const fs::path& file : files) {
    EXPECT_EQ(DiffDumps(arrowjs[file.string()], flechette[file.string()]), "") << file.filename();
  }
}

// -- The npm writers write, zkarrow reads.

struct Written {
  std::string writer;
  std::string args;  // write_with.mjs options
};

TEST_F(InteropTest, ZkarrowReadsWhatArrowJsAndPolarsWrite) {
  SKIP_WITHOUT_NODE();
  std::vector<Written> written = {{"arrowjs", "--format file"}, {"arrowjs", "--format stream"}};
  for (const Encoding& encoding : kEncodings) {
    written.push_back(
        {"polars",
         "--format " + encoding.format +
             (encoding.compression == "none" ? "" : " --compression " + encoding.compression)});
  }
  std::vector<fs::path> files;
  for (const Written& w : written) {
    fs::path out = dir_ / (w.writer + std::to_string(files.size()) + ".arrow");
    auto ran = zkarrow::testing::RunCommand(
        Node("write_with.mjs", w.writer + " " + Quote(out.string()) + " " + w.args));
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    files.push_back(out);
  }
  // Arrow JS is the reference reading of each file; the writers agree.
  std::map<std::string, Dump> expected = ReadWith("arrowjs", files);
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(written[i].writer + " " + written[i].args);
    EXPECT_EQ(DiffDumps(expected[files[0].string()], expected[files[i].string()], true), "");
    auto zkarrow_reading = interop::CanonicalDump(files[i]);
    ASSERT_TRUE(zkarrow_reading.ok()) << zkarrow_reading.status().ToString();
    EXPECT_EQ(DiffDumps(expected[files[i].string()], *zkarrow_reading, true), "");
    // zkarrow cat prints every row.
    auto cat = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " cat " +
                                            Quote(files[i].string()) + " --format json");
    ASSERT_TRUE(cat.ok()) << cat.status().ToString();
    EXPECT_EQ(zkarrow::testing::ParseJsonLines(*cat).size(),
              expected[files[i].string()].size() - 1);
  }
}

// -- A live znode table: zkarrow snapshot, read by Arrow JS and Polars.

class LiveZnodeTableTest : public InteropTest {
 protected:
  static void SetUpTestSuite() {
    if (!MissingNode().empty()) return;
    auto cluster = zkserver::ZooKeeperCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = std::move(*cluster).release();
    zk::ClientOptions options;
    options.connect_string = cluster_->ConnectString();
    auto client = zk::Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    owner_ = std::move(*client).release();  // its session owns the ephemerals
    Status loaded = sampletree::LoadSampleTree(
        *owner_, sampletree::GenerateSampleTree({.target_nodes = 600, .large_file_bytes = 4000}));
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  }
  static void TearDownTestSuite() {
    delete owner_;
    delete cluster_;
  }

  static zkserver::ZooKeeperCluster* cluster_;
  static zk::Client* owner_;
};

zkserver::ZooKeeperCluster* LiveZnodeTableTest::cluster_ = nullptr;
zk::Client* LiveZnodeTableTest::owner_ = nullptr;

TEST_F(LiveZnodeTableTest, ArrowJsAndPolarsReadWhatZkarrowReads) {
  SKIP_WITHOUT_NODE();
  ASSERT_NE(cluster_, nullptr);
  std::vector<fs::path> files;
  for (const Encoding& encoding : kEncodings) {
    fs::path out = dir_ / ("znodes" + encoding.Suffix());
    auto ran = zkarrow::testing::RunCommand(
        std::string(ZKARROW_BINARY) + " snapshot --zk " + cluster_->ConnectString() + " -o " +
        Quote(out.string()) + " --acl --typed" + IpcOptions(encoding) + " 2>&1");
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    files.push_back(out);
  }
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", files);
  std::map<std::string, Dump> polars = ReadWith("polars", files);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto expected = interop::CanonicalDump(file);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    EXPECT_GT(expected->size(), 600u);
    EXPECT_EQ(DiffDumps(*expected, arrowjs[file.string()], true), "") << "Arrow JS";
    EXPECT_EQ(DiffDumps(*expected, polars[file.string()], true), "") << "Polars";
  }
}

// -- The layouts added to the format after 1.0 (issue 17).

// What a Polars user writes with the defaults (df.writeIPC: Utf8View and
// BinaryView, nested and dictionary-encoded ones included; zstd too) and
// writeIPCStream: zkarrow reads them as flechette does, cat prints them,
// and what convert writes (views kept, or --compat 1.0) Polars, flechette
// and Arrow JS read back as they read the original.
TEST_F(InteropTest, PolarsDefaultFilesReadConvertAndReadBack) {
  SKIP_WITHOUT_NODE();
  const std::vector<std::string> writes = {"--format file --polars-defaults",
                                           "--format file --polars-defaults --compression zstd",
                                           "--format stream"};
  std::vector<fs::path> originals;
  for (const std::string& args : writes) {
    fs::path out = dir_ / ("polars" + std::to_string(originals.size()) + ".arrow");
    auto ran = zkarrow::testing::RunCommand(
        Node("write_with.mjs", "polars " + Quote(out.string()) + " " + args));
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    originals.push_back(out);
  }
  auto inspect = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " inspect " +
                                              Quote(originals[0].string()));
  ASSERT_TRUE(inspect.ok()) << inspect.status().ToString();
  EXPECT_NE(inspect->find("text: utf8_view"), std::string::npos) << *inspect;
  EXPECT_NE(inspect->find("blob: binary_view"), std::string::npos) << *inspect;

  std::vector<fs::path> all = originals;
  std::vector<std::pair<fs::path, fs::path>> kept, compat;  // (original, converted)
  for (const fs::path& original : originals) {
    for (const fs::path& out : ConvertToAllEncodings(original)) kept.emplace_back(original, out);
    for (const fs::path& out : ConvertToAllEncodings(original, "--compat 1.0")) {
      compat.emplace_back(original, out);
    }
  }
  for (const auto& pair : kept) all.push_back(pair.second);
  for (const auto& pair : compat) all.push_back(pair.second);
  std::map<std::string, Dump> flechette = ReadWith("flechette", all);
  std::map<std::string, Dump> polars = ReadWith("polars", all);
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", all);

  for (const fs::path& original : originals) {
    SCOPED_TRACE(original.filename().string());
    auto zkarrow_reading = interop::CanonicalDump(original);
    ASSERT_TRUE(zkarrow_reading.ok()) << zkarrow_reading.status().ToString();
    EXPECT_EQ(DiffDumps(flechette[original.string()], *zkarrow_reading, true), "");
    EXPECT_EQ(DiffDumps(arrowjs[original.string()], *zkarrow_reading, true), "");
    EXPECT_EQ(zkarrow_reading->size(), 5u);
    auto cat = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " cat " +
                                            Quote(original.string()) + " --format json");
    ASSERT_TRUE(cat.ok()) << cat.status().ToString();
    EXPECT_EQ(zkarrow::testing::ParseJsonLines(*cat).size(), 4u);
  }
  for (const auto& [original, out] : kept) {
    SCOPED_TRACE(out.filename().string());
    EXPECT_EQ(DiffDumps(flechette[original.string()], flechette[out.string()]), "") << "flechette";
    EXPECT_EQ(DiffDumps(arrowjs[original.string()], arrowjs[out.string()]), "") << "Arrow JS";
    EXPECT_EQ(DiffDumps(polars[original.string()], polars[out.string()]), "") << "Polars";
  }
  for (const auto& [original, out] : compat) {
    SCOPED_TRACE(out.filename().string());
    auto inspect_out = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " inspect " +
                                                    Quote(out.string()));
    ASSERT_TRUE(inspect_out.ok());
    EXPECT_EQ(inspect_out->find("_view"), std::string::npos) << *inspect_out;
    EXPECT_EQ(DiffDumps(flechette[original.string()], flechette[out.string()], true), "")
        << "flechette";
    EXPECT_EQ(DiffDumps(flechette[original.string()], arrowjs[out.string()], true), "")
        << "Arrow JS";
    EXPECT_EQ(DiffDumps(polars[original.string()], polars[out.string()]), "") << "Polars";
  }
}

// Run-end encoded columns (int16/32/64 run ends) and decimal32/64, written
// by flechette: zkarrow reads them as flechette does; re-encoded by convert
// (file, stream, lz4, zstd) flechette reads the same types and values; with
// --compat 1.0 (plain columns, decimal128) flechette and Arrow JS read the
// same values.
TEST_F(InteropTest, FlechetteRunEndsAndNarrowDecimals) {
  SKIP_WITHOUT_NODE();
  auto ran = zkarrow::testing::RunCommand(Node("write_new_layouts.mjs", Quote(dir_.string())));
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  const std::vector<fs::path> originals = {dir_ / "flechette_file.arrow",
                                           dir_ / "flechette_stream.arrows",
                                           dir_ / "flechette_lz4.arrows"};
  std::vector<fs::path> all = originals;
  std::vector<std::pair<fs::path, fs::path>> kept, compat;
  for (const fs::path& original : originals) {
    for (const fs::path& out : ConvertToAllEncodings(original)) kept.emplace_back(original, out);
    for (const fs::path& out : ConvertToAllEncodings(original, "--compat 1.0")) {
      compat.emplace_back(original, out);
    }
  }
  std::vector<fs::path> compat_files;
  for (const auto& pair : kept) all.push_back(pair.second);
  for (const auto& pair : compat) compat_files.push_back(pair.second);
  all.insert(all.end(), compat_files.begin(), compat_files.end());
  std::map<std::string, Dump> flechette = ReadWith("flechette", all);
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", compat_files);
  for (const fs::path& original : originals) {
    SCOPED_TRACE(original.filename().string());
    ASSERT_EQ(flechette[original.string()].size(), 6u);
    EXPECT_NE(flechette[original.string()][0].dump().find("run_end_encoded<int16,utf8>"),
              std::string::npos);
    auto zkarrow_reading = interop::CanonicalDump(original);
    ASSERT_TRUE(zkarrow_reading.ok()) << zkarrow_reading.status().ToString();
    EXPECT_EQ(DiffDumps(flechette[original.string()], *zkarrow_reading, true), "");
  }
  for (const auto& [original, out] : kept) {
    EXPECT_EQ(DiffDumps(flechette[original.string()], flechette[out.string()]), "")
        << out.filename();
  }
  for (const auto& [original, out] : compat) {
    EXPECT_NE(flechette[out.string()][0].dump().find("decimal(9,2)"), std::string::npos)
        << out.filename() << ": decimal32 becomes decimal128";
    EXPECT_EQ(DiffDumps(flechette[original.string()], flechette[out.string()], true), "")
        << out.filename();
    EXPECT_EQ(DiffDumps(flechette[original.string()], arrowjs[out.string()], true), "")
        << "Arrow JS reading " << out.filename();
  }
}

// Views and list views written by zkarrow (Arrow C++'s gold cases
// re-encoded in every encoding): flechette (and, for views, Arrow JS) reads
// them as it reads Arrow C++'s own files.
TEST_F(InteropTest, FlechetteReadsViewsAndListViewsZkarrowWrites) {
  SKIP_WITHOUT_NODE();
  const fs::path gold = kGoldDir.parent_path() / "cpp-21.0.0";
  if (!fs::exists(gold))
    ZKA_MISSING_PREREQUISITE() << gold << " missing (arrow-testing gold files)";
  std::vector<fs::path> files;
  std::vector<std::pair<fs::path, fs::path>> pairs;
  for (const std::string name : {"binary_view", "list_view"}) {
    fs::path original = gold / ("generated_" + name + ".arrow_file");
    files.push_back(original);
    for (const fs::path& out : ConvertToAllEncodings(original)) {
      files.push_back(out);
      pairs.emplace_back(original, out);
    }
  }
  std::map<std::string, Dump> flechette = ReadWith("flechette", files);
  // Arrow JS reads views (not list views).
  std::vector<fs::path> views(files.begin(), files.begin() + 1 + kEncodings.size());
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", views);
  for (const auto& [original, out] : pairs) {
    EXPECT_GT(flechette[original.string()].size(), 100u);
    EXPECT_EQ(DiffDumps(flechette[original.string()], flechette[out.string()]), "")
        << out.filename();
    if (arrowjs.count(out.string()) != 0) {
      EXPECT_EQ(DiffDumps(arrowjs[original.string()], arrowjs[out.string()]), "")
          << "Arrow JS reading " << out.filename();
    }
  }
  EXPECT_EQ(arrowjs.size(), views.size());
}

// snapshot --string-view (path, name, parent as utf8_view) and convert
// --string-view: the same rows as the default table, for flechette and
// Polars, across more than one batch.
TEST_F(InteropTest, StringViewTablesReadLikeTheDefault) {
  SKIP_WITHOUT_NODE();
  const fs::path snapshots = dir_ / "snapshots" / "version-2";
  fs::create_directories(snapshots);
  znodes::testing::WriteLateKindsSnapshot(snapshots, znodes::testing::kRowsPastTheFirstBatch);
  auto snapshot = [&](const std::string& name, const std::string& options) {
    fs::path out = dir_ / name;
    auto ran = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " snapshot --data-dir " +
                                            Quote(snapshots.string()) + " -o " +
                                            Quote(out.string()) + " " + options + " 2>&1");
    EXPECT_TRUE(ran.ok()) << ran.status().ToString();
    return out;
  };
  const fs::path plain = snapshot("plain.arrow", "");
  const fs::path converted = dir_ / "converted.arrow";
  auto ran = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " convert " +
                                          Quote(plain.string()) + " " + Quote(converted.string()) +
                                          " --string-view 2>&1");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  const std::vector<fs::path> views = {
      snapshot("views.arrow", "--string-view"),
      snapshot("views-zstd.arrows", "--string-view --format stream --compression zstd"), converted};
  auto inspect = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " inspect " +
                                              Quote(views[0].string()));
  ASSERT_TRUE(inspect.ok());
  for (const char* column : {"path: utf8_view not null", "name: utf8_view not null",
                             "parent: utf8_view", "error: utf8"}) {
    EXPECT_NE(inspect->find(column), std::string::npos) << column << " in\n" << *inspect;
  }
  std::vector<fs::path> files = views;
  files.push_back(plain);
  std::map<std::string, Dump> flechette = ReadWith("flechette", files);
  std::map<std::string, Dump> polars = ReadWith("polars", files);
  // More rows than one batch holds (and a header line).
  EXPECT_GT(flechette[plain.string()].size(), static_cast<size_t>(znodes::kRowsPerBatch) + 1);
  for (const fs::path& file : views) {
    EXPECT_EQ(DiffDumps(flechette[plain.string()], flechette[file.string()], true), "")
        << "flechette reading " << file.filename();
    EXPECT_EQ(DiffDumps(polars[plain.string()], polars[file.string()]), "")
        << "Polars reading " << file.filename();
  }
}

// -- Offline tables past the first batch: dictionary values (txnlog types,
// node kinds, value types) that first appear after the first batch's rows,
// in files and streams, read by Arrow JS and Polars (issue 10: the txnlog
// file failed).

TEST_F(InteropTest, ArrowJsAndPolarsReadOfflineTablesWhoseValuesAppearLate) {
  SKIP_WITHOUT_NODE();
  const fs::path logs = dir_ / "logs" / "version-2";
  const fs::path snapshots = dir_ / "snapshots" / "version-2";
  fs::create_directories(logs);
  fs::create_directories(snapshots);
  znodes::testing::WriteLateTypesLog(logs, znodes::testing::kRowsPastTheFirstBatch);
  znodes::testing::WriteLateKindsSnapshot(snapshots, znodes::testing::kRowsPastTheFirstBatch);
  std::vector<fs::path> files;
  for (const std::string format : {"file", "stream"}) {
    fs::path txnlog = dir_ / ("txnlog." + format);
    auto ran = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " txnlog --data-dir " +
                                            Quote(logs.string()) + " -o " + Quote(txnlog.string()) +
                                            " --format " + format + " 2>&1");
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    fs::path znodes = dir_ / ("znodes." + format);
    ran = zkarrow::testing::RunCommand(std::string(ZKARROW_BINARY) + " snapshot --data-dir " +
                                       Quote(snapshots.string()) + " --typed -o " +
                                       Quote(znodes.string()) + " --format " + format + " 2>&1");
    ASSERT_TRUE(ran.ok()) << ran.status().ToString();
    files.insert(files.end(), {txnlog, znodes});
  }
  std::map<std::string, Dump> arrowjs = ReadWith("arrowjs", files);
  std::map<std::string, Dump> polars = ReadWith("polars", files);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto expected = interop::CanonicalDump(file);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    EXPECT_GT(expected->size(), static_cast<size_t>(znodes::kRowsPerBatch) + 1);
    // The late values are there, as zkarrow reads them.
    const std::string text = [&] {
      std::string all;
      for (size_t i = expected->size() - 3; i < expected->size(); ++i) all += (*expected)[i].dump();
      return all;
    }();
    if (file.stem() == "txnlog") {
      EXPECT_NE(text.find("\"delete\""), std::string::npos) << text;
      EXPECT_NE(text.find("\"setData\""), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find("\"ttl\""), std::string::npos) << text;
      EXPECT_NE(text.find("\"container\""), std::string::npos) << text;
      EXPECT_NE(text.find("\"json\""), std::string::npos) << text;
    }
    EXPECT_EQ(DiffDumps(*expected, arrowjs[file.string()], true), "") << "Arrow JS";
    EXPECT_EQ(DiffDumps(*expected, polars[file.string()], true), "") << "Polars";
  }
}

}  // namespace
}  // namespace zkarrow
