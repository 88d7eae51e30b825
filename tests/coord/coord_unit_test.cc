// The JSON of the coordination nodes (coord/layout.h): what one server
// writes, another reads back field for field, and anything else is refused
// with the field named.
#include <gtest/gtest.h>

#include "coord/layout.h"

namespace zkarrow::coord {
namespace {

TEST(CoordLayoutTest, CatalogEntriesRoundTrip) {
  CatalogEntry entry{"prices", {}};
  entry.versions.push_back({3, "ab", 10, 2048, "0a0b", "ff", 1700000000000, {"s2", "s0"}});
  entry.versions.push_back({4, "cd", 11, 4096, "", "", 1700000000001, {}});
  Result<CatalogEntry> back = CatalogEntryFromJson("prices", ToJson(entry));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->current(), 4);
  ASSERT_EQ(back->versions.size(), 2u);
  const CatalogVersionRecord& v3 = back->versions[0];
  EXPECT_EQ(v3.version, 3);
  EXPECT_EQ(v3.sha256, "ab");
  EXPECT_EQ(v3.rows, 10);
  EXPECT_EQ(v3.bytes, 2048);
  EXPECT_EQ(v3.schema_message_hex, "0a0b");
  EXPECT_EQ(v3.schema_fingerprint, "ff");
  EXPECT_EQ(v3.created_ms, 1700000000000);
  EXPECT_EQ(v3.holders, (std::vector<std::string>{"s0", "s2"}));  // sorted
  EXPECT_TRUE(v3.HeldBy("s2"));
  EXPECT_FALSE(back->versions[1].HeldBy("s2"));
  EXPECT_EQ(back->KeptList(), "3, 4");
  EXPECT_EQ(back->Find(5), nullptr);
}

// Each schema message is stored once, on the oldest kept version with its
// fingerprint; dropping that version moves the message to the next.
TEST(CoordLayoutTest, KeptVersionsShareTheirSchemaMessages) {
  auto version = [](int64_t v, std::string message, std::string fingerprint) {
    return CatalogVersionRecord{v, "sha", 1, 1, std::move(message), std::move(fingerprint), 1, {}};
  };
  CatalogEntry entry{"d", {}};
  entry.versions = {version(1, "aa", "A"), version(2, "aa", "A"), version(3, "bb", "B"),
                    version(4, "aa", "A")};
  entry.KeepNewest(4);
  EXPECT_EQ(entry.versions[0].schema_message_hex, "aa");
  EXPECT_EQ(entry.versions[1].schema_message_hex, "");
  EXPECT_EQ(entry.versions[2].schema_message_hex, "bb");
  EXPECT_EQ(entry.versions[3].schema_message_hex, "");
  EXPECT_EQ(entry.SchemaMessageHexOf(entry.versions[3]), "aa");

  entry.KeepNewest(3);  // version 1, which held A's message, goes
  ASSERT_EQ(entry.versions.size(), 3u);
  EXPECT_EQ(entry.versions[0].version, 2);
  EXPECT_EQ(entry.versions[0].schema_message_hex, "aa");
  EXPECT_EQ(entry.SchemaMessageHexOf(entry.versions[2]), "aa");

  // Left out oldest first; a version without a fingerprint has no message
  // to share.
  EXPECT_TRUE(entry.LeaveOutOldestSchemaMessage());
  EXPECT_EQ(entry.SchemaMessageHexOf(entry.versions[2]), "");
  EXPECT_EQ(entry.SchemaMessageHexOf(entry.versions[1]), "bb");
  EXPECT_TRUE(entry.LeaveOutOldestSchemaMessage());
  EXPECT_FALSE(entry.LeaveOutOldestSchemaMessage());
  CatalogVersionRecord unnamed = version(9, "", "");
  EXPECT_EQ(entry.SchemaMessageHexOf(unnamed), "");
}

TEST(CoordLayoutTest, MalformedEntriesAreRefusedNamingTheField) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const Case& c : {
           Case{"[]", "expected a JSON object"},
           Case{"{}", "\"versions\": expected an array"},
           Case{R"({"versions":[{"version":"1"}]})", "\"version\": expected an integer"},
           Case{R"({"versions":[{"version":2,"sha256":"x","rows":1,"bytes":1,"created_ms":1,)"
                R"("holders":[]},{"version":2,"sha256":"y","rows":1,"bytes":1,"created_ms":1,)"
                R"("holders":[]}]})",
                "versions must increase: found 2 after 2"},
           Case{R"({"versions":[{"version":1,"sha256":"x","rows":1,"bytes":1,"created_ms":1,)"
                R"("holders":[7]}]})",
                "a holder: expected a server id"},
           Case{R"({"versions":[{"version":1,"rows":1,"bytes":1,"created_ms":1,"holders":[]}]})",
                "missing field \"sha256\""},
           Case{R"({"versions":[{"version":1,"sha256":"x","rows":1,"bytes":-1,"created_ms":1,)"
                R"("holders":[]}]})",
                "\"bytes\": expected at least 0, found -1"},
           Case{R"({"versions":[{"version":1,"sha256":"x","rows":-5,"bytes":1,"created_ms":1,)"
                R"("holders":[]}]})",
                "\"rows\": expected at least 0, found -5"},
           // Not wrapped into -1.
           Case{R"({"versions":[{"version":1,"sha256":"x","rows":1,)"
                R"("bytes":18446744073709551615,"created_ms":1,"holders":[]}]})",
                "\"bytes\": expected at most 9223372036854775807, found 18446744073709551615"},
       }) {
    Result<CatalogEntry> parsed = CatalogEntryFromJson("d", c.json);
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_NE(parsed.status().message().find(c.expected), std::string::npos)
        << c.json << " -> " << parsed.status().ToString();
    EXPECT_NE(parsed.status().message().find("dataset 'd'"), std::string::npos);
  }
}

TEST(CoordLayoutTest, ServerRecordsRoundTripAndIdsAreNames) {
  ServerRecord record{"s-1", "grpc://127.0.0.1:1", "http://127.0.0.1:2", "0.5.0", 42};
  Result<ServerRecord> back = ServerRecordFromJson(ToJson(record));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, "s-1");
  EXPECT_EQ(back->flight, "grpc://127.0.0.1:1");
  EXPECT_EQ(back->http, "http://127.0.0.1:2");
  EXPECT_EQ(back->started_ms, 42);
  EXPECT_FALSE(ServerRecordFromJson(R"({"id":"x"})").ok());  // no started_ms
  EXPECT_TRUE(ValidateServerId("node-1.a_b").ok());
  for (const char* bad : {"", "a/b", "..", "\xc3\xa9"}) EXPECT_FALSE(ValidateServerId(bad).ok());
  EXPECT_TRUE(ValidateRoot("/zkarrow").ok());
  for (const char* bad : {"zkarrow", "/", "/a/", "//a"}) EXPECT_FALSE(ValidateRoot(bad).ok());
  Layout layout("/g");
  EXPECT_EQ(layout.Server("s1"), "/g/servers/s1");
  EXPECT_EQ(layout.Dataset("d"), "/g/datasets/d");
  EXPECT_EQ(layout.Lock("d", 3), "/g/locks/d.v3");
  EXPECT_EQ(layout.LeaderPrefix(), "/g/leader/n_");
}

}  // namespace
}  // namespace zkarrow::coord
