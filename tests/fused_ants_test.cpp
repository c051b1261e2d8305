// The passive ANTS node that lamina-opt fuses (stacks/ants/ants.ioa, AntsPassive; the header is
// in the build's stacks/): with any routing table, it forwards, delivers and drops what the
// layered stack does, packet for packet, with the same state after every event. Its receive
// bypass turns the capsule back down (AntsRoute forwards it) and writes the TTL in place.
// difftest reaches that path through the routes its ANTS application sets, a few at a time, in
// groups of three; here the node has a table of any shape from the start, in groups of up to
// six, next hops beyond the group and toward itself included.
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "components/ants_capsule.hpp"
#include "components/ants_route.hpp"
#include "components/bottom.hpp"
#include "components/top.hpp"
#include "lamina_repository_stacks_fused_ants_AntsPassive.hpp"
#include "runtime/stack.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;

using Layered = stack<Top, AntsRoute, Bottom>;
using Fused = fused::ants::AntsPassive;
static_assert(std::is_same_v<Fused::Layered, Layered>);

using Bytes = std::vector<std::byte>;

// A node's world that keeps what the stack does.
class RecordingHost final : public Host {
public:
  RecordingHost(PeerId me, std::uint32_t group) : me_(me), group_(group) {}
  [[nodiscard]] PeerId me() const override { return me_; }
  [[nodiscard]] std::uint32_t group_size() const override { return group_; }
  [[nodiscard]] Time now() const override { return 7ms; }
  void transmit(PeerId to, Msg packet) override {
    sent.emplace_back(to, Bytes(packet.bytes().begin(), packet.bytes().end()));
  }
  void set_timer(Time at, std::uint32_t timer) override { timers.emplace_back(at, timer); }
  void deliver(Event& ev) override {
    delivered.emplace_back(ev.peer, Bytes(ev.msg.bytes().begin(), ev.msg.bytes().end()));
  }

  std::vector<std::pair<PeerId, Bytes>> sent;
  std::vector<std::pair<PeerId, Bytes>> delivered;
  std::vector<std::pair<Time, std::uint32_t>> timers;

private:
  PeerId me_;
  std::uint32_t group_;
};

// What the layers keep that an event can change.
auto state_of(Layered& s) {
  const AntsRoute& r = s.get<AntsRoute>();
  const Bottom& b = s.get<Bottom>();
  return std::make_tuple(r.forwarded, r.passed_up, r.dropped_malformed, r.dropped_ttl,
                         r.dropped_no_route, r.refused, b.sent, b.received, s.get<Top>().sent);
}

// A packet for the node: a capsule header, mostly well formed (now and then one flaw: another
// version, a flag, another kind, an application header longer than the body), and a body.
Msg random_capsule(std::uint32_t group) {
  CapsuleHeader h{};
  h.version = CapsuleHeader::kVersion;
  h.kind = CapsuleHeader::Kind::capsule;
  h.ttl = *rc::gen::inRange<std::uint8_t>(0, 4);
  h.src = *rc::gen::inRange<PeerId>(0, group);
  h.dst = *rc::gen::inRange<PeerId>(0, group + 2); // some beyond the group
  h.prev = h.src;
  h.type[0] = *rc::gen::arbitrary<std::uint8_t>();
  const auto body = *rc::gen::inRange<std::size_t>(0, 24);
  h.app_len = *rc::gen::inRange<std::uint16_t>(0, 6);
  switch (*rc::gen::inRange(0, 12)) {
  case 0:
    h.version = 2;
    break;
  case 1:
    h.flags = 1;
    break;
  case 2:
    h.kind = static_cast<CapsuleHeader::Kind>(*rc::gen::inRange(1, 6));
    break;
  case 3:
    h.app_len = static_cast<std::uint16_t>(body + 1);
    break;
  default:
    if (h.app_len > body) h.app_len = static_cast<std::uint16_t>(body);
    break;
  }
  Msg m = Msg::with_size(body);
  m.push(h);
  return m;
}

RC_GTEST_PROP(FusedAntsPassive, ForwardsDeliversAndDropsAsTheLayeredStackWithAnyRoutes, ()) {
  const auto group = *rc::gen::inRange<std::uint32_t>(2, 7);
  const auto me = *rc::gen::inRange<PeerId>(0, group);
  Fused fused;
  Layered layered;
  layered.get<AntsRoute>().active = false;
  // Routes toward some destinations, via members, this node itself or nodes beyond the group.
  const auto routes = *rc::gen::container<std::vector<std::pair<PeerId, PeerId>>>(rc::gen::pair(
      rc::gen::inRange<PeerId>(0, group + 2), rc::gen::inRange<PeerId>(0, group + 1)));
  for (const auto& [dst, via] : routes) {
    fused.layered().get<AntsRoute>().set_route(dst, via);
    layered.get<AntsRoute>().set_route(dst, via);
  }
  RecordingHost fh(me, group);
  RecordingHost lh(me, group);
  fused.attach(fh);
  layered.attach(lh);
  const auto events = *rc::gen::inRange(1, 40);
  std::uint64_t forwarded_on_arrival = 0;
  for (int e = 0; e < events; ++e) {
    Msg m = random_capsule(group);
    if (*rc::gen::arbitrary<bool>()) {
      const auto from = *rc::gen::inRange<PeerId>(0, group);
      m.push(Bottom::Header{Bottom::Format::layered});
      const std::uint64_t before = layered.get<AntsRoute>().forwarded;
      fused.receive(from, m.clone());
      layered.receive(from, std::move(m));
      forwarded_on_arrival += layered.get<AntsRoute>().forwarded - before;
    } else {
      const auto to = *rc::gen::inRange<PeerId>(0, group);
      fused.send(to, m.clone());
      layered.send(to, std::move(m));
    }
    RC_ASSERT(fh.sent == lh.sent);
    RC_ASSERT(fh.delivered == lh.delivered);
    RC_ASSERT(fh.timers == lh.timers);
    RC_ASSERT(state_of(fused.layered()) == state_of(layered));
  }
  RC_CLASSIFY(forwarded_on_arrival > 0, "a capsule forwarded on arrival");
}

} // namespace
} // namespace lamina
