// Seqno: per-sender FIFO order from a channel that delivers each message once, in any order.
#include <algorithm>
#include <gtest/gtest.h>
#include <numeric>
#include <random>
#include <rapidcheck/gtest.h>
#include <string>
#include <vector>

#include "components/seqno.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using Probe = test::LayerProbe<Seqno>;

// The packets Seqno sends for `count` messages "m0", "m1", ... to peer 1.
std::vector<Msg> numbered_packets(int count) {
  Probe sender;
  for (int i = 0; i < count; ++i) sender.send(1, "m" + std::to_string(i));
  std::vector<Msg> out;
  for (Event& ev : sender.below) out.push_back(std::move(ev.msg));
  return out;
}

TEST(Seqno, NumbersMessagesPerDestination) {
  Probe p;
  p.send(1, "a");
  p.send(1, "b");
  p.send(2, "c");
  ASSERT_EQ(p.below.size(), 3u);
  Seqno::Header h{};
  ASSERT_TRUE(p.below[1].msg.peek(h));
  EXPECT_EQ(h.seq, 1u);
  ASSERT_TRUE(p.below[2].msg.peek(h));
  EXPECT_EQ(h.seq, 0u);
}

TEST(Seqno, CastBecomesOneSendPerOtherMember) {
  Probe p(Seqno{}, /*me=*/1, /*group=*/4);
  p.down(Event::cast(Probe::msg("all")));
  ASSERT_EQ(p.below.size(), 3u);
  std::vector<PeerId> to;
  for (const Event& ev : p.below) {
    EXPECT_EQ(ev.type, EventType::Send);
    to.push_back(ev.peer);
    Msg m = ev.msg.clone();
    Seqno::Header h{};
    ASSERT_TRUE(m.pop(h));
    EXPECT_EQ(Probe::text(m), "all");
  }
  EXPECT_EQ(to, (std::vector<PeerId>{0, 2, 3}));
}

TEST(Seqno, HoldsBackALaterMessageUntilTheGapIsFilled) {
  auto packets = numbered_packets(3);
  Probe p;
  p.receive(0, std::move(packets[2]));
  p.receive(0, std::move(packets[1]));
  EXPECT_TRUE(p.above.empty());
  p.receive(0, std::move(packets[0]));
  ASSERT_EQ(p.above.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Probe::text(p.above[i].msg), "m" + std::to_string(i));
  EXPECT_EQ(p.layer.reordered, 2u);
}

TEST(Seqno, DropsDuplicatesAndCountsThem) {
  auto packets = numbered_packets(2);
  Probe p;
  Msg dup = packets[0].clone();
  p.receive(0, std::move(packets[0]));
  p.receive(0, std::move(dup));
  EXPECT_EQ(p.above.size(), 1u);
  EXPECT_EQ(p.layer.dropped_stale, 1u);
}

TEST(Seqno, DropsShortAndFarPacketsWithAReason) {
  Probe p;
  p.receive(0, Msg::with_size(2));
  EXPECT_EQ(p.layer.dropped_short, 1u);
  Msg far = Msg::with_size(0);
  far.push(Seqno::Header{Seqno{}.window + 5});
  p.receive(0, std::move(far));
  EXPECT_EQ(p.layer.dropped_far, 1u);
  EXPECT_TRUE(p.above.empty());
  EXPECT_TRUE(p.layer.early[0].empty());
}

RC_GTEST_PROP(Seqno, DeliversInSendOrderWhateverTheArrivalOrder, ()) {
  const int count = *rc::gen::inRange(1, 60);
  std::vector<int> order(count);
  std::iota(order.begin(), order.end(), 0);
  const auto seed = *rc::gen::arbitrary<unsigned>();
  std::mt19937 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);

  auto packets = numbered_packets(count);
  Probe p;
  for (int i : order) p.receive(0, std::move(packets[static_cast<std::size_t>(i)]));
  RC_ASSERT(p.above.size() == static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) RC_ASSERT(Probe::text(p.above[i].msg) == "m" + std::to_string(i));
  RC_ASSERT(p.layer.early[0].empty());
}

RC_GTEST_PROP(Seqno, CcpHoldsExactlyWhenAMessageGoesStraightUp, ()) {
  const int count = *rc::gen::inRange(1, 30);
  std::vector<int> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(*rc::gen::arbitrary<unsigned>());
  std::shuffle(order.begin(), order.end(), rng);

  auto packets = numbered_packets(count);
  Probe p;
  for (int i : order) {
    Event ev = Event::deliver(0, std::move(packets[static_cast<std::size_t>(i)]));
    Seqno::Header h{};
    RC_ASSERT(ev.msg.peek(h));
    const bool ccp = p.layer.ccp_up(ev, h);
    const bool was_waiting = !p.layer.early[0].empty();
    const std::size_t before = p.above.size();
    const auto reordered = p.layer.reordered;
    p.up(std::move(ev));
    // The straight path: this message, and only it, went up without touching `early`.
    const bool straight = p.above.size() == before + 1 && !was_waiting;
    RC_ASSERT(ccp == straight);
    if (ccp) RC_ASSERT(p.layer.reordered == reordered);
  }
}

TEST(Seqno, CcpDownHoldsForSendsNotCasts) {
  Seqno s;
  EXPECT_TRUE(s.ccp_down(Event::send(1, Msg{})));
  EXPECT_FALSE(s.ccp_down(Event::cast(Msg{})));
}

} // namespace
} // namespace lamina
