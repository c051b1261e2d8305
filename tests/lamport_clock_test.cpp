// LamportClock: every send ticks the clock and carries it; every receipt moves the clock past
// both its own value and the sender's stamp (Lamport 1978, IR1 and IR2).
#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>
#include <rapidcheck/gtest.h>
#include <vector>

#include "components/lamport_clock.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using test::LayerProbe;
using H = LamportClock::Header;

Msg stamped(std::uint64_t stamp, std::string_view text = "m") {
  Msg m = LayerProbe<LamportClock>::msg(text);
  m.push(H{stamp});
  return m;
}

TEST(LamportClock, StampsIncreaseOnEverySend) {
  LayerProbe<LamportClock> p;
  for (int i = 0; i < 5; ++i) p.send(1, "x");
  p.down(Event::cast(LayerProbe<LamportClock>::msg("y")));
  ASSERT_EQ(p.below.size(), 6u);
  for (std::uint64_t i = 0; i < 6; ++i) {
    H h{};
    ASSERT_TRUE(p.below[i].msg.peek(h));
    EXPECT_EQ(h.stamp, i + 1);
    EXPECT_EQ(p.below[i].lamport, i + 1);
  }
  EXPECT_EQ(p.layer.clock, 6u);
}

RC_GTEST_PROP(LamportClock, ReceiveSetsTheClockToTheMaxOfClockAndStampPlusOne,
              (std::uint32_t clock, std::uint32_t stamp, const std::string& text)) {
  LayerProbe<LamportClock> p;
  p.layer.clock = clock;
  p.receive(1, stamped(stamp, text));
  const std::uint64_t expected = std::max<std::uint64_t>(clock, stamp) + 1;
  RC_ASSERT(p.layer.clock == expected);
  RC_ASSERT(p.above.size() == 1u);
  RC_ASSERT(p.above[0].lamport == expected);
  RC_ASSERT(LayerProbe<LamportClock>::text(p.above[0].msg) == text);
}

RC_GTEST_PROP(LamportClock, RoundTripRestoresThePayload, (const std::string& text)) {
  LayerProbe<LamportClock> a, b;
  a.send(1, text);
  b.receive(0, std::move(a.below.at(0).msg));
  RC_ASSERT(b.above.size() == 1u);
  RC_ASSERT(LayerProbe<LamportClock>::text(b.above[0].msg) == text);
  RC_ASSERT(b.above[0].lamport == 2u);
}

TEST(LamportClock, DropsPacketsTooShortForAHeader) {
  LayerProbe<LamportClock> p;
  for (std::size_t size = 0; size < sizeof(H); ++size) p.receive(1, Msg::with_size(size));
  EXPECT_EQ(p.layer.dropped_short, sizeof(H));
  EXPECT_EQ(p.layer.clock, 0u);
  EXPECT_TRUE(p.above.empty());
}

// Three nodes; a random interleaving of sends and of deliveries of messages in flight, in any
// order. Each node's event values rise strictly, and a receipt comes after its send (the
// clock condition).
RC_GTEST_PROP(LamportClock, RandomInterleavingsKeepEachNodesClockStrictlyIncreasing, ()) {
  constexpr std::uint32_t kNodes = 3;
  std::vector<LayerProbe<LamportClock>> nodes;
  nodes.reserve(kNodes);
  for (PeerId me = 0; me < kNodes; ++me) nodes.emplace_back(LamportClock{}, me, kNodes);
  struct InFlight {
    PeerId from, to;
    std::uint64_t sent_at;
    Msg packet;
  };
  std::vector<InFlight> network;
  std::vector<std::uint64_t> last(kNodes, 0);
  const auto steps = *rc::gen::inRange(0, 200);
  for (int step = 0; step < steps; ++step) {
    if (network.empty() || *rc::gen::arbitrary<bool>()) {
      const auto from = *rc::gen::inRange<PeerId>(0, kNodes);
      const auto to = (from + *rc::gen::inRange<PeerId>(1, kNodes)) % kNodes;
      auto& node = nodes[from];
      node.send(to, "m");
      Event& out = node.below.back();
      RC_ASSERT(out.lamport > last[from]);
      last[from] = out.lamport;
      network.push_back({from, to, out.lamport, std::move(out.msg)});
    } else {
      const auto k = *rc::gen::inRange<std::size_t>(0, network.size());
      InFlight m = std::move(network[k]);
      network.erase(network.begin() + static_cast<std::ptrdiff_t>(k));
      auto& node = nodes[m.to];
      node.receive(m.from, std::move(m.packet));
      const std::uint64_t at = node.above.back().lamport;
      RC_ASSERT(at > last[m.to]);
      RC_ASSERT(at > m.sent_at);
      last[m.to] = at;
    }
    for (PeerId n = 0; n < kNodes; ++n) RC_ASSERT(nodes[n].layer.clock == last[n]);
  }
}

// Packets with a header (any stamp, 0 and the largest included) and packets too short for
// one: the CCP holds, and the handler takes its one path, exactly for the former.
RC_GTEST_PROP(LamportClock, CcpUpHoldsAndEveryPacketWithAHeaderGoesUp, (std::uint64_t clock)) {
  LayerProbe<LamportClock> p;
  p.layer.clock = clock;
  Msg m;
  if (*rc::gen::arbitrary<bool>()) {
    const auto stamp = *rc::gen::oneOf(rc::gen::just<std::uint64_t>(0),
                                       rc::gen::just(std::numeric_limits<std::uint64_t>::max()),
                                       rc::gen::arbitrary<std::uint64_t>());
    m = stamped(stamp, *rc::gen::arbitrary<std::string>());
  } else {
    m = Msg::with_size(*rc::gen::inRange<std::size_t>(0, sizeof(H)));
  }
  Event ev = Event::deliver(1, std::move(m));
  const bool has_header = ev.msg.size() >= sizeof(H);
  H h{};
  const bool ccp = ev.msg.peek(h) && p.layer.ccp_up(ev, h);
  p.up(std::move(ev));
  RC_ASSERT(ccp == (p.above.size() == 1));
  RC_ASSERT(ccp == has_header);
}

RC_GTEST_PROP(LamportClock, CcpDownHoldsAndEveryMessageGoesDownStamped, (const std::string& text)) {
  LayerProbe<LamportClock> p;
  Event ev = Event::send(1, LayerProbe<LamportClock>::msg(text));
  const std::byte* payload = ev.msg.data();
  RC_ASSERT(p.layer.ccp_down(ev));
  p.down(std::move(ev));
  RC_ASSERT(p.below.size() == 1u);
  RC_ASSERT(p.below[0].msg.data() + sizeof(H) == payload);
}

} // namespace
} // namespace lamina
