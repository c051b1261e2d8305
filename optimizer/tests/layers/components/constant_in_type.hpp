// CONSTANTINTYPE (a test layer for lamina-opt): passes everything on; `down` declares a local
// array of arrays whose size is the layer's constant, a template argument of a template argument:
// a declaration that lamina-opt prints as written, where the constant would name nothing. That is
// outside the dialect, in the common path of `down`: lamina-opt must warn, keep `down` on the
// layered path, and write no code that does not compile (it once printed this construct wrongly).
// Read by ../../dialect_unprintable.test.
#pragma once

#include <array>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class ConstantInType {
public:
  static constexpr std::string_view name = "ConstantInType";

  using Header = NoHeader;

  static constexpr std::size_t kSteps = 2;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    std::array<std::array<std::uint64_t, kSteps>, 1> steps{};
    sent += steps[0].size();
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::ConstantInType, sent);
