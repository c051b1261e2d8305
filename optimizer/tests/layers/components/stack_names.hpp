// STACKNAMES (a test layer for lamina-opt): passes everything on; `down` declares locals named as
// the generated stack's own variables: `bottom` (the Bottom layer's) and `f` (the compressed
// header's fields). lamina-opt renames them, so that they do not hide the generated code's
// variables in the blocks of the layers below (it once did not, and the code did not compile).
// Read by ../../reserved_names.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class StackNames {
public:
  static constexpr std::string_view name = "StackNames";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    const std::uint64_t bottom = sent;
    const std::uint64_t f = 2 * sent;
    sent += bottom + f;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StackNames, sent);
