// Checksum and CRC32C: the known answer, both implementations agreeing, and every packet with
// a flipped bit dropped before it reaches the layers above.
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <string_view>
#include <vector>

#include "components/checksum.hpp"
#include "runtime/crc32c.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using test::LayerProbe;
using H = Checksum::Header;

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
std::span<const std::byte> as_bytes(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

// A packet as Checksum sends it down for `payload`.
Msg sealed(const std::vector<std::uint8_t>& payload) {
  LayerProbe<Checksum> p;
  p.down(Event::send(1, Msg::copy_of(as_bytes(payload))));
  return std::move(p.below.at(0).msg);
}

TEST(Crc32c, GivesTheCheckValueForTheStandardString) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(0, as_bytes("123456789")), 0xE3069283u);
  if (crc32c_sse42_available()) {
    EXPECT_EQ(crc32c_sse42(0, as_bytes("123456789")), 0xE3069283u);
  }
  EXPECT_EQ(crc32c(as_bytes("")), 0u);
}

TEST(Crc32c, SseAndBoostImplementationsAgreeOnRandomData) {
  if (!crc32c_sse42_available()) GTEST_SKIP() << "this processor has no SSE4.2";
  // From a random offset, so that the 8-byte loads of the SSE path fall at every alignment.
  EXPECT_TRUE(rc::check([](const std::vector<std::uint8_t>& data, std::uint32_t start) {
    const auto offset = *rc::gen::inRange<std::size_t>(0, data.size() + 1);
    const auto bytes = as_bytes(data).subspan(offset);
    RC_ASSERT(crc32c_sse42(start, bytes) == crc32c_portable(start, bytes));
  }));
}

TEST(Crc32c, SseAndBoostImplementationsAgreeOnLongBuffers) {
  if (!crc32c_sse42_available()) GTEST_SKIP() << "this processor has no SSE4.2";
  // Long enough for the SSE path's three side-by-side streams (chunks of 384 bytes), at every
  // remainder of a chunk.
  EXPECT_TRUE(rc::check([](std::uint32_t start) {
    const auto size = *rc::gen::inRange<std::size_t>(0, 5000);
    const auto data =
        *rc::gen::container<std::vector<std::uint8_t>>(size, rc::gen::arbitrary<std::uint8_t>());
    RC_ASSERT(crc32c_sse42(start, as_bytes(data)) == crc32c_portable(start, as_bytes(data)));
  }));
}

RC_GTEST_PROP(Crc32c, ExtendingACrcEqualsTheCrcOfTheConcatenation,
              (const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b)) {
  std::vector<std::uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  RC_ASSERT(crc32c_extend(crc32c(as_bytes(a)), as_bytes(b)) == crc32c(as_bytes(ab)));
  RC_ASSERT(crc32c_portable(crc32c(as_bytes(a)), as_bytes(b)) == crc32c(as_bytes(ab)));
}

// What a fused stack's receive bypass checks: the headers in a buffer of their own, the payload
// where it lies.
// Pieces long enough to reach the three-stream loop (3 * 128 bytes) as well as the short one,
// checked against the portable implementation too.
RC_GTEST_PROP(Crc32c, TheCrcOfSplitBytesIsTheCrcOfTheirConcatenation, ()) {
  const auto piece = [] {
    return *rc::gen::container<std::vector<std::uint8_t>>(*rc::gen::inRange<std::size_t>(0, 1200),
                                                          rc::gen::arbitrary<std::uint8_t>());
  };
  const std::vector<std::uint8_t> a = piece();
  const std::vector<std::uint8_t> b = piece();
  std::vector<std::uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  const SplitBytes split{as_bytes(a), as_bytes(b)};
  RC_ASSERT(split.size() == ab.size());
  RC_ASSERT(crc32c(split) == crc32c(as_bytes(ab)));
  RC_ASSERT(crc32c(split) == crc32c_portable(0, as_bytes(ab)));
}

RC_GTEST_PROP(Checksum, RoundTripPassesThePayloadUpUnchanged,
              (const std::vector<std::uint8_t>& payload)) {
  LayerProbe<Checksum> p;
  p.receive(0, sealed(payload));
  RC_ASSERT(p.above.size() == 1u);
  RC_ASSERT(p.above[0].msg == Msg::copy_of(as_bytes(payload)));
  RC_ASSERT(p.layer.passed == 1u);
}

TEST(Checksum, CoversTheHeadersOfTheLayersAbove) {
  LayerProbe<Checksum> p;
  Msg m = LayerProbe<Checksum>::msg("payload");
  m.push(std::uint32_t{7}); // a header of a layer above
  p.down(Event::send(1, std::move(m)));
  H h{};
  ASSERT_TRUE(p.below.at(0).msg.peek(h));
  Msg expected = LayerProbe<Checksum>::msg("payload");
  expected.push(std::uint32_t{7});
  EXPECT_EQ(h.crc, crc32c(expected.bytes()));
}

RC_GTEST_PROP(Checksum, DetectsAndDropsAnySingleFlippedBit,
              (const std::vector<std::uint8_t>& payload)) {
  Msg m = sealed(payload);
  const auto bit = *rc::gen::inRange<std::size_t>(0, m.size() * 8);
  m.writable_data()[bit / 8] ^= std::byte{static_cast<std::uint8_t>(1u << (bit % 8))};
  LayerProbe<Checksum> p;
  p.receive(0, std::move(m));
  RC_ASSERT(p.above.empty());
  RC_ASSERT(p.layer.dropped_corrupt == 1u);
}

TEST(Checksum, DropsPacketsTooShortForAHeader) {
  LayerProbe<Checksum> p;
  for (std::size_t size = 0; size < sizeof(H); ++size) p.receive(0, Msg::with_size(size));
  EXPECT_EQ(p.layer.dropped_short, sizeof(H));
  EXPECT_TRUE(p.above.empty());
}

// Random bytes: dropped as short or corrupt, unless by chance (2^-32) their CRC matches.
RC_GTEST_PROP(Checksum, PassesRandomBytesOnlyWhenTheirCrcMatches,
              (const std::vector<std::uint8_t>& raw)) {
  LayerProbe<Checksum> p;
  p.receive(0, Msg::copy_of(as_bytes(raw)));
  const bool intact =
      raw.size() >= sizeof(H) && crc32c(as_bytes(raw).subspan(sizeof(H))) ==
                                     (std::uint32_t{raw[0]} | std::uint32_t{raw[1]} << 8 |
                                      std::uint32_t{raw[2]} << 16 | std::uint32_t{raw[3]} << 24);
  RC_ASSERT(p.above.size() == (intact ? 1u : 0u));
  RC_ASSERT(p.layer.passed + p.layer.dropped_short + p.layer.dropped_corrupt == 1u);
  RC_ASSERT(p.layer.dropped_short == (raw.size() < sizeof(H) ? 1u : 0u));
}

// Intact and corrupted packets alike: the CCP holds exactly when `up` passes the packet on.
RC_GTEST_PROP(Checksum, CcpUpHoldsExactlyWhenThePacketIsIntact,
              (const std::vector<std::uint8_t>& payload, bool corrupt)) {
  Msg m = sealed(payload);
  if (corrupt) {
    const auto at = *rc::gen::inRange<std::size_t>(0, m.size());
    m.writable_data()[at] ^= std::byte{static_cast<std::uint8_t>(*rc::gen::inRange(1, 256))};
  }
  LayerProbe<Checksum> p;
  Event ev = Event::deliver(0, std::move(m));
  H h{};
  RC_ASSERT(ev.msg.peek(h));
  const bool ccp = p.layer.ccp_up(ev, h);
  p.up(std::move(ev));
  RC_ASSERT(ccp == (p.above.size() == 1));
  RC_ASSERT(ccp == !corrupt);
}

RC_GTEST_PROP(Checksum, CcpDownAlwaysHoldsAndTheMessageAlwaysGoesDown,
              (const std::vector<std::uint8_t>& payload)) {
  LayerProbe<Checksum> p;
  Event ev = Event::send(1, Msg::copy_of(as_bytes(payload)));
  const std::byte* data = ev.msg.data();
  RC_ASSERT(p.layer.ccp_down(ev));
  p.down(std::move(ev));
  RC_ASSERT(p.below.size() == 1u);
  RC_ASSERT(p.below[0].msg.data() + sizeof(H) == data);
}

} // namespace
} // namespace lamina
