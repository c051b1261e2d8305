// ANTSROUTE: the ANTS capsule format on the wire, checked, and forwarding by destination.
//
// Every packet of an ANTS node is a capsule, or a message of the code distribution, in one
// format (docs/ants.md has it byte by byte): a fixed header of 56 bytes, whose bytes 8..39 are
// the capsule's type, the SHA-256 of its code; then, in a capsule, the application header
// (app_len bytes) and the payload. The layers above read the header in place, and the packet
// keeps it all the way up: AntsRoute checks it, forwards what is not for this node, and passes
// up the rest whole.
//
// A passive node (`active` false) forwards every packet by its destination and runs no code;
// it passes up only what is addressed to it. An active node passes up every capsule (its code
// runs at every active node on the way) and the code-distribution messages addressed to it.
// Going down, a packet goes to the next hop toward its destination. Both ways, a packet that
// leaves spends one unit of its TTL; one with none left is dropped, which ends routing loops.
// The routing table is the application's: a header of kind `route` sent down sets one entry
// (set_route() does the same from outside the stack).
#pragma once

#include <cstdint>
#include <cstring>

#include "components/ants_capsule.hpp"
#include "runtime/layer.hpp"

namespace lamina {

class AntsRoute {
public:
  static constexpr std::string_view name = "AntsRoute";

  // AntsRoute reads and writes the capsule header in place; it adds none of its own.
  using Header = NoHeader;

  bool active = true; // parameter: runs capsules (an active node) or only forwards (passive)
  // The next hop toward each destination, plus one; 0 (no entry): straight to the destination.
  PeerTable<std::uint32_t> hops;
  std::uint64_t forwarded = 0;         // packets sent on toward their destination
  std::uint64_t passed_up = 0;         // packets for the layers above
  std::uint64_t dropped_malformed = 0; // from the wire: not a well-formed packet
  std::uint64_t dropped_ttl = 0;       // no TTL left to leave with
  std::uint64_t dropped_no_route = 0;  // toward this node itself, or a node not in the group
  std::uint64_t refused = 0;           // from above: not a well-formed packet, a cast, or a
                                       // route toward a node beyond the group

  // The next hop toward `dst` by the routing table.
  [[nodiscard]] PeerId next_hop(PeerId dst) const {
    return hops.get(dst) == 0 ? dst : hops.get(dst) - 1;
  }
  void set_route(PeerId dst, PeerId via) { hops[dst] = via + 1; }

  // The common cases, capsules both: coming up at an active node, one to run; coming up at a
  // passive node, one for another node to forward; going down, one that can leave (TTL left and
  // a route). The code-distribution messages take the layered path.
  template <class Ports>
  [[nodiscard]] bool ccp_down(const Event& ev, const Ports& io) const {
    return ev.type == EventType::Send && well_formed(ev.msg.bytes()) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule &&
           leaves(capsule_header(ev.msg.bytes()), io);
  }
  template <class Ports>
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& /*h*/, const Ports& io) const {
    return well_formed(ev.msg.bytes()) &&
           capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::capsule &&
           (active || (capsule_header(ev.msg.bytes()).dst != io.me() &&
                       leaves(capsule_header(ev.msg.bytes()), io)));
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type != EventType::Send || !well_formed(ev.msg.bytes())) {
      // A route is no packet for the wire: looked for only here, off a capsule's way.
      if (ev.type == EventType::Send && ev.msg.size() >= sizeof(CapsuleHeader) &&
          capsule_header(ev.msg.bytes()).kind == CapsuleHeader::Kind::route)
        take_route(capsule_header(ev.msg.bytes()), io);
      else
        ++refused;
      return;
    }
    forward(ev, capsule_header(ev.msg.bytes()), io);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    if (!well_formed(ev.msg.bytes())) {
      ++dropped_malformed;
      return;
    }
    const CapsuleHeader h = capsule_header(ev.msg.bytes());
    if (h.dst != io.me() && (!active || h.kind != CapsuleHeader::Kind::capsule)) {
      forward(ev, h, io);
      return;
    }
    ++passed_up;
    io.up(ev);
  }

private:
  // The application's route toward `h.dst`, via `h.prev`; refused toward a node beyond the group,
  // which the table does not hold.
  template <class Ports>
  void take_route(const CapsuleHeader& h, Ports& io) {
    if (h.dst >= io.group_size()) {
      ++refused;
      return;
    }
    set_route(h.dst, h.prev);
  }

  // Whether `h` can leave this node: TTL left, and a route to another member.
  template <class Ports>
  [[nodiscard]] bool leaves(const CapsuleHeader& h, const Ports& io) const {
    return h.ttl != 0 && next_hop(h.dst) != io.me() && next_hop(h.dst) < io.group_size();
  }

  template <class Ports>
  void forward(Event& ev, CapsuleHeader h, Ports& io) {
    if (h.ttl == 0) {
      ++dropped_ttl;
      return;
    }
    const PeerId hop = next_hop(h.dst);
    if (hop == io.me() || hop >= io.group_size()) {
      ++dropped_no_route;
      return;
    }
    --h.ttl;
    std::memcpy(ev.msg.writable_data() + offsetof(CapsuleHeader, ttl), &h.ttl, sizeof h.ttl);
    ev.type = EventType::Send;
    ev.peer = hop;
    ++forwarded;
    io.down(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::AntsRoute, active, hops, forwarded, passed_up, dropped_malformed,
                        dropped_ttl, dropped_no_route, refused);
