// An RPC node on a real UDP socket: one member of a group whose addresses every member knows,
// running a stack of stacks/rpc/rpc.ioa (its dynamic, static or fused build) with an rpc::Node
// on top. `lamina rpc serve`, `lamina rpc call` and `lamina rpc bench` are made of these.
//
// Single-threaded, as UdpNode: the owner makes calls and then polls; what a call or an answer
// sends is queued and goes to the kernel when the next poll starts (or at flush()), so that a
// burst of calls goes out in few system calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "components/rpc.hpp"
#include "runtime/implementation.hpp"
#include "runtime/udp.hpp"
#include "services/rpc/node.hpp"

namespace lamina::rpc {

struct UdpMemberOptions {
  std::string stack_string;              // a stack with Rpc under Top
  std::string implementation = "static"; // make_implementation's kind: dynamic, static, fused
  PeerId me = 0;
  std::vector<std::string> peers; // every member's "host:port", in member order
  // This run's incarnation: greater after every restart of the member, so that a call that may
  // have run before the restart never runs again. 0: incarnation_from_clock(), and the member,
  // destroyed, waits until the clock has passed it (at most 0.1 s), so that the next run of the
  // same member, one after the other, gets a greater one.
  std::uint32_t incarnation = 0;
  bool spin = false; // wait by busy-polling the socket instead of sleeping in the kernel
  Copies copies = Copies::one;
};

// An incarnation that grows from one start of a process to the next: the tenths of a second
// since 2026-01-01 by the system clock (a u32 lasts until 2039). A member that crashes and
// starts again within 0.1 s, or a clock set back, would reuse one: pass incarnations of your own
// (from a counter on disk) where that can happen.
std::uint32_t incarnation_from_clock();
// When the tenth of a second of `incarnation` ends by the system clock.
std::chrono::system_clock::time_point incarnation_end(std::uint32_t incarnation);

class UdpMember {
public:
  // Builds the stack and binds the socket. Throws std::runtime_error (std::invalid_argument,
  // std::system_error) with a message for the user: a bad stack string, a stack without Rpc
  // under Top, an implementation that does not exist, a bad address, a port in use.
  explicit UdpMember(const UdpMemberOptions& options);
  UdpMember(const UdpMember&) = delete;
  UdpMember& operator=(const UdpMember&) = delete;
  ~UdpMember();

  [[nodiscard]] Node& node() { return *node_; }
  [[nodiscard]] UdpNode& udp() { return *udp_; }
  [[nodiscard]] const Rpc& rpc() const { return *rpc_; }

  // Waits up to `wait` for datagrams and timers and handles them (UdpNode::poll).
  std::size_t poll(Duration wait) { return udp_->poll(wait); }
  // Polls until `done()` holds or `limit` has passed; whether it held.
  bool run_until(const std::function<bool()>& done, Duration limit);

private:
  std::chrono::system_clock::time_point hold_until_{}; // see UdpMemberOptions::incarnation
  std::unique_ptr<Implementation> stack_;
  Rpc* rpc_ = nullptr;
  std::unique_ptr<UdpNode> udp_;
  std::unique_ptr<Node> node_;
};

} // namespace lamina::rpc
