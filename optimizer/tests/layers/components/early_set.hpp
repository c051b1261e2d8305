// EARLYSET (a test layer for lamina-opt): numbers what it delivers per peer, and counts the
// numbers it finds in a set of its own, which its CCP up says is empty. Under the CCP the folder
// decides a membership test whose evaluation changes nothing (false: an empty set holds
// nothing), keeps one whose key has an effect, and drops a while loop that is false on entry.
// Read by ../../fold_membership.test.
#pragma once

#include <cstdint>
#include <set>

#include "runtime/layer.hpp"

namespace lamina {

class EarlySet {
public:
  static constexpr std::string_view name = "EarlySet";

  using Header = NoHeader;

  PeerTable<std::uint32_t> next;            // the number of the next delivery from each peer
  PeerTable<std::set<std::uint32_t>> early; // numbers found early (never filled here)
  std::uint64_t matched = 0;                // numbers found in `early`

  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& /*h*/) const {
    return early.get(ev.peer).empty();
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    const PeerId peer = ev.peer;
    std::uint32_t& n = next[peer];
    if (early[peer].contains(n)) ++matched;
    if (early[peer].contains(n++)) ++matched;
    while (!early[peer].empty() && early[peer].erase(n) != 0) ++n;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::EarlySet, next, early, matched);
