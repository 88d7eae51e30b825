#include "zk/session.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <future>
#include <random>
#include <utility>

namespace zkarrow::zk {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// After every server of the ensemble refused us once, wait this long before
// the next round so an ensemble that is down does not make us spin.
constexpr milliseconds kRetryBackoff{200};
// A connection lost while requests waited, before it answered any of them,
// is likely to be lost again the same way: the resent requests go first, and
// a server drops a client whose packet passes its jute.maxbuffer. After each
// such loss we wait a random delay in [d/2, d] (jitter, so that many clients
// do not come back in step, as the Java client's random sleep), d doubling
// from kDropBackoff up to kMaxDropBackoff, and after kMaxUnansweredConnections
// in a row we give the session up instead of reconnecting for ever.
constexpr milliseconds kDropBackoff{250};
constexpr milliseconds kMaxDropBackoff{2000};
constexpr int kMaxUnansweredConnections = 5;
// A single connection attempt (TCP connect and handshake) gets at least this.
constexpr milliseconds kMinAttemptTimeout{500};
// setWatches2 packets stay below this size, as the Java client's do.
constexpr size_t kMaxSetWatchesBytes = 128 * 1024;
// How long Close waits for the server to confirm closeSession.
constexpr milliseconds kCloseTimeout{3000};
// How often Start asks ClientOptions::abandon_connect.
constexpr milliseconds kAbandonPoll{50};

std::string Millis(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

Result<std::unique_ptr<Session>> Session::Start(ClientOptions options) {
  ZKA_ASSIGN_OR_RETURN(ConnectString servers, ParseConnectString(options.connect_string));
  if (options.max_in_flight < 1) {
    return Status::InvalidArgument("max_in_flight must be at least 1");
  }
  if (options.session_timeout.count() <= 0 || options.session_timeout.count() > INT32_MAX) {
    return Status::InvalidArgument("session_timeout out of range");
  }
  std::shared_ptr<const TlsContext> tls_context;
  if (options.tls) {
    ZKA_ASSIGN_OR_RETURN(tls_context, TlsContext::Create(*options.tls));
  }
  if (options.sasl) ZKA_RETURN_IF_ERROR(SaslClient::Check(*options.sasl));
  ZKA_ASSIGN_OR_RETURN(Waker waker, Waker::Create());
  // Spread clients over the ensemble.
  std::shuffle(servers.servers.begin(), servers.servers.end(),
               std::mt19937(std::random_device{}()));
  std::unique_ptr<Session> session(new Session(std::move(options), std::move(servers),
                                               std::move(waker), std::move(tls_context)));
  Session* raw = session.get();
  session->io_thread_ = std::thread([raw] { raw->Run(); });

  std::unique_lock lock(session->mutex_);
  const auto deadline = Clock::now() + session->options_.connect_timeout;
  bool abandoned = false;
  while (!session->ever_connected_ && session->terminal_status_.ok() && Clock::now() < deadline) {
    if (session->options_.abandon_connect) {
      // Unlocked: the caller's function may do anything.
      lock.unlock();
      abandoned = session->options_.abandon_connect();
      lock.lock();
      if (abandoned) break;
    }
    session->phase_cv_.wait_until(lock, session->options_.abandon_connect
                                            ? std::min(deadline, Clock::now() + kAbandonPoll)
                                            : deadline);
  }
  if (session->ever_connected_) return session;
  Status error = session->terminal_status_;
  // An attempt still waiting for its server has not failed yet: when none
  // did, there is no last error to name.
  const std::string last_error = session->last_connect_error_.ok()
                                     ? "no connection attempt got an answer"
                                     : "last error: " + session->last_connect_error_.ToString();
  if (error.ok() && abandoned) {
    error = Status::Cancelled("gave up connecting to '" + session->options_.connect_string +
                              "' before a session was granted; " + last_error);
  } else if (error.ok()) {
    error = Status::Timeout("no server of '" + session->options_.connect_string +
                            "' granted a session within " +
                            Millis(session->options_.connect_timeout) + "; " + last_error);
  }
  lock.unlock();
  session->Close();
  return error;
}

Session::Session(ClientOptions options, ConnectString servers, Waker waker,
                 std::shared_ptr<const TlsContext> tls_context)
    : options_(std::move(options)),
      servers_(std::move(servers.servers)),
      chroot_(std::move(servers.chroot)),
      waker_(std::move(waker)),
      tls_context_(std::move(tls_context)),
      decoder_(options_.max_response_bytes) {
  for (const auto& [scheme, credential] : options_.auth) {
    auths_.push_back({EncodeAuthPacket(scheme, credential), nullptr});
  }
}

Session::~Session() { Close(); }

std::string Session::connected_server() const {
  std::lock_guard lock(mutex_);
  return connected_server_;
}

std::string Session::connection_security() const {
  std::lock_guard lock(mutex_);
  return connection_security_;
}

void Session::Submit(Request request) {
  // What the server measures against jute.maxbuffer: xid, type and body.
  const size_t packet_bytes = 8 + request.body.size();
  if (packet_bytes > options_.max_request_bytes) {
    if (request.on_reply) {
      request.on_reply(Status::OutOfRange(
          "a request of " + std::to_string(packet_bytes) + " bytes exceeds max_request_bytes (" +
          std::to_string(options_.max_request_bytes) + ", the server's jute.maxbuffer)"));
    }
    return;
  }
  std::unique_lock lock(mutex_);
  if (!OnIoThread()) {
    window_cv_.wait(lock, [&] {
      return in_flight_ < options_.max_in_flight || !terminal_status_.ok() || stop_;
    });
  }
  if (!terminal_status_.ok() || stop_) {
    Status status =
        terminal_status_.ok() ? Status::Cancelled("the client was closed") : terminal_status_;
    lock.unlock();
    if (request.on_reply) request.on_reply(std::move(status));
    return;
  }
  ++in_flight_;
  submissions_.push_back(std::move(request));
  lock.unlock();
  waker_.Wake();
}

void Session::Close() {
  if (!io_thread_.joinable()) return;
  bool connected = false;
  {
    std::lock_guard lock(mutex_);
    connected = !connected_server_.empty() && terminal_status_.ok() && !stop_;
  }
  if (connected) {
    auto closed = std::make_shared<std::promise<void>>();
    std::future<void> done = closed->get_future();
    Submit({OpCode::kCloseSession, {}, false, [closed](Result<Reply>) { closed->set_value(); }});
    done.wait_for(std::min(kCloseTimeout, negotiated_timeout()));
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  window_cv_.notify_all();
  waker_.Wake();
  io_thread_.join();
}

void Session::Run() {
  io_thread_id_ = std::this_thread::get_id();
  retry_at_ = Clock::now();
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stop_) break;
    }
    DrainSubmissions();
    if (phase_ == Phase::kIdle && Clock::now() >= retry_at_) StartConnecting();
    FlushOut();

    pollfd fds[2] = {{waker_.fd(), POLLIN, 0}, {socket_.get(), 0, 0}};
    if (phase_ == Phase::kTcpConnecting) {
      fds[1].events = POLLOUT;
    } else if (phase_ == Phase::kTlsHandshaking) {
      fds[1].events = tls_->wants_write() ? POLLOUT : POLLIN;
    } else {
      fds[1].events = static_cast<short>(POLLIN | (out_offset_ < out_.size() ? POLLOUT : 0));
    }
    nfds_t count = socket_.valid() ? 2 : 1;
    int ready = ::poll(fds, count, PollTimeoutMs());
    if (ready < 0 && errno != EINTR) {
      LoseConnection(Status::FromErrno(errno, "poll"));
      continue;
    }
    if (ready > 0 && fds[0].revents != 0) waker_.Drain();
    // Input the last read pass left behind (in OpenSSL's buffer poll() shows
    // no POLLIN, and poll may have returned 0 on its zero timeout).
    short revents = ready > 0 ? fds[1].revents : 0;
    if (read_budget_exhausted_) revents |= POLLIN;
    if (count == 2 && revents != 0) HandleSocket(revents);
    CheckTimers();
  }
  Terminate(SessionState::kClosed, Status::Cancelled("the client was closed"));
}

void Session::DrainSubmissions() {
  std::deque<Request> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(submissions_);
  }
  for (Request& request : batch) Enqueue(std::move(request));
}

void Session::Enqueue(Request request) {
  if (request.op == OpCode::kAuth) {
    auths_.push_back({std::move(request.body), std::move(request.on_reply)});
    if (phase_ == Phase::kConnected) SendAuth(auths_.size() - 1);
    return;
  }
  if (phase_ == Phase::kConnected) {
    Send(std::move(request));
  } else {
    unsent_.push_back(std::move(request));
  }
}

void Session::Send(Request request) {
  int32_t xid = next_xid_;
  next_xid_ = next_xid_ == INT32_MAX ? 1 : next_xid_ + 1;
  AppendFrame(xid, request.op, request.body);
  awaiting_.push_back({xid, std::move(request)});
}

void Session::SendAuth(size_t index) {
  AppendFrame(kAuthXid, OpCode::kAuth, auths_[index].packet);
  auth_replies_due_.push_back(index);
}

void Session::SendSetWatches() {
  using Kind = WatchRegistry::Kind;
  constexpr Kind kKinds[] = {Kind::kData, Kind::kExist, Kind::kChild, Kind::kPersistent,
                             Kind::kPersistentRecursive};
  std::vector<std::string> lists[5];
  size_t bytes = 0;
  auto flush = [&] {
    if (bytes == 0) return;
    AppendFrame(kSetWatchesXid, OpCode::kSetWatches2,
                EncodeSetWatches2(last_zxid_, lists[0], lists[1], lists[2], lists[3], lists[4]));
    for (auto& list : lists) list.clear();
    bytes = 0;
  };
  for (size_t k = 0; k < 5; ++k) {
    for (const std::string& path : watches_.Paths(kKinds[k])) {
      lists[k].push_back(ApplyChroot(chroot_, path));
      bytes += lists[k].back().size() + 4;
      if (bytes >= kMaxSetWatchesBytes) flush();
    }
  }
  flush();
}

void Session::SendPing() { AppendFrame(kPingXid, OpCode::kPing, {}); }

void Session::AppendFrame(int32_t xid, OpCode op, std::span<const uint8_t> body) {
  std::vector<uint8_t> frame = EncodeRequestFrame(xid, op, body);
  out_.insert(out_.end(), frame.begin(), frame.end());
}

void Session::StartConnecting() {
  if (attempts_in_cycle_ >= servers_.size()) {
    bool ever_connected;
    {
      std::lock_guard lock(mutex_);
      ever_connected = ever_connected_;
    }
    // Every server refused us for a reason that retrying cannot fix: say so
    // now rather than when the connect timeout runs out.
    if (refusals_in_cycle_ == servers_.size() && !ever_connected) {
      Status reason;
      {
        std::lock_guard lock(mutex_);
        reason = last_connect_error_;
      }
      Terminate(SessionState::kAuthFailed, reason);
      return;
    }
    attempts_in_cycle_ = 0;
    refusals_in_cycle_ = 0;
    retry_at_ = Clock::now() + kRetryBackoff;
    return;
  }
  const HostPort& server = servers_[next_server_ % servers_.size()];
  ++next_server_;
  ++attempts_in_cycle_;
  current_server_ = server.ToString();
  current_host_ = server.host;
  attempt_timeout_ = std::max(kMinAttemptTimeout,
                              options_.session_timeout / static_cast<int64_t>(servers_.size()));
  attempt_deadline_ = Clock::now() + attempt_timeout_;
  Result<PendingConnect> pending = zk::StartConnect(server);
  if (!pending.ok()) {
    ConnectFailed(pending.status());
    return;
  }
  socket_ = std::move(pending->fd);
  if (pending->in_progress) {
    phase_ = Phase::kTcpConnecting;
  } else {
    OnTcpConnected();
  }
}

void Session::OnTcpConnected() {
  if (!tls_context_) {
    SendConnectRequest();
    return;
  }
  Result<std::unique_ptr<TlsConnection>> tls =
      TlsConnection::Start(*tls_context_, socket_.get(), current_host_);
  if (!tls.ok()) {
    ConnectFailed(tls.status());
    return;
  }
  tls_ = std::move(*tls);
  phase_ = Phase::kTlsHandshaking;
  AdvanceTlsHandshake();
}

void Session::AdvanceTlsHandshake() {
  Result<bool> done = tls_->Handshake();
  if (!done.ok()) {
    ConnectFailed(done.status());
  } else if (*done) {
    SendConnectRequest();
  }
}

void Session::SendConnectRequest() {
  ConnectRequest request;
  request.last_zxid_seen = last_zxid_;
  request.timeout_ms = static_cast<int32_t>(options_.session_timeout.count());
  request.session_id = session_id_.load();
  request.password = session_password_;
  request.read_only = options_.read_only;
  std::vector<uint8_t> frame = EncodeConnectRequest(request);
  out_.assign(frame.begin(), frame.end());
  out_offset_ = 0;
  decoder_.Reset();
  phase_ = Phase::kHandshaking;
}

void Session::OnConnectResponse(const Frame& frame) {
  if (frame.oversized) {
    ConnectFailed(Status::InvalidData("oversized connect response"));
    return;
  }
  Result<ConnectResponse> response = DecodeConnectResponse(frame.payload);
  if (!response.ok()) {
    ConnectFailed(response.status());
    return;
  }
  if (response->timeout_ms <= 0) {
    Terminate(SessionState::kExpired,
              ZooKeeperError(ErrorCode::SESSIONEXPIRED, "", "",
                             "server " + current_server_ + " reports the session expired"));
    return;
  }
  // A new session's expiry clock starts now: it runs whenever the session is
  // not connected, and it is not yet while SASL runs.
  if (session_id_.load() == 0) disconnected_since_ = Clock::now();
  session_id_ = response->session_id;
  session_password_ = response->password;
  negotiated_timeout_ms_ = response->timeout_ms;
  session_read_only_ = response->read_only;
  if (options_.sasl) {
    StartSasl();
  } else {
    FinishConnecting();
  }
}

void Session::StartSasl() {
  // A failure on our side (no Kerberos ticket, KDC unreachable) is a
  // refused connection: the first connect ends once every server refused,
  // a resumed session tries again until it expires.
  Result<std::unique_ptr<SaslClient>> sasl = SaslClient::Start(*options_.sasl, current_host_);
  if (!sasl.ok()) {
    ConnectFailed(sasl.status());
    return;
  }
  sasl_ = std::move(*sasl);
  phase_ = Phase::kSaslAuthenticating;
  SendSaslToken(sasl_->initial_token());
}

void Session::SendSaslToken(std::span<const uint8_t> token) {
  sasl_xid_ = next_xid_;
  next_xid_ = next_xid_ == INT32_MAX ? 1 : next_xid_ + 1;
  AppendFrame(sasl_xid_, OpCode::kSasl, EncodeSaslRequest(token));
}

void Session::OnSaslReply(const Frame& frame) {
  const std::string who = "SASL " + sasl_->mechanism() +
                          (options_.sasl->user.empty() ? "" : " as " + options_.sasl->user) +
                          " with " + current_server_;
  JuteReader reader(frame.payload);
  ReplyHeader header = ReadReplyHeader(reader);
  if (!reader.ok() || frame.oversized || header.xid != sasl_xid_) {
    ConnectFailed(Status::InvalidData(
        who + ": expected the reply to xid " + std::to_string(sasl_xid_) + ", found " +
        (reader.ok() && !frame.oversized
             ? "xid " + std::to_string(header.xid)
             : "a malformed frame of " + std::to_string(frame.length) + " bytes")));
    return;
  }
  if (header.err != 0) {
    auto code = static_cast<ErrorCode>(header.err);
    Terminate(SessionState::kAuthFailed,
              Status::Unauthenticated(who + " failed: the server answered " +
                                      std::string(ErrorCodeName(code)) +
                                      " (wrong user or password, or an unknown principal)"));
    return;
  }
  Result<std::vector<uint8_t>> token =
      DecodeSaslResponse(std::span(frame.payload).subspan(reader.offset()));
  if (!token.ok()) {
    ConnectFailed(token.status().WithContext(who));
    return;
  }
  if (sasl_->complete()) {
    FinishConnecting();
    return;
  }
  Result<std::vector<uint8_t>> answer = sasl_->Step(*token);
  if (!answer.ok()) {
    ConnectFailed(answer.status().WithContext(who));
    return;
  }
  if (sasl_->complete() && answer->empty()) {
    FinishConnecting();
  } else {
    SendSaslToken(*answer);
  }
}

void Session::FinishConnecting() {
  sasl_.reset();
  phase_ = Phase::kConnected;
  answered_on_connection_ = false;
  attempts_in_cycle_ = 0;
  refusals_in_cycle_ = 0;
  last_receive_ = last_send_ = Clock::now();
  {
    std::lock_guard lock(mutex_);
    ever_connected_ = true;
    connected_server_ = current_server_;
    connection_security_ = tls_ ? tls_->Description() : "";
  }
  phase_cv_.notify_all();
  // Identities first, so that the requests after them are authorized.
  for (size_t i = 0; i < auths_.size(); ++i) SendAuth(i);
  SendSetWatches();
  std::deque<Request> pending = std::move(unsent_);
  unsent_.clear();
  for (Request& request : pending) Send(std::move(request));
  Notify(session_read_only_ ? SessionState::kConnectedReadOnly : SessionState::kConnected,
         Status::Ok());
}

void Session::HandleSocket(short revents) {
  if (phase_ == Phase::kTcpConnecting) {
    Status connected = FinishConnect(socket_.get());
    if (connected.ok()) {
      OnTcpConnected();
    } else {
      ConnectFailed(connected);
    }
    return;
  }
  if (phase_ == Phase::kTlsHandshaking) {
    AdvanceTlsHandshake();
    return;
  }
  if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) ReadAvailable();
  if (socket_.valid() && (revents & POLLOUT) != 0) FlushOut();
}

Result<IoResult> Session::ReadSocket(std::span<uint8_t> buffer) {
  return tls_ ? tls_->Read(buffer) : ReadSome(socket_.get(), buffer);
}

Result<IoResult> Session::WriteSocket(std::span<const uint8_t> bytes) {
  return tls_ ? tls_->Write(bytes) : WriteSome(socket_.get(), bytes);
}

void Session::ReadAvailable() {
  // Bounded, so that a fast stream cannot starve timers and submissions;
  // what is left is read after the next poll, which then does not wait.
  read_budget_exhausted_ = true;
  for (int round = 0; round < 16; ++round) {
    Result<IoResult> read = ReadSocket(read_buffer_);
    if (!read.ok()) {
      LoseConnection(read.status());
      return;
    }
    if (read->would_block) {
      read_budget_exhausted_ = false;
      return;
    }
    if (read->bytes == 0) {
      LoseConnection(Status::IoError("server " + current_server_ + " closed the connection"));
      return;
    }
    decoder_.Append(std::span(read_buffer_).first(read->bytes));
    for (;;) {
      Result<std::optional<Frame>> frame = decoder_.Next();
      if (!frame.ok()) {
        LoseConnection(frame.status().WithContext("reading from " + current_server_));
        return;
      }
      if (!frame->has_value()) break;
      // Only a whole frame shows the server alive: one trickling a byte at
      // a time must not hold the connection past the read timeout.
      last_receive_ = Clock::now();
      HandleFrame(**frame);
      if (!socket_.valid()) return;
      if ((*frame)->oversized) {
        // What follows it cannot be read (see FrameDecoder); its request, if
        // any, has failed with kOutOfRange, the rest are resent.
        LoseConnection(Status::InvalidData("server " + current_server_ + " announced a frame of " +
                                           std::to_string((*frame)->length) +
                                           " bytes, over max_response_bytes (" +
                                           std::to_string(options_.max_response_bytes) + ")"));
        return;
      }
    }
  }
}

void Session::FlushOut() {
  if (phase_ != Phase::kHandshaking && phase_ != Phase::kSaslAuthenticating &&
      phase_ != Phase::kConnected) {
    return;
  }
  while (out_offset_ < out_.size()) {
    Result<IoResult> written = WriteSocket(std::span(out_).subspan(out_offset_));
    if (!written.ok()) {
      LoseConnection(written.status());
      return;
    }
    if (written->would_block) return;
    out_offset_ += written->bytes;
    last_send_ = Clock::now();
  }
  out_.clear();
  out_offset_ = 0;
}

void Session::HandleFrame(const Frame& frame) {
  if (phase_ == Phase::kHandshaking) {
    OnConnectResponse(frame);
    return;
  }
  if (phase_ == Phase::kSaslAuthenticating) {
    OnSaslReply(frame);
    return;
  }
  JuteReader reader(frame.payload);
  ReplyHeader header = ReadReplyHeader(reader);
  if (!reader.ok()) {
    Disconnect(reader.status().WithContext("reply header from " + current_server_));
    return;
  }
  // When a zxid becomes visible in last_zxid() is what makes it a promise
  // (TreeWatcher's settled zxid, serve's state labels): a reply's zxid before
  // its handler runs, so the handler sees the state it was answered from; a
  // notification's (ZooKeeper 3.9+ puts the event's zxid there, 3.8 sends -1)
  // only once its listeners have queued the event, in HandleNotification. A
  // reader that sees Z and then takes the queued events therefore finds every
  // event up to Z: the server sends an event before any reply with a later
  // zxid, and this thread handles frames in order.
  if (header.xid != kNotificationXid) AdvanceLastZxid(header.zxid);
  HandleReply(header, std::span(frame.payload).subspan(reader.offset()), frame);
}

void Session::AdvanceLastZxid(int64_t zxid) {
  if (zxid > last_zxid_) last_zxid_ = zxid;
}

void Session::HandleReply(const ReplyHeader& header, std::span<const uint8_t> body,
                          const Frame& frame) {
  auto oversized = [&] {
    return Status::OutOfRange("reply of " + std::to_string(frame.length) +
                              " bytes exceeds max_response_bytes (" +
                              std::to_string(options_.max_response_bytes) + ")");
  };
  switch (header.xid) {
    case kNotificationXid:
      if (frame.oversized) {
        Disconnect(oversized().WithContext("watch event"));
      } else {
        HandleNotification(header.zxid, body);
      }
      return;
    case kPingXid:
      // A connection that answers pings is alive, even if it has not
      // answered a request yet (a long one may be in progress).
      if (!frame.oversized) answered_on_connection_ = true;
      return;
    case kSetWatchesXid:
      return;
    case kAuthXid: {
      if (auth_replies_due_.empty()) {
        Disconnect(
            Status::InvalidData("auth reply from " + current_server_ + " without an auth request"));
        return;
      }
      AuthEntry& entry = auths_[auth_replies_due_.front()];
      auth_replies_due_.pop_front();
      auto code = static_cast<ErrorCode>(header.err);
      if (entry.on_reply) {
        ReplyHandler handler = std::move(entry.on_reply);
        entry.on_reply = nullptr;
        Complete(handler, Reply{code, header.zxid, {}});
      }
      if (code == ErrorCode::AUTHFAILED) {
        Terminate(SessionState::kAuthFailed,
                  ZooKeeperError(code, "auth", "", "the server rejected the credentials"));
      }
      return;
    }
    default:
      break;
  }
  if (awaiting_.empty() || awaiting_.front().xid != header.xid) {
    std::string expected = awaiting_.empty() ? "none" : std::to_string(awaiting_.front().xid);
    Disconnect(Status::InvalidData("reply from " + current_server_ + " for unknown xid " +
                                   std::to_string(header.xid) + " (expected " + expected + ")"));
    return;
  }
  InFlight entry = std::move(awaiting_.front());
  awaiting_.pop_front();
  answered_on_connection_ = true;
  if (frame.oversized) {
    Complete(entry.request.on_reply, oversized());
    return;
  }
  auto code = static_cast<ErrorCode>(header.err);
  Complete(entry.request.on_reply, Reply{code, header.zxid, body});
  if (code == ErrorCode::SESSIONEXPIRED) {
    Terminate(SessionState::kExpired,
              ZooKeeperError(code, "", "", "the server expired the session"));
  } else if (entry.request.op == OpCode::kCloseSession) {
    Terminate(SessionState::kClosed, Status::Cancelled("the session was closed"));
  }
}

void Session::HandleNotification(int64_t zxid, std::span<const uint8_t> body) {
  Result<RawWatcherEvent> raw = DecodeWatcherEvent(body);
  if (!raw.ok()) {
    Disconnect(raw.status().WithContext("watch event from " + current_server_));
    return;
  }
  WatchEvent event{static_cast<EventType>(raw->type), static_cast<SessionState>(raw->state),
                   StripChroot(chroot_, raw->path)};
  for (WatchListener& listener : watches_.Trigger(event)) {
    if (listener) listener(event);
  }
  AdvanceLastZxid(zxid);  // after the listeners: see HandleFrame
}

void Session::CheckTimers() {
  Clock::time_point now = Clock::now();
  if (phase_ == Phase::kConnected) {
    if (now - last_receive_ >= ReadTimeout()) {
      Disconnect(Status::Timeout("server " + current_server_ + " completed no reply in " +
                                 Millis(ReadTimeout())));
    } else if (now - last_send_ >= negotiated_timeout() / 3 && out_offset_ == out_.size()) {
      SendPing();
    }
    return;
  }
  if (phase_ == Phase::kTerminal) return;
  if (phase_ != Phase::kIdle && now >= attempt_deadline_) {
    // Which step stalled is what tells a TLS or SASL setup problem from a
    // server that is merely slow.
    std::string stalled = phase_ == Phase::kTcpConnecting    ? "the TCP connection was not accepted"
                          : phase_ == Phase::kTlsHandshaking ? "the TLS handshake did not complete"
                          : phase_ == Phase::kSaslAuthenticating
                              ? "the SASL authentication did not complete"
                              : "no session was granted";
    stalled += " within " + Millis(attempt_timeout_);
    if (phase_ == Phase::kTlsHandshaking) {
      stalled += " (is this the server's secureClientPort, and is it TLS?)";
    }
    ConnectFailed(Status::Timeout(stalled));
  }
  if (session_id_.load() != 0 && now - disconnected_since_ >= negotiated_timeout()) {
    // Servers did take the session back, but lost every connection before
    // answering: that, not an expiry, is what to report.
    if (unanswered_drops_ > 0) {
      Terminate(SessionState::kClosed, UnansweredConnectionsError());
      return;
    }
    Terminate(SessionState::kExpired,
              ZooKeeperError(ErrorCode::SESSIONEXPIRED, "", "",
                             "no server took the session back within the " +
                                 Millis(negotiated_timeout()) + " session timeout"));
  }
}

int Session::PollTimeoutMs() const {
  constexpr milliseconds kMaxWait{1000};
  if (read_budget_exhausted_) return 0;
  Clock::time_point now = Clock::now();
  Clock::time_point wake = now + kMaxWait;
  switch (phase_) {
    case Phase::kTerminal:
      return -1;
    case Phase::kIdle:
      wake = std::min(wake, retry_at_);
      break;
    case Phase::kTcpConnecting:
    case Phase::kTlsHandshaking:
    case Phase::kHandshaking:
    case Phase::kSaslAuthenticating:
      wake = std::min(wake, attempt_deadline_);
      break;
    case Phase::kConnected:
      wake = std::min({wake, last_receive_ + ReadTimeout(), last_send_ + negotiated_timeout() / 3});
      break;
  }
  if (phase_ != Phase::kConnected && session_id_.load() != 0) {
    wake = std::min(wake, disconnected_since_ + negotiated_timeout());
  }
  auto wait = duration_cast<milliseconds>(wake - now);
  // Round up, so that the deadline has passed when poll returns.
  return static_cast<int>(std::max<int64_t>(0, wait.count() + 1));
}

void Session::CloseSocket() {
  sasl_.reset();
  tls_.reset();
  socket_.Reset();
  out_.clear();
  out_offset_ = 0;
  decoder_.Reset();
  read_budget_exhausted_ = false;
}

void Session::ConnectFailed(const Status& reason) {
  CloseSocket();
  if (reason.code() == StatusCode::kUnauthenticated) ++refusals_in_cycle_;
  phase_ = Phase::kIdle;
  retry_at_ = Clock::now();
  std::lock_guard lock(mutex_);
  last_connect_error_ = reason.WithContext(current_server_);
}

void Session::LoseConnection(const Status& reason) {
  if (phase_ == Phase::kConnected) {
    Disconnect(reason);
  } else if (phase_ == Phase::kSaslAuthenticating) {
    // ZooKeeper drops a client whose authentication failed.
    ConnectFailed(Status::Unauthenticated(
        "the server closed the connection during SASL authentication (" + reason.message() +
        "); it does so when the credentials are refused"));
  } else if (phase_ != Phase::kTerminal) {
    ConnectFailed(reason);
  }
}

void Session::Disconnect(const Status& reason) {
  const Clock::time_point now = Clock::now();
  if (!awaiting_.empty() && !answered_on_connection_) {
    // The connection did no work: the session-expiry clock keeps running
    // from the last connection that did.
    ++unanswered_drops_;
    last_drop_reason_ = reason;
    if (unanswered_drops_ >= kMaxUnansweredConnections) {
      Terminate(SessionState::kClosed, UnansweredConnectionsError());
      return;
    }
    const milliseconds ceiling =
        std::min(kMaxDropBackoff, kDropBackoff * (int64_t{1} << (unanswered_drops_ - 1)));
    std::uniform_int_distribution<int64_t> delay(ceiling.count() / 2, ceiling.count());
    retry_at_ = now + milliseconds(delay(jitter_));
  } else {
    unanswered_drops_ = 0;
    retry_at_ = disconnected_since_ = now;
  }
  CloseSocket();
  auth_replies_due_.clear();
  phase_ = Phase::kIdle;
  {
    std::lock_guard lock(mutex_);
    connected_server_.clear();
    connection_security_.clear();
  }
  std::deque<InFlight> lost = std::move(awaiting_);
  awaiting_.clear();
  std::deque<Request> resend;
  for (InFlight& entry : lost) {
    if (entry.request.idempotent) {
      resend.push_back(std::move(entry.request));
    } else {
      Complete(
          entry.request.on_reply,
          ZooKeeperError(ErrorCode::CONNECTIONLOSS, "", "",
                         "the connection to " + current_server_ + " was lost before the reply (" +
                             reason.message() + "); the outcome is unknown"));
    }
  }
  // Resent reads go first, keeping the order they were submitted in.
  unsent_.insert(unsent_.begin(), std::make_move_iterator(resend.begin()),
                 std::make_move_iterator(resend.end()));
  Notify(SessionState::kDisconnected, reason);
}

Status Session::UnansweredConnectionsError() const {
  std::string message = "gave the session up: " + std::to_string(unanswered_drops_) +
                        " connection" + (unanswered_drops_ == 1 ? "" : "s") + " in a row to '" +
                        options_.connect_string +
                        "' were lost before the server answered any request (the last: " +
                        last_drop_reason_.message() + ")";
  if (last_drop_reason_.code() == StatusCode::kIoError) {
    message +=
        "; the server closed the connection after each request: a request or reply larger "
        "than its jute.maxbuffer?";
  }
  return ZooKeeperError(ErrorCode::CONNECTIONLOSS, "", "", message);
}

void Session::Terminate(SessionState state, const Status& status) {
  bool first = phase_ != Phase::kTerminal;
  phase_ = Phase::kTerminal;
  CloseSocket();
  auth_replies_due_.clear();
  std::deque<Request> queued;
  {
    std::lock_guard lock(mutex_);
    if (terminal_status_.ok()) terminal_status_ = status;
    connected_server_.clear();
    connection_security_.clear();
    queued.swap(submissions_);
  }
  phase_cv_.notify_all();
  const Status failure = terminal_status_;
  for (InFlight& entry : awaiting_) Complete(entry.request.on_reply, failure);
  awaiting_.clear();
  for (Request& request : unsent_) Complete(request.on_reply, failure);
  unsent_.clear();
  for (Request& request : queued) Complete(request.on_reply, failure);
  for (AuthEntry& entry : auths_) {
    if (entry.on_reply) Complete(entry.on_reply, failure);
    entry.on_reply = nullptr;
  }
  window_cv_.notify_all();
  bool notify;
  {
    std::lock_guard lock(mutex_);
    notify = first && ever_connected_;
  }
  if (notify) Notify(state, status);
}

void Session::Complete(ReplyHandler& handler, Result<Reply> outcome) {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
  }
  window_cv_.notify_one();
  if (handler) handler(std::move(outcome));
}

void Session::Notify(SessionState state, const Status& reason) {
  if (options_.session_listener) {
    options_.session_listener(SessionEvent{state, current_server_, reason});
  }
}

}  // namespace zkarrow::zk
