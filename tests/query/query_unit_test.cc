// The query engine without ZooKeeper: SQL over Arrow files, the result's
// types, errors with positions, and the pieces of the optimizer that need
// no server (read_arrow rewriting, pattern prefixes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "arrow/array_access.h"
#include "arrow/io.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "query/internal/path_map.h"
#include "query/internal/result_builder.h"
#include "query/internal/sql_rewrite.h"
#include "query/internal/table_source.h"
#include "query/internal/znode_tables.h"
#include "query/query_engine.h"

namespace zkarrow::query {
namespace {

TEST(SqlRewrite, FindsCallsOutsideLiteralsAndComments) {
  const std::string sql =
      "SELECT 'read_arrow(''x'')' AS s, \"read_arrow\" -- read_arrow('no')\n"
      "FROM READ_ARROW ( 'a''b.arrow' ) JOIN /* read_arrow('no') */ read_arrow('c')";
  auto calls = internal::FindArrowCalls(sql);
  ASSERT_TRUE(calls.ok()) << calls.status().ToString();
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[0].path, "a'b.arrow");
  EXPECT_EQ((*calls)[1].path, "c");
  const std::vector<std::string> names = {"t1", "table_two"};
  const std::string replaced = internal::ReplaceArrowCalls(sql, *calls, names);
  EXPECT_NE(replaced.find("FROM t1 JOIN"), std::string::npos) << replaced;
  EXPECT_NE(replaced.find("*/ table_two"), std::string::npos) << replaced;
  // Offsets after the calls map back to the original text.
  const size_t join_replaced = replaced.find("JOIN");
  EXPECT_EQ(internal::OriginalOffset(join_replaced, *calls, names), sql.find("JOIN"));
  EXPECT_EQ(internal::OriginalOffset(3, *calls, names), 3u);
  EXPECT_EQ(internal::OriginalOffset(replaced.size(), *calls, names), sql.size());
}

TEST(SqlRewrite, FindsDatasetCallsToo) {
  const std::string sql = "SELECT * FROM Dataset('a''b') JOIN read_arrow('f') USING (x)";
  auto calls = internal::FindArrowCalls(sql);
  ASSERT_TRUE(calls.ok()) << calls.status().ToString();
  ASSERT_EQ(calls->size(), 2u);
  EXPECT_EQ((*calls)[0].function, "dataset");
  EXPECT_EQ((*calls)[0].path, "a'b");
  EXPECT_EQ((*calls)[1].function, "read_arrow");
  auto bad = internal::FindArrowCalls("SELECT * FROM dataset(name)");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("dataset('NAME')"), std::string::npos)
      << bad.status().ToString();
}

TEST(SqlRewrite, RefusesAnArgumentThatIsNotOneLiteral) {
  for (const char* sql : {"SELECT * FROM read_arrow(?)", "SELECT * FROM read_arrow('a' || 'b')",
                          "SELECT * FROM read_arrow(", "SELECT * FROM read_arrow('a"}) {
    auto calls = internal::FindArrowCalls(sql);
    EXPECT_FALSE(calls.ok()) << sql;
    if (!calls.ok()) {
      EXPECT_NE(calls.status().message().find("string literal"), std::string::npos);
    }
  }
}

TEST(SqlRewrite, QuoteIdentifierDoublesQuotes) {
  EXPECT_EQ(internal::QuoteIdentifier("plain"), "\"plain\"");
  EXPECT_EQ(internal::QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(internal::QuoteIdentifier(""), "\"\"");
}

TEST(ZnodePlan, PatternPrefixes) {
  EXPECT_EQ(internal::LikePrefix("/kafka/brokers/%"), "/kafka/brokers/");
  EXPECT_EQ(internal::LikePrefix("/a_b/%"), "/a");
  EXPECT_EQ(internal::LikePrefix("%x"), "");
  EXPECT_EQ(internal::GlobPrefix("/solr/*/state.json"), "/solr/");
  EXPECT_EQ(internal::GlobPrefix("/a[bc]"), "/a");
  EXPECT_EQ(internal::GlobPrefix("/exact"), "/exact");
}

// A one-row batch whose only column holds `value`.
arrow::RecordBatch OneRow(int32_t value) {
  auto schema = std::make_shared<arrow::Schema>();
  schema->fields = {arrow::MakeField("v", arrow::Int32())};
  auto builder = arrow::RecordBatchBuilder::Make(schema);
  EXPECT_TRUE(builder.ok());
  builder->column_as<arrow::Int32Builder>(0).Append(value);
  auto batch = builder->Finish();
  EXPECT_TRUE(batch.ok());
  return std::move(*batch);
}

// A `parent = x` lookup in the live source's node cache visits x's
// children, not x's whole subtree (for "/", every node read).
TEST(PathMap, ChildrenAreTheParentsOnly) {
  internal::PathMap<int> nodes;
  for (const char* path : {"/", "/a", "/a/b", "/a/b/c", "/a/bc", "/ab", "/a/b/c/d"}) {
    nodes[path] = static_cast<int>(std::strlen(path));
  }
  nodes["/a"] = 7;  // again: no second child of "/"
  auto children = [&](const char* parent) {
    std::vector<std::string> paths;
    for (const auto* entry : nodes.Children(parent)) paths.push_back(entry->first);
    std::sort(paths.begin(), paths.end());
    return paths;
  };
  EXPECT_EQ(children("/"), (std::vector<std::string>{"/a", "/ab"}));
  EXPECT_EQ(children("/a"), (std::vector<std::string>{"/a/b", "/a/bc"}));
  EXPECT_EQ(children("/a/b"), (std::vector<std::string>{"/a/b/c"}));
  EXPECT_TRUE(children("/a/b/c/d").empty());
  EXPECT_TRUE(children("/none").empty());
  ASSERT_NE(nodes.Find("/a"), nullptr);
  EXPECT_EQ(*nodes.Find("/a"), 7);
  EXPECT_EQ(nodes.Find("/a/"), nullptr);
  EXPECT_EQ(nodes.size(), 7u);
  nodes.Clear();
  EXPECT_EQ(nodes.Find("/a"), nullptr);
  EXPECT_TRUE(children("/").empty());
}

TEST(ProducerStream, HoldsAFewBatchesWhateverTheTotal) {
  // The producer may run ahead of the reader by the queue and the batch it
  // is handing over, never by the table.
  constexpr int kBatches = 200;
  std::atomic<int> emitted{0};
  internal::ProducerStream stream([&](internal::ProducerStream::Output& out) -> Status {
    for (int i = 0; i < kBatches; ++i) {
      ZKA_RETURN_IF_ERROR(out.Emit(OneRow(i)));
      ++emitted;
      out.CountRead(1);
    }
    return Status::Ok();
  });
  int read = 0;
  int most_ahead = 0;
  while (true) {
    auto batch = stream.Next();
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    if (!*batch) break;
    ASSERT_EQ(arrow::ReadInt(arrow::FixedWidthValue(*(*batch)->columns[0], 0, 4), true), read);
    ++read;
    most_ahead = std::max(most_ahead, emitted.load() - read);
  }
  EXPECT_EQ(read, kBatches);
  EXPECT_EQ(stream.NodesRead(), kBatches);
  EXPECT_LE(most_ahead, static_cast<int>(internal::ProducerStream::kQueuedBatches) + 1);
}

TEST(ProducerStream, AReaderThatLeavesStopsTheProducer) {
  std::atomic<int> emitted{0};
  Status returned;
  {
    internal::ProducerStream stream([&](internal::ProducerStream::Output& out) -> Status {
      // Endless unless the reader goes away.
      for (int i = 0;; ++i) {
        Status status = out.Emit(OneRow(i));
        if (!status.ok()) {
          returned = status;
          return status;
        }
        ++emitted;
      }
    });
    auto first = stream.Next();
    ASSERT_TRUE(first.ok() && *first);
  }  // the destructor returns only once the producer has
  EXPECT_EQ(returned.code(), StatusCode::kCancelled);
  EXPECT_LE(emitted.load(), static_cast<int>(internal::ProducerStream::kQueuedBatches) + 1);
}

TEST(ProducerStream, TheProducersFailureIsTheReadersAfterItsRows) {
  internal::ProducerStream stream([](internal::ProducerStream::Output& out) -> Status {
    ZKA_RETURN_IF_ERROR(out.Emit(OneRow(7)));
    return Status::Unavailable("the server went away");
  });
  auto first = stream.Next();
  ASSERT_TRUE(first.ok() && *first);
  auto second = stream.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

class ArrowQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("zkarrow-query-unit-" + std::to_string(::getpid()) + ".arrow");
    auto schema = std::make_shared<arrow::Schema>();
    schema->fields = {
        arrow::MakeField("id", arrow::Int32()), arrow::MakeField("name", arrow::Utf8Type()),
        arrow::MakeField("bytes", arrow::BinaryType()), arrow::MakeField("score", arrow::Float64()),
        arrow::MakeField("flag", arrow::BoolType())};
    auto builder = arrow::RecordBatchBuilder::Make(schema);
    ASSERT_TRUE(builder.ok());
    for (int i = 0; i < 10; ++i) {
      builder->column_as<arrow::Int32Builder>(0).Append(i);
      if (i == 3) {
        builder->column(1).AppendNull();
      } else {
        ASSERT_TRUE(
            builder->column_as<arrow::StringBuilder>(1).Append("n" + std::to_string(i)).ok());
      }
      ASSERT_TRUE(
          builder->column_as<arrow::BinaryBuilder>(2).Append(std::string("\x00\xff", 2)).ok());
      builder->column_as<arrow::DoubleBuilder>(3).Append(i * 0.5);
      builder->column_as<arrow::BooleanBuilder>(4).Append(i % 2 == 0);
    }
    auto batch = builder->Finish();
    ASSERT_TRUE(batch.ok());
    auto file = arrow::FileOutputStream::Open(path_);
    ASSERT_TRUE(file.ok());
    auto writer = arrow::ipc::IpcWriter::OpenFile(**file, *schema);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->WriteBatch(*batch).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    ASSERT_TRUE((*file)->Close().ok());
    auto engine = QueryEngine::Open({});
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Runs `sql`; the result's schema and batches.
  Status Run(const std::string& sql, arrow::Schema* schema,
             std::vector<arrow::RecordBatch>* batches) {
    return engine_->Run(
        sql,
        [&](const arrow::Schema& s) {
          *schema = s;
          return Status::Ok();
        },
        [&](const arrow::RecordBatch& b) {
          batches->push_back(b);
          return Status::Ok();
        },
        nullptr);
  }

  std::filesystem::path path_;
  std::unique_ptr<QueryEngine> engine_;
};

TEST_F(ArrowQueryTest, ReadArrowServesTheFilesValues) {
  arrow::Schema schema;
  std::vector<arrow::RecordBatch> batches;
  Status ran =
      Run("SELECT count(*) AS n, count(name) AS named, sum(id) AS ids, sum(score) AS s, "
          "sum(flag) AS even, hex(min(bytes)) AS b FROM read_arrow('" +
              path_.string() + "')",
          &schema, &batches);
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(schema.fields.size(), 6u);
  EXPECT_EQ(schema.fields[0].name, "n");
  EXPECT_EQ(schema.fields[0].type, arrow::Int64());
  EXPECT_EQ(schema.fields[3].type, arrow::Float64());
  EXPECT_EQ(schema.fields[5].type, arrow::Utf8Type());
  const arrow::RecordBatch& batch = batches[0];
  auto int_at = [&](int column) {
    return arrow::ReadInt(arrow::FixedWidthValue(*batch.columns[column], 0, 8), true);
  };
  EXPECT_EQ(int_at(0), 10);
  EXPECT_EQ(int_at(1), 9);
  EXPECT_EQ(int_at(2), 45);
  EXPECT_EQ(int_at(4), 5);
}

TEST_F(ArrowQueryTest, FilesByNameAndEmptyResultsHaveDeclaredTypes) {
  ASSERT_TRUE(engine_->AddArrowFile("t", path_).ok());
  arrow::Schema schema;
  std::vector<arrow::RecordBatch> batches;
  Status ran = Run("SELECT id, name, bytes, score FROM t WHERE id > 100", &schema, &batches);
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_TRUE(batches.empty());
  ASSERT_EQ(schema.fields.size(), 4u);
  EXPECT_EQ(schema.fields[0].type, arrow::Int64());
  EXPECT_EQ(schema.fields[1].type, arrow::Utf8Type());
  EXPECT_EQ(schema.fields[2].type, arrow::BinaryType());
  EXPECT_EQ(schema.fields[3].type, arrow::Float64());
}

TEST_F(ArrowQueryTest, MixedColumnTypesFollowTheFirstRows) {
  arrow::Schema schema;
  std::vector<arrow::RecordBatch> batches;
  // Integers and reals: real.
  ASSERT_TRUE(Run("VALUES (1), (2.5)", &schema, &batches).ok());
  EXPECT_EQ(schema.fields[0].type, arrow::Float64());
  // A real after a full first batch of integers: an error naming the row.
  batches.clear();
  Status ran =
      Run("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000) "
          "SELECT CASE WHEN i = 9000 THEN 0.5 ELSE i END AS v FROM n",
          &schema, &batches);
  ASSERT_FALSE(ran.ok());
  EXPECT_NE(ran.message().find("result column 'v': expected integer"), std::string::npos)
      << ran.ToString();
  EXPECT_NE(ran.message().find("row 9000"), std::string::npos) << ran.ToString();
}

// A join runs its inner scan once per outer row. Each scan used to leave a
// report of its own in the statement's log (a plan string and counts), so a
// join over a million outer rows held a million reports, hundreds of MB
// outside SQLite's memory limit, even on a server that never shows them.
// The scans of one plan share a report, which sums them.
TEST_F(ArrowQueryTest, AJoinsInnerScansShareOneReport) {
  ASSERT_TRUE(engine_->AddArrowFile("t", path_).ok());
  constexpr int64_t kOuterRows = 20000;
  QueryStats stats;
  int64_t count = -1;
  Status ran = engine_->Run(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
          std::to_string(kOuterRows) + ") SELECT count(*) FROM n CROSS JOIN t",
      [](const arrow::Schema&) { return Status::Ok(); },
      [&](const arrow::RecordBatch& batch) {
        count = arrow::ReadInt(arrow::FixedWidthValue(*batch.columns[0], 0, 8), true);
        return Status::Ok();
      },
      &stats);
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(count, kOuterRows * 10);
  ASSERT_EQ(stats.scans.size(), 1u);
  const ScanReport& report = stats.scans[0];
  EXPECT_EQ(report.table, "t");
  EXPECT_EQ(report.scans, kOuterRows);
  EXPECT_EQ(report.rows_produced, kOuterRows * 10);
  EXPECT_EQ(report.estimated_rows, kOuterRows * 10);
}

// A result field names the table column its values come from, through an
// alias, a subquery and a common table expression of a read_arrow call; an
// expression (even of
// one column) and a literal name none. A client tells which values are
// znode paths by it, never by a column's name.
TEST_F(ArrowQueryTest, ResultFieldsNameTheColumnTheyCopy) {
  ASSERT_TRUE(engine_->AddArrowFile("t", path_).ok());
  auto origins = [&](const std::string& sql) {
    arrow::Schema schema;
    std::vector<arrow::RecordBatch> batches;
    Status ran = Run(sql, &schema, &batches);
    EXPECT_TRUE(ran.ok()) << sql << ": " << ran.ToString();
    std::string out;
    for (const arrow::Field& field : schema.fields) {
      std::string origin = "-";
      for (const auto& [key, value] : field.metadata) {
        if (key == kOriginMetadataKey) origin = value;
      }
      out += (out.empty() ? "" : " ") + field.name + "=" + origin;
    }
    return out;
  };
  EXPECT_EQ(origins("SELECT id, name AS path, upper(name) AS u, name || '' AS n, 1 AS one, "
                    "bytes FROM t"),
            "id=t.id path=t.name u=- n=- one=- bytes=t.bytes");
  EXPECT_EQ(origins("SELECT x.v FROM (SELECT score AS v FROM t WHERE id > 100) AS x"), "v=t.score");
  EXPECT_EQ(origins("WITH w AS (SELECT name FROM read_arrow('" + path_.string() +
                    "')) SELECT name, count(*) AS c FROM w GROUP BY name"),
            "name=read_arrow_1.name c=-");
  EXPECT_EQ(origins("VALUES (1)"), "column1=-");
  // SQLite names a compound's columns after its first SELECT's: the 'x'
  // row is no t.name, so a compound anywhere names no origins.
  EXPECT_EQ(origins("SELECT name FROM t UNION ALL SELECT 'x'"), "name=-");
  EXPECT_EQ(origins("SELECT id FROM t WHERE id IN (SELECT 1 EXCEPT SELECT 2)"), "id=-");
  EXPECT_EQ(origins("SELECT id AS \"union\" FROM t -- UNION"), "union=t.id");
}

// A real column holds integers up to 2^53 exactly; a larger one is refused,
// never rounded to a neighbour.
TEST_F(ArrowQueryTest, IntegersARealColumnCannotHoldExactlyAreRefused) {
  arrow::Schema schema;
  std::vector<arrow::RecordBatch> batches;
  Status exact = Run("VALUES (9007199254740992), (-9007199254740992), (0.5)", &schema, &batches);
  ASSERT_TRUE(exact.ok()) << exact.ToString();
  ASSERT_EQ(batches.size(), 1u);
  auto real_at = [&](int64_t row) {
    double value = 0;
    std::memcpy(&value, arrow::FixedWidthValue(*batches[0].columns[0], row, 8).data(), 8);
    return value;
  };
  EXPECT_EQ(real_at(0), 9007199254740992.0);
  EXPECT_EQ(real_at(1), -9007199254740992.0);

  for (const char* big : {"9007199254740993", "9223372036854775807"}) {
    batches.clear();
    Status ran = Run(std::string("VALUES (0.5), (") + big + ")", &schema, &batches);
    ASSERT_FALSE(ran.ok()) << big;
    EXPECT_NE(ran.message().find(std::string("the integer ") + big + " in row 2"),
              std::string::npos)
        << ran.ToString();
    EXPECT_NE(ran.message().find("CAST"), std::string::npos) << ran.ToString();
  }
}

TEST_F(ArrowQueryTest, ErrorsSayWhereAndWhat) {
  arrow::Schema schema;
  std::vector<arrow::RecordBatch> batches;
  Status syntax =
      Run("SELECT id,\n  FROM read_arrow('" + path_.string() + "') WHERE", &schema, &batches);
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.message().find("syntax error"), std::string::npos) << syntax.ToString();
  EXPECT_NE(syntax.message().find("line 2, column 3"), std::string::npos) << syntax.ToString();

  Status missing = Run("SELECT * FROM read_arrow('/no/such/file.arrow')", &schema, &batches);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("/no/such/file.arrow"), std::string::npos);

  Status two = Run("SELECT 1; SELECT 2", &schema, &batches);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.message().find("one statement at a time"), std::string::npos) << two.ToString();

  Status no_tree = Run("SELECT * FROM znodes", &schema, &batches);
  ASSERT_FALSE(no_tree.ok());
  EXPECT_NE(no_tree.message().find("no such table: znodes"), std::string::npos);
}

// The batches of `sql`'s result on `engine`; an error when it has no rows.
Result<std::vector<arrow::RecordBatch>> Batches(QueryEngine& engine, const std::string& sql) {
  std::vector<arrow::RecordBatch> batches;
  ZKA_RETURN_IF_ERROR(engine.Run(
      sql, [](const arrow::Schema&) { return Status::Ok(); },
      [&](const arrow::RecordBatch& b) {
        batches.push_back(b);
        return Status::Ok();
      },
      nullptr));
  if (batches.empty()) return Status::Internal("no rows");
  return batches;
}

// Queries a server answers come from anyone: one line of SQL must not take
// the server's memory. A value may not grow past the untrusted limit, and
// SQLite's memory as a whole stops at the configured budget; either is an
// error of the query (kOutOfRange), and the engine goes on answering.
TEST(UntrustedQueryTest, ValuesAndMemoryStayWithinTheirLimits) {
  // Runs `sql` on an engine for untrusted SQL whose queries may hold
  // `memory` bytes; the value of the result's first cell, if one.
  auto run = [](int64_t memory, const std::string& sql) -> Result<int64_t> {
    QuerySources sources;
    sources.untrusted_sql = true;
    sources.memory_limit_bytes = memory;
    ZKA_ASSIGN_OR_RETURN(auto engine, QueryEngine::Open(std::move(sources)));
    ZKA_ASSIGN_OR_RETURN(std::vector<arrow::RecordBatch> batches, Batches(*engine, sql));
    return arrow::ReadInt(arrow::FixedWidthValue(*batches[0].columns[0], 0, 8), true);
  };
  // hex(zeroblob(N)) is a string of 2N characters.
  // Past the value limit (64 MiB), within the memory budget: refused.
  auto too_long =
      run(int64_t{256} << 20, "SELECT length(replace(hex(zeroblob(20000000)), '0', '00'))");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kOutOfRange) << too_long.status().ToString();
  EXPECT_NE(too_long.status().message().find("too big"), std::string::npos)
      << too_long.status().ToString();
  // Within the value limit, past the memory budget: refused.
  auto too_much = run(int64_t{32} << 20, "SELECT length(hex(zeroblob(20000000)))");
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.status().code(), StatusCode::kOutOfRange) << too_much.status().ToString();
  EXPECT_NE(too_much.status().message().find("out of memory"), std::string::npos)
      << too_much.status().ToString();
  // Within both: answered.
  auto fits = run(int64_t{32} << 20, "SELECT length(hex(zeroblob(1000000)))");
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(*fits, 2000000);
}

// SQLite 3.40's printf counts a precision past the value limit down before
// it gives up (seconds in one step, which nothing interrupts): for SQL from
// others a width or precision over the limit is an error at once, and
// everything else is formatted by SQLite's own printf, as before.
TEST(UntrustedQueryTest, PrintfWidthsAndPrecisionsAreBounded) {
  QuerySources sources;
  sources.untrusted_sql = true;
  auto engine = QueryEngine::Open(std::move(sources));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto first_text = [&](const std::string& sql) -> Result<std::string> {
    ZKA_ASSIGN_OR_RETURN(std::vector<arrow::RecordBatch> batches, Batches(**engine, sql));
    const arrow::ArrayData& column = *batches[0].columns[0];  // utf8
    if (!arrow::IsValidAt(column, 0)) return std::string("NULL");
    std::span<const uint8_t> bytes = arrow::BinaryValue(column, 0, /*large=*/false);
    return std::string(bytes.begin(), bytes.end());
  };
  for (const char* sql :
       {"SELECT printf('%.*c', 2000000000, 'x')", "SELECT format('%.*c', 40959321999, 'x')",
        "SELECT printf('%d %.2000000000c', 1, 'x')", "SELECT printf('%-*s', -2000000000, 'x')",
        "SELECT printf('%.9223372036854775809c', 'x')"}) {
    auto refused = first_text(sql);
    ASSERT_FALSE(refused.ok()) << sql << " gave " << *refused;
    EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("expected widths and precisions of at most 67108864"),
              std::string::npos)
        << refused.status().ToString();
  }
  // What fits is SQLite's own formatting, large numbers as arguments
  // included (only widths and precisions are bounded).
  const std::pair<const char*, const char*> formatted[] = {
      {"SELECT format('%d-%*d|%-5s|%.3q', 7, 4, 42, 'ab', 'it''s')", "7-  42|ab   |it''"},
      {"SELECT printf('%lld %n %% %c', 5, 'xyz')", "5  % x"},
      {"SELECT printf('%x', 4294967299)", "100000003"},
      {"SELECT printf(NULL, 1)", "NULL"},
      {"SELECT printf()", "NULL"}};
  for (const auto& [sql, expected] : formatted) {
    auto text = first_text(sql);
    ASSERT_TRUE(text.ok()) << sql << ": " << text.status().ToString();
    EXPECT_EQ(*text, expected) << sql;
  }
  auto length = first_text("SELECT printf('%d', length(printf('%.*c', 1000000, 'x')))");
  ASSERT_TRUE(length.ok()) << length.status().ToString();
  EXPECT_EQ(*length, "1000000");
}

// A PRAGMA acts while SQLite prepares it, and some act on the whole
// process: one client's `PRAGMA hard_heap_limit = 1` failed every other
// query of the server with "out of memory". Queries a server answers may
// read settings and describe tables, not change a setting.
TEST(UntrustedQueryTest, PragmasThatChangeSettingsAreRefused) {
  const int64_t limit_before = sqlite3_hard_heap_limit64(-1);
  const int64_t soft_before = sqlite3_soft_heap_limit64(-1);
  QuerySources sources;
  sources.untrusted_sql = true;
  auto engine = QueryEngine::Open(std::move(sources));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto run = [&](const std::string& sql) {
    return (*engine)->Run(
        sql, [](const arrow::Schema&) { return Status::Ok(); },
        [](const arrow::RecordBatch&) { return Status::Ok(); }, nullptr);
  };
  for (const char* sql : {"PRAGMA hard_heap_limit = 4096", "PRAGMA soft_heap_limit=1",
                          "PRAGMA temp_store_directory = '/tmp'", "PRAGMA case_sensitive_like = 0",
                          "PRAGMA main.writable_schema = ON"}) {
    Status refused = (*engine)->Check(sql);
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << sql << ": " << refused.ToString();
    EXPECT_NE(refused.message().find("is not available here"), std::string::npos)
        << refused.ToString();
    EXPECT_EQ(run(sql).code(), StatusCode::kInvalidArgument) << sql;
  }
  EXPECT_EQ(sqlite3_hard_heap_limit64(-1), limit_before);
  EXPECT_EQ(sqlite3_soft_heap_limit64(-1), soft_before);
  // LIKE still folds no case: the pragma above did not act.
  int64_t rows = -1;
  ASSERT_TRUE((*engine)
                  ->Run(
                      "SELECT 1 WHERE 'a' LIKE 'A'",
                      [](const arrow::Schema&) { return Status::Ok(); },
                      [&](const arrow::RecordBatch& batch) {
                        rows = batch.length;
                        return Status::Ok();
                      },
                      nullptr)
                  .ok());
  EXPECT_EQ(rows, -1) << "LIKE folded case";

  // Reading a setting and describing a table stay possible.
  for (const char* sql : {"PRAGMA hard_heap_limit", "PRAGMA temp_store_directory",
                          "SELECT name FROM pragma_table_info('sqlite_schema')",
                          "PRAGMA table_info('sqlite_schema')"}) {
    Status ran = run(sql);
    EXPECT_TRUE(ran.ok()) << sql << ": " << ran.ToString();
  }
  Status attach = (*engine)->Check("ATTACH DATABASE '/tmp/x.db' AS x");
  EXPECT_NE(attach.message().find("ATTACH is not available here"), std::string::npos)
      << attach.ToString();
}

// SQLite's fts3_tokenizer('simple') returns a pointer into the process, as
// a blob: from a server, an address that defeats its randomization.
TEST(UntrustedQueryTest, Fts3TokenizerIsRefused) {
  QuerySources sources;
  sources.untrusted_sql = true;
  auto engine = QueryEngine::Open(std::move(sources));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  for (const char* sql :
       {"SELECT fts3_tokenizer('simple')", "SELECT hex(FTS3_TOKENIZER('porter'))"}) {
    Status refused = (*engine)->Check(sql);
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << sql << ": " << refused.ToString();
    EXPECT_NE(refused.message().find("fts3_tokenizer() is not available here"), std::string::npos)
        << refused.ToString();
  }
  // Other functions still run.
  EXPECT_TRUE((*engine)->Check("SELECT hex(randomblob(4)), lower('A')").ok());
}

// A result of large values (60 MB each would be a server's repro) must not
// gather in memory before it leaves: batches are cut by their values'
// bytes as well as their rows, and a stop (a deadline, a client gone) is
// seen at the next row, however few steps a row takes.
TEST(UntrustedQueryTest, LargeValuesLeaveInSmallBatchesAndAStopEndsTheNextRow) {
  QuerySources sources;
  sources.untrusted_sql = true;
  sources.memory_limit_bytes = int64_t{256} << 20;
  int64_t rows_seen = 0;
  int64_t stop_after_rows = -1;  // -1: never
  sources.check_stop = [&]() -> Status {
    if (stop_after_rows >= 0 && rows_seen >= stop_after_rows) {
      return Status::Timeout("the test's deadline");
    }
    return Status::Ok();
  };
  auto engine = QueryEngine::Open(std::move(sources));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  constexpr int64_t kValueBytes = 1'000'000;
  constexpr int kRows = 50;
  const std::string sql =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
      std::to_string(kRows) + ") SELECT zeroblob(" + std::to_string(kValueBytes) + ") AS v FROM c";
  std::vector<int64_t> batch_rows;
  auto run = [&] {
    batch_rows.clear();
    rows_seen = 0;
    return (*engine)->Run(
        sql, [](const arrow::Schema&) { return Status::Ok(); },
        [&](const arrow::RecordBatch& batch) {
          batch_rows.push_back(batch.length);
          rows_seen += batch.length;
          return Status::Ok();
        },
        nullptr);
  };

  Status ran = run();
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(rows_seen, kRows);
  // No batch holds more than the byte limit and the row that passed it.
  const int64_t max_rows = internal::ResultBuilder::kBatchBytes / kValueBytes + 1;
  ASSERT_GT(batch_rows.size(), 1u);
  for (int64_t rows : batch_rows) EXPECT_LE(rows, max_rows);

  // A stop once the first batch left ends the statement within a batch's
  // rows, not at its end.
  stop_after_rows = 1;
  ran = run();
  EXPECT_EQ(ran.code(), StatusCode::kTimeout) << ran.ToString();
  EXPECT_EQ(batch_rows.size(), 1u);
  EXPECT_LT(rows_seen, kRows);
}

}  // namespace
}  // namespace zkarrow::query

namespace zkarrow::query {
namespace {

// The result rows being built count against the statement's memory: a row
// that alone needs more than it fails before it is copied, saying so, and
// smaller rows go out as before, the most held being about a batch.
TEST(StatementMemoryTest, AResultRowLargerThanTheStatementsMemoryFails) {
  QuerySources sources;
  sources.statement_memory_bytes = int64_t{4} << 20;
  auto engine = QueryEngine::Open(std::move(sources));
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto run = [&](const std::string& sql, QueryStats* stats) {
    return (*engine)->Run(
        sql, [](const arrow::Schema&) { return Status::Ok(); },
        [](const arrow::RecordBatch&) { return Status::Ok(); }, stats);
  };
  QueryStats stats;
  // Two values of 3 MB: one row of 6 MB.
  Status ran = run("SELECT zeroblob(3000000) AS a, zeroblob(3000000) AS b", &stats);
  EXPECT_EQ(ran.code(), StatusCode::kOutOfRange) << ran.ToString();
  EXPECT_NE(ran.message().find("result row 1: expected at most 4194304 bytes of text and blobs "
                               "(the memory a statement may hold), found 6000000"),
            std::string::npos)
      << ran.ToString();
  // Rows of 1 MB each, eight of them: they leave a batch at a time.
  ran =
      run("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 8) "
          "SELECT zeroblob(1000000) AS v FROM c",
          &stats);
  ASSERT_TRUE(ran.ok()) << ran.ToString();
  EXPECT_EQ(stats.rows, 8);
  EXPECT_GE(stats.peak_held_bytes, 1000000);
  EXPECT_LE(stats.peak_held_bytes, internal::ResultBuilder::kBatchBytes + 1000000);

  QuerySources none;
  none.statement_memory_bytes = 0;
  auto refused = QueryEngine::Open(std::move(none));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("expected a positive statement_memory_bytes"),
            std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace zkarrow::query
