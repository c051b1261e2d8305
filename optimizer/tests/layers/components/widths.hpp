// WIDTHS (a test layer for lamina-opt): its down handler computes with parameters of several
// integer widths, as C++ computes. Folded exactly: `window * 2u` is 0u (unsigned arithmetic
// wraps), `offset < window` is false (-1 converts to 4294967295u), the 16-bit cast of
// `window + 70000u` is 4464. Left as written, and named by --explain: `scale * scale` (signed
// overflow) and `1u << shift` (a shift by 40 in 32 bits), which C++ leaves undefined; on this
// layer's path they run only for a message longer than the window, which never comes.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Widths {
public:
  static constexpr std::string_view name = "Widths";
  using Header = NoHeader;

  std::uint32_t window = 2147483648u; // parameter: 2^31
  std::int32_t offset = -1;           // parameter
  std::int32_t scale = 65536;         // parameter
  std::uint8_t shift = 40;            // parameter
  std::uint64_t dropped = 0;          // messages of at most twice the window (0 in u32)
  std::uint64_t wrapped = 0;          // messages sent while the offset lies below the window (none)
  std::uint64_t low = 0;              // the window plus 70000, in 16 bits, summed
  std::uint64_t scaled = 0;           // what the undefined operations gave, summed

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.size() <= window * 2u) ++dropped;
    if (offset < window) ++wrapped;
    low += static_cast<std::uint16_t>(window + 70000u);
    if (ev.msg.size() > window) scaled += static_cast<std::uint64_t>(scale * scale) + (1u << shift);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Widths, dropped, wrapped, low, scaled);
