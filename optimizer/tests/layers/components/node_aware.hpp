// NODEAWARE (a test layer for lamina-opt): passes everything on, counting what it sends to other
// nodes and to itself. Its CCP down reads the node's identity through the Ports it is given
// (`ccp_down(ev, io)`): the common case is a send to another node, and the bypass counts only
// that. Read by ../../ccp_ports.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class NodeAware {
public:
  static constexpr std::string_view name = "NodeAware";

  using Header = NoHeader;

  std::uint64_t to_others = 0; // messages sent to another node
  std::uint64_t to_self = 0;   // messages sent to this node, or cast

  template <class Ports>
  [[nodiscard]] bool ccp_down(const Event& ev, const Ports& io) const {
    return ev.type == EventType::Send && ev.peer != io.me();
  }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Send && ev.peer != io.me())
      ++to_others;
    else
      ++to_self;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::NodeAware, to_others, to_self);
