// FOLDEDVIOLATION (a test layer for lamina-opt): passes sends and everything going up on,
// counting them, and refuses casts. It leaves the dialect only where its CCPs fold the code
// away — a throw on a cast going down, a goto and a static local after the straight path going
// up — so lamina-opt must collapse both directions without a warning.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "runtime/layer.hpp"

namespace lamina {

class FoldedViolation {
public:
  static constexpr std::string_view name = "FoldedViolation";

  using Header = NoHeader;

  std::uint64_t sent = 0;     // messages taken down
  std::uint64_t received = 0; // messages passed up

  // Down: straight for a message to one peer; a cast is refused (by a throw, outside the
  // dialect, where the CCP folds it away).
  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Cast)
      throw std::invalid_argument("FoldedViolation: casts are refused");
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    // Check for fast path: always taken; what follows it is dead code on every path.
    if (ccp_up(ev, Header{})) {
      ++received;
      io.up(ev);
      return;
    }
    static std::uint64_t never = 0;
    ++never;
    goto done;
  done:
    return;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::FoldedViolation, sent, received);
