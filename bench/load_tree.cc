// bench_load_tree --root DIR --nodes N [--seed S]
//
// Starts a fresh ZooKeeper whose files live in DIR, loads the sample tree
// through our pipelined client, and stops the server, keeping DIR so that
// bench_serve_tree can restart from it instead of loading again. Writes
// DIR/tree.txt ("nodes N\ndata_bytes B\n") last: its presence marks a
// complete load.
//
// Ephemeral nodes of the sample tree are created persistent here: an
// ephemeral vanishes with the loader's session, and every run should read
// the same tree.
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench_cluster.h"
#include "sampletree/sample_tree.h"
#include "zk/client.h"

namespace {

int Fail(const std::string& what, const zkarrow::Status& status) {
  std::fprintf(stderr, "bench_load_tree: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path root;
  int64_t nodes = 100000;
  uint64_t seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--root") == 0) root = argv[i + 1];
    else if (std::strcmp(argv[i], "--nodes") == 0) nodes = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (root.empty() || nodes <= 0) {
    std::fprintf(stderr, "usage: bench_load_tree --root DIR --nodes N [--seed S]\n");
    return 2;
  }
  // A half-finished earlier load is worthless: start over.
  std::filesystem::remove_all(root);

  auto tree = zkarrow::sampletree::GenerateSampleTree(
      {.target_nodes = nodes, .seed = seed});
  for (auto& node : tree) node.ephemeral = false;

  auto cluster = zkarrow::zkserver::ZooKeeperCluster::Start(
      zkarrow::bench::BenchClusterOptions(root, /*reuse_data=*/false));
  if (!cluster.ok()) return Fail("starting ZooKeeper", cluster.status());

  zkarrow::zk::ClientOptions options;
  options.connect_string = (*cluster)->ConnectString();
  auto client = zkarrow::zk::Client::Connect(options);
  if (!client.ok()) return Fail("connecting", client.status());

  int64_t data_bytes = 0;
  auto started = std::chrono::steady_clock::now();
  zkarrow::Status loaded = zkarrow::sampletree::LoadSampleTree(**client, tree, &data_bytes);
  if (!loaded.ok()) return Fail("loading the sample tree", loaded);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  (*client)->Close();

  std::ofstream(root / "tree.txt") << "nodes " << tree.size() << "\n"
                                   << "data_bytes " << data_bytes << "\n"
                                   << "seed " << seed << "\n";
  std::fprintf(stderr, "bench_load_tree: %zu znodes, %lld bytes of data in %.1f s into %s\n",
               tree.size(), static_cast<long long>(data_bytes), seconds, root.c_str());
  return 0;
}
