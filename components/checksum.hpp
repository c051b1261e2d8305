// CHECKSUM: integrity — a packet whose bytes changed on the way never goes up.
//
// Needs nothing below. Covers everything the layers above pushed and the payload with a
// CRC32C, which detects every error of up to 3 flipped bits in a packet (of up to 256 MiB) and
// every burst of up to 32 bits.
#pragma once

#include <cstdint>

#include "runtime/crc32c.hpp"
#include "runtime/layer.hpp"

namespace lamina {

class Checksum {
public:
  static constexpr std::string_view name = "Checksum";
  static constexpr Guarantees provides = Guarantee::integrity;

  // Every packet: the CRC32C of the bytes that follow this header.
  struct Header {
    std::uint32_t crc;
  };

  std::uint64_t passed = 0;          // packets whose CRC matched, passed up
  std::uint64_t dropped_short = 0;   // too short for a header
  std::uint64_t dropped_corrupt = 0; // CRC did not match the bytes

  // Down: always straight.
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  // Up: straight when the packet is intact. Unlike most CCPs this one reads the whole payload
  // (`ev.msg` still holds the header in front); an optimiser that evaluates it keeps the CRC
  // and does not compute it again in the handler.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return ev.msg.size() >= sizeof(Header) &&
           h.crc == crc32c(ev.msg.bytes().subspan(sizeof(Header)));
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ev.msg.push(Header{crc32c(ev.msg.bytes())});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    if (h.crc != crc32c(ev.msg.bytes())) {
      ++dropped_corrupt;
      return;
    }
    ++passed;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Checksum, passed, dropped_short, dropped_corrupt);
