// The ZooKeeper server settings shared by the loader and the server host, so
// that a restarted server sees exactly the configuration that loaded it.
#pragma once

#include <filesystem>

#include "zkserver/zookeeper_cluster.h"

namespace zkarrow::bench {

inline zkserver::ClusterOptions BenchClusterOptions(const std::filesystem::path& root,
                                                    bool reuse_data) {
  zkserver::ClusterOptions options;
  options.root = root;
  options.keep_files = true;
  options.reuse_data = reuse_data;
  // 1M znodes with their data need well over the tests' 512 MB of heap.
  options.jvm_flags = {"-Xmx3g", "-Xms1g", "-XX:+UseSerialGC"};
  // The server snapshots on every start; keep only the newest few.
  options.config = {{"autopurge.snapRetainCount", "3"}, {"autopurge.purgeInterval", "1"}};
  // Replaying the transaction logs of a million creates takes a while.
  options.start_timeout = std::chrono::minutes(10);
  return options;
}

}  // namespace zkarrow::bench
