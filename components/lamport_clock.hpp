// LAMPORTCLOCK: Lamport's logical clock — every send and every delivery gets a clock value
// such that if one event happened before another, its value is smaller.
//
// Needs nothing below. The layers above and the application read the clock of a delivered or
// sent message in `ev.lamport`, and the current clock in the public member `clock`. Stamps are
// taken as they arrive; with a Checksum below, a corrupt stamp cannot push the clock forward.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class LamportClock {
public:
  static constexpr std::string_view name = "LamportClock";
  static constexpr Guarantees provides = Guarantee::lamport;

  // Every message: the sender's clock when it sent it.
  struct Header {
    std::uint64_t stamp;
  };

  std::uint64_t clock = 0;         // this node's logical clock: the value of its latest event
  std::uint64_t dropped_short = 0; // too short for a header

  // No branch besides the max: both directions are always the straight path.
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    // IR1: a send is an event of this node, so the clock ticks before it is stamped.
    ++clock;
    ev.msg.push(Header{clock});
    ev.lamport = clock;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    // IR2: a receipt comes after its send, so the clock passes the sender's stamp.
    clock = std::max(clock, h.stamp) + 1;
    ev.lamport = clock;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::LamportClock, clock, dropped_short);
