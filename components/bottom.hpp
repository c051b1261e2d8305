// BOTTOM: the boundary to the transport; marks each packet with its wire format and rejects
// packets that are empty, oversized or of a format this stack does not speak.
//
// Gives the layers above whole packets as the transport delivered them, minus the marker.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Bottom {
public:
  static constexpr std::string_view name = "Bottom";
  static constexpr Place place = Place::bottom;

  // The first byte of every packet: which wire format follows. The fused stacks of the
  // optimiser will use other values for their compressed headers.
  enum class Format : std::uint8_t { layered = 0x4C /* 'L' */ };
  struct Header {
    Format format;
  };

  // Largest packet, marker included, that Bottom sends or accepts: a UDP datagram's limit.
  static constexpr std::uint32_t kMaxPacket = 65507;

  std::uint32_t max_packet = kMaxPacket;    // parameter: bytes, marker included
  std::uint64_t sent = 0;                   // packets handed to the transport
  std::uint64_t received = 0;               // packets passed up
  std::uint64_t refused_oversize = 0;       // going down: larger than max_packet
  std::uint64_t dropped_empty = 0;          // coming up: no marker byte
  std::uint64_t dropped_oversize = 0;       // coming up: larger than max_packet
  std::uint64_t dropped_unknown_format = 0; // coming up: a marker this stack does not speak

  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.msg.size() + sizeof(Header) <= max_packet;
  }
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.format == Format::layered && ev.msg.size() <= max_packet;
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.size() + sizeof(Header) > max_packet) {
      ++refused_oversize;
      return;
    }
    ev.msg.push(Header{Format::layered});
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    if (ev.msg.size() > max_packet) {
      ++dropped_oversize;
      return;
    }
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_empty;
      return;
    }
    if (h.format != Format::layered) {
      ++dropped_unknown_format;
      return;
    }
    ++received;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Bottom, max_packet, sent, received, refused_oversize, dropped_empty,
                        dropped_oversize, dropped_unknown_format);
