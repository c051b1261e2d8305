// An ANTS node on a real UDP socket: one node of a topology (network.hpp's Topology) whose
// members all know each other's addresses, running AntsActive or AntsPassive (by the topology)
// with routes by shortest path, and, if active, capsule code in the Lua sandbox. `lamina ants
// node` is one of these per process.
//
// Single-threaded: the owner calls poll(), and every other call happens on the same thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/udp.hpp"
#include "services/ants/network.hpp"

namespace lamina::ants {

class UdpAntsNode {
public:
  // Builds the node's stack and binds the socket to peers[me]; an active node warms its sandbox
  // up (Sandbox::warm_up), so that its first demand load compiles as fast as later ones. Throws
  // std::invalid_argument (a node not in the topology, a peer list of another size, a bad
  // address) or std::system_error (a port in use).
  UdpAntsNode(const Topology& topology, PeerId me, const std::vector<std::string>& peers,
              Limits limits = {});
  UdpAntsNode(const UdpAntsNode&) = delete;
  UdpAntsNode& operator=(const UdpAntsNode&) = delete;
  ~UdpAntsNode();

  [[nodiscard]] bool active() const { return active_ != nullptr; }
  // Gives this (active) node a program's code, pinned. Throws std::invalid_argument if passive.
  void install(const Program& program);
  // The application sends a capsule of `program` toward `dst`.
  void send(const Program& program, PeerId dst, std::string_view header, std::string_view payload,
            std::uint8_t ttl = 32);
  // Called with every capsule the code delivers to this node's application.
  void on_deliver(std::function<void(const Delivery&)> f) { on_deliver_ = std::move(f); }

  // An active node makes its sandbox's next state ready first (Sandbox::prepare), so that a
  // demand load does not wait for it.
  std::size_t poll(Duration wait);

  [[nodiscard]] UdpNode& udp() { return *udp_; }
  [[nodiscard]] AntsRoute& route();
  [[nodiscard]] AntsCode& code();   // an active node's
  [[nodiscard]] AntsExec& exec();   // an active node's
  [[nodiscard]] Sandbox& sandbox(); // an active node's
  [[nodiscard]] const LuaRunner* runner() const { return runner_.get(); }

private:
  PeerId me_;
  std::unique_ptr<UdpNode> udp_;
  std::unique_ptr<ActiveStack> active_;
  std::unique_ptr<PassiveStack> passive_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<LuaRunner> runner_;
  std::function<void(const Delivery&)> on_deliver_;
};

} // namespace lamina::ants
