// BareEndpoint: an endpoint with no protocol in it, for testing transports. Payloads go to
// the wire as they are and packets come straight up, so what the application sees is what
// the network did.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "runtime/host.hpp"

namespace lamina::test {

class BareEndpoint final : public Endpoint {
public:
  void attach(Host& h) override { host = &h; }
  void send(PeerId to, Msg payload) override { host->transmit(to, std::move(payload)); }
  void receive(PeerId from, Msg packet) override {
    Event ev = Event::deliver(from, std::move(packet));
    ev.time = host->now();
    host->deliver(ev);
  }
  void expire(std::uint32_t timer) override {
    expired.emplace_back(timer, host->now());
    if (on_expire) on_expire(timer);
  }

  Host* host = nullptr;
  std::vector<std::pair<std::uint32_t, Time>> expired; // timer, time it fired
  std::function<void(std::uint32_t)> on_expire;
};

} // namespace lamina::test
