#include "znodes/znode_path.h"

#include <algorithm>

namespace zkarrow::znodes {

std::string_view PathName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::optional<std::string_view> PathParent(std::string_view path) {
  if (path.size() <= 1) return std::nullopt;
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
}

int32_t PathDepth(std::string_view path) {
  if (path.size() <= 1) return 0;
  return static_cast<int32_t>(std::count(path.begin(), path.end(), '/'));
}

std::string JoinPath(std::string_view parent, std::string_view child) {
  std::string path(parent);
  if (path.empty() || path.back() != '/') path += '/';
  path += child;
  return path;
}

}  // namespace zkarrow::znodes
