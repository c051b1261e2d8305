// Arq: cumulative and selective acks, delayed and carried on reverse data; a timeout that
// follows the round trip and backs off; a congestion window. On the bench (LayerProbe), each
// mechanism alone; on SimNet, the stacks that use it deliver every message once and in order
// under loss, duplication and reordering, and resend about one message per loss.
#include <algorithm>
#include <cstdlib>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <memory>
#include <random>
#include <rapidcheck/gtest.h>
#include <set>
#include <string>
#include <vector>

#include "components/arq.hpp"
#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "components/window.hpp"
#include "runtime/reflect.hpp"
#include "runtime/stack.hpp"
#include "runtime/workload.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using Probe = test::LayerProbe<Arq>;
using namespace std::chrono_literals;

Arq::Header header_of(const Msg& m) {
  Arq::Header h{};
  EXPECT_TRUE(m.peek(h));
  return h;
}

std::string payload_of(const Msg& packet) {
  Msg m = packet.clone();
  Arq::Header h{};
  EXPECT_TRUE(m.pop(h));
  return Probe::text(m);
}

Msg ack(std::uint32_t below, std::uint32_t sack = 0) {
  Msg m = Msg::with_size(0);
  m.push(Arq::Header{Arq::Kind::ack, {}, 0, below, sack});
  return m;
}

// An ack with a SackBlock: bit i of `block` says id `from` + i has arrived.
Msg ack_block(std::uint32_t below, std::uint32_t sack, std::uint32_t from, std::uint32_t block) {
  Msg m = Msg::with_size(0);
  m.push(Arq::SackBlock{block});
  m.push(Arq::Header{Arq::Kind::ack_block, {}, from, below, sack});
  return m;
}

// Arq's first message to peer 1, "a", acked 1 ms after it went: an SRTT (and a least round
// trip) of 1 ms from here.
void srtt_of_1ms(Probe& p) {
  p.send(1, "a");
  p.clock += 1ms;
  p.receive(1, ack(1));
}

// The packets a sender emits for `count` messages "m0", "m1", ... to peer 1.
std::vector<Msg> data_packets(int count) {
  Arq layer;
  layer.initial_cwnd = static_cast<std::uint32_t>(count) + 1; // none fills the window
  Probe sender(std::move(layer));
  for (int i = 0; i < count; ++i) sender.send(1, "m" + std::to_string(i));
  std::vector<Msg> out;
  for (Event& ev : sender.below) out.push_back(std::move(ev.msg));
  return out;
}

TEST(Arq, AcksOncePerAckEveryMessagesOrAfterTheDelay) {
  auto packets = data_packets(19);
  Probe p;
  for (Msg& m : packets) p.receive(0, std::move(m));
  EXPECT_EQ(p.above.size(), 19u);
  ASSERT_EQ(p.below.size(), 2u); // after the 8th and the 16th
  EXPECT_EQ(header_of(p.below[0].msg).ack, 8u);
  EXPECT_EQ(header_of(p.below[1].msg).ack, 16u);
  EXPECT_EQ(p.layer.owed[0], 3u);
  ASSERT_EQ(p.timers.size(), 1u); // the 17th asked for the delayed ack
  EXPECT_EQ(p.timers[0], p.layer.ack_delay);
  p.clock += p.layer.ack_delay;
  p.fire_timer();
  ASSERT_EQ(p.below.size(), 3u);
  EXPECT_EQ(header_of(p.below[2].msg).ack, 19u);
  EXPECT_EQ(p.layer.acks_sent, 3u);
}

TEST(Arq, DataToThePeerCarriesTheAckItOwes) {
  auto packets = data_packets(3);
  Probe p;
  for (Msg& m : packets) p.receive(0, std::move(m));
  EXPECT_TRUE(p.below.empty());
  p.send(0, "reply");
  ASSERT_EQ(p.below.size(), 1u);
  const Arq::Header h = header_of(p.below[0].msg);
  EXPECT_EQ(h.kind, Arq::Kind::data);
  EXPECT_EQ(h.ack, 3u);
  EXPECT_EQ(p.layer.owed[0], 0u);
  p.clock += p.layer.ack_delay;
  p.fire_timer(); // the ack it owed went with the data
  EXPECT_EQ(p.below.size(), 1u);
  EXPECT_EQ(p.layer.acks_sent, 0u);
}

TEST(Arq, OneLossResendsOneMessage) {
  Probe p;
  for (int i = 0; i < 10; ++i) p.send(1, "m" + std::to_string(i));
  ASSERT_EQ(p.below.size(), 10u);
  // The receiver has 1 .. 9, not 0: three or more selectively acked above it, so 0 is lost.
  p.clock += 2ms;
  p.receive(1, ack(0, 0b111111111));
  ASSERT_EQ(p.below.size(), 11u);
  EXPECT_EQ(header_of(p.below[10].msg).id, 0u);
  EXPECT_EQ(payload_of(p.below[10].msg), "m0");
  EXPECT_EQ(p.layer.retransmitted, 1u);
  EXPECT_EQ(p.layer.fast_recoveries, 1u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 8u); // 16 halved
  EXPECT_EQ(p.layer.sacked[1], 9u);
  // The same ack again finds nothing new; the cumulative ack ends the recovery.
  p.receive(1, ack(0, 0b111111111));
  EXPECT_EQ(p.below.size(), 11u);
  p.receive(1, ack(10));
  EXPECT_TRUE(p.layer.unacked[1].empty());
  EXPECT_FALSE(p.layer.congestion[1].recovering);
  EXPECT_EQ(p.layer.in_flight[1], 0u);
  EXPECT_EQ(p.layer.retransmitted, 1u);
}

// After a hole, the ids that arrived beyond the bitmap's 32 go in a block, the 32 that end at
// the highest arrived.
TEST(Arq, AnAckAloneReachesBeyondItsBitmapWithABlock) {
  auto packets = data_packets(50);
  Probe p;
  for (int i = 13; i < 50; ++i) p.receive(0, std::move(packets[i])); // 0 .. 12 lost
  ASSERT_EQ(p.below.size(), 37u); // each out of order: acked at once
  const Arq::Header first = header_of(p.below[0].msg);
  EXPECT_EQ(first.kind, Arq::Kind::ack); // 13 is within the bitmap
  EXPECT_EQ(first.sack, 1u << 12);
  Msg last = p.below.back().msg.clone();
  Arq::Header h{};
  Arq::SackBlock block{};
  ASSERT_TRUE(last.pop(h) && last.pop(block));
  EXPECT_EQ(h.kind, Arq::Kind::ack_block);
  EXPECT_EQ(h.ack, 0u);
  EXPECT_EQ(h.sack, 0xfffff000u); // 13 .. 32
  EXPECT_EQ(h.id, 18u);           // 18 .. 49
  EXPECT_EQ(block.bits, 0xffffffffu);
  EXPECT_EQ(last.size(), 0u);
}

// The sender takes what a block marks for acknowledged: it leaves what is in flight, so that
// the repairs go at once, though the window was halved. With the bitmap alone, the 31
// messages past it would count as in flight and fill the halved window.
TEST(Arq, ABlockTakesWhatArrivedBeyondTheBitmapOutOfFlight) {
  Arq layer;
  layer.initial_cwnd = 64;
  Probe p(std::move(layer));
  for (int i = 0; i < 64; ++i) p.send(1, "m" + std::to_string(i));
  ASSERT_EQ(p.below.size(), 64u);
  p.clock += 2ms;
  p.receive(1, ack_block(0, 0xfffff000u, 32, 0xffffffffu)); // 0 .. 12 lost; 13 .. 63 arrived
  EXPECT_EQ(p.layer.sacked[1], 51u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 32u);
  EXPECT_EQ(p.layer.retransmitted, 13u); // every repair, at once
  EXPECT_EQ(p.layer.in_flight[1], 13u);
  ASSERT_EQ(p.below.size(), 77u);
  EXPECT_EQ(header_of(p.below[76].msg).id, 12u);
  EXPECT_EQ(p.layer.unacked[1][40].msg.size(), 0u); // id 40's copy is dropped
}

TEST(Arq, MeasuresTheRoundTripFromMessagesSentOnce) {
  Arq layer;
  layer.timeout = 1ms;
  Probe p(std::move(layer));
  p.send(1, "a");
  p.clock += 4ms;
  p.receive(1, ack(1));
  EXPECT_EQ(p.layer.rtt[1].srtt, 4'000'000);
  EXPECT_EQ(p.layer.rtt[1].rttvar, 2'000'000);
  EXPECT_EQ(p.layer.rtt[1].rto, 12'000'000); // srtt + 4 rttvar
  // Karn: a message resent gives no sample; the ack of it ends the back-off all the same.
  p.send(1, "b");
  p.clock += 12ms;
  p.fire_timer();
  EXPECT_EQ(p.layer.timeouts, 1u);
  EXPECT_EQ(p.layer.rtt[1].rto, 24'000'000);
  p.clock += 1ms;
  p.receive(1, ack(2));
  EXPECT_EQ(p.layer.rtt[1].srtt, 4'000'000);
  EXPECT_EQ(p.layer.rtt[1].rttvar, 2'000'000);
  EXPECT_EQ(p.layer.rtt[1].rto, 12'000'000);
}

// After an expiry the window starts again from one message and grows by slow start, though the
// loss is not yet repaired; a loss found by selective acks halves it, and it stays.
TEST(Arq, SlowStartsAfterAnExpiryButHoldsTheWindowInFastRecovery) {
  Probe p;
  for (int i = 0; i < 8; ++i) {
    p.send(1, "m" + std::to_string(i));
    p.clock += 1ms;
  }
  p.clock = Time(p.layer.rtt[1].rto);
  // 0 has expired: all 8 are taken for lost, even 1 .. 7, which have not; else they would
  // hold the window of one shut. 0 is resent, 1 .. 7 wait.
  p.fire_timer();
  EXPECT_EQ(p.layer.congestion[1].cwnd, 1u);
  EXPECT_EQ(p.layer.congestion[1].ssthresh, 8u);
  EXPECT_EQ(p.layer.lost[1], 7u);
  p.receive(1, ack(1)); // 0 arrived: the window grows to 2, and 1, 2 are resent
  EXPECT_EQ(p.layer.congestion[1].cwnd, 2u);
  EXPECT_EQ(p.layer.lost[1], 5u);
  EXPECT_EQ(p.layer.retransmitted, 3u);
  EXPECT_TRUE(p.layer.congestion[1].recovering);
  EXPECT_EQ(p.layer.spurious_timeouts, 0u); // the ack of a repair shows nothing
}

// Expiries whose messages had all arrived (the receiver, or its acks, only late) are undone once
// an ack shows it: it acks messages an expiry took for lost and did not resend. The congestion
// state is back as before the first of them, and only the message resent at each went again.
TEST(Arq, UndoesExpiriesThatAnAckShowsSpurious) {
  Probe p;
  for (int i = 0; i < 8; ++i) {
    p.send(1, "m" + std::to_string(i));
    p.clock += 1ms;
  }
  const Arq::Congestion before = p.layer.congestion[1];
  p.clock = Time(p.layer.rtt[1].rto);
  p.fire_timer(); // all 8 taken for lost; 0 resent
  p.clock += Duration(p.layer.rtt[1].rto);
  p.fire_timer(); // 0's repair expires too, and is resent again; 1 .. 7 still wait
  EXPECT_EQ(p.layer.timeouts, 2u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 1u);
  EXPECT_EQ(p.layer.congestion[1].ssthresh, 2u);
  EXPECT_EQ(p.layer.lost[1], 7u);
  ASSERT_EQ(p.below.size(), 10u);
  p.clock += 1ms;
  p.receive(1, ack(4)); // 0 .. 3 arrived, 1 .. 3 from their only copies
  EXPECT_EQ(p.layer.spurious_timeouts, 1u);
  EXPECT_EQ(p.layer.congestion[1].ssthresh, before.ssthresh);
  EXPECT_EQ(p.layer.congestion[1].cwnd, before.cwnd + 4); // and slow start for the 4 acked
  EXPECT_FALSE(p.layer.congestion[1].recovering);
  EXPECT_EQ(p.layer.lost[1], 0u);
  EXPECT_EQ(p.layer.in_flight[1], 4u); // 4 .. 7, not resent
  EXPECT_EQ(p.below.size(), 10u);
  EXPECT_EQ(p.layer.retransmitted, 2u);
}

// A repair that is lost too is found as the first loss was: three messages sent after it are
// selectively acked. Before, a message resent could be found lost by the timeout alone.
TEST(Arq, FindsALostRepairBySacksOfWhatWasSentAfterIt) {
  Probe p;
  for (int i = 0; i < 10; ++i) p.send(1, "m" + std::to_string(i));
  p.clock += 2ms;
  p.receive(1, ack(0, 0b111111111)); // 1 .. 9 arrived: 0 is lost and resent
  ASSERT_EQ(p.below.size(), 11u);
  EXPECT_EQ(header_of(p.below[10].msg).id, 0u);
  p.clock += 1ms;
  for (int i = 10; i < 14; ++i) p.send(1, "m" + std::to_string(i));
  ASSERT_EQ(p.below.size(), 15u);
  // The repair is lost; 10, 11 and 12, sent after it, arrive. The ack sent for 1 .. 9 alone,
  // had it come again, would not count: those were sent before the repair.
  p.receive(1, ack(0, 0b111111111));
  EXPECT_EQ(p.below.size(), 15u);
  p.receive(1, ack(0, 0b111111111111));
  ASSERT_EQ(p.below.size(), 16u);
  EXPECT_EQ(header_of(p.below[15].msg).id, 0u);
  EXPECT_EQ(p.layer.retransmitted, 2u);
  EXPECT_EQ(p.layer.timeouts, 0u);
  EXPECT_EQ(p.layer.fast_recoveries, 1u); // one recovery: the window is halved once
  EXPECT_EQ(p.layer.congestion[1].cwnd, 8u);
}

// Sends are ordered as they went, not by the time they were stamped with: the transport reads
// the clock once a burst, so a repair and the messages sent before it may carry one time. Here
// all goes at one time: 1 .. 9 went before the repair of 0, so their sacks never take the
// repair for lost; 10, 11 and 12, sent after it, do.
TEST(Arq, AMessageSentBeforeARepairAtTheSameTimeDoesNotTakeItForLost) {
  Probe p;
  for (int i = 0; i < 10; ++i) p.send(1, "m" + std::to_string(i));
  p.receive(1, ack(0, 0b111111111)); // 1 .. 9 arrived: 0 is lost and resent
  ASSERT_EQ(p.below.size(), 11u);
  p.send(1, "m10");
  p.receive(1, ack(0, 0b1111111111)); // and 10: the latest three sacked are 8, 9 and 10
  EXPECT_EQ(p.layer.retransmitted, 1u);
  EXPECT_EQ(p.layer.lost[1], 0u);
  for (int i = 11; i < 13; ++i) p.send(1, "m" + std::to_string(i));
  p.receive(1, ack(0, 0b111111111111)); // 10, 11 and 12, sent after the repair: it is lost
  EXPECT_EQ(p.layer.retransmitted, 2u);
  EXPECT_EQ(header_of(p.below.back().msg).id, 0u);
}

// Once an expiry is undone, its repair, acked with the first copies, orders nothing for RACK's
// reordering window: else 5 .. 8, back in flight, would be taken for lost again at once, as
// sent before a message acked and in flight for longer than the window.
TEST(Arq, AnUndoneExpiryTakesNothingForLostByItsRepair) {
  Probe p;
  srtt_of_1ms(p);
  for (int i = 1; i <= 8; ++i) p.send(1, "m" + std::to_string(i));
  p.clock += 3ms;
  p.fire_timer(); // the probe: 8 again
  p.clock = Time(21ms);
  p.fire_timer(); // the expiry: 1 .. 8 taken for lost, 1 resent
  EXPECT_EQ(p.layer.timeouts, 1u);
  EXPECT_EQ(p.layer.retransmitted, 2u);
  p.clock += 1ms;
  p.receive(1, ack(5)); // 1 .. 4 arrived, 2 .. 4 from their only copies: undone
  EXPECT_EQ(p.layer.spurious_timeouts, 1u);
  EXPECT_EQ(p.layer.lost[1], 0u);
  EXPECT_EQ(p.layer.in_flight[1], 4u);
  EXPECT_EQ(p.layer.retransmitted, 2u);
}

// A repair acked sooner than the least round trip after it went was acked by an earlier copy:
// here the first copy of 1, only late. It takes nothing sent before the repair for lost (RFC
// 8985's step 2); else 5 .. 10, in flight for longer than the reordering window, would be
// resent, and each of their repairs, acked as soon, would do the same to what went before it.
TEST(Arq, ARepairAckedSoonerThanTheLeastRoundTripTakesNothingForLost) {
  Probe p;
  srtt_of_1ms(p);
  ASSERT_EQ(p.layer.rtt[1].least, 1'000'000);
  for (int i = 1; i <= 10; ++i) p.send(1, "m" + std::to_string(i));
  p.clock += 1ms;
  p.receive(1, ack(1, 0b111)); // 2, 3 and 4 arrived: 1 is lost and resent
  EXPECT_EQ(p.layer.retransmitted, 1u);
  p.clock += 500us;
  p.receive(1, ack(5)); // 1's first copy came after all
  EXPECT_EQ(p.layer.lost[1], 0u);
  EXPECT_EQ(p.layer.in_flight[1], 6u);
  EXPECT_EQ(p.layer.retransmitted, 1u);
}

// A lost tail has nothing after it to be acked. Once a round trip is known, the probe sends the
// message in flight sent last again after 2 SRTT + ack_delay, long before the timeout, to be
// acked at once; its ack shows the rest lost by the reordering window, and the window is halved
// rather than shut. A second probe waits for an ack, so a dead path meets the timeout.
TEST(Arq, ProbesALostTailAfterTwoRoundTripsWithoutSlowStart) {
  Probe p;
  srtt_of_1ms(p);
  ASSERT_EQ(p.layer.rtt[1].srtt, 1'000'000);
  EXPECT_EQ(p.layer.rtt[1].rto, 20'000'000); // the least timeout
  for (int i = 0; i < 3; ++i) p.send(1, "t" + std::to_string(i));
  ASSERT_EQ(p.below.size(), 4u);
  EXPECT_EQ(p.timers.back(), 3ms); // 2 SRTT + ack_delay
  p.clock += 3ms;
  p.fire_timer(); // the probe: the last sent again, nothing taken for lost
  EXPECT_EQ(p.layer.probes, 1u);
  EXPECT_EQ(p.layer.timeouts, 0u);
  ASSERT_EQ(p.below.size(), 5u);
  EXPECT_EQ(header_of(p.below[4].msg).id, 3u);
  EXPECT_EQ(header_of(p.below[4].msg).kind, Arq::Kind::data_ack_now);
  EXPECT_EQ(p.layer.lost[1], 0u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 17u); // 16, and one for "a"
  EXPECT_FALSE(p.layer.congestion[1].recovering);
  EXPECT_EQ(p.timers.back(), 17ms); // no second probe: the timeout of 1 and 2 (sent at 1 ms)
  p.clock += 3ms;
  p.fire_timer();
  EXPECT_EQ(p.below.size(), 5u);
  EXPECT_EQ(p.layer.probes, 1u);
  p.receive(1, ack(1, 0b10)); // the probe arrived, 1 and 2 did not: sent 1.25 SRTT before it
  EXPECT_FALSE(p.layer.probed[1]);
  EXPECT_EQ(p.layer.fast_recoveries, 1u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 8u); // 17 halved
  ASSERT_EQ(p.below.size(), 7u);
  EXPECT_EQ(header_of(p.below[5].msg).id, 1u);
  EXPECT_EQ(header_of(p.below[6].msg).id, 2u);
  p.receive(1, ack(4)); // the repairs arrived: the recovery is over
  EXPECT_FALSE(p.layer.congestion[1].recovering);
  EXPECT_EQ(p.layer.retransmitted, 3u);
}

// A receiver that only answers late (descheduled, say) had everything: the probe costs one
// message sent again, and the window stays as it was. Its acks come as it reads, the first
// covering only part of what was sent before the probe: that is no sign of loss.
TEST(Arq, AProbeOfATailThatArrivedCostsOneMessage) {
  Probe p;
  srtt_of_1ms(p);
  for (int i = 0; i < 10; ++i) p.send(1, "t" + std::to_string(i));
  p.clock += 3ms;
  p.fire_timer();
  ASSERT_EQ(p.below.size(), 12u);
  EXPECT_EQ(header_of(p.below[11].msg).id, 10u);
  p.clock += 10ms;
  p.receive(1, ack(9)); // 1 .. 8
  EXPECT_EQ(p.layer.lost[1], 0u);
  EXPECT_EQ(p.layer.in_flight[1], 2u);
  p.receive(1, ack(11)); // the rest, and the probe again
  EXPECT_EQ(p.layer.retransmitted, 1u);
  EXPECT_EQ(p.layer.fast_recoveries, 0u);
  EXPECT_EQ(p.layer.in_flight[1], 0u);
  EXPECT_GE(p.layer.congestion[1].cwnd, 17u);
  EXPECT_FALSE(p.layer.congestion[1].recovering);
}

// With a round trip known, one sack is enough for a message sent before it that has been in
// flight for SRTT + SRTT/4 (RACK's reordering window); before that, it may only be reordered.
TEST(Arq, ASackTakesAMessageSentBeforeItForLostAfterTheReorderingWindow) {
  Probe p;
  srtt_of_1ms(p);
  p.send(1, "b");
  p.send(1, "c");
  p.clock += 1ms;
  p.receive(1, ack(1, 0b1)); // c arrived, b not yet: 1 ms, within the window
  EXPECT_EQ(p.layer.lost[1] + p.layer.retransmitted, 0u);
  p.clock += 250us;
  p.send(1, "d");
  p.receive(1, ack(1, 0b11)); // d too, 1.25 ms after b went: b is lost
  EXPECT_EQ(p.layer.retransmitted, 1u);
  EXPECT_EQ(header_of(p.below.back().msg).id, 1u);
  EXPECT_EQ(p.layer.fast_recoveries, 1u);
}

// An ack that acknowledges something new restarts the timers (RFC 6298's 5.3): a receiver that
// works through a backlog slower than the timeout, but acks as it goes, costs no expiry.
TEST(Arq, AnAckOfNewsRestartsTheTimers) {
  Probe p;
  p.send(1, "x");
  p.clock += 1ms;
  p.receive(1, ack(1));                                           // SRTT 1 ms
  for (int i = 0; i < 4; ++i) p.send(1, "m" + std::to_string(i)); // ids 1 .. 4, at 1 ms
  p.clock = 15ms;
  p.receive(1, ack(2)); // 1 arrived: the timers of 2 .. 4 count from here
  const std::int64_t srtt = p.layer.rtt[1].srtt;
  ASSERT_EQ(p.layer.rtt[1].rto, 20'000'000);
  p.clock = 21ms; // 20 ms after 2 .. 4 went, 6 ms after the ack
  p.fire_timer();
  EXPECT_EQ(p.layer.timeouts, 0u);
  EXPECT_EQ(p.layer.probes, 0u);
  EXPECT_EQ(p.below.size(), 5u);
  EXPECT_EQ(p.timers.back(), 15ms + 2 * Duration(srtt) + 1ms - 21ms); // the probe's
}

TEST(Arq, TheTimeoutDoublesOnEachExpiryUpToItsCeiling) {
  Arq layer;
  layer.max_timeout = 100ms;
  Probe p(std::move(layer));
  p.send(1, "a");
  std::vector<std::int64_t> seen;
  for (int i = 0; i < 5; ++i) {
    p.clock += Duration(p.layer.rtt[1].rto);
    p.fire_timer();
    seen.push_back(p.layer.rtt[1].rto / 1'000'000);
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{40, 80, 100, 100, 100}));
  EXPECT_EQ(p.layer.retransmitted, 5u);
  EXPECT_EQ(p.layer.congestion[1].cwnd, 1u);
}

TEST(Arq, TheCongestionWindowBoundsWhatIsInFlight) {
  Probe p;
  for (int i = 0; i < 20; ++i) p.send(1, "m" + std::to_string(i));
  ASSERT_EQ(p.below.size(), 16u);
  EXPECT_EQ(header_of(p.below[14].msg).kind, Arq::Kind::data);
  EXPECT_EQ(header_of(p.below[15].msg).kind, Arq::Kind::data_ack_now); // it fills the window
  EXPECT_EQ(p.layer.waiting[1].size(), 4u);
  EXPECT_EQ(p.layer.queued, 4u);
  p.receive(1, ack(8)); // slow start: the window grows by what was acked, to 24
  EXPECT_EQ(p.layer.congestion[1].cwnd, 24u);
  EXPECT_EQ(p.below.size(), 20u);
  EXPECT_TRUE(p.layer.waiting[1].empty());
}

// Congestion avoidance counts what a window of acks carried. Where the transport bundles
// datagrams of 1,452 bytes, a 64-byte message and Arq's 16-byte header are 80 bytes, 18 to a
// datagram: a window of 20 acked grows by 18 messages, where unbundled it grows by one. A
// message of 700 bytes counts 2, and of 1 KiB, which a datagram holds one of, 1.
TEST(Arq, CongestionAvoidanceGrowsByADatagramsWorthOfMessagesAWindow) {
  struct Case {
    std::uint32_t bundle;
    std::size_t size;
    std::uint32_t grown;
  };
  for (const Case c :
       {Case{0, 64, 21}, Case{1452, 64, 38}, Case{1452, 700, 22}, Case{1452, 1024, 21}}) {
    Arq layer;
    layer.initial_cwnd = 20;
    layer.max_cwnd = 100;
    layer.bundle_bytes = c.bundle;
    Probe p(std::move(layer));
    const std::string payload(c.size, 'x');
    p.send(1, payload);
    p.layer.congestion[1].ssthresh = 20; // congestion avoidance from the start
    for (int i = 1; i < 20; ++i) p.send(1, payload);
    p.receive(1, ack(20));
    EXPECT_EQ(p.layer.congestion[1].cwnd, c.grown) << c.bundle << " " << c.size;
    EXPECT_EQ(p.layer.congestion[1].credit, 0u) << c.bundle << " " << c.size;
  }
}

TEST(Arq, DropsAndCountsWhatAcksTheNeverSent) {
  Probe p;
  for (int i = 0; i < 4; ++i) p.send(1, "m" + std::to_string(i));
  p.receive(1, ack(5));                   // ids 0 .. 3 were sent
  p.receive(1, ack(1, 1u << 2));          // id 4, never sent
  p.receive(1, ack(3, 1));                // id 4 again
  p.receive(1, ack(4, 1));                // everything acked, and 5 beyond it
  p.receive(1, Msg::with_size(5));        // too short for a header
  p.receive(1, ack_block(0, 0, 3, 0b10)); // id 4, in a block
  p.receive(1, ack_block(1, 0, 0, 1));    // id 0, at or below the ack
  Msg no_block = Msg::with_size(0);       // an ack_block without its SackBlock
  no_block.push(Arq::Header{Arq::Kind::ack_block, {}, 1, 0, 0});
  p.receive(1, std::move(no_block));
  Msg bad = Msg::with_size(0);
  // NOLINTNEXTLINE(clang-analyzer-optin.core.EnumCastOutOfRange): a kind no sender writes
  bad.push(Arq::Header{static_cast<Arq::Kind>(9), {}, 0, 0, 0});
  p.receive(1, std::move(bad));
  EXPECT_EQ(p.layer.dropped_forged, 6u);
  EXPECT_EQ(p.layer.dropped_short, 2u);
  EXPECT_EQ(p.layer.dropped_bad_kind, 1u);
  EXPECT_EQ(p.layer.unacked[1].size(), 4u); // nothing released
  EXPECT_EQ(p.layer.in_flight[1], 4u);
  p.receive(1, ack(4)); // the truth releases them
  EXPECT_TRUE(p.layer.unacked[1].empty());
}

// The bitmap the receiver keeps, rebuilt from the set it stands for.
std::uint32_t bitmap_of(const Arq& a, PeerId peer) {
  std::uint32_t bits = 0;
  for (std::uint32_t k : a.received_above.get(peer)) {
    const std::uint32_t ahead = k - a.received_below.get(peer);
    if (ahead >= 1 && ahead <= Arq::kSackBits) bits |= 1u << (ahead - 1);
  }
  return bits;
}

// An ack alone that `a` just sent to peer 0: a block, exactly when an id beyond the bitmap has
// arrived, of the 32 ids that end at the highest arrived.
void check_block(const Arq& a, const Msg& sent) {
  Msg m = sent.clone();
  Arq::Header h{};
  RC_ASSERT(m.pop(h));
  const std::uint32_t below = a.received_below.get(0);
  std::uint32_t highest = below;
  for (std::uint32_t k : a.received_above.get(0)) highest = std::max(highest, k);
  if (highest - below <= Arq::kSackBits) {
    RC_ASSERT(h.kind == Arq::Kind::ack);
    return;
  }
  Arq::SackBlock block{};
  RC_ASSERT(h.kind == Arq::Kind::ack_block && m.pop(block));
  RC_ASSERT(h.id == highest - 31);
  for (std::uint32_t i = 0; i < 32; ++i)
    RC_ASSERT(((block.bits >> i) & 1) == (a.received_above.get(0).contains(h.id + i) ? 1u : 0u));
}

RC_GTEST_PROP(Arq, PassesEachMessageUpOnceWhateverTheCopiesAndOrder, ()) {
  const int count = *rc::gen::inRange(1, 80);
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
  for (Msg& m : arrivals) {
    const std::size_t acks_before = p.below.size();
    p.receive(0, std::move(m));
    RC_ASSERT(p.layer.sack_bits[0] == bitmap_of(p.layer, 0));
    if (p.below.size() != acks_before) check_block(p.layer, p.below.back().msg);
  }
  std::multiset<std::string> got;
  for (const Event& ev : p.above) got.insert(Probe::text(ev.msg));
  RC_ASSERT(got.size() == static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) RC_ASSERT(got.count("m" + std::to_string(i)) == 1u);
  RC_ASSERT(p.layer.received_below[0] == static_cast<std::uint32_t>(count));
  RC_ASSERT(p.layer.received_above[0].empty());
}

RC_GTEST_PROP(Arq, CcpHoldsExactlyForTheNextDataInOrderThatChangesNoAck, ()) {
  const int count = *rc::gen::inRange(1, 30);
  auto packets = data_packets(count);
  std::vector<Msg> arrivals;
  for (Msg& m : packets) {
    if (*rc::gen::inRange(0, 4) == 0) arrivals.push_back(m.clone());
    arrivals.push_back(std::move(m));
  }
  std::mt19937 rng(*rc::gen::arbitrary<unsigned>());
  std::shuffle(arrivals.begin(), arrivals.end(), rng);

  Probe p;
  for (Msg& m : arrivals) {
    Event ev = Event::deliver(0, std::move(m));
    const Arq::Header h = header_of(ev.msg);
    const bool ccp = p.layer.ccp_up(ev, h);
    const bool gap_before = !p.layer.received_above[0].empty();
    const std::size_t up_before = p.above.size();
    p.up(std::move(ev));
    const bool straight =
        p.above.size() == up_before + 1 && !gap_before && p.layer.received_above[0].empty();
    RC_ASSERT(ccp == straight);
  }
}

// A sender against a random receiver: acks of what arrived, in any order, some repeated, and
// timers. No data goes out while the window is full, and what is in flight, lost and sacked
// always adds up to what is unacked.
RC_GTEST_PROP(Arq, NeverSendsNewDataBeyondTheWindowAndItsCountsAddUp, ()) {
  Arq layer;
  layer.initial_cwnd = *rc::gen::inRange(1, 8);
  layer.max_cwnd = *rc::gen::inRange(layer.initial_cwnd, 80u); // beyond the bitmap too
  layer.bundle_bytes = *rc::gen::element(0u, 1452u, 65536u);
  Probe p(std::move(layer));
  std::set<std::uint32_t> arrived;
  const int steps = *rc::gen::inRange(1, 300);
  for (int s = 0; s < steps; ++s) {
    const std::size_t before = p.below.size();
    const std::uint32_t sent_before = p.layer.next_id[1];
    switch (*rc::gen::inRange(0, 4)) {
    case 0:
      p.send(1, std::string(*rc::gen::inRange(1, 1500), 'x'));
      break;
    case 1: { // the receiver acks: a cumulative ack, a bitmap of what arrived above it, and
              // maybe a block of 32 ids further on
      std::uint32_t below = p.layer.acked_below[1];
      while (arrived.contains(below)) ++below;
      std::uint32_t bits = 0;
      for (std::uint32_t i = 0; i < Arq::kSackBits; ++i)
        if (arrived.contains(below + 1 + i)) bits |= 1u << i;
      const auto beyond = arrived.upper_bound(below + Arq::kSackBits);
      if (beyond == arrived.end() || *rc::gen::inRange(0, 2) == 0) {
        p.receive(1, ack(below, bits));
        break;
      }
      const std::uint32_t from = *beyond;
      std::uint32_t block = 0;
      for (std::uint32_t i = 0; i < 32; ++i)
        if (arrived.contains(from + i)) block |= 1u << i;
      p.receive(1, ack_block(below, bits, from, block));
      break;
    }
    case 2:
      p.clock += Duration(*rc::gen::inRange(0, 50'000'000));
      p.fire_timer();
      break;
    default:
      break;
    }
    // Some of what was just put on the wire arrives.
    for (std::size_t i = before; i < p.below.size(); ++i)
      if (*rc::gen::inRange(0, 10) < 7) arrived.insert(header_of(p.below[i].msg).id);
    if (p.layer.next_id[1] != sent_before)
      RC_ASSERT(p.layer.in_flight[1] <= p.layer.congestion[1].cwnd);
    std::uint32_t in_flight = 0, lost = 0, sacked = 0;
    for (const Arq::Unacked& u : p.layer.unacked[1]) {
      if (u.sacked)
        ++sacked;
      else if (u.lost)
        ++lost;
      else
        ++in_flight;
    }
    RC_ASSERT(in_flight == p.layer.in_flight[1]);
    RC_ASSERT(lost == p.layer.lost[1]);
    RC_ASSERT(sacked == p.layer.sacked[1]);
    RC_ASSERT(p.layer.unacked[1].size() == p.layer.next_id[1] - p.layer.acked_below[1]);
    RC_ASSERT(p.layer.congestion[1].cwnd <= p.layer.max_cwnd);
  }
}

// ---- On SimNet ----

using ArqFifo = stack<Top, Frag, Seqno, Arq, Checksum, Bottom>;
using FlowFifo = stack<Top, Window, Frag, Seqno, Arq, Checksum, Bottom>;

struct StackRun {
  WorkloadReport report;
  std::uint64_t retransmitted = 0, timeouts = 0, acks_sent = 0, data_sent = 0;
};

// The workload's application sends without asking Window's would_block(), so a load beyond
// what the network carries would fill Window's queue and have sends refused: the workloads
// here stay below it.
template <class Stack>
StackRun run_stack(const Workload& w) {
  std::vector<std::unique_ptr<Stack>> stacks;
  std::vector<Endpoint*> raw;
  for (std::uint32_t i = 0; i < w.nodes; ++i) {
    stacks.push_back(std::make_unique<Stack>());
    raw.push_back(stacks.back().get());
  }
  StackRun r{run_workload(w, raw)};
  for (auto& s : stacks) {
    const Arq& a = s->template get<Arq>();
    r.retransmitted += a.retransmitted;
    r.timeouts += a.timeouts;
    r.acks_sent += a.acks_sent;
    for (std::uint32_t id : a.next_id) r.data_sent += id;
  }
  return r;
}

// Whatever the loss, duplication, reordering and capacity of the links, every message arrives
// once and in order.
RC_GTEST_PROP(Arq, FlowFifoDeliversEveryMessageOnceInOrderWhateverTheNetworkDoes, ()) {
  Workload w;
  w.seed = *rc::gen::arbitrary<std::uint64_t>();
  w.nodes = *rc::gen::inRange(2, 5);
  w.messages_per_node = *rc::gen::inRange(1, 100);
  w.max_size = *rc::gen::inRange(16, 5000);
  w.spacing = Duration(*rc::gen::inRange(1'000, 300'000)); // bursts that fill a link's queue
  w.link = {.delay = Duration(*rc::gen::inRange(0, 3'000'000)),
            .jitter = Duration(*rc::gen::inRange(0, 5'000'000)),
            .loss = *rc::gen::inRange(0, 40) / 100.0,
            .duplicate = *rc::gen::inRange(0, 20) / 100.0,
            // Most runs on a link of bounded capacity, 0.1 to 10 MB/s with a queue of 1 to 64
            // packets, which drops what overflows.
            .rate = *rc::gen::element<std::uint64_t>(0, 100'000, 1'000'000, 10'000'000),
            .queue = *rc::gen::inRange<std::uint32_t>(1, 65)};
  const StackRun flow = run_stack<FlowFifo>(w);
  RC_ASSERT(flow.report.perfect());
  RC_ASSERT(run_stack<ArqFifo>(w).report.perfect());
  RC_CLASSIFY(flow.report.net.overflowed > 0, "a link's queue overflowed");
}

// On a stable network (no reordering, no duplication) each lost data packet costs about one
// retransmission: losses are found from selective acks, not by resending all that is unacked.
TEST(Arq, OnAStableNetworkResendsAboutOnceForEachLoss) {
  Workload w;
  w.nodes = 2;
  w.messages_per_node = 2000;
  w.max_size = 1000;
  w.cast_share = 0;
  w.spacing = 500us; // well within what the congestion window allows at 2% loss
  w.link = {.delay = 1ms, .loss = 0.02};
  std::uint64_t retransmitted = 0, data_sent = 0, lost = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    w.seed = seed;
    const StackRun r = run_stack<ArqFifo>(w);
    ASSERT_TRUE(r.report.perfect()) << r.report.summary();
    retransmitted += r.retransmitted;
    data_sent += r.data_sent;
    lost += r.report.net.lost;
  }
  // About 2% of the data packets are lost (and 2% of the acks, which later acks repair).
  const double data_lost = 0.02 * static_cast<double>(data_sent);
  EXPECT_GT(retransmitted, 0u);
  EXPECT_LE(static_cast<double>(retransmitted), 1.25 * data_lost)
      << retransmitted << " resent for about " << data_lost << " data packets lost (" << lost
      << " packets lost in all)";
}

} // namespace
} // namespace lamina
