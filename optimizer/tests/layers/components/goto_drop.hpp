// GOTODROP (a test layer for lamina-opt): passes everything on, and drops an empty message
// going up by jumping to the drop with a goto — outside the dialect, in the common path of `up`
// (its CCP does not decide the emptiness). lamina-opt must warn at the goto and keep `up` on the
// layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_goto_drop.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class GotoDrop {
public:
  static constexpr std::string_view name = "GotoDrop";

  using Header = NoHeader;

  std::uint64_t received = 0;      // messages passed up
  std::uint64_t dropped_empty = 0; // empty messages, not passed up

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    if (ev.msg.size() == 0)
      // CHECK: {{.*}}goto_drop.hpp:[[@LINE+3]]:7: warning: lamina-opt cannot collapse
      // CHECK-SAME: GotoDrop::up: it uses goto;
      // CHECK-SAME: it stays on the layered path
      goto drop;
    ++received;
    io.up(ev);
    return;
  drop:
    ++dropped_empty;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::GotoDrop, received, dropped_empty);
// CHECK-NOT: warning:
