// The connection engine behind Client: one I/O thread that owns the socket,
// establishes and keeps the ZooKeeper session across servers, pipelines
// requests, matches replies to them, sends pings, re-registers watches after
// a reconnection and dispatches watch events. It deals in encoded request
// bodies and raw reply bodies; Client does the encoding and decoding.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "zk/client.h"
#include "zk/connect_string.h"
#include "zk/frame_decoder.h"
#include "zk/protocol.h"
#include "zk/sasl.h"
#include "zk/socket.h"
#include "zk/tls.h"
#include "zk/watch_registry.h"

namespace zkarrow::zk {

// A reply the server sent for a request; `error` may be non-OK (NONODE...).
struct Reply {
  ErrorCode error = ErrorCode::OK;
  int64_t zxid = 0;
  std::span<const uint8_t> body;  // valid only during the handler call
};

// Receives the reply, or a Status when none will come: CONNECTIONLOSS (a
// write whose outcome is unknown), SESSIONEXPIRED, kCancelled (closed),
// kOutOfRange (reply too large). Runs on the I/O thread.
using ReplyHandler = std::function<void(Result<Reply>)>;

struct Request {
  OpCode op = OpCode::kGetData;
  std::vector<uint8_t> body;
  // Reads are resent after a connection loss; writes are not.
  bool idempotent = false;
  ReplyHandler on_reply;
};

class Session {
 public:
  // Starts the I/O thread and waits for the first session.
  static Result<std::unique_ptr<Session>> Start(ClientOptions options);

  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Thread-safe. Blocks while max_in_flight requests are outstanding, unless
  // called on the I/O thread. op kAuth registers an identity to resend on
  // every reconnection.
  void Submit(Request request);

  // Sends closeSession (if connected), then stops the I/O thread.
  void Close();

  // Only on the I/O thread (i.e. inside a ReplyHandler).
  WatchRegistry& watches() { return watches_; }

  const std::string& chroot() const { return chroot_; }
  int64_t session_id() const { return session_id_.load(); }
  std::chrono::milliseconds negotiated_timeout() const {
    return std::chrono::milliseconds(negotiated_timeout_ms_.load());
  }
  std::string connected_server() const;
  std::string connection_security() const;
  // The highest zxid in any reply so far: for a read, the server's last
  // applied transaction when it answered (watch notifications carry none in
  // ZooKeeper 3.8; from 3.9 their zxid counts once their listeners have
  // returned, never before).
  int64_t last_zxid() const { return last_zxid_.load(); }
  size_t max_response_bytes() const { return options_.max_response_bytes; }

 private:
  using Clock = std::chrono::steady_clock;

  // A connection goes through TCP connect, the TLS handshake (with TLS), the
  // session handshake (ConnectRequest/ConnectResponse) and the SASL exchange
  // (with SASL); requests wait in unsent_ until it is kConnected.
  enum class Phase {
    kIdle,
    kTcpConnecting,
    kTlsHandshaking,
    kHandshaking,
    kSaslAuthenticating,
    kConnected,
    kTerminal
  };

  struct InFlight {
    int32_t xid = 0;
    Request request;
  };
  struct AuthEntry {
    std::vector<uint8_t> packet;
    ReplyHandler on_reply;  // until the first reply; null afterwards
  };

  Session(ClientOptions options, ConnectString servers, Waker waker,
          std::shared_ptr<const TlsContext> tls_context);

  void Run();
  void DrainSubmissions();
  void Enqueue(Request request);
  void Send(Request request);
  void SendAuth(size_t index);
  void SendSetWatches();
  void SendPing();
  void AppendFrame(int32_t xid, OpCode op, std::span<const uint8_t> body);

  void StartConnecting();
  void OnTcpConnected();
  void AdvanceTlsHandshake();
  void SendConnectRequest();
  void StartSasl();
  void SendSaslToken(std::span<const uint8_t> token);
  void OnSaslReply(const Frame& frame);
  // The connection is ready for requests: identities, watches, what waited.
  void FinishConnecting();
  // Closes the socket (and its TLS and SASL state) and drops unsent bytes.
  void CloseSocket();
  Result<IoResult> ReadSocket(std::span<uint8_t> buffer);
  Result<IoResult> WriteSocket(std::span<const uint8_t> bytes);
  // The attempt to reach current_server_ failed; try the next one.
  void ConnectFailed(const Status& reason);
  // An I/O error: Disconnect when connected, else ConnectFailed.
  void LoseConnection(const Status& reason);
  void OnConnectResponse(const Frame& frame);
  void HandleSocket(short revents);
  void ReadAvailable();
  void FlushOut();
  void HandleFrame(const Frame& frame);
  void HandleReply(const ReplyHeader& header, std::span<const uint8_t> body, const Frame& frame);
  void HandleNotification(int64_t zxid, std::span<const uint8_t> body);
  void AdvanceLastZxid(int64_t zxid);
  void CheckTimers();
  int PollTimeoutMs() const;

  // Connection lost: resend reads, fail writes, try the next server (after a
  // delay if it answered none of the requests that waited on it, or give the
  // session up after too many such in a row).
  void Disconnect(const Status& reason);
  // Why the session was given up after connections that answered nothing.
  Status UnansweredConnectionsError() const;
  // The session is over; everything pending fails with `status`.
  void Terminate(SessionState state, const Status& status);
  void Complete(ReplyHandler& handler, Result<Reply> outcome);
  void Notify(SessionState state, const Status& reason);

  bool OnIoThread() const { return std::this_thread::get_id() == io_thread_id_.load(); }
  std::chrono::milliseconds ReadTimeout() const { return negotiated_timeout() * 2 / 3; }

  const ClientOptions options_;
  const std::vector<HostPort> servers_;
  const std::string chroot_;
  const Waker waker_;
  const std::shared_ptr<const TlsContext> tls_context_;  // null: plain TCP

  // Shared with submitting threads.
  mutable std::mutex mutex_;
  std::condition_variable window_cv_;
  std::condition_variable phase_cv_;
  std::deque<Request> submissions_;
  int in_flight_ = 0;
  bool stop_ = false;
  bool ever_connected_ = false;
  Status terminal_status_;  // non-OK once the session is over
  Status last_connect_error_;
  std::string connected_server_;
  std::string connection_security_;  // the TLS version and cipher, or ""
  std::atomic<int64_t> session_id_{0};
  std::atomic<int64_t> negotiated_timeout_ms_{0};

  // I/O thread only.
  Phase phase_ = Phase::kIdle;
  UniqueFd socket_;
  std::unique_ptr<TlsConnection> tls_;
  std::unique_ptr<SaslClient> sasl_;
  int32_t sasl_xid_ = 0;
  bool session_read_only_ = false;
  // ReadAvailable stopped with input left: poll must not wait for more.
  bool read_budget_exhausted_ = false;
  std::string current_server_;
  std::string current_host_;
  // Attempts of this cycle that failed for a reason retrying cannot fix
  // (kUnauthenticated: an untrusted certificate, refused credentials).
  size_t refusals_in_cycle_ = 0;
  size_t next_server_ = 0;
  size_t attempts_in_cycle_ = 0;
  Clock::time_point retry_at_;
  std::chrono::milliseconds attempt_timeout_{0};  // of the connection attempt in progress
  Clock::time_point attempt_deadline_;
  Clock::time_point last_send_;
  Clock::time_point last_receive_;
  // When the last connection that answered something (or had nothing to
  // answer) was lost: the session-expiry clock.
  Clock::time_point disconnected_since_;
  // Whether this connection answered one of our requests or pings yet.
  bool answered_on_connection_ = false;
  // Connections in a row lost with requests waiting and none answered, and
  // why the last one was lost.
  int unanswered_drops_ = 0;
  Status last_drop_reason_;
  std::mt19937 jitter_{std::random_device{}()};
  std::vector<uint8_t> session_password_ = std::vector<uint8_t>(kPasswordSize);
  std::atomic<int64_t> last_zxid_{0};  // written by the I/O thread only
  int32_t next_xid_ = 1;
  FrameDecoder decoder_;
  std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(64 * 1024);
  std::vector<uint8_t> out_;
  size_t out_offset_ = 0;
  std::deque<Request> unsent_;
  std::deque<InFlight> awaiting_;
  std::vector<AuthEntry> auths_;
  std::deque<size_t> auth_replies_due_;  // indexes into auths_, in send order
  WatchRegistry watches_;

  std::atomic<std::thread::id> io_thread_id_;
  std::thread io_thread_;
};

}  // namespace zkarrow::zk
