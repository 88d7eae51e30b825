// Pure functions on absolute znode paths ("/", "/a", "/a/b").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zkarrow::znodes {

// "" for "/", else the text after the last '/'.
std::string_view PathName(std::string_view path);
// nullopt for "/", "/" for "/a", "/a" for "/a/b".
std::optional<std::string_view> PathParent(std::string_view path);
// 0 for "/", 1 for "/a", 2 for "/a/b".
int32_t PathDepth(std::string_view path);
// "/a" + "b" -> "/a/b"; "/" + "b" -> "/b".
std::string JoinPath(std::string_view parent, std::string_view child);

}  // namespace zkarrow::znodes
