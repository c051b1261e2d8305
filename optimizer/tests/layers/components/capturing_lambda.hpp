// CAPTURINGLAMBDA (a test layer for lamina-opt): passes everything on, counting what it passes
// up through a lambda that captures `this` — a body the optimiser cannot inline, outside the
// dialect, in the common path of `up`. lamina-opt must warn at the lambda and keep `up` on the
// layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_capturing_lambda.test.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class CapturingLambda {
public:
  static constexpr std::string_view name = "CapturingLambda";

  using Header = NoHeader;

  std::uint64_t received = 0;       // messages passed up
  std::uint64_t received_bytes = 0; // their payload bytes

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    // CHECK: {{.*}}capturing_lambda.hpp:[[@LINE+3]]:23: warning: lamina-opt cannot collapse
    // CHECK-SAME: CapturingLambda::up: it passes a lambda that captures (its body is not inlined);
    // CHECK-SAME: it stays on the layered path
    const auto note = [this](std::size_t bytes) {
      ++received;
      received_bytes += bytes;
    };
    note(ev.msg.size());
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::CapturingLambda, received, received_bytes);
// CHECK-NOT: warning:
