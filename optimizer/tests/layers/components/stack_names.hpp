// STACKNAMES (a test layer for lamina-opt): passes everything on; `down` declares locals named as
// the generated stack's own variables: `bottom` (the Bottom layer's) and `f` (the compressed
// header's fields), and its helper one named `top` (the Top layer's). lamina-opt renames them, so
// that they do not hide the generated code's variables in the blocks of the layers below (it once
// did not, and the code did not compile). Read by ../../reserved_names.test.
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
    Msg none; // made by its default constructor: printed as written
    sent += none.size();
    count(ev);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  // A helper's local named as a layer's variable (`top`), renamed once inlined.
  void count(const Event& ev) {
    const std::uint64_t top = ev.msg.size();
    sent += top;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StackNames, sent);
