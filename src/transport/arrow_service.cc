#include "transport/arrow_service.h"

#include <algorithm>
#include <cctype>

namespace zkarrow::transport {

std::optional<arrow::ipc::Compression> CodecNamed(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "zstd") return arrow::ipc::Compression::kZstd;
  if (lower == "lz4" || lower == "lz4_frame") return arrow::ipc::Compression::kLz4Frame;
  return std::nullopt;
}

std::string_view CodecName(arrow::ipc::Compression compression) {
  switch (compression) {
    case arrow::ipc::Compression::kZstd:
      return "zstd";
    case arrow::ipc::Compression::kLz4Frame:
      return "lz4";
    case arrow::ipc::Compression::kNone:
      break;
  }
  return "";
}

Result<GetOptions> TakeGetOptions(Resource& resource) {
  GetOptions options;
  auto it = resource.params.find(kCodecsParam);
  if (it == resource.params.end()) return options;
  const std::string list = std::move(it->second);
  resource.params.erase(it);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string_view name = std::string_view(list).substr(start, comma - start);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (auto codec = CodecNamed(name)) {
      options.compression = *codec;
      return options;
    }
    start = comma + 1;
  }
  return Status::InvalidArgument(std::string(kCodecsParam) + "=" + list +
                                 ": expected zstd, lz4 or lz4_frame, found no known codec");
}

Status OutOfMemoryError() {
  return Status::Unavailable("the server ran out of memory for this request: retry later");
}

}  // namespace zkarrow::transport
