// PORTSADDRESS (a test layer for lamina-opt): passes everything on; `down` passes the message on
// through a pointer to its Ports: the bypass has no Ports object, so `io` may only be called or
// handed to a helper. That is outside the dialect, in the common path of `down`: lamina-opt must
// warn, keep `down` on the layered path, and write no code that does not compile (it once printed
// this construct wrongly). Read by
// ../../dialect_unprintable.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class PortsAddress {
public:
  static constexpr std::string_view name = "PortsAddress";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    auto* ports = &io;
    ++sent;
    ports->down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::PortsAddress, sent);
