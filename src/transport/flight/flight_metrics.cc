#include "transport/flight/flight_metrics.h"

#include <grpcpp/support/byte_buffer.h>

#include <string_view>

namespace zkarrow::transport::flight {
namespace {

namespace exp = grpc::experimental;

// "/arrow.flight.protocol.FlightService/DoGet" -> "DoGet".
std::string MethodName(const char* full) {
  std::string_view name(full == nullptr ? "" : full);
  size_t slash = name.rfind('/');
  return std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code < static_cast<int>(std::size(kNames)) ? kNames[code] : "UNKNOWN";
}

class MetricsInterceptor final : public exp::Interceptor {
 public:
  MetricsInterceptor(FlightMetrics& metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)) {}

  void Intercept(exp::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(exp::InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      // Serialized once either way: gRPC keeps the bytes it made here.
      if (grpc::ByteBuffer* message = methods->GetSerializedSendMessage()) {
        metrics_.AddSent(method_, static_cast<int64_t>(message->Length()));
      }
    }
    if (methods->QueryInterceptionHookPoint(exp::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.CountCall(method_, methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  FlightMetrics& metrics_;
  const std::string method_;
};

class MetricsInterceptorFactory final : public exp::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(FlightMetrics& metrics) : metrics_(metrics) {}
  exp::Interceptor* CreateServerInterceptor(exp::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, MethodName(info->method()));
  }

 private:
  FlightMetrics& metrics_;
};

}  // namespace

void FlightMetrics::CountCall(const std::string& method, int code) {
  std::lock_guard lock(mu_);
  ++calls_[{method, code}];
}

void FlightMetrics::AddSent(const std::string& method, int64_t bytes) {
  std::lock_guard lock(mu_);
  sent_[method] += bytes;
}

void FlightMetrics::AddReceived(const std::string& method, int64_t bytes) {
  std::lock_guard lock(mu_);
  received_[method] += bytes;
}

void FlightMetrics::Render(std::string& text, int streams) const {
  std::lock_guard lock(mu_);
  text +=
      "# HELP zkarrow_flight_calls_total Flight calls ended, by method and gRPC status code.\n"
      "# TYPE zkarrow_flight_calls_total counter\n";
  for (const auto& [key, count] : calls_) {
    text += "zkarrow_flight_calls_total{method=\"" + key.first + "\",code=\"" +
            CodeName(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  auto by_method = [&](const char* name, const char* help,
                       const std::map<std::string, int64_t>& values) {
    text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [method, value] : values) {
      text += std::string(name) + "{method=\"" + method + "\"} " + std::to_string(value) + "\n";
    }
  };
  by_method("zkarrow_flight_sent_bytes_total", "Bytes of the messages sent, by method.", sent_);
  by_method("zkarrow_flight_received_bytes_total",
            "Bytes of FlightData received in uploads (DoPut), as framed Arrow messages.",
            received_);
  text +=
      "# HELP zkarrow_flight_streams DoGet and DoPut calls in progress.\n"
      "# TYPE zkarrow_flight_streams gauge\nzkarrow_flight_streams " +
      std::to_string(streams) + "\n";
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
FlightMetrics::InterceptorFactory(FlightMetrics& metrics) {
  return std::make_unique<MetricsInterceptorFactory>(metrics);
}

}  // namespace zkarrow::transport::flight
