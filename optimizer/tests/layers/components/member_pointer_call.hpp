// MEMBERPOINTERCALL (a test layer for lamina-opt): passes everything on, counting what it sends
// through a member function that it calls by a pointer to it — outside the dialect, in the
// common path of `down`. lamina-opt must warn at the call, keep `down` on the layered path, and
// not crash: such a call names no method that the front end could look at.
//
// The CHECK lines are FileCheck's, read by ../../dialect_member_pointer_call.test.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class MemberPointerCall {
public:
  static constexpr std::string_view name = "MemberPointerCall";

  using Header = NoHeader;

  std::uint64_t sent = 0;  // messages taken down
  std::uint64_t bytes = 0; // their bytes

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    const auto count = &MemberPointerCall::count;
    // CHECK: {{.*}}member_pointer_call.hpp:[[@LINE+3]]:5: warning: lamina-opt cannot collapse
    // CHECK-SAME: MemberPointerCall::down: it calls through a pointer to a member function;
    // CHECK-SAME: it stays on the layered path
    (this->*count)(ev.msg.size());
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }

private:
  void count(std::size_t n) { bytes += n; }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::MemberPointerCall, sent, bytes);
// CHECK-NOT: warning:
