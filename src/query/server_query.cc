#include "query/server_query.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <utility>

#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "arrow/ipc/writer.h"

namespace zkarrow::query {
namespace {

using transport::IpcMessage;
using transport::MessageStream;

// How often a reader waiting for a pending stream asks whether to stop.
constexpr std::chrono::milliseconds kStopPollInterval{50};

// A MessageStream read as the framed bytes of an IPC stream (ending with
// the end-of-stream marker once the stream ends), so that a StreamReader
// reads the service's response as it would a client's.
class MessageStreamInput final : public arrow::InputStream {
 public:
  MessageStreamInput(std::unique_ptr<MessageStream> stream, std::function<Status()> check_stop)
      : stream_(std::move(stream)), check_stop_(std::move(check_stop)) {}
  ~MessageStreamInput() override {
    if (!ended_) stream_->Cancel();
  }

  Result<int64_t> Read(std::span<uint8_t> out) override {
    while (offset_ == framed_.size()) {
      if (ended_) return 0;
      ZKA_RETURN_IF_ERROR(Refill());
    }
    const size_t n = std::min(out.size(), framed_.size() - offset_);
    std::copy_n(framed_.data() + offset_, n, out.data());
    offset_ += n;
    return static_cast<int64_t>(n);
  }

 private:
  Status Refill() {
    arrow::BufferOutputStream framed;
    while (true) {
      if (check_stop_) ZKA_RETURN_IF_ERROR(check_stop_());
      IpcMessage message;
      ZKA_ASSIGN_OR_RETURN(MessageStream::Poll poll, stream_->Next(&message));
      if (poll == MessageStream::Poll::kMessage) {
        ZKA_RETURN_IF_ERROR(arrow::ipc::WriteFramed(framed, message));
        break;
      }
      if (poll == MessageStream::Poll::kEnd) {
        ended_ = true;
        ZKA_RETURN_IF_ERROR(arrow::ipc::WriteEndOfStream(framed));
        break;
      }
      // kPending: wait for the wakeup, asking check_stop now and then.
      auto woken = std::make_shared<Wakeup>();
      stream_->NotifyWhenReady([woken] {
        std::lock_guard lock(woken->mu);
        woken->ready = true;
        woken->cv.notify_all();
      });
      std::unique_lock lock(woken->mu);
      while (!woken->ready) {
        woken->cv.wait_for(lock, kStopPollInterval);
        if (!woken->ready && check_stop_) {
          lock.unlock();
          ZKA_RETURN_IF_ERROR(check_stop_());
          lock.lock();
        }
      }
    }
    std::shared_ptr<const arrow::Buffer> bytes = framed.Finish();
    framed_bytes_ = bytes;
    framed_ = {bytes->data(), static_cast<size_t>(bytes->size())};
    offset_ = 0;
    return Status::Ok();
  }

  struct Wakeup {
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
  };

  std::unique_ptr<MessageStream> stream_;
  std::function<Status()> check_stop_;
  std::shared_ptr<const arrow::Buffer> framed_bytes_;
  std::span<const uint8_t> framed_;
  size_t offset_ = 0;
  bool ended_ = false;
};

class ServiceTables final : public ServerTables {
 public:
  ServiceTables(transport::ArrowService& service, std::string description,
                std::function<Status()> check_stop)
      : service_(service),
        description_(std::move(description)),
        check_stop_(std::move(check_stop)) {}

  Result<std::vector<transport::StreamInfo>> List() override {
    Result<std::vector<transport::StreamInfo>> listed = service_.List();
    if (!listed.ok()) return listed.status().WithContext("listing " + description_);
    return listed;
  }

  Result<std::unique_ptr<arrow::ipc::StreamReader>> Open(
      const transport::Resource& resource) override {
    ZKA_ASSIGN_OR_RETURN(std::unique_ptr<MessageStream> stream, service_.Get(resource, {}));
    return arrow::ipc::StreamReader::Open(
        std::make_unique<MessageStreamInput>(std::move(stream), check_stop_));
  }

  std::string Describe() const override { return description_; }

 private:
  transport::ArrowService& service_;
  std::string description_;
  std::function<Status()> check_stop_;
};

// What the worker thread and the transport share.
struct QueryState {
  std::mutex mu;
  std::condition_variable room;  // the queue has room, or the client left
  std::deque<IpcMessage> queue;
  int64_t queued_bytes = 0;
  bool done = false;
  Status error;
  std::function<void()> wakeup;
  std::atomic<bool> cancelled{false};

  // Under `mu`: hands the transport's wakeup over to be called.
  std::function<void()> TakeWakeup() { return std::exchange(wakeup, nullptr); }
};

// The result of a query running on its own thread.
class QueryStream final : public MessageStream {
 public:
  // REQUIRES: `engine` reads `tables`.
  QueryStream(std::unique_ptr<ServerTables> tables, std::unique_ptr<QueryEngine> engine,
              std::string sql, std::shared_ptr<QueryState> state, ServerQueryOptions options)
      : state_(std::move(state)), tables_(std::move(tables)), engine_(std::move(engine)) {
    worker_ = std::thread(
        [this, sql = std::move(sql), options] { Work(*engine_, sql, *state_, options); });
  }
  ~QueryStream() override {
    Cancel();
    worker_.join();
  }

  Result<Poll> Next(IpcMessage* out) override {
    std::lock_guard lock(state_->mu);
    if (!state_->queue.empty()) {
      *out = std::move(state_->queue.front());
      state_->queue.pop_front();
      state_->queued_bytes -= out->framed_size();
      state_->room.notify_all();
      return Poll::kMessage;
    }
    if (!state_->done) return Poll::kPending;
    ZKA_RETURN_IF_ERROR(state_->error);
    return Poll::kEnd;
  }

  void NotifyWhenReady(std::function<void()> wakeup) override {
    {
      std::lock_guard lock(state_->mu);
      if (state_->queue.empty() && !state_->done) {
        state_->wakeup = std::move(wakeup);
        return;
      }
    }
    wakeup();
  }

  void Cancel() override {
    state_->cancelled = true;
    std::lock_guard lock(state_->mu);
    state_->room.notify_all();
  }

 private:
  static void Work(QueryEngine& engine, const std::string& sql, QueryState& state,
                   const ServerQueryOptions& options) {
    arrow::ipc::MessageSplitter splitter;
    std::unique_ptr<arrow::ipc::IpcWriter> writer;
    // Moves what the writer produced to the queue, waiting for room.
    auto publish = [&]() -> Status {
      std::vector<IpcMessage> messages = splitter.TakeMessages();
      int64_t bytes = 0;
      for (const IpcMessage& message : messages) bytes += message.framed_size();
      std::function<void()> wakeup;
      {
        std::unique_lock lock(state.mu);
        state.room.wait(lock, [&] {
          return state.cancelled || state.queue.empty() ||
                 (std::ssize(state.queue) < options.max_queued_messages &&
                  state.queued_bytes + bytes <= options.max_queued_bytes);
        });
        if (state.cancelled) return Status::Cancelled("the client went away");
        for (IpcMessage& message : messages) state.queue.push_back(std::move(message));
        state.queued_bytes += bytes;
        wakeup = state.TakeWakeup();
      }
      if (wakeup) wakeup();
      return Status::Ok();
    };
    auto on_schema = [&](const arrow::Schema& schema) -> Status {
      ZKA_ASSIGN_OR_RETURN(writer, arrow::ipc::IpcWriter::OpenStream(splitter, schema));
      return publish();
    };
    auto on_batch = [&](const arrow::RecordBatch& batch) -> Status {
      ZKA_RETURN_IF_ERROR(writer->WriteBatch(batch));
      return publish();
    };
    Status status;
    // Running out of memory (a result's copies live outside SQLite's heap
    // limit) ends this query, not the server: SQLite's frames are not
    // unwound through (the table callbacks catch what they throw), only
    // ours.
    try {
      status = engine.Run(sql, on_schema, on_batch, nullptr);
      if (status.ok()) status = writer->Close();  // Run called on_schema before it succeeded
      if (status.ok()) status = publish();
    } catch (const std::bad_alloc&) {
      status = Status::OutOfRange("out of memory making the query's result");
    }
    std::function<void()> wakeup;
    {
      std::lock_guard lock(state.mu);
      state.done = true;
      state.error = std::move(status);
      wakeup = state.TakeWakeup();
    }
    if (wakeup) wakeup();
  }

  std::shared_ptr<QueryState> state_;
  std::unique_ptr<ServerTables> tables_;  // declared before the engine that reads it
  std::unique_ptr<QueryEngine> engine_;
  std::thread worker_;
};

}  // namespace

Result<std::unique_ptr<MessageStream>> StartServerQuery(transport::ArrowService& service,
                                                        std::string_view sql,
                                                        const ServerQueryOptions& options) {
  auto state = std::make_shared<QueryState>();
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  // Weakly: the stream owns the state and the tables that hold this check.
  std::weak_ptr<QueryState> weak = state;
  auto check_stop = [weak, deadline, timeout = options.timeout]() -> Status {
    std::shared_ptr<QueryState> alive = weak.lock();
    if (alive == nullptr || alive->cancelled) return Status::Cancelled("the client went away");
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Timeout("the query ran longer than its limit of " +
                             std::to_string(timeout.count()) +
                             " ms (zkarrow serve --query-timeout-ms)");
    }
    return Status::Ok();
  };
  auto tables = std::make_unique<ServiceTables>(service, "this server", check_stop);
  QuerySources sources;
  sources.server = tables.get();
  sources.untrusted_sql = true;
  sources.memory_limit_bytes = options.memory_limit_bytes;
  sources.statement_memory_bytes = options.statement_memory_bytes;
  sources.check_stop = check_stop;
  ZKA_ASSIGN_OR_RETURN(std::unique_ptr<QueryEngine> engine, QueryEngine::Open(sources));
  // Bad SQL and unknown tables are refused before the response starts, so
  // that the client gets them as the request's error (HTTP 400).
  ZKA_RETURN_IF_ERROR(engine->Check(std::string(sql)));
  return std::unique_ptr<MessageStream>(new QueryStream(
      std::move(tables), std::move(engine), std::string(sql), std::move(state), options));
}

}  // namespace zkarrow::query
