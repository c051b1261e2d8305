// ALIASINTYPE (a test layer for lamina-opt): passes everything on; `down` declares a type alias
// written with the layer's constant, which lamina-opt would print as written, where the constant
// names nothing, and `up` defines a struct. Both are outside the dialect, in the common paths:
// lamina-opt must warn, keep both on the layered path, and write no code that does not compile
// (it once printed the alias wrongly). Read by ../../dialect_unprintable.test.
#pragma once

#include <array>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class AliasInType {
public:
  static constexpr std::string_view name = "AliasInType";

  using Header = NoHeader;

  static constexpr std::size_t kSteps = 2;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    using Steps = std::array<std::uint64_t, kSteps>;
    Steps steps{};
    sent += steps.size();
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    struct Seen {
      std::uint64_t n = 0;
    };
    Seen seen{};
    sent += seen.n;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::AliasInType, sent);
