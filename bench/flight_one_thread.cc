#include "flight_one_thread.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "flight.grpc.pb.h"
#include "transport/flight/flight_codec.h"

namespace zkarrow::bench {

namespace {

using Clock = std::chrono::steady_clock;
namespace flight = transport::flight;

// The FlightData of one DoGet, checked and framed as FlightClient's stream
// does it (ParseFlightData, FlightDataInput's parts), read back as the IPC
// stream once the call has ended.
class ReceivedDoGet final : public flight::FlightDataInput {
 public:
  Status Add(grpc::ByteBuffer& data) {
    int64_t framed_size = 0;
    auto message = flight::ParseFlightData(data, &framed_size);
    if (!message.ok()) return message.status();
    if (!*message) return Status::Ok();
    return parts().Push(**message);
  }
  void End() { parts().PushBytes(flight::EndOfStreamBytes()); }

 private:
  Status Fill() override {
    set_ended();
    return Status::Ok();
  }
};

}  // namespace

Result<OneThreadRun> FlightSmallOnOneThread(
    const std::string& address, int clients, int requests, const std::vector<std::string>& leaves,
    const std::function<void(std::unique_ptr<arrow::InputStream>)>& decode) {
  struct Client {
    std::unique_ptr<flight::RawDoGet> do_get;
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientAsyncReader<grpc::ByteBuffer>> reader;
    grpc::ByteBuffer data;
    grpc::Status status;
    std::unique_ptr<ReceivedDoGet> received;
    Status received_status;
    enum class Step { kStart, kRead, kFinish } step = Step::kStart;
    int issued = 0;
    Clock::time_point begin;
  };
  grpc::CompletionQueue queue;
  std::vector<Client> calls(static_cast<size_t>(clients));
  OneThreadRun run;
  for (auto& call : calls) {
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                             flight::ClientChannelArguments());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return Status::Unavailable("cannot connect to the Flight server at " + address +
                                 " within 10 s");
    }
    call.do_get = std::make_unique<flight::RawDoGet>(channel);
  }
  int active = clients;
  // Starts the client's next DoGet, if any is left.
  auto start_next = [&](size_t c) {
    Client& call = calls[c];
    if (call.issued == requests) {
      --active;
      return;
    }
    transport::Resource resource;
    resource.segments = {"znodes"};
    resource.params["path"] =
        leaves[static_cast<size_t>(static_cast<int>(c) * requests + call.issued) % leaves.size()];
    ++call.issued;
    call.reader.reset();  // before the context it uses
    call.context = std::make_unique<grpc::ClientContext>();
    call.received = std::make_unique<ReceivedDoGet>();
    call.received_status = Status::Ok();
    call.step = Client::Step::kStart;
    call.begin = Clock::now();
    flight::fproto::Ticket ticket;
    ticket.set_ticket(resource.ToTarget());
    call.reader = call.do_get->Prepare(*call.context, ticket, queue);
    call.reader->StartCall(&call);
  };
  auto start = Clock::now();
  for (size_t c = 0; c < calls.size(); ++c) start_next(c);
  while (active > 0) {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) break;
    Client& call = *static_cast<Client*>(tag);
    const auto c = static_cast<size_t>(&call - calls.data());
    if (call.step == Client::Step::kFinish) {
      if (call.status.ok() && call.received_status.ok()) {
        call.received->End();
        decode(std::move(call.received));
        run.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - call.begin).count());
      } else {
        ++run.failures;
      }
      start_next(c);
      continue;
    }
    // StartCall or a Read completed: a failed one ends the stream.
    if (ok && call.step == Client::Step::kRead) {
      call.received_status = call.received->Add(call.data);
      if (!call.received_status.ok()) call.context->TryCancel();
    }
    if (ok && call.received_status.ok()) {
      call.step = Client::Step::kRead;
      call.data.Clear();
      call.reader->Read(&call.data, &call);
    } else {
      call.step = Client::Step::kFinish;
      call.reader->Finish(&call.status, &call);
    }
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
  return run;
}

}  // namespace zkarrow::bench
