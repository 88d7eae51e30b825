#include "cli/zk_connection.h"

#include <sys/prctl.h>

#include <chrono>
#include <cstdlib>

#include "cli/report.h"
#include "cli/secret_file.h"

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

}  // namespace

void AddZkConnectionOptions(CLI::App& command, ZkConnectionArgs& args, bool zk_required) {
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
}

bool HasCredentials(const ZkConnectionArgs& args) {
  const char* from_env = std::getenv(kAuthEnvironmentVariable);
  return !args.auth.empty() || !args.auth_file.empty() || (from_env && *from_env);
}

Result<zk::ClientOptions> MakeClientOptions(const ZkConnectionArgs& args) {
  zk::ClientOptions options;
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
  }
  return options;
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
