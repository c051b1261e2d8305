// TRAILER (a test layer for lamina-opt): puts a byte after the payload on the way down and takes
// it off on the way up. It changes the message other than by pushing or popping a header, in the
// common path of both handlers: the bypass keeps no account of such a change, so lamina-opt must
// warn at each and keep both directions on the layered path.
//
// The CHECK lines are FileCheck's, read by ../../dialect_trailer.test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/layer.hpp"

namespace lamina {

class Trailer {
public:
  static constexpr std::string_view name = "Trailer";

  using Header = NoHeader;

  static constexpr std::byte kMark{0x54};

  std::uint64_t sent = 0; // messages taken down

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    // CHECK: {{.*}}trailer.hpp:[[@LINE+3]]:5: warning: lamina-opt cannot collapse
    // CHECK-SAME: Trailer::down: it changes the message other than by pushing or popping its
    // CHECK-SAME: header; it stays on the layered path
    ev.msg.append(std::span(&kMark, 1));
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    // CHECK: {{.*}}trailer.hpp:[[@LINE+3]]:28: warning: lamina-opt cannot collapse
    // CHECK-SAME: Trailer::up: it changes the message other than by pushing or popping its
    // CHECK-SAME: header; it stays on the layered path
    if (ev.msg.empty() || !ev.msg.truncate(ev.msg.size() - 1)) return;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Trailer, sent);
// CHECK-NOT: warning:
