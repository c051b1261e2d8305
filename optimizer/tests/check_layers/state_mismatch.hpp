// A layer whose state differs from its spec's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class StateMismatch {
public:
  static constexpr std::string_view name = "StateMismatch";
  using Header = NoHeader;

  struct Pending {
    std::uint32_t id = 0;
    Time sent_at{};
    std::vector<std::byte> msg; // the spec says Msg
  };

  std::map<PeerId, std::uint32_t> next_id; // the spec says Map[Peer, u32]: a PeerTable
  PeerTable<std::vector<Pending>> pending;
  std::set<std::uint32_t> seen;            // the spec says Set[u64]
  std::map<std::uint32_t, Msg> early;
  bool is_armed = false;                   // the spec says armed
  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::StateMismatch, next_id, pending, seen, early, is_armed, passed);
