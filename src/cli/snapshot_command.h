// `zkarrow snapshot`, exposed so that `zkarrow demo` runs the same code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/ipc_options.h"

namespace zkarrow::cli {

struct SnapshotArgs {
  std::string zk;
  std::string data_dir;
  std::string zxid;  // decimal or 0x hex; empty: the newest state
  std::string path = "/";
  std::string output;
  bool no_data = false;
  bool acl = false;
  bool typed = false;
  int max_depth = -1;
  std::vector<std::string> excludes;
  std::vector<std::string> auth;
  int sessions = 1;
  int batch_nodes = 250;
  int in_flight = 8;
  int session_timeout_ms = 30000;
  IpcOutputOptions ipc;
};

// Runs a snapshot, reporting progress and a summary on stderr; returns the
// exit status.
int RunSnapshot(const SnapshotArgs& args);

}  // namespace zkarrow::cli
