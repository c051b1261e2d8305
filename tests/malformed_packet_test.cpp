// Malformed packets fed to the bottom of the reliable FIFO stack — empty, truncated,
// oversized, of a foreign format, random, bit-flipped — are dropped, each with a counted
// reason, and never reach the application or crash the stack.
#include <charconv>
#include <gtest/gtest.h>
#include <memory>
#include <rapidcheck/gtest.h>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/registry.hpp"
#include "runtime/stack.hpp"

namespace lamina {
namespace {

using ReliableFifo = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

class QuietHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId, Msg packet) override { sent.push_back(std::move(packet)); }
  void set_timer(Time, std::uint32_t) override {}
  void deliver(Event&) override { ++delivered; }
  std::vector<Msg> sent;
  int delivered = 0;
};

// Sum of every layer counter named dropped_* in the stack.
std::uint64_t drops(const std::vector<Field>& fs) {
  std::uint64_t n = 0;
  for (const Field& f : fs) {
    if (!f.name.starts_with("dropped_")) continue;
    std::uint64_t v = 0;
    std::from_chars(f.value.data(), f.value.data() + f.value.size(), v);
    n += v;
  }
  return n;
}
std::uint64_t drops(const ReliableFifo& s) {
  std::uint64_t n = 0;
  s.for_each_layer([&](const auto& layer) { n += drops(fields(layer)); });
  return n;
}
std::uint64_t drops(const DynamicStack& s) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < s.depth(); ++i) n += drops(s.layer(i).fields());
  return n;
}

// A valid packet from peer 1, as the peer's own stack would send it.
Msg valid_packet(std::size_t payload) {
  QuietHost host;
  ReliableFifo sender;
  sender.attach(host);
  sender.send(0, Msg::with_size(payload));
  return std::move(host.sent.at(0));
}

Msg bytes(const std::vector<std::uint8_t>& v) {
  return Msg::copy_of({reinterpret_cast<const std::byte*>(v.data()), v.size()});
}

template <class S>
std::unique_ptr<S> make_stack() {
  if constexpr (std::is_same_v<S, DynamicStack>)
    return layer_registry().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  else
    return std::make_unique<S>();
}

// A bench for one stack: feeds packets from peer 1, checks each is dropped and counted.
template <class S>
struct Bench {
  Bench() { s.attach(host); }
  // Feeds `packet`; true if it was dropped with exactly one counted reason.
  bool dropped_and_counted(Msg packet) {
    const std::uint64_t before = drops(s);
    const int delivered = host.delivered;
    s.receive(1, std::move(packet));
    return host.delivered == delivered && drops(s) == before + 1;
  }
  QuietHost host;
  std::unique_ptr<S> owned = make_stack<S>();
  S& s = *owned;
};

template <class S>
class MalformedPackets : public ::testing::Test {};

using Stacks = ::testing::Types<ReliableFifo, DynamicStack>;
TYPED_TEST_SUITE(MalformedPackets, Stacks);

TYPED_TEST(MalformedPackets, AreDroppedWithAReasonTheBottomLayerCounts) {
  Bench<TypeParam> b;
  EXPECT_TRUE(b.dropped_and_counted(Msg::with_size(0)));
  EXPECT_TRUE(b.dropped_and_counted(Msg::with_size(Bottom::kMaxPacket + 1)));
  EXPECT_TRUE(b.dropped_and_counted(bytes({0x00, 1, 2, 3, 4, 5, 6, 7, 8})));
}

TYPED_TEST(MalformedPackets, TruncatedAtEveryLengthAreDropped) {
  Bench<TypeParam> b;
  const Msg whole = valid_packet(40);
  for (std::size_t n = 1; n < whole.size(); ++n) {
    Msg cut = whole.clone();
    ASSERT_TRUE(cut.truncate(n));
    EXPECT_TRUE(b.dropped_and_counted(std::move(cut))) << "cut to " << n << " bytes";
  }
  EXPECT_EQ(b.host.sent.size(), 0u); // not even acknowledged
}

TYPED_TEST(MalformedPackets, AnySingleFlippedBitIsCaught) {
  Bench<TypeParam> b;
  const Msg whole = valid_packet(100);
  for (std::size_t bit = 8; bit < whole.size() * 8; ++bit) { // past the format marker
    Msg m = whole.clone();
    m.writable_data()[bit / 8] ^= std::byte(1u << (bit % 8));
    EXPECT_TRUE(b.dropped_and_counted(std::move(m))) << "bit " << bit;
  }
}

RC_GTEST_PROP(MalformedPackets, RandomPacketsAreDroppedAndCounted,
              (const std::vector<std::uint8_t>& tail, bool layered_marker)) {
  std::vector<std::uint8_t> packet = tail;
  // Half the time pass the marker check, so that the layers above see random bytes too.
  if (layered_marker) packet.insert(packet.begin(), 0x4C);
  Bench<ReliableFifo> a;
  Bench<DynamicStack> d;
  RC_ASSERT(a.dropped_and_counted(bytes(packet)));
  RC_ASSERT(d.dropped_and_counted(bytes(packet)));
}

TEST(MalformedPackets, AValidPacketIsNotCountedAsDropped) {
  // The check above can tell: a well-formed packet goes up and counts no drop.
  Bench<ReliableFifo> b;
  EXPECT_FALSE(b.dropped_and_counted(valid_packet(10)));
  EXPECT_EQ(b.host.delivered, 1);
  EXPECT_EQ(drops(b.s), 0u);
}

} // namespace
} // namespace lamina
