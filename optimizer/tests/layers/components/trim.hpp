// TRIM (a test layer for lamina-opt): cuts every message it sends to `limit` bytes, counting
// those it cut and those still longer after the cut (none). Its CCP says the common message is
// longer than `limit`; after the cut it is not, and the folder must forget what the CCP said of
// the size. (It once kept it: a call that changes the message writes "ev.msg", and what is known
// of the message's size is kept under "ev".) Read by ../../fold_after_a_cut.test.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Trim {
public:
  static constexpr std::string_view name = "Trim";

  using Header = NoHeader;

  std::uint32_t limit = 16;     // parameter: the longest message sent
  std::uint64_t cut = 0;        // messages cut to `limit`
  std::uint64_t still_long = 0; // messages longer than `limit` after the cut

  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.msg.size() > limit; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return true; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.msg.truncate(limit)) ++cut;
    if (ev.msg.size() > limit) ++still_long;
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Trim, limit, cut, still_long);
