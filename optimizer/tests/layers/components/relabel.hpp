// RELABEL (a test layer for lamina-opt): the application speaks to it in its Header. It takes
// the application's header off each message it sends, and puts its own on, numbered. Its CCP
// down says the common case of the application's header (`ccp_down(ev, h)`), which the fused
// stack reads where it is. Under a layer that pushes a header, the header in front is that
// layer's, not the application's; and the CCP of a layer below that reads the message's bytes
// would read them before the application's header comes off. lamina-opt refuses both, saying
// why. Read by ../../app_header.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Relabel {
public:
  static constexpr std::string_view name = "Relabel";

  struct Header {
    std::uint8_t tag; // the application's: 1 to send; Relabel's: 1
    std::uint8_t unused[3];
    std::uint32_t number; // Relabel's: the messages numbered so far
  };

  std::uint32_t numbered = 0; // messages sent with a number
  std::uint64_t refused = 0;  // from the application: a cast, no header, or another tag

  [[nodiscard]] bool ccp_down(const Event& ev, const Header& h) const {
    return ev.type == EventType::Send && h.tag == 1;
  }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& h) const { return h.tag == 1; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type != EventType::Send) {
      ++refused;
      return;
    }
    Header h{};
    if (!ev.msg.pop(h)) {
      ++refused;
      return;
    }
    if (h.tag != 1) {
      ++refused;
      return;
    }
    ++numbered;
    ev.msg.push(Header{1, {}, numbered});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) return;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Relabel, numbered, refused);
