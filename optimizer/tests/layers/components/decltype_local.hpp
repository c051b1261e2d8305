// DECLTYPELOCAL (a test layer for lamina-opt): passes everything on; `down` declares a local whose
// type is written with decltype of a member, whose expression lamina-opt would print as written,
// naming what the bypass no longer has. That is outside the dialect, in the common path of `down`:
// lamina-opt must warn, keep `down` on the layered path, and write no code that does not compile
// (it once printed this construct wrongly). Read by ../../dialect_unprintable.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class DecltypeLocal {
public:
  static constexpr std::string_view name = "DecltypeLocal";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    decltype(sent) step = 1;
    sent += step;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::DecltypeLocal, sent);
