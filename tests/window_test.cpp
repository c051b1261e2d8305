// Window: whatever the application sends and whatever credit comes back (in order, late,
// repeated or forged), no more than `window` messages are ever in flight to a peer, a message
// goes only while fewer than `bytes` bytes are, and every send is accounted for: sent, waiting,
// or refused and counted.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <vector>

#include "components/window.hpp"
#include "tests/layer_probe.hpp"

namespace lamina {
namespace {

using Probe = test::LayerProbe<Window>;

Msg credit(std::uint32_t count) {
  Msg m = Msg::with_size(0);
  m.push(Window::Header{Window::Kind::credit, {}, count});
  return m;
}

RC_GTEST_PROP(Window, NeverHasMoreInFlightThanItsWindowAndLosesNoSend, ()) {
  Window layer;
  layer.window = *rc::gen::inRange<std::uint32_t>(1, 10);
  layer.bytes = *rc::gen::inRange<std::uint32_t>(1, 400);
  layer.queue = *rc::gen::inRange<std::uint32_t>(0, 6);
  Probe p(std::move(layer));
  std::vector<std::uint32_t> sizes; // of the data sent, in order
  std::uint32_t granted = 0;        // what the receiver has passed up, as far as it told
  std::uint64_t sends = 0;
  const int steps = *rc::gen::inRange(1, 200);
  for (int s = 0; s < steps; ++s) {
    const std::size_t before = p.below.size();
    switch (*rc::gen::inRange(0, 4)) {
    case 0:
    case 1:
      ++sends;
      p.down(Event::send(1, Msg::with_size(*rc::gen::inRange<std::size_t>(0, 120))));
      break;
    case 2: // the receiver passed up some of what was sent, and says so
      granted += *rc::gen::inRange<std::uint32_t>(0, static_cast<std::uint32_t>(sizes.size()) -
                                                         granted + 1);
      p.receive(1, credit(granted));
      break;
    default: { // a stale or repeated credit, or a forged one: more than was sent
      const auto sent = static_cast<std::uint32_t>(sizes.size());
      p.receive(1, credit(*rc::gen::arbitrary<bool>()
                              ? *rc::gen::inRange<std::uint32_t>(0, granted + 1)
                              : *rc::gen::inRange<std::uint32_t>(sent + 1, sent + 20)));
      break;
    }
    }
    for (std::size_t i = before; i < p.below.size(); ++i) {
      Window::Header h{};
      Msg m = p.below[i].msg.clone();
      RC_ASSERT(m.pop(h));
      RC_ASSERT(h.kind == Window::Kind::data);
      // Sent while fewer than `bytes` bytes were in flight: its own may take them past it.
      std::uint64_t in_flight = 0;
      for (std::size_t k = granted; k < sizes.size(); ++k) in_flight += sizes[k];
      RC_ASSERT(in_flight < p.layer.bytes);
      sizes.push_back(static_cast<std::uint32_t>(m.size()));
      RC_ASSERT(sizes.size() - granted <= p.layer.window);
    }
    RC_ASSERT(p.layer.sent.get(1) - p.layer.granted.get(1) <= p.layer.window);
    RC_ASSERT(p.layer.waiting.get(1).size() <= p.layer.queue);
    RC_ASSERT(sends == sizes.size() + p.layer.waiting.get(1).size() + p.layer.refused);
  }
}

} // namespace
} // namespace lamina
