#include "transport/flight/flight_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "flight.grpc.pb.h"
#include "transport/flight/flight_codec.h"
#include "transport/flight/flight_metrics.h"

namespace zkarrow::transport::flight {

namespace {

// DoGet on the asynchronous API, its events handled on the server's own
// completion queue threads, with its FlightData serialized by us (zero copy,
// see SerializeFlightData); the other methods synchronous. On the callback
// API every call's end (OnDone) was handed to gRPC's executor thread, and
// its reactions ran on gRPC's own threads besides: for a small response, a
// thread hop or two per call, where a completion queue thread serves the
// call from its start to its end.
using FlightServiceBase =
    fproto::FlightService::WithRawMethod_DoGet<fproto::FlightService::Service>;

// The last message of a DoGet, if smaller than this, goes out with the
// call's status.
constexpr int64_t kSmallWriteBytes = 64 * 1024;

// Calls in progress against a limit: DoGet, DoPut and DoAction against
// max_concurrent_streams, Handshakes against a limit of their own.
class StreamSlots {
 public:
  // `what` names the calls counted, for the refusal.
  StreamSlots(int limit, std::string_view what) : limit_(limit), what_(what) {}

  // Ok with a slot held (Release() it), or Unavailable at the limit.
  Status Acquire() {
    if (used_.fetch_add(1) >= limit_) {
      used_.fetch_sub(1);
      return Status::Unavailable("the server is at its limit of " + std::to_string(limit_) + " " +
                                 what_ + " in progress; retry later");
    }
    return Status::Ok();
  }
  void Release() { used_.fetch_sub(1); }
  int used() const { return used_.load(); }

 private:
  const int limit_;
  const std::string what_;
  std::atomic<int> used_{0};
};

// Releases an acquired slot.
class SlotHold {
 public:
  explicit SlotHold(StreamSlots& slots) : slots_(&slots) {}
  SlotHold(SlotHold&& other) noexcept : slots_(std::exchange(other.slots_, nullptr)) {}
  SlotHold& operator=(SlotHold&&) = delete;
  ~SlotHold() {
    if (slots_ != nullptr) slots_->Release();
  }

 private:
  StreamSlots* slots_;
};

class TokenCheck {
 public:
  explicit TokenCheck(std::string token) : token_(std::move(token)) {}

  bool required() const { return !token_.empty(); }
  const std::string& token() const { return token_; }

  // Compares in time independent of where the bytes differ, so that a
  // client cannot find the token byte by byte from response times.
  bool Matches(std::string_view candidate) const {
    if (candidate.size() != token_.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < token_.size(); ++i) {
      diff |= static_cast<unsigned char>(candidate[i] ^ token_[i]);
    }
    return diff == 0;
  }

  // Ok when no token is configured or the call carries
  // "authorization: Bearer TOKEN".
  Status Check(const grpc::ServerContextBase& context) const {
    if (!required()) return Status::Ok();
    static constexpr std::string_view kBearer = "Bearer ";
    auto [begin, end] = context.client_metadata().equal_range("authorization");
    if (begin == end) {
      return Status::Unauthenticated(
          "the server requires a bearer token: call metadata \"authorization: Bearer TOKEN\"");
    }
    for (auto it = begin; it != end; ++it) {
      std::string_view value(it->second.data(), it->second.size());
      if (value.starts_with(kBearer) && Matches(value.substr(kBearer.size()))) {
        return Status::Ok();
      }
    }
    return Status::Unauthenticated("wrong bearer token");
  }

 private:
  std::string token_;
};

class DoGetCore;

// The DoGet cores in existence, posted or serving a call: the completion
// queue may shut down only once there are none, since a core's call may
// still start an operation on it (a write failed by the server's shutdown
// ends the call with a Finish) after the server itself has shut down.
class CoreCount {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++count_;
  }
  void Remove() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) none_.notify_all();
  }
  void WaitForNone() {
    std::unique_lock lock(mu_);
    none_.wait(lock, [&] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable none_;
  int64_t count_ = 0;
};

// Wakeups of kPending streams, run on one thread of the server's: a
// producer calls the wakeup from its own code (possibly holding its locks),
// where pulling the stream again, or destroying it at its end, must not
// happen. The thread also runs `tick` every `tick_interval`.
class WakeupQueue {
 public:
  WakeupQueue(std::function<void()> tick, std::chrono::milliseconds tick_interval)
      : tick_(std::move(tick)), tick_interval_(tick_interval) {}

  void Post(std::weak_ptr<DoGetCore> core) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    queue_.push_back(std::move(core));
    ready_.notify_one();
  }
  // Runs posted wakeups until Close().
  void Run();
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
    ready_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::weak_ptr<DoGetCore>> queue_;
  bool closed_ = false;
  const std::function<void()> tick_;
  const std::chrono::milliseconds tick_interval_;
};

class LiveRegistry;

// One DoGet, from the request posted for it to the call's end, shared by
// the completion queue's events and the wakeups it handed out (which may
// fire after the call ended). One thread at a time pumps: pulls the stream
// and starts a write, or ends the call; every event (write done, wakeup,
// cancellation) updates the state under the lock and pumps only if nobody
// is pumping, so none is lost and none runs twice. After the end,
// `pumping_` stays set and nothing pumps again.
class DoGetCore : public std::enable_shared_from_this<DoGetCore> {
 public:
  // What a completion queue event of the call is.
  enum class Event { kStarted, kWritten, kFinished, kDone };
  // A completion queue tag: the call and the event.
  struct Tag {
    DoGetCore* core;
    Event event;
  };

  DoGetCore(CoreCount& count, std::shared_ptr<WakeupQueue> wakeups, LiveRegistry& registry)
      : counted_(count), wakeups_(std::move(wakeups)), registry_(registry) {}

  // Asks `service` for the next DoGet call on `queue`; the core keeps
  // itself alive until its events are all back (Handle).
  void Post(FlightServiceBase& service, grpc::ServerCompletionQueue& queue) {
    self_ = shared_from_this();
    // The done event comes once a call started and ended, cancelled or not.
    context_.AsyncNotifyWhenDone(&done_tag_);
    service.RequestDoGet(&context_, &request_, &writer_, &queue, &queue, &started_tag_);
  }
  grpc::ServerContext& context() { return context_; }
  const grpc::ByteBuffer& request() const { return request_; }

  // Serves `stream` (the call has started), holding `slot` until the end.
  void Start(std::unique_ptr<MessageStream> stream, SlotHold slot);
  // Ends a started call with `status`, before any data.
  void Fail(const Status& status) { Stop(ToGrpcStatus(status)); }

  // Handles the event of `tag`, `ok` as the completion queue said; the
  // start of a call is handed to `start` (which calls Start or Fail). The
  // core may be gone afterwards. Events of one call may run at once on the
  // queue's threads.
  template <typename OnStart>
  static void Handle(void* tag, bool ok, OnStart&& start) {
    auto [core, event] = *static_cast<Tag*>(tag);
    switch (event) {
      case Event::kStarted:
        // Not started (the server is shutting down): no other event comes.
        if (!ok) {
          core->self_.reset();
          return;
        }
        start(*core);
        break;
      case Event::kWritten:
        core->WriteDone(ok);
        return;
      case Event::kDone:
        if (core->context_.IsCancelled()) {
          core->Stop(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
        }
        break;
      case Event::kFinished:
        break;
    }
    // The start handled, the finished and the done event: the core is
    // released after the last of the three, whichever thread sees it.
    if (core->ended_events_.fetch_add(1) == 2) core->self_.reset();
  }

  void WriteDone(bool ok) {
    Update([&] {
      writing_ = false;
      if (!ok && !stop_) stop_ = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    });
  }
  // Ends the call with `status` (and Cancel()s the stream) as soon as no
  // write is outstanding.
  void Stop(grpc::Status status) {
    Update([&] {
      if (!stop_) stop_ = std::move(status);
    });
  }
  void Woken() {
    Update([&] { waiting_ = false; });
  }
  // Has said kPending at least once: an endless stream, ended at once by
  // a shutdown.
  bool live() const { return live_.load(); }
  // Cancels the call when a write has been outstanding since before
  // `started_before`: the client stopped reading. The failed write and the
  // done event then end the call.
  void CancelIfStalled(std::chrono::steady_clock::time_point started_before) {
    std::lock_guard lock(mu_);
    if (writing_ && write_started_ < started_before) context_.TryCancel();
  }

 private:
  template <typename Change>
  void Update(Change&& change) {
    {
      std::lock_guard lock(mu_);
      change();
      if (pumping_) return;
      pumping_ = true;
    }
    Pump();
  }
  void Pump();
  // Finishes the call, with `last` as its last message when given.
  void End(grpc::Status status, const grpc::ByteBuffer* last = nullptr);

  // Counts the core from its construction to the end of its destruction
  // (its call's context included): the first member, destroyed last.
  class Counted {
   public:
    explicit Counted(CoreCount& count) : count_(count) { count_.Add(); }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
    ~Counted() { count_.Remove(); }

   private:
    CoreCount& count_;
  };
  Counted counted_;

  std::mutex mu_;
  bool pumping_ = false;
  bool writing_ = false;  // a Write started, its event not yet handled
  bool waiting_ = false;  // kPending, wakeup not yet
  std::chrono::steady_clock::time_point write_started_;
  std::optional<grpc::Status> stop_;
  std::atomic<bool> live_{false};

  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_{&context_};
  Tag started_tag_{this, Event::kStarted};
  Tag written_tag_{this, Event::kWritten};
  Tag finished_tag_{this, Event::kFinished};
  Tag done_tag_{this, Event::kDone};
  // The start handled, the finished and done events seen (Handle).
  std::atomic<int> ended_events_{0};
  std::shared_ptr<DoGetCore> self_;
  // Touched only by the pumping thread (Start's before the first pump).
  std::unique_ptr<MessageStream> stream_;  // null for a call that failed at its start
  std::optional<IpcMessage> ahead_;        // pulled, not yet written
  bool stream_ended_ = false;              // said kEnd; the call ends after the write
  // Released when the call ends, not when gRPC is done with it (its events):
  // a client that got the call's status may start its next call before
  // that, and must not find the slot still taken.
  std::optional<SlotHold> slot_;
  grpc::ByteBuffer data_;  // the write in progress

  std::shared_ptr<WakeupQueue> wakeups_;
  LiveRegistry& registry_;
};

// The DoGet calls in progress, for a shutdown to end the live ones.
class LiveRegistry {
 public:
  void Add(const std::shared_ptr<DoGetCore>& core) {
    std::lock_guard lock(mu_);
    cores_[core.get()] = core;
  }
  void Remove(DoGetCore* core) {
    std::lock_guard lock(mu_);
    cores_.erase(core);
  }
  void StopLive(const grpc::Status& status) {
    for (auto& core : Snapshot()) {
      if (core->live()) core->Stop(status);
    }
  }
  void CancelStalled(std::chrono::milliseconds limit) {
    auto started_before = std::chrono::steady_clock::now() - limit;
    for (auto& core : Snapshot()) core->CancelIfStalled(started_before);
  }

 private:
  // The cores, held while the caller calls them outside the lock (they
  // remove themselves under it).
  std::vector<std::shared_ptr<DoGetCore>> Snapshot() {
    std::vector<std::shared_ptr<DoGetCore>> cores;
    std::lock_guard lock(mu_);
    for (auto& [key, weak] : cores_) {
      if (auto core = weak.lock()) cores.push_back(std::move(core));
    }
    return cores;
  }

  std::mutex mu_;
  std::unordered_map<DoGetCore*, std::weak_ptr<DoGetCore>> cores_;
};

void WakeupQueue::Run() {
  auto next_tick = std::chrono::steady_clock::now() + tick_interval_;
  for (;;) {
    std::weak_ptr<DoGetCore> next;
    {
      std::unique_lock lock(mu_);
      ready_.wait_until(lock, next_tick, [&] { return closed_ || !queue_.empty(); });
      if (closed_) return;
      if (!queue_.empty()) {
        next = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (auto core = next.lock()) core->Woken();
    if (std::chrono::steady_clock::now() >= next_tick) {
      tick_();
      next_tick = std::chrono::steady_clock::now() + tick_interval_;
    }
  }
}

void DoGetCore::Start(std::unique_ptr<MessageStream> stream, SlotHold slot) {
  {
    std::lock_guard lock(mu_);
    // A pump before the start is the call's cancellation (its done event,
    // on the queue's other thread), which ended it.
    if (pumping_) return;
    pumping_ = true;
    stream_ = std::move(stream);
    slot_.emplace(std::move(slot));
  }
  // Before any End() (which removes it): nobody else pumps meanwhile.
  registry_.Add(shared_from_this());
  Pump();
}

void DoGetCore::Pump() {
  auto self = shared_from_this();  // a reaction may end the call meanwhile
  for (;;) {
    std::optional<grpc::Status> stop;
    {
      std::lock_guard lock(mu_);
      if (stop_ && !writing_) {
        stop = std::move(stop_);
      } else if (stop_ || writing_ || waiting_) {
        pumping_ = false;
        return;
      }
    }
    if (stop) {
      if (stream_) stream_->Cancel();
      End(std::move(*stop));
      return;
    }
    if (stream_ended_) {
      End(grpc::Status::OK);
      return;
    }
    // The message to write next is pulled one ahead of its write, so that
    // the last one goes out with the call's status: one operation and one
    // packet fewer for a small response. (A write with gRPC's buffer hint,
    // to send the schema with the batch, completes only once sent: with one
    // write at a time, never.)
    IpcMessage next;
    Result<MessageStream::Poll> poll = stream_->Next(&next);
    if (!poll.ok()) {
      End(ToGrpcStatus(poll.status()));
      return;
    }
    if (!ahead_) {
      switch (*poll) {
        case MessageStream::Poll::kMessage:
          ahead_ = std::move(next);
          break;
        case MessageStream::Poll::kEnd:
          End(grpc::Status::OK);
          return;
        case MessageStream::Poll::kPending: {
          {
            std::lock_guard lock(mu_);
            waiting_ = true;
          }
          live_ = true;
          std::weak_ptr<DoGetCore> weak = self;
          stream_->NotifyWhenReady([weak, wakeups = wakeups_] { wakeups->Post(weak); });
          break;
        }
      }
      continue;
    }
    const bool last = *poll == MessageStream::Poll::kEnd;
    data_ = SerializeFlightData(*ahead_);
    ahead_.reset();
    if (*poll == MessageStream::Poll::kMessage) ahead_ = std::move(next);
    auto size = static_cast<int64_t>(data_.Length());
    if (size > kMaxFlightDataBytes) {
      stream_->Cancel();
      End(ToGrpcStatus(Status::OutOfRange(
          "an IPC message of " + std::to_string(size) + " bytes does not fit in a FlightData " +
          "of at most " + std::to_string(kMaxFlightDataBytes) +
          " bytes (gRPC's default message limit); the server must send smaller batches")));
      return;
    }
    if (last && size < kSmallWriteBytes) {
      End(grpc::Status::OK, &data_);
      return;
    }
    // A large last message is written on its own: the write stays watched
    // for a client that stops reading (CancelIfStalled).
    stream_ended_ = last;
    {
      std::lock_guard lock(mu_);
      writing_ = true;
      write_started_ = std::chrono::steady_clock::now();
    }
    writer_.Write(data_, &written_tag_);
  }
}

void DoGetCore::End(grpc::Status status, const grpc::ByteBuffer* last) {
  // Everything that touches the stream or the server happens before
  // Finish(): from then on the call may end, and a shutdown waiting for it
  // may destroy the service.
  registry_.Remove(this);
  stream_.reset();
  ahead_.reset();
  slot_.reset();
  if (last != nullptr) {
    writer_.WriteAndFinish(*last, grpc::WriteOptions(), status, &finished_tag_);
  } else {
    writer_.Finish(status, &finished_tag_);
  }
}

// The service's answer to a sync handler, or OutOfMemoryError() for a
// std::bad_alloc out of it, as over HTTP (gRPC itself would answer UNKNOWN,
// "Unexpected error in RPC handling").
template <typename Call>
auto ServiceCall(Call call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::bad_alloc&) {
    return OutOfMemoryError();
  }
}

// The calls waiting for their client's next message (a DoPut's FlightData,
// a Handshake's request), so that the stalled ones can be cancelled: a sync
// handler blocked in Read() has no timeout of its own, and holds a thread of
// gRPC's pool and a stream slot.
class ReadWatch {
 public:
  using Call = grpc::ServerReaderWriter<fproto::PutResult, fproto::FlightData>;

  // call.Read(message), watched.
  template <typename StreamCall, typename Message>
  bool Read(grpc::ServerContext& context, StreamCall& call, Message& message) {
    {
      std::lock_guard lock(mu_);
      waiting_[&context] = std::chrono::steady_clock::now();
    }
    bool ok = call.Read(&message);
    std::lock_guard lock(mu_);
    waiting_.erase(&context);
    return ok;
  }

  void CancelStalled(std::chrono::milliseconds limit) {
    auto started_before = std::chrono::steady_clock::now() - limit;
    std::lock_guard lock(mu_);
    // A context in the map is alive: its handler is inside Read(). A sync
    // call has no reactions, so cancelling runs none of our code here.
    for (auto& [context, since] : waiting_) {
      if (since < started_before) context->TryCancel();
    }
  }

 private:
  std::mutex mu_;
  std::unordered_map<grpc::ServerContext*, std::chrono::steady_clock::time_point> waiting_;
};

// The FlightData of a DoPut as an Arrow IPC stream: each message checked,
// counted against the upload limit and framed; the end of the client's
// stream becomes the end-of-stream marker, a cancelled call an error.
// Holds one message at a time.
class UploadStream final : public FlightDataInput {
 public:
  using Call = ReadWatch::Call;
  UploadStream(grpc::ServerContext& context, Call& call, ReadWatch& watch, fproto::FlightData first,
               int64_t max_bytes)
      : context_(context),
        call_(call),
        watch_(watch),
        first_(std::move(first)),
        max_bytes_(max_bytes) {}

  // Bytes of Arrow messages received so far, framed.
  int64_t received() const { return received_; }

 private:
  Status Fill() override {
    fproto::FlightData data;
    if (first_) {
      data = std::move(*first_);
      first_.reset();
    } else if (!watch_.Read(context_, call_, data)) {
      if (context_.IsCancelled()) {
        return Status::Cancelled(
            "the upload was cancelled, by the client or for sending nothing for too long");
      }
      parts().PushBytes(EndOfStreamBytes());
      set_ended();
      return Status::Ok();
    }
    ++count_;
    if (CarriesNoMessage(data)) return Status::Ok();
    int64_t framed_size = 0;
    auto message = TakeMessage(data, &framed_size);
    if (!message.ok()) {
      return message.status().WithContext("FlightData " + std::to_string(count_) +
                                          " of the upload");
    }
    received_ += framed_size;
    if (received_ > max_bytes_) {
      return Status::OutOfRange(
          "upload larger than the server's limit of " + std::to_string(max_bytes_) + " bytes (" +
          std::to_string(received_) + " bytes by FlightData " + std::to_string(count_) + ")");
    }
    return parts().Push(*message);
  }

  grpc::ServerContext& context_;
  Call& call_;
  ReadWatch& watch_;
  std::optional<fproto::FlightData> first_;
  const int64_t max_bytes_;
  int64_t received_ = 0;
  int64_t count_ = 0;
};

// The request of the raw DoGet method.
bool ParseTicket(const grpc::ByteBuffer& request, fproto::Ticket& ticket) {
  std::vector<grpc::Slice> slices;
  if (!request.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return ticket.ParseFromString(bytes);
}

#define ZKA_GRPC_RETURN_IF_ERROR(expr)                       \
  do {                                                       \
    ::zkarrow::Status zka_status_ = (expr);                  \
    if (!zka_status_.ok()) return ToGrpcStatus(zka_status_); \
  } while (false)

class FlightServiceImpl final : public FlightServiceBase {
 public:
  FlightServiceImpl(const ServerOptions& options, const FlightLimits& limits, ArrowService& service,
                    std::shared_ptr<WakeupQueue> wakeups, FlightMetrics& metrics)
      : service_(service),
        token_(options.bearer_token),
        max_upload_bytes_(options.max_upload_bytes),
        slots_(options.max_concurrent_streams, "streams"),
        handshake_slots_(limits.max_handshakes, "handshakes"),
        wakeups_(std::move(wakeups)),
        metrics_(metrics) {}

  // DoGet, DoPut and DoAction calls in progress.
  int streams() const { return slots_.used(); }

  // Refuses new DoGet calls and ends the live ones.
  void BeginShutdown() {
    shutting_down_ = true;
    registry_.StopLive(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  }
  void CancelStalled(const FlightLimits& limits) {
    registry_.CancelStalled(limits.write_stall_timeout);
    reads_.CancelStalled(limits.read_stall_timeout);
  }

  grpc::Status Handshake(grpc::ServerContext* context,
                         grpc::ServerReaderWriter<fproto::HandshakeResponse,
                                                  fproto::HandshakeRequest>* stream) override {
    // Before the token is known, so with a slot of its own kind and a
    // watched read: a client that opens handshakes and sends nothing would
    // otherwise hold a thread each, without limit, and with the streams'
    // slots, an anonymous client could take them all from the others.
    ZKA_GRPC_RETURN_IF_ERROR(handshake_slots_.Acquire());
    SlotHold hold(handshake_slots_);
    fproto::HandshakeRequest request;
    if (!reads_.Read(*context, *stream, request)) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      return {grpc::StatusCode::INVALID_ARGUMENT, "Handshake ended without a request"};
    }
    fproto::HandshakeResponse response;
    if (token_.required()) {
      if (!token_.Matches(request.payload()) && !token_.Check(*context).ok()) {
        return {grpc::StatusCode::UNAUTHENTICATED,
                "Handshake: the payload is not the server's bearer token"};
      }
      context->AddInitialMetadata("authorization", "Bearer " + token_.token());
      response.set_payload(token_.token());
    }
    stream->Write(response);
    return grpc::Status::OK;
  }

  grpc::Status ListFlights(grpc::ServerContext* context, const fproto::Criteria* criteria,
                           grpc::ServerWriter<fproto::FlightInfo>* writer) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    if (!criteria->expression().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "ListFlights criteria are not supported: send an empty expression"};
    }
    auto infos = service_.List();
    ZKA_GRPC_RETURN_IF_ERROR(infos.status());
    for (const StreamInfo& info : *infos) {
      auto flight = ToFlightInfo(info, DescriptorFor(info.resource));
      ZKA_GRPC_RETURN_IF_ERROR(flight.status());
      if (!writer->Write(*flight)) break;  // the client went away
    }
    return grpc::Status::OK;
  }

  grpc::Status GetFlightInfo(grpc::ServerContext* context,
                             const fproto::FlightDescriptor* descriptor,
                             fproto::FlightInfo* response) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    auto info = DescribeDescriptor(*descriptor);
    ZKA_GRPC_RETURN_IF_ERROR(info.status());
    auto flight = ToFlightInfo(*info, *descriptor);
    ZKA_GRPC_RETURN_IF_ERROR(flight.status());
    *response = std::move(*flight);
    return grpc::Status::OK;
  }

  grpc::Status GetSchema(grpc::ServerContext* context, const fproto::FlightDescriptor* descriptor,
                         fproto::SchemaResult* response) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    auto info = DescribeDescriptor(*descriptor);
    ZKA_GRPC_RETURN_IF_ERROR(info.status());
    if (!info->schema) {
      return {grpc::StatusCode::INTERNAL, "the service described a resource without a schema"};
    }
    auto schema = EncodeSchema(*info->schema);
    ZKA_GRPC_RETURN_IF_ERROR(schema.status());
    response->set_schema(std::move(*schema));
    return grpc::Status::OK;
  }

  // Posts a core for the next DoGet call on `queue`, until StopDoGets().
  void PostDoGet(grpc::ServerCompletionQueue& queue) {
    std::lock_guard lock(posting_mu_);
    if (posting_) std::make_shared<DoGetCore>(cores_, wakeups_, registry_)->Post(*this, queue);
  }
  // Before the queue shuts down, once the server has: posts no more cores,
  // and waits until every core is gone (the queue's threads still serving
  // the events that end their calls).
  void StopDoGets() {
    {
      std::lock_guard lock(posting_mu_);
      posting_ = false;
    }
    cores_.WaitForNone();
  }

  // Serves the DoGet call that started on `core`, or ends it with an error.
  void StartDoGet(DoGetCore& core) {
    grpc::ServerContext& context = core.context();
    if (Status auth = token_.Check(context); !auth.ok()) return core.Fail(auth);
    if (shutting_down_) return core.Fail(Status::Unavailable("the server is shutting down"));
    fproto::Ticket ticket;
    if (!ParseTicket(core.request(), ticket)) {
      return core.Fail(Status::InvalidArgument("DoGet: the request is not a Ticket message"));
    }
    auto resource = ParseTarget(ticket.ticket());
    if (!resource.ok()) return core.Fail(resource.status().WithContext("DoGet ticket"));
    auto options = TakeGetOptions(*resource);
    if (!options.ok()) return core.Fail(options.status().WithContext("DoGet ticket"));
    if (Status slot = slots_.Acquire(); !slot.ok()) return core.Fail(slot);
    std::optional<SlotHold> hold(std::in_place, slots_);
    auto stream = service_.Get(*resource, *options);
    if (!stream.ok()) {
      // Released before the status goes out, as DoGetCore::End does: a
      // client that got it may call again at once and must find the slot
      // free (and the streams gauge back down).
      hold.reset();
      return core.Fail(stream.status());
    }
    core.Start(std::move(*stream), std::move(*hold));
  }

  grpc::Status DoPut(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<fproto::PutResult, fproto::FlightData>* call) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    ZKA_GRPC_RETURN_IF_ERROR(slots_.Acquire());
    SlotHold hold(slots_);
    fproto::FlightData first;
    if (!reads_.Read(*context, *call, first)) {
      if (context->IsCancelled()) return grpc::Status::CANCELLED;
      return {grpc::StatusCode::INVALID_ARGUMENT, "DoPut ended before its first FlightData"};
    }
    if (!first.has_flight_descriptor()) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "the first FlightData of a DoPut must carry the flight descriptor; found none"};
    }
    auto resource = ResourceFromDescriptor(first.flight_descriptor());
    ZKA_GRPC_RETURN_IF_ERROR(resource.status());
    UploadStream upload(*context, *call, reads_, std::move(first), max_upload_bytes_);
    auto info = ServiceCall([&] { return service_.Put(*resource, upload); });
    metrics_.AddReceived("DoPut", upload.received());
    if (!info.ok()) {
      // The upload's own failure is the cause, whatever the service made
      // of it.
      return ToGrpcStatus(upload.failure().ok() ? info.status() : upload.failure());
    }
    fproto::PutResult result;
    result.set_app_metadata(info->app_metadata_json);
    call->Write(result);
    return grpc::Status::OK;
  }

  grpc::Status DoExchange(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<fproto::FlightData, fproto::FlightData>* /*stream*/) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    return {grpc::StatusCode::UNIMPLEMENTED, "DoExchange is not supported by zkarrow"};
  }

  grpc::Status DoAction(grpc::ServerContext* context, const fproto::Action* action,
                        grpc::ServerWriter<fproto::Result>* writer) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    // An action may wait (sync waits for the mirror), holding a thread.
    ZKA_GRPC_RETURN_IF_ERROR(slots_.Acquire());
    SlotHold hold(slots_);
    auto result = ServiceCall([&] { return service_.DoAction(action->type(), action->body()); });
    ZKA_GRPC_RETURN_IF_ERROR(result.status());
    fproto::Result out;
    out.set_body(std::move(*result));
    writer->Write(out);
    return grpc::Status::OK;
  }

  grpc::Status ListActions(grpc::ServerContext* context, const fproto::Empty* /*request*/,
                           grpc::ServerWriter<fproto::ActionType>* writer) override {
    ZKA_GRPC_RETURN_IF_ERROR(token_.Check(*context));
    for (const ActionType& action : service_.ListActions()) {
      fproto::ActionType out;
      out.set_type(action.type);
      out.set_description(action.description);
      if (!writer->Write(out)) break;
    }
    return grpc::Status::OK;
  }

 private:
  // The service's description; the ticket keeps the codecs asked for, so
  // that DoGet of it sends what the descriptor asked.
  Result<StreamInfo> DescribeDescriptor(const fproto::FlightDescriptor& descriptor) {
    ZKA_ASSIGN_OR_RETURN(Resource resource, ResourceFromDescriptor(descriptor));
    ZKA_ASSIGN_OR_RETURN(GetOptions options, TakeGetOptions(resource));
    ZKA_ASSIGN_OR_RETURN(StreamInfo info, service_.Describe(resource));
    if (options.compression != arrow::ipc::Compression::kNone) {
      info.resource.params[kCodecsParam] = std::string(CodecName(options.compression));
    }
    return info;
  }

  ArrowService& service_;
  const TokenCheck token_;
  const int64_t max_upload_bytes_;
  StreamSlots slots_;
  StreamSlots handshake_slots_;
  std::shared_ptr<WakeupQueue> wakeups_;
  FlightMetrics& metrics_;
  LiveRegistry registry_;
  ReadWatch reads_;
  std::atomic<bool> shutting_down_{false};
  std::mutex posting_mu_;
  bool posting_ = true;
  CoreCount cores_;
};

Result<std::string> ReadPemFile(const std::string& path, std::string_view what) {
  auto file = arrow::FileInputStream::Open(path);
  if (!file.ok()) return file.status().WithContext(std::string(what));
  auto bytes = arrow::ReadAll(**file);
  if (!bytes.ok()) return bytes.status().WithContext(std::string(what));
  return std::string(reinterpret_cast<const char*>((*bytes)->data()),
                     static_cast<size_t>((*bytes)->size()));
}

Result<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const ServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return Status::InvalidArgument(
        "TLS needs both a certificate and a key file; found only the " +
        std::string(options.tls_cert_file.empty() ? "key" : "certificate"));
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ZKA_ASSIGN_OR_RETURN(pair.private_key, ReadPemFile(options.tls_key_file, "TLS key file"));
  ZKA_ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile(options.tls_cert_file, "TLS certificate file"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

class FlightServer::Impl {
 public:
  // Threads of gRPC's sync pool beyond one per stream slot: for the calls
  // that answer at once (GetFlightInfo, GetSchema, ListFlights,
  // ListActions) and gRPC's own pollers.
  static constexpr int kQuickCallThreads = 16;

  Impl(const ServerOptions& options, ArrowService& service, const FlightLimits& limits)
      : limits_(limits),
        // The queue's thread runs only between Start() and Shutdown(), while
        // service_ exists.
        wakeups_(std::make_shared<WakeupQueue>(
            [this] { service_->CancelStalled(limits_); },
            std::clamp(std::min(limits.write_stall_timeout, limits.read_stall_timeout) / 4,
                       std::chrono::milliseconds(10), std::chrono::milliseconds(1000)))),
        service_(
            std::make_unique<FlightServiceImpl>(options, limits, service, wakeups_, metrics_)) {}

  ~Impl() { Shutdown(std::chrono::milliseconds(0)); }

  Status Start(const ServerOptions& options) {
    if (options.max_concurrent_streams < 1) {
      return Status::InvalidArgument("max_concurrent_streams must be at least 1, found " +
                                     std::to_string(options.max_concurrent_streams));
    }
    ZKA_ASSIGN_OR_RETURN(auto credentials, MakeCredentials(options));
    bool ipv6 = options.host.find(':') != std::string::npos && !options.host.starts_with('[');
    std::string address =
        (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
    grpc::ServerBuilder builder;
    // gRPC's own resources, which no handler sees. Threads: each blocking
    // handler (DoPut, DoAction; Handshake) holds a stream slot (a handshake
    // slot) while it holds a thread of the sync pool, so the slots plus a
    // margin for the quick calls bound the pool; past it gRPC refuses calls
    // (RESOURCE_EXHAUSTED) instead of starting threads without end.
    grpc::ResourceQuota quota("zkarrow-flight");
    quota.SetMaxThreads(options.max_concurrent_streams + limits_.max_handshakes +
                        kQuickCallThreads);
    quota.Resize(static_cast<size_t>(limits_.grpc_memory_bytes));
    builder.SetResourceQuota(quota);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits_.max_streams_per_connection);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(limits_.keepalive_time.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               static_cast<int>(limits_.keepalive_timeout.count()));
    // gRPC sets SO_REUSEPORT by default, with which a second server (another
    // `zkarrow serve`) could listen on a port taken already and the kernel
    // would spread the connections over both: a port in use is refused, as
    // the HTTP listener refuses it.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort(address, credentials, &port_);
    builder.RegisterService(service_.get());
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(FlightMetrics::InterceptorFactory(metrics_));
    builder.experimental().SetInterceptorCreators(std::move(creators));
    queue_ = builder.AddCompletionQueue();
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
      server_.reset();
      queue_->Shutdown();
      void* tag = nullptr;
      bool ok = false;
      while (queue_->Next(&tag, &ok)) {
      }
      return Status::IoError("cannot listen for Flight on " + address +
                             " (address in use or not local?)");
    }
    for (int i = 0; i < kDoGetsPosted; ++i) service_->PostDoGet(*queue_);
    for (int i = 0; i < kDoGetThreads; ++i) queue_threads_.emplace_back([this] { ServeDoGets(); });
    wakeup_thread_ = std::thread([queue = wakeups_] { queue->Run(); });
    return Status::Ok();
  }

  int port() const { return port_; }

  void AppendMetrics(std::string& text) const { metrics_.Render(text, service_->streams()); }

  void Shutdown(std::chrono::milliseconds grace) {
    std::lock_guard lock(shutdown_mu_);
    if (!server_) return;
    service_->BeginShutdown();
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    service_->StopDoGets();
    queue_->Shutdown();
    for (std::thread& thread : queue_threads_) thread.join();
    queue_threads_.clear();
    wakeups_->Close();
    wakeup_thread_.join();
    server_.reset();
  }

 private:
  // DoGet calls posted ahead of the calls that take them; one is posted
  // again as each starts.
  static constexpr int kDoGetsPosted = 8;

  // The threads serving the queue, any of them any event: two, as the HTTP
  // listener's, so that a message slow to make (the first encoding of a
  // large tree's batch, a dataset's read from disk) or a thread preempted
  // on a busy machine does not hold up every other call. One thread took
  // a few us less CPU per small call (fewer wakeups), a queue per thread
  // more than either.
  static constexpr int kDoGetThreads = 2;

  void ServeDoGets() {
    void* tag = nullptr;
    bool ok = false;
    while (queue_->Next(&tag, &ok)) {
      DoGetCore::Handle(tag, ok, [&](DoGetCore& started) {
        service_->PostDoGet(*queue_);
        service_->StartDoGet(started);
      });
    }
  }

  const FlightLimits limits_;
  FlightMetrics metrics_;  // before service_, which counts into it
  std::shared_ptr<WakeupQueue> wakeups_;
  std::unique_ptr<FlightServiceImpl> service_;          // outlives server_
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;  // DoGet's; outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::thread> queue_threads_;
  std::thread wakeup_thread_;
  int port_ = 0;
  std::mutex shutdown_mu_;
};

FlightServer::FlightServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FlightServer::~FlightServer() = default;

Result<std::unique_ptr<FlightServer>> FlightServer::Start(const ServerOptions& options,
                                                          ArrowService& service,
                                                          const FlightLimits& limits) {
  PrepareGrpcRuntime();
  auto impl = std::make_unique<Impl>(options, service, limits);
  ZKA_RETURN_IF_ERROR(impl->Start(options).WithContext("Flight server"));
  return std::unique_ptr<FlightServer>(new FlightServer(std::move(impl)));
}

int FlightServer::port() const { return impl_->port(); }

void FlightServer::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }

void FlightServer::AppendMetrics(std::string& text) const { impl_->AppendMetrics(text); }

}  // namespace zkarrow::transport::flight
