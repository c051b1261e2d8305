// Retransmit: each message sent goes up exactly once at the receiver, despite loss and
// duplication, because the sender resends until acknowledged and the receiver drops repeats.
#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <rapidcheck/gtest.h>
#include <set>
#include <string>
#include <vector>

#include "components/retransmit.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using Probe = test::LayerProbe<Retransmit>;
using namespace std::chrono_literals;

Retransmit::Header header_of(const Msg& m) {
  Retransmit::Header h{};
  EXPECT_TRUE(m.peek(h));
  return h;
}

Msg ack_for(std::uint32_t id) {
  Msg m = Msg::with_size(0);
  m.push(Retransmit::Header{Retransmit::Kind::ack, {}, id});
  return m;
}

// The packets a sender emits for `count` messages "m0", "m1", ... to peer 1.
std::vector<Msg> data_packets(int count) {
  Probe sender;
  for (int i = 0; i < count; ++i) sender.send(1, "m" + std::to_string(i));
  std::vector<Msg> out;
  for (Event& ev : sender.below) out.push_back(std::move(ev.msg));
  return out;
}

TEST(Retransmit, KeepsACopyUntilAcknowledged) {
  Probe p;
  p.send(1, "hello");
  ASSERT_EQ(p.layer.unacked[1].size(), 1u);
  EXPECT_EQ(p.timers, (std::vector<Duration>{p.layer.timeout}));
  p.receive(1, ack_for(0));
  EXPECT_TRUE(p.layer.unacked[1].empty());
  EXPECT_EQ(p.layer.acks_received, 1u);
}

TEST(Retransmit, ResendsWhatIsUnacknowledgedAfterTheTimeout) {
  Probe p;
  p.send(1, "a");
  p.clock += 5ms;
  p.send(1, "b");
  p.clock = Time(p.layer.timeout);
  p.fire_timer(); // "a" is due, "b" is not yet
  ASSERT_EQ(p.below.size(), 3u);
  EXPECT_EQ(p.below[2].msg, p.below[0].msg);
  EXPECT_EQ(p.layer.retransmitted, 1u);
  EXPECT_TRUE(p.layer.timer_armed);
  p.receive(1, ack_for(0));
  p.receive(1, ack_for(1));
  p.clock += p.layer.timeout;
  p.fire_timer();
  EXPECT_EQ(p.below.size(), 3u);
  EXPECT_FALSE(p.layer.timer_armed); // nothing left to wait for
}

TEST(Retransmit, AcknowledgesEveryCopyButPassesOnlyTheFirstUp) {
  auto packets = data_packets(1);
  Probe p;
  Msg copy = packets[0].clone();
  p.receive(0, std::move(packets[0]));
  p.receive(0, std::move(copy));
  EXPECT_EQ(p.above.size(), 1u);
  EXPECT_EQ(p.layer.duplicates_suppressed, 1u);
  ASSERT_EQ(p.below.size(), 2u);
  for (const Event& ack : p.below) {
    EXPECT_EQ(header_of(ack.msg).kind, Retransmit::Kind::ack);
    EXPECT_EQ(ack.peer, 0u);
  }
}

TEST(Retransmit, DropsMalformedPacketsWithAReason) {
  Probe p;
  p.receive(0, Msg::with_size(3));
  Msg bad = Msg::with_size(0);
  // NOLINTNEXTLINE(clang-analyzer-optin.core.EnumCastOutOfRange): a kind no sender writes
  bad.push(Retransmit::Header{static_cast<Retransmit::Kind>(7), {}, 0});
  p.receive(0, std::move(bad));
  Msg far = Msg::with_size(0);
  far.push(Retransmit::Header{Retransmit::Kind::data, {}, Retransmit::kWindow + 1});
  p.receive(0, std::move(far));
  EXPECT_EQ(p.layer.dropped_short, 1u);
  EXPECT_EQ(p.layer.dropped_bad_kind, 1u);
  EXPECT_EQ(p.layer.dropped_far, 1u);
  EXPECT_TRUE(p.above.empty());
  EXPECT_TRUE(p.below.empty());
}

RC_GTEST_PROP(Retransmit, PassesEachMessageUpOnceWhateverTheCopiesAndOrder, ()) {
  const int count = *rc::gen::inRange(1, 50);
  auto packets = data_packets(count);
  std::vector<Msg> arrivals;
  for (Msg& m : packets) {
    const int copies = *rc::gen::inRange(1, 4);
    for (int c = 1; c < copies; ++c) arrivals.push_back(m.clone());
    arrivals.push_back(std::move(m));
  }
  std::mt19937 rng(*rc::gen::arbitrary<unsigned>());
  std::shuffle(arrivals.begin(), arrivals.end(), rng);

  Probe p;
  for (Msg& m : arrivals) p.receive(0, std::move(m));
  std::multiset<std::string> got;
  for (const Event& ev : p.above) got.insert(Probe::text(ev.msg));
  RC_ASSERT(got.size() == static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) RC_ASSERT(got.count("m" + std::to_string(i)) == 1u);
  RC_ASSERT(p.below.size() == arrivals.size()); // one ack per arrival
  RC_ASSERT(p.layer.received_below[0] == static_cast<std::uint32_t>(count));
  RC_ASSERT(p.layer.received_above[0].empty());
}

RC_GTEST_PROP(Retransmit, CcpHoldsExactlyForTheNextDataInOrderWithNoGap, ()) {
  const int count = *rc::gen::inRange(1, 30);
  auto packets = data_packets(count);
  std::vector<Msg> arrivals;
  for (Msg& m : packets) {
    if (*rc::gen::inRange(0, 4) == 0) arrivals.push_back(m.clone());
    arrivals.push_back(std::move(m));
  }
  arrivals.push_back(ack_for(0));
  std::mt19937 rng(*rc::gen::arbitrary<unsigned>());
  std::shuffle(arrivals.begin(), arrivals.end(), rng);

  Probe p;
  for (Msg& m : arrivals) {
    Event ev = Event::deliver(0, std::move(m));
    const Retransmit::Header h = header_of(ev.msg);
    const bool ccp = p.layer.ccp_up(ev, h);
    const bool gap_before = !p.layer.received_above[0].empty();
    const std::size_t up_before = p.above.size();
    p.up(std::move(ev));
    // The straight path: new data in order with nothing buffered; it goes up at once.
    const bool straight = h.kind == Retransmit::Kind::data && p.above.size() == up_before + 1 &&
                          !gap_before && p.layer.received_above[0].empty();
    RC_ASSERT(ccp == straight);
  }
}

} // namespace
} // namespace lamina
