// Lockstep: every implementation of a stack runs the same trace, event by event, and after
// each event difftest compares what they delivered to the application, what they handed to
// the network (in canonical, layered form), the timers they asked for, and the state of every
// layer of the node that handled the event, field by field.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "difftest/application.hpp"
#include "difftest/implementation.hpp"
#include "difftest/layer_ops.hpp"
#include "difftest/packet.hpp"
#include "difftest/same_state.hpp"
#include "difftest/trace.hpp"

namespace lamina::difftest {

// The first disagreement between two implementations.
struct Divergence {
  std::size_t event = 0;  // index in the trace of the event after which they disagree
  TraceEvent what_ran;    // that event
  std::string kind;       // "application delivery", "network", "timer", "state", "failure"
  PeerId node = 0;        // where
  std::string layer;      // state: the layer; network: the layer whose header differs, if known
  std::string field;      // state: the field
  std::string left_impl;  // the reference implementation (the first)
  std::string right_impl; // the one that disagrees with it
  std::string left;       // the values on each side
  std::string right;
  std::string detail; // more lines: the two packets decoded, for a network divergence

  // Several lines: the event, where, the field, both values.
  [[nodiscard]] std::string format() const;
};

// What every implementation did while handling one event.
struct Effects {
  struct Transmit {
    PeerId from, to; // to: kAllPeers for a packet to every other member
    Msg wire;        // as the implementation sent it
    // The layered form, when the implementation has a wire format of its own.
    std::optional<std::vector<std::byte>> expanded;
    [[nodiscard]] std::span<const std::byte> canonical() const {
      return expanded ? std::span<const std::byte>(*expanded) : wire.bytes();
    }
  };
  struct Delivery {
    PeerId node, from;
    Msg msg;
    std::uint64_t lamport;
  };
  struct TimerRequest {
    PeerId node;
    std::uint32_t timer;
    Time at;
  };
  std::vector<Transmit> transmits;
  std::vector<Delivery> deliveries;
  std::vector<TimerRequest> timers;
  void clear() {
    transmits.clear();
    deliveries.clear();
    timers.clear();
  }
};

// A packet put on a link: the k-th on from -> to.
struct PacketId {
  PeerId from = 0, to = 0;
  std::uint64_t index = 0;
  std::size_t size = 0; // bytes, as the reference implementation sent it
};

class Lockstep {
public:
  // Takes the implementations to compare; the first is the reference. All must have the same
  // number of nodes (at least 2) and the same depth. `decoder`, if given, names the header
  // field where two packets differ; it must outlive the Lockstep. `app`, if given, makes what
  // the nodes send (see application.hpp); else they send the trace's random bytes.
  explicit Lockstep(std::vector<std::unique_ptr<Implementation>> impls,
                    const PacketDecoder* decoder = nullptr,
                    std::unique_ptr<Application> app = nullptr);
  Lockstep(const Lockstep&) = delete;
  Lockstep& operator=(const Lockstep&) = delete;
  ~Lockstep();

  // Runs `e` (whose time must not be before the previous event's) on every implementation and
  // compares them. `index` numbers the event in the report.
  std::optional<Divergence> step(const TraceEvent& e, std::size_t index);

  // After a step: what the reference did (for a trace generator: the packets it sent, the
  // timers it set), and the identities of the packets it sent, in order (a packet to every
  // member counts once per receiver).
  [[nodiscard]] const Effects& effects() const;
  [[nodiscard]] const std::vector<PacketId>& new_packets() const { return new_packets_; }
  // How many Arrive events will refer to the packet; it is forgotten once they have run. A
  // packet nobody expects is not kept.
  void expect_arrivals(const PacketId& p, std::uint32_t count);
  // Tells the runner, before a trace is replayed, which packets its Arrive events name.
  void expect_arrivals_of(const std::vector<TraceEvent>& events);

  [[nodiscard]] std::uint32_t nodes() const { return nodes_; }
  [[nodiscard]] const std::vector<std::unique_ptr<Implementation>>& implementations() const {
    return impls_;
  }
  // Layer states compared so far (one per layer of the handling node, per implementation pair).
  [[nodiscard]] std::uint64_t comparisons() const { return comparisons_; }

  class Host;

private:
  std::optional<Divergence> compare(const TraceEvent& e, std::size_t index);
  std::optional<Divergence> compare_state(PeerId node, std::size_t other);
  void keep_packets();
  static std::uint64_t key(const PacketId& p) {
    return (std::uint64_t{p.from} << 56) ^ (std::uint64_t{p.to} << 40) ^ p.index;
  }

  struct Packet {
    // One per implementation, in its own wire format; held inline for up to three.
    boost::container::small_vector<Msg, 3> copies;
    std::uint32_t arrivals_left = 0;
  };

  std::vector<std::unique_ptr<Implementation>> impls_;
  const PacketDecoder* decoder_;
  std::unique_ptr<Application> app_;
  std::vector<std::vector<std::unique_ptr<Host>>> hosts_; // [impl][node]
  std::vector<Effects> effects_;                          // [impl], of the current step
  std::uint32_t nodes_ = 0;
  Time now_{};
  std::vector<std::uint64_t> link_count_; // packets put on each link so far, [from * nodes + to]
  std::unordered_map<std::uint64_t, Packet> packets_;
  // Replaying: the arrivals each packet will see, announced before the run.
  std::unordered_map<std::uint64_t, std::uint32_t> expected_;
  bool replaying_ = false;
  std::vector<PacketId> new_packets_;
  std::vector<PacketId> receivers_; // keep_packets' scratch: the receivers of one packet
  std::uint64_t comparisons_ = 0;
  std::vector<std::vector<const LayerOps*>> ops_; // [impl][layer]; null for a spec layer
  MsgMemo memo_; // the message copies in layer state, compared once while they stay unchanged
};

} // namespace lamina::difftest
