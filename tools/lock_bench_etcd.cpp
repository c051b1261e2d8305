#include "tools/lock_bench_etcd.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "etcd_lease.grpc.pb.h"
#include "etcd_lock.grpc.pb.h"
#include "tools/child_process.hpp"

namespace lamina::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// GET `path` from 127.0.0.1:`port` over HTTP/1.0; the whole answer, or empty if the connection
// failed. Only for the health check, which happens a few times a second.
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
        answer.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

} // namespace

EtcdCluster::EtcdCluster(const std::string& program, double limit_s) {
  std::string pattern = (std::filesystem::temp_directory_path() / "lamina-etcd-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(fmt::format("cannot make a directory for etcd's data in {}",
                                         std::filesystem::temp_directory_path().string()));
  dir_ = pattern;
  std::vector<std::uint16_t> ports; // client, peer, client, peer, ...
  while (ports.size() < 6) {
    const std::uint16_t p = free_port(SOCK_STREAM);
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  std::string cluster;
  for (std::size_t i = 0; i < 3; ++i)
    cluster += fmt::format("{}m{}=http://127.0.0.1:{}", i == 0 ? "" : ",", i, ports[2 * i + 1]);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string client = fmt::format("http://127.0.0.1:{}", ports[2 * i]);
    const std::string peer = fmt::format("http://127.0.0.1:{}", ports[2 * i + 1]);
    const std::string data = (dir_ / fmt::format("m{}", i)).string();
    const std::string log = (dir_ / fmt::format("m{}.log", i)).string();
    std::vector<std::string> args{program,
                                  "--name",
                                  fmt::format("m{}", i),
                                  "--data-dir",
                                  data,
                                  "--listen-client-urls",
                                  client,
                                  "--advertise-client-urls",
                                  client,
                                  "--listen-peer-urls",
                                  peer,
                                  "--initial-advertise-peer-urls",
                                  peer,
                                  "--initial-cluster",
                                  cluster,
                                  "--initial-cluster-token",
                                  dir_.filename().string(),
                                  "--initial-cluster-state",
                                  "new"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      stop();
      throw std::runtime_error("cannot fork for etcd");
    }
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execvp(argv[0], argv.data());
      std::_Exit(127);
    }
    members_.push_back(pid);
    endpoints_.push_back(fmt::format("127.0.0.1:{}", ports[2 * i]));
  }
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(limit_s));
  for (const std::string& e : endpoints_) {
    while (http_get(port_of(e), "/health").find("\"health\":\"true\"") == std::string::npos) {
      int status = 0;
      for (const pid_t pid : members_) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          std::erase(members_, pid);
          stop();
          throw std::runtime_error(
              WIFEXITED(status) && WEXITSTATUS(status) == 127
                  ? fmt::format("cannot run {} (is etcd-server installed?)", program)
                  : fmt::format("an etcd member exited at its start (its log was in {})",
                                dir_.string()));
        }
      }
      if (Clock::now() > until) {
        stop();
        throw std::runtime_error("the etcd cluster was not healthy within the time limit");
      }
      std::this_thread::sleep_for(100ms);
    }
  }
}

void EtcdCluster::stop() {
  for (const pid_t pid : members_) ::kill(pid, SIGTERM);
  const auto until = Clock::now() + 5s;
  for (const pid_t pid : members_) {
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < until)
      std::this_thread::sleep_for(10ms);
    if (Clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
  members_.clear();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

EtcdCluster::~EtcdCluster() { stop(); }

struct EtcdLockClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v3lockpb::Lock::Stub> lock;
  std::int64_t lease = 0;
};

namespace {
std::unique_ptr<grpc::ClientContext> context_within(std::chrono::milliseconds timeout) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  return c;
}
} // namespace

EtcdLockClient::EtcdLockClient(const std::string& endpoint, std::int64_t ttl_s)
    : impl_(std::make_unique<Impl>()) {
  impl_->channel = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  impl_->lock = v3lockpb::Lock::NewStub(impl_->channel);
  auto lease = etcdserverpb::Lease::NewStub(impl_->channel);
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_s);
  etcdserverpb::LeaseGrantResponse response;
  const auto context = context_within(10s);
  const grpc::Status s = lease->LeaseGrant(context.get(), request, &response);
  if (!s.ok() || !response.error().empty())
    throw std::runtime_error(fmt::format("etcd LeaseGrant at {} failed: {}{}", endpoint,
                                         s.error_message(), response.error()));
  impl_->lease = response.id();
}

EtcdLockClient::~EtcdLockClient() = default;

std::string EtcdLockClient::lock(const std::string& name, std::chrono::milliseconds timeout) {
  v3lockpb::LockRequest request;
  request.set_name(name);
  request.set_lease(impl_->lease);
  v3lockpb::LockResponse response;
  const auto context = context_within(timeout);
  const grpc::Status s = impl_->lock->Lock(context.get(), request, &response);
  if (!s.ok()) throw std::runtime_error("etcd Lock failed: " + s.error_message());
  return response.key();
}

void EtcdLockClient::unlock(const std::string& key, std::chrono::milliseconds timeout) {
  v3lockpb::UnlockRequest request;
  request.set_key(key);
  v3lockpb::UnlockResponse response;
  const auto context = context_within(timeout);
  const grpc::Status s = impl_->lock->Unlock(context.get(), request, &response);
  if (!s.ok()) throw std::runtime_error("etcd Unlock failed: " + s.error_message());
}

} // namespace lamina::tools
