// runtime/varint.hpp: the integers of variable length in lamina-opt's compressed headers.
#include <array>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <rapidcheck/gtest.h>
#include <vector>

#include "runtime/msg.hpp"
#include "runtime/varint.hpp"

namespace lamina::varint {
namespace {

// Values of every magnitude, the edges of each length included.
template <class T>
rc::Gen<T> value() {
  return rc::gen::oneOf(
      rc::gen::arbitrary<T>(),
      rc::gen::map(rc::gen::inRange<unsigned>(0, sizeof(T) * 8),
                   [](unsigned bits) { return static_cast<T>((T{1} << bits) - 1); }),
      rc::gen::map(rc::gen::inRange<unsigned>(0, sizeof(T) * 8),
                   [](unsigned bits) { return static_cast<T>(T{1} << bits); }));
}

// The shortest length of `v`: one byte per seven bits it needs.
template <class T>
std::size_t shortest(T v) {
  std::size_t n = 1;
  while (v >= 0x80) v = static_cast<T>(v >> 7), ++n;
  return n;
}

template <class T>
void round_trip() {
  const T v = *value<T>();
  std::array<std::byte, kMaxBytes<T> + 1> buf{};
  const std::size_t n = static_cast<std::size_t>(put(buf.data(), v) - buf.data());
  RC_ASSERT(n == shortest(v));
  RC_ASSERT(size(v) == n);
  RC_ASSERT(n <= kMaxBytes<T>);
  const std::byte* at = buf.data();
  T back = 0;
  RC_ASSERT(get<T>(at, buf.data() + n, back));
  RC_ASSERT(back == v);
  RC_ASSERT(at == buf.data() + n);
  // Cut short, it is not read.
  at = buf.data();
  RC_ASSERT(!get<T>(at, buf.data() + n - 1, back));
  RC_ASSERT(at == buf.data());
}

RC_GTEST_PROP(Varint, RoundTrips16, ()) { round_trip<std::uint16_t>(); }
RC_GTEST_PROP(Varint, RoundTrips32, ()) { round_trip<std::uint32_t>(); }
RC_GTEST_PROP(Varint, RoundTrips64, ()) { round_trip<std::uint64_t>(); }

// Whatever the bytes, what is read is the one shortest encoding of the value read: two packets
// never stand for one header.
template <class T>
void only_shortest() {
  // Bytes around the edges of the encoding (a last byte of 0, a continuation with nothing in it,
  // the top bits of the longest encoding) among arbitrary ones.
  const auto bytes = *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::oneOf(
      rc::gen::arbitrary<std::uint8_t>(),
      rc::gen::element<std::uint8_t>(0x00, 0x01, 0x0F, 0x10, 0x7F, 0x80, 0x81, 0xFF)));
  std::vector<std::byte> in(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) in[i] = static_cast<std::byte>(bytes[i]);
  const std::byte* at = in.data();
  T v = 0;
  if (!get<T>(at, in.data() + in.size(), v)) {
    RC_ASSERT(at == in.data());
    return;
  }
  std::array<std::byte, kMaxBytes<T>> again{};
  const std::size_t n = static_cast<std::size_t>(put(again.data(), v) - again.data());
  RC_ASSERT(n == static_cast<std::size_t>(at - in.data()));
  RC_ASSERT(std::equal(again.begin(), again.begin() + static_cast<std::ptrdiff_t>(n), in.begin()));
}

RC_GTEST_PROP(Varint, ReadsOnlyTheShortestEncoding16, ()) { only_shortest<std::uint16_t>(); }
RC_GTEST_PROP(Varint, ReadsOnlyTheShortestEncoding32, ()) { only_shortest<std::uint32_t>(); }
RC_GTEST_PROP(Varint, ReadsOnlyTheShortestEncoding64, ()) { only_shortest<std::uint64_t>(); }

TEST(Varint, RefusesLongerEncodingsAndValuesThatDoNotFit) {
  auto read32 = [](std::vector<std::uint8_t> bytes) {
    std::vector<std::byte> in;
    for (const auto b : bytes) in.push_back(static_cast<std::byte>(b));
    const std::byte* at = in.data();
    std::uint32_t v = 0;
    return get<std::uint32_t>(at, in.data() + in.size(), v) ? std::optional<std::uint32_t>(v)
                                                            : std::nullopt;
  };
  EXPECT_EQ(read32({0x00}), 0u);
  EXPECT_EQ(read32({0x80, 0x00}), std::nullopt); // 0 in two bytes
  EXPECT_EQ(read32({0xFF, 0x7F}), 16383u);
  EXPECT_EQ(read32({0x80, 0x80, 0x01}), 16384u);
  EXPECT_EQ(read32({0xFF, 0xFF, 0x7F}), 0x1FFFFFu);
  EXPECT_EQ(read32({0x81, 0x80, 0x00}), std::nullopt); // 1 in three bytes
  EXPECT_EQ(read32({0x80, 0x01, 0x01}), 128u);         // two bytes, the third not read
  EXPECT_EQ(read32({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}), 0xFFFFFFFFu);
  EXPECT_EQ(read32({0xFF, 0xFF, 0xFF, 0xFF, 0x1F}), std::nullopt);       // 2^32 and more
  EXPECT_EQ(read32({0x80, 0x80, 0x80, 0x80, 0x80, 0x01}), std::nullopt); // six bytes
  // A read that starts at or past its end reads nothing.
  const std::array<std::byte, 3> bytes{std::byte{0x81}, std::byte{0x81}, std::byte{0x01}};
  const std::byte* const start = bytes.data() + 1;
  for (const std::byte* end : {start, bytes.data()}) { // at its end; past it
    const std::byte* at = start;
    std::uint32_t v = 7;
    EXPECT_FALSE(get<std::uint32_t>(at, end, v));
    EXPECT_EQ(at, start);
    EXPECT_EQ(v, 7u);
  }
}

template <class T>
void zigzag_round_trip() {
  const T a = *value<T>();
  const T b = *value<T>();
  RC_ASSERT(unzigzag(zigzag(a, b), b) == a);
  // Close either way round, the difference is small: within 63, one byte.
  const auto d = *rc::gen::inRange(-64, 64);
  const T near = static_cast<T>(b + static_cast<T>(d));
  std::array<std::byte, kMaxBytes<T>> buf{};
  RC_ASSERT((put(buf.data(), zigzag(near, b)) - buf.data() == 1) == (d >= -64 && d <= 63));
}

RC_GTEST_PROP(Varint, ZigzagRoundTrips16, ()) { zigzag_round_trip<std::uint16_t>(); }
RC_GTEST_PROP(Varint, ZigzagRoundTrips32, ()) { zigzag_round_trip<std::uint32_t>(); }
RC_GTEST_PROP(Varint, ZigzagRoundTrips64, ()) { zigzag_round_trip<std::uint64_t>(); }

// Msg::claim_front makes room in front, where the bytes written go, as push() of a header with
// the same bytes would put them; another view of the message keeps its bytes.
RC_GTEST_PROP(Varint, ClaimFrontIsAPushOfTheBytesWritten, ()) {
  const auto payload =
      *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
  const auto front =
      *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
  std::vector<std::byte> p(payload.size()), f(front.size());
  for (std::size_t i = 0; i < payload.size(); ++i) p[i] = static_cast<std::byte>(payload[i]);
  for (std::size_t i = 0; i < front.size(); ++i) f[i] = static_cast<std::byte>(front[i]);
  Msg m = Msg::copy_of(p);
  const Msg other = m.share(); // its bytes in front must not be written over
  if (!f.empty()) std::memcpy(m.claim_front(f.size()), f.data(), f.size());
  std::vector<std::byte> want = f;
  want.insert(want.end(), p.begin(), p.end());
  RC_ASSERT(std::vector<std::byte>(m.bytes().begin(), m.bytes().end()) == want);
  RC_ASSERT(std::vector<std::byte>(other.bytes().begin(), other.bytes().end()) == p);
}

} // namespace
} // namespace lamina::varint
