// TOP: the boundary to the application; counts what the application sent and received.
//
// Needs nothing below; gives the application every Deliver that reaches it.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Top {
public:
  static constexpr std::string_view name = "Top";
  static constexpr Place place = Place::top;

  // Top puts nothing on the wire.
  using Header = NoHeader;

  std::uint64_t sent = 0;      // application sends and casts taken down
  std::uint64_t delivered = 0; // messages handed to the application

  // Top has no branch: both directions are always the straight path.
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++sent;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    ++delivered;
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Top, sent, delivered);
