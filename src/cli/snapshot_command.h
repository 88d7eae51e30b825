// `zkarrow snapshot`, exposed so that `zkarrow demo` runs the same code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/ipc_options.h"
#include "cli/zk_connection.h"
#include "znodes/live/tree_walker.h"

namespace zkarrow::cli {

// A --zxid as ZooKeeper's logs and tools print it, "1234" or "0x4d2";
// anything else (a negative, an overflow, a typo) is a UsageError naming it.
// snapshot's and query's --zxid.
Result<int64_t> ParseZxid(const std::string& text);

struct SnapshotArgs {
  ZkConnectionArgs connection;  // live: --zk and credentials
  std::string data_dir;
  std::string zxid;  // decimal or 0x hex; empty: the newest state
  std::string path = "/";
  std::string output;
  bool no_data = false;
  bool acl = false;
  bool typed = false;
  bool string_view = false;
  int max_depth = -1;
  std::vector<std::string> excludes;
  int sessions = 1;
  // The walker's defaults, so that they are stated in one place.
  int batch_nodes = znodes::WalkOptions{}.nodes_per_batch;
  int in_flight = znodes::WalkOptions{}.batches_in_flight_per_session;
  IpcOutputOptions ipc;
};

// Runs a snapshot, reporting progress and a summary on stderr; returns the
// exit status.
int RunSnapshot(const SnapshotArgs& args);

}  // namespace zkarrow::cli
