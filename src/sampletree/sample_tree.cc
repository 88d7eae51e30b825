#include "sampletree/sample_tree.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string_view>

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

// A Kafka-style topic id: 22 characters of URL-safe base64.
std::string Base64Id(Random& random) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id(22, 'A');
  for (char& c : id) c = kAlphabet[random.Next() % 64];
  return id;
}

std::string Host(int i) { return "host-" + std::to_string(i) + ".example.internal"; }

// A replica list such as [2,3,1] for a topic partition or a Solr shard.
std::string ReplicaList(Random& random, int brokers, int replicas) {
  const int first = random.Uniform(0, brokers - 1);
  std::string list = "[";
  for (int r = 0; r < replicas; ++r) {
    if (r > 0) list += ",";
    list += std::to_string((first + r) % brokers);
  }
  return list + "]";
}

void AddKafka(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  const int brokers = 6;
  const int partitions = 12;
  // Each topic costs 2 + partitions * 2 nodes, a config node, and every
  // fourth topic a consumer group with an offset per partition.
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
        R"({"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","SSL":"SSL"},"endpoints":["PLAINTEXT://)" +
            Host(b) + R"(:9092","SSL://)" + Host(b) + R"(:9093"],"rack":"rack-)" +
            std::to_string(b % 3) + R"(","jmx_port":9999,"port":9092,"host":")" + Host(b) +
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
    std::string assignment;
    for (int p = 0; p < partitions; ++p) {
      // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict
      // on `"\"" + std::to_string(p) + ...`.
      if (p > 0) assignment += ',';
      assignment += '"';
      assignment += std::to_string(p);
      assignment += "\":";
      assignment += ReplicaList(random, brokers, 3);
    }
    tree.Add(base, R"({"partitions":{)" + assignment + R"(},"topic_id":")" + Base64Id(random) +
                       R"(","adding_replicas":{},"removing_replicas":{},"version":3})");
    tree.Add(base + "/partitions");
    for (int p = 0; p < partitions; ++p) {
      std::string partition = base + "/partitions/" + std::to_string(p);
      tree.Add(partition);
      std::string isr = ReplicaList(random, brokers, 3);
      tree.Add(partition + "/state",
               R"({"controller_epoch":17,"leader":)" + isr.substr(1, isr.find(',') - 1) +
                   R"(,"version":1,"leader_epoch":)" + std::to_string(random.Uniform(0, 40)) +
                   R"(,"isr":)" + isr + "}");
    }
    tree.Add(
        "/kafka/config/topics/" + topic,
        R"({"version":1,"config":{"retention.ms":")" +
            std::to_string(random.Uniform(1, 30) * 86400000LL) +
            R"(","cleanup.policy":"delete","segment.bytes":"1073741824","min.insync.replicas":"2","compression.type":"producer"}})");
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

// An XML file of about `bytes`, shaped like a Solr managed-schema.
std::string SolrSchema(Random& random, int bytes) {
  std::string schema =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<schema name=\"default-config\" "
      "version=\"1.6\">\n  <uniqueKey>id</uniqueKey>\n";
  static constexpr const char* kTypes[] = {
      "text_general", "string", "plong", "pdate", "pdouble", "boolean", "text_en_splitting"};
  while (static_cast<int>(schema.size()) < bytes) {
    const int kind = random.Uniform(0, 9);
    const std::string name = "attr_" + std::to_string(random.Next() % 1000000);
    if (kind == 0) {
      schema += "  <fieldType name=\"" + name +
                "\" class=\"solr.TextField\" positionIncrementGap=\"100\">\n"
                "    <analyzer type=\"index\">\n"
                "      <tokenizer class=\"solr.StandardTokenizerFactory\"/>\n"
                "      <filter class=\"solr.StopFilterFactory\" words=\"stopwords.txt\" "
                "ignoreCase=\"true\"/>\n"
                "      <filter class=\"solr.LowerCaseFilterFactory\"/>\n"
                "    </analyzer>\n  </fieldType>\n";
    } else if (kind == 1) {
      schema += "  <dynamicField name=\"*_" + name + "\" type=\"" + kTypes[random.Uniform(0, 6)] +
                "\" indexed=\"true\" stored=\"false\"/>\n";
    } else {
      schema += "  <field name=\"" + name + "\" type=\"" + kTypes[random.Uniform(0, 6)] +
                "\" indexed=\"true\" stored=\"true\" multiValued=\"" +
                (random.Uniform(0, 1) ? "true" : "false") + "\"/>\n";
    }
  }
  return schema + "</schema>\n";
}

std::string WordList(Random& random, int words) {
  std::string list = "# one entry per line\n";
  for (int w = 0; w < words; ++w) list += "word" + std::to_string(random.Next() % 100000) + "\n";
  return list;
}

std::string SolrCollectionState(Random& random, const std::string& name) {
  std::string shards;
  int core = 1;
  for (int s = 1; s <= 2; ++s) {
    if (s > 1) shards += ",";
    shards += "\"shard" + std::to_string(s) + "\":{\"range\":\"" +
              (s == 1 ? "80000000-ffffffff" : "0-7fffffff") +
              "\",\"state\":\"active\",\"replicas\":{";
    for (int r = 0; r < 2; ++r, ++core) {
      const std::string host = Host(random.Uniform(0, 3));
      if (r > 0) shards += ",";
      shards += "\"core_node" + std::to_string(core) + "\":{\"core\":\"" + name + "_shard" +
                std::to_string(s) + "_replica_n" + std::to_string(core) + "\",\"node_name\":\"" +
                host + ":8983_solr\",\"base_url\":\"http://" + host +
                ":8983/solr\",\"state\":\"active\",\"type\":\"NRT\",\"force_set_state\":\"false\"" +
                (r == 0 ? ",\"leader\":\"true\"" : "") + "}";
    }
    shards += "}}";
  }
  return "{\"" + name + "\":{\"pullReplicas\":\"0\",\"replicationFactor\":\"2\",\"shards\":{" +
         shards +
         "},\"router\":{\"name\":\"compositeId\"},\"maxShardsPerNode\":\"-1\","
         "\"autoAddReplicas\":\"false\",\"nrtReplicas\":\"2\",\"tlogReplicas\":\"0\"}}";
}

void AddSolr(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  // Configsets cost 7 nodes and hold most of Solr's bytes; collections 6.
  const int configsets = std::max<int>(1, static_cast<int>(budget / 500));
  const int collections = std::max<int>(1, static_cast<int>((budget - configsets * 7) / 6));
  tree.Add("/solr");
  tree.Add("/solr/live_nodes");
  for (int n = 0; n < 4; ++n) tree.Add("/solr/live_nodes/" + Host(n) + ":8983_solr", "", true);
  tree.Add("/solr/configs");
  const int schema_bytes = tree.spec().large_file_bytes;
  for (int c = 0; c < configsets; ++c) {
    const std::string base = "/solr/configs/conf-" + std::to_string(c);
    tree.Add(base);
    // Real schemas vary in size around the configured one.
    tree.Add(base + "/managed-schema.xml",
             SolrSchema(random, random.Uniform(schema_bytes * 8 / 10, schema_bytes * 12 / 10)));
    tree.Add(base + "/solrconfig.xml", SolrSchema(random, schema_bytes / 3));
    tree.Add(base + "/stopwords.txt", WordList(random, 120));
    tree.Add(base + "/synonyms.txt", WordList(random, 60));
    tree.Add(base + "/protwords.txt", WordList(random, 20));
    tree.Add(base + "/params.json", R"({"params":{"_UPDATE_JSON_DOCS":{"v":1}}})");
  }
  tree.Add("/solr/collections");
  for (int c = 0; c < collections; ++c) {
    const std::string name = "products-" + std::to_string(c);
    const std::string base = "/solr/collections/" + name;
    tree.Add(base, R"({"configName":"conf-)" + std::to_string(c % configsets) + "\"}");
    tree.Add(base + "/state.json", SolrCollectionState(random, name));
    tree.Add(base + "/leaders");
    tree.Add(base + "/leaders/shard1",
             R"({"core":")" + name + R"(_shard1_replica_n1","node_name":")" + Host(c % 4) +
                 R"(:8983_solr"})",
             true);
    tree.Add(base + "/terms");
    tree.Add(base + "/terms/shard1", R"({"core_node1":1,"core_node2":1})");
  }
}

// HBase's znode framing: a 0xFF marker, the writer's id (length-prefixed,
// big-endian), then "PBUF" and the protobuf message.
std::string HBaseFrame(std::string_view writer_id, std::string_view protobuf) {
  std::string frame = "\xff";
  const uint32_t length = static_cast<uint32_t>(writer_id.size());
  for (int shift = 24; shift >= 0; shift -= 8) frame += static_cast<char>((length >> shift) & 0xff);
  frame += writer_id;
  frame += "PBUF";
  frame += protobuf;
  return frame;
}

void AddHBase(TreeBuilder& tree, int64_t budget) {
  Random& random = tree.random();
  const int tables = std::max<int>(1, static_cast<int>(budget / 6));
  const std::string master_id = "master:16000";
  tree.Add("/hbase");
  tree.Add("/hbase/master", HBaseFrame(master_id, random.Bytes(24)), true);
  tree.Add("/hbase/rs");
  for (int r = 0; r < 3; ++r) {
    tree.Add("/hbase/rs/" + Host(r) + ",16020,1700000000" + std::to_string(r),
             HBaseFrame("rs-" + std::to_string(r), random.Bytes(40)), true);
  }
  tree.Add("/hbase/table");
  for (int t = 0; t < tables; ++t) {
    tree.Add("/hbase/table/t" + std::to_string(t),
             HBaseFrame(master_id, random.Bytes(random.Uniform(8, 120))));
  }
  tree.Add("/hbase/replication");
  tree.Add("/hbase/replication/peers");
  tree.Add("/hbase/replication/peers/1", HBaseFrame(master_id, random.Bytes(30)));
  tree.Add("/hbase/replication/rs");
  for (int r = 0; r < 3; ++r) {
    std::string rs = "/hbase/replication/rs/" + Host(r) + ",16020,1700000000" + std::to_string(r);
    tree.Add(rs);
    tree.Add(rs + "/1");
    for (int w = 0; w < std::max<int>(1, tables / 3); ++w) {
      // A WAL's replication position.
      tree.Add(rs + "/1/" + Host(r) + "%2C16020." + std::to_string(1700000000000 + w),
               HBaseFrame("rs-" + std::to_string(r), random.Bytes(6)));
    }
  }
}

// A JSON settings document of `entries` keys, like the ones services keep
// in a config store.
std::string JsonSettings(Random& random, int entries) {
  std::string json = "{";
  for (int e = 0; e < entries; ++e) {
    if (e > 0) json += ",";
    json += "\"key" + std::to_string(e) + "\":";
    switch (random.Uniform(0, 2)) {
      case 0:
        json += std::to_string(random.Uniform(0, 1000000));
        break;
      case 1:
        json += random.Uniform(0, 1) ? "true" : "false";
        break;
      default:
        json += "\"value-" + std::to_string(random.Next() % 1000000000) + "\"";
    }
  }
  return json + "}";
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
      return JsonSettings(random, random.Uniform(2, 40));
    case 5:
      return "value for setting " + std::to_string(i);
    default:
      return random.Bytes(random.Uniform(4, 256));
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
    // Curator's ServiceInstance JSON, as its service discovery writes it.
    tree.Add(
        service + "/instance-1",
        R"({"name":"svc-)" + std::to_string(s) + R"(","id":"0f6c6b0e-9d8a-4c37-bf2a-)" +
            std::to_string(100000000000 + s) + R"(","address":"10.0.1.)" + std::to_string(s % 250) +
            R"(","port":8080,"sslPort":null,"payload":{"@class":"org.example.InstanceDetails","zone":"zone-)" +
            std::to_string(s % 3) +
            R"("},"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]}})",
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
