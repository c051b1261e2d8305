#include "services/ants/udp_node.hpp"

#include <fmt/format.h>
#include <stdexcept>

namespace lamina::ants {

UdpAntsNode::UdpAntsNode(const Topology& topology, PeerId me, const std::vector<std::string>& peers,
                         Limits limits)
    : me_(me) {
  if (me >= topology.nodes)
    throw std::invalid_argument(
        fmt::format("node {} is not in the topology: it has {} nodes", me, topology.nodes));
  if (peers.size() != topology.nodes)
    throw std::invalid_argument(
        fmt::format("{} addresses for the {} nodes of the topology", peers.size(), topology.nodes));
  udp_ = std::make_unique<UdpNode>(me, peers);
  AntsRoute* r = nullptr;
  if (topology.active[me]) {
    active_ = std::make_unique<ActiveStack>();
    sandbox_ = std::make_unique<Sandbox>(limits);
    sandbox_->warm_up();
    r = &active_->get<AntsRoute>();
    UdpNode& udp = *udp_;
    runner_ = std::make_unique<LuaRunner>(
        *sandbox_,
        LuaRunner::NodeInfo{[r](PeerId to) { return r->next_hop(to); },
                            [&udp] { return static_cast<std::uint32_t>(udp.counters().queued); }});
    active_->get<AntsExec>().runner = Oracle<CapsuleRunner>(runner_.get());
    udp_->attach(*active_);
  } else {
    passive_ = std::make_unique<PassiveStack>();
    r = &passive_->get<AntsRoute>();
    r->active = false;
    udp_->attach(*passive_);
  }
  const auto hops = topology.next_hops();
  for (PeerId to = 0; to < topology.nodes; ++to)
    if (to != me) r->set_route(to, hops[me][to]);
  udp_->on_deliver([this](Event& ev) {
    if (!on_deliver_) return;
    if (auto d = delivery_of(me_, udp_->now(), ev)) on_deliver_(*d);
  });
}

UdpAntsNode::~UdpAntsNode() = default;

void UdpAntsNode::install(const Program& program) {
  if (!active_)
    throw std::invalid_argument(fmt::format("node {} is passive: it runs no code", me_));
  udp_->send(me_, make_install(program, me_));
}

void UdpAntsNode::send(const Program& program, PeerId dst, std::string_view header,
                       std::string_view payload, std::uint8_t ttl) {
  udp_->send(dst, make_capsule(program.type, me_, dst, ttl, header, payload));
}

AntsRoute& UdpAntsNode::route() {
  return active_ ? active_->get<AntsRoute>() : passive_->get<AntsRoute>();
}
AntsCode& UdpAntsNode::code() { return active_->get<AntsCode>(); }
AntsExec& UdpAntsNode::exec() { return active_->get<AntsExec>(); }
Sandbox& UdpAntsNode::sandbox() { return *sandbox_; }

std::size_t UdpAntsNode::poll(Duration wait) {
  if (sandbox_) sandbox_->prepare();
  return udp_->poll(wait);
}

} // namespace lamina::ants
