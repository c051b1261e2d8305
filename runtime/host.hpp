// Host: the world outside a stack — its transport, its clock and timers, its application.
//
// A transport (SimNet, UDP) implements Host for each stack it carries and drives the stack
// through its Endpoint face: packets in, timer expiries, application sends.
#pragma once

#include <cstdint>

#include "runtime/event.hpp"

namespace lamina {

class Host {
public:
  virtual ~Host() = default;
  [[nodiscard]] virtual PeerId me() const = 0;
  [[nodiscard]] virtual std::uint32_t group_size() const = 0;
  [[nodiscard]] virtual Time now() const = 0;
  // Puts a packet on the wire; `to == kAllPeers` sends it to every other member.
  virtual void transmit(PeerId to, Msg packet) = 0;
  // Asks for `Endpoint::expire(timer)` to be called at time `at` (or as soon after as can be).
  virtual void set_timer(Time at, std::uint32_t timer) = 0;
  // Hands a delivered message to the application.
  virtual void deliver(Event& ev) = 0;
};

// What a transport sees of a stack; static and dynamic stacks both provide it.
class Endpoint {
public:
  virtual ~Endpoint() = default;
  virtual void attach(Host& host) = 0;
  // The application sends `payload` to `to` (or to the group, for kAllPeers).
  virtual void send(PeerId to, Msg payload) = 0;
  // A packet arrived from `from`.
  virtual void receive(PeerId from, Msg packet) = 0;
  // A timer asked for with Host::set_timer has expired.
  virtual void expire(std::uint32_t timer) = 0;
};

} // namespace lamina
