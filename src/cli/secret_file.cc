#include "cli/secret_file.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/report.h"

namespace zkarrow::cli {
namespace {

// A credential file is a few lines; anything larger is not one.
constexpr off_t kMaxSecretFileBytes = 64 << 10;
// A client configuration file is a few dozen properties.
constexpr off_t kMaxConfigFileBytes = 1 << 20;

// The bytes of the regular file `path`, refused (a UsageError saying how to
// fix it) over `max_bytes` or, when `must_be_private`, when others can
// access it. Never reads more than the size it had when opened.
Result<std::string> ReadSmallFile(const std::string& path, std::string_view option, off_t max_bytes,
                                  bool must_be_private) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is
  // checked before anything is read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, std::string(option) + " " + path);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    Status status = Status::FromErrno(errno, std::string(option) + " " + path);
    ::close(fd);
    return status;
  }
  std::string problem;
  if (!S_ISREG(info.st_mode)) {
    problem = "is not a regular file";
  } else if (must_be_private && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    problem = std::string("is accessible by other users (mode ") + mode +
              "); make it private: chmod 600 " + path;
  } else if (info.st_size > max_bytes) {
    problem = "is " + std::to_string(info.st_size) + " bytes; expected at most " +
              std::to_string(max_bytes);
  }
  if (!problem.empty()) {
    ::close(fd);
    return UsageError(std::string(option) + " " + path + " " + problem);
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

Result<std::string> ReadSecretFile(const std::string& path, std::string_view option) {
  return ReadSmallFile(path, option, kMaxSecretFileBytes, /*must_be_private=*/true);
}

Result<std::string> ReadConfigFile(const std::string& path, std::string_view option) {
  return ReadSmallFile(path, option, kMaxConfigFileBytes, /*must_be_private=*/false);
}

Status CheckSecretFile(const std::string& path, std::string_view option) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return ReadSecretFile(path, option).status();
}

Result<std::string> ReadPasswordFile(const std::string& path, std::string_view option) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ZKA_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, option));
  size_t end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  if (text.empty()) return UsageError(std::string(option) + " " + path + " holds no password");
  return text;
}

Result<std::string> ReadTokenFile(const std::string& path, std::string_view option) {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ZKA_ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, option));
  std::string_view token(text);
  token = token.substr(0, token.find_first_of("\r\n"));
  // Blanks around it are an editor's, not the token's.
  constexpr std::string_view kBlanks = " \t";
  const size_t begin = token.find_first_not_of(kBlanks);
  token = begin == std::string_view::npos
              ? std::string_view()
              : token.substr(begin, token.find_last_not_of(kBlanks) - begin + 1);
  if (token.empty()) return UsageError(std::string(option) + " " + path + " holds no token");
  // It travels as an HTTP header and gRPC metadata value, which take
  // visible ASCII only (gRPC aborts the process on anything else). The
  // message says where, never what: the bytes are the secret's.
  for (size_t i = 0; i < token.size(); ++i) {
    const auto byte = static_cast<unsigned char>(token[i]);
    if (byte < 0x21 || byte > 0x7e) {
      return UsageError(std::string(option) + " " + path + ": byte " + std::to_string(i + 1) +
                        " of the token is not a visible ASCII character; a bearer token is "
                        "visible ASCII without blanks (e.g. openssl rand -hex 32)");
    }
  }
  return std::string(token);
}

}  // namespace zkarrow::cli
