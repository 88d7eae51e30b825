// A server's query over HTTP: the real query engine (StartServerQuery)
// behind the real HTTP server, on loopback. A query that fails after it was
// prepared but before its first message (an error while stepping, its
// deadline) is answered with its own status and JSON message, not a 200
// cut short.
#include "query/server_query.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transport/arrow_service.h"
#include "transport/http/http_server.h"

namespace zkarrow::query {
namespace {

// No data of its own: /query?sql= runs over this service (no tables but
// what the SQL makes), as serve::Service hands it to the query handler.
class QueryOnlyService final : public transport::ArrowService {
 public:
  explicit QueryOnlyService(ServerQueryOptions options) : options_(options) {}

  Result<std::vector<transport::StreamInfo>> List() override {
    return std::vector<transport::StreamInfo>{};
  }
  Result<transport::StreamInfo> Describe(const transport::Resource& resource) override {
    return Status::NotFound("no stream " + resource.ToTarget());
  }
  Result<std::unique_ptr<transport::MessageStream>> Get(const transport::Resource& resource,
                                                        const transport::GetOptions&) override {
    std::optional<std::string_view> sql = resource.Param("sql");
    if (resource.segments != std::vector<std::string>{"query"} || !sql) {
      return Status::NotFound("no stream " + resource.ToTarget());
    }
    return StartServerQuery(*this, *sql, options_);
  }
  Result<transport::StreamInfo> Put(const transport::Resource&, arrow::InputStream&) override {
    return Status::NotImplemented("no uploads");
  }
  Status Delete(const transport::Resource&) override {
    return Status::NotImplemented("no datasets");
  }
  std::vector<transport::ActionType> ListActions() override { return {}; }
  Result<std::string> DoAction(std::string_view type, std::string_view) override {
    return Status::NotFound("no action " + std::string(type));
  }
  Status Health() override { return Status::Ok(); }
  void AppendMetrics(std::string&) override {}

 private:
  ServerQueryOptions options_;
};

// POST /query with `sql` as the body over a plain socket; the whole reply
// (the request asks to close).
std::string PostQuery(int port, const std::string& sql) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::string request =
      "POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(sql.size()) + "\r\n\r\n" + sql;
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    reply.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

// Expects `reply` to be an HTTP reply with `status` and the JSON error body
// {"error": "...needle...", "status": status}.
void ExpectJsonError(const std::string& reply, int status, const std::string& needle) {
  ASSERT_EQ(reply.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << reply;
  const size_t body = reply.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << reply;
  nlohmann::json object = nlohmann::json::parse(reply.substr(body + 4), nullptr, false);
  ASSERT_TRUE(object.is_object()) << reply;
  EXPECT_EQ(object.value("status", 0), status) << reply;
  EXPECT_NE(object.value("error", "").find(needle), std::string::npos) << reply;
}

TEST(ServerQueryHttpTest, AQueryFailingBeforeItsFirstBatchGetsItsStatus) {
  ServerQueryOptions options;
  options.timeout = std::chrono::milliseconds(200);
  QueryOnlyService service(options);
  auto server = transport::http::HttpServer::Start({}, service);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();

  // Prepared, then fails at its first step: 400 with SQLite's message.
  ExpectJsonError(PostQuery(port, "SELECT abs(-9223372036854775808)"), 400, "integer overflow");
  // Runs past its deadline before any row: 504.
  ExpectJsonError(PostQuery(port,
                            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                            "SELECT count(*) FROM c"),
                  504, "--query-timeout-ms");
  // A PRAGMA that would change a setting of the server's process: 400.
  ExpectJsonError(PostQuery(port, "PRAGMA hard_heap_limit = 1"), 400, "is not available here");
  // And a query that works is an Arrow stream.
  const std::string fine = PostQuery(port, "SELECT 1 AS one");
  EXPECT_EQ(fine.rfind("HTTP/1.1 200 ", 0), 0u) << fine;
  EXPECT_NE(fine.find("application/vnd.apache.arrow.stream"), std::string::npos) << fine;
}

// A query's result rows count against what a query may hold outside
// SQLite's memory (ServerQueryOptions::statement_memory_bytes, the engine's
// default): a row larger than that alone is 413, saying so.
TEST(ServerQueryHttpTest, AResultRowLargerThanAQueryMayHoldIs413) {
  QueryOnlyService service({});
  auto server = transport::http::HttpServer::Start({}, service);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  // Two values within the length limit of a value, 80 MB together.
  ExpectJsonError(
      PostQuery((*server)->port(), "SELECT zeroblob(40000000) AS a, zeroblob(40000000) AS b"), 413,
      "result row 1: expected at most " +
          std::to_string(QuerySources::kDefaultStatementMemoryBytes) + " bytes");
}

}  // namespace
}  // namespace zkarrow::query
