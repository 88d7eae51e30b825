#include "datadir_test_util.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace zkarrow::znodes::testing {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return hex;
}

std::string Describe(const NodeRow& row) {
  std::ostringstream out;
  out << "stat=[";
  for (int64_t v : row.stat) out << v << ",";
  out << "] acl=[";
  for (const auto& a : row.acl) out << a << ",";
  out << "] data=" << row.data_hex.substr(0, 40) << (row.data_hex.size() > 40 ? "..." : "") << " ("
      << row.data_hex.size() / 2 << " bytes)";
  return out.str();
}

}  // namespace

Tree LoadDump(const std::filesystem::path& file) {
  Tree tree;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line);
    NodeRow row;
    row.data_hex = json["data"].is_null() ? kNullData : json["data"].get<std::string>();
    row.stat = json["stat"].get<std::vector<int64_t>>();
    for (const auto& a : json["acl"]) {
      row.acl.push_back(std::to_string(a[0].get<int>()) + ":" + a[1].get<std::string>() + ":" +
                        a[2].get<std::string>());
    }
    tree[json["path"].get<std::string>()] = std::move(row);
  }
  return tree;
}

Result<Tree> ReadTree(const std::filesystem::path& dir, std::optional<int64_t> target_zxid,
                      DataDirSummary* summary) {
  Tree tree;
  std::string previous;
  Status status = ReadDataDir(
      {.dir = dir, .target_zxid = target_zxid},
      [&](const ZnodeRecord& record) -> Status {
        std::string path(record.path);
        if (!tree.empty() && !(previous < path)) {
          return Status::Internal("out of order: " + previous + " then " + path);
        }
        previous = path;
        NodeRow row;
        row.data_hex = record.null_data ? kNullData : record.data ? Hex(*record.data) : "";
        const zk::Stat& s = *record.stat;
        row.stat = {s.czxid,       s.mzxid,        s.ctime,    s.mtime,
                    s.version,     s.cversion,     s.aversion, s.ephemeral_owner,
                    s.data_length, s.num_children, s.pzxid};
        for (const zk::Acl& a : *record.acl) {
          row.acl.push_back(std::to_string(a.perms) + ":" + a.scheme + ":" + a.id);
        }
        row.kind = std::string(NodeKindName(record.kind));
        if (record.ttl_ms) {
          // Two appends: GCC 12 -O3 reports a false -Wrestrict on ":" + ...
          row.kind += ':';
          row.kind += std::to_string(*record.ttl_ms);
        }
        tree[path] = std::move(row);
        return Status::Ok();
      },
      summary);
  if (!status.ok()) return status;
  return tree;
}

std::string DescribeDifferences(const Tree& expected, const Tree& actual) {
  std::ostringstream out;
  int shown = 0;
  for (const auto& [path, row] : expected) {
    if (shown >= 8) break;
    auto it = actual.find(path);
    if (it == actual.end()) {
      out << "missing " << path << "\n";
      ++shown;
    } else if (!(it->second == row)) {
      out << path << "\n  live:    " << Describe(row) << "\n  offline: " << Describe(it->second)
          << "\n";
      ++shown;
    }
  }
  for (const auto& [path, row] : actual) {
    if (shown >= 8) break;
    if (!expected.contains(path)) {
      out << "extra " << path << " " << Describe(row) << "\n";
      ++shown;
    }
  }
  return out.str();
}

}  // namespace zkarrow::znodes::testing
