// A ZooKeeper client configuration file, the Java properties file that
// zkCli.sh -client-configuration and -Dzookeeper.clientConfig read, so that
// an existing secure setup carries over to --zk-config. Only what zkarrow
// can honour is taken: TLS with PEM stores and the SASL service; anything
// that would silently not apply (a JKS or PKCS12 store, an encrypted key) is
// refused with what to do instead. The JAAS file is not read: the SASL
// mechanism and credentials come from --sasl and its options.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace zkarrow::cli {

struct ZkClientConfig {
  bool secure = false;                        // zookeeper.client.secure
  std::string trust_store;                    // zookeeper.ssl.trustStore.location
  std::string key_store;                      // zookeeper.ssl.keyStore.location (key + chain)
  std::optional<bool> hostname_verification;  // zookeeper.ssl.hostnameVerification
  std::string sasl_service;                   // zookeeper.sasl.client.username
  std::string server_principal;               // zookeeper.server.principal
};

// `file` names the source in messages. Errors are UsageErrors.
Result<ZkClientConfig> ParseZkClientConfig(std::string_view text, std::string_view file);
Result<ZkClientConfig> ReadZkClientConfig(const std::string& path);

}  // namespace zkarrow::cli
