#include "znode_rows.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <sstream>

#include "arrow/ipc/reader.h"

namespace zkarrow::testing {
using arrow::ArrayData;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return hex;
}

Result<std::vector<nlohmann::json>> ReadZnodeRows(const std::filesystem::path& arrow_file) {
  ZKA_ASSIGN_OR_RETURN(auto reader, arrow::ipc::FileReader::OpenPath(arrow_file));
  const arrow::Schema& schema = reader->schema();
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < schema.fields.size(); ++i) {
      if (schema.fields[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  static constexpr std::array<const char*, 5> kInt32Stats = {"version", "cversion", "aversion",
                                                             "data_length", "num_children"};
  static constexpr std::array<const char*, 4> kInt64Stats = {"czxid", "mzxid", "pzxid",
                                                             "ephemeral_owner"};
  std::vector<nlohmann::json> rows;
  for (int b = 0; b < reader->num_batches(); ++b) {
    ZKA_ASSIGN_OR_RETURN(arrow::RecordBatch batch, reader->ReadBatch(b));
    for (int64_t i = 0; i < batch.length; ++i) {
      nlohmann::json row;
      row["path"] = std::string(StringAt(*batch.columns[column("path")], i));
      const ArrayData& data = *batch.columns[column("data")];
      row["data_hex"] = data.IsValid(i) ? nlohmann::json(Hex(StringAt(data, i))) : nullptr;
      const ArrayData& error = *batch.columns[column("error")];
      row["error"] = error.IsValid(i) ? nlohmann::json(StringAt(error, i)) : nullptr;
      const ArrayData& kind = *batch.columns[column("kind")];
      row["kind"] = std::string(StringAt(*kind.dictionary, ValueAt<int32_t>(kind, i)));
      for (const char* name : kInt32Stats) {
        const ArrayData& stat = *batch.columns[column(name)];
        if (stat.IsValid(i)) row[name] = ValueAt<int32_t>(stat, i);
      }
      for (const char* name : kInt64Stats) {
        const ArrayData& stat = *batch.columns[column(name)];
        if (stat.IsValid(i)) row[name] = ValueAt<int64_t>(stat, i);
      }
      for (const char* name : {"ctime", "mtime"}) {
        const ArrayData& stat = *batch.columns[column(name)];
        if (stat.IsValid(i)) row[name] = ValueAt<int64_t>(stat, i);
      }
      rows.push_back(std::move(row));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["path"].get<std::string>() < b["path"].get<std::string>();
  });
  return rows;
}

std::vector<nlohmann::json> ParseJsonLines(const std::string& text) {
  std::vector<nlohmann::json> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

Result<std::string> RunCommand(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return Status::IoError("cannot run: " + command);
  std::string output;
  std::array<char, 65536> chunk;
  size_t n;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) > 0)
    output.append(chunk.data(), n);
  int status = ::pclose(pipe.release());
  if (status != 0) {
    return Status::IoError("command failed (status " + std::to_string(status) + "): " + command);
  }
  return output;
}

std::string DiffRows(const std::vector<nlohmann::json>& expected,
                     const std::vector<nlohmann::json>& actual,
                     const std::vector<std::string>& ignored_keys) {
  std::ostringstream diff;
  int reported = 0;
  if (expected.size() != actual.size()) {
    diff << "row counts differ: expected " << expected.size() << ", got " << actual.size() << "\n";
  }
  size_t e = 0;
  size_t a = 0;
  while ((e < expected.size() || a < actual.size()) && reported < 5) {
    std::string expected_path = e < expected.size() ? expected[e]["path"].get<std::string>() : "~";
    std::string actual_path = a < actual.size() ? actual[a]["path"].get<std::string>() : "~";
    if (e < expected.size() && (a >= actual.size() || expected_path < actual_path)) {
      diff << "missing row " << expected_path << "\n";
      ++e, ++reported;
      continue;
    }
    if (a < actual.size() && (e >= expected.size() || actual_path < expected_path)) {
      diff << "unexpected row " << actual_path << "\n";
      ++a, ++reported;
      continue;
    }
    for (const auto& [key, value] : expected[e].items()) {
      if (std::find(ignored_keys.begin(), ignored_keys.end(), key) != ignored_keys.end()) continue;
      if (!actual[a].contains(key) || actual[a][key] != value) {
        diff << expected_path << ": " << key << " expected " << value.dump() << ", got "
             << (actual[a].contains(key) ? actual[a][key].dump() : "(absent)") << "\n";
        ++reported;
      }
    }
    ++e, ++a;
  }
  return diff.str();
}

}  // namespace zkarrow::testing
