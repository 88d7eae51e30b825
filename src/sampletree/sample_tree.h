// A deterministic, realistic ZooKeeper tree of a shared ensemble, for the
// demo, the tests and the benchmarks: Kafka (brokers, topics, partition
// state, configs, consumer offsets), SolrCloud (live nodes, collections,
// configsets with large schema files), HBase (binary protobuf-framed nodes,
// replication queues), a deep generic config store (empty/text/int/float/
// bool/JSON/binary values) and Curator-style locks and services. About 100
// bytes of data per znode on average (10 MB at 100k znodes), most of it in
// Solr configsets and collection states, JSON settings and binary values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "zk/client.h"

namespace zkarrow::sampletree {

struct SampleNode {
  std::string path;
  std::string data;
  bool ephemeral = false;
};

struct SampleTreeSpec {
  int64_t target_nodes = 3000;  // approximate; the layout scales with it
  uint64_t seed = 42;
  // Solr managed-schema files are about this big (80-120% of it), as real
  // ones are; a configset's solrconfig.xml a third of it.
  int large_file_bytes = 100000;
};

// Nodes in creation order: every parent before its children. The same spec
// always yields the same tree.
std::vector<SampleNode> GenerateSampleTree(const SampleTreeSpec& spec);

// Creates `nodes` through `client`, pipelined (parents first, which the
// server's per-session ordering guarantees). Ephemeral nodes belong to the
// client's session and vanish with it. `progress` may be null.
Status LoadSampleTree(zk::Client& client, const std::vector<SampleNode>& nodes,
                      int64_t* bytes_loaded = nullptr);

}  // namespace zkarrow::sampletree
