// The options every command that talks to a live ensemble shares (--zk,
// --auth, --auth-file, --session-timeout-ms, TLS, SASL, --zk-config), and
// the one place that turns them into connected clients.
//
// Credentials: --auth puts a secret on the command line, where `ps` shows it
// to every user of the machine; $ZKARROW_AUTH and --auth-file do not. A
// credential file must not be readable by group or others (like ssh keys).
// Once any credential is loaded the process is made non-dumpable
// (PR_SET_DUMPABLE 0): it writes no core file, and other unprivileged
// processes, even of the same user, cannot ptrace it or read its memory
// through /proc. Digest credentials travel in clear text unless the
// connection is encrypted (--zk-tls). The SASL password and the TLS key come
// from files only (--sasl-password-file, --zk-tls-key), checked the same way;
// none of these is ever printed or written into an output's metadata.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "zk/client.h"

namespace zkarrow::cli {

struct ZkConnectionArgs {
  std::string zk;                 // HOST:PORT[,HOST:PORT...][/chroot]
  std::vector<std::string> auth;  // SCHEME:CREDENTIAL, from --auth
  std::string auth_file;          // lines of SCHEME:CREDENTIAL
  int session_timeout_ms =
      static_cast<int>(zk::ClientOptions{}.session_timeout.count());  // the client's default
  // TLS: --zk-tls, or implied by any --zk-tls-* option. Commands without
  // TLS options of their own also take them as --tls, --tls-* (see
  // ZkTlsNames).
  bool tls = false;
  std::string tls_ca;  // empty: the system's trust store
  std::string tls_cert;
  std::string tls_key;
  bool tls_no_verify_host = false;
  // SASL: "digest" or "gssapi"; empty: none.
  std::string sasl;
  std::string sasl_user;
  std::string sasl_password_file;
  std::string sasl_service;  // empty: "zookeeper"
  std::string sasl_host;
  std::string keytab;
  std::string principal;
  // A ZooKeeper client configuration file (zookeeper.client.secure,
  // zookeeper.ssl.*, zookeeper.sasl.client*); options given on the command
  // line win over it.
  std::string zk_config;
};

// The environment variable read for one more SCHEME:CREDENTIAL.
inline constexpr const char* kAuthEnvironmentVariable = "ZKARROW_AUTH";

// The names of the ZooKeeper TLS options. --zk-tls, --zk-tls-ca,
// --zk-tls-cert, --zk-tls-key and --zk-tls-no-verify-host everywhere; the
// same without "zk-" too where they name nothing else: serve, query and get
// use --tls-* for their own Arrow listeners and servers.
enum class ZkTlsNames { kPrefixedOnly, kAlsoUnprefixed };

// Adds --zk (required if `zk_required`), --auth, --auth-file,
// --session-timeout-ms, the TLS and SASL options and --zk-config to
// `command`.
void AddZkConnectionOptions(CLI::App& command, ZkConnectionArgs& args, bool zk_required,
                            ZkTlsNames tls_names);
// Only the TLS, SASL and --zk-config options (for commands whose ensemble
// comes from elsewhere, e.g. get's zk:// URL).
void AddZkSecurityOptions(CLI::App& command, ZkConnectionArgs& args, ZkTlsNames tls_names);

// True when the user gave credentials by any of the three ways.
bool HasCredentials(const ZkConnectionArgs& args);

// True when sessions made with `options` authenticate as someone: an --auth
// credential, SASL, or a TLS client certificate (the x509 scheme). Such a
// session's identities are what an ACL entry of scheme "auth" names.
bool HasIdentity(const zk::ClientOptions& options);

// Client options from the arguments: credentials from --auth, $ZKARROW_AUTH
// and --auth-file (checked: a regular file, not readable by others), the
// session timeout, TLS and SASL (from the options over --zk-config).
// Malformed arguments (--zk's connect string included) are UsageErrors.
// Makes the process non-dumpable when credentials are loaded.
Result<zk::ClientOptions> MakeClientOptions(const ZkConnectionArgs& args);

// Checks a znode path given as `option` (--path): absolute, without empty,
// "." or ".." names or a trailing '/'; else a UsageError saying so.
Status CheckZnodePath(const std::string& path, std::string_view option);

// Connects `count` sessions to the ensemble.
Result<std::vector<std::unique_ptr<zk::Client>>> ConnectSessions(const zk::ClientOptions& options,
                                                                 int count);

}  // namespace zkarrow::cli
