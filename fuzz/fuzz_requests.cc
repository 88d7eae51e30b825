// libFuzzer target: what a hostile client or server sends as a request's
// name. The bytes are read three ways: as an HTTP request target (also what
// a Flight ticket holds), as a Flight descriptor path (its elements split at
// newlines), and as a server URL. Beyond never crashing, each resource that
// parses must survive its canonical form: ToTarget() parsed again is the
// same resource, since that text is how the two transports agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "transport/resource.h"

namespace {

using zkarrow::transport::Resource;

// Aborts (a finding) unless `resource` reads back from its canonical text.
// A canonical text past the target limit is refused, as any request that
// long is: percent-encoding may lengthen what was parsed.
void CheckRoundTrip(const Resource& resource) {
  const std::string target = resource.ToTarget();
  auto again = zkarrow::transport::ParseTarget(target);
  if (!again.ok()) {
    if (target.size() > 8 * 1024) return;
    std::abort();
  }
  if (!(*again == resource)) std::abort();
}

void ReadParams(const Resource& resource) {
  for (const auto& [name, value] : resource.params) {
    (void)resource.BoolParam(name, false);
    (void)resource.IntParam(name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto resource = zkarrow::transport::ParseTarget(text); resource.ok()) {
    ReadParams(*resource);
    CheckRoundTrip(*resource);
  }

  std::vector<std::string> path;
  for (size_t start = 0;;) {
    const size_t end = text.find('\n', start);
    path.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (auto resource = zkarrow::transport::FromFlightPath(path); resource.ok()) {
    CheckRoundTrip(*resource);
  }

  if (auto url = zkarrow::transport::ParseServerUrl(text); url.ok()) {
    CheckRoundTrip(url->resource);
  }
  return 0;
}
