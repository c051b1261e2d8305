// PRIVATETYPELOCAL (a test layer for lamina-opt): passes everything on; `down` declares a local of
// a type the layer keeps private, which the fused stack, outside the class, cannot name. That is
// outside the dialect, in the common path of `down`: lamina-opt must warn, keep `down` on the
// layered path, and write no code that does not compile (it once aliased only the public types,
// and printed the private one unnamed). Read by ../../dialect_unprintable.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class PrivateTypeLocal {
public:
  static constexpr std::string_view name = "PrivateTypeLocal";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    Step step{};
    sent += step.by;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  struct Step {
    std::uint64_t by = 1;
  };
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::PrivateTypeLocal, sent);
