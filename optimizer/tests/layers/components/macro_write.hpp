// MACROWRITE (a test layer for lamina-opt): counts the messages it sends and writes the count's
// low byte over each one's first byte through a macro of its own. What a macro hides lamina-opt
// cannot see into: it takes a macro's call only for a constant (`offsetof`), and says so of this
// one. (It once kept a function's argument that came from a macro as written, and so missed the
// write to the message.) Read by ../../write_in_place.test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/layer.hpp"

// The first byte of message `m`, to write.
#define LAMINA_TEST_FIRST_BYTE(m) (m).writable_data()

namespace lamina {

class MacroWrite {
public:
  static constexpr std::string_view name = "MacroWrite";

  using Header = NoHeader;

  std::uint64_t sent = 0; // messages sent

  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && ev.msg.size() != 0;
  }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    const auto stamp = static_cast<std::uint8_t>(++sent);
    if (ev.msg.size() != 0) std::memcpy(LAMINA_TEST_FIRST_BYTE(ev.msg), &stamp, sizeof stamp);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::MacroWrite, sent);
