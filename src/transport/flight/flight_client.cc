#include "transport/flight/flight_client.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "arrow/io.h"
#include "arrow/ipc/encapsulated.h"
#include "arrow/ipc/message.h"
#include "flight.grpc.pb.h"
#include "transport/flight/flight_codec.h"

namespace zkarrow::transport::flight {

namespace {

Status CallFailed(const grpc::Status& status, std::string_view call) {
  return FromGrpcStatus(status).WithContext("Flight " + std::string(call));
}

// Completion queues kept for the client's next downloads: a queue is
// created with a poller of its own, which each call then joins, so one per
// call cost a client making many small requests more than the requests.
// A queue is lent to one call at a time, so concurrent downloads never
// take each other's events; each is given back empty (every operation of
// the call awaited to completion).
class QueuePool : public std::enable_shared_from_this<QueuePool> {
 public:
  // Returns the queue to the pool when destroyed.
  class Lease {
   public:
    Lease(std::shared_ptr<QueuePool> pool, std::unique_ptr<grpc::CompletionQueue> queue)
        : pool_(std::move(pool)), queue_(std::move(queue)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (queue_) pool_->GiveBack(std::move(queue_));
    }
    grpc::CompletionQueue& queue() { return *queue_; }

   private:
    std::shared_ptr<QueuePool> pool_;
    std::unique_ptr<grpc::CompletionQueue> queue_;
  };

  ~QueuePool() {
    for (auto& queue : free_) Drain(*queue);
  }

  Lease Take() {
    std::unique_ptr<grpc::CompletionQueue> queue;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        queue = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!queue) queue = std::make_unique<grpc::CompletionQueue>();
    return Lease(shared_from_this(), std::move(queue));
  }

 private:
  // As many as a client's downloads at once ever were, up to this; the rest
  // are shut down.
  static constexpr size_t kMaxKept = 16;

  static void Drain(grpc::CompletionQueue& queue) {
    queue.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue.Next(&tag, &ok)) {
    }
  }

  void GiveBack(std::unique_ptr<grpc::CompletionQueue> queue) {
    {
      std::lock_guard lock(mu_);
      if (free_.size() < kMaxKept) {
        free_.push_back(std::move(queue));
        return;
      }
    }
    Drain(*queue);
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> free_;
};

// DoGet's FlightData as an Arrow IPC stream: each message checked and
// framed, the end-of-stream marker after a call that completed, the
// server's error after one that failed. On gRPC's asynchronous API, so
// that a wait for the server can be interrupted (ClientOptions::
// interrupted); one operation at a time is in flight, and each is awaited
// to completion, so none is left when the stream is destroyed.
class DownloadStream final : public FlightDataInput {
 public:
  DownloadStream(const RawDoGet& do_get, QueuePool::Lease lease,
                 std::unique_ptr<grpc::ClientContext> context, std::string target,
                 std::function<bool()> interrupted)
      : lease_(std::move(lease)),
        context_(std::move(context)),
        target_(std::move(target)),
        interrupted_(std::move(interrupted)) {
    fproto::Ticket ticket;
    ticket.set_ticket(target_);
    reader_ = do_get.Prepare(*context_, ticket, lease_.queue());
    reader_->StartCall(this);
    started_ = Await();
  }

  ~DownloadStream() override {
    if (!finished_) {
      // Stop the server's stream and collect the (cancelled) status, as
      // gRPC requires before the call is destroyed.
      context_->TryCancel();
      grpc::Status ignored;
      reader_->Finish(&ignored, this);
      Await();
    }
    // Every operation completed: the queue goes back to the pool empty.
  }

 private:
  // Receives the next message (or the call's end) into the parts.
  Status Fill() override {
    grpc::ByteBuffer data;
    while (started_) {
      reader_->Read(&data, this);
      if (!Await()) break;
      ++count_;
      int64_t framed_size = 0;
      auto message = ParseFlightData(data, &framed_size);
      if (!message.ok()) {
        return message.status().WithContext("DoGet " + target_ + ": FlightData " +
                                            std::to_string(count_));
      }
      if (!*message) continue;
      return parts().Push(**message);
    }
    grpc::Status status;
    reader_->Finish(&status, this);
    Await();
    finished_ = true;
    set_ended();
    if (interrupted_seen_) {
      return Status::Cancelled("DoGet " + target_ + ": interrupted while waiting for the server");
    }
    if (!status.ok()) return CallFailed(status, "DoGet " + target_);
    parts().PushBytes(EndOfStreamBytes());
    return Status::Ok();
  }

  // Waits for the operation in flight; returns its `ok`. Polls
  // `interrupted_` meanwhile and cancels the call when it says so (the
  // operation then completes, not ok).
  bool Await() {
    constexpr auto kPoll = std::chrono::milliseconds(100);
    for (;;) {
      void* tag = nullptr;
      bool ok = false;
      auto deadline = interrupted_ ? std::chrono::system_clock::now() + kPoll
                                   : std::chrono::system_clock::time_point::max();
      switch (lease_.queue().AsyncNext(&tag, &ok, deadline)) {
        case grpc::CompletionQueue::GOT_EVENT:
          return ok;
        case grpc::CompletionQueue::TIMEOUT:
          if (!interrupted_seen_ && interrupted_()) {
            interrupted_seen_ = true;
            context_->TryCancel();
          }
          break;
        case grpc::CompletionQueue::SHUTDOWN:
          return false;
      }
    }
  }

  // Destroyed last: the reader and context use its queue.
  QueuePool::Lease lease_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> reader_;
  std::string target_;
  std::function<bool()> interrupted_;
  bool interrupted_seen_ = false;
  bool started_ = false;  // the call started (else only Finish() is left)
  int64_t count_ = 0;
  bool finished_ = false;  // Finish() completed
};

}  // namespace

class FlightClient::Impl {
 public:
  Impl(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        channel_(std::move(channel)),
        stub_(fproto::FlightService::NewStub(channel_)),
        do_get_(channel_) {}

  // A context with the token, and the connect timeout as deadline unless
  // the call is a stream of data.
  std::unique_ptr<grpc::ClientContext> Context(bool with_deadline) const {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!options_.bearer_token.empty()) {
      context->AddMetadata("authorization", "Bearer " + options_.bearer_token);
    }
    if (with_deadline) {
      context->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::milliseconds(options_.connect_timeout_ms));
    }
    return context;
  }

  fproto::FlightService::Stub& stub() { return *stub_; }
  const RawDoGet& do_get() const { return do_get_; }
  QueuePool::Lease TakeQueue() { return queues_->Take(); }
  const std::function<bool()>& interrupted() const { return options_.interrupted; }

 private:
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<fproto::FlightService::Stub> stub_;
  RawDoGet do_get_;
  std::shared_ptr<QueuePool> queues_ = std::make_shared<QueuePool>();
};

void DropGrpcLogs() {
  // Asked for by name (GRPC_VERBOSITY=debug, to see a connection's steps):
  // kept.
  if (std::getenv("GRPC_VERBOSITY") != nullptr) return;
  gpr_set_log_function([](gpr_log_func_args*) {});
}

FlightClient::FlightClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FlightClient::~FlightClient() = default;

Result<std::unique_ptr<FlightClient>> FlightClient::Connect(const ClientOptions& options) {
  PrepareGrpcRuntime();
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      auto file = arrow::FileInputStream::Open(options.tls_ca_file);
      if (!file.ok()) return file.status().WithContext("TLS CA file");
      auto pem = arrow::ReadAll(**file);
      if (!pem.ok()) return pem.status().WithContext("TLS CA file");
      ssl.pem_root_certs.assign(reinterpret_cast<const char*>((*pem)->data()),
                                static_cast<size_t>((*pem)->size()));
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  bool ipv6 = options.host.find(':') != std::string::npos && !options.host.starts_with('[');
  std::string address =
      (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  auto channel = grpc::CreateCustomChannel(address, credentials, ClientChannelArguments());
  auto deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  // gRPC would retry a refused connection with backoff until the deadline;
  // the first failure is the answer (as the HTTP client's), so that a wrong
  // port is told at once rather than after the whole timeout.
  const char* tls_hint = options.tls ? " (TLS: is it a TLS server whose certificate the CA file "
                                       "signed, for this host name?)"
                                     : "";
  for (grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
       state != GRPC_CHANNEL_READY; state = channel->GetState(/*try_to_connect=*/true)) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return Status::Unavailable("cannot connect to the Flight server at " + address +
                                 ": the connection failed (refused, unreachable or closed)" +
                                 tls_hint);
    }
    if (!channel->WaitForStateChange(state, deadline)) {
      return Status::Unavailable("cannot connect to the Flight server at " + address + " within " +
                                 std::to_string(options.connect_timeout_ms) + " ms" + tls_hint);
    }
  }
  return std::unique_ptr<FlightClient>(
      new FlightClient(std::make_unique<Impl>(options, std::move(channel))));
}

Result<std::vector<StreamInfo>> FlightClient::List() {
  auto context = impl_->Context(true);
  auto reader = impl_->stub().ListFlights(context.get(), fproto::Criteria());
  std::vector<StreamInfo> infos;
  fproto::FlightInfo flight;
  Status decoded;
  while (reader->Read(&flight)) {
    auto info = FromFlightInfo(flight);
    if (!info.ok()) {
      decoded = info.status().WithContext("ListFlights");
      context->TryCancel();
      while (reader->Read(&flight)) {
      }
      break;
    }
    infos.push_back(std::move(*info));
  }
  grpc::Status status = reader->Finish();
  ZKA_RETURN_IF_ERROR(decoded);
  if (!status.ok()) return CallFailed(status, "ListFlights");
  return infos;
}

Result<std::unique_ptr<arrow::InputStream>> FlightClient::Get(const Resource& resource,
                                                              const GetOptions& options) {
  // Flight has no negotiation of its own: the ticket carries the codecs
  // parameter (the IPC reader decompresses what comes).
  Resource ticket = resource;
  if (options.compression != arrow::ipc::Compression::kNone) {
    ticket.params[kCodecsParam] = std::string(CodecName(options.compression));
  }
  auto stream =
      std::make_unique<DownloadStream>(impl_->do_get(), impl_->TakeQueue(), impl_->Context(false),
                                       ticket.ToTarget(), impl_->interrupted());
  // The first message, or the call's error before any: that is this
  // call's error rather than a Read's.
  ZKA_RETURN_IF_ERROR(stream->Refill());
  return std::unique_ptr<arrow::InputStream>(std::move(stream));
}

Result<StreamInfo> FlightClient::Put(const Resource& resource, arrow::InputStream& ipc_stream,
                                     const ProgressCallback& progress) {
  auto context = impl_->Context(false);
  auto call = impl_->stub().DoPut(context.get());
  // The local reason to stop sending, if any; the server's otherwise.
  Status local;
  int64_t sent = 0;
  bool first = true;
  for (;;) {
    auto message = arrow::ipc::ReadMessage(ipc_stream, arrow::ipc::IpcReadOptions{});
    if (!message.ok()) {
      local = message.status().WithContext("reading the stream to upload");
      break;
    }
    if (!*message) {
      if (first) local = Status::InvalidArgument("the stream to upload holds no message");
      break;
    }
    fproto::FlightData data;
    if (first) *data.mutable_flight_descriptor() = DescriptorFor(resource);
    ToFlightData({(*message)->metadata, (*message)->body}, data);
    auto size = static_cast<int64_t>(data.ByteSizeLong());
    if (size > kMaxFlightDataBytes) {
      local = Status::OutOfRange("an IPC message of " + std::to_string(size) +
                                 " bytes does not fit in a FlightData of at most " +
                                 std::to_string(kMaxFlightDataBytes) +
                                 " bytes (gRPC's default limit): write smaller record batches");
      break;
    }
    first = false;
    // A failed write means the server ended the call; its status says why.
    if (!call->Write(data)) break;
    sent += size;
    if (progress) progress(sent);
  }
  if (!local.ok()) {
    context->TryCancel();
    (void)call->Finish();
    return local;
  }
  call->WritesDone();
  fproto::PutResult result;
  bool answered = call->Read(&result);
  fproto::PutResult extra;
  while (call->Read(&extra)) {
  }
  grpc::Status status = call->Finish();
  if (!status.ok()) return CallFailed(status, "DoPut " + resource.ToTarget());
  if (!answered) {
    return Status::InvalidData("Flight DoPut " + resource.ToTarget() +
                               ": the server completed the call without a PutResult");
  }
  StreamInfo info;
  info.resource = resource;
  info.app_metadata_json = result.app_metadata();
  return info;
}

Status FlightClient::Delete(const Resource& resource) {
  return DoAction(kDropAction, resource.ToTarget()).status();
}

Result<std::string> FlightClient::DoAction(std::string_view type, std::string_view body) {
  auto context = impl_->Context(true);
  fproto::Action action;
  action.set_type(std::string(type));
  action.set_body(std::string(body));
  auto reader = impl_->stub().DoAction(context.get(), action);
  std::string bodies;
  fproto::Result result;
  while (reader->Read(&result)) bodies += result.body();
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallFailed(status, "DoAction " + std::string(type));
  return bodies;
}

Result<StreamInfo> FlightClient::GetFlightInfo(const Resource& resource) {
  auto context = impl_->Context(true);
  fproto::FlightInfo flight;
  grpc::Status status =
      impl_->stub().GetFlightInfo(context.get(), DescriptorFor(resource), &flight);
  if (!status.ok()) return CallFailed(status, "GetFlightInfo " + resource.ToTarget());
  auto info = FromFlightInfo(flight);
  if (!info.ok()) return info.status().WithContext("GetFlightInfo " + resource.ToTarget());
  return info;
}

Result<std::shared_ptr<const arrow::Schema>> FlightClient::GetSchema(const Resource& resource) {
  auto context = impl_->Context(true);
  fproto::SchemaResult schema;
  grpc::Status status = impl_->stub().GetSchema(context.get(), DescriptorFor(resource), &schema);
  if (!status.ok()) return CallFailed(status, "GetSchema " + resource.ToTarget());
  auto decoded = DecodeSchema(schema.schema());
  if (!decoded.ok()) return decoded.status().WithContext("GetSchema " + resource.ToTarget());
  if (!*decoded) {
    return Status::InvalidData("Flight GetSchema " + resource.ToTarget() +
                               ": the server sent no schema");
  }
  return decoded;
}

Result<std::vector<ActionType>> FlightClient::ListActions() {
  auto context = impl_->Context(true);
  auto reader = impl_->stub().ListActions(context.get(), fproto::Empty());
  std::vector<ActionType> actions;
  fproto::ActionType action;
  while (reader->Read(&action)) actions.push_back({action.type(), action.description()});
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallFailed(status, "ListActions");
  return actions;
}

Result<std::string> FlightClient::Handshake(std::string_view payload) {
  auto context = impl_->Context(true);
  auto stream = impl_->stub().Handshake(context.get());
  fproto::HandshakeRequest request;
  request.set_payload(std::string(payload));
  stream->Write(request);
  stream->WritesDone();
  fproto::HandshakeResponse response;
  bool answered = stream->Read(&response);
  fproto::HandshakeResponse extra;
  while (stream->Read(&extra)) {
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) return CallFailed(status, "Handshake");
  if (!answered) return Status::InvalidData("Flight Handshake: the server sent no response");
  return response.payload();
}

}  // namespace zkarrow::transport::flight
