// ARRAYLOCAL (a test layer for lamina-opt): passes everything on; `down` counts in a local
// array first, a declaration whose type is written partly after the name, which lamina-opt's
// declarations (type, then name) cannot print. That is outside the dialect, in the common path
// of `down`: lamina-opt must warn, keep `down` on the layered path, and write no code that does
// not compile (it once printed this construct wrongly). Read by ../../dialect_unprintable.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class ArrayLocal {
public:
  static constexpr std::string_view name = "ArrayLocal";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    std::uint64_t counts[2] = {sent, 1};
    sent = counts[0] + counts[1];
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::ArrayLocal, sent);
