// One side of a row of `lamina rpc bench`: the client's calls of an echo method, over raw UDP,
// a Lamina RPC stack or gRPC, as the bench drives them (tools/rpc_bench.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "runtime/event.hpp"

namespace lamina::tools {

class Caller {
public:
  using Done = std::function<void(bool ok)>;
  virtual ~Caller() = default;
  // Starts a call whose argument is the row's bytes; `done` runs once it ended, inside poll(),
  // with whether the echo came back whole.
  virtual void start(Done done) = 0;
  // Waits up to `wait` for calls to end and runs their `done`.
  virtual void poll(Duration wait) = 0;
};

// gRPC's echo service (tools/rpc_bench.proto) on 127.0.0.1:`port`, callback API; prints
// "ready" once it listens, then serves until the process is killed.
void grpc_echo_serve(std::uint16_t port);
// Calls of it with `size` bytes: through the synchronous stub (`sync`, one call at a time: the
// round trip) or the callback API (many outstanding: throughput).
std::unique_ptr<Caller> grpc_echo_caller(std::uint16_t port, std::size_t size, bool sync);

} // namespace lamina::tools
