// VIRTUALCALL (a test layer for lamina-opt): passes everything on, counting the bytes it sends
// through a meter that it reaches by a virtual call — outside the dialect, in the common path of
// `down`. lamina-opt must warn at the call and keep `down` on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_virtual_call.test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/layer.hpp"

namespace lamina {

class VirtualCall {
public:
  static constexpr std::string_view name = "VirtualCall";

  using Header = NoHeader;

  // Counts bytes; a subclass could count them elsewhere, hence the virtual function.
  struct ByteCounter {
    virtual ~ByteCounter() = default;
    virtual void note(std::size_t bytes) { total += bytes; }
    std::uint64_t total = 0;
  };

  std::uint64_t sent = 0; // messages taken down
  std::unique_ptr<ByteCounter> meter = std::make_unique<ByteCounter>();

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    // CHECK: {{.*}}virtual_call.hpp:[[@LINE+4]]:5: warning: lamina-opt cannot collapse
    // CHECK-SAME: VirtualCall::down: it calls the virtual function
    // CHECK-SAME: `lamina::VirtualCall::ByteCounter::note`;
    // CHECK-SAME: it stays on the layered path
    meter->note(ev.msg.size());
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::VirtualCall, sent);
// CHECK-NOT: warning:
