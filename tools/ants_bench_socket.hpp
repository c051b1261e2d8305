// `lamina ants bench`'s socket rows: what a node costs on a real UDP socket. Node 1 of a line
// 0-1-2 on loopback (ants::UdpAntsNode, static, bundling as UdpNode does by default) forwards
// capsules from node 0 to node 2; the three nodes run on threads of this process, and node 1's
// cost is its thread's CPU time, user and kernel: receiving, running the stack (and the
// capsule's code, if active) and sending.
#pragma once

#include <cstdint>

#include "services/ants/network.hpp"

namespace lamina::tools {

struct SocketRound {
  std::uint64_t sent = 0;     // capsules node 0 sent
  std::uint64_t received = 0; // of them, delivered at node 2
  std::uint64_t timed = 0;    // capsules of the batches timed (all but the first)
  double cpu_s = 0;           // node 1's thread CPU time forwarding those
  std::uint64_t datagrams_in = 0, datagrams_out = 0; // node 1's
  [[nodiscard]] double ns_per_capsule() const {
    return timed == 0 ? 0 : 1e9 * cpu_s / static_cast<double>(timed);
  }
};

// `capsules` capsules of `program` (16-byte application header, 64 bytes of data) through node
// 1, active (with `program` cached) or passive; of `rounds` rounds, the median by CPU time a
// capsule. Node 0 and node 1 take turns: node 0 sends a batch (up to 2,048 capsules, at least 8
// batches a round) while node 1 waits, then node 1 forwards the whole batch, so that it always
// finds its socket full, as a saturated node does, without losing any. The first batch warms
// node 1 up (its buffer pool, the pages under it) and is not timed. Throws std::runtime_error if
// a node fails.
SocketRound socket_forwarding(bool active, const ants::Program& program, std::uint64_t capsules,
                              std::uint32_t rounds);

} // namespace lamina::tools
