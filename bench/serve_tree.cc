// bench_serve_tree --root DIR
//
// Restarts ZooKeeper on the data a bench_load_tree run left in DIR and keeps
// it up for the benchmark runner: prints one line
//   port=P pid=SERVER_PID data_dir=D
// once the server serves, then waits until its stdin closes (the runner
// exiting, however it exits) and stops the server.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bench_cluster.h"

int main(int argc, char** argv) {
  std::filesystem::path root;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--root") == 0) root = argv[i + 1];
  }
  if (root.empty() || !std::filesystem::exists(root / "tree.txt")) {
    std::fprintf(stderr, "usage: bench_serve_tree --root DIR (a directory bench_load_tree filled)\n");
    return 2;
  }
  auto cluster = zkarrow::zkserver::ZooKeeperCluster::Start(
      zkarrow::bench::BenchClusterOptions(root, /*reuse_data=*/true));
  if (!cluster.ok()) {
    std::fprintf(stderr, "bench_serve_tree: %s\n", cluster.status().ToString().c_str());
    return 1;
  }
  std::printf("port=%d pid=%d data_dir=%s\n", (*cluster)->client_port(0),
              static_cast<int>((*cluster)->pid(0)), (*cluster)->data_dir(0).c_str());
  std::fflush(stdout);
  char buffer[256];
  while (::read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
  }
  return 0;  // the cluster's destructor stops the server
}
