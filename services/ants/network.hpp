// An ANTS network: nodes on links, some active (they run capsule code, in the Lua sandbox) and
// some passive (they forward by destination), each a stack of stacks/ants/ants.ioa, with routing
// tables by shortest path; on SimNet, so that a run is a function of its seed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "components/ants_code.hpp"
#include "components/ants_exec.hpp"
#include "components/ants_route.hpp"
#include "components/bottom.hpp"
#include "components/top.hpp"
#include "runtime/simnet.hpp"
#include "runtime/stack.hpp"
#include "services/ants/lua_runner.hpp"
#include "services/ants/sandbox.hpp"

namespace lamina::ants {

// The stacks of stacks/ants/ants.ioa, composed statically.
using ActiveStack = stack<Top, AntsExec, AntsCode, AntsRoute, Bottom>;
using PassiveStack = stack<Top, AntsRoute, Bottom>;

// Nodes, the links between them (both ways), and which nodes are active.
struct Topology {
  std::uint32_t nodes = 0;
  std::vector<std::pair<PeerId, PeerId>> links;
  std::vector<bool> active; // by node

  // A tree of `nodes` in breadth-first order, node 0 its root and each node with `fanout`
  // children; the nodes listed in `passive` are passive.
  static Topology tree(std::uint32_t nodes, std::uint32_t fanout,
                       const std::vector<PeerId>& passive);
  // The text form, one statement a line ('#' starts a comment):
  //   nodes N            N nodes, 0 .. N-1, all active
  //   link A B           a link between A and B
  //   passive A B ...    these nodes are passive
  // Throws std::invalid_argument naming `where`, the line and what is wrong.
  static Topology parse(std::string_view text, std::string_view where);
  [[nodiscard]] std::string to_text() const;

  // [from][to]: the next hop from `from` toward `to` on a shortest path (the lowest-numbered
  // neighbour among equals); `from` itself for `to` == from or out of reach.
  [[nodiscard]] std::vector<std::vector<PeerId>> next_hops() const;
  [[nodiscard]] std::vector<std::vector<PeerId>> neighbours() const;
};

// What reached an application: a capsule the code delivered.
struct Delivery {
  PeerId node = 0;
  Time at{};
  PeerId src = 0;
  PeerId from = 0; // the link it came on (the node itself for its own capsules)
  std::string header;
  std::string payload;
};

// What `ev`, a capsule the stack passed up at `node`, delivers to the application; nullopt for a
// packet too short to be one.
std::optional<Delivery> delivery_of(PeerId node, Time at, const Event& ev);

// One application's code: Lua source, and its type.
struct Program {
  std::string name;
  std::string code;
  Sha256 type{};
  static Program of(std::string name, std::string code);
};

class AntsNet {
public:
  AntsNet(Topology topology, std::uint64_t seed, LinkConfig link = {}, Limits limits = {});
  AntsNet(const AntsNet&) = delete;
  AntsNet& operator=(const AntsNet&) = delete;
  ~AntsNet();

  [[nodiscard]] SimNet& net() { return net_; }
  [[nodiscard]] const Topology& topology() const { return topology_; }

  // Gives an active node the code of a program it will send capsules of (pinned).
  void install(PeerId node, const Program& program);
  // The application at `node` sends a capsule of `program` toward `dst`, now.
  void send(PeerId node, const Program& program, PeerId dst, std::string_view header,
            std::string_view payload, std::uint8_t ttl = 32);
  // The same, at virtual time `at`.
  void send_at(Time at, PeerId node, const Program& program, PeerId dst, std::string header,
               std::string payload, std::uint8_t ttl = 32);
  // Puts raw bytes on the wire from `from` to its neighbour `to`, as a misbehaving node would.
  void inject(PeerId from, PeerId to, Msg packet);

  // Also called with every packet's fate, after the network's own counting.
  void on_packet(std::function<void(const SimNet::PacketRecord&)> f) { observer_ = std::move(f); }

  [[nodiscard]] const std::vector<Delivery>& deliveries() const { return deliveries_; }
  void clear_deliveries() { deliveries_.clear(); }
  // Packets put on each directed link, and in all.
  [[nodiscard]] const std::map<std::pair<PeerId, PeerId>, std::uint64_t>& link_packets() const {
    return link_packets_;
  }
  [[nodiscard]] std::uint64_t packets() const;
  // Packets of each kind put on links (capsule, request, chunk, unknown).
  [[nodiscard]] const std::array<std::uint64_t, 4>& kind_packets() const { return kinds_; }

  [[nodiscard]] bool active(PeerId n) const { return topology_.active[n]; }
  [[nodiscard]] AntsRoute& route(PeerId n);
  [[nodiscard]] AntsCode& code(PeerId n);   // an active node's
  [[nodiscard]] AntsExec& exec(PeerId n);   // an active node's
  [[nodiscard]] Sandbox& sandbox(PeerId n); // an active node's

private:
  struct Node;
  Topology topology_;
  SimNet net_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Delivery> deliveries_;
  std::map<std::pair<PeerId, PeerId>, std::uint64_t> link_packets_;
  std::array<std::uint64_t, 4> kinds_{};
  std::function<void(const SimNet::PacketRecord&)> observer_;
};

// What the application sends down to give its node a program's code (pinned there).
Msg make_install(const Program& program, PeerId node);

// A capsule from the application: the header and the bytes after it.
Msg make_capsule(const Sha256& type, PeerId src, PeerId dst, std::uint8_t ttl,
                 std::string_view header, std::string_view payload);

} // namespace lamina::ants
