#include "services/ants/lua_runner.hpp"

#include <algorithm>

#include "components/ants_route.hpp"

namespace lamina::ants {
namespace {

// The node API as one run of capsule code sees it: this node, the link the capsule came on,
// the time, the routing table; it collects the run's routes and deliveries in `actions`.
class RunServices final : public NodeServices {
public:
  RunServices(const LuaRunner::NodeInfo& info, const CapsuleHeader& h, PeerId me, PeerId from,
              Time now, AntsActions& actions)
      : info_(info), h_(h), me_(me), from_(from), now_(now), actions_(actions) {}

  [[nodiscard]] std::uint32_t address() const override { return me_; }
  [[nodiscard]] std::uint32_t channel() const override { return from_; }
  [[nodiscard]] std::int64_t now_ns() const override { return now_.count(); }
  [[nodiscard]] std::uint32_t next_hop(std::uint32_t node) const override {
    return node == me_ ? me_ : info_.next_hop(node);
  }
  [[nodiscard]] std::uint32_t queue_length() const override {
    return info_.queue_length ? info_.queue_length() : 0;
  }
  bool route_for_node(std::uint32_t node, std::span<const std::byte> header,
                      std::span<const std::byte> payload) override {
    // AntsRoute would drop it: no TTL to leave with, or no way there but back here.
    if (h_.ttl == 0 || node == me_ || info_.next_hop(node) == me_) return false;
    return add(AntsAction::route, node, header, payload);
  }
  void deliver_to_app(std::span<const std::byte> header,
                      std::span<const std::byte> payload) override {
    add(AntsAction::deliver, 0, header, payload);
  }

private:
  const LuaRunner::NodeInfo& info_;
  const CapsuleHeader& h_;
  PeerId me_;
  PeerId from_;
  Time now_;
  AntsActions& actions_;

  bool add(std::uint8_t kind, PeerId node, std::span<const std::byte> header,
           std::span<const std::byte> payload) {
    auto a = AntsAction::copy(kind, node, header, payload);
    if (a) actions_.push_back(std::move(*a));
    return a.has_value();
  }
};

} // namespace

CodeType code_type(std::span<const std::byte> type) {
  CodeType t{};
  std::transform(type.begin(), type.begin() + static_cast<std::ptrdiff_t>(t.size()), t.begin(),
                 [](std::byte b) { return static_cast<std::uint8_t>(b); });
  return t;
}

void LuaRunner::install(std::span<const std::byte> type, const Msg& code) {
  // A compile error is counted when the capsules of the type run, as "no code".
  sandbox_.install(code_type(type), code.bytes());
}

void LuaRunner::uninstall(std::span<const std::byte> type) { sandbox_.uninstall(code_type(type)); }

AntsActions LuaRunner::run(std::span<const std::byte> type, const Msg& /*code*/, const Msg& capsule,
                           PeerId me, PeerId from, Time now) {
  AntsActions actions;
  const auto end = [&](std::uint8_t kind) {
    actions.push_back(AntsAction{kind, 0, 0, Msg{}});
    return std::move(actions);
  };
  CapsuleHeader h{};
  if (!capsule.peek(h)) return end(AntsAction::error);
  const auto rest = capsule.bytes().subspan(sizeof(CapsuleHeader));
  CapsuleView view;
  view.src = h.src;
  view.dst = h.dst;
  view.prev = h.prev;
  view.ttl = h.ttl;
  view.header = rest.first(h.app_len);
  view.payload = rest.subspan(h.app_len);
  const CodeType t = code_type(type);
  const auto penalty = penalties_.find(t);
  if (penalty != penalties_.end() && now < penalty->second.until) {
    ++suspended_;
    return end(AntsAction::error);
  }
  if (!share_.admit(t, now)) return end(AntsAction::held);
  RunServices services(info_, h, me, from, now, actions);
  const Outcome outcome = sandbox_.run(t, view, services);
  share_.spent(t, now, sandbox_.last_run_units(), outcome == Outcome::ok);
  if (outcome == Outcome::ok) {
    if (penalty != penalties_.end()) penalties_.erase(penalty);
    return actions;
  }
  Penalty& p = penalties_[t];
  p.wait = p.wait == Duration{} ? kFirstWait : std::min(2 * p.wait, kLongestWait);
  p.until = now + p.wait;
  switch (outcome) {
  case Outcome::out_of_instructions:
    return end(AntsAction::timeout);
  case Outcome::out_of_memory:
    return end(AntsAction::memory);
  default:
    return end(AntsAction::error);
  }
}

} // namespace lamina::ants
