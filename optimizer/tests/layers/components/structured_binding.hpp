// STRUCTUREDBINDING (a test layer for lamina-opt): passes everything on, and counts what goes
// up, the count and the bytes taken apart from a pair by a structured binding — outside the
// dialect, in the common path of `up`. lamina-opt must warn at the declaration and keep `up`
// on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_structured_binding.test.
#pragma once

#include <cstdint>
#include <utility>

#include "runtime/layer.hpp"

namespace lamina {

class StructuredBinding {
public:
  static constexpr std::string_view name = "StructuredBinding";

  using Header = NoHeader;

  std::uint64_t received = 0; // messages passed up
  std::uint64_t bytes = 0;    // their bytes

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    // CHECK: {{.*}}structured_binding.hpp:[[@LINE+3]]:5: warning: lamina-opt cannot collapse
    // CHECK-SAME: StructuredBinding::up: it declares a structured binding;
    // CHECK-SAME: it stays on the layered path
    const auto [count, size] = std::pair{received + 1, bytes + ev.msg.size()};
    received = count;
    bytes = size;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StructuredBinding, received, bytes);
// CHECK-NOT: warning:
