// METER (a test layer for lamina-opt, in the dialect): counts the payload bytes that pass it in
// each direction, and passes everything on. Needs nothing below.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Meter {
public:
  static constexpr std::string_view name = "Meter";

  // Meter puts nothing on the wire.
  using Header = NoHeader;

  std::uint64_t bytes_sent = 0;     // bytes of the messages taken down, as they were here
  std::uint64_t bytes_received = 0; // bytes of the messages passed up, as they are here

  // No branch: both directions are always the straight path.
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    bytes_sent += ev.msg.size();
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    bytes_received += ev.msg.size();
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Meter, bytes_sent, bytes_received);
