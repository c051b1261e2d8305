// DOWNONLY (a test layer for lamina-opt): counts what it sends and what it delivers. Its common
// path is down only: its CCP up is false, as Rpc's was at a server. Over layers that collapse
// both ways on their own, lamina-opt takes their bypasses, which serve every message, rather
// than a send bypass through DownOnly, under which no packet could be compressed. Read by
// ../../down_only.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class DownOnly {
public:
  static constexpr std::string_view name = "DownOnly";

  using Header = NoHeader;

  std::uint64_t sent = 0;      // messages taken down
  std::uint64_t delivered = 0; // messages passed up

  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return false; }

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

BOOST_HANA_ADAPT_STRUCT(lamina::DownOnly, sent, delivered);
