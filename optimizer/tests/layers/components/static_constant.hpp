// STATICCONSTANT (a test layer for lamina-opt): passes everything on, counting the small messages
// it sends against a `static constexpr` local. A constant is not state: the layer is in the
// dialect, and lamina-opt must collapse it without a warning.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class StaticConstant {
public:
  static constexpr std::string_view name = "StaticConstant";

  using Header = NoHeader;

  std::uint64_t small_sent = 0; // messages taken down of at most 64 bytes

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    static constexpr std::size_t kSmall = 64;
    if (ev.msg.size() <= kSmall) ++small_sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StaticConstant, small_sent);
