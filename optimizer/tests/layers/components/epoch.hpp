// EPOCH (a test layer for lamina-opt, in the dialect): marks every message with the sender's
// configuration epoch and drops those of another epoch going up, so that nodes configured
// differently never exchange messages. Needs nothing below.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class Epoch {
public:
  static constexpr std::string_view name = "Epoch";

  // Every message: the epoch its sender was configured with.
  struct Header {
    std::uint32_t epoch;
  };

  std::uint32_t epoch = 0;               // parameter: this node's configuration epoch
  std::uint64_t dropped_short = 0;       // too short for a header
  std::uint64_t dropped_other_epoch = 0; // from a node of another epoch

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  // Up: straight for a message of this node's epoch.
  [[nodiscard]] bool ccp_up(const Event&, const Header& h) const { return h.epoch == epoch; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    ev.msg.push(Header{epoch});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    if (h.epoch != epoch) {
      ++dropped_other_epoch;
      return;
    }
    io.up(ev);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Epoch, epoch, dropped_short, dropped_other_epoch);
