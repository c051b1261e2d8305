// PARENLOCAL (a test layer for lamina-opt): passes everything on; `down` declares a local
// initialised in parentheses, which lamina-opt's declarations (`= value` or braces) do not print.
// That is outside the dialect, in the common path of `down`: lamina-opt must warn, keep `down` on
// the layered path, and write no code that does not compile (it once printed this construct
// wrongly). Read by ../../dialect_unprintable.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class ParenLocal {
public:
  static constexpr std::string_view name = "ParenLocal";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    std::uint64_t step(1);
    sent += step;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::ParenLocal, sent);
