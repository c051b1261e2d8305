// Workload: a seeded stream of application messages through N stacks on SimNet, and a check
// of what arrived against what was sent — exactly once, in per-sender order, byte for byte.
//
// Each payload carries its sender, its number and its length, and the rest of its bytes are
// a function of those, so that the receiver can tell a corrupt, stray or repeated message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/host.hpp"
#include "runtime/simnet.hpp"

namespace lamina {

struct Workload {
  std::uint64_t seed = 1;
  std::uint32_t nodes = 2;
  std::uint32_t messages_per_node = 100;
  std::uint32_t max_size = 4000; // payload bytes; sizes are uniform in [kTagBytes, max_size]
  double cast_share = 0.1;       // share of messages cast to the group rather than sent
  Duration spacing = std::chrono::microseconds(200); // mean gap between a node's sends
  LinkConfig link{};
  Duration limit = std::chrono::seconds(600); // virtual time allowed for everything to arrive
};

struct WorkloadReport {
  std::uint64_t sent = 0;       // application messages, one per receiver (a cast to n-1 counts n-1)
  std::uint64_t delivered = 0;  // intact first deliveries, none sent after an earlier one
  std::uint64_t missing = 0;    // sent but never delivered
  std::uint64_t duplicated = 0; // delivered again
  std::uint64_t out_of_order = 0; // delivered after a message its sender sent later
  std::uint64_t corrupt = 0;      // not a message its sender wrote to this node
  Time finished{};                // virtual time when the network went quiet
  bool idle = false;              // the network went quiet before the limit
  SimNet::Counters net;

  [[nodiscard]] bool perfect() const {
    return missing == 0 && duplicated == 0 && out_of_order == 0 && corrupt == 0 && idle;
  }
  // One paragraph for people.
  [[nodiscard]] std::string summary() const;
};

// Smallest payload: the tag identifying sender, number and length.
inline constexpr std::uint32_t kTagBytes = 16;

// Runs `w` with stacks[i] as node i (stacks.size() == w.nodes), until the network is quiet.
WorkloadReport run_workload(const Workload& w, const std::vector<Endpoint*>& stacks);

} // namespace lamina
