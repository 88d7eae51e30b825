#include "watch/watch_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "arrow/io.h"
#include "arrow/ipc/reader.h"
#include "support/znode_rows.h"

extern char** environ;

namespace zkarrow::testing {
namespace {

using arrow::ArrayData;

Status AppendRows(const arrow::RecordBatch& batch, std::vector<nlohmann::json>& rows) {
  const arrow::Schema& schema = *batch.schema;
  auto column = [&](const std::string& name) -> const ArrayData& {
    for (size_t i = 0; i < schema.fields.size(); ++i) {
      if (schema.fields[i].name == name) return *batch.columns[i];
    }
    std::abort();  // the schema is checked before
  };
  static constexpr std::array<const char*, 5> kInt32Stats = {"version", "cversion", "aversion",
                                                             "data_length", "num_children"};
  static constexpr std::array<const char*, 6> kInt64Stats = {"czxid",           "mzxid", "pzxid",
                                                             "ephemeral_owner", "ctime", "mtime"};
  for (int64_t i = 0; i < batch.length; ++i) {
    nlohmann::json row;
    row["path"] = std::string(StringAt(column("path"), i));
    const ArrayData& data = column("data");
    row["data_hex"] = data.IsValid(i) ? nlohmann::json(Hex(StringAt(data, i))) : nullptr;
    const ArrayData& error = column("error");
    row["error"] = error.IsValid(i) ? nlohmann::json(StringAt(error, i)) : nullptr;
    const ArrayData& kind = column("kind");
    row["kind"] = std::string(StringAt(*kind.dictionary, ValueAt<int32_t>(kind, i)));
    for (const char* name : kInt32Stats) {
      const ArrayData& stat = column(name);
      if (stat.IsValid(i)) row[name] = ValueAt<int32_t>(stat, i);
    }
    for (const char* name : kInt64Stats) {
      const ArrayData& stat = column(name);
      if (stat.IsValid(i)) row[name] = ValueAt<int64_t>(stat, i);
    }
    row["acl_read"] = column("acl").IsValid(i);
    const ArrayData& event = column("event");
    row["event"] = std::string(StringAt(*event.dictionary, ValueAt<int32_t>(event, i)));
    row["zxid"] = ValueAt<int64_t>(column("zxid"), i);
    rows.push_back(std::move(row));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<nlohmann::json>> ReadChangeRows(const std::vector<std::filesystem::path>& files,
                                                   bool partial) {
  std::vector<nlohmann::json> rows;
  for (const std::filesystem::path& file : files) {
    // A copy of what is there now: the writer may be appending.
    ZKA_ASSIGN_OR_RETURN(auto input, arrow::FileInputStream::Open(file));
    ZKA_ASSIGN_OR_RETURN(auto bytes, arrow::ReadAll(*input));
    auto reader = arrow::ipc::StreamReader::Open(std::make_unique<arrow::BufferInputStream>(bytes));
    if (!reader.ok()) {
      if (partial) return rows;
      return reader.status().WithContext(file.string());
    }
    for (const char* name : {"path", "data", "error", "kind", "event", "zxid", "observed_at"}) {
      const auto& fields = (*reader)->schema().fields;
      if (std::none_of(fields.begin(), fields.end(),
                       [&](const auto& f) { return f.name == name; })) {
        return Status::InvalidData(file.string() + ": no column " + name);
      }
    }
    while (true) {
      auto batch = (*reader)->Next();
      if (!batch.ok()) {
        if (partial) return rows;
        return batch.status().WithContext(file.string());
      }
      if (!*batch) break;
      ZKA_RETURN_IF_ERROR(AppendRows(**batch, rows));
    }
    if (!partial && !(*reader)->ended_with_marker()) {
      return Status::InvalidData(file.string() + ": the stream has no end-of-stream marker");
    }
  }
  return rows;
}

std::vector<nlohmann::json> Replay(const std::vector<nlohmann::json>& rows) {
  std::map<std::string, nlohmann::json> tree;
  for (const nlohmann::json& row : rows) {
    const std::string event = row["event"];
    const std::string path = row["path"];
    if (event == "deleted") {
      tree.erase(path);
    } else if (event != "resync") {
      nlohmann::json state = row;
      state.erase("event");
      state.erase("zxid");
      state.erase("acl_read");
      tree[path] = std::move(state);
    }
  }
  std::vector<nlohmann::json> replayed;
  for (auto& [path, row] : tree) replayed.push_back(std::move(row));
  return replayed;
}

std::string CheckTreeReplay(const std::vector<nlohmann::json>& rows, const std::string& root) {
  std::set<std::string> tree;
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& row = rows[i];
    const std::string event = row["event"];
    const std::string path = row["path"];
    if (event == "resync") continue;
    auto violation = [&](const std::string& what) {
      return "row " + std::to_string(i) + " (" + row.dump() + ") " + what;
    };
    if (event == "deleted") {
      if (!tree.contains(path)) return violation("deletes a node the replay does not hold");
      const std::string prefix = path == "/" ? "/" : path + "/";
      auto child = tree.upper_bound(prefix);
      if (child != tree.end() && child->starts_with(prefix)) {
        return violation("deletes a node whose child " + *child + " is still there");
      }
      tree.erase(path);
      continue;
    }
    if (path != root) {
      const size_t slash = path.rfind('/');
      const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
      if (!tree.contains(parent)) return violation("puts a node whose parent is not there");
    }
    tree.insert(path);
  }
  return "";
}

std::string CheckOrder(const std::vector<nlohmann::json>& rows) {
  struct Last {
    int64_t zxid = 0;
    int64_t czxid = -1, mzxid = 0, pzxid = 0;
  };
  std::map<std::string, Last> last;
  for (size_t i = 0; i < rows.size(); ++i) {
    const nlohmann::json& row = rows[i];
    if (row["event"] == "resync") continue;
    Last& seen = last[row["path"].get<std::string>()];
    const int64_t zxid = row["zxid"];
    if (zxid < seen.zxid) {
      return "row " + std::to_string(i) + " (" + row.dump() + ") has zxid " + std::to_string(zxid) +
             " after " + std::to_string(seen.zxid);
    }
    seen.zxid = zxid;
    if (row.contains("czxid")) {
      if (row["czxid"] == seen.czxid &&
          (row["mzxid"] < seen.mzxid || row["pzxid"].get<int64_t>() < seen.pzxid)) {
        return "row " + std::to_string(i) + " (" + row.dump() + ") shows an older state";
      }
      seen.czxid = row["czxid"];
      seen.mzxid = row["mzxid"];
      seen.pzxid = row["pzxid"];
    }
  }
  return "";
}

int64_t CountEvent(const std::vector<nlohmann::json>& rows, const std::string& event) {
  return std::count_if(rows.begin(), rows.end(),
                       [&](const nlohmann::json& row) { return row["event"] == event; });
}

Status WaitForRow(const std::function<std::vector<std::filesystem::path>()>& files,
                  const std::function<bool(const nlohmann::json&)>& match,
                  std::chrono::seconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto rows = ReadChangeRows(files(), /*partial=*/true);
    if (rows.ok() && std::any_of(rows->begin(), rows->end(), match)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Timeout("no such row within " + std::to_string(deadline.count()) + " s");
}

Status WaitForStreamStart(const std::filesystem::path& file, std::chrono::seconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (auto input = arrow::FileInputStream::Open(file); input.ok()) {
      if (auto bytes = arrow::ReadAll(**input); bytes.ok()) {
        auto stream = std::make_unique<arrow::BufferInputStream>(*bytes);
        if (arrow::ipc::StreamReader::Open(std::move(stream)).ok()) return Status::Ok();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout(file.string() + " has no schema after " +
                         std::to_string(deadline.count()) + " s");
}

int ConnectedPort(pid_t pid, const std::vector<int>& ports) {
  auto out = RunCommand("ss -tnpH state established 2>/dev/null");
  if (!out.ok()) return -1;
  std::istringstream lines(*out);
  std::string line;
  const std::string owner = "pid=" + std::to_string(pid) + ",";
  while (std::getline(lines, line)) {
    if (line.find(owner) == std::string::npos) continue;
    for (int port : ports) {
      if (line.find("127.0.0.1:" + std::to_string(port) + " ") != std::string::npos) {
        // The peer column follows the local one: make sure it is the peer.
        std::istringstream fields(line);
        std::string recv, send, local, peer;
        fields >> recv >> send >> local >> peer;
        if (peer == "127.0.0.1:" + std::to_string(port)) return port;
      }
    }
  }
  return -1;
}

ChurnStats Churn(zk::Client& client, const std::string& root, uint32_t seed, int operations,
                 const std::atomic<bool>* stop) {
  std::mt19937 random(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  auto data = [&] {
    std::string value(pick(64), '\0');
    for (char& c : value) c = static_cast<char>('a' + pick(26));
    return value;
  };
  // What the tree should hold if every operation succeeds (they run in
  // order on one session), to aim creates at parents and deletes at leaves.
  // Operations that fail anyway (races with earlier failures, a lost
  // connection) are part of the churn. Sequential nodes stay out of it.
  struct Node {
    int children = 0;
    bool ephemeral = false;
  };
  std::map<std::string, Node> model = {{root, {}}};
  std::vector<std::string> nodes;  // below root, in the model
  auto parent_of = [](const std::string& path) { return path.substr(0, path.rfind('/')); };
  auto add = [&](const std::string& path, bool ephemeral) {
    model[path] = {0, ephemeral};
    ++model[parent_of(path)].children;
    nodes.push_back(path);
  };
  auto remove = [&](const std::string& path) {
    model.erase(path);
    --model[parent_of(path)].children;
    std::erase(nodes, path);
  };
  auto random_parent = [&]() -> std::string {
    for (int tries = 0; tries < 8 && !nodes.empty(); ++tries) {
      const std::string& candidate = nodes[pick(nodes.size())];
      if (!model[candidate].ephemeral) return candidate;
    }
    return root;
  };
  auto random_leaf = [&]() -> std::string {
    for (int tries = 0; tries < 16 && !nodes.empty(); ++tries) {
      const std::string& candidate = nodes[pick(nodes.size())];
      if (model[candidate].children == 0) return candidate;
    }
    return "";
  };

  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  ChurnStats stats;
  auto done = [&](bool ok) {
    std::lock_guard lock(mutex);
    --outstanding;
    if (ok) ++stats.succeeded;
    cv.notify_all();
  };
  auto begin = [&] {
    std::lock_guard lock(mutex);
    ++outstanding;
    ++stats.submitted;
  };
  auto create = [&](const std::string& path, zk::CreateMode mode, std::string value) {
    begin();
    client.Create(path, value, zk::OpenAclUnsafe(), mode,
                  [&](Result<zk::CreateResult> r) { done(r.ok()); });
  };
  int counter = 0;
  bool big_written = false;
  for (int op = 0; op < operations && !(stop && stop->load()); ++op) {
    const std::string child =
        random_parent() + "/n" + std::to_string(seed) + "_" + std::to_string(counter++);
    const int kind = static_cast<int>(pick(100));
    const std::string leaf = random_leaf();
    if (kind < 35 || nodes.empty()) {
      switch (pick(4)) {
        case 0:
          create(child, zk::CreateMode::kEphemeral, data());
          add(child, true);
          break;
        case 1:
          create(child + "-",
                 pick(2) ? zk::CreateMode::kPersistentSequential
                         : zk::CreateMode::kEphemeralSequential,
                 data());
          break;
        default:
          create(child, zk::CreateMode::kPersistent, data());
          add(child, false);
      }
    } else if (kind < 60) {
      begin();
      client.SetData(nodes[pick(nodes.size())], data(), -1,
                     [&](Result<zk::Stat> r) { done(r.ok()); });
    } else if (kind < 80 && !leaf.empty()) {
      begin();
      client.Delete(leaf, -1, [&](Status s) { done(s.ok()); });
      remove(leaf);
    } else if (kind < 88 && !leaf.empty()) {
      // One transaction: a create, a set and a delete.
      std::vector<zk::Op> ops = {zk::Op::Create(child, data(), zk::OpenAclUnsafe()),
                                 zk::Op::SetData(nodes[pick(nodes.size())], data()),
                                 zk::Op::Delete(leaf)};
      begin();
      client.Multi(std::move(ops), [&](Result<std::vector<zk::OpResult>> r) {
        done(r.ok() && std::all_of(r->begin(), r->end(), [](const zk::OpResult& o) {
               return o.error == zk::ErrorCode::OK;
             }));
      });
      remove(leaf);
      add(child, false);
    } else if (kind < 94 && !leaf.empty()) {
      // Delete and re-create the same path back to back.
      begin();
      client.Delete(leaf, -1, [&](Status s) { done(s.ok()); });
      create(leaf, zk::CreateMode::kPersistent, data());
      model[leaf].ephemeral = false;
    } else if (kind < 98) {
      // A deep chain.
      std::string path = child;
      for (int depth = 0; depth < 12; ++depth) {
        create(path, zk::CreateMode::kPersistent, data());
        add(path, false);
        path += "/d" + std::to_string(depth);
      }
    } else if (!big_written) {
      big_written = true;
      begin();
      client.SetData(nodes[pick(nodes.size())], std::string(1000 * 1000 - 100, 'B'), -1,
                     [&](Result<zk::Stat> r) { done(r.ok()); });
    }
    // A window of requests in flight, so the server sees bursts.
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return outstanding < 32; });
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return outstanding == 0; });
  return stats;
}

}  // namespace zkarrow::testing
