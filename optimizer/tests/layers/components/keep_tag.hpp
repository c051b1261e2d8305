// KEEPTAG (a test layer for lamina-opt): tags each message it sends with a header, and passes
// each message it receives up with the tag still on, for the application to read. On the
// receive bypass the tag is a field of the compressed header, not bytes on the message, so the
// bypass must push it back before the layers above (lamina-opt once delivered the message
// without it). Read by ../../up_with_header.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class KeepTag {
public:
  static constexpr std::string_view name = "KeepTag";

  struct Header {
    std::uint8_t tag;
  };

  std::uint64_t tagged = 0; // messages sent with the tag

  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& h) const { return h.tag == 1; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++tagged;
    ev.msg.push(Header{1});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.peek(h)) return;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::KeepTag, tagged);
