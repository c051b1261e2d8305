// INPLACE (a test layer for lamina-opt): stamps the first byte of each message it sends, in
// place, with the count of messages stamped so far (its low byte), and marks the message with a
// header of its own. Under another InPlace, the byte it stamps is the upper one's mark, which the
// fused stack carries in the compressed header's fields: the write must not go onto the bypass
// there. Read by ../../write_in_place.test.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/layer.hpp"

namespace lamina {

class InPlace {
public:
  static constexpr std::string_view name = "InPlace";

  struct Header {
    std::uint8_t mark;
  };

  std::uint64_t stamped = 0; // messages whose first byte was stamped

  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && ev.msg.size() != 0;
  }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& h) const { return h.mark == 1; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.size() != 0) {
      const auto stamp = static_cast<std::uint8_t>(++stamped);
      std::memcpy(ev.msg.writable_data(), &stamp, sizeof stamp);
    }
    ev.msg.push(Header{1});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) return;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::InPlace, stamped);
