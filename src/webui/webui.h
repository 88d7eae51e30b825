// zkarrow's web UI: the files `zkarrow serve --http` answers at GET / (the
// page, its script and styles, and flechette for Arrow in the browser),
// compiled into the binary. The page reads the same resources as any
// client (/znodes, /changes, /query, /datasets) with the same bearer token,
// which it asks its user for; serve only mounts these files.
#pragma once

#include <vector>

#include "transport/http/http_server.h"

namespace zkarrow::webui {

// The UI's files for HttpServer::Start: "/" (the page, with its
// Content-Security-Policy), "/app.js", "/style.css", "/flechette.min.js".
std::vector<transport::http::StaticFile> StaticFiles();

}  // namespace zkarrow::webui
