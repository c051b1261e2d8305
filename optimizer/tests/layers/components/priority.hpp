// PRIORITY (a test layer for lamina-opt, in the dialect): marks every message with this node's
// priority level, and tells the layers above the level of the message delivered last. Needs
// nothing below.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Priority {
public:
  static constexpr std::string_view name = "Priority";

  // Every message: the sender's priority level.
  struct Header {
    std::uint8_t level;
  };

  std::uint8_t level = 0;          // parameter: this node's priority level
  std::uint8_t last_level = 0;     // the level of the message delivered last
  std::uint64_t dropped_short = 0; // too short for a header

  // No branch besides the pop: both directions are always the straight path.
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ev.msg.push(Header{level});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    last_level = h.level;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Priority, level, last_level, dropped_short);
