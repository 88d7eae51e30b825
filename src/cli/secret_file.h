// Secrets come from files, never from argv (which `ps` shows to every user).
// A secret file must be a regular file that only its owner can access, like
// an ssh key; the process is made non-dumpable once a secret is loaded.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace zkarrow::cli {

// The file's bytes. `option` names the option in messages (--auth-file).
// A file others can access, or one that is not a regular file or is over
// 64 KiB, is a UsageError saying how to fix it.
Result<std::string> ReadSecretFile(const std::string& path, std::string_view option);

// A configuration file's bytes (not secret): a regular file of at most
// 1 MiB, else a UsageError.
Result<std::string> ReadConfigFile(const std::string& path, std::string_view option);

// A secret file that a library reads itself (a TLS private key, a keytab):
// checked as ReadSecretFile checks it, and the process made non-dumpable,
// as the library keeps the secret in memory.
Status CheckSecretFile(const std::string& path, std::string_view option);

// A password: the first line of a secret file (non-empty), as it is.
Result<std::string> ReadPasswordFile(const std::string& path, std::string_view option);

// A bearer token: the first line of a secret file, without the blanks
// around it; non-empty visible ASCII (0x21-0x7E), else a UsageError.
Result<std::string> ReadTokenFile(const std::string& path, std::string_view option);

}  // namespace zkarrow::cli
