// A scripted ZooKeeper server for tests of failures a real server does not
// produce on demand (garbage frames, unknown xids, hostile reply sizes): it
// accepts connections on 127.0.0.1 and runs a script per connection, with
// blocking helpers that give up after a generous deadline.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "zk/error_code.h"
#include "zk/jute.h"
#include "zk/socket.h"

namespace zkarrow::zk::testing {

inline constexpr int64_t kSessionId = 0x42;

// Blocking helpers with a deadline, for the server thread.
inline bool ReadFully(int fd, uint8_t* out, size_t n) {
  while (n > 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return false;
    ssize_t got = ::recv(fd, out, n, 0);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

inline std::vector<uint8_t> ReadFrame(int fd) {
  uint8_t prefix[4];
  if (!ReadFully(fd, prefix, 4)) return {};
  size_t length =
      (size_t{prefix[0]} << 24) | (size_t{prefix[1]} << 16) | (size_t{prefix[2]} << 8) | prefix[3];
  std::vector<uint8_t> payload(length);
  if (!ReadFully(fd, payload.data(), length)) return {};
  return payload;
}

inline void WriteFrame(int fd, const std::vector<uint8_t>& payload) {
  JuteWriter writer;
  writer.WriteBuffer(payload);  // a length-prefixed buffer is exactly a frame
  ::send(fd, writer.bytes().data(), writer.size(), MSG_NOSIGNAL);
}

// Answers the ConnectRequest; returns the session id the client asked for.
inline int64_t Handshake(int fd) {
  std::vector<uint8_t> request = ReadFrame(fd);
  JuteReader reader(request);
  reader.ReadInt();
  reader.ReadLong();
  reader.ReadInt();
  int64_t asked = reader.ReadLong();
  JuteWriter response;
  response.WriteInt(0);
  response.WriteInt(10000);
  response.WriteLong(kSessionId);
  response.WriteBuffer(std::vector<uint8_t>(16, 7));
  response.WriteBool(false);
  WriteFrame(fd, response.bytes());
  return asked;
}

// The xid of the next request frame.
inline int32_t ReadRequestXid(int fd) {
  std::vector<uint8_t> request = ReadFrame(fd);
  JuteReader reader(request);
  return reader.ReadInt();
}

inline std::vector<uint8_t> GetDataReply(int32_t xid, std::string_view data) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(0);
  writer.WriteString(data);
  for (int i = 0; i < 4; ++i) writer.WriteLong(0);
  for (int i = 0; i < 3; ++i) writer.WriteInt(0);
  writer.WriteLong(0);
  writer.WriteInt(0);
  writer.WriteInt(0);
  writer.WriteLong(0);
  return writer.Release();
}

// Accepts connections on 127.0.0.1 and runs `script(connection_index, fd)`
// for each, until the test ends.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int, int)> script) : script_(std::move(script)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length);
    ::listen(listener_.get(), 4);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
  }
  std::string ConnectString() const { return "127.0.0.1:" + std::to_string(port_); }
  int64_t resumed_session() const { return resumed_session_; }
  void set_resumed_session(int64_t id) { resumed_session_ = id; }

 private:
  void Run() {
    std::vector<UniqueFd> connections;
    for (int index = 0; !stop_;) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      connections.emplace_back(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      script_(index++, connections.back().get());
    }
  }

  std::function<void(int, int)> script_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> resumed_session_{0};
  std::thread thread_;
};

inline std::vector<uint8_t> ErrorReply(int32_t xid, ErrorCode code) {
  JuteWriter writer;
  writer.WriteInt(xid);
  writer.WriteLong(1);
  writer.WriteInt(static_cast<int32_t>(code));
  return writer.Release();
}

}  // namespace zkarrow::zk::testing
