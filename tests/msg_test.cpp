// Msg: headers pushed and popped around a payload that never moves; pooled buffers.
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <vector>

#include "runtime/msg.hpp"

namespace lamina {
namespace {

struct Small {
  std::uint16_t a;
};
struct Wide {
  std::uint32_t x;
  std::uint64_t y;
};

std::vector<std::byte> bytes_of(const std::vector<std::uint8_t>& v) {
  std::vector<std::byte> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = std::byte{v[i]};
  return out;
}

TEST(Msg, PushAndPopLeaveThePayloadInPlace) {
  Msg m = Msg::with_size(64);
  std::byte* payload = m.data();
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
  b.data()[0] = std::byte{9};
  EXPECT_NE(a, b);
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

TEST(Msg, ContentIdStaysWhileUnchangedAndIsNewAfterEveryChange) {
  Msg m = Msg::with_size(16);
  const std::uint64_t first = m.content_id();
  EXPECT_NE(first, 0u);
  Small h{};
  const Msg& view = m;
  (void)view.data();
  (void)view.bytes();
  (void)m.peek(h);
  (void)m.size();
  EXPECT_EQ(m.content_id(), first) << "reads keep the id";

  std::vector<std::uint64_t> seen = {first};
  const auto changes_id = [&](const char* what) {
    const std::uint64_t id = m.content_id();
    EXPECT_NE(id, 0u) << what;
    for (const std::uint64_t old : seen) EXPECT_NE(id, old) << what;
    seen.push_back(id);
  };
  m.push(Small{1});
  changes_id("push");
  (void)m.pop(h);
  changes_id("pop");
  (void)m.drop_front(1);
  changes_id("drop_front");
  (void)m.truncate(4);
  changes_id("truncate");
  m.append(std::as_bytes(std::span("x", 1)));
  changes_id("append");
  (void)m.data();
  changes_id("data() for writing");
  (void)m.bytes();
  changes_id("bytes() for writing");

  const Msg copy = m.clone();
  EXPECT_NE(copy.content_id(), m.content_id()) << "a clone is another message";
  const std::uint64_t id = m.content_id();
  const Msg moved = std::move(m);
  EXPECT_EQ(moved.content_id(), id) << "a move takes the id along";
}

} // namespace
} // namespace lamina
