// same_state: difftest's equality of layer state, which skips what cannot have changed since
// the last comparison (untouched PeerTable entries, unchanged messages). It must agree with
// operator== whatever the layers do in between.
#include <boost/hana/adapt_struct.hpp>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <vector>

#include "difftest/same_state.hpp"

namespace lamina::difftest {
namespace {

Msg message(const std::vector<std::uint8_t>& bytes) {
  return Msg::copy_of(std::as_bytes(std::span(bytes)));
}

// One change to a message, of the kinds a layer makes.
void change(Msg& m, int kind, std::uint8_t value) {
  std::uint32_t word = value;
  switch (kind) {
  case 0:
    m.push(word);
    break;
  case 1:
    (void)m.pop(word);
    break;
  case 2:
    (void)m.drop_front(value % 8);
    break;
  case 3:
    (void)m.truncate(m.size() - std::min<std::size_t>(m.size(), value % 8));
    break;
  case 4:
    m.append(std::as_bytes(std::span(&value, 1)));
    break;
  case 5:
    if (!m.empty()) m.writable_data()[value % m.size()] ^= std::byte{1};
    break;
  case 6:
    if (!m.empty()) m.writable_bytes()[value % m.size()] = std::byte{value};
    break;
  default:
    break; // reads only
  }
}

RC_GTEST_PROP(MsgMemo, AgreesWithComparingTheBytesWhateverIsDoneToTheMessages,
              (std::vector<std::uint8_t> bytes)) {
  // Longer than MsgMemo's shortest remembered message, so that the memo is used.
  bytes.resize(200 + bytes.size());
  Msg a = message(bytes);
  Msg b = message(bytes);
  MsgMemo memo;
  const auto steps = *rc::gen::inRange(1, 40);
  for (int i = 0; i < steps; ++i) {
    const auto kind = *rc::gen::inRange(0, 9);
    const auto value = *rc::gen::arbitrary<std::uint8_t>();
    const auto which = *rc::gen::inRange(0, 5);
    if (which == 0 || which == 2) change(a, kind, value);
    if (which == 1 || which == 2) change(b, kind, value);
    if (which == 3) a = b.clone(); // the same bytes again, as a new message
    if (which == 4) a = b.share(); // the same bytes again, in the same buffer
    RC_ASSERT(memo.same(a, b) == (a == b));
    RC_ASSERT(memo.same(b, a) == (a == b));
  }
}

// A layer's state in miniature: per-peer tables of numbers and of kept messages.
struct Kept {
  std::uint32_t count = 0;
  PeerTable<std::uint32_t> next;
  PeerTable<std::map<std::uint32_t, Msg>> early;
};

} // namespace
} // namespace lamina::difftest

BOOST_HANA_ADAPT_STRUCT(lamina::difftest::Kept, count, next, early);

namespace lamina::difftest {
namespace {

bool operator==(const Kept& a, const Kept& b) {
  return a.count == b.count && a.next == b.next && a.early == b.early;
}

// One handler's worth of changes to `k`, on the entries of one peer or, when `all`, of all.
void handle(Kept& k, PeerId peer, int kind, std::uint32_t value, bool all) {
  switch (kind) {
  case 0:
    ++k.count;
    break;
  case 1:
    k.next[peer] += value;
    break;
  case 2:
    k.early[peer].try_emplace(value % 4, Msg::copy_of(std::as_bytes(std::span(&value, 1))));
    break;
  case 3:
    k.early[peer].erase(value % 4);
    break;
  case 4:
    if (auto it = k.early[peer].find(value % 4); it != k.early[peer].end() && !it->second.empty())
      it->second.writable_data()[0] ^= std::byte{1};
    break;
  case 5:
    if (all)
      for (PeerId p = 0; p < k.early.size(); ++p) k.early[p].clear(); // a timer: every peer
    break;
  default:
    (void)k.next.get(peer); // reads only
  }
}

RC_GTEST_PROP(SameState, AgreesWithOperatorEqualsWhenUntouchedEntriesAreSkipped, ()) {
  Kept a;
  Kept b;
  MsgMemo memo;
  const auto events = *rc::gen::inRange(1, 60);
  for (int e = 0; e < events; ++e) {
    // Both sides handle the same event; now and then one of them differs, as a mutant would.
    const PeerId peer = *rc::gen::inRange<PeerId>(0, 70); // beyond 64: peers sharing a bit
    const auto kind = *rc::gen::inRange(0, 7);
    const auto value = *rc::gen::inRange<std::uint32_t>(0, 8);
    const bool all = *rc::gen::arbitrary<bool>();
    handle(a, peer, kind, value, all);
    if (*rc::gen::inRange(0, 8) == 0)
      handle(b, *rc::gen::inRange<PeerId>(0, 70), *rc::gen::inRange(0, 7), value + 1, all);
    else
      handle(b, peer, kind, value, all);
    const bool same = same_state(a, b, memo);
    RC_ASSERT(same == (a == b));
    if (!same) return; // difftest stops at the first divergence
    forget_changes(a);
    forget_changes(b);
  }
}

TEST(SameState, ANewOrAssignedTableIsComparedWhole) {
  PeerTable<std::uint32_t> a;
  PeerTable<std::uint32_t> b;
  a[3] = 1;
  b[3] = 1;
  a.forget_changes();
  b.forget_changes();
  EXPECT_FALSE(a.may_have_changed(3));
  PeerTable<std::uint32_t> c;
  c[3] = 2;
  b = c; // no operator[] on b, yet its entry changed
  EXPECT_TRUE(b.may_have_changed(3));
  MsgMemo memo;
  EXPECT_FALSE(same_state(a, b, memo));
  EXPECT_TRUE(PeerTable<std::uint32_t>{}.may_have_changed(0));
}

} // namespace
} // namespace lamina::difftest
