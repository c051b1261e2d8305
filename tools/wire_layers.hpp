// The layers of a stack that a sender on a real network must ask before it sends and before it
// stops: Window's would_block (flow control), and what Retransmit or Arq still hold unacked.
#pragma once

#include <algorithm>
#include <cstdint>

#include "components/arq.hpp"
#include "components/retransmit.hpp"
#include "components/window.hpp"

namespace lamina::tools {

struct WireLayers {
  const Retransmit* retransmit = nullptr;
  const Arq* arq = nullptr;
  const Window* window = nullptr;

  // A stack that resends what is lost; without one, a lost message stays lost.
  [[nodiscard]] bool reliable() const { return retransmit != nullptr || arq != nullptr; }
  // A send to `peer` now would be refused by the stack's flow control.
  [[nodiscard]] bool would_block(PeerId peer) const {
    return window != nullptr && window->would_block(peer);
  }
  // Every message sent has gone and been acknowledged.
  [[nodiscard]] bool settled() const {
    const auto empty = [](const auto& list) { return list.empty(); };
    const auto all_empty = [&](const auto& table) {
      return std::all_of(table.begin(), table.end(), empty);
    };
    return (retransmit == nullptr || all_empty(retransmit->unacked)) &&
           (arq == nullptr || (all_empty(arq->unacked) && all_empty(arq->waiting))) &&
           (window == nullptr || all_empty(window->waiting));
  }
  [[nodiscard]] std::uint64_t retransmitted() const {
    return (retransmit != nullptr ? retransmit->retransmitted : 0) +
           (arq != nullptr ? arq->retransmitted : 0);
  }
  // Expiries of Arq's retransmission timer that found a message lost (Retransmit resends on
  // every tick and counts none).
  [[nodiscard]] std::uint64_t timeouts() const { return arq != nullptr ? arq->timeouts : 0; }
  // Of those, the ones an ack then showed spurious, and Arq undid.
  [[nodiscard]] std::uint64_t undone() const { return arq != nullptr ? arq->spurious_timeouts : 0; }
  // Arq's probes for a lost tail that took messages for lost.
  [[nodiscard]] std::uint64_t probes() const { return arq != nullptr ? arq->probes : 0; }
};

} // namespace lamina::tools
