// The HTTP transport against an in-test ArrowService over real sockets:
// HttpClient round trips, curl, Arrow JS (fetch + RecordBatchReader /
// tableFromIPC, tests/interop/http_fetch.mjs), error statuses and bodies,
// the bearer token, limits, slow and vanished clients, shutdown with live
// streams open, and TLS with a certificate made by the openssl CLI.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "support/prerequisite.h"
#include "support/znode_rows.h"
#include "transport/arrow_service.h"
#include "transport/http/http_client.h"
#include "transport/http/http_protocol.h"
#include "transport/http/http_server.h"

namespace zkarrow::transport::http {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Rows = std::vector<std::pair<int64_t, std::string>>;

const fs::path kInteropDir = ZKARROW_SOURCE_DIR "/tests/interop";
constexpr int kRowsPerBatch = 10;
constexpr int kBatches = 3;
// Generous bound for waits on another thread's progress (never asserted as
// a duration).
constexpr auto kDeadline = std::chrono::seconds(60);

bool WaitFor(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::shared_ptr<const arrow::Schema> TableSchema() {
  auto schema = std::make_shared<arrow::Schema>();
  schema->fields = {arrow::MakeField("id", arrow::Int64(), false),
                    arrow::MakeField("name", arrow::Utf8Type(), false)};
  return schema;
}

std::string NameOf(int64_t id, size_t pad) {
  std::string name = "row-" + std::to_string(id);
  if (name.size() < pad) name.resize(pad, 'x');
  return name;
}

arrow::RecordBatch MakeBatch(int64_t first, int64_t count, size_t name_bytes = 0) {
  auto builder = arrow::RecordBatchBuilder::Make(TableSchema());
  EXPECT_TRUE(builder.ok());
  for (int64_t id = first; id < first + count; ++id) {
    builder->column_as<arrow::Int64Builder>(0).Append(id);
    EXPECT_TRUE(builder->column_as<arrow::StringBuilder>(1).Append(NameOf(id, name_bytes)).ok());
  }
  auto batch = builder->Finish();
  EXPECT_TRUE(batch.ok());
  return std::move(*batch);
}

Rows TableRows() {
  Rows rows;
  for (int64_t id = 0; id < kRowsPerBatch * kBatches; ++id) rows.emplace_back(id, NameOf(id, 0));
  return rows;
}

// The fixed table as an IPC stream (bytes), in `compression`.
std::vector<uint8_t> TableStream(arrow::ipc::Compression compression) {
  arrow::BufferOutputStream sink;
  auto writer = arrow::ipc::IpcWriter::OpenStream(sink, *TableSchema(), {compression});
  EXPECT_TRUE(writer.ok());
  for (int b = 0; b < kBatches; ++b) {
    EXPECT_TRUE((*writer)->WriteBatch(MakeBatch(b * kRowsPerBatch, kRowsPerBatch)).ok());
  }
  EXPECT_TRUE((*writer)->Close().ok());
  auto bytes = sink.bytes();
  return {bytes.begin(), bytes.end()};
}

// A message whose metadata is not a Message flatbuffer (InvalidData).
std::string MalformedUpload() {
  std::string bytes("\xff\xff\xff\xff\x10\x00\x00\x00", 8);
  return bytes + std::string(16, '\x7f') + std::string(100, 'z');
}

std::vector<IpcMessage> Split(std::span<const uint8_t> stream) {
  arrow::ipc::MessageSplitter splitter;
  EXPECT_TRUE(splitter.Write(stream).ok());
  return splitter.TakeMessages();
}

struct ReadResult {
  Status status;
  Rows rows;
  bool ended_with_marker = false;
  arrow::ipc::Compression compression = arrow::ipc::Compression::kNone;
};

// Reads an IPC stream with the project's strict reader.
ReadResult ReadStream(std::unique_ptr<arrow::InputStream> input) {
  ReadResult result;
  auto reader = arrow::ipc::StreamReader::Open(std::move(input));
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  while (true) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) {
      result.status = batch.status();
      return result;
    }
    if (!*batch) break;
    result.compression = (*reader)->last_batch_info().compression;
    for (int64_t i = 0; i < (*batch)->length; ++i) {
      result.rows.emplace_back(testing::ValueAt<int64_t>(*(*batch)->columns[0], i),
                               std::string(testing::StringAt(*(*batch)->columns[1], i)));
    }
  }
  result.ended_with_marker = (*reader)->ended_with_marker();
  return result;
}

ReadResult ReadFile(const fs::path& path) {
  auto input = arrow::FileInputStream::Open(path);
  if (!input.ok()) return {input.status()};
  return ReadStream(std::move(*input));
}

// A live stream, as /changes is: the schema, then a batch whenever the
// producer thread ticks, until cancelled. Its backlog is bounded the way
// message_stream.h asks: past kMaxBacklog messages the stream fails.
class LiveStream final : public MessageStream {
 public:
  static constexpr size_t kMaxBacklog = 256;

  // A quiet stream sends its schema and then nothing (a tree without changes).
  LiveStream(std::atomic<int>& cancelled, size_t name_bytes, bool quiet = false)
      : cancelled_(cancelled), quiet_(quiet) {
    arrow::BufferOutputStream sink;
    auto writer = arrow::ipc::IpcWriter::OpenStream(sink, *TableSchema());
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->WriteBatch(MakeBatch(0, kRowsPerBatch, name_bytes)).ok());
    auto messages = Split(sink.bytes());
    EXPECT_EQ(messages.size(), 2u);
    queue_.push_back(messages[0]);
    batch_ = messages[1];
    producer_ = std::thread([this] { Produce(); });
  }
  ~LiveStream() override { Stop(); }

  Result<Poll> Next(IpcMessage* out) override {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) {
      *out = queue_.front();
      queue_.pop_front();
      return Poll::kMessage;
    }
    if (!error_.ok()) return error_;
    return Poll::kPending;
  }

  void NotifyWhenReady(std::function<void()> wakeup) override {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() && error_.ok()) {
        wakeup_ = std::move(wakeup);
        return;
      }
    }
    wakeup();
  }

  void Cancel() override {
    cancelled_.fetch_add(1);
    Stop();
  }

 private:
  void Produce() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(2));
      if (stop_) break;
      if (queue_.size() >= kMaxBacklog) {
        error_ = Status::OutOfRange("the client fell more than " + std::to_string(kMaxBacklog) +
                                    " messages behind");
      } else if (error_.ok() && !quiet_) {
        queue_.push_back(batch_);
      }
      auto wakeup = std::move(wakeup_);
      wakeup_ = nullptr;
      if (wakeup) {
        lock.unlock();
        wakeup();
        lock.lock();
      }
    }
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      stop_cv_.notify_all();
    }
    if (producer_.joinable()) producer_.join();
  }

  std::atomic<int>& cancelled_;
  const bool quiet_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::deque<IpcMessage> queue_;
  IpcMessage batch_;
  Status error_;
  std::function<void()> wakeup_;
  std::thread producer_;
};

// The schema and one batch, then an error: a response cut after its headers.
class BrokenStream final : public MessageStream {
 public:
  explicit BrokenStream(std::vector<IpcMessage> messages) : messages_(std::move(messages)) {}
  Result<Poll> Next(IpcMessage* out) override {
    if (next_ < 2) {
      *out = messages_[next_++];
      return Poll::kMessage;
    }
    return Status::Internal("the test stream broke after one batch");
  }

 private:
  std::vector<IpcMessage> messages_;
  size_t next_ = 0;
};

// Forwards to an InputStream the caller keeps (StreamReader wants to own one).
class BorrowedInput final : public arrow::InputStream {
 public:
  explicit BorrowedInput(arrow::InputStream& input) : input_(input) {}
  Result<int64_t> Read(std::span<uint8_t> out) override { return input_.Read(out); }

 private:
  arrow::InputStream& input_;
};

class TestService final : public ArrowService {
 public:
  TestService() {
    for (auto compression : {arrow::ipc::Compression::kNone, arrow::ipc::Compression::kZstd,
                             arrow::ipc::Compression::kLz4Frame}) {
      tables_[compression] =
          std::make_shared<const std::vector<IpcMessage>>(Split(TableStream(compression)));
    }
    // About 4 MiB in 64 messages: a download that takes a while.
    arrow::BufferOutputStream sink;
    auto writer = arrow::ipc::IpcWriter::OpenStream(sink, *TableSchema());
    EXPECT_TRUE(writer.ok());
    for (int b = 0; b < 64; ++b) {
      EXPECT_TRUE((*writer)->WriteBatch(MakeBatch(b * 64, 64, 1024)).ok());
    }
    EXPECT_TRUE((*writer)->Close().ok());
    big_bytes_.assign(sink.bytes().begin(), sink.bytes().end());
    big_ = std::make_shared<const std::vector<IpcMessage>>(Split(big_bytes_));
  }

  // The stream /big serves, as the IPC writer wrote it.
  const std::vector<uint8_t>& big_bytes() const { return big_bytes_; }

  Result<std::vector<StreamInfo>> List() override {
    std::vector<StreamInfo> infos;
    ZKA_ASSIGN_OR_RETURN(auto znodes, Describe(Resource{{"znodes"}, {}}));
    infos.push_back(std::move(znodes));
    std::lock_guard lock(mu_);
    for (const auto& [name, dataset] : datasets_) infos.push_back(dataset.info);
    return infos;
  }

  Result<StreamInfo> Describe(const Resource& resource) override {
    if (resource.ToTarget() == "/znodes") {
      return StreamInfo{resource, TableSchema(), kRowsPerBatch * kBatches, -1, "{\"zxid\":42}"};
    }
    std::lock_guard lock(mu_);
    if (resource.segments.size() == 2 && resource.segments[0] == "datasets") {
      auto it = datasets_.find(resource.segments[1]);
      if (it != datasets_.end()) return it->second.info;
    }
    return Status::NotFound("no stream " + resource.ToTarget());
  }

  Result<std::unique_ptr<MessageStream>> Get(const Resource& resource,
                                             const GetOptions& options) override {
    last_compression_ = options.compression;
    std::string target = resource.ToTarget();
    if (target == "/znodes") {
      return std::unique_ptr<MessageStream>(new VectorMessageStream(tables_[options.compression]));
    }
    if (target == "/big") return std::unique_ptr<MessageStream>(new VectorMessageStream(big_));
    if (target == "/changes" || target == "/changes?big=true" || target == "/changes?quiet=true") {
      size_t name_bytes = target == "/changes?big=true" ? 64 * 1024 : 0;
      return std::unique_ptr<MessageStream>(
          new LiveStream(cancelled_, name_bytes, target == "/changes?quiet=true"));
    }
    // What running out of memory on an I/O thread looks like.
    if (target == "/throws") throw std::bad_alloc();
    if (target == "/broken") {
      return std::unique_ptr<MessageStream>(new BrokenStream(*tables_[options.compression]));
    }
    std::lock_guard lock(mu_);
    if (resource.segments.size() == 2 && resource.segments[0] == "datasets") {
      auto it = datasets_.find(resource.segments[1]);
      if (it != datasets_.end()) {
        return std::unique_ptr<MessageStream>(new VectorMessageStream(it->second.messages));
      }
    }
    return Status::NotFound("no stream " + target);
  }

  // Reads the whole upload, validates it with the strict reader, keeps it.
  Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& upload) override {
    puts_started_.fetch_add(1);
    // A refusal before reading anything (the real service checks names and
    // versions first).
    if (resource.segments.at(1) == "locked") return Status::Conflict("dataset locked is locked");
    // What running out of memory on a worker thread looks like.
    if (resource.segments.at(1) == "throws") throw std::bad_alloc();
    ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::ReadAll(upload));
    auto reader = arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(bytes));
    if (!reader.ok()) return reader.status().WithContext("upload");
    int64_t rows = 0;
    while (true) {
      auto batch = (*reader)->Next();
      if (!batch.ok()) return batch.status().WithContext("upload");
      if (!*batch) break;
      rows += (*batch)->length;
    }
    arrow::ipc::MessageSplitter splitter;
    ZKA_RETURN_IF_ERROR(splitter.Write(bytes->bytes()));
    std::lock_guard lock(mu_);
    Dataset& dataset = datasets_[resource.segments.at(1)];
    ++dataset.version;
    dataset.messages = std::make_shared<const std::vector<IpcMessage>>(splitter.TakeMessages());
    dataset.info = StreamInfo{resource, (*reader)->shared_schema(), rows, bytes->size(),
                              "{\"version\":" + std::to_string(dataset.version) + "}"};
    return dataset.info;
  }

  Status Delete(const Resource& resource) override {
    std::lock_guard lock(mu_);
    if (resource.segments.size() != 2 || datasets_.erase(resource.segments[1]) == 0) {
      return Status::NotFound("no dataset " + resource.ToTarget());
    }
    return Status::Ok();
  }

  std::vector<ActionType> ListActions() override { return {{"echo", "returns its body"}}; }
  Result<std::string> DoAction(std::string_view type, std::string_view body) override {
    if (type == "throw") throw std::bad_alloc();
    if (type != "echo") return Status::NotFound("no action " + std::string(type));
    return json{{"echo", body}}.dump();
  }

  Status Health() override {
    return healthy_ ? Status::Ok() : Status::Unavailable("the test service is not ready");
  }
  void AppendMetrics(std::string& text) override { text += "test_service_up 1\n"; }

  bool HasDataset(const std::string& name) {
    std::lock_guard lock(mu_);
    return datasets_.count(name) > 0;
  }

  std::atomic<int> cancelled_{0};
  std::atomic<int> puts_started_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<arrow::ipc::Compression> last_compression_{arrow::ipc::Compression::kNone};

 private:
  struct Dataset {
    int version = 0;
    std::shared_ptr<const std::vector<IpcMessage>> messages;
    StreamInfo info;
  };
  std::map<arrow::ipc::Compression, std::shared_ptr<const std::vector<IpcMessage>>> tables_;
  std::vector<uint8_t> big_bytes_;
  std::shared_ptr<const std::vector<IpcMessage>> big_;
  std::mutex mu_;
  std::map<std::string, Dataset> datasets_;
};

// --- plain sockets, for clients that misbehave ---

int ConnectTo(int port, int receive_buffer = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  return fd;
}

void SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Sends `request` and reads the whole reply (the request asks to close).
std::string RawExchange(int port, const std::string& request) {
  int fd = ConnectTo(port);
  SendAll(fd, request);
  std::string reply;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
    reply.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

// The value of a Prometheus metric (`name`, or `name{label="value"}`), or -1.
int64_t MetricValue(int port, const std::string& name) {
  std::string reply =
      RawExchange(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  size_t at = reply.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(reply.substr(at + name.size() + 2));
}

std::string Quote(const std::string& text) { return "'" + text + "'"; }

std::string MissingCurl() {
  if (!testing::RunCommand("command -v curl >/dev/null").ok()) return "curl not found";
  return "";
}
std::string MissingNode() {
  if (!testing::RunCommand("command -v node >/dev/null").ok()) return "node not found";
  for (const char* package : {"apache-arrow", "fzstd", "lz4-napi"}) {
    if (!fs::exists(kInteropDir / "node_modules" / package)) {
      return std::string("tests/interop/node_modules/") + package +
             " missing: run scripts/setup (npm install in tests/interop)";
    }
  }
  return "";
}
#define SKIP_WITHOUT(what) \
  if (std::string missing = what(); !missing.empty()) ZKA_MISSING_PREREQUISITE() << missing

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/zkarrow-http-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(ServerOptions options = {}, HttpLimits limits = {}) {
    auto server = HttpServer::Start(options, service_, limits);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    options_ = options;
  }

  std::unique_ptr<HttpClient> Client(ClientOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = server_->port();
    if (options.bearer_token.empty()) options.bearer_token = options_.bearer_token;
    auto client = HttpClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + target;
  }

  // curl's HTTP status and body for `args` (the body goes to a file).
  std::pair<int, std::string> Curl(const std::string& args) {
    fs::path body = dir_ / "curl-body";
    fs::remove(body);
    auto code =
        testing::RunCommand("curl -sS -o " + Quote(body.string()) + " -w '%{http_code}' " + args);
    EXPECT_TRUE(code.ok()) << code.status().ToString();
    std::ifstream in(body, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return {code.ok() ? std::stoi(*code) : -1, text};
  }

  fs::path WriteTableFile(const std::string& name) {
    fs::path path = dir_ / name;
    std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  fs::path dir_;
  TestService service_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
};

// Expects `body` to be the JSON error {"error": "...", "status": status}.
void ExpectJsonError(const std::string& body, int status, const std::string& needle = "") {
  json object = json::parse(body, nullptr, false);
  ASSERT_TRUE(object.is_object()) << body;
  EXPECT_EQ(object.value("status", 0), status) << body;
  ASSERT_TRUE(object.contains("error") && object["error"].is_string()) << body;
  EXPECT_NE(object["error"].get<std::string>().find(needle), std::string::npos) << body;
}

// --- HttpClient ---

TEST_F(HttpTest, ClientGetsTheTableWithItsEndOfStreamMarker) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());
  EXPECT_TRUE(read.ended_with_marker);
  EXPECT_EQ(read.compression, arrow::ipc::Compression::kNone);
}

// A response that is not an Arrow stream (the listing at /, /metrics, the
// web UI's page) fails the Get with what it is, not as IPC read from text
// ("message metadata of 1868833084 bytes"); the connection serves on.
TEST_F(HttpTest, ClientGetOfAResponseThatIsNotArrowSaysWhatItIs) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  const std::vector<std::pair<Resource, std::string>> responses = {
      {Resource{{}, {}}, "application/json"}, {Resource{{"metrics"}, {}}, "text/"}};
  for (const auto& [resource, type] : responses) {
    auto stream = client->Get(resource, {});
    ASSERT_FALSE(stream.ok()) << resource.ToTarget();
    EXPECT_EQ(stream.status().code(), StatusCode::kInvalidData) << stream.status().ToString();
    EXPECT_NE(stream.status().message().find("expected an Arrow IPC stream"), std::string::npos)
        << stream.status().ToString();
    EXPECT_NE(stream.status().message().find("found '" + type), std::string::npos)
        << stream.status().ToString();
  }
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(ReadStream(std::move(*stream)).rows, TableRows());
}

// Large reads in the middle of a chunk go from the socket straight into the
// caller's buffer, small ones through the connection's buffer: mixed, they
// must still give the body byte for byte.
TEST_F(HttpTest, ClientReadsALargeBodyByteForByteWithMixedReadSizes) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (int round = 0; round < 2; ++round) {
    auto stream = client->Get(Resource{{"big"}, {}}, {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    std::vector<uint8_t> body;
    const size_t sizes[] = {7, 200 * 1024, 64 * 1024, 1, 3 << 20, 100000};
    for (size_t i = 0;; ++i) {
      std::vector<uint8_t> piece(sizes[(i + static_cast<size_t>(round)) % std::size(sizes)]);
      auto n = (*stream)->Read(piece);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      if (*n == 0) break;
      body.insert(body.end(), piece.begin(), piece.begin() + *n);
    }
    EXPECT_EQ(body.size(), service_.big_bytes().size());
    EXPECT_TRUE(body == service_.big_bytes());
  }
}

TEST_F(HttpTest, ClientAsksForZstdAndLz4) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (auto compression : {arrow::ipc::Compression::kZstd, arrow::ipc::Compression::kLz4Frame}) {
    auto stream = client->Get(Resource{{"znodes"}, {}}, {compression});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    ReadResult read = ReadStream(std::move(*stream));
    ASSERT_TRUE(read.status.ok()) << read.status.ToString();
    EXPECT_EQ(read.rows, TableRows());
    EXPECT_EQ(read.compression, compression);
    EXPECT_EQ(service_.last_compression_.load(), compression);
  }
}

TEST_F(HttpTest, ClientListsPutsGetsDeletesAndRunsActions) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  Resource dataset{{"datasets", "t1"}, {}};
  std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
  arrow::BufferInputStream upload(bytes);
  int64_t progress = 0;
  auto stored = client->Put(dataset, upload, [&](int64_t sent) { progress = sent; });
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(progress, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(stored->resource, dataset);
  EXPECT_EQ(stored->total_records, kRowsPerBatch * kBatches);
  ASSERT_NE(stored->schema, nullptr);
  EXPECT_EQ(*stored->schema, *TableSchema());
  EXPECT_EQ(json::parse(stored->app_metadata_json), json({{"version", 1}}));

  auto list = client->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].resource.ToTarget(), "/znodes");
  EXPECT_EQ(json::parse((*list)[0].app_metadata_json), json({{"zxid", 42}}));
  EXPECT_EQ((*list)[1].resource, dataset);
  EXPECT_EQ(*(*list)[1].schema, *TableSchema());

  auto stream = client->Get(dataset, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  EXPECT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());

  auto echoed = client->DoAction("echo", "{\"x\":1}");
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  EXPECT_EQ(json::parse(*echoed), json({{"echo", "{\"x\":1}"}}));
  EXPECT_EQ(client->DoAction("nope", "").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(client->Delete(dataset).ok());
  auto gone = client->Get(dataset, {});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("no stream /datasets/t1"), std::string::npos)
      << gone.status().ToString();
  EXPECT_EQ(client->Delete(dataset).code(), StatusCode::kNotFound);
}

// The server's end of the connection whose client end is `client_fd`, among
// this process's descriptors (the server runs in the test's process); -1
// when none is found.
int ServerEndOf(int client_fd) {
  sockaddr_in client{};
  socklen_t length = sizeof(client);
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&client), &length) != 0) return -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_in peer{};
    socklen_t peer_length = sizeof(peer);
    if (fd == client_fd ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
      continue;
    }
    if (peer.sin_family == AF_INET && peer.sin_port == client.sin_port &&
        peer.sin_addr.s_addr == client.sin_addr.s_addr) {
      return fd;
    }
  }
  return -1;
}

// A live stream on a quiet tree writes nothing, so only TCP keepalive tells
// the server that its client's host vanished: every connection has it, at
// the limits' times.
TEST_F(HttpTest, ConnectionsProbeTheirClientsWhenQuiet) {
  HttpLimits limits;
  limits.keepalive_time = std::chrono::seconds(7);
  limits.keepalive_timeout = std::chrono::seconds(8);
  StartServer({}, limits);
  const int fd = ConnectTo(server_->port());
  ASSERT_GE(fd, 0);
  int server_end = -1;
  ASSERT_TRUE(WaitFor([&] { return (server_end = ServerEndOf(fd)) >= 0; }));
  auto option = [&](int level, int name) {
    int value = -1;
    socklen_t size = sizeof(value);
    EXPECT_EQ(::getsockopt(server_end, level, name, &value, &size), 0);
    return value;
  };
  // The probes share the timeout: a gone peer is noticed within it.
  auto probed = [&] {
    return option(SOL_SOCKET, SO_KEEPALIVE) == 1 && option(IPPROTO_TCP, TCP_KEEPIDLE) == 7 &&
           option(IPPROTO_TCP, TCP_KEEPINTVL) * option(IPPROTO_TCP, TCP_KEEPCNT) <= 8;
  };
  // The server sets them on its own thread once it has accepted, which the
  // socket's being found does not wait for (it failed so in a CI run: the
  // kernel's defaults, 7200 s and 75 s x 9, read before they were set).
  EXPECT_TRUE(WaitFor(probed)) << "keepalive " << option(SOL_SOCKET, SO_KEEPALIVE) << ", idle "
                               << option(IPPROTO_TCP, TCP_KEEPIDLE) << " s, "
                               << option(IPPROTO_TCP, TCP_KEEPCNT) << " probes "
                               << option(IPPROTO_TCP, TCP_KEEPINTVL) << " s apart";
  ::close(fd);
}

TEST_F(HttpTest, ClientKeepsItsConnectionAcrossCalls) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->List().ok());
    auto stream = client->Get(Resource{{"znodes"}, {}}, {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    ReadResult read = ReadStream(std::move(*stream));
    ASSERT_TRUE(read.status.ok()) << read.status.ToString();
    EXPECT_EQ(read.rows, TableRows());
  }
  // The client's one idle connection and the metrics request's own: ten
  // calls opened no other (each would have been closed after its call).
  EXPECT_EQ(MetricValue(server_->port(), "zkarrow_http_connections"), 2);
  // A response not read to its end leaves its connection unusable: closed.
  {
    auto endless = client->Get(Resource{{"changes"}, {}}, {});
    ASSERT_TRUE(endless.ok()) << endless.status().ToString();
  }
  EXPECT_TRUE(
      WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_connections") == 1; }));
}

TEST_F(HttpTest, ClientSendsAgainWhenTheServerClosedItsIdleConnection) {
  HttpLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(100);
  StartServer({}, limits);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->List().ok());
  // The server closes the kept connection at its idle timeout; the next
  // call meets the closed connection and goes again on a new one.
  EXPECT_TRUE(
      WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_connections") == 1; }));
  auto list = client->List();
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  auto echoed = client->DoAction("echo", "{}");
  EXPECT_TRUE(echoed.ok()) << echoed.status().ToString();
}

TEST_F(HttpTest, ClientSeesAResponseCutAfterItsHeadersAsAFailedRead) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"broken"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  EXPECT_FALSE(read.status.ok());
  EXPECT_EQ(read.rows.size(), static_cast<size_t>(kRowsPerBatch));  // the batch before the cut
  EXPECT_NE(read.status.message().find("cut"), std::string::npos) << read.status.ToString();
}

// ClientOptions::interrupted ends a read that waits for a server sending
// nothing (a quiet live stream: its schema, then silence).
TEST_F(HttpTest, ClientInterruptedWhileWaitingForTheServerFailsTheRead) {
  StartServer();
  std::atomic<bool> interrupt{false};
  ClientOptions options;
  options.interrupted = [&] { return interrupt.load(); };
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"changes"}, {{"quiet", "true"}}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  interrupt = true;
  auto read = std::async(std::launch::async, [&] {
    std::vector<uint8_t> piece(4096);
    while (true) {
      auto n = (*stream)->Read(piece);
      if (!n.ok()) return n.status();
      if (*n == 0) return Status::Ok();
    }
  });
  if (read.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the read waited for the server regardless";
    server_->Shutdown();  // cuts the stream, so that the read returns
  }
  Status status = read.get();
  EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.ToString();
  EXPECT_NE(status.message().find("interrupted"), std::string::npos) << status.ToString();
}

// A response dropped in the middle of a chunk (the reader stopped early):
// the client reads a little more of it in case it ends, then gives the
// connection up, and the next call works.
TEST_F(HttpTest, ClientDroppingAResponseMidChunkMovesOn) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  {
    auto stream = client->Get(Resource{{"big"}, {}}, {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    std::vector<uint8_t> piece(7);
    auto n = (*stream)->Read(piece);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());
}

TEST_F(HttpTest, ClientPutRefusedAsMalformedOrTooLarge) {
  ServerOptions options;
  options.max_upload_bytes = 1000;
  StartServer(options);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  std::string garbage = MalformedUpload();
  arrow::BufferInputStream bad({reinterpret_cast<const uint8_t*>(garbage.data()), garbage.size()});
  auto malformed = client->Put(Resource{{"datasets", "bad"}, {}}, bad, nullptr);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument)  // 400
      << malformed.status().ToString();

  std::vector<uint8_t> large(512 * 1024, 0xff);
  arrow::BufferInputStream big(large);
  auto refused = client->Put(Resource{{"datasets", "big"}, {}}, big, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kOutOfRange) << refused.status().ToString();
  EXPECT_FALSE(service_.HasDataset("bad"));
  EXPECT_FALSE(service_.HasDataset("big"));
}

// --- curl ---

TEST_F(HttpTest, CurlGetsTheTableAndTheList) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  fs::path out = dir_ / "table.arrows";
  fs::path headers = dir_ / "headers";
  auto fetched = testing::RunCommand("curl -sS --fail -D " + Quote(headers.string()) + " -o " +
                                     Quote(out.string()) + " " + Quote(Url("/znodes")));
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  ReadResult read = ReadFile(out);
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());
  EXPECT_TRUE(read.ended_with_marker);
  std::ifstream in(headers);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(text.find("content-type: application/vnd.apache.arrow.stream"), std::string::npos)
      << text;
  EXPECT_NE(text.find("transfer-encoding: chunked"), std::string::npos) << text;
  EXPECT_EQ(text.find("content-encoding"), std::string::npos) << text;

  auto [status, body] = Curl(Quote(Url("/datasets")));
  EXPECT_EQ(status, 200);
  json list = json::parse(body, nullptr, false);
  ASSERT_TRUE(list.is_object()) << body;
  ASSERT_EQ(list["datasets"].size(), 1u) << body;
  EXPECT_EQ(list["datasets"][0]["target"], "/znodes");
  EXPECT_EQ(list["datasets"][0]["total_records"], kRowsPerBatch * kBatches);
  EXPECT_EQ(list["datasets"][0]["zxid"], 42);
  EXPECT_EQ(list["datasets"][0]["schema"], json({"id: int64 not null", "name: utf8 not null"}));
}

TEST_F(HttpTest, CurlAsksForZstdWithoutContentEncoding) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  fs::path out = dir_ / "zstd.arrows";
  fs::path headers = dir_ / "headers";
  auto fetched = testing::RunCommand(
      "curl -sS --fail -H 'Accept: application/vnd.apache.arrow.stream; codecs=\"zstd\"' -D " +
      Quote(headers.string()) + " -o " + Quote(out.string()) + " " + Quote(Url("/znodes")));
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  ReadResult read = ReadFile(out);
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());
  EXPECT_EQ(read.compression, arrow::ipc::Compression::kZstd);
  std::ifstream in(headers);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(text.find("content-encoding"), std::string::npos) << text;
}

TEST_F(HttpTest, CurlPutsAFileWithContentLengthAndChunked) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  fs::path file = WriteTableFile("upload.arrows");
  auto [created, body] = Curl("-T " + Quote(file.string()) + " " + Quote(Url("/datasets/up")));
  EXPECT_EQ(created, 201) << body;
  json info = json::parse(body, nullptr, false);
  ASSERT_TRUE(info.is_object()) << body;
  EXPECT_EQ(info["target"], "/datasets/up");
  EXPECT_EQ(info["total_records"], kRowsPerBatch * kBatches);
  EXPECT_EQ(info["version"], 1);  // app metadata merged in
  EXPECT_TRUE(info["schema_ipc"].is_string());

  auto [replaced, body2] = Curl("-T " + Quote(file.string()) + " -H 'Transfer-Encoding: chunked' " +
                                Quote(Url("/datasets/up")));
  EXPECT_EQ(replaced, 200) << body2;
  EXPECT_EQ(json::parse(body2, nullptr, false).value("version", 0), 2) << body2;

  fs::path back = dir_ / "back.arrows";
  ASSERT_TRUE(testing::RunCommand("curl -sS --fail -o " + Quote(back.string()) + " " +
                                  Quote(Url("/datasets/up")))
                  .ok());
  ReadResult read = ReadFile(back);
  ASSERT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());

  auto [deleted, body3] = Curl("-X DELETE " + Quote(Url("/datasets/up")));
  EXPECT_EQ(deleted, 204) << body3;
  EXPECT_FALSE(service_.HasDataset("up"));
}

TEST_F(HttpTest, CurlErrorStatusesCarryJsonBodies) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  auto [not_found, body] = Curl(Quote(Url("/datasets/missing")));
  EXPECT_EQ(not_found, 404);
  ExpectJsonError(body, 404, "no stream /datasets/missing");

  auto [bad_target, body2] = Curl("--path-as-is " + Quote(Url("/znodes/../etc")));
  EXPECT_EQ(bad_target, 400);
  ExpectJsonError(body2, 400);

  auto [bad_param, body3] = Curl(Quote(Url("/znodes?path=%00")));
  EXPECT_EQ(bad_param, 400);
  ExpectJsonError(body3, 400, "NUL");

  auto [wrong_method, body4] = Curl("-X POST " + Quote(Url("/znodes")));
  EXPECT_EQ(wrong_method, 405);
  ExpectJsonError(body4, 405, "POST");
  auto [odd_method, body4b] = Curl("-X BREW " + Quote(Url("/znodes")));
  EXPECT_EQ(odd_method, 405);
  ExpectJsonError(body4b, 405);

  fs::path garbage = dir_ / "garbage";
  std::ofstream(garbage) << MalformedUpload();
  auto [malformed, body5] = Curl("-T " + Quote(garbage.string()) + " " + Quote(Url("/datasets/g")));
  EXPECT_EQ(malformed, 400);
  ExpectJsonError(body5, 400, "upload");
  EXPECT_FALSE(service_.HasDataset("g"));

  service_.healthy_ = false;
  auto [unhealthy, body6] = Curl(Quote(Url("/healthz")));
  EXPECT_EQ(unhealthy, 503);
  ExpectJsonError(body6, 503, "not ready");
  service_.healthy_ = true;
  auto [healthy, body7] = Curl(Quote(Url("/healthz")));
  EXPECT_EQ(healthy, 200);
  EXPECT_EQ(body7, "ok\n");

  auto [metrics, body8] = Curl(Quote(Url("/metrics")));
  EXPECT_EQ(metrics, 200);
  EXPECT_NE(
      body8.find("zkarrow_http_requests_total{route=\"datasets\",method=\"GET\",status=\"404\"} 1"),
      std::string::npos)
      << body8;
  EXPECT_NE(
      body8.find("zkarrow_http_requests_total{route=\"healthz\",method=\"GET\",status=\"503\"} 1"),
      std::string::npos)
      << body8;
  EXPECT_NE(body8.find("test_service_up 1\n"), std::string::npos) << body8;
  // Methods Beast does not know share one label value (no unbounded labels).
  EXPECT_NE(body8.find("{route=\"znodes\",method=\"other\",status=\"405\"} 1"), std::string::npos)
      << body8;
  EXPECT_EQ(body8.find("BREW"), std::string::npos) << body8;
}

TEST_F(HttpTest, AnUploadRefusedBeforeItsBodyIsReadGetsTheRefusal) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  fs::path file = WriteTableFile("upload.arrows");
  for (std::string expect : {"-H 'Expect: 100-continue'", "-H 'Expect:'"}) {
    auto [status, body] =
        Curl("-T " + Quote(file.string()) + " " + expect + " " + Quote(Url("/datasets/locked")));
    EXPECT_EQ(status, 409) << expect;
    ExpectJsonError(body, 409, "dataset locked is locked");
  }
  // The server still serves.
  auto [listed, body] = Curl(Quote(Url("/datasets")));
  EXPECT_EQ(listed, 200) << body;
}

TEST_F(HttpTest, CurlUploadsPastTheLimitGet413) {
  SKIP_WITHOUT(MissingCurl);
  ServerOptions options;
  options.max_upload_bytes = 100;
  StartServer(options);
  fs::path file = WriteTableFile("upload.arrows");
  ASSERT_GT(fs::file_size(file), 100u);
  // Content-Length says it up front.
  auto [declared, body] = Curl("-T " + Quote(file.string()) + " " + Quote(Url("/datasets/x")));
  EXPECT_EQ(declared, 413);
  ExpectJsonError(body, 413, "limit of 100 bytes");
  // A chunked body is refused when it passes the limit.
  auto [chunked, body2] = Curl("-T " + Quote(file.string()) + " -H 'Transfer-Encoding: chunked' " +
                               Quote(Url("/datasets/x")));
  EXPECT_EQ(chunked, 413);
  ExpectJsonError(body2, 413, "limit of 100 bytes");
  EXPECT_FALSE(service_.HasDataset("x"));
}

TEST_F(HttpTest, BearerTokenIsRequiredWhenConfigured) {
  SKIP_WITHOUT(MissingCurl);
  ServerOptions options;
  options.bearer_token = "s3cret-token";
  StartServer(options);
  auto [missing, body] = Curl(Quote(Url("/znodes")));
  EXPECT_EQ(missing, 401);
  ExpectJsonError(body, 401, "Bearer");
  auto [wrong, body2] = Curl("-H 'Authorization: Bearer s3cret-tokeN' " + Quote(Url("/znodes")));
  EXPECT_EQ(wrong, 401);
  ExpectJsonError(body2, 401);
  auto [right, body3] = Curl("-H 'Authorization: Bearer s3cret-token' " + Quote(Url("/datasets")));
  EXPECT_EQ(right, 200) << body3;

  ClientOptions wrong_token;
  wrong_token.bearer_token = "nope";
  auto client = Client(wrong_token);
  ASSERT_NE(client, nullptr);
  auto refused = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  auto good = Client();
  ASSERT_NE(good, nullptr);
  auto stream = good->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(ReadStream(std::move(*stream)).rows, TableRows());
}

// A page of another site, in its user's browser, can send a form's or a
// text/plain POST anywhere and can reach the server by a name of its own
// (DNS rebinding): neither changes anything, and zkarrow's client and curl
// (no Origin, a JSON body) are served.
TEST_F(HttpTest, RequestsFromPagesOfOtherSitesAreRefused) {
  SKIP_WITHOUT(MissingCurl);
  HttpLimits limits;
  limits.allowed_hosts = {"ZK.example"};
  StartServer({}, limits);
  const std::string port = std::to_string(server_->port());
  const std::string json_type = "-H 'Content-Type: application/json' ";
  const std::string echo = Quote(Url("/actions/echo"));

  auto [cross_site, body] =
      Curl("-H 'Origin: http://evil.example' " + json_type + "--data '{}' " + echo);
  EXPECT_EQ(cross_site, 403);
  ExpectJsonError(body, 403, "Origin \"http://evil.example\" is not this server");
  auto [other_port, body2] =
      Curl("-H 'Origin: http://127.0.0.1:1' " + json_type + "-d '{}' " + echo);
  EXPECT_EQ(other_port, 403) << body2;
  auto [opaque, body3] = Curl("-H 'Origin: null' " + json_type + "-d '{}' " + echo);
  EXPECT_EQ(opaque, 403) << body3;
  auto [text, body4] = Curl("-H 'Content-Type: text/plain' --data '{}' " + echo);
  EXPECT_EQ(text, 415);
  ExpectJsonError(body4, 415, "expected Content-Type application/json, found \"text/plain\"");
  auto [form, body5] = Curl("--data 'a=b' " + echo);  // application/x-www-form-urlencoded
  EXPECT_EQ(form, 415) << body5;
  auto [no_type, body6] = Curl("-H 'Content-Type:' --data '{}' " + echo);
  EXPECT_EQ(no_type, 415) << body6;
  fs::path file = WriteTableFile("upload.arrows");
  auto [upload, body7] = Curl("-H 'Origin: http://evil.example' -T " + Quote(file.string()) + " " +
                              Quote(Url("/datasets/csrf")));
  EXPECT_EQ(upload, 403) << body7;
  EXPECT_FALSE(service_.HasDataset("csrf"));
  auto [query, body8] =
      Curl("-H 'Origin: http://evil.example' --data 'SELECT 1' " + Quote(Url("/query")));
  EXPECT_EQ(query, 403) << body8;

  // The server's own page (same origin), curl and zkarrow's client.
  auto [same, body9] = Curl("-H 'Origin: http://127.0.0.1:" + port + "' " + json_type +
                            "--data '{\"a\":1}' " + echo);
  EXPECT_EQ(same, 200) << body9;
  auto [curl, body10] =
      Curl("-H 'Content-Type: Application/JSON; charset=utf-8' --data '{}' " + echo);
  EXPECT_EQ(curl, 200) << body10;
  auto [empty, body11] = Curl("-X POST " + echo);
  EXPECT_EQ(empty, 200) << body11;
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto echoed = client->DoAction("echo", "{}");
  EXPECT_TRUE(echoed.ok()) << echoed.status().ToString();
  std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
  arrow::BufferInputStream mine(bytes);
  auto stored = client->Put(Resource{{"datasets", "mine"}, {}}, mine, nullptr);
  EXPECT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(service_.HasDataset("mine"));
  EXPECT_TRUE(client->Delete(Resource{{"datasets", "mine"}, {}}).ok());

  // Host: names other than localhost's and the configured ones are refused,
  // reads included; IP addresses are not names.
  auto [rebound, body12] =
      Curl("-H 'Host: attacker.example:" + port + "' " + Quote(Url("/datasets")));
  EXPECT_EQ(rebound, 421);
  ExpectJsonError(body12, 421, "Host \"attacker.example:" + port + "\" is not a name");
  EXPECT_NE(body12.find("--http-allowed-hosts"), std::string::npos) << body12;
  for (const std::string& host :
       std::vector<std::string>{"localhost:" + port, "app.localhost", "zk.EXAMPLE:" + port,
                                "127.0.0.1:" + port, "[::1]:" + port, "10.1.2.3"}) {
    auto [allowed, body13] = Curl("-H 'Host: " + host + "' " + Quote(Url("/datasets")));
    EXPECT_EQ(allowed, 200) << host << ": " << body13;
  }
  auto [lookalike, body14] = Curl("-H 'Host: zk.example.evil.example' " + Quote(Url("/datasets")));
  EXPECT_EQ(lookalike, 421) << body14;

  // No CORS preflight is approved, so a page cannot ask for more.
  std::string preflight = RawExchange(
      server_->port(), "OPTIONS /actions/echo HTTP/1.1\r\nHost: 127.0.0.1:" + port +
                           "\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: "
                           "POST\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(preflight.rfind("HTTP/1.1 403 ", 0), 0u) << preflight;
  EXPECT_EQ(preflight.find("Access-Control-Allow"), std::string::npos) << preflight;
}

TEST_F(HttpTest, CurlSeesACutResponseAsAnError) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  // curl exits 18 (partial file) when the chunked body never ends.
  auto fetched = testing::RunCommand("curl -sS -o /dev/null " + Quote(Url("/broken")) +
                                     " 2>/dev/null; echo $?");
  ASSERT_TRUE(fetched.ok());
  EXPECT_NE(std::stoi(*fetched), 0);
}

// --- Arrow JS ---

TEST_F(HttpTest, ArrowJsReadsTablesAndALiveStreamWithFetch) {
  SKIP_WITHOUT(MissingNode);
  StartServer();
  auto node = [&](const std::string& args) {
    auto output = testing::RunCommand("node " + Quote((kInteropDir / "http_fetch.mjs").string()) +
                                      " " + args);
    EXPECT_TRUE(output.ok()) << output.status().ToString();
    return testing::ParseJsonLines(output.ok() ? *output : "");
  };
  json expected_rows = json::array();
  for (const auto& [id, name] : TableRows()) expected_rows.push_back({std::to_string(id), name});
  auto rows_of = [](const std::vector<json>& lines) {
    json rows = json::array();
    for (size_t i = 2; i < lines.size(); ++i) rows.push_back(lines[i]);
    return rows;
  };

  // tableFromIPC over the whole response.
  auto table = node(Quote(Url("/znodes")));
  ASSERT_GE(table.size(), 2u);
  EXPECT_EQ(table[0]["status"], 200);
  EXPECT_EQ(table[0]["content_encoding"], nullptr);
  EXPECT_EQ(table[1]["fields"], json::parse(R"([{"name":"id","type":"int64"},
                                                {"name":"name","type":"utf8"}])"));
  EXPECT_EQ(rows_of(table), expected_rows);

  // ZSTD bodies, decoded by the codec registered from tests/interop.
  auto zstd = node("--codec zstd " + Quote(Url("/znodes")));
  EXPECT_EQ(service_.last_compression_.load(), arrow::ipc::Compression::kZstd);
  EXPECT_EQ(rows_of(zstd), expected_rows);

  // An endless stream, read batch by batch while it is open.
  auto live = node("--batches 3 " + Quote(Url("/changes")));
  ASSERT_EQ(live.size(), 2u + 3 * kRowsPerBatch);
  EXPECT_EQ(live[0]["batches"], 3);
  EXPECT_TRUE(WaitFor([&] { return service_.cancelled_.load() == 1; }));
}

// --- slow, vanished and many clients; shutdown ---

TEST_F(HttpTest, AClientThatStopsReadingIsDisconnectedWithoutBlockingOthers) {
  HttpLimits limits;
  limits.write_timeout = std::chrono::milliseconds(500);
  StartServer({}, limits);
  // Asks for a live stream of large batches and reads nothing.
  int stalled = ConnectTo(server_->port(), 4096);
  SendAll(stalled, "GET /changes?big=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  // Others are served meanwhile.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto stream = client->Get(Resource{{"znodes"}, {}}, {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    EXPECT_EQ(ReadStream(std::move(*stream)).rows, TableRows());
  }
  EXPECT_TRUE(WaitFor([&] {
    return MetricValue(server_->port(), "zkarrow_http_slow_client_disconnects_total") >= 1;
  }));
  EXPECT_TRUE(WaitFor([&] { return service_.cancelled_.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
  ::close(stalled);
}

// Opens GET /changes?quiet=true and reads until its headers came (the
// schema with them); then nothing will. The socket, or -1 (with a test
// failure) when the response did not start.
int OpenQuietLiveStream(int port) {
  int fd = ConnectTo(port);
  SendAll(fd, "GET /changes?quiet=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string received;
  char buffer[4096];
  while (received.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  if (!received.starts_with("HTTP/1.1 200") || received.find("\r\n\r\n") == std::string::npos) {
    ADD_FAILURE() << "the live stream did not start: " << received;
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(HttpTest, AClientGoneFromAQuietLiveStreamIsNoticedBeforeTheNextWrite) {
  StartServer();
  int fd = OpenQuietLiveStream(server_->port());
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return service_.cancelled_.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
}

// A reader leaving a live stream ends it the normal way: counted apart from
// the responses the server cut, the errors an operator alerts on.
TEST_F(HttpTest, AClientLeavingALiveStreamIsNotAStreamError) {
  StartServer();
  const std::string left = "zkarrow_http_streams_left_by_client_total{route=\"changes\"}";
  const std::string changes_cut = "zkarrow_http_stream_errors_total{route=\"changes\"}";
  int fd = OpenQuietLiveStream(server_->port());
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), left) == 1; }));
  EXPECT_EQ(MetricValue(server_->port(), changes_cut), -1);
  // A response the server cut after its headers is an error.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"broken"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_FALSE(ReadStream(std::move(*stream)).status.ok());
  EXPECT_TRUE(WaitFor([&] {
    return MetricValue(server_->port(), "zkarrow_http_stream_errors_total{route=\"other\"}") == 1;
  }));
  EXPECT_EQ(MetricValue(server_->port(), left), 1);
}

// The client's FIN is seen behind bytes it sent that the server has not
// read (a next request here; over TLS, the close_notify before every FIN).
// A client that only half-closes is gone too, for a response that waits:
// one that wants its response keeps its sending side open.
TEST_F(HttpTest, AClientThatHalfClosesBehindItsNextRequestIsNoticedOnAQuietLiveStream) {
  StartServer();
  int fd = OpenQuietLiveStream(server_->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ::shutdown(fd, SHUT_WR);
  EXPECT_TRUE(WaitFor([&] { return service_.cancelled_.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
  ::close(fd);
}

TEST_F(HttpTest, AClientKilledMidDownloadLeavesTheServerServing) {
  SKIP_WITHOUT(MissingCurl);
  StartServer();
  fs::path partial = dir_ / "partial";
  fs::path pid_file = dir_ / "pid";
  // A slow download in the background, killed once it has begun.
  ASSERT_TRUE(testing::RunCommand("curl -sS --limit-rate 64K -o " + Quote(partial.string()) + " " +
                                  Quote(Url("/big")) + " >/dev/null 2>&1 & echo $! > " +
                                  Quote(pid_file.string()))
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(partial) && fs::file_size(partial) > 0; }));
  std::ifstream pid_in(pid_file);
  int pid = 0;
  pid_in >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
  EXPECT_TRUE(
      WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_connections") == 1; }));
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"big"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  EXPECT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows.size(), 64u * 64u);
}

TEST_F(HttpTest, AnUploadCutShortStoresNothing) {
  StartServer();
  std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
  int fd = ConnectTo(server_->port());
  SendAll(fd, "PUT /datasets/cut HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                  std::to_string(bytes.size()) + "\r\n\r\n");
  SendAll(fd, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size() / 2));
  ASSERT_TRUE(WaitFor([&] { return service_.puts_started_.load() == 1; }));
  ::close(fd);
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
  EXPECT_FALSE(service_.HasDataset("cut"));
}

// Beast bounds neither a chunk header's extensions nor trailers (its body
// limit counts chunk data): a line without an end must not be buffered
// whole. The server answers once its read buffer is full, long before the
// client sent everything it would.
TEST_F(HttpTest, AnEndlessChunkHeaderIsRefusedWhileRead) {
  StartServer();
  int fd = ConnectTo(server_->port());
  SendAll(fd,
          "POST /actions/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n1;");
  constexpr int64_t kBudget = int64_t{64} << 20;
  const std::string piece(64 * 1024, 'a');
  int64_t sent = 0;
  bool answered = false;
  while (sent < kBudget) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 0) > 0) {
      answered = true;
      break;
    }
    ssize_t n = ::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += n;
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
    reply.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_TRUE(answered);
  EXPECT_LT(sent, kBudget);
  ASSERT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply.substr(0, 200);
  ExpectJsonError(reply.substr(reply.find("\r\n\r\n") + 4), 400, "chunk header or trailer");
  // The server goes on serving.
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto echoed = client->DoAction("echo", "still here");
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
}

// An exception out of a handler on an I/O thread (out of memory) ends that
// connection, not the process.
TEST_F(HttpTest, AnExceptionInAHandlerEndsItsConnectionOnly) {
  StartServer();
  for (int i = 0; i < 3; ++i) {  // more than the I/O threads
    std::string reply = RawExchange(
        server_->port(), "GET /throws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(reply, "");
  }
  // Counted once the exception left the handler, after its connection closed.
  EXPECT_TRUE(WaitFor(
      [&] { return MetricValue(server_->port(), "zkarrow_http_handler_exceptions_total") == 3; }));
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(ReadStream(std::move(*stream)).rows, TableRows());
}

// The same on a worker thread (an upload, an action): the request gets a
// 503 and the process goes on serving.
TEST_F(HttpTest, AnExceptionInAWorkerBecomesItsRequestsError) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto action = client->DoAction("throw", "{}");
  ASSERT_FALSE(action.ok());
  EXPECT_EQ(action.status().code(), StatusCode::kUnavailable) << action.status().ToString();
  EXPECT_NE(action.status().message().find("out of memory"), std::string::npos)
      << action.status().ToString();
  std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
  arrow::BufferInputStream upload(bytes);
  auto put = client->Put(Resource{{"datasets", "throws"}, {}}, upload, nullptr);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
  EXPECT_EQ(MetricValue(server_->port(), "zkarrow_http_handler_exceptions_total"), 2);
  auto echoed = client->DoAction("echo", "still here");
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
}

TEST_F(HttpTest, StreamsPastTheLimitGet503) {
  ServerOptions options;
  options.max_concurrent_streams = 1;
  StartServer(options);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto live = client->Get(Resource{{"changes"}, {}}, {});
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  auto refused = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  live->reset();  // closes the connection: the slot comes back
  EXPECT_TRUE(WaitFor([&] { return MetricValue(server_->port(), "zkarrow_http_streams") == 0; }));
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(ReadStream(std::move(*stream)).rows, TableRows());
}

TEST_F(HttpTest, ConnectionsPastTheLimitAreRefusedWith503) {
  HttpLimits limits;
  limits.max_connections = 1;
  StartServer({}, limits);
  int first = ConnectTo(server_->port());
  // The probe sends nothing: a refused connection is answered and closed
  // at once, with no request bytes left unread (which would reset it).
  std::string refused = RawExchange(server_->port(), "");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
  EXPECT_NE(refused.find("too many connections"), std::string::npos) << refused;
  ::close(first);
  EXPECT_TRUE(WaitFor([&] {
    return RawExchange(server_->port(),
                       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .starts_with("HTTP/1.1 200");
  }));
}

TEST_F(HttpTest, ShutdownWithLiveStreamsOpenReturnsAndCutsThem) {
  StartServer();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  std::vector<std::unique_ptr<arrow::InputStream>> streams;
  for (int i = 0; i < 2; ++i) {
    auto stream = client->Get(Resource{{"changes"}, {}}, {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    uint8_t first[8];
    ASSERT_TRUE(arrow::ReadFully(**stream, first).ok());
    streams.push_back(std::move(*stream));
  }
  server_->Shutdown();
  EXPECT_EQ(service_.cancelled_.load(), 2);
  for (auto& stream : streams) {
    // The rest of the stream ends with a failed read, not a clean end.
    Status status;
    std::vector<uint8_t> buffer(1 << 16);
    while (true) {
      auto n = stream->Read(buffer);
      if (!n.ok()) {
        status = n.status();
        break;
      }
      ASSERT_NE(*n, 0) << "a cut stream read as complete";
    }
    EXPECT_NE(status.message().find("cut"), std::string::npos) << status.ToString();
  }
  server_->Shutdown();  // again: nothing to do
}

// --- TLS ---

TEST_F(HttpTest, TlsRoundTripWithACertificateMadeByOpenssl) {
  SKIP_WITHOUT(MissingCurl);
  fs::path key = dir_ / "key.pem";
  fs::path cert = dir_ / "cert.pem";
  auto made = testing::RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      "-addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' -keyout " +
      Quote(key.string()) + " -out " + Quote(cert.string()) + " 2>&1");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ServerOptions options;
  options.tls_cert_file = cert.string();
  options.tls_key_file = key.string();
  StartServer(options);

  ClientOptions trusted;
  trusted.tls = true;
  trusted.tls_ca_file = cert.string();
  auto client = Client(trusted);
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(Resource{{"znodes"}, {}}, {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ReadResult read = ReadStream(std::move(*stream));
  EXPECT_TRUE(read.status.ok()) << read.status.ToString();
  EXPECT_EQ(read.rows, TableRows());
  std::vector<uint8_t> bytes = TableStream(arrow::ipc::Compression::kNone);
  arrow::BufferInputStream upload(bytes);
  auto stored = client->Put(Resource{{"datasets", "tls"}, {}}, upload, nullptr);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->total_records, kRowsPerBatch * kBatches);

  // Not trusted by the system's store.
  ClientOptions untrusted;
  untrusted.tls = true;
  untrusted.host = "127.0.0.1";
  untrusted.port = server_->port();
  auto refused = HttpClient::Connect(untrusted);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("TLS handshake"), std::string::npos)
      << refused.status().ToString();
  // Plain HTTP to the TLS port gets no answer it can use.
  ClientOptions plain;
  plain.connect_timeout_ms = 5000;
  plain.host = "127.0.0.1";
  plain.port = server_->port();
  auto plain_client = HttpClient::Connect(plain);
  if (plain_client.ok()) {
    EXPECT_FALSE((*plain_client)->List().ok());
  }

  fs::path out = dir_ / "tls.arrows";
  std::string https = "https://127.0.0.1:" + std::to_string(server_->port());
  auto fetched = testing::RunCommand("curl -sS --fail --cacert " + Quote(cert.string()) + " -o " +
                                     Quote(out.string()) + " " + Quote(https + "/datasets/tls"));
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  ReadResult via_curl = ReadFile(out);
  EXPECT_TRUE(via_curl.status.ok()) << via_curl.status.ToString();
  EXPECT_EQ(via_curl.rows, TableRows());
}

// --- protocol pieces ---

TEST(HttpProtocolTest, AcceptCodecs) {
  using arrow::ipc::Compression;
  EXPECT_EQ(CompressionFromAccept("application/vnd.apache.arrow.stream"), Compression::kNone);
  EXPECT_EQ(CompressionFromAccept("application/vnd.apache.arrow.stream; codecs=\"zstd\""),
            Compression::kZstd);
  EXPECT_EQ(CompressionFromAccept("application/vnd.apache.arrow.stream;codecs=lz4"),
            Compression::kLz4Frame);
  EXPECT_EQ(CompressionFromAccept(
                "text/html, Application/Vnd.Apache.Arrow.Stream; q=0.9; codecs=\"br, zstd, lz4\""),
            Compression::kZstd);
  EXPECT_EQ(CompressionFromAccept("application/json; codecs=zstd"), Compression::kNone);
  EXPECT_EQ(CompressionFromAccept("application/vnd.apache.arrow.stream; codecs=\"gzip\""),
            Compression::kNone);
  EXPECT_EQ(CompressionFromAccept(AcceptFor(Compression::kLz4Frame)), Compression::kLz4Frame);
}

TEST(HttpProtocolTest, StatusTableBothWays) {
  for (StatusCode code :
       {StatusCode::kInvalidArgument, StatusCode::kNotFound, StatusCode::kConflict,
        StatusCode::kOutOfRange, StatusCode::kUnavailable, StatusCode::kUnauthenticated,
        StatusCode::kTimeout, StatusCode::kNotImplemented}) {
    EXPECT_EQ(HttpToStatusCode(StatusToHttp(code)), code) << StatusCodeName(code);
  }
  EXPECT_EQ(StatusToHttp(StatusCode::kInvalidData), 400);
  EXPECT_EQ(StatusToHttp(StatusCode::kIoError), 500);
  Status back = StatusFromErrorResponse(409, ErrorJson(Status::Conflict("version 3 is gone")));
  EXPECT_EQ(back.code(), StatusCode::kConflict);
  EXPECT_EQ(back.message(), "HTTP 409: version 3 is gone");
}

TEST(HttpProtocolTest, StreamInfoJsonRoundTrip) {
  StreamInfo info{Resource{{"datasets", "a b"}, {}}, TableSchema(), 7, 99, "{\"sha\":\"x\"}"};
  auto text = StreamInfoToJson(info);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto back = StreamInfoFromJson(*text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->resource, info.resource);
  EXPECT_EQ(*back->schema, *info.schema);
  EXPECT_EQ(back->total_records, 7);
  EXPECT_EQ(back->total_bytes, 99);
  EXPECT_EQ(json::parse(back->app_metadata_json), json({{"sha", "x"}}));
  EXPECT_EQ(StreamInfoFromJson("{\"target\": 3}").status().code(), StatusCode::kInvalidData);
  EXPECT_EQ(StreamInfoFromJson("{\"target\": \"/x\", \"schema_ipc\": \"abc\"}").status().code(),
            StatusCode::kInvalidData);
  EXPECT_TRUE(ConstantTimeEquals("token", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "tokeN"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token2"));
}

}  // namespace
}  // namespace zkarrow::transport::http
