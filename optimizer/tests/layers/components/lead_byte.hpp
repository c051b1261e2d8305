// LEADBYTE (a test layer for lamina-opt): passes on the messages it sends whose first byte is not
// zero, and counts the rest, dropped. Its CCP down reads the message's bytes: under Relabel the
// send guard would read them before the application's header comes off, so lamina-opt refuses
// it there. Read by ../../app_header.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class LeadByte {
public:
  static constexpr std::string_view name = "LeadByte";

  using Header = NoHeader;

  std::uint64_t dropped = 0; // messages sent empty or with a zero first byte

  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.msg.size() != 0 && ev.msg.bytes().front() != std::byte{0};
  }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.size() == 0 || ev.msg.bytes().front() == std::byte{0}) {
      ++dropped;
      return;
    }
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::LeadByte, dropped);
