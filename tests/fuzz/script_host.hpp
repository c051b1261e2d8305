// The Host of a fuzz target's scripted node: member 0 of a group of 3, a clock that runs only
// when the script says, timers fired in time order, packets sent into the void, and what the
// stack passes up handed to `on_deliver` (if set).
#pragma once

#include <functional>
#include <map>

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

} // namespace lamina::fuzz
