// The fused ReliableFifo, both the one fused by hand (stacks/fifo/hand_fused.hpp) and the one
// lamina-opt generates (lamina_repository_stacks_fused_fifo_ReliableFifo.hpp, in the build's
// stacks/): its compressed packets expand to exactly what the layered stack sends; it
// interoperates with a layered node on a lossy network in both directions, and two fused nodes
// talk compressed; a damaged compressed packet is never delivered and no packet crashes it;
// crafted packets that no honest sender sends leave it in the layered stack's state; and difftest
// finds it equal to the static stack; with an application that answers from within its
// deliveries, it sends, delivers and holds what the layered stack does (the delay pass). The
// registry refuses, with a message, the stacks it has no fused build of.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <rapidcheck/gtest.h>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "difftest/difftest.hpp"
#include "difftest/implementation.hpp"
#include "difftest/layer_ops.hpp"
#include "lamina_repository_stacks_fused_fifo_ReliableFifo.hpp"
#include "runtime/fused_stacks.hpp"
#include "runtime/simnet.hpp"
#include "runtime/stack.hpp"
#include "spec/stack_string.hpp"
#include "stacks/fifo/hand_fused.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;

using Layered = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;
using Hand = hand::ReliableFifo;
using Generated = fused::fifo::ReliableFifo;

// Frag(mtu=1400), in the stack string both serve; the generated class has no constant for it.
constexpr std::size_t kMtu = 1400;
static_assert(Hand::kMtu == kMtu);

// The first byte of F's compressed packets: lamina-opt names it kMarker, the hand kCompressed.
template <class F>
consteval std::byte marker_of() {
  if constexpr (requires { F::kMarker; })
    return F::kMarker;
  else
    return std::byte{F::kCompressed};
}

// The compressed header of F's packet to a peer that has had `sent` packets from it: the hand's
// is 13 bytes; lamina-opt's sends Seqno's number as a varint, Retransmit's id (the same number on
// a group's first exchange) as a varint of their difference, and the CRC whole.
template <class F>
std::size_t compressed_header(std::uint32_t sent) {
  if constexpr (std::is_same_v<F, Hand>) return 13;
  return 1 + varint::size(sent) + 1 + 4;
}

// Both hold the layered stack itself, which the tests read and set as a Layered (so that, in a
// template, its get<L>() needs no `template`).
static_assert(std::is_same_v<Hand::Layered, Layered> &&
              std::is_same_v<Generated::Layered, Layered>);

// The name difftest's registry knows F by.
template <class F>
constexpr const char* implementation_name = std::is_same_v<F, Hand> ? "hand-fused" : "fused";

const std::string fifo_spec = std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa";

// A node's world that keeps what the stack does: its packets, deliveries and timers.
class RecordingHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return clock; }
  void transmit(PeerId, Msg packet) override { sent.push_back(std::move(packet)); }
  void set_timer(Time at, std::uint32_t timer) override { timers.emplace_back(at, timer); }
  void deliver(Event& ev) override { delivered.push_back(std::move(ev.msg)); }

  Time clock = 5ms;
  std::vector<Msg> sent;
  std::vector<Msg> delivered;
  std::vector<std::pair<Time, std::uint32_t>> timers;
};

std::vector<std::byte> bytes_of(std::span<const std::byte> b) { return {b.begin(), b.end()}; }

Msg payload(std::size_t size, std::uint32_t seed) {
  Msg m = Msg::with_size(size);
  auto b = m.writable_bytes();
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<std::byte>((std::size_t{seed} * 2654435761u + i * 131) >> 7);
  return m;
}

template <class Fused>
bool compressed(std::span<const std::byte> packet) {
  return !packet.empty() && packet[0] == marker_of<Fused>();
}

// What a fused and a layered node put on the wire for the same messages to peer 1.
struct Sent {
  std::vector<Msg> fused;
  std::vector<Msg> layered;
};
template <class Fused>
Sent send_both(const std::vector<Msg>& messages) {
  RecordingHost fh, lh;
  Fused fused;
  Layered layered;
  fused.attach(fh);
  layered.attach(lh);
  for (const Msg& m : messages) {
    fused.send(1, m.clone());
    layered.send(1, m.clone());
  }
  return {std::move(fh.sent), std::move(lh.sent)};
}

// The tests that hold for any fused ReliableFifo, run on each.
template <class F>
class FusedReliableFifo : public ::testing::Test {};
struct ByOrigin {
  template <class F>
  static std::string GetName(int) { // NOLINT(readability-identifier-naming): GoogleTest's name
    return std::is_same_v<F, Hand> ? "Hand" : "Generated";
  }
};
using FusedReliableFifos = ::testing::Types<Hand, Generated>;
TYPED_TEST_SUITE(FusedReliableFifo, FusedReliableFifos, ByOrigin);

TYPED_TEST(FusedReliableFifo, ServesExactlyTheStackStringOfReliableFifoAtItsDefaults) {
  using Fused = TypeParam;
  const difftest::LoadedStack stack(fifo_spec, "ReliableFifo");
  EXPECT_EQ(Fused::stack_string, stack.decl().stack_string);
}

TYPED_TEST(FusedReliableFifo, CanonicalOfACompressedPacketIsThePacketTheLayeredStackSends) {
  using Fused = TypeParam;
  std::vector<Msg> messages;
  const std::size_t sizes[] = {0, 1, 2, 24, 100, 1399, 1400, 1400, 0};
  std::uint32_t seed = 0;
  for (std::size_t size : sizes) messages.push_back(payload(size, ++seed));
  const Sent sent = send_both<Fused>(messages);
  ASSERT_EQ(sent.fused.size(), messages.size());
  ASSERT_EQ(sent.layered.size(), messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE(::testing::Message()
                 << "message " << i << " of " << messages[i].size() << " bytes");
    EXPECT_TRUE(compressed<Fused>(sent.fused[i].bytes()));
    EXPECT_EQ(sent.fused[i].size(),
              messages[i].size() + compressed_header<Fused>(static_cast<std::uint32_t>(i)));
    EXPECT_EQ(sent.layered[i].size(), messages[i].size() + 29);
    EXPECT_EQ(Fused::canonical(sent.fused[i].bytes()), bytes_of(sent.layered[i].bytes()));
  }
}

template <class Fused>
void canonical_of_any_compressed_packet_is_the_packet_the_layered_stack_sends() {
  const auto before = *rc::gen::inRange(0, 5); // earlier messages: seq and id not 0
  std::vector<Msg> messages;
  for (int i = 0; i < before; ++i) messages.push_back(payload(static_cast<std::size_t>(i), 7));
  const auto content = *rc::gen::container<std::vector<std::uint8_t>>(
      *rc::gen::inRange<std::size_t>(0, kMtu + 1), rc::gen::arbitrary<std::uint8_t>());
  messages.push_back(Msg::copy_of(std::as_bytes(std::span(content))));
  const Sent sent = send_both<Fused>(messages);
  RC_ASSERT(sent.fused.size() == messages.size());
  RC_ASSERT(compressed<Fused>(sent.fused.back().bytes()));
  RC_ASSERT(Fused::canonical(sent.fused.back().bytes()) == bytes_of(sent.layered.back().bytes()));
}
RC_GTEST_PROP(HandFused, CanonicalOfAnyCompressedPacketIsThePacketTheLayeredStackSends, ()) {
  canonical_of_any_compressed_packet_is_the_packet_the_layered_stack_sends<Hand>();
}
RC_GTEST_PROP(GeneratedFused, CanonicalOfAnyCompressedPacketIsThePacketTheLayeredStackSends, ()) {
  canonical_of_any_compressed_packet_is_the_packet_the_layered_stack_sends<Generated>();
}

TYPED_TEST(FusedReliableFifo, SendsLayeredPacketsToAPeerThatReadsOnlyLayeredHeaders) {
  using Fused = TypeParam;
  RecordingHost fh, lh;
  Fused fused;
  Layered layered;
  fused.attach(fh);
  layered.attach(lh);
  fused.compress_to(1, false);
  for (std::size_t size : {0, 700, 1400, 1401, 4000}) {
    fused.send(1, payload(size, 3));
    layered.send(1, payload(size, 3));
  }
  ASSERT_EQ(fh.sent.size(), lh.sent.size());
  for (std::size_t i = 0; i < fh.sent.size(); ++i) {
    EXPECT_FALSE(compressed<Fused>(fh.sent[i].bytes())) << "packet " << i;
    EXPECT_EQ(fh.sent[i], lh.sent[i]) << "packet " << i;
    EXPECT_EQ(Fused::canonical(fh.sent[i].bytes()), bytes_of(lh.sent[i].bytes()));
  }
}

TYPED_TEST(FusedReliableFifo, CanonicalLeavesAPacketTooShortToBeCompressedAsItIs) {
  using Fused = TypeParam;
  // The marker, then bytes that end before the header does.
  const std::vector<std::byte> short_one(compressed_header<Fused>(0) - 1, marker_of<Fused>());
  EXPECT_EQ(Fused::canonical(short_one), short_one);
  EXPECT_TRUE(Fused::canonical({}).empty());
}

// Per (receiver, sender), the payloads delivered, in order.
using Deliveries = std::map<std::pair<PeerId, PeerId>, std::vector<std::vector<std::byte>>>;

const std::vector<std::size_t> message_sizes = {0, 1, 700, 1400, 1401, 3000, 64};

// Sends `per_direction` messages each way between nodes 0 and 1 of `net` over a lossy,
// reordering, duplicating link, runs until idle, and checks that each node got the other's
// messages exactly once, in order.
void exchange_and_check(SimNet& net, std::uint32_t per_direction) {
  Deliveries got;
  net.on_deliver([&](PeerId node, Event& ev) {
    got[std::pair(node, ev.peer)].push_back(bytes_of(ev.msg.bytes()));
  });
  for (std::uint32_t k = 0; k < per_direction; ++k) {
    net.at(Time(k * 300us), [&net, k] {
      for (PeerId from : {0u, 1u})
        net.send(from, 1 - from, payload(message_sizes[k % message_sizes.size()], k * 2 + from));
    });
  }
  ASSERT_TRUE(net.run_until_idle(Time(600s)));
  for (PeerId from : {0u, 1u}) {
    std::vector<std::vector<std::byte>> sent;
    for (std::uint32_t k = 0; k < per_direction; ++k)
      sent.push_back(
          bytes_of(payload(message_sizes[k % message_sizes.size()], k * 2 + from).bytes()));
    const auto& received = got[std::pair(1 - from, from)];
    EXPECT_TRUE(received == sent) << "node " << 1 - from << " did not get the " << per_direction
                                  << " messages of node " << from << " exactly once, in order (got "
                                  << received.size() << ")";
  }
}

LinkConfig lossy() { return {.delay = 1ms, .jitter = 2ms, .loss = 0.2, .duplicate = 0.05}; }

TYPED_TEST(FusedReliableFifo, InteroperatesWithALayeredNodeBothWaysUnderTwentyPercentLoss) {
  using Fused = TypeParam;
  SimNet net(11, 2, lossy());
  Fused fused;
  Layered layered;
  fused.compress_to(1, false);
  std::uint64_t compressed_packets = 0;
  net.on_packet(
      [&](const SimNet::PacketRecord& p) { compressed_packets += compressed<Fused>(p.bytes); });
  net.attach(0, fused);
  net.attach(1, layered);
  exchange_and_check(net, 300);
  EXPECT_EQ(compressed_packets, 0u);
  const Layered& fused_layers = fused.layered();
  EXPECT_EQ(fused_layers.get<Top>().delivered, 300u);
  EXPECT_EQ(layered.get<Top>().delivered, 300u);
}

TYPED_TEST(FusedReliableFifo, TwoFusedNodesExchangeCompressedPacketsUnderTwentyPercentLoss) {
  using Fused = TypeParam;
  SimNet net(12, 2, lossy());
  Fused a, b;
  std::uint64_t compressed_packets = 0;
  net.on_packet(
      [&](const SimNet::PacketRecord& p) { compressed_packets += compressed<Fused>(p.bytes); });
  net.attach(0, a);
  net.attach(1, b);
  exchange_and_check(net, 300);
  // Each way, the messages of up to one mtu went compressed (some more than once: resent).
  EXPECT_GE(compressed_packets, 2u * 300 * 5 / 7);
  EXPECT_TRUE(a.compresses_to(1) && b.compresses_to(0));
}

TYPED_TEST(FusedReliableFifo, APeerMarkedLayeredThatSendsCompressedIsTalkedToCompressed) {
  using Fused = TypeParam;
  RecordingHost h;
  Fused fused;
  fused.attach(h);
  fused.compress_to(1, false);
  RecordingHost peer_host;
  Fused peer;
  peer.attach(peer_host);
  peer.send(0, payload(10, 1));
  fused.receive(1, std::move(peer_host.sent.at(0)));
  EXPECT_TRUE(fused.compresses_to(1));
  EXPECT_EQ(h.delivered.size(), 1u);
}

// A compressed packet from peer 1 carrying `size` bytes: the first message of a fused sender.
template <class Fused>
Msg compressed_packet(std::size_t size, std::uint32_t seed) {
  RecordingHost h;
  Fused sender;
  sender.attach(h);
  sender.send(0, payload(size, seed));
  return std::move(h.sent.at(0));
}

TYPED_TEST(FusedReliableFifo, ACompressedPacketWithAnyByteFlippedOrCutShortIsNeverDelivered) {
  using Fused = TypeParam;
  for (std::size_t size : {0, 1, 50, 1400}) {
    SCOPED_TRACE(::testing::Message() << "payload of " << size << " bytes");
    const Msg packet = compressed_packet<Fused>(size, 9);
    RecordingHost h;
    Fused receiver;
    receiver.attach(h);
    for (std::size_t offset = 0; offset < packet.size(); ++offset) {
      for (std::uint8_t mask : {0x01, 0x04, 0x80, 0xFF}) {
        Msg damaged = packet.clone();
        damaged.writable_bytes()[offset] ^= std::byte{mask};
        receiver.receive(1, std::move(damaged));
      }
      Msg cut = packet.clone();
      ASSERT_TRUE(cut.truncate(offset));
      receiver.receive(1, std::move(cut));
    }
    EXPECT_TRUE(h.delivered.empty());
    const Layered& layers = receiver.layered();
    EXPECT_EQ(layers.get<Retransmit>().received_below.get(1), 0u);
    EXPECT_EQ(layers.get<Seqno>().next_in.get(1), 0u);
    // The intact packet still goes up, once.
    receiver.receive(1, packet.clone());
    receiver.receive(1, packet.clone());
    ASSERT_EQ(h.delivered.size(), 1u);
    EXPECT_EQ(h.delivered[0], payload(size, 9));
  }
}

template <class Fused>
void a_damaged_compressed_packet_is_never_delivered() {
  const auto size = *rc::gen::inRange<std::size_t>(0, kMtu + 1);
  Msg packet = compressed_packet<Fused>(size, *rc::gen::arbitrary<std::uint32_t>());
  const auto offset = *rc::gen::inRange<std::size_t>(0, packet.size());
  if (*rc::gen::arbitrary<bool>())
    packet.writable_bytes()[offset] ^= std::byte{*rc::gen::inRange<std::uint8_t>(1, 255)};
  else
    RC_ASSERT(packet.truncate(offset));
  RecordingHost h;
  Fused receiver;
  receiver.attach(h);
  receiver.receive(1, std::move(packet));
  RC_ASSERT(h.delivered.empty());
}
RC_GTEST_PROP(HandFused, ADamagedCompressedPacketIsNeverDelivered, ()) {
  a_damaged_compressed_packet_is_never_delivered<Hand>();
}
RC_GTEST_PROP(GeneratedFused, ADamagedCompressedPacketIsNeverDelivered, ()) {
  a_damaged_compressed_packet_is_never_delivered<Generated>();
}

// UdpNode hands on the packets of a bundled datagram as views of one buffer. The generated
// receive bypass checks the CRC over the layered headers in a buffer of its own and delivers the
// payload where it lies: pushing them in front of a view would copy it.
TEST(GeneratedFused, DeliversThePacketsOfABundledDatagramInPlace) {
  RecordingHost sh;
  Generated sender;
  sender.attach(sh);
  for (std::uint32_t i = 0; i < 3; ++i) sender.send(1, payload(40 + i, i));
  ASSERT_EQ(sh.sent.size(), 3u);
  Msg datagram = Msg::with_size(0);
  for (const Msg& p : sh.sent) datagram.append(p.bytes());
  RecordingHost rh;
  Generated receiver;
  receiver.attach(rh);
  std::size_t at = 0;
  for (const Msg& p : sh.sent) {
    Msg view = datagram.share();
    ASSERT_TRUE(view.drop_front(at));
    ASSERT_TRUE(view.truncate(p.size()));
    at += p.size();
    receiver.receive(0, std::move(view));
  }
  ASSERT_EQ(rh.delivered.size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(::testing::Message() << "packet " << i);
    EXPECT_EQ(bytes_of(rh.delivered[i].bytes()), bytes_of(payload(40 + i, i).bytes()));
    EXPECT_GE(rh.delivered[i].data(), datagram.data());
    EXPECT_LE(rh.delivered[i].data() + rh.delivered[i].size(), datagram.data() + datagram.size());
  }
}

template <class Fused>
void random_bytes_never_crash_the_receiver() {
  auto bytes = *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
  if (!bytes.empty() && *rc::gen::arbitrary<bool>())
    bytes[0] = std::to_integer<std::uint8_t>(marker_of<Fused>());
  RecordingHost h;
  Fused receiver;
  receiver.attach(h);
  receiver.receive(1, Msg::copy_of(std::as_bytes(std::span(bytes))));
  (void)Fused::canonical(std::as_bytes(std::span(bytes)));
  RC_ASSERT(h.delivered.empty());
}
RC_GTEST_PROP(HandFused, RandomBytesNeverCrashTheReceiver, ()) {
  random_bytes_never_crash_the_receiver<Hand>();
}
RC_GTEST_PROP(GeneratedFused, RandomBytesNeverCrashTheReceiver, ()) {
  random_bytes_never_crash_the_receiver<Generated>();
}

// Packets that no sender running the stack sends — a Seqno number that is not the Retransmit
// id, a whole message while a fragmented one is half reassembled — pass Retransmit's CCP but not
// Seqno's or Frag's, which difftest's honest senders never show. A fused receiver given them
// compressed, and a layered one given them in layered form, must end in the same state.
template <class Fused>
class TwoReceivers {
public:
  TwoReceivers() {
    fused_.attach(fused_host_);
    layered_.attach(layered_host_);
  }
  void receive(const Msg& packet) {
    fused_.receive(1, packet.clone());
    layered_.receive(1, Msg::copy_of(Fused::canonical(packet.bytes())));
  }
  [[nodiscard]] std::size_t delivered() const { return layered_host_.delivered.size(); }
  // "" if both delivered the same and are in the same state, else what differs first.
  [[nodiscard]] std::string difference() const {
    if (fused_host_.delivered != layered_host_.delivered) return "deliveries";
    if (fused_host_.sent != layered_host_.sent) return "packets sent";
    std::vector<std::pair<const void*, const difftest::LayerOps*>> a, b;
    auto collect = [](auto& into) {
      return [&into](const auto& layer) {
        using L = std::remove_cvref_t<decltype(layer)>;
        into.emplace_back(&layer, &difftest::layer_ops<L>());
      };
    };
    fused_.layered().for_each_layer(collect(a));
    layered_.for_each_layer(collect(b));
    difftest::MsgMemo memo;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].second->equal(a[i].first, b[i].first, memo)) continue;
      const FieldDiff d = a[i].second->diff(a[i].first, b[i].first).front();
      return "layer " + std::to_string(i) + ", " + d.name + ": fused " + d.left + ", layered " +
             d.right;
    }
    return "";
  }

private:
  RecordingHost fused_host_, layered_host_;
  Fused fused_;
  Layered layered_;
};

// A fused node sending to node 0, whose layers' state the test may set between messages.
template <class Fused>
struct Sender {
  Sender() { node.attach(host); }
  Msg send(std::size_t size, std::uint32_t seed) {
    node.send(0, payload(size, seed));
    Msg m = std::move(host.sent.back());
    host.sent.pop_back();
    return m;
  }
  RecordingHost host;
  Fused node;
};

TYPED_TEST(FusedReliableFifo, AMessageAheadOfItsSeqnoTurnWaitsAsOnTheLayeredPath) {
  using Fused = TypeParam;
  Sender<Fused> s;
  Layered& layers = s.node.layered();
  auto& next_out = layers.get<Seqno>().next_out;
  next_out[0] = 1;
  const Msg ahead = s.send(10, 1); // id 0, seq 1
  next_out[0] = 0;
  const Msg first = s.send(20, 2); // id 1, seq 0: Seqno's turn, but number 1 waits in `early`
  ASSERT_TRUE(compressed<Fused>(ahead.bytes()) && compressed<Fused>(first.bytes()));
  TwoReceivers<Fused> r;
  r.receive(ahead);
  EXPECT_EQ(r.difference(), "");
  r.receive(first);
  EXPECT_EQ(r.difference(), "");
  EXPECT_EQ(r.delivered(), 2u);
}

TYPED_TEST(FusedReliableFifo, AMessageAheadOfItsRetransmitTurnIsHandledAsOnTheLayeredPath) {
  using Fused = TypeParam;
  Sender<Fused> s;
  Layered& layers = s.node.layered();
  auto& next_id = layers.get<Retransmit>().next_id;
  next_id[0] = 1;
  const Msg skipped = s.send(10, 5); // id 1 with id 0 not yet sent, seq 0: Seqno's turn
  next_id[0] = 0;
  const Msg filling = s.send(20, 6); // id 0, Retransmit's turn, but id 1 is recorded above it
  ASSERT_TRUE(compressed<Fused>(skipped.bytes()) && compressed<Fused>(filling.bytes()));
  TwoReceivers<Fused> r;
  r.receive(skipped);
  EXPECT_EQ(r.difference(), "");
  r.receive(filling);
  EXPECT_EQ(r.difference(), "");
  EXPECT_EQ(r.delivered(), 2u);
}

TYPED_TEST(FusedReliableFifo, AWholeMessageDuringReassemblyIsHandledAsOnTheLayeredPath) {
  using Fused = TypeParam;
  Sender<Fused> s;
  s.node.send(0, payload(3000, 3)); // three fragments, ids and numbers 0, 1, 2
  ASSERT_EQ(s.host.sent.size(), 3u);
  const Msg fragment = std::move(s.host.sent.front());
  s.host.sent.clear();
  Layered& layers = s.node.layered();
  layers.get<Retransmit>().next_id[0] = 1;
  layers.get<Seqno>().next_out[0] = 1;
  const Msg whole = s.send(30, 4); // id 1, seq 1, while fragment 0 waits for the rest
  ASSERT_TRUE(compressed<Fused>(whole.bytes()));
  TwoReceivers<Fused> r;
  r.receive(fragment);
  r.receive(whole);
  EXPECT_EQ(r.difference(), "");
  EXPECT_EQ(r.delivered(), 1u);
}

TYPED_TEST(FusedReliableFifo, MessagesOutOfOrderAndRepeatedAreHandledAsOnTheLayeredPath) {
  using Fused = TypeParam;
  Sender<Fused> s;
  std::vector<Msg> sent;
  for (std::uint32_t k = 0; k < 4; ++k) sent.push_back(s.send(std::size_t{k} * 100, k));
  TwoReceivers<Fused> r;
  for (std::size_t i : {1, 0, 0, 3, 2, 3}) {
    r.receive(sent[i]);
    EXPECT_EQ(r.difference(), "") << "after message " << i;
  }
  EXPECT_EQ(r.delivered(), 4u);
}

// difftest: each fused stack, by the name the registry knows it by, against the static one,
// event by event.

difftest::Options quick(std::vector<std::string> impls, std::uint64_t events, std::uint64_t seed) {
  difftest::Options o;
  o.impls = std::move(impls);
  o.events = events;
  o.seed = seed;
  o.shrink_budget = std::chrono::seconds(30);
  return o;
}

TYPED_TEST(FusedReliableFifo, AgreesInDifftestWithTheStaticStackOnTheReliableFifo) {
  const difftest::LoadedStack stack(fifo_spec, "ReliableFifo");
  const difftest::Outcome out =
      difftest::run(stack, quick({"static", implementation_name<TypeParam>}, 20'000, 3));
  ASSERT_FALSE(out.divergence) << (out.divergence ? out.divergence->format() : "");
  EXPECT_EQ(out.events, 20'000u);
}

template <class Fused>
void agrees_with_the_static_stack_on_any_network() {
  static const difftest::LoadedStack stack(fifo_spec, "ReliableFifo");
  difftest::Options o =
      quick({"static", implementation_name<Fused>}, 800, *rc::gen::arbitrary<std::uint64_t>());
  o.nodes = *rc::gen::inRange(2u, 6u);
  o.network.loss = *rc::gen::inRange(0, 60) / 100.0;
  o.network.duplicate = *rc::gen::inRange(0, 50) / 100.0;
  o.network.corrupt = *rc::gen::inRange(0, 30) / 100.0;
  o.network.jitter = std::chrono::microseconds(*rc::gen::inRange(0, 10'000));
  o.shrink = false;
  const difftest::Outcome out = difftest::run(stack, o);
  RC_ASSERT(!out.divergence);
}
RC_GTEST_PROP(HandFusedDifftest, AgreesWithTheStaticStackOnAnyNetwork, ()) {
  agrees_with_the_static_stack_on_any_network<Hand>();
}
RC_GTEST_PROP(GeneratedFusedDifftest, AgreesWithTheStaticStackOnAnyNetwork, ()) {
  agrees_with_the_static_stack_on_any_network<Generated>();
}

// The generated fused ReliableFifo, except that the first node ever made of it loses its first
// send: a divergence that the same events, run again, do not show (as a stack that reads bytes
// it never wrote may do).
class DivergesOnlyTheFirstTime final : public Endpoint {
public:
  static constexpr std::string_view stack_string = Generated::stack_string;
  static std::vector<std::byte> canonical(std::span<const std::byte> packet) {
    return Generated::canonical(packet);
  }
  DivergesOnlyTheFirstTime() : lose_first_send_(made()++ == 0) {}
  auto& layered() { return inner_.layered(); }
  const auto& layered() const { return inner_.layered(); }
  void attach(Host& host) override { inner_.attach(host); }
  void send(PeerId to, Msg payload) override {
    if (std::exchange(lose_first_send_, false)) return;
    inner_.send(to, std::move(payload));
  }
  void receive(PeerId from, Msg packet) override { inner_.receive(from, std::move(packet)); }
  void expire(std::uint32_t timer) override { inner_.expire(timer); }

private:
  static int& made() {
    static int n = 0;
    return n;
  }
  Generated inner_;
  bool lose_first_send_;
};

// A divergence found is reported even when the shrunk trace, run again, does not fail: the
// trace is kept as found, and the outcome says it did not recur.
TEST(FusedDifftest, ADivergenceThatDoesNotRecurIsStillReported) {
  lamina::fused_stacks().add<DivergesOnlyTheFirstTime>("fused-mutant:diverges_only_the_first_time");
  const difftest::LoadedStack stack(fifo_spec, "ReliableFifo");
  const difftest::Outcome out = difftest::run(
      stack, quick({"static", "fused-mutant:diverges_only_the_first_time"}, 2'000, 5));
  ASSERT_TRUE(out.divergence) << "a divergence found was dropped";
  EXPECT_FALSE(out.shrink.reproduced);
  EXPECT_FALSE(out.shrink.minimal);
  EXPECT_GE(out.trace.events.size(), out.events);
}

// The message make_implementation throws for `impl` of ReliableFifo with `params`.
std::string refusal(const std::string& impl,
                    std::vector<std::pair<std::string, std::int64_t>> params) {
  const difftest::LoadedStack stack(fifo_spec, "ReliableFifo", std::move(params));
  try {
    (void)difftest::make_implementation(impl, stack.decl(), 2);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(FusedRegistry, KnowsTheHandFusedReliableFifoByItsStackString) {
  EXPECT_THAT(lamina::fused_stacks().stack_strings("hand-fused"),
              Contains(std::string(Hand::stack_string)));
  EXPECT_THAT(difftest::implementation_names(), Contains("hand-fused"));
  EXPECT_THAT(difftest::implementation_names(), Contains("fused"));
  const difftest::LoadedStack stack(fifo_spec, "ReliableFifo");
  const auto impl = difftest::make_implementation("hand-fused", stack.decl(), 3);
  EXPECT_EQ(impl->name(), "hand-fused");
  EXPECT_EQ(impl->nodes(), 3u);
  EXPECT_EQ(impl->depth(), 6u);
  EXPECT_TRUE(impl->own_wire_format());
  EXPECT_EQ(impl->layer(2, 1).name, "Frag");
}

TEST(FusedRegistry, RefusesAHandFusedBuildForOtherParametersNamingTheStackString) {
  const std::string message = refusal("hand-fused", {{"mtu", 512}});
  EXPECT_THAT(message, HasSubstr("ReliableFifo"));
  EXPECT_THAT(message, HasSubstr("Frag(mtu=512)"));
  EXPECT_THAT(message, HasSubstr("default parameters"));
}

TEST(FusedRegistry, RefusesAFusedBuildThatWasNotGeneratedSayingWhatBuildsOne) {
  // lamina-opt does not generate mtu=333 for any stack of the repository.
  const std::string message = refusal("fused", {{"mtu", 333}});
  EXPECT_THAT(message, HasSubstr("ReliableFifo"));
  EXPECT_THAT(message, HasSubstr("Frag(mtu=333)"));
  EXPECT_THAT(message, HasSubstr("lamina_add_stack"));
}

// The delay pass (lamina-opt) when the application answers from within a delivery, as an RPC
// server does: the generated ReliableFifo puts its acknowledgement off until after the delivery,
// so a reply sent from the delivery callback re-enters the stack while that work waits. Two
// groups of two nodes, one fused and one layered, run the same random sends; each node answers
// some messages from inside its deliver(). After every step both groups must have put the same
// packets on the wire, in the same order (compressed ones expanded), delivered the same, and hold
// the same state in every layer. Without FusedStack::run_later() at the stack's entry points, the
// answer would leave before the acknowledgement.

// One node of a group of two: its packets wait in `out` for the other node. It answers every
// message of odd size with one of even size, at once, from within the delivery.
class AnsweringNode final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return id; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return Time{std::chrono::milliseconds(1)}; }
  void transmit(PeerId, Msg packet) override {
    wire.push_back(Generated::canonical(packet.bytes()));
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
  AnsweringNode hosts[2];
  Stack stacks[2];
};

Layered& layers_of(Generated& f) { return f.layered(); }
Layered& layers_of(Layered& l) { return l; }

// "" if the groups agree, else the first difference.
std::string group_difference(Group<Generated>& f, Group<Layered>& l) {
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
    layers_of(f.stacks[n]).for_each_layer(collect(a));
    layers_of(l.stacks[n]).for_each_layer(collect(b));
    difftest::MsgMemo memo;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!a[i].second->equal(a[i].first, b[i].first, memo))
        return "node " + std::to_string(n) + ", layer " + std::to_string(i);
  }
  return "";
}

RC_GTEST_PROP(FusedDelay, AnAnswerFromWithinTheDeliveryFindsTheStackAsTheLayeredCodeLeftIt, ()) {
  Group<Generated> fused;
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
    const std::string d = group_difference(fused, layered);
    if (!d.empty()) RC_FAIL("after step " + std::to_string(i) + ": " + d);
  }
}

} // namespace
} // namespace lamina
