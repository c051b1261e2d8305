// LayerProbe: one layer on a test bench, its neighbours replaced by recorders.
//
// Events a handler passes down or up are kept in `below` and `above`; timers it sets are
// kept in `timers`; time stands still unless the test moves `clock`.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina::test {

template <Layer L>
class LayerProbe {
public:
  explicit LayerProbe(L layer = L{}, PeerId me = 0, std::uint32_t group = 2)
      : layer(std::move(layer)), me_(me), group_(group) {}

  // Feeds an event into the layer from above or from below.
  void down(Event ev) {
    ev.time = clock;
    Ports io(*this);
    layer.down(ev, io);
  }
  void up(Event ev) {
    ev.time = clock;
    Ports io(*this);
    layer.up(ev, io);
  }
  void fire_timer() {
    Event ev = Event::timer(clock);
    Ports io(*this);
    layer.timer(ev, io);
  }
  // Convenience: the application sends `text` to `to`, or a packet `bytes` arrives from `from`.
  void send(PeerId to, std::string_view text) { down(Event::send(to, msg(text))); }
  void receive(PeerId from, Msg packet) { up(Event::deliver(from, std::move(packet))); }

  static Msg msg(std::string_view text) {
    return Msg::copy_of({reinterpret_cast<const std::byte*>(text.data()), text.size()});
  }
  static std::string text(const Msg& m) {
    return {reinterpret_cast<const char*>(m.data()), m.size()};
  }

  L layer;
  std::vector<Event> below;     // what the layer passed down, oldest first
  std::vector<Event> above;     // what the layer passed up, oldest first
  std::vector<Duration> timers; // delays of the timers the layer set
  Time clock{};

private:
  class Ports {
  public:
    explicit Ports(LayerProbe& p) : p_(p) {}
    void down(Event& ev) { p_.below.push_back(std::move(ev)); }
    void up(Event& ev) { p_.above.push_back(std::move(ev)); }
    [[nodiscard]] Time now() const { return p_.clock; }
    [[nodiscard]] PeerId me() const { return p_.me_; }
    [[nodiscard]] std::uint32_t group_size() const { return p_.group_; }
    void set_timer(Duration d) { p_.timers.push_back(d); }

  private:
    LayerProbe& p_;
  };

  PeerId me_;
  std::uint32_t group_;
};

} // namespace lamina::test
