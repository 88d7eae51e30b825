#include "cli/zk_client_config.h"

#include <map>
#include <sstream>

#include "cli/report.h"
#include "cli/secret_file.h"

namespace zkarrow::cli {
namespace {

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\f\r");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\f\r");
  return text.substr(begin, end - begin + 1);
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The Java properties syntax zkarrow needs: KEY=VALUE or KEY:VALUE lines,
// '#' and '!' comments, a trailing backslash continuing a line.
std::map<std::string, std::string, std::less<>> ParseProperties(std::string_view text) {
  std::map<std::string, std::string, std::less<>> properties;
  std::string logical;
  std::istringstream lines{std::string(text)};
  std::string raw;
  while (std::getline(lines, raw)) {
    std::string_view line = Trim(raw);
    if (logical.empty() && (line.empty() || line.front() == '#' || line.front() == '!')) continue;
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1);
      continue;
    }
    logical += line;
    size_t separator = logical.find_first_of("=:");
    std::string_view key = Trim(std::string_view(logical).substr(0, separator));
    std::string_view value =
        separator == std::string::npos ? "" : Trim(std::string_view(logical).substr(separator + 1));
    if (!key.empty()) properties[std::string(key)] = std::string(value);
    logical.clear();
  }
  return properties;
}

Result<bool> ParseBool(std::string_view key, std::string_view value, std::string_view file) {
  if (value == "true") return true;
  if (value == "false") return false;
  return UsageError(std::string(file) + ": " + std::string(key) + " wants true or false, found '" +
                    std::string(value) + "'");
}

// A store zkarrow can read: PEM by its type or, without one, by its name.
Status CheckPemStore(const std::map<std::string, std::string, std::less<>>& properties,
                     std::string_view store, std::string_view file) {
  const std::string prefix = "zookeeper.ssl." + std::string(store);
  auto location = properties.find(prefix + ".location");
  if (location == properties.end() || location->second.empty()) return Status::Ok();
  auto type = properties.find(prefix + ".type");
  std::string kind;
  if (type != properties.end() && !type->second.empty()) {
    kind = type->second;
  } else if (EndsWith(location->second, ".jks")) {
    kind = "JKS";
  } else if (EndsWith(location->second, ".p12") || EndsWith(location->second, ".pfx")) {
    kind = "PKCS12";
  }
  if (!kind.empty() && kind != "PEM" && kind != "pem") {
    return UsageError(std::string(file) + ": " + prefix + " is a " + kind +
                      " store; zkarrow reads PEM files only (convert it, e.g. keytool "
                      "-importkeystore -deststoretype PKCS12, then openssl pkcs12 -nodes)");
  }
  auto password = properties.find(prefix + ".password");
  if (store == "keyStore" && password != properties.end() && !password->second.empty()) {
    return UsageError(std::string(file) + ": " + prefix +
                      ".password is set; zkarrow reads unencrypted PEM keys only (decrypt it "
                      "with openssl pkey, into a file only you can read)");
  }
  return Status::Ok();
}

}  // namespace

Result<ZkClientConfig> ParseZkClientConfig(std::string_view text, std::string_view file) {
  auto properties = ParseProperties(text);
  ZKA_RETURN_IF_ERROR(CheckPemStore(properties, "keyStore", file));
  ZKA_RETURN_IF_ERROR(CheckPemStore(properties, "trustStore", file));
  auto get = [&](std::string_view key) -> const std::string* {
    auto found = properties.find(key);
    return found == properties.end() ? nullptr : &found->second;
  };
  ZkClientConfig config;
  if (const std::string* value = get("zookeeper.client.secure")) {
    ZKA_ASSIGN_OR_RETURN(config.secure, ParseBool("zookeeper.client.secure", *value, file));
  }
  if (const std::string* value = get("zookeeper.ssl.trustStore.location")) {
    config.trust_store = *value;
  }
  if (const std::string* value = get("zookeeper.ssl.keyStore.location")) config.key_store = *value;
  if (const std::string* value = get("zookeeper.ssl.hostnameVerification")) {
    ZKA_ASSIGN_OR_RETURN(config.hostname_verification,
                         ParseBool("zookeeper.ssl.hostnameVerification", *value, file));
  }
  if (const std::string* value = get("zookeeper.sasl.client.username")) {
    config.sasl_service = *value;
  }
  if (const std::string* value = get("zookeeper.server.principal")) {
    config.server_principal = *value;
  }
  return config;
}

Result<ZkClientConfig> ReadZkClientConfig(const std::string& path) {
  ZKA_ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path, "--zk-config"));
  return ParseZkClientConfig(text, "--zk-config " + path);
}

}  // namespace zkarrow::cli
