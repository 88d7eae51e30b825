#include "cli/zk_connection.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "cli/report.h"

namespace zkarrow::cli {
namespace {

// A credential file is a few lines; anything larger is not one.
constexpr off_t kMaxAuthFileBytes = 64 << 10;

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

Result<std::string> ReadAuthFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
  // checked before anything is read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, "--auth-file " + path);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    Status status = Status::FromErrno(errno, "--auth-file " + path);
    ::close(fd);
    return status;
  }
  std::string problem;
  if (!S_ISREG(info.st_mode)) {
    problem = "is not a regular file";
  } else if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    problem = std::string("is accessible by other users (mode ") + mode +
              "); make it private: chmod 600 " + path;
  } else if (info.st_size > kMaxAuthFileBytes) {
    problem = "is " + std::to_string(info.st_size) + " bytes; a credential file holds at most " +
              std::to_string(kMaxAuthFileBytes);
  }
  if (!problem.empty()) {
    ::close(fd);
    return UsageError("--auth-file " + path + " " + problem);
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  size_t filled = 0;
  while (filled < text.size()) {
    ssize_t n = ::read(fd, text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(filled);
  return text;
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
    ZKA_ASSIGN_OR_RETURN(std::string text, ReadAuthFile(args.auth_file));
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
