// Event: what travels between layers, and the identities and time it refers to.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "runtime/msg.hpp"

namespace lamina {

// A member of the group, numbered 0 .. group_size - 1.
using PeerId = std::uint32_t;
// Peer value of an event addressed to the whole group.
inline constexpr PeerId kAllPeers = 0xFFFFFFFFu;

// Time since the clock's epoch: virtual on SimNet, real (steady clock) on UDP.
using Time = std::chrono::nanoseconds;
using Duration = std::chrono::nanoseconds;

enum class EventType : std::uint8_t {
  Send,    // down: a message for one peer (`peer` is the destination)
  Cast,    // down: a message for every other member of the group
  Deliver, // up: a message received (`peer` is the source)
  Timer,   // to one layer: a timer it set has expired (`time` is now)
};

struct Event {
  EventType type = EventType::Send;
  PeerId peer = 0;
  Msg msg;
  Time time{};
  // Lamport time of this event, set by a LamportClock layer when the stack has one: the stamp
  // a sent message carries, or the clock value of a delivery.
  std::uint64_t lamport = 0;

  static Event send(PeerId to, Msg m) { return {EventType::Send, to, std::move(m), {}, 0}; }
  static Event cast(Msg m) { return {EventType::Cast, kAllPeers, std::move(m), {}, 0}; }
  static Event deliver(PeerId from, Msg m) {
    return {EventType::Deliver, from, std::move(m), {}, 0};
  }
  static Event timer(Time now) { return {EventType::Timer, 0, Msg{}, now, 0}; }
};

} // namespace lamina
