// The client side of a SASL exchange, through Cyrus SASL (Debian's
// libsasl2 and its DIGEST-MD5 and GSSAPI plugins). Internal to the zk
// module: Session carries the tokens in ZooKeeper's sasl packets
// (GetSASLRequest out, SetSASLResponse back, opcode 102, numbered xids)
// after the session handshake and before any other request.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "zk/client.h"

namespace zkarrow::zk {

class SaslClient {
 public:
  // Checks the options without contacting anyone (the mechanism is known
  // and its plugin loads), so that a mistake fails Connect at once.
  static Status Check(const SaslOptions& options);

  // Starts an exchange with the server at `server_host` (the host of the
  // connect string; used by GSSAPI unless options.host names another).
  static Result<std::unique_ptr<SaslClient>> Start(const SaslOptions& options,
                                                   const std::string& server_host);
  ~SaslClient();
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // The token to send first (may be empty: DIGEST-MD5 waits for the
  // server's challenge, as the Java client's empty first token asks for).
  const std::vector<uint8_t>& initial_token() const { return initial_token_; }

  // The answer to the server's token. Once complete() the exchange is over
  // on our side: a non-empty answer is still sent, and the server's reply
  // to it ends the exchange.
  Result<std::vector<uint8_t>> Step(std::span<const uint8_t> server_token);
  bool complete() const { return complete_; }

  const std::string& mechanism() const { return mechanism_; }

 private:
  struct Callbacks;
  explicit SaslClient(std::string mechanism);

  // Not the options: the password lives only in the callbacks' wiped secret.
  std::string mechanism_;
  std::unique_ptr<Callbacks> callbacks_;
  void* connection_ = nullptr;  // sasl_conn_t*
  std::vector<uint8_t> initial_token_;
  bool complete_ = false;
};

// ZooKeeper's DIGEST-MD5 server is always "zookeeper/zk-sasl-md5".
inline constexpr const char* kDigestMd5Host = "zk-sasl-md5";

}  // namespace zkarrow::zk
