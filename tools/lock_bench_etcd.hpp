// The etcd rows of `lamina lock bench`: a three-member etcd cluster on loopback, started and
// stopped by the bench, and a client of etcd's v3 lock API over gRPC (tools/etcd_lock.proto).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace lamina::tools {

// Three etcd members on 127.0.0.1, each with a client port and a peer port free a moment ago,
// their data in a fresh directory under the system's temporary directory.
class EtcdCluster {
public:
  // Starts `program` three times and waits until every member says it is healthy, at most
  // `limit_s`. Throws std::runtime_error saying why it could not (the members are stopped).
  EtcdCluster(const std::string& program, double limit_s);
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;
  // Stops the members and removes their data.
  ~EtcdCluster();
  // Each member's client address, "127.0.0.1:port".
  [[nodiscard]] const std::vector<std::string>& endpoints() const { return endpoints_; }

private:
  void stop();
  std::filesystem::path dir_;
  std::vector<pid_t> members_;
  std::vector<std::string> endpoints_;
};

// One client of the lock API at `endpoint`, with a lease of its own for its locks.
class EtcdLockClient {
public:
  // Connects and takes a lease of `ttl_s` seconds. Throws std::runtime_error on failure.
  EtcdLockClient(const std::string& endpoint, std::int64_t ttl_s);
  EtcdLockClient(const EtcdLockClient&) = delete;
  EtcdLockClient& operator=(const EtcdLockClient&) = delete;
  ~EtcdLockClient();
  // Waits until `name` is granted to this client's lease; the key that holds it. Throws
  // std::runtime_error if the call fails or takes longer than `timeout`.
  std::string lock(const std::string& name, std::chrono::milliseconds timeout);
  // Releases the lock held by `key`.
  void unlock(const std::string& key, std::chrono::milliseconds timeout);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace lamina::tools
