// Msg: headers pushed and popped around a payload that never moves; pooled buffers.
#include <algorithm>
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <vector>

#include "runtime/msg.hpp"
#include "runtime/wire.hpp"

namespace lamina {
namespace {

struct Small {
  std::uint16_t a;
};
struct Wide {
  std::uint64_t x;
  std::uint64_t y;
};

std::vector<std::byte> bytes_of(const std::vector<std::uint8_t>& v) {
  std::vector<std::byte> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::byte{v[i]};
  return out;
}

TEST(Msg, PushAndPopLeaveThePayloadInPlace) {
  Msg m = Msg::with_size(64);
  const std::byte* payload = m.data();
  m.push(Small{7});
  m.push(Wide{1, 2});
  EXPECT_EQ(m.size(), 64 + sizeof(Small) + sizeof(Wide));
  Wide w{};
  Small s{};
  ASSERT_TRUE(m.pop(w));
  ASSERT_TRUE(m.pop(s));
  EXPECT_EQ(w.x, 1u);
  EXPECT_EQ(w.y, 2u);
  EXPECT_EQ(s.a, 7);
  EXPECT_EQ(m.data(), payload);
}

// Padding would put whatever the copied object held on the wire.
struct Padded {
  std::uint8_t kind;
  std::uint32_t id;
};
static_assert(WireHeader<Small> && WireHeader<Wide> && !WireHeader<Padded>);

RC_GTEST_PROP(Msg, HeaderBytesAreWhatAPushPutsInFront,
              (std::uint16_t a, std::uint64_t x, std::uint64_t y, std::uint16_t b)) {
  Msg m = Msg::with_size(3);
  m.push(Small{a}, Wide{x, y}, Small{b});
  const auto bytes = header_bytes(Small{a}, Wide{x, y}, Small{b});
  RC_ASSERT(m.size() == bytes.size() + 3);
  RC_ASSERT(std::equal(bytes.begin(), bytes.end(), m.data()));
}

TEST(Msg, PopFromAShortMessageFailsAndLeavesItIntact) {
  Msg m = Msg::with_size(3);
  Wide w{99, 99};
  EXPECT_FALSE(m.pop(w));
  EXPECT_EQ(w.x, 99u);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_FALSE(m.drop_front(4));
  EXPECT_FALSE(m.truncate(4));
}

TEST(Msg, HeadersBeyondTheHeadroomStillFit) {
  Msg m = Msg::copy_of(bytes_of({1, 2, 3}));
  for (int i = 0; i < 100; ++i) m.push(Wide{static_cast<std::uint32_t>(i), 0});
  for (int i = 99; i >= 0; --i) {
    Wide w{};
    ASSERT_TRUE(m.pop(w));
    EXPECT_EQ(w.x, static_cast<std::uint32_t>(i));
  }
  EXPECT_EQ(m, Msg::copy_of(bytes_of({1, 2, 3})));
}

TEST(Msg, CloneIsDeepAndEqual) {
  Msg a = Msg::copy_of(bytes_of({5, 6, 7}));
  Msg b = a.clone();
  EXPECT_EQ(a, b);
  b.writable_data()[0] = std::byte{9};
  EXPECT_NE(a, b);
}

// A packet of a bundled datagram is a view of a few bytes of a large buffer: its copy gets a
// buffer of its own size, with the usual room in front for headers, not the datagram's.
TEST(Msg, ACloneOfAFewBytesOfALargeBufferIsSmall) {
  Msg datagram = Msg::with_size(4000);
  for (std::size_t i = 0; i < datagram.size(); ++i)
    datagram.writable_data()[i] = static_cast<std::byte>(i);
  Msg packet = datagram.share();
  ASSERT_TRUE(packet.drop_front(2000));
  ASSERT_TRUE(packet.truncate(100));
  const Msg copy = packet.clone();
  EXPECT_EQ(copy, packet);
  EXPECT_EQ(copy.headroom(), Msg::kHeadroom);
}

TEST(Msg, AppendGrowsTheMessage) {
  Msg m = Msg::copy_of(bytes_of({1}));
  std::vector<std::byte> big(10000, std::byte{4});
  m.append(big);
  m.append(bytes_of({2}));
  EXPECT_EQ(m.size(), 10002u);
  EXPECT_EQ(m.bytes()[0], std::byte{1});
  EXPECT_EQ(m.bytes()[5000], std::byte{4});
  EXPECT_EQ(m.bytes()[10001], std::byte{2});
}

TEST(Msg, ReleasedBuffersAreReusedWithoutAllocating) {
  {
    Msg warm = Msg::with_size(1000);
  }
  const PoolStats before = pool_stats();
  for (int i = 0; i < 1000; ++i) {
    Msg m = Msg::with_size(1000);
    Msg c = m.clone();
  }
  const PoolStats after = pool_stats();
  EXPECT_EQ(after.acquired - before.acquired, 2000u);
  EXPECT_LE(after.allocated - before.allocated, 1u); // the second buffer of the first pair
}

RC_GTEST_PROP(Msg, AnySequenceOfPushesPopsBackInReverse,
              (const std::vector<std::uint8_t>& payload, const std::vector<std::uint32_t>& hs)) {
  Msg m = Msg::copy_of(bytes_of(payload));
  for (std::uint32_t h : hs) m.push(Wide{h, h * 3ull});
  for (auto it = hs.rbegin(); it != hs.rend(); ++it) {
    Wide w{};
    RC_ASSERT(m.pop(w));
    RC_ASSERT(w.x == *it);
    RC_ASSERT(w.y == *it * 3ull);
  }
  RC_ASSERT(m == Msg::copy_of(bytes_of(payload)));
}

// Views of one buffer (share()): whatever each view does -- push, pop, drop, truncate, append,
// write, share again, clone, let go -- every view holds exactly what it would hold had each
// share been a deep copy. The model is one byte vector per view.
RC_GTEST_PROP(Msg, SharedViewsHoldWhatDeepCopiesWould, ()) {
  std::vector<Msg> views;
  std::vector<std::vector<std::byte>> model;
  const auto add = [&](Msg m) {
    model.emplace_back(m.bytes().begin(), m.bytes().end());
    views.push_back(std::move(m));
  };
  add(Msg::copy_of(bytes_of(*rc::gen::container<std::vector<std::uint8_t>>(
      *rc::gen::inRange<std::size_t>(0, 64), rc::gen::arbitrary<std::uint8_t>()))));
  const auto steps = *rc::gen::inRange(1, 80);
  for (int step = 0; step < steps; ++step) {
    const auto i = *rc::gen::inRange<std::size_t>(0, views.size());
    Msg& m = views[i];
    std::vector<std::byte>& want = model[i];
    const auto value = *rc::gen::arbitrary<std::uint8_t>();
    switch (*rc::gen::inRange(0, 10)) {
    case 0: { // a header, of one of two sizes, or both in one push (the Wide one in front)
      const Small s{static_cast<std::uint16_t>(value * 257)};
      const Wide w{value, value * 3ull};
      const auto* p = reinterpret_cast<const std::byte*>(&w);
      if (value % 3 == 0) {
        m.push(s);
        want.insert(want.begin(), 2, std::byte{value});
      } else if (value % 3 == 1) {
        m.push(w);
        want.insert(want.begin(), p, p + sizeof w);
      } else {
        m.push(s, w);
        want.insert(want.begin(), 2, std::byte{value});
        want.insert(want.begin(), p, p + sizeof w);
      }
      break;
    }
    case 1: {
      Small h{};
      const bool popped = m.pop(h);
      RC_ASSERT(popped == (want.size() >= sizeof h));
      if (popped) want.erase(want.begin(), want.begin() + sizeof h);
      break;
    }
    case 2: {
      const std::size_t n = value % 8;
      if (m.drop_front(n)) want.erase(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(n));
      break;
    }
    case 3: {
      const std::size_t n = want.size() - std::min<std::size_t>(want.size(), value % 8);
      RC_ASSERT(m.truncate(n));
      want.resize(n);
      break;
    }
    case 4: {
      const std::byte b{value};
      m.append({&b, 1});
      want.push_back(b);
      break;
    }
    case 5:
      if (!want.empty()) {
        m.writable_data()[value % want.size()] ^= std::byte{0x5a};
        want[value % want.size()] ^= std::byte{0x5a};
      }
      break;
    case 6:
    case 7:
      add(views[i].share());
      break;
    case 8:
      add(views[i].clone());
      break;
    default:
      if (views.size() > 1) { // let go of a view
        views.erase(views.begin() + static_cast<std::ptrdiff_t>(i));
        model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
      }
      break;
    }
    for (std::size_t v = 0; v < views.size(); ++v)
      RC_ASSERT(std::vector<std::byte>(views[v].bytes().begin(), views[v].bytes().end()) ==
                model[v]);
  }
}

TEST(Msg, TheCopyKeptForResendingSharesTheBufferOfThePacketSentBelow) {
  // Retransmit's pattern: push a header, keep a share, push the headers of the layers below.
  Msg packet = Msg::with_size(64);
  packet.push(Small{1});
  const std::uint64_t before = pool_stats().acquired;
  Msg kept = packet.share();
  packet.push(Wide{2, 3});
  packet.push(Small{4});
  EXPECT_EQ(pool_stats().acquired, before) << "pushing below a share copies nothing";
  EXPECT_TRUE(kept.shared());
  // The resend, while the packet still exists: its headers would overwrite the packet's.
  Msg again = kept.share();
  again.push(Wide{5, 6});
  EXPECT_EQ(pool_stats().acquired, before + 1) << "a resend beside the packet gets its own copy";
  Small top{};
  ASSERT_TRUE(packet.pop(top));
  EXPECT_EQ(top.a, 4) << "the packet's headers are intact";
  // Once the packet is gone, a resend pushes in place.
  packet = Msg{};
  again = Msg{};
  EXPECT_FALSE(kept.shared());
  Msg resend = kept.share();
  resend.push(Wide{7, 8});
  EXPECT_EQ(pool_stats().acquired, before + 1)
      << "alone with the kept copy, a resend copies nothing";
  Small s{};
  ASSERT_TRUE(kept.pop(s));
  EXPECT_EQ(s.a, 1);
}

// The bench's wire, as a network: the receiver never shares the sender's buffer. A packet whose
// buffer the sender keeps a view of (a copy to resend) arrives in a buffer of its own, which the
// receiver may push into without touching the sender's copy; one the sender let go of is handed
// over as it is.
TEST(Wire, APacketWhoseBufferTheSenderKeepsArrivesInABufferOfItsOwn) {
  Msg sent = Msg::copy_of(bytes_of({1, 2, 3, 4, 5, 6, 7, 8}));
  sent.push(Small{9});
  const Msg kept = sent.share();
  const std::vector<std::byte> before(kept.bytes().begin(), kept.bytes().end());
  Msg got = Wire::arrived(std::move(sent));
  EXPECT_FALSE(got.shared());
  EXPECT_NE(got.data(), kept.data());
  EXPECT_TRUE(std::ranges::equal(got.bytes(), before));
  Small s{};
  ASSERT_TRUE(got.pop(s));
  got.push(Wide{1, 2}); // as a fused receiver puts a header back
  EXPECT_TRUE(std::ranges::equal(kept.bytes(), before));

  Msg alone = Msg::copy_of(bytes_of({1, 2, 3}));
  const std::byte* at = alone.data();
  EXPECT_EQ(Wire::arrived(std::move(alone)).data(), at);
}

} // namespace
} // namespace lamina
