// The Flight transport against an in-test ArrowService (a fixed table, an
// oversized message, a live stream produced on a timer, uploads kept in
// memory): FlightClient round trips, the bearer token, TLS, limits, bad
// input through the raw gRPC stub, cancellation and shutdown of live
// streams, and an independent client (Node's @grpc/grpc-js with Arrow JS,
// tests/interop/flight_client.mjs).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "arrow/compare.h"
#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/reader.h"
#include "arrow/ipc/writer.h"
#include "arrow/record_batch_builder.h"
#include "flight.grpc.pb.h"
#include "interop/canonical_dump.h"
#include "support/prerequisite.h"
#include "support/znode_rows.h"
#include "transport/arrow_service.h"
#include "transport/flight/flight_client.h"
#include "transport/flight/flight_codec.h"
#include "transport/flight/flight_server.h"

namespace zkarrow::transport::flight {
namespace {

namespace fs = std::filesystem;
namespace fproto = ::arrow::flight::protocol;
using nlohmann::json;

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
                    arrow::MakeField("name", arrow::Utf8Type()),
                    arrow::MakeField("payload", arrow::BinaryType())};
  schema->metadata = {{"zkarrow.test", "flight"}};
  return schema;
}

// Rows first..first+count-1; every fifth name is null; payloads are
// `payload_bytes` long.
arrow::RecordBatch MakeBatch(int64_t first, int64_t count, int64_t payload_bytes = 3) {
  auto builder = arrow::RecordBatchBuilder::Make(TableSchema());
  EXPECT_TRUE(builder.ok());
  for (int64_t id = first; id < first + count; ++id) {
    builder->column_as<arrow::Int64Builder>(0).Append(id);
    if (id % 5 == 0) {
      builder->column(1).AppendNull();
    } else {
      EXPECT_TRUE(
          builder->column_as<arrow::BinaryBuilder>(1).Append("node-" + std::to_string(id)).ok());
    }
    std::string payload(static_cast<size_t>(payload_bytes), static_cast<char>('a' + id % 26));
    EXPECT_TRUE(builder->column_as<arrow::BinaryBuilder>(2).Append(payload).ok());
  }
  auto batch = builder->Finish();
  EXPECT_TRUE(batch.ok());
  return *batch;
}

std::vector<arrow::RecordBatch> TableBatches() {
  std::vector<arrow::RecordBatch> batches;
  for (int b = 0; b < kBatches; ++b) batches.push_back(MakeBatch(b * kRowsPerBatch, kRowsPerBatch));
  return batches;
}

// The batches as encapsulated messages (schema first), by the project's
// writer cut by MessageSplitter, as a service produces them.
std::vector<IpcMessage> Encode(
    const arrow::Schema& schema, const std::vector<arrow::RecordBatch>& batches,
    arrow::ipc::Compression compression = arrow::ipc::Compression::kNone) {
  arrow::ipc::MessageSplitter splitter;
  auto writer = arrow::ipc::IpcWriter::OpenStream(splitter, schema, {.compression = compression});
  EXPECT_TRUE(writer.ok());
  for (const auto& batch : batches) EXPECT_TRUE((*writer)->WriteBatch(batch).ok());
  EXPECT_TRUE((*writer)->Close().ok());
  return splitter.TakeMessages();
}

// The stream format of the batches (what a client uploads).
std::shared_ptr<const arrow::Buffer> StreamBytes(const std::vector<arrow::RecordBatch>& batches) {
  arrow::BufferOutputStream out;
  auto writer = arrow::ipc::IpcWriter::OpenStream(out, *TableSchema());
  EXPECT_TRUE(writer.ok());
  for (const auto& batch : batches) EXPECT_TRUE((*writer)->WriteBatch(batch).ok());
  EXPECT_TRUE((*writer)->Close().ok());
  return out.Finish();
}

// An InputStream the caller keeps owning, for readers that take ownership.
class BorrowedInput final : public arrow::InputStream {
 public:
  explicit BorrowedInput(arrow::InputStream& in) : in_(in) {}
  Result<int64_t> Read(std::span<uint8_t> out) override { return in_.Read(out); }

 private:
  arrow::InputStream& in_;
};

struct ReadBack {
  std::shared_ptr<const arrow::Schema> schema;
  std::vector<arrow::RecordBatch> batches;
  bool ended_with_marker = false;
};

Result<ReadBack> ReadAll(std::unique_ptr<arrow::InputStream> in) {
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::StreamReader::Open(std::move(in)));
  ReadBack out;
  out.schema = reader->shared_schema();
  for (;;) {
    ZKA_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) break;
    out.batches.push_back(std::move(*batch));
  }
  out.ended_with_marker = reader->ended_with_marker();
  return out;
}

// Compares batches row for row, whatever the batch boundaries' order.
void ExpectSameBatches(const std::vector<arrow::RecordBatch>& expected,
                       const std::vector<arrow::RecordBatch>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string why;
    EXPECT_TRUE(arrow::BatchesEqual(expected[i], actual[i], &why)) << "batch " << i << ": " << why;
  }
}

// A live stream: the schema at once, then a batch each time the producer
// thread ticks (every few milliseconds), until cancelled. Next() says
// kPending between ticks, exercising the server's wakeup path.
class LiveStream final : public MessageStream {
 public:
  struct Counters {
    std::atomic<int> open{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> waits{0};  // wakeups registered while nothing was ready
  };

  // Each batch has two rows of `payload_bytes`-byte payloads; a quiet
  // stream sends only its schema (a server with no changes to report).
  LiveStream(Counters& counters, int64_t payload_bytes, bool quiet)
      : counters_(counters), quiet_(quiet) {
    ++counters_.open;
    auto messages = Encode(*TableSchema(), {MakeBatch(0, 2, payload_bytes)});
    ready_.push_back(messages[0]);
    batch_ = messages[1];
    producer_ = std::thread([this] { Produce(); });
  }
  ~LiveStream() override {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    tick_.notify_all();
    producer_.join();
    --counters_.open;
  }

  Result<Poll> Next(IpcMessage* out) override {
    std::lock_guard lock(mu_);
    if (ready_.empty()) return Poll::kPending;
    *out = ready_.front();
    ready_.pop_front();
    return Poll::kMessage;
  }
  void NotifyWhenReady(std::function<void()> wakeup) override {
    {
      std::lock_guard lock(mu_);
      if (ready_.empty()) {
        ++counters_.waits;
        wakeup_ = std::move(wakeup);
        return;
      }
    }
    wakeup();
  }
  void Cancel() override {
    ++counters_.cancelled;
    std::lock_guard lock(mu_);
    stopped_ = true;
    tick_.notify_all();
  }

 private:
  void Produce() {
    std::unique_lock lock(mu_);
    while (!stopped_) {
      tick_.wait_for(lock, std::chrono::milliseconds(5));
      if (stopped_) break;
      // Bounded like a real live stream's per-client buffer.
      if (!quiet_ && ready_.size() < 16) ready_.push_back(batch_);
      if (auto wakeup = std::exchange(wakeup_, nullptr)) {
        lock.unlock();
        wakeup();
        lock.lock();
      }
    }
  }

  Counters& counters_;
  const bool quiet_;
  std::mutex mu_;
  std::condition_variable tick_;
  std::deque<IpcMessage> ready_;
  IpcMessage batch_;
  std::function<void()> wakeup_;
  bool stopped_ = false;
  std::thread producer_;
};

// /znodes: the fixed table; /big: one message over the FlightData limit;
// /changes: a live stream; /datasets/NAME: uploads, kept in memory.
class TestService final : public ArrowService {
 public:
  TestService()
      : table_(std::make_shared<std::vector<IpcMessage>>(Encode(*TableSchema(), TableBatches()))) {}

  Result<std::vector<StreamInfo>> List() override {
    std::vector<StreamInfo> infos;
    ZKA_ASSIGN_OR_RETURN(StreamInfo table, Describe(*ParseTarget("/znodes")));
    infos.push_back(std::move(table));
    std::lock_guard lock(mu_);
    for (const auto& [target, dataset] : datasets_) infos.push_back(dataset.info);
    return infos;
  }

  Result<StreamInfo> Describe(const Resource& resource) override {
    StreamInfo info;
    info.resource = resource;
    info.schema = TableSchema();
    std::string target = resource.ToTarget();
    if (target == "/znodes") {
      info.total_records = kRowsPerBatch * kBatches;
      info.total_bytes = 0;
      for (const IpcMessage& message : *table_) info.total_bytes += message.framed_size();
      info.app_metadata_json = R"({"zxid":"42"})";
      return info;
    }
    if (target == "/changes" || target == "/big") return info;
    std::lock_guard lock(mu_);
    if (auto it = datasets_.find(target); it != datasets_.end()) return it->second.info;
    return Status::NotFound("no resource " + target);
  }

  Result<std::unique_ptr<MessageStream>> Get(const Resource& resource,
                                             const GetOptions& options) override {
    std::string target = resource.ToTarget();
    if (target == "/znodes" && options.compression != arrow::ipc::Compression::kNone) {
      return std::unique_ptr<MessageStream>(
          new VectorMessageStream(std::make_shared<const std::vector<IpcMessage>>(
              Encode(*TableSchema(), TableBatches(), options.compression))));
    }
    if (target == "/znodes") return std::unique_ptr<MessageStream>(new VectorMessageStream(table_));
    if (resource.segments == std::vector<std::string>{"changes"}) {
      ZKA_ASSIGN_OR_RETURN(auto size, resource.IntParam("size"));
      ZKA_ASSIGN_OR_RETURN(bool quiet, resource.BoolParam("quiet", false));
      return std::unique_ptr<MessageStream>(new LiveStream(live_, size.value_or(3), quiet));
    }
    if (target == "/big") {
      auto big = Encode(*TableSchema(), {MakeBatch(0, 1, int64_t{5} << 20)});
      return std::unique_ptr<MessageStream>(
          new VectorMessageStream(std::make_shared<const std::vector<IpcMessage>>(std::move(big))));
    }
    std::lock_guard lock(mu_);
    if (auto it = datasets_.find(target); it != datasets_.end()) {
      return std::unique_ptr<MessageStream>(new VectorMessageStream(it->second.messages));
    }
    return Status::NotFound("no resource " + target);
  }

  Result<StreamInfo> Put(const Resource& resource, arrow::InputStream& upload) override {
    if (resource.segments.size() != 2 || resource.segments[0] != "datasets") {
      return Status::InvalidArgument("uploads go to /datasets/NAME, not " + resource.ToTarget());
    }
    ZKA_ASSIGN_OR_RETURN(ReadBack read, ReadAll(std::make_unique<BorrowedInput>(upload)));
    if (!read.ended_with_marker) return Status::InvalidData("the upload ended without its marker");
    Dataset dataset;
    dataset.info.resource = resource;
    dataset.info.schema = read.schema;
    dataset.info.total_records = 0;
    for (const auto& batch : read.batches) dataset.info.total_records += batch.length;
    dataset.info.app_metadata_json =
        R"({"rows":)" + std::to_string(dataset.info.total_records) + "}";
    dataset.batches = read.batches;
    dataset.messages =
        std::make_shared<const std::vector<IpcMessage>>(Encode(*read.schema, read.batches));
    std::lock_guard lock(mu_);
    datasets_[resource.ToTarget()] = dataset;
    return dataset.info;
  }

  Status Delete(const Resource& resource) override {
    std::lock_guard lock(mu_);
    if (datasets_.erase(resource.ToTarget()) == 0) {
      return Status::NotFound("no dataset " + resource.ToTarget());
    }
    return Status::Ok();
  }

  std::vector<ActionType> ListActions() override {
    return {{"echo", "returns its body"}, {std::string(kDropAction), "deletes a dataset"}};
  }
  Result<std::string> DoAction(std::string_view type, std::string_view body) override {
    if (type == "echo") return std::string(body);
    // What running out of memory in a handler looks like.
    if (type == "throw") throw std::bad_alloc();
    if (type == kDropAction) {
      ZKA_ASSIGN_OR_RETURN(Resource resource, ParseTarget(body));
      ZKA_RETURN_IF_ERROR(Delete(resource));
      return std::string("{}");
    }
    return Status::NotFound("no action " + std::string(type));
  }

  Status Health() override { return Status::Ok(); }
  void AppendMetrics(std::string& /*text*/) override {}

  // The batches stored under `target`, or none.
  std::optional<std::vector<arrow::RecordBatch>> Stored(const std::string& target) {
    std::lock_guard lock(mu_);
    auto it = datasets_.find(target);
    if (it == datasets_.end()) return std::nullopt;
    return it->second.batches;
  }
  std::shared_ptr<const arrow::Schema> StoredSchema(const std::string& target) {
    std::lock_guard lock(mu_);
    return datasets_.at(target).info.schema;
  }

  LiveStream::Counters& live() { return live_; }

 private:
  struct Dataset {
    StreamInfo info;
    std::vector<arrow::RecordBatch> batches;
    std::shared_ptr<const std::vector<IpcMessage>> messages;
  };

  std::shared_ptr<const std::vector<IpcMessage>> table_;
  LiveStream::Counters live_;
  std::mutex mu_;
  std::map<std::string, Dataset> datasets_;
};

Resource At(std::string_view target) {
  auto resource = ParseTarget(target);
  EXPECT_TRUE(resource.ok()) << resource.status().ToString();
  return *resource;
}

class FlightTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}, FlightLimits limits = {}) {
    auto server = FlightServer::Start(options, service_, limits);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  std::unique_ptr<FlightClient> Connect(const std::string& token = "") {
    ClientOptions options;
    options.host = "127.0.0.1";
    options.port = server_->port();
    options.bearer_token = token;
    auto client = FlightClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(*client) : nullptr;
  }
  std::unique_ptr<fproto::FlightService::Stub> RawStub() {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    return fproto::FlightService::NewStub(channel);
  }

  TestService service_;
  std::unique_ptr<FlightServer> server_;
};

// A serialized FlightData as gRPC hands a received one over: in slices,
// here of `piece` bytes each.
grpc::ByteBuffer Sliced(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

std::string Bytes(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

TEST(FlightCodecTest, ParseFlightDataReadsWhatProtobufReads) {
  const std::vector<IpcMessage> messages = Encode(*TableSchema(), TableBatches());
  ASSERT_GE(messages.size(), 2u);
  const IpcMessage& batch = messages[1];
  fproto::FlightData data;
  data.mutable_flight_descriptor()->set_type(fproto::FlightDescriptor::PATH);
  data.mutable_flight_descriptor()->add_path("znodes");
  data.set_app_metadata("{}");
  data.set_data_body("a body that a later data_body field replaces");
  std::string bytes = data.SerializeAsString();
  // Fields of every wire type this client does not know (a newer peer's),
  // then data_body again and data_header: the last of each counts.
  bytes += std::string("\x98\x06\x05", 3);                       // 99, varint
  bytes += std::string("\x91\x06", 2) + std::string(8, '\x01');  // 98, fixed64
  bytes += std::string("\x8d\x06", 2) + std::string(4, '\x02');  // 97, fixed32
  bytes += std::string("\x82\x06\x03", 3) + "abc";               // 96, bytes
  // 95, a group (wire types 3 and 4) holding a varint and a nested group.
  bytes += std::string("\xfb\x05\x08\x01\xf3\x05\xf4\x05\xfc\x05", 10);
  fproto::FlightData rest;
  ToFlightData(batch, rest);
  bytes += rest.SerializeAsString();
  fproto::FlightData oracle;
  ASSERT_TRUE(oracle.ParseFromString(bytes));

  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, bytes.size()}) {
    grpc::ByteBuffer buffer = Sliced(bytes, piece);
    int64_t framed_size = 0;
    auto parsed = ParseFlightData(buffer, &framed_size);
    ASSERT_TRUE(parsed.ok()) << piece << ": " << parsed.status().ToString();
    ASSERT_TRUE(parsed->has_value()) << piece;
    const IpcMessage& message = **parsed;
    EXPECT_EQ(Bytes(message.metadata->bytes()), oracle.data_header()) << piece;
    ASSERT_NE(message.body, nullptr);
    EXPECT_EQ(Bytes(message.body->bytes()), oracle.data_body()) << piece;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(message.body->data()) % arrow::kBufferAlignment, 0u);
    EXPECT_EQ(framed_size, batch.framed_size());
  }

  // A FlightData without a message (a descriptor only) is skipped.
  fproto::FlightData descriptor_only;
  *descriptor_only.mutable_flight_descriptor() = data.flight_descriptor();
  grpc::ByteBuffer empty = Sliced(descriptor_only.SerializeAsString(), 5);
  int64_t framed_size = 0;
  auto skipped = ParseFlightData(empty, &framed_size);
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_FALSE(skipped->has_value());

  // Field number 0, and a group that never ends, are refused as protobuf
  // refuses them.
  for (const std::string& malformed :
       {std::string("\x02\x01x", 3) + bytes, bytes + std::string("\xfb\x05\x08\x01", 4)}) {
    fproto::FlightData refused_too;
    EXPECT_FALSE(refused_too.ParseFromString(malformed));
    grpc::ByteBuffer sliced = Sliced(malformed, 4096);
    auto refused = ParseFlightData(sliced, &framed_size);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidData) << refused.status().ToString();
  }

  // Cut anywhere inside its last field, it is refused.
  for (size_t cut : {size_t{1}, size_t{100}, batch.body->bytes().size() / 2}) {
    grpc::ByteBuffer truncated = Sliced(bytes.substr(0, bytes.size() - cut), 4096);
    auto refused = ParseFlightData(truncated, &framed_size);
    ASSERT_FALSE(refused.ok()) << cut;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidData) << refused.status().ToString();
  }
}

TEST_F(FlightTest, ListInfoSchemaAndGetRoundTrip) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);

  auto list = client->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].resource.ToTarget(), "/znodes");
  EXPECT_EQ((*list)[0].total_records, kRowsPerBatch * kBatches);
  ASSERT_NE((*list)[0].schema, nullptr);
  EXPECT_EQ(*(*list)[0].schema, *TableSchema());
  EXPECT_EQ((*list)[0].app_metadata_json, R"({"zxid":"42"})");

  auto info = client->GetFlightInfo(At("/znodes"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->resource.ToTarget(), "/znodes");
  EXPECT_EQ(info->total_records, kRowsPerBatch * kBatches);
  EXPECT_GT(info->total_bytes, 0);

  auto schema = client->GetSchema(At("/znodes"));
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(**schema, *TableSchema());

  auto stream = client->Get(At("/znodes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto read = ReadAll(std::move(*stream));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->ended_with_marker);
  EXPECT_EQ(*read->schema, *TableSchema());
  ExpectSameBatches(TableBatches(), read->batches);
}

TEST_F(FlightTest, DescriptorsMapOntoResources) {
  StartServer();
  auto stub = RawStub();
  // PATH ["znodes"] and CMD "/znodes" name the same flight; the ticket is
  // the canonical target.
  for (bool as_path : {true, false}) {
    fproto::FlightDescriptor descriptor;
    if (as_path) {
      descriptor.set_type(fproto::FlightDescriptor::PATH);
      descriptor.add_path("znodes");
    } else {
      descriptor.set_type(fproto::FlightDescriptor::CMD);
      descriptor.set_cmd("/znodes");
    }
    grpc::ClientContext context;
    fproto::FlightInfo info;
    grpc::Status status = stub->GetFlightInfo(&context, descriptor, &info);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(info.endpoint_size(), 1);
    EXPECT_EQ(info.endpoint(0).ticket().ticket(), "/znodes");
    EXPECT_EQ(info.total_records(), kRowsPerBatch * kBatches);
    // The schema is an encapsulated IPC message with the continuation token.
    ASSERT_GE(info.schema().size(), 8u);
    EXPECT_EQ(info.schema().substr(0, 4), std::string(4, '\xff'));
  }
  fproto::FlightDescriptor unknown;
  grpc::ClientContext context;
  fproto::FlightInfo info;
  grpc::Status status = stub->GetFlightInfo(&context, unknown, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("expected PATH (1) or CMD (2)"), std::string::npos)
      << status.error_message();
}

TEST_F(FlightTest, PutThenGetAndDrop) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::vector<arrow::RecordBatch> batches = {MakeBatch(100, 7), MakeBatch(107, 0),
                                             MakeBatch(107, 5)};
  arrow::BufferInputStream upload(StreamBytes(batches));
  std::vector<int64_t> progress;
  auto put = client->Put(At("/datasets/uploaded"), upload,
                         [&](int64_t bytes) { progress.push_back(bytes); });
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->app_metadata_json, R"({"rows":12})");
  ASSERT_EQ(progress.size(), 4u);  // schema and three batches
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  auto stored = service_.Stored("/datasets/uploaded");
  ASSERT_TRUE(stored.has_value());
  ExpectSameBatches(batches, *stored);

  auto list = client->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].resource.ToTarget(), "/datasets/uploaded");
  EXPECT_EQ((*list)[1].total_records, 12);

  auto stream = client->Get(At("/datasets/uploaded"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto read = ReadAll(std::move(*stream));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameBatches(batches, read->batches);

  auto echo = client->DoAction("echo", "{\"x\":1}");
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(*echo, "{\"x\":1}");
  auto actions = client->ListActions();
  ASSERT_TRUE(actions.ok()) << actions.status().ToString();
  ASSERT_EQ(actions->size(), 2u);
  EXPECT_EQ((*actions)[0].type, "echo");

  ASSERT_TRUE(client->Delete(At("/datasets/uploaded")).ok());
  EXPECT_FALSE(service_.Stored("/datasets/uploaded").has_value());
  Status again = client->Delete(At("/datasets/uploaded"));
  EXPECT_EQ(again.code(), StatusCode::kNotFound) << again.ToString();
}

// The value of `series` (name and labels as rendered) in the server's
// metrics, or -1 when absent.
int64_t MetricValue(const FlightServer& server, const std::string& series) {
  std::string text;
  server.AppendMetrics(text);
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + series.size() + 2));
}

TEST_F(FlightTest, MetricsCountCallsByMethodAndCodeAndTheirBytes) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::vector<arrow::RecordBatch> batches = {MakeBatch(100, 7), MakeBatch(107, 0)};
  std::shared_ptr<const arrow::Buffer> bytes = StreamBytes(batches);
  arrow::BufferInputStream upload(bytes);
  ASSERT_TRUE(client->Put(At("/datasets/counted"), upload, {}).ok());
  const std::string sent = R"(zkarrow_flight_sent_bytes_total{method="DoGet"})";
  int64_t sent_by_one_get = 0;
  for (int i = 0; i < 3; ++i) {
    auto stream = client->Get(At("/datasets/counted"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    ASSERT_TRUE(ReadAll(std::move(*stream)).ok());
    if (i == 0) sent_by_one_get = MetricValue(*server_, sent);
  }
  EXPECT_FALSE(client->Get(At("/datasets/absent"), {}).ok());

  EXPECT_EQ(MetricValue(*server_, R"(zkarrow_flight_calls_total{method="DoPut",code="OK"})"), 1);
  EXPECT_EQ(MetricValue(*server_, R"(zkarrow_flight_calls_total{method="DoGet",code="OK"})"), 3);
  EXPECT_EQ(MetricValue(*server_, R"(zkarrow_flight_calls_total{method="DoGet",code="NOT_FOUND"})"),
            1);
  // The upload's messages as framed, without the end-of-stream marker the
  // Flight stream's end stands for.
  EXPECT_EQ(MetricValue(*server_, R"(zkarrow_flight_received_bytes_total{method="DoPut"})"),
            bytes->size() - 8);
  // Three equal responses (as FlightData, whose framing differs from the
  // IPC stream's), and nothing for the refused one.
  EXPECT_GT(sent_by_one_get, bytes->size() / 2);
  EXPECT_EQ(MetricValue(*server_, sent), 3 * sent_by_one_get);
  EXPECT_EQ(MetricValue(*server_, "zkarrow_flight_streams"), 0);
}

TEST_F(FlightTest, UploadCarriesTheWholeStreamOrNothing) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // A stream cut inside a batch: the client cannot read a whole message,
  // sends nothing more and cancels; nothing is stored.
  auto bytes = StreamBytes({MakeBatch(0, 10)});
  arrow::BufferInputStream cut(bytes->Slice(0, bytes->size() - 20));
  auto put = client->Put(At("/datasets/cut"), cut, nullptr);
  EXPECT_FALSE(put.ok());
  EXPECT_FALSE(service_.Stored("/datasets/cut").has_value());

  // An upload to a resource the service refuses: its error, its code.
  arrow::BufferInputStream whole(bytes);
  put = client->Put(At("/znodes"), whole, nullptr);
  EXPECT_EQ(put.status().code(), StatusCode::kInvalidArgument) << put.status().ToString();
  EXPECT_NE(put.status().message().find("uploads go to /datasets/NAME"), std::string::npos)
      << put.status().ToString();
}

TEST_F(FlightTest, TokenIsRequiredWhenConfigured) {
  ServerOptions options;
  options.bearer_token = "s3cret-token";
  StartServer(options);

  auto anonymous = Connect();
  ASSERT_NE(anonymous, nullptr);
  auto list = anonymous->List();
  EXPECT_EQ(list.status().code(), StatusCode::kUnauthenticated) << list.status().ToString();
  auto get = anonymous->Get(At("/znodes"), {});
  EXPECT_EQ(get.status().code(), StatusCode::kUnauthenticated) << get.status().ToString();
  arrow::BufferInputStream upload(StreamBytes({MakeBatch(0, 3)}));
  auto put = anonymous->Put(At("/datasets/x"), upload, nullptr);
  EXPECT_EQ(put.status().code(), StatusCode::kUnauthenticated) << put.status().ToString();
  EXPECT_FALSE(service_.Stored("/datasets/x").has_value());

  auto wrong = Connect("s3cret-tokem");
  ASSERT_NE(wrong, nullptr);
  auto info = wrong->GetFlightInfo(At("/znodes"));
  EXPECT_EQ(info.status().code(), StatusCode::kUnauthenticated) << info.status().ToString();
  EXPECT_NE(info.status().message().find("wrong bearer token"), std::string::npos);
  auto handshake = wrong->Handshake("s3cret-tokem");
  EXPECT_EQ(handshake.status().code(), StatusCode::kUnauthenticated)
      << handshake.status().ToString();
  auto action = wrong->DoAction("echo", "x");
  EXPECT_EQ(action.status().code(), StatusCode::kUnauthenticated) << action.status().ToString();

  // A handshake with the token as payload answers with it.
  handshake = anonymous->Handshake("s3cret-token");
  ASSERT_TRUE(handshake.ok()) << handshake.status().ToString();
  EXPECT_EQ(*handshake, "s3cret-token");

  auto right = Connect("s3cret-token");
  ASSERT_NE(right, nullptr);
  list = right->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  auto stream = right->Get(At("/znodes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto read = ReadAll(std::move(*stream));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameBatches(TableBatches(), read->batches);
}

TEST_F(FlightTest, NoTokenConfiguredAcceptsAnyCaller) {
  StartServer();
  auto client = Connect("a-token-nobody-asked-for");
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->List().ok());
  auto handshake = client->Handshake("");
  ASSERT_TRUE(handshake.ok()) << handshake.status().ToString();
  EXPECT_EQ(*handshake, "");
}

TEST_F(FlightTest, UploadOverTheLimitIsRefused) {
  ServerOptions options;
  options.max_upload_bytes = 2000;
  StartServer(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  arrow::BufferInputStream upload(StreamBytes({MakeBatch(0, 10, 100), MakeBatch(10, 10, 100)}));
  auto put = client->Put(At("/datasets/large"), upload, nullptr);
  EXPECT_EQ(put.status().code(), StatusCode::kOutOfRange) << put.status().ToString();
  EXPECT_NE(put.status().message().find("limit of 2000 bytes"), std::string::npos)
      << put.status().ToString();
  EXPECT_FALSE(service_.Stored("/datasets/large").has_value());

  // Under the limit it goes through.
  arrow::BufferInputStream small(StreamBytes({MakeBatch(0, 2)}));
  auto ok = client->Put(At("/datasets/small"), small, nullptr);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

// Sends `messages` as a DoPut through the raw stub; returns the status.
grpc::Status RawPut(fproto::FlightService::Stub& stub,
                    const std::vector<fproto::FlightData>& messages) {
  grpc::ClientContext context;
  auto call = stub.DoPut(&context);
  for (const auto& data : messages) {
    if (!call->Write(data)) break;
  }
  call->WritesDone();
  fproto::PutResult result;
  while (call->Read(&result)) {
  }
  return call->Finish();
}

fproto::FlightDescriptor DatasetPath(const std::string& name) {
  fproto::FlightDescriptor descriptor;
  descriptor.set_type(fproto::FlightDescriptor::PATH);
  descriptor.add_path("datasets");
  descriptor.add_path(name);
  return descriptor;
}

TEST_F(FlightTest, MalformedDoPutIsInvalidArgument) {
  StartServer();
  auto stub = RawStub();
  auto messages = Encode(*TableSchema(), {MakeBatch(0, 4)});
  ASSERT_EQ(messages.size(), 2u);
  auto flight_data = [&](const IpcMessage& message) {
    fproto::FlightData data;
    data.set_data_header(std::string(reinterpret_cast<const char*>(message.metadata->data()),
                                     static_cast<size_t>(message.metadata->size())));
    if (message.body) {
      data.set_data_body(std::string(reinterpret_cast<const char*>(message.body->data()),
                                     static_cast<size_t>(message.body->size())));
    }
    return data;
  };

  struct Case {
    std::string name;
    std::vector<fproto::FlightData> messages;
    std::string expected_message;
  };
  std::vector<Case> cases;
  {
    Case c{"no descriptor",
           {flight_data(messages[0]), flight_data(messages[1])},
           "must carry the flight descriptor"};
    cases.push_back(c);
  }
  {
    Case c{"garbage header", {flight_data(messages[0])}, "FlightData 1 of the upload"};
    *c.messages[0].mutable_flight_descriptor() = DatasetPath("garbage");
    c.messages[0].set_data_header(std::string(64, '\x5a'));
    cases.push_back(c);
  }
  {
    Case c{"body shorter than declared",
           {flight_data(messages[0]), flight_data(messages[1])},
           "found"};
    *c.messages[0].mutable_flight_descriptor() = DatasetPath("short");
    c.messages[1].mutable_data_body()->resize(c.messages[1].data_body().size() - 8);
    cases.push_back(c);
  }
  {
    Case c{"body without header",
           {flight_data(messages[0]), flight_data(messages[1])},
           "without metadata"};
    *c.messages[0].mutable_flight_descriptor() = DatasetPath("headless");
    c.messages[1].clear_data_header();
    cases.push_back(c);
  }
  {
    Case c{"descriptor path too long", {flight_data(messages[0])}, "expected 1 or 2"};
    *c.messages[0].mutable_flight_descriptor() = DatasetPath("a");
    c.messages[0].mutable_flight_descriptor()->add_path("b");
    cases.push_back(c);
  }
  {
    Case c{"CMD that is no target", {flight_data(messages[0])}, "must start with /"};
    c.messages[0].mutable_flight_descriptor()->set_type(fproto::FlightDescriptor::CMD);
    c.messages[0].mutable_flight_descriptor()->set_cmd("datasets/x");
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    grpc::Status status = RawPut(*stub, c.messages);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.expected_message), std::string::npos)
        << c.name << ": " << status.error_message();
  }
  // Nothing was stored, and the server still serves.
  for (const char* name : {"garbage", "short", "headless"}) {
    EXPECT_FALSE(service_.Stored(std::string("/datasets/") + name).has_value()) << name;
  }
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->List().ok());

  grpc::ClientContext context;
  auto exchange = stub->DoExchange(&context);
  exchange->WritesDone();
  EXPECT_EQ(exchange->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(FlightTest, UnknownResourceIsNotFound) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto info = client->GetFlightInfo(At("/datasets/missing"));
  EXPECT_EQ(info.status().code(), StatusCode::kNotFound) << info.status().ToString();
  EXPECT_NE(info.status().message().find("no resource /datasets/missing"), std::string::npos);
  auto get = client->Get(At("/datasets/missing"), {});
  EXPECT_EQ(get.status().code(), StatusCode::kNotFound) << get.status().ToString();
  auto schema = client->GetSchema(At("/nothing"));
  EXPECT_EQ(schema.status().code(), StatusCode::kNotFound) << schema.status().ToString();

  // A ticket that is no request target.
  auto stub = RawStub();
  grpc::ClientContext context;
  fproto::Ticket ticket;
  ticket.set_ticket("znodes?path=/x");
  auto reader = stub->DoGet(&context, ticket);
  fproto::FlightData data;
  EXPECT_FALSE(reader->Read(&data));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("DoGet ticket"), std::string::npos);
}

// A port nobody listens on is an answer at once, not a wait for the whole
// connect timeout while gRPC retries with backoff.
TEST(FlightConnectTest, ARefusedConnectionFailsAtOnceNamingTheAddress) {
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = 1;  // privileged and unused: the kernel refuses it
  options.connect_timeout_ms = 600'000;
  auto client = FlightClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("127.0.0.1:1: the connection failed"), std::string::npos)
      << client.status().ToString();
}

// A port another server (a second `zkarrow serve`) listens on is refused,
// as the HTTP listener refuses it: gRPC's default SO_REUSEPORT let both
// listen, and the kernel then spread the clients' connections over the two.
TEST_F(FlightTest, APortAnotherServerListensOnIsRefused) {
  StartServer();
  ServerOptions same;
  same.port = server_->port();
  TestService other;
  auto second = FlightServer::Start(same, other);
  ASSERT_FALSE(second.ok()) << "a second server listens on port " << same.port;
  EXPECT_EQ(second.status().code(), StatusCode::kIoError) << second.status().ToString();
  EXPECT_NE(second.status().message().find("address in use"), std::string::npos)
      << second.status().ToString();
}

// The codecs parameter, in the ticket (what the client's GetOptions puts
// there) or the descriptor, reaches the service as GetOptions::compression
// and not as a parameter of the resource; an unknown codec is refused.
TEST_F(FlightTest, CodecsParameterSelectsBodyCompression) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (auto [compression, name] : {std::pair{arrow::ipc::Compression::kZstd, "zstd"},
                                   std::pair{arrow::ipc::Compression::kLz4Frame, "lz4_frame"},
                                   std::pair{arrow::ipc::Compression::kNone, "none"}}) {
    SCOPED_TRACE(name);
    auto stream = client->Get(At("/znodes"), {.compression = compression});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    std::vector<arrow::RecordBatch> batches;
    for (;;) {
      auto batch = (*reader)->Next();
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      if (!*batch) break;
      EXPECT_EQ((*reader)->last_batch_info().compression, compression);
      batches.push_back(std::move(**batch));
    }
    ExpectSameBatches(TableBatches(), batches);
  }

  // A descriptor asking for a codec describes a ticket that keeps it.
  auto info = client->GetFlightInfo(At("/znodes?codecs=zstd"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->resource.ToTarget(), "/znodes?codecs=zstd");
  EXPECT_EQ(info->total_records, kRowsPerBatch * kBatches);

  // A list: the first codec known wins; none known is an error naming it.
  auto listed = client->Get(At("/znodes?codecs=snappy,zstd"), {});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  auto bad = client->Get(At("/znodes?codecs=snappy"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("codecs=snappy"), std::string::npos)
      << bad.status().ToString();
}

// A DoGet's stream slot is free again before its client gets the call's
// status: with a limit of one, calls made one after the other are never
// refused (the slot used to be released only when gRPC was done with the
// call, after the client could already have started its next one).
TEST_F(FlightTest, SequentialCallsNeverFindTheirSlotTaken) {
  ServerOptions options;
  options.max_concurrent_streams = 1;
  StartServer(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  int refused = 0;
  std::string reason;
  for (int i = 0; i < 300; ++i) {
    auto stream = client->Get(At("/znodes"), {});
    if (!stream.ok()) {
      ++refused;
      reason = stream.status().ToString();
      continue;
    }
    auto read = ReadAll(std::move(*stream));
    ASSERT_TRUE(read.ok()) << read.status().ToString();
  }
  EXPECT_EQ(refused, 0) << reason;
}

// A client's downloads share its kept completion queues, one queue per
// download at a time: downloads open at once, read in turns, each get their
// own messages; one dropped half read, or outliving its client, leaves the
// queues fit for the next.
TEST_F(FlightTest, DownloadsAtOnceOnOneClientEachGetTheirOwnMessages) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  constexpr int kStreams = 3;
  std::vector<std::unique_ptr<arrow::ipc::StreamReader>> readers;
  for (int i = 0; i < kStreams; ++i) {
    auto stream = client->Get(At("/znodes"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    readers.push_back(std::move(*reader));
  }
  std::vector<std::vector<arrow::RecordBatch>> read(kStreams);
  for (int turn = 0; turn <= kBatches; ++turn) {
    for (int i = 0; i < kStreams; ++i) {
      auto batch = readers[i]->Next();
      ASSERT_TRUE(batch.ok()) << "stream " << i << ": " << batch.status().ToString();
      EXPECT_EQ(batch->has_value(), turn < kBatches) << "stream " << i << ", turn " << turn;
      if (*batch) read[i].push_back(std::move(**batch));
    }
  }
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_TRUE(readers[i]->ended_with_marker()) << i;
    ExpectSameBatches(TableBatches(), read[i]);
  }
  readers.clear();

  // Dropped after its first batch: its call is cancelled and its queue
  // comes back empty, as the next downloads show.
  {
    auto stream = client->Get(At("/znodes"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto first = (*reader)->Next();
    ASSERT_TRUE(first.ok() && first->has_value());
  }
  for (int i = 0; i < 2 * kStreams; ++i) {
    auto stream = client->Get(At("/znodes"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto again = ReadAll(std::move(*stream));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ExpectSameBatches(TableBatches(), again->batches);
  }

  // A download read after its client is gone.
  auto stream = client->Get(At("/znodes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  client.reset();
  auto late = ReadAll(std::move(*stream));
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_TRUE(late->ended_with_marker);
  ExpectSameBatches(TableBatches(), late->batches);
}

TEST_F(FlightTest, MessageOverTheFlightDataLimitFailsTheStream) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(At("/big"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();  // the schema came
  auto read = ReadAll(std::move(*stream));
  EXPECT_EQ(read.status().code(), StatusCode::kOutOfRange) << read.status().ToString();
  EXPECT_NE(read.status().message().find("does not fit in a FlightData"), std::string::npos)
      << read.status().ToString();
}

// Reads the schema and `batches` batches of a live stream.
void ReadLive(arrow::ipc::StreamReader& reader, int batches) {
  for (int i = 0; i < batches; ++i) {
    auto batch = reader.Next();
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    ASSERT_TRUE(batch->has_value());
    EXPECT_EQ((*batch)->length, 2);
  }
}

TEST_F(FlightTest, ClientCancellingALiveStreamCancelsIt) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  {
    auto stream = client->Get(At("/changes"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    // Enough batches that the server waited for the producer in between.
    ReadLive(**reader, 20);
    EXPECT_EQ(service_.live().open.load(), 1);
    EXPECT_GT(service_.live().waits.load(), 0) << "the server never waited for a wakeup";
  }  // destroying the stream cancels the call
  EXPECT_TRUE(WaitFor([&] { return service_.live().cancelled.load() == 1; }))
      << "cancelled: " << service_.live().cancelled.load();
  EXPECT_TRUE(WaitFor([&] { return service_.live().open.load() == 0; }))
      << "streams still open: " << service_.live().open.load();

  // The server goes on serving.
  auto stream = client->Get(At("/znodes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto read = ReadAll(std::move(*stream));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameBatches(TableBatches(), read->batches);
}

TEST_F(FlightTest, ClientThatStopsReadingIsCancelled) {
  FlightLimits limits;
  limits.write_stall_timeout = std::chrono::milliseconds(200);
  StartServer({}, limits);
  auto stub = RawStub();
  grpc::ClientContext context;
  fproto::Ticket ticket;
  ticket.set_ticket("/changes?size=1048576");  // 2 MiB batches fill the windows quickly
  auto reader = stub->DoGet(&context, ticket);
  // The client reads nothing: once the flow-control windows are full, a
  // write stalls and the server cancels the call.
  if (!WaitFor([&] { return service_.live().cancelled.load() == 1; })) {
    context.TryCancel();  // else draining the endless stream never ends
    ADD_FAILURE() << "the server did not cancel the stalled stream";
  }
  EXPECT_TRUE(WaitFor([&] { return service_.live().open.load() == 0; }));
  fproto::FlightData data;
  while (reader->Read(&data)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();

  // A client that reads is not affected.
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(At("/changes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto live = arrow::ipc::StreamReader::Open(std::move(*stream));
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  ReadLive(**live, 100);
}

TEST_F(FlightTest, UploaderThatStopsSendingIsCancelled) {
  FlightLimits limits;
  limits.read_stall_timeout = std::chrono::milliseconds(200);
  StartServer({}, limits);
  auto stub = RawStub();
  auto messages = Encode(*TableSchema(), {MakeBatch(0, 4)});
  // One call stops after the schema, the other never sends anything; both
  // keep their side open.
  for (bool send_schema : {true, false}) {
    grpc::ClientContext context;
    // Bounds the test if the server does not end the calls.
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    auto call = stub->DoPut(&context);
    if (send_schema) {
      fproto::FlightData data;
      *data.mutable_flight_descriptor() = DatasetPath("stalled");
      data.set_data_header(std::string(reinterpret_cast<const char*>(messages[0].metadata->data()),
                                       static_cast<size_t>(messages[0].metadata->size())));
      ASSERT_TRUE(call->Write(data));
    }
    fproto::PutResult result;
    EXPECT_FALSE(call->Read(&result));
    grpc::Status status = call->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED)
        << "schema sent: " << send_schema << ": " << status.error_message();
  }
  EXPECT_FALSE(service_.Stored("/datasets/stalled").has_value());

  // An upload that keeps sending is not affected.
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  arrow::BufferInputStream upload(StreamBytes({MakeBatch(0, 3)}));
  auto put = client->Put(At("/datasets/steady"), upload, nullptr);
  EXPECT_TRUE(put.ok()) << put.status().ToString();
}

// A handshake comes before the token is checked: one that never sends its
// request is cancelled like a stalled upload, and those waiting at once
// have a limit of their own, so anonymous clients can neither hold threads
// without end nor take the streams' slots from the others.
TEST_F(FlightTest, HandshakesThatSendNothingAreBoundedAndCancelled) {
  ServerOptions options;
  options.max_concurrent_streams = 1;
  FlightLimits limits;
  limits.max_handshakes = 2;
  limits.read_stall_timeout = std::chrono::milliseconds(1500);
  StartServer(options, limits);
  auto stub = RawStub();
  // Three handshakes that send nothing, each read on a thread of its own:
  // the server holds two, refuses the third, and cancels the two later.
  constexpr int kCalls = 3;
  std::array<grpc::ClientContext, kCalls> contexts;
  std::array<grpc::Status, kCalls> statuses;
  std::atomic<int> refused{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kCalls; ++i) {
    contexts[i].set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    readers.emplace_back([&, i] {
      auto call = stub->Handshake(&contexts[i]);
      fproto::HandshakeResponse response;
      while (call->Read(&response)) {
      }
      statuses[i] = call->Finish();
      if (statuses[i].error_code() == grpc::StatusCode::UNAVAILABLE) ++refused;
    });
  }
  // Once one is refused, two are held: the one stream slot is still free.
  if (WaitFor([&] { return refused.load() > 0; })) {
    auto client = Connect();
    ASSERT_NE(client, nullptr);
    auto stream = client->Get(At("/znodes"), {});
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    auto read = ReadAll(std::move(*stream));
    EXPECT_TRUE(read.ok()) << read.status().ToString();
  }
  for (std::thread& reader : readers) reader.join();
  int cancelled = 0;
  for (const grpc::Status& status : statuses) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      EXPECT_NE(status.error_message().find("handshakes"), std::string::npos)
          << status.error_message();
    } else {
      // The server's cancel; its own deadline would say DEADLINE_EXCEEDED.
      EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
      ++cancelled;
    }
  }
  EXPECT_EQ(refused.load(), 1);
  EXPECT_EQ(cancelled, 2);
}

TEST_F(FlightTest, WaitForAQuietStreamCanBeInterrupted) {
  StartServer();
  std::atomic<bool> stop{false};
  ClientOptions options;
  options.host = "127.0.0.1";
  options.port = server_->port();
  options.interrupted = [&] { return stop.load(); };
  auto client = FlightClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto stream = (*client)->Get(At("/changes?quiet=true"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();  // the schema came
  stop = true;
  // Nothing will come: the read waits until it sees the request. Bounded
  // by the test's deadline: a shutdown ends the stream if it does not.
  auto next = std::async(std::launch::async, [&] { return (*reader)->Next(); });
  if (next.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "the read was not interrupted";
    server_->Shutdown();
  }
  auto batch = next.get();
  EXPECT_EQ(batch.status().code(), StatusCode::kCancelled) << batch.status().ToString();
  EXPECT_NE(batch.status().message().find("interrupted"), std::string::npos)
      << batch.status().ToString();
  reader->reset();
  EXPECT_TRUE(WaitFor([&] { return service_.live().cancelled.load() == 1; }));
}

TEST_F(FlightTest, StreamsPastTheLimitAreRefused) {
  ServerOptions options;
  options.max_concurrent_streams = 1;
  StartServer(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  {
    auto live = client->Get(At("/changes"), {});
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    auto second = client->Get(At("/znodes"), {});
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status().ToString();
    EXPECT_NE(second.status().message().find("limit of 1 streams"), std::string::npos)
        << second.status().ToString();
    arrow::BufferInputStream upload(StreamBytes({MakeBatch(0, 1)}));
    auto put = client->Put(At("/datasets/x"), upload, nullptr);
    EXPECT_EQ(put.status().code(), StatusCode::kUnavailable) << put.status().ToString();
  }
  // The slot comes back once the cancelled call is done on the server.
  bool served = WaitFor([&] {
    auto stream = client->Get(At("/znodes"), {});
    return stream.ok() && ReadAll(std::move(*stream)).ok();
  });
  EXPECT_TRUE(served);
}

// An exception out of the service (out of memory) fails its call, not the
// process, and gives back the call's stream slot.
TEST_F(FlightTest, AnExceptionInAHandlerFailsItsCallOnly) {
  ServerOptions options;
  options.max_concurrent_streams = 1;
  StartServer(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto thrown = client->DoAction("throw", "{}");
    ASSERT_FALSE(thrown.ok());
    EXPECT_EQ(thrown.status().code(), StatusCode::kUnavailable) << thrown.status().ToString();
    EXPECT_NE(thrown.status().message().find("out of memory"), std::string::npos)
        << thrown.status().ToString();
  }
  auto echo = client->DoAction("echo", "still here");
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
}

TEST_F(FlightTest, ShutdownEndsLiveStreams) {
  StartServer();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto stream = client->Get(At("/changes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto reader = arrow::ipc::StreamReader::Open(std::move(*stream));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ReadLive(**reader, 3);

  server_->Shutdown();
  EXPECT_EQ(service_.live().cancelled.load(), 1);
  EXPECT_EQ(service_.live().open.load(), 0);
  // The client reads what was in flight, then the server's reason, never a
  // clean end.
  Status end;
  for (;;) {
    auto batch = (*reader)->Next();
    if (!batch.ok()) {
      end = batch.status();
      break;
    }
    ASSERT_TRUE(batch->has_value()) << "the stream ended cleanly";
  }
  EXPECT_EQ(end.code(), StatusCode::kUnavailable) << end.ToString();
  EXPECT_NE(end.message().find("shutting down"), std::string::npos) << end.ToString();
  server_->Shutdown();  // idempotent
}

// A self-signed certificate for 127.0.0.1, made by the openssl CLI.
class TlsFlightTest : public FlightTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkarrow-flight-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TlsFlightTest, RoundTripOverTls) {
  if (!zkarrow::testing::RunCommand("command -v openssl >/dev/null").ok()) {
    ZKA_MISSING_PREREQUISITE() << "openssl not found";
  }
  fs::path cert = dir_ / "cert.pem";
  fs::path key = dir_ / "key.pem";
  auto made = zkarrow::testing::RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key.string() + "' -out '" + cert.string() + "' 2>&1");
  ASSERT_TRUE(made.ok()) << made.status().ToString();

  ServerOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  StartServer(options);

  ClientOptions client_options;
  client_options.host = "127.0.0.1";
  client_options.port = server_->port();
  client_options.tls = true;
  client_options.tls_ca_file = cert;
  auto client = FlightClient::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto stream = (*client)->Get(At("/znodes"), {});
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  auto read = ReadAll(std::move(*stream));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameBatches(TableBatches(), read->batches);

  // A plaintext client cannot talk to the TLS server.
  client_options.tls = false;
  client_options.connect_timeout_ms = 2000;
  auto plain = FlightClient::Connect(client_options);
  EXPECT_EQ(plain.status().code(), StatusCode::kUnavailable) << plain.status().ToString();

  // Only one of the two files is a usage error.
  ServerOptions half;
  half.tls_cert_file = cert;
  auto refused = FlightServer::Start(half, service_);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
}

// The independent client: Node's @grpc/grpc-js and Arrow JS.
const fs::path kInteropDir = ZKARROW_SOURCE_DIR "/tests/interop";

std::string MissingNode() {
  if (!zkarrow::testing::RunCommand("command -v node >/dev/null").ok()) return "node not found";
  for (const char* package : {"@grpc/grpc-js", "@grpc/proto-loader", "apache-arrow"}) {
    if (!fs::exists(kInteropDir / "node_modules" / package)) {
      return std::string("tests/interop/node_modules/") + package +
             " missing: run scripts/setup (npm install in tests/interop)";
    }
  }
  return "";
}

class NodeFlightTest : public TlsFlightTest {};

Result<std::vector<json>> RunNode(const std::string& env, int port, const std::string& args) {
  ZKA_ASSIGN_OR_RETURN(
      std::string output,
      zkarrow::testing::RunCommand(env + " node '" + (kInteropDir / "flight_client.mjs").string() +
                                   "' " + std::to_string(port) + " " + args));
  return zkarrow::testing::ParseJsonLines(output);
}

TEST_F(NodeFlightTest, IndependentClientListsGetsAndPuts) {
  if (std::string missing = MissingNode(); !missing.empty()) {
    ZKA_MISSING_PREREQUISITE() << missing;
  }
  ServerOptions options;
  options.bearer_token = "node-token";
  StartServer(options);
  const std::string env = "FLIGHT_TOKEN=node-token";

  auto listed = RunNode(env, server_->port(), "list");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["path"], json::array({"znodes"}));
  EXPECT_EQ((*listed)[0]["ticket"], "/znodes");
  EXPECT_EQ((*listed)[0]["total_records"], std::to_string(kRowsPerBatch * kBatches));
  EXPECT_EQ((*listed)[0]["fields"], json::array({"id", "name", "payload"}));

  // DoGet decoded by Arrow JS equals zkarrow's own reading of the table.
  auto got = RunNode(env, server_->port(), "get /znodes");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  fs::path table_file = dir_ / "table.arrows";
  {
    auto out = arrow::FileOutputStream::Open(table_file);
    ASSERT_TRUE(out.ok());
    for (const IpcMessage& message : Encode(*TableSchema(), TableBatches())) {
      ASSERT_TRUE(arrow::ipc::WriteFramed(**out, message).ok());
    }
    ASSERT_TRUE(arrow::ipc::WriteEndOfStream(**out).ok());
    ASSERT_TRUE((*out)->Close().ok());
  }
  auto expected = interop::CanonicalDump(table_file);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_EQ(interop::DiffCanonicalDumps(*expected, *got), "");

  // DoPut from Arrow JS: what the service stored reads as what JS sent.
  auto put = RunNode(env, server_->port(), "put from-node");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_GE(put->size(), 2u);
  auto stored = service_.Stored("/datasets/from-node");
  ASSERT_TRUE(stored.has_value());
  int64_t rows = 0;
  for (const auto& batch : *stored) rows += batch.length;
  EXPECT_EQ((*put)[0]["app_metadata"], R"({"rows":)" + std::to_string(rows) + "}");
  fs::path stored_file = dir_ / "stored.arrows";
  {
    auto out = arrow::FileOutputStream::Open(stored_file);
    ASSERT_TRUE(out.ok());
    auto writer =
        arrow::ipc::IpcWriter::OpenStream(**out, *service_.StoredSchema("/datasets/from-node"));
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (const auto& batch : *stored) ASSERT_TRUE((*writer)->WriteBatch(batch).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    ASSERT_TRUE((*out)->Close().ok());
  }
  auto stored_dump = interop::CanonicalDump(stored_file);
  ASSERT_TRUE(stored_dump.ok()) << stored_dump.status().ToString();
  std::vector<json> sent(put->begin() + 1, put->end());
  EXPECT_EQ(interop::DiffCanonicalDumps(sent, *stored_dump), "");

  // Without the token the independent client is refused.
  auto refused = RunNode("FLIGHT_TOKEN=", server_->port(), "list 2>/dev/null");
  EXPECT_FALSE(refused.ok());
}

}  // namespace
}  // namespace zkarrow::transport::flight
