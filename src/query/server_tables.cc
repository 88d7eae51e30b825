#include "query/server_tables.h"

#include <string>
#include <utility>

namespace zkarrow::query {
namespace {

class ClientTables final : public ServerTables {
 public:
  ClientTables(transport::ArrowClient& client, std::string description)
      : client_(client), description_(std::move(description)) {}

  Result<std::vector<transport::StreamInfo>> List() override {
    Result<std::vector<transport::StreamInfo>> listed = client_.List();
    if (!listed.ok()) return listed.status().WithContext("listing " + description_);
    return listed;
  }

  Result<std::unique_ptr<arrow::ipc::StreamReader>> Open(
      const transport::Resource& resource) override {
    ZKA_ASSIGN_OR_RETURN(std::unique_ptr<arrow::InputStream> input, client_.Get(resource, {}));
    return arrow::ipc::StreamReader::Open(std::move(input));
  }

  std::string Describe() const override { return description_; }

 private:
  transport::ArrowClient& client_;
  std::string description_;
};

}  // namespace

std::unique_ptr<ServerTables> ServerTablesOverClient(transport::ArrowClient& client,
                                                     std::string description) {
  return std::make_unique<ClientTables>(client, std::move(description));
}

}  // namespace zkarrow::query
