// STATICLOCAL (a test layer for lamina-opt): passes everything on, counting what it sends in a
// static local — state outside the layer's object, outside the dialect, in the common path of
// `down`. lamina-opt must warn at the declaration and keep `down` on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_static_local.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class StaticLocal {
public:
  static constexpr std::string_view name = "StaticLocal";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down by this layer

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    // CHECK: {{.*}}static_local.hpp:[[@LINE+3]]:5: warning: lamina-opt cannot collapse
    // CHECK-SAME: StaticLocal::down: it keeps state in the static local `sent_by_all`;
    // CHECK-SAME: it stays on the layered path
    static std::uint64_t sent_by_all = 0; // by every StaticLocal in the process
    ++sent_by_all;
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StaticLocal, sent);
// CHECK-NOT: warning:
