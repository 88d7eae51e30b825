// A response on its way to one client: a sequence of encapsulated Arrow IPC
// messages (schema first, dictionaries before the batches that use them),
// pulled by the transport when the client can take more. Pulling is what
// bounds a server's memory per client: nothing is produced for a client
// faster than it reads, and a live stream that a client does not keep up
// with fails (the transport closes it with the reason) instead of growing.
//
// Transports are asynchronous (gRPC's asynchronous API, asio): Next() never
// blocks. A stream with nothing to send (a live stream between changes, a
// query still running) says kPending and calls the wakeup it was given
// when it has more, from whatever thread produced it. HTTP sends its
// response headers with the first message, so a stream that fails before
// it is answered with its error's status; a live stream therefore has its
// schema ready at once (its client sees the headers before any change).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "arrow/ipc/encapsulated.h"
#include "base/status.h"

namespace zkarrow::transport {

using IpcMessage = arrow::ipc::EncapsulatedMessage;

// Every message a server sends must fit gRPC's default 4 MiB message limit
// (Flight clients of every language keep it): the batches a server makes
// (the tree, its changes, a query's result) are cut at this many rows or
// variable-length bytes, whichever comes first.
inline constexpr int64_t kServedBatchRows = 8192;
inline constexpr int64_t kServedBatchBytes = int64_t{2} << 20;

class MessageStream {
 public:
  enum class Poll : uint8_t { kMessage, kPending, kEnd };
  virtual ~MessageStream() = default;

  // kMessage: *out is the next message. kPending: nothing yet; call
  // NotifyWhenReady. kEnd: the stream is complete (transports
  // end it in their own way: the end-of-stream marker, the end of the call).
  // An error ends the stream too; the client must be able to tell it from a
  // complete one (HTTP: no end-of-stream marker; Flight: the call's status).
  virtual Result<Poll> Next(IpcMessage* out) = 0;

  // After kPending: `wakeup` is called once, on any thread (possibly before
  // this returns), when Next() may have more. Streams that never return
  // kPending need not override this.
  virtual void NotifyWhenReady(std::function<void()> wakeup) { wakeup(); }

  // The client went away; a live stream unsubscribes and drops what it
  // holds. Next() is not called afterwards.
  virtual void Cancel() {}
};

// A finite stream over messages already encoded (shared, not copied).
class VectorMessageStream final : public MessageStream {
 public:
  explicit VectorMessageStream(std::shared_ptr<const std::vector<IpcMessage>> messages)
      : messages_(std::move(messages)) {}
  Result<Poll> Next(IpcMessage* out) override {
    if (next_ >= messages_->size()) return Poll::kEnd;
    *out = (*messages_)[next_++];
    return Poll::kMessage;
  }

 private:
  std::shared_ptr<const std::vector<IpcMessage>> messages_;
  size_t next_ = 0;
};

}  // namespace zkarrow::transport
