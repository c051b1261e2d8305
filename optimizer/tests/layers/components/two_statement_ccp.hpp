// TWOSTATEMENTCCP (a test layer for lamina-opt): passes everything on, counting what it sends;
// its ccp_down is two statements, where a CCP must be one `return expression;`. lamina-opt cannot
// use the layer at all: an error at the CCP, and no fused stack.
//
// The CHECK lines are FileCheck's, read by ../../dialect_two_statement_ccp.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class TwoStatementCcp {
public:
  static constexpr std::string_view name = "TwoStatementCcp";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages taken down

  // CHECK: {{.*}}two_statement_ccp.hpp:[[@LINE+2]]:22: error: lamina-opt cannot use
  // CHECK-SAME: TwoStatementCcp::ccp_down: a CCP must be one `return expression;`
  [[nodiscard]] bool ccp_down(const Event& ev) const {
    if (ev.type != EventType::Send) return false;
    return ev.msg.size() > 0;
  }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::TwoStatementCcp, sent);
// CHECK-NOT: {{error|warning}}:
