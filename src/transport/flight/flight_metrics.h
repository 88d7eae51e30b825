// The Flight server's calls for /metrics: how many ended with each gRPC
// status code, by method, and the bytes of the messages sent and received.
// Counted by a gRPC server interceptor, so every method and every way a
// call ends (a handler's return, a reactor's Finish, a cancellation) is
// seen at the one place gRPC sends the status. Internal to the Flight
// server.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace zkarrow::transport::flight {

class FlightMetrics {
 public:
  void CountCall(const std::string& method, int code);
  void AddSent(const std::string& method, int64_t bytes);
  void AddReceived(const std::string& method, int64_t bytes);
  // Prometheus text; `streams` is the DoGet and DoPut calls in progress.
  void Render(std::string& text, int streams) const;

  // A factory for ServerBuilder's interceptor creators that counts into
  // `metrics`. REQUIRES: `metrics` outlives the server.
  static std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory(
      FlightMetrics& metrics);

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> calls_;
  std::map<std::string, int64_t> sent_;
  std::map<std::string, int64_t> received_;
};

}  // namespace zkarrow::transport::flight
