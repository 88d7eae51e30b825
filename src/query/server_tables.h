// Where a zkarrow server's tables come from for `query`: the `znodes` table
// it mirrors and its datasets. Over the network (`query --server URL`) this
// is an ArrowClient; inside the server it can be the server's own
// ArrowService, without a socket, so that the server answers queries with
// the same engine. query depends on transport; transport and serve never
// depend on query.
#pragma once

#include <memory>
#include <vector>

#include "arrow/ipc/reader.h"
#include "base/status.h"
#include "transport/arrow_client.h"
#include "transport/arrow_service.h"
#include "transport/resource.h"

namespace zkarrow::query {

class ServerTables {
 public:
  virtual ~ServerTables() = default;
  // What the server serves (znodes, changes, datasets/NAME).
  virtual Result<std::vector<transport::StreamInfo>> List() = 0;
  // The response to `resource`, record batch by record batch. Several may
  // be open at once (a join reads two scans in turns).
  virtual Result<std::unique_ptr<arrow::ipc::StreamReader>> Open(
      const transport::Resource& resource) = 0;
  // "grpc://host:port" or similar, for plans and errors.
  virtual std::string Describe() const = 0;
};

// Over a connected client (not owned; it must outlive the result).
std::unique_ptr<ServerTables> ServerTablesOverClient(transport::ArrowClient& client,
                                                     std::string description);

}  // namespace zkarrow::query
