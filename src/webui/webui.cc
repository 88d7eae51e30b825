#include "webui/webui.h"

#include <string>
#include <string_view>
#include <utility>

#include "webui/internal/embedded.h"

namespace zkarrow::webui {
namespace {

// Everything the page loads comes from this server; nothing inline, no
// eval, no frames, no plugins. Downloads are blob: URLs the page makes.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view ContentType(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::vector<transport::http::StaticFile> StaticFiles() {
  std::vector<transport::http::StaticFile> files;
  for (size_t i = 0; i < internal::kEmbeddedCount; ++i) {
    const internal::EmbeddedFile& embedded = internal::kEmbedded[i];
    transport::http::StaticFile file;
    const bool page = embedded.name == "index.html";
    file.path = page ? "/" : "/" + std::string(embedded.name);
    file.content_type = std::string(ContentType(embedded.name));
    file.body = embedded.bytes;
    file.headers = {{"X-Content-Type-Options", "nosniff"},
                    {"Cache-Control", "no-cache"},
                    {"Referrer-Policy", "no-referrer"}};
    if (page) {
      file.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
      file.headers.emplace_back("X-Frame-Options", "DENY");
    }
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace zkarrow::webui
