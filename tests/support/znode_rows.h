// Test support: the rows of a znode-table IPC file as JSON objects in the
// shape tests/support/kazoo_dump.py prints, so that zkarrow's output can
// be compared field by field with an independent client's view.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arrow/array.h"
#include "base/status.h"

namespace zkarrow::testing {

// Keys: path, data_hex (null when not read, or ZooKeeper's null data), error (null or a code name),
// and the stat fields czxid, mzxid, ctime, mtime, version, cversion,
// aversion, ephemeral_owner, data_length, num_children, pzxid; plus kind.
// Sorted by path bytes.
Result<std::vector<nlohmann::json>> ReadZnodeRows(const std::filesystem::path& arrow_file);

// Element i of a utf8/binary array and of a fixed-width array, for tests
// that read zkarrow's tables back. REQUIRES: i < array.length, valid buffers.
inline std::string_view StringAt(const arrow::ArrayData& array, int64_t i) {
  const auto* offsets = array.buffers[1]->data_as<int32_t>() + array.offset;
  const char* data = array.buffers[2]->data_as<char>();
  return {data + offsets[i], static_cast<size_t>(offsets[i + 1] - offsets[i])};
}
template <typename T>
T ValueAt(const arrow::ArrayData& array, int64_t i) {
  return array.buffers[1]->data_as<T>()[array.offset + i];
}

// Lower-case hex of `bytes`, as kazoo_dump.py prints data.
std::string Hex(std::string_view bytes);

// Parses JSON lines (kazoo_dump.py's output).
std::vector<nlohmann::json> ParseJsonLines(const std::string& text);

// Runs a command through /bin/sh, returning its stdout; fails on a non-zero exit.
Result<std::string> RunCommand(const std::string& command);

// "" when equal, else a description of the first difference (at most a few).
std::string DiffRows(const std::vector<nlohmann::json>& expected,
                     const std::vector<nlohmann::json>& actual,
                     const std::vector<std::string>& ignored_keys = {});

}  // namespace zkarrow::testing
