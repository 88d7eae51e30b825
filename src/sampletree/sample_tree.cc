#include "sampletree/sample_tree.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace zkarrow::sampletree {
namespace {

// splitmix64: tiny, and unlike <random>'s distributions its output does not
// depend on the standard library, so trees are identical everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int Uniform(int low, int high) {  // inclusive
    return low + static_cast<int>(Next() % static_cast<uint64_t>(high - low + 1));
  }
  std::string Bytes(int n) {
    std::string bytes(static_cast<size_t>(n), '\0');
    for (char& b : bytes) b = static_cast<char>(Next() & 0xff);
    return bytes;
  }

 private:
  uint64_t state_;
};

class TreeBuilder {
 public:
  explicit TreeBuilder(const SampleTreeSpec& spec) : spec_(spec), random_(spec.seed) {}

  void Add(std::string path, std::string data = {}, bool ephemeral = false) {
    nodes_.push_back({std::move(path), std::move(data), ephemeral});
  }
  Random& random() { return random_; }
  const SampleTreeSpec& spec() const { return spec_; }
  int64_t size() const { return static_cast<int64_t>(nodes_.size()); }
  std::vector<SampleNode> Release() { return std::move(nodes_); }

 private:
  const SampleTreeSpec& spec_;
  Random random_;
  std::vector<SampleNode> nodes_;
};

std::string Host(int i) { return "host-" + std::to_string(i) + ".example.internal"; }

void AddKafka(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  const int brokers = 6;
  const int partitions = 12;
  // Each topic costs about 2 + partitions * 2 + a config node + offsets.
  const int topics = std::max<int>(1, static_cast<int>(budget / (partitions * 3 + 4)));
  tree.Add("/kafka");
  tree.Add("/kafka/cluster");
  tree.Add("/kafka/cluster/id", R"({"version":"1","id":"x7Q2hGmnQmW4zQ0rZB6Clw"})");
  tree.Add("/kafka/controller_epoch", "17");
  tree.Add("/kafka/controller", R"({"version":2,"brokerid":1,"timestamp":"1700000000000"})", true);
  tree.Add("/kafka/brokers");
  tree.Add("/kafka/brokers/ids");
  for (int b = 0; b < brokers; ++b) {
    tree.Add(
        "/kafka/brokers/ids/" + std::to_string(b),
        R"({"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://)" +
            Host(b) + R"(:9092"],"jmx_port":9999,"port":9092,"host":")" + Host(b) +
            R"(","version":5,"timestamp":"1700000000000"})",
        true);
  }
  tree.Add("/kafka/brokers/topics");
  tree.Add("/kafka/config");
  tree.Add("/kafka/config/topics");
  tree.Add("/kafka/consumers");
  for (int t = 0; t < topics; ++t) {
    std::string topic = "events-" + std::to_string(t);
    std::string base = "/kafka/brokers/topics/" + topic;
    tree.Add(
        base,
        R"({"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{},"removing_replicas":{}})");
    tree.Add(base + "/partitions");
    for (int p = 0; p < partitions; ++p) {
      std::string partition = base + "/partitions/" + std::to_string(p);
      tree.Add(partition);
      int leader = random.Uniform(0, brokers - 1);
      tree.Add(partition + "/state",
               R"({"controller_epoch":17,"leader":)" + std::to_string(leader) +
                   R"(,"version":1,"leader_epoch":)" + std::to_string(random.Uniform(0, 40)) +
                   R"(,"isr":[)" + std::to_string(leader) + "]}");
    }
    tree.Add("/kafka/config/topics/" + topic,
             R"({"version":1,"config":{"retention.ms":")" +
                 std::to_string(random.Uniform(1, 30) * 86400000LL) +
                 R"(","cleanup.policy":"delete"}})");
    if (t % 4 == 0) {
      std::string group = "/kafka/consumers/group-" + std::to_string(t);
      tree.Add(group);
      tree.Add(group + "/offsets");
      tree.Add(group + "/offsets/" + topic);
      for (int p = 0; p < partitions; ++p) {
        tree.Add(group + "/offsets/" + topic + "/" + std::to_string(p),
                 std::to_string(random.Next() % 100000000));
      }
    }
  }
}

void AddSolr(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  const int collections = std::max<int>(1, static_cast<int>(budget / 12));
  tree.Add("/solr");
  tree.Add("/solr/live_nodes");
  for (int n = 0; n < 4; ++n) tree.Add("/solr/live_nodes/" + Host(n) + ":8983_solr", "", true);
  tree.Add("/solr/configs");
  tree.Add("/solr/configs/_default");
  std::string schema = "<?xml version=\"1.0\"?>\n<schema name=\"default\" version=\"1.6\">\n";
  while (static_cast<int>(schema.size()) < tree.spec().large_file_bytes) {
    schema += "  <field name=\"f" + std::to_string(random.Next() % 100000) +
              "\" type=\"text_general\" indexed=\"true\" stored=\"true\"/>\n";
  }
  schema += "</schema>\n";
  tree.Add("/solr/configs/_default/managed-schema.xml", schema);
  tree.Add("/solr/configs/_default/solrconfig.xml",
           "<config><luceneMatchVersion>9.4</luceneMatchVersion></config>");
  tree.Add("/solr/collections");
  for (int c = 0; c < collections; ++c) {
    std::string base = "/solr/collections/products-" + std::to_string(c);
    tree.Add(base, R"({"configName":"_default"})");
    tree.Add(
        base + "/state.json",
        R"({"products-)" + std::to_string(c) +
            R"(":{"pullReplicas":"0","replicationFactor":"2","shards":{"shard1":{"range":"80000000-7fffffff","state":"active"}},"router":{"name":"compositeId"}}})");
    tree.Add(base + "/leaders");
    tree.Add(base + "/leaders/shard1", R"({"core":"products_shard1_replica_n1"})", true);
    tree.Add(base + "/terms");
    tree.Add(base + "/terms/shard1", R"({"core_node3":1,"core_node5":1})");
  }
}

void AddHBase(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  const int tables = std::max<int>(1, static_cast<int>(budget / 6));
  tree.Add("/hbase");
  tree.Add("/hbase/master", "\xff\x00\x00\x00\x14master:16000" + random.Bytes(24), true);
  tree.Add("/hbase/rs");
  for (int r = 0; r < 3; ++r) {
    tree.Add("/hbase/rs/" + Host(r) + ",16020,1700000000" + std::to_string(r),
             "\xff" + random.Bytes(40), true);
  }
  tree.Add("/hbase/table");
  for (int t = 0; t < tables; ++t) {
    // "PBUF" magic after a marker byte and id length, as HBase frames protobufs.
    tree.Add("/hbase/table/t" + std::to_string(t), "\xff\x00\x00\x00\x05PBUF" + random.Bytes(8));
  }
  tree.Add("/hbase/replication");
  tree.Add("/hbase/replication/peers");
  tree.Add("/hbase/replication/peers/1", "\xff\x00\x00\x00\x05PBUF" + random.Bytes(30));
  tree.Add("/hbase/replication/rs");
  for (int r = 0; r < 3; ++r) {
    std::string rs = "/hbase/replication/rs/" + Host(r) + ",16020,1700000000" + std::to_string(r);
    tree.Add(rs);
    tree.Add(rs + "/1");
    for (int w = 0; w < std::max<int>(1, tables / 3); ++w) {
      tree.Add(rs + "/1/" + Host(r) + "%2C16020." + std::to_string(1700000000000 + w),
               "\xff\x00\x00\x00\x05PBUF" + random.Bytes(6));
    }
  }
}

std::string ConfigValue(Random& random, int i) {
  switch (random.Uniform(0, 6)) {
    case 0:
      return "";
    case 1:
      return std::to_string(random.Uniform(0, 100000));
    case 2:
      return std::to_string(random.Uniform(0, 1000)) + "." + std::to_string(random.Uniform(0, 99));
    case 3:
      return random.Uniform(0, 1) ? "true" : "false";
    case 4:
      return R"({"enabled":true,"limit":)" + std::to_string(i) + R"(,"tags":["a","b"]})";
    case 5:
      return "value for setting " + std::to_string(i);
    default:
      return random.Bytes(random.Uniform(4, 64));
  }
}

void AddConfigStore(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  tree.Add("/config");
  int64_t added = 0;
  for (int app = 0; added < budget; ++app) {
    std::string path = "/config/app-" + std::to_string(app);
    tree.Add(path);
    ++added;
    // Eight levels deep, a few settings at every level.
    for (int depth = 2; depth <= 8 && added < budget; ++depth) {
      for (int s = 0; s < 3 && added < budget; ++s) {
        tree.Add(path + "/setting-" + std::to_string(s),
                 ConfigValue(random, static_cast<int>(added)));
        ++added;
      }
      path += "/level-" + std::to_string(depth);
      tree.Add(path, ConfigValue(random, static_cast<int>(added)));
      ++added;
    }
  }
}

void AddCurator(TreeBuilder& tree, int64_t budget) {
  tree.Add("/locks");
  tree.Add("/services");
  const int services = std::max<int>(1, static_cast<int>(budget / 5));
  for (int s = 0; s < services; ++s) {
    std::string lock = "/locks/job-" + std::to_string(s);
    tree.Add(lock);
    char sequence[16];
    std::snprintf(sequence, sizeof(sequence), "%010d", s);
    tree.Add(lock + "/_c_8f3e1b2a-lock-" + sequence, "10.0.0." + std::to_string(s % 250), true);
    std::string service = "/services/svc-" + std::to_string(s);
    tree.Add(service);
    tree.Add(service + "/instance-1",
             R"({"name":"svc-)" + std::to_string(s) + R"(","address":"10.0.1.)" +
                 std::to_string(s % 250) +
                 R"(","port":8080,"sslPort":null,"registrationTimeUTC":1700000000000})",
             true);
  }
}

}  // namespace

std::vector<SampleNode> GenerateSampleTree(const SampleTreeSpec& spec) {
  TreeBuilder tree(spec);
  const int64_t n = std::max<int64_t>(spec.target_nodes, 100);
  AddKafka(tree, n * 45 / 100);
  AddSolr(tree, n * 10 / 100);
  AddHBase(tree, n * 10 / 100);
  AddCurator(tree, n * 10 / 100);
  AddConfigStore(tree, std::max<int64_t>(10, n - tree.size()));
  return tree.Release();
}

Status LoadSampleTree(zk::Client& client, const std::vector<SampleNode>& nodes,
                      int64_t* bytes_loaded) {
  std::mutex mutex;
  std::condition_variable done;
  size_t outstanding = 0;
  Status first_error;
  int64_t bytes = 0;
  for (const SampleNode& node : nodes) {
    {
      std::lock_guard lock(mutex);
      if (!first_error.ok()) break;
      ++outstanding;
    }
    bytes += static_cast<int64_t>(node.data.size());
    client.Create(node.path, node.data, zk::OpenAclUnsafe(),
                  node.ephemeral ? zk::CreateMode::kEphemeral : zk::CreateMode::kPersistent,
                  [&](Result<zk::CreateResult> created) {
                    std::lock_guard lock(mutex);
                    if (!created.ok() && first_error.ok()) first_error = created.status();
                    if (--outstanding == 0) done.notify_one();
                  });
  }
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return outstanding == 0; });
  if (bytes_loaded != nullptr) *bytes_loaded = bytes;
  return first_error;
}

}  // namespace zkarrow::sampletree
