// The delay pass (lamina-opt) when the application answers from within a delivery, as an RPC
// server does: the fused ReliableFifo puts its acknowledgement off until after the delivery, so a
// reply sent from the delivery callback re-enters the stack while that work waits. Two groups of
// two nodes, one fused and one layered, run the same random sends; each node answers some
// messages from inside its deliver(). After every step both groups must have put the same
// packets on the wire, in the same order (compressed ones expanded), delivered the same, and hold
// the same state in every layer. Without FusedStack::run_later() at the stack's entry points, the
// answer would leave before the acknowledgement.
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "difftest/layer_ops.hpp"
#include "lamina_repository_stacks_fused_fifo_ReliableFifo.hpp"
#include "runtime/stack.hpp"

namespace lamina {
namespace {

using Layered = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;
using Fused = fused::fifo::ReliableFifo;

Msg payload(std::size_t size, std::uint32_t seed) {
  Msg m = Msg::with_size(size);
  auto b = m.writable_bytes();
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<std::byte>((std::size_t{seed} * 2654435761u + i * 131) >> 7);
  return m;
}

// One node of a group of two: its packets wait in `out` for the other node. It answers every
// message of odd size with one of even size, at once, from within the delivery.
class Node final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return id; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return Time{std::chrono::milliseconds(1)}; }
  void transmit(PeerId, Msg packet) override {
    wire.push_back(Fused::canonical(packet.bytes()));
    out.push_back(std::move(packet));
  }
  void set_timer(Time, std::uint32_t) override {}
  void deliver(Event& ev) override {
    delivered.emplace_back(ev.msg.bytes().begin(), ev.msg.bytes().end());
    if (ev.msg.size() % 2 == 1) stack->send(1 - id, payload(ev.msg.size() + 1, 7));
  }

  PeerId id = 0;
  Endpoint* stack = nullptr;
  std::vector<Msg> out;                          // not yet handed to the other node
  std::vector<std::vector<std::byte>> wire;      // all it sent, in the layered format
  std::vector<std::vector<std::byte>> delivered; // what its application got
};

template <class Stack>
struct Group {
  Group() {
    for (PeerId n = 0; n < 2; ++n) {
      hosts[n].id = n;
      hosts[n].stack = &stacks[n];
      stacks[n].attach(hosts[n]);
    }
  }
  // Hands node `to` the packets waiting for it, the one at `first` first (a reordering).
  void hand_over(PeerId to, std::size_t first) {
    std::vector<Msg> packets = std::move(hosts[1 - to].out);
    hosts[1 - to].out.clear();
    if (!packets.empty()) std::swap(packets[0], packets[first % packets.size()]);
    for (Msg& p : packets) stacks[to].receive(1 - to, std::move(p));
  }
  Node hosts[2];
  Stack stacks[2];
};

Layered& layers(Fused& f) { return f.layered(); }
Layered& layers(Layered& l) { return l; }

// "" if the groups agree, else the first difference.
std::string difference(Group<Fused>& f, Group<Layered>& l) {
  for (PeerId n = 0; n < 2; ++n) {
    if (f.hosts[n].wire != l.hosts[n].wire) return "packets of node " + std::to_string(n);
    if (f.hosts[n].delivered != l.hosts[n].delivered)
      return "deliveries of node " + std::to_string(n);
    std::vector<std::pair<const void*, const difftest::LayerOps*>> a, b;
    auto collect = [](auto& into) {
      return [&into](const auto& layer) {
        using L = std::remove_cvref_t<decltype(layer)>;
        into.emplace_back(&layer, &difftest::layer_ops<L>());
      };
    };
    layers(f.stacks[n]).for_each_layer(collect(a));
    layers(l.stacks[n]).for_each_layer(collect(b));
    difftest::MsgMemo memo;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!a[i].second->equal(a[i].first, b[i].first, memo))
        return "node " + std::to_string(n) + ", layer " + std::to_string(i);
  }
  return "";
}

RC_GTEST_PROP(FusedDelay, AnAnswerFromWithinTheDeliveryFindsTheStackAsTheLayeredCodeLeftIt, ()) {
  Group<Fused> fused;
  Group<Layered> layered;
  const auto steps = *rc::gen::inRange(1, 60);
  for (int i = 0; i < steps; ++i) {
    const auto from = static_cast<PeerId>(*rc::gen::inRange(0, 2));
    // Mostly on the bypass; now and then longer than one fragment, for the layered path.
    const auto size = static_cast<std::size_t>(*rc::gen::weightedOneOf<int>(
        {{9, rc::gen::inRange(0, 200)}, {1, rc::gen::inRange(1390, 3000)}}));
    const auto seed = *rc::gen::arbitrary<std::uint32_t>();
    fused.stacks[from].send(1 - from, payload(size, seed));
    layered.stacks[from].send(1 - from, payload(size, seed));
    // Packets cross, in a few rounds, each round perhaps reordered.
    const auto rounds = *rc::gen::inRange(0, 4);
    for (int r = 0; r < rounds; ++r) {
      for (PeerId to = 0; to < 2; ++to) {
        const auto first = *rc::gen::inRange<std::size_t>(0, 8);
        fused.hand_over(to, first);
        layered.hand_over(to, first);
      }
    }
    const std::string d = difference(fused, layered);
    if (!d.empty()) RC_FAIL("after step " + std::to_string(i) + ": " + d);
  }
}

} // namespace
} // namespace lamina
