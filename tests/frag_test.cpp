// Frag: messages of any size cut into fragments of at most mtu bytes and put together again;
// fragments that do not continue the message being reassembled are dropped, never joined.
#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <vector>

#include "components/frag.hpp"
#include "runtime/reflect.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using test::LayerProbe;
using H = Frag::Header;

Msg pattern(std::size_t size, std::uint32_t seed = 0) {
  Msg m = Msg::with_size(size);
  for (std::size_t i = 0; i < size; ++i)
    m.writable_data()[i] =
        static_cast<std::byte>((i * 131 + std::size_t{seed} * 7 + i / 251) & 0xFF);
  return m;
}

Msg packet(H h, std::size_t payload_size, std::uint32_t seed = 0) {
  Msg m = pattern(payload_size, seed);
  m.push(h);
  return m;
}

Frag with_mtu(std::uint32_t mtu) {
  Frag f;
  f.mtu = mtu;
  return f;
}

H header_of(const Event& ev) {
  H h{};
  EXPECT_TRUE(ev.msg.peek(h));
  return h;
}

// Everything the layer holds, printed: equal before and after exactly when nothing changed.
std::string state(const Frag& f) { return to_text(f); }

// Sends `m` down through `sender` and feeds what comes out into `receiver` from peer 0.
void carry(LayerProbe<Frag>& sender, LayerProbe<Frag>& receiver, Msg m) {
  sender.below.clear();
  sender.down(Event::send(1, std::move(m)));
  for (Event& ev : sender.below) receiver.receive(0, std::move(ev.msg));
}

TEST(Frag, MessageThatFitsGoesDownInItsOwnBufferWithAWholeHeader) {
  LayerProbe<Frag> p(with_mtu(16));
  Msg m = pattern(16);
  const std::byte* payload = m.data();
  p.down(Event::send(1, std::move(m)));
  ASSERT_EQ(p.below.size(), 1u);
  const H h = header_of(p.below[0]);
  EXPECT_EQ(h.message, 0u);
  EXPECT_EQ(h.index, 0u);
  EXPECT_EQ(h.count, 1u);
  EXPECT_EQ(p.below[0].msg.data() + sizeof(H), payload);
  EXPECT_EQ(p.layer.fragmented, 0u);
}

TEST(Frag, FragmentsCarryTheTypePeerTimeAndLamportOfTheMessage) {
  LayerProbe<Frag> p(with_mtu(10));
  p.clock = Time{1234};
  Event ev = Event::cast(pattern(35));
  ev.lamport = 42;
  p.down(std::move(ev));
  ASSERT_EQ(p.below.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i) {
    const Event& piece = p.below[i];
    EXPECT_EQ(piece.type, EventType::Cast);
    EXPECT_EQ(piece.peer, kAllPeers);
    EXPECT_EQ(piece.time, Time{1234});
    EXPECT_EQ(piece.lamport, 42u);
    const H h = header_of(piece);
    EXPECT_EQ(h.index, i);
    EXPECT_EQ(h.count, 4u);
    EXPECT_EQ(h.message, 1u);
    EXPECT_EQ(piece.msg.size(), sizeof(H) + (i < 3 ? 10u : 5u));
  }
  EXPECT_EQ(p.layer.fragmented, 1u);
  EXPECT_EQ(p.layer.next_message, 2u);
}

TEST(Frag, RestoresMessagesAtTheEdgesOfTheMtu) {
  const std::size_t mtu = Frag{}.mtu;
  LayerProbe<Frag> sender, receiver;
  const std::vector<std::size_t> sizes = {0, 1, mtu - 1, mtu, mtu + 1, 2 * mtu, 10 * mtu + 7};
  for (std::size_t size : sizes) {
    carry(sender, receiver, pattern(size, static_cast<std::uint32_t>(size)));
    EXPECT_EQ(sender.below.size(), std::max<std::size_t>(1, (size + mtu - 1) / mtu)) << size;
    ASSERT_FALSE(receiver.above.empty()) << size;
    EXPECT_EQ(receiver.above.back().msg, pattern(size, static_cast<std::uint32_t>(size))) << size;
    EXPECT_EQ(receiver.above.back().type, EventType::Deliver);
    EXPECT_EQ(receiver.above.back().peer, 0u);
  }
  EXPECT_EQ(receiver.above.size(), sizes.size());
  EXPECT_EQ(receiver.layer.reassembled, 3u);
}

RC_GTEST_PROP(Frag, ReassemblesAnySizeAcrossFragments, ()) {
  const auto mtu = *rc::gen::inRange<std::uint32_t>(1, 100);
  const auto sizes =
      *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, 2000));
  LayerProbe<Frag> sender(with_mtu(mtu)), receiver(with_mtu(mtu));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    carry(sender, receiver, pattern(sizes[i], static_cast<std::uint32_t>(i)));
    RC_ASSERT(sender.below.size() == std::max<std::size_t>(1, (sizes[i] + mtu - 1) / mtu));
    for (const Event& piece : sender.below) RC_ASSERT(piece.msg.size() <= sizeof(H) + mtu);
    RC_ASSERT(receiver.above.size() == i + 1);
    RC_ASSERT(receiver.above[i].msg == pattern(sizes[i], static_cast<std::uint32_t>(i)));
  }
  const auto cut = static_cast<std::uint64_t>(
      std::count_if(sizes.begin(), sizes.end(), [&](std::size_t size) { return size > mtu; }));
  RC_ASSERT(sender.layer.fragmented == cut);
  RC_ASSERT(receiver.layer.reassembled == cut);
  RC_ASSERT(receiver.layer.fragmented == 0u);
  // RC_ASSERT evaluates both sides of a ||: decide first.
  const Frag::Partial* left = receiver.layer.partial.find(0);
  const bool nothing_left = left == nullptr || left->count == 0;
  RC_ASSERT(nothing_left);
}

TEST(Frag, DropsPacketsTooShortForAHeader) {
  LayerProbe<Frag> p;
  for (std::size_t size = 0; size < sizeof(H); ++size) p.receive(0, pattern(size));
  EXPECT_EQ(p.layer.dropped_short, sizeof(H));
  EXPECT_TRUE(p.above.empty());
}

TEST(Frag, DropsFragmentsWithACountOfZeroOrAnIndexPastTheCount) {
  LayerProbe<Frag> p(with_mtu(8));
  p.receive(0, packet({1, 0, 0}, 8));
  p.receive(0, packet({1, 2, 2}, 8));
  p.receive(0, packet({1, 7, 3}, 8));
  EXPECT_EQ(p.layer.dropped_malformed, 3u);
  EXPECT_TRUE(p.above.empty());
}

TEST(Frag, DropsAFragmentLongerThanTheMtuAndItsMessage) {
  LayerProbe<Frag> p(with_mtu(8));
  p.receive(0, packet({1, 0, 2}, 9));
  EXPECT_EQ(p.layer.dropped_malformed, 1u);
  p.receive(0, packet({2, 0, 2}, 8));
  p.receive(0, packet({2, 1, 2}, 9));
  EXPECT_EQ(p.layer.dropped_malformed, 2u);
  EXPECT_EQ(p.layer.partial[0].count, 0u);
  EXPECT_TRUE(p.above.empty());
}

TEST(Frag, RejectsMessagesLargerThanTheReassemblyLimit) {
  Frag f = with_mtu(100);
  f.max_message = 1000;
  LayerProbe<Frag> p(std::move(f));
  p.receive(0, packet({1, 0, 11}, 100));
  EXPECT_EQ(p.layer.dropped_too_large, 1u);
  EXPECT_EQ(p.layer.partial[0].count, 0u);
  p.receive(0, packet({1, 0, 10}, 100));
  EXPECT_EQ(p.layer.partial[0].count, 10u);
  p.send(1, std::string(1001, 'x'));
  EXPECT_EQ(p.layer.refused_too_large, 1u);
  EXPECT_TRUE(p.below.empty());
}

TEST(Frag, DiscardsThePartialMessageOnAFragmentOutOfOrder) {
  LayerProbe<Frag> p(with_mtu(8));
  p.receive(0, packet({5, 0, 3}, 8));
  p.receive(0, packet({5, 2, 3}, 8)); // skips 1
  EXPECT_EQ(p.layer.dropped_out_of_order, 1u);
  EXPECT_EQ(p.layer.partial[0].count, 0u);
  p.receive(0, packet({5, 1, 3}, 8)); // nothing to continue
  p.receive(0, packet({5, 2, 3}, 8));
  EXPECT_EQ(p.layer.dropped_out_of_order, 3u);
  p.receive(0, packet({6, 0, 2}, 8));
  p.receive(0, packet({6, 1, 3}, 8)); // another count
  p.receive(0, packet({7, 0, 2}, 8));
  p.receive(0, packet({8, 1, 2}, 8)); // another message
  EXPECT_EQ(p.layer.dropped_out_of_order, 5u);
  EXPECT_TRUE(p.above.empty());
}

TEST(Frag, ANewMessageAbandonsTheOneBeingReassembled) {
  LayerProbe<Frag> p(with_mtu(8));
  p.receive(0, packet({1, 0, 3}, 8));
  p.receive(0, packet({2, 0, 2}, 8, 1));
  p.receive(0, packet({2, 1, 2}, 3, 2));
  p.receive(0, packet({3, 0, 3}, 8));
  p.receive(0, packet({0, 0, 1}, 5, 3));
  EXPECT_EQ(p.layer.abandoned_partial, 2u);
  ASSERT_EQ(p.above.size(), 2u);
  Msg first = pattern(8, 1);
  first.append(pattern(3, 2).bytes());
  EXPECT_EQ(p.above[0].msg, first);
  EXPECT_EQ(p.above[1].msg, pattern(5, 3));
}

TEST(Frag, ReassemblesEachSendersMessagesSeparately) {
  LayerProbe<Frag> p(with_mtu(8));
  p.receive(0, packet({1, 0, 2}, 8, 1));
  p.receive(1, packet({1, 0, 2}, 8, 2));
  p.receive(1, packet({1, 1, 2}, 1, 3));
  p.receive(0, packet({1, 1, 2}, 1, 4));
  ASSERT_EQ(p.above.size(), 2u);
  EXPECT_EQ(p.above[0].peer, 1u);
  EXPECT_EQ(p.above[1].peer, 0u);
  Msg from0 = pattern(8, 1), from1 = pattern(8, 2);
  from0.append(pattern(1, 4).bytes());
  from1.append(pattern(1, 3).bytes());
  EXPECT_EQ(p.above[0].msg, from1);
  EXPECT_EQ(p.above[1].msg, from0);
}

// Without Seqno below: fragments lost, duplicated and reordered. Whatever goes up is one of
// the messages sent, byte for byte; the rest is dropped.
RC_GTEST_PROP(Frag, NeverDeliversAGarbledMessageUnderLossDuplicationAndReordering, ()) {
  const auto mtu = *rc::gen::inRange<std::uint32_t>(1, 16);
  // Sizes of one to four fragments, so that many messages have the same count.
  const auto sizes = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(
      rc::gen::inRange<std::size_t>(0, 4 * std::size_t{mtu} + 1)));
  LayerProbe<Frag> sender(with_mtu(mtu)), receiver(with_mtu(mtu));
  std::vector<Msg> sent;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    sent.push_back(pattern(sizes[i], static_cast<std::uint32_t>(i)));
    sender.down(Event::send(1, pattern(sizes[i], static_cast<std::uint32_t>(i))));
  }
  // A network: the fragments in order, then a few of them lost, duplicated or moved.
  std::vector<std::size_t> order(sender.below.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  const auto faults = *rc::gen::inRange(0, 6);
  for (int f = 0; f < faults && !order.empty(); ++f) {
    const auto at = *rc::gen::inRange<std::size_t>(0, order.size());
    const auto to = *rc::gen::inRange<std::size_t>(0, order.size());
    const std::size_t k = order[at];
    switch (*rc::gen::inRange(0, 3)) {
    case 0:
      order.erase(order.begin() + static_cast<std::ptrdiff_t>(at));
      break;
    case 1:
      order.insert(order.begin() + static_cast<std::ptrdiff_t>(to), k);
      break;
    default:
      order.erase(order.begin() + static_cast<std::ptrdiff_t>(at));
      order.insert(order.begin() + static_cast<std::ptrdiff_t>(std::min(to, order.size())), k);
    }
  }
  for (std::size_t k : order) receiver.receive(0, sender.below[k].msg.clone());
  for (const Event& ev : receiver.above)
    RC_ASSERT(std::find(sent.begin(), sent.end(), ev.msg) != sent.end());
}

// Random packets: raw bytes, or a header from a small range of values over a payload up to
// twice the mtu. Nothing crashes, every packet is accounted for at most once, and no partial
// message is taken on that could outgrow the reassembly limit.
RC_GTEST_PROP(Frag, SurvivesRandomPacketsAndBoundsReassemblyMemory, ()) {
  Frag f = with_mtu(*rc::gen::inRange<std::uint32_t>(1, 64));
  f.max_message = 256;
  LayerProbe<Frag> p(std::move(f));
  const auto n = *rc::gen::inRange<std::size_t>(0, 200);
  auto small = rc::gen::inRange<std::uint32_t>(0, 5);
  for (std::size_t i = 0; i < n; ++i) {
    Msg m;
    if (*rc::gen::arbitrary<bool>()) {
      const auto raw =
          *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
      m = Msg::copy_of({reinterpret_cast<const std::byte*>(raw.data()), raw.size()});
    } else {
      const H h{*small, *small, *rc::gen::inRange<std::uint32_t>(0, 300)};
      m = packet(h, *rc::gen::inRange<std::size_t>(0, 2 * p.layer.mtu + 1));
    }
    p.receive(*rc::gen::inRange<PeerId>(0, 3), std::move(m));
    for (const Frag::Partial& partial : p.layer.partial) {
      RC_ASSERT(std::uint64_t{partial.count} * p.layer.mtu <= p.layer.max_message);
      RC_ASSERT(partial.data.size() <= std::uint64_t{partial.next} * p.layer.mtu);
    }
  }
  const Frag& l = p.layer;
  const std::uint64_t singles = p.above.size() - l.reassembled;
  RC_ASSERT(singles + l.dropped_short + l.dropped_malformed + l.dropped_too_large +
                l.dropped_out_of_order <=
            n);
}

// Random layer state and a random packet from a small space of headers, so that every path
// of `up` is taken: the CCP holds exactly when `up` passes the packet on untouched and changes
// nothing else.
RC_GTEST_PROP(Frag, CcpUpHoldsExactlyWhenAWholeMessageGoesStraightUp, ()) {
  LayerProbe<Frag> p(with_mtu(4));
  auto small = rc::gen::inRange<std::uint32_t>(0, 3);
  const auto history = *rc::gen::container<std::vector<std::uint32_t>>(small);
  for (std::size_t i = 0; i + 2 < history.size(); i += 3)
    p.receive(0, packet({history[i], history[i + 1], history[i + 2]}, 4));
  const H h{*small, *small, *small};
  const std::size_t size = *rc::gen::inRange<std::size_t>(0, 6);
  const PeerId from = *rc::gen::inRange<PeerId>(0, 2);
  Event ev = Event::deliver(from, packet(h, size));
  const bool ccp = p.layer.ccp_up(ev, h);
  const std::byte* payload = ev.msg.data() + sizeof(H);
  const std::string before = state(p.layer);
  p.above.clear();
  p.up(std::move(ev));
  const bool straight = p.above.size() == 1 && p.above[0].msg.data() == payload &&
                        p.above[0].msg.size() == size && state(p.layer) == before;
  RC_ASSERT(ccp == straight);
}

RC_GTEST_PROP(Frag, CcpDownHoldsExactlyWhenTheMessageFitsOneFragment, ()) {
  const auto mtu = *rc::gen::inRange<std::uint32_t>(1, 64);
  const auto size = *rc::gen::inRange<std::size_t>(0, 200);
  LayerProbe<Frag> p(with_mtu(mtu));
  Event ev = Event::send(1, pattern(size));
  const bool ccp = p.layer.ccp_down(ev);
  const std::byte* payload = ev.msg.data();
  const std::string before = state(p.layer);
  p.down(std::move(ev));
  const bool straight = p.below.size() == 1 && p.below[0].msg.data() + sizeof(H) == payload &&
                        state(p.layer) == before;
  RC_ASSERT(ccp == straight);
}

} // namespace
} // namespace lamina
