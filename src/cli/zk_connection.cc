#include "cli/zk_connection.h"

#include <sys/prctl.h>

#include <chrono>
#include <cstdlib>

#include "cli/report.h"
#include "cli/secret_file.h"
#include "cli/zk_client_config.h"
#include "zk/connect_string.h"

namespace zkarrow::cli {
namespace {

// "digest:user:password" -> {"digest", "user:password"}. The message never
// repeats the text: it may be a secret.
Result<std::pair<std::string, std::string>> ParseAuth(std::string_view text,
                                                      std::string_view where) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return UsageError(std::string(where) + " wants SCHEME:CREDENTIAL, e.g. digest:user:password");
  }
  return std::make_pair(std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)));
}

bool WantsTls(const ZkConnectionArgs& args, const ZkClientConfig& config) {
  return args.tls || !args.tls_ca.empty() || !args.tls_cert.empty() || !args.tls_key.empty() ||
         args.tls_no_verify_host || config.secure;
}

// The first of the given values that is set.
std::string FirstOf(const std::string& option, const std::string& config) {
  return option.empty() ? config : option;
}

Result<zk::TlsOptions> MakeTlsOptions(const ZkConnectionArgs& args, const ZkClientConfig& config) {
  zk::TlsOptions tls;
  tls.ca_file = FirstOf(args.tls_ca, config.trust_store);
  // A ZooKeeper PEM key store holds the key and the certificate chain.
  tls.cert_file = FirstOf(args.tls_cert, config.key_store);
  tls.key_file = FirstOf(args.tls_key, config.key_store);
  tls.verify_host = !args.tls_no_verify_host && config.hostname_verification.value_or(true);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return UsageError(tls.cert_file.empty() ? "--zk-tls-key needs --zk-tls-cert"
                                            : "--zk-tls-cert needs --zk-tls-key");
  }
  if (!tls.key_file.empty()) {
    ZKA_RETURN_IF_ERROR(CheckSecretFile(
        tls.key_file, args.tls_key.empty() ? "zookeeper.ssl.keyStore.location" : "--zk-tls-key"));
  }
  return tls;
}

// "zookeeper/zk1.example.com@EXAMPLE.COM" -> {"zookeeper", "zk1.example.com"}.
std::pair<std::string, std::string> SplitServerPrincipal(std::string_view principal) {
  principal = principal.substr(0, principal.find('@'));
  size_t slash = principal.find('/');
  if (slash == std::string_view::npos) return {std::string(principal), ""};
  return {std::string(principal.substr(0, slash)), std::string(principal.substr(slash + 1))};
}

Result<std::optional<zk::SaslOptions>> MakeSaslOptions(const ZkConnectionArgs& args,
                                                       const ZkClientConfig& config) {
  const bool digest = args.sasl == "digest";
  if (args.sasl.empty()) {
    for (const auto& [value, name] : {std::pair{&args.sasl_user, "--sasl-user"},
                                      {&args.sasl_password_file, "--sasl-password-file"},
                                      {&args.sasl_service, "--sasl-service"},
                                      {&args.sasl_host, "--sasl-host"},
                                      {&args.keytab, "--keytab"},
                                      {&args.principal, "--principal"}}) {
      if (!value->empty()) return UsageError(std::string(name) + " needs --sasl digest|gssapi");
    }
    return std::optional<zk::SaslOptions>();
  }
  zk::SaslOptions sasl;
  auto [config_service, config_host] = SplitServerPrincipal(config.server_principal);
  sasl.service = FirstOf(args.sasl_service, FirstOf(config.sasl_service, config_service));
  if (sasl.service.empty()) sasl.service = zk::SaslOptions{}.service;
  if (digest) {
    sasl.mechanism = "DIGEST-MD5";
    if (!args.keytab.empty() || !args.principal.empty() || !args.sasl_host.empty()) {
      return UsageError("--keytab, --principal and --sasl-host are for --sasl gssapi");
    }
    if (args.sasl_user.empty() || args.sasl_password_file.empty()) {
      return UsageError("--sasl digest needs --sasl-user USER and --sasl-password-file FILE");
    }
    sasl.user = args.sasl_user;
    ZKA_ASSIGN_OR_RETURN(sasl.password,
                         ReadPasswordFile(args.sasl_password_file, "--sasl-password-file"));
  } else {
    sasl.mechanism = "GSSAPI";
    if (!args.sasl_user.empty() || !args.sasl_password_file.empty()) {
      return UsageError(
          "--sasl-user and --sasl-password-file are for --sasl digest; "
          "GSSAPI takes --principal and --keytab (or a ticket from kinit)");
    }
    sasl.user = args.principal;
    sasl.keytab = args.keytab;
    sasl.host = FirstOf(args.sasl_host, config_host);
    if (!sasl.keytab.empty()) ZKA_RETURN_IF_ERROR(CheckSecretFile(sasl.keytab, "--keytab"));
  }
  return std::optional<zk::SaslOptions>(std::move(sasl));
}

}  // namespace

void AddZkConnectionOptions(CLI::App& command, ZkConnectionArgs& args, bool zk_required,
                            ZkTlsNames tls_names) {
  CLI::Option* zk =
      command.add_option("--zk", args.zk, "Live ensemble: HOST:PORT[,HOST:PORT...][/chroot]");
  if (zk_required) zk->required();
  command.add_option("--auth", args.auth,
                     "SCHEME:CREDENTIAL, e.g. digest:user:password (repeatable; visible in ps: "
                     "prefer --auth-file or $ZKARROW_AUTH)");
  command
      .add_option("--auth-file", args.auth_file,
                  "File of SCHEME:CREDENTIAL lines, readable by its owner only")
      ->check(CLI::ExistingFile);
  command.add_option("--session-timeout-ms", args.session_timeout_ms, "Session timeout")
      ->check(CLI::Range(2000, 600000))
      ->capture_default_str();
  AddZkSecurityOptions(command, args, tls_names);
}

void AddZkSecurityOptions(CLI::App& command, ZkConnectionArgs& args, ZkTlsNames tls_names) {
  const std::string group = "Connection security (TLS, SASL)";
  // "--zk-tls-ca" -> "--zk-tls-ca,--tls-ca" where both are taken.
  auto tls_name = [&](const std::string& name) {
    return tls_names == ZkTlsNames::kAlsoUnprefixed ? name + ",--" + name.substr(5) : name;
  };
  auto text = [&](const std::string& name, std::string& value, const std::string& help) {
    return command.add_option(name, value, help)->group(group);
  };
  auto file = [&](const std::string& name, std::string& value, const std::string& help) {
    return text(name, value, help)->check(CLI::ExistingFile);
  };
  command
      .add_flag(tls_name("--zk-tls"), args.tls, "Connect with TLS (the servers' secureClientPort)")
      ->group(group);
  file(tls_name("--zk-tls-ca"), args.tls_ca,
       "PEM CA certificates to verify the servers with (default: the system's store)");
  file(tls_name("--zk-tls-cert"), args.tls_cert, "PEM client certificate (chain)");
  file(tls_name("--zk-tls-key"), args.tls_key, "PEM private key of --zk-tls-cert (mode 600)");
  command
      .add_flag(tls_name("--zk-tls-no-verify-host"), args.tls_no_verify_host,
                "Accept a server certificate that does not name the host connected to")
      ->group(group);
  text("--sasl", args.sasl, "SASL mechanism: digest (DIGEST-MD5) or gssapi (Kerberos)")
      ->check(CLI::IsMember({"digest", "gssapi"}));
  text("--sasl-user", args.sasl_user, "DIGEST-MD5 user");
  file("--sasl-password-file", args.sasl_password_file,
       "File holding the DIGEST-MD5 password (first line; mode 600)");
  text("--sasl-service", args.sasl_service, "Server principal's service (zookeeper)");
  text("--sasl-host", args.sasl_host,
       "GSSAPI: the server principal's host (default: the host connected to)");
  file("--keytab", args.keytab, "GSSAPI: keytab of --principal (mode 600)");
  text("--principal", args.principal,
       "GSSAPI: our principal (default: the keytab's or ticket cache's)");
  file("--zk-config", args.zk_config,
       "ZooKeeper client config file (zookeeper.client.secure, zookeeper.ssl.* PEM, "
       "zookeeper.sasl.client.username, zookeeper.server.principal); options given here win");
}

bool HasCredentials(const ZkConnectionArgs& args) {
  const char* from_env = std::getenv(kAuthEnvironmentVariable);
  return !args.auth.empty() || !args.auth_file.empty() || (from_env && *from_env);
}

bool HasIdentity(const zk::ClientOptions& options) {
  return !options.auth.empty() || options.sasl.has_value() ||
         (options.tls.has_value() && !options.tls->cert_file.empty());
}

Result<zk::ClientOptions> MakeClientOptions(const ZkConnectionArgs& args) {
  zk::ClientOptions options;
  if (!args.zk.empty()) {
    if (Result<zk::ConnectString> parsed = zk::ParseConnectString(args.zk); !parsed.ok()) {
      return UsageError("--zk " + args.zk + ": " + parsed.status().message() +
                        "; expected HOST:PORT[,HOST:PORT...][/chroot]");
    }
  }
  options.connect_string = args.zk;
  options.session_timeout = std::chrono::milliseconds(args.session_timeout_ms);
  if (HasCredentials(args)) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (const std::string& text : args.auth) {
    ZKA_ASSIGN_OR_RETURN(auto pair, ParseAuth(text, "--auth"));
    options.auth.push_back(std::move(pair));
  }
  if (const char* from_env = std::getenv(kAuthEnvironmentVariable); from_env && *from_env) {
    ZKA_ASSIGN_OR_RETURN(auto pair, ParseAuth(from_env, kAuthEnvironmentVariable));
    options.auth.push_back(std::move(pair));
  }
  if (!args.auth_file.empty()) {
    ZKA_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(args.auth_file, "--auth-file"));
    const size_t before = options.auth.size();
    size_t line_number = 0;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + start, end - start);
      start = end + 1;
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;
      ZKA_ASSIGN_OR_RETURN(auto pair, ParseAuth(line, "--auth-file " + args.auth_file + " line " +
                                                          std::to_string(line_number)));
      options.auth.push_back(std::move(pair));
    }
    // A credential file without credentials (a secret not yet written, the
    // wrong file) would have the command run anonymously, its reads of
    // protected nodes turned into NOAUTH rows.
    if (options.auth.size() == before) {
      return UsageError("--auth-file " + args.auth_file +
                        " holds no SCHEME:CREDENTIAL line (only blank lines and # comments)");
    }
  }
  ZkClientConfig config;
  if (!args.zk_config.empty()) {
    ZKA_ASSIGN_OR_RETURN(config, ReadZkClientConfig(args.zk_config));
  }
  if (WantsTls(args, config)) {
    ZKA_ASSIGN_OR_RETURN(options.tls, MakeTlsOptions(args, config));
  }
  ZKA_ASSIGN_OR_RETURN(options.sasl, MakeSaslOptions(args, config));
  return options;
}

Status CheckZnodePath(const std::string& path, std::string_view option) {
  Status valid = zk::ValidatePath(path);
  if (!valid.ok()) return UsageError(std::string(option) + ": " + valid.message());
  return Status::Ok();
}

Result<std::vector<std::unique_ptr<zk::Client>>> ConnectSessions(const zk::ClientOptions& options,
                                                                 int count) {
  std::vector<std::unique_ptr<zk::Client>> sessions;
  for (int i = 0; i < count; ++i) {
    Result<std::unique_ptr<zk::Client>> client = zk::Client::Connect(options);
    if (!client.ok()) return client.status().WithContext("connecting to " + options.connect_string);
    sessions.push_back(std::move(*client));
  }
  return sessions;
}

}  // namespace zkarrow::cli
