// The commands that call a zkarrow server (get, put, query --server) end a
// failed call with their own one-line message, nothing else on stderr.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <thread>

#include "support/znode_rows.h"

namespace zkarrow {
namespace {

// A loopback listener that answers every connection with a plain-text
// HTTP error, as a server that is no TLS server would: a TLS handshake
// with it fails at its first record.
class PlainListener {
 public:
  PlainListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;  // shut down
        char request[1024];
        (void)::recv(client, request, sizeof(request), 0);
        const std::string reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(client);
      }
    });
  }
  ~PlainListener() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// gRPC printed its own line before ours ("E1204 14:10:26.048 30259
// ssl_transport_security.cc:1501] Handshake failed with fatal error ...").
TEST(RemoteTest, ARefusedTlsHandshakeIsOneLineOfOurs) {
  PlainListener listener;
  const std::string url = "grpc+tls://127.0.0.1:" + std::to_string(listener.port()) + "/znodes";
  auto output = testing::RunCommand("timeout 60 " + std::string(ZKARROW_BINARY) + " get " + url +
                                    " -o /dev/null --connect-timeout-ms 5000 2>&1; true");
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  std::istringstream lines(*output);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_TRUE(line.starts_with("zkarrow get: ")) << line;
  }
  EXPECT_EQ(count, 1) << *output;
  EXPECT_NE(output->find("cannot connect to the Flight server at 127.0.0.1:"), std::string::npos)
      << *output;
}

}  // namespace
}  // namespace zkarrow
