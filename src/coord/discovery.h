// The client side of a group of zkarrow servers: which servers can answer
// a request, found in ZooKeeper (layout.h), for `zkarrow get zk://...`.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "coord/layout.h"
#include "transport/resource.h"
#include "zk/client.h"

namespace zkarrow::coord {

struct Candidate {
  std::string server_id;
  transport::ServerUrl url;  // the request, addressed to that server
};

// The servers that can answer `resource`, in the order to try them:
//   /datasets/NAME[?version=V]: the live holders of V (default: the version
//     current now; every candidate's request names it, so that a retry on
//     another holder reads the same bytes);
//   /znodes, /changes: every live server.
// Each server's Flight endpoint when it has one, else its HTTP endpoint.
// kNotFound when the dataset or the version is not kept, kUnavailable when
// no live server can answer.
Result<std::vector<Candidate>> Locate(zk::Client& client, const Layout& layout,
                                      const transport::Resource& resource);

}  // namespace zkarrow::coord
