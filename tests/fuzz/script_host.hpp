// The Host of a fuzz target's scripted node: member 0 of a group of 3, a clock that runs only
// when the script says, timers fired in time order, packets sent into the void, and what the
// stack passes up handed to `on_deliver` (if set).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>

#include "runtime/host.hpp"

namespace lamina::fuzz {

class ScriptHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 3; }
  [[nodiscard]] Time now() const override { return now_; }
  void transmit(PeerId, Msg) override {}
  void set_timer(Time at, std::uint32_t timer) override { timers_.emplace(at, timer); }
  void deliver(Event& ev) override {
    if (on_deliver) on_deliver(ev);
  }

  // Runs time on by `d`, firing the timers of `node` due on the way.
  void run_for(Endpoint& node, Duration d) {
    const Time until = now_ + d;
    while (!timers_.empty() && timers_.begin()->first <= until) {
      const auto [at, timer] = *timers_.begin();
      timers_.erase(timers_.begin());
      now_ = at;
      node.expire(timer);
    }
    now_ = until;
  }

  std::function<void(Event&)> on_deliver;

private:
  Time now_{};
  std::multimap<Time, std::uint32_t> timers_;
};

// Runs a script on `node`, whose host is `host`: records [op][length][`length` bytes], the last
// cut short where the input ends. op & 3 = 0 or 1: a packet from peer 1 + (op & 1), the bytes
// after the headers that `frame(Msg&)` puts in front; 2: `own(op, bytes)`, what the target's
// application does; 3: time runs on by `length` ms. `check()` runs after every record.
template <class Frame, class Own, class Check>
void run_script(const std::uint8_t* data, std::size_t size, ScriptHost& host, Endpoint& node,
                Frame&& frame, Own&& own, Check&& check) {
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t op = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    const std::span<const std::byte> body(reinterpret_cast<const std::byte*>(data + at + 2),
                                          length);
    at += 2 + length;
    switch (op & 3) {
    case 0:
    case 1: {
      Msg packet = Msg::copy_of(body);
      frame(packet);
      node.receive(1 + (op & 1), std::move(packet));
      break;
    }
    case 2:
      own(op, body);
      break;
    default:
      host.run_for(node, std::chrono::milliseconds(length));
      break;
    }
    check();
  }
}

} // namespace lamina::fuzz
