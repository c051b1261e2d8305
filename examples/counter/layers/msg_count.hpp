// MSGCOUNT: every message carries the number of messages its sender has sent so far, this one
// included; a node counts what it sends and what it delivers, and keeps the highest number it
// has seen on a delivered message. A layer of this example project, not of Lamina: its spec is
// msg_count.ioa beside this file, and the build checks this class against it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class MsgCount {
public:
  static constexpr std::string_view name = "MsgCount";

  // Every message: its sender's count of messages sent, this one included.
  struct Header {
    std::uint32_t number;
  };

  std::uint32_t sent = 0;          // messages sent and cast by this node (wraps at 2^32)
  std::uint64_t delivered = 0;     // messages delivered up
  std::uint32_t highest = 0;       // the highest number seen on a delivered message
  std::uint64_t dropped_short = 0; // too short for a header

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    ev.msg.push(Header{sent});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    ++delivered;
    highest = std::max(highest, h.number);
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::MsgCount, sent, delivered, highest, dropped_short);
