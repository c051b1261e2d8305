// GLOBALCOUNTER (a test layer for lamina-opt): passes everything on, counting what it passes up
// in a global variable — outside the dialect, in the common path of `up`. lamina-opt must warn
// at the variable and keep `up` on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_global_counter.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

// Messages passed up by every GlobalCounter in the process: global mutable state.
inline std::uint64_t global_received = 0;

class GlobalCounter {
public:
  static constexpr std::string_view name = "GlobalCounter";

  using Header = NoHeader;

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    // CHECK: {{.*}}global_counter.hpp:[[@LINE+3]]:7: warning: lamina-opt cannot collapse
    // CHECK-SAME: GlobalCounter::up: it uses the global mutable variable `lamina::global_received`;
    // CHECK-SAME: it stays on the layered path
    ++global_received;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::GlobalCounter);
// CHECK-NOT: warning:
