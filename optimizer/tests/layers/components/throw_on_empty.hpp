// THROWONEMPTY (a test layer for lamina-opt): passes everything on, and throws on an empty
// message going down — outside the dialect, in the common path of `down` (its CCP does not
// decide the emptiness). lamina-opt must warn at the throw and keep `down` on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_throw_on_empty.test.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "runtime/layer.hpp"

namespace lamina {

class ThrowOnEmpty {
public:
  static constexpr std::string_view name = "ThrowOnEmpty";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.size() == 0)
      // CHECK: {{.*}}throw_on_empty.hpp:[[@LINE+3]]:7: warning: lamina-opt cannot collapse
      // CHECK-SAME: ThrowOnEmpty::down: it throws an exception;
      // CHECK-SAME: it stays on the layered path
      throw std::invalid_argument("ThrowOnEmpty: an empty message");
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::ThrowOnEmpty, sent);
// CHECK-NOT: warning:
