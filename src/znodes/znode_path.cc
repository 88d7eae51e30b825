#include "znodes/znode_path.h"

#include <cstring>

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
  // Eight bytes at a time (the depth column counts the slashes of every
  // row's path; a byte loop was a few percent of an offline snapshot): the
  // bytes of x are zero exactly where the path has a '/', and adding 0x7f
  // to each byte's low seven bits carries into its high bit unless they are
  // all zero, never into the next byte.
  constexpr uint64_t kSlashes = 0x2f2f2f2f2f2f2f2fULL;
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  uint64_t slashes = 0;
  size_t i = 0;
  for (; i + 8 <= path.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, path.data() + i, sizeof(word));
    const uint64_t x = word ^ kSlashes;
    const uint64_t zero_bytes = ~(((x & kLow7) + kLow7) | x) & ~kLow7;
    slashes += ((zero_bytes >> 7) * kOnes) >> 56;  // the sum of the bytes' flags
  }
  for (; i < path.size(); ++i) slashes += path[i] == '/' ? 1 : 0;
  return static_cast<int32_t>(slashes);
}

std::string JoinPath(std::string_view parent, std::string_view child) {
  std::string path(parent);
  if (path.empty() || path.back() != '/') path += '/';
  path += child;
  return path;
}

}  // namespace zkarrow::znodes
