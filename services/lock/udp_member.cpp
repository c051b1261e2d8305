#include "services/lock/udp_member.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <stdexcept>
#include <typeinfo>

#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"

namespace lamina::lock {

UdpMember::UdpMember(const UdpMemberOptions& o) {
  const auto members = static_cast<std::uint32_t>(o.peers.size());
  if (o.me >= members) {
    throw std::invalid_argument(
        fmt::format("member {} of a group of {} addresses does not exist", o.me, members));
  }
  stack_ = make_implementation(o.implementation, o.stack_string, members);
  const LayerView below_top = stack_->depth() > 1 ? stack_->layer(o.me, 1) : LayerView{};
  if (below_top.type != nullptr && *below_top.type == typeid(LamportMutex)) {
    algorithm_ = Algorithm::lamport;
  } else if (below_top.type != nullptr && *below_top.type == typeid(RicartAgrawala)) {
    algorithm_ = Algorithm::ricart_agrawala;
  } else {
    throw std::invalid_argument(
        fmt::format("the stack {} has neither LamportMutex nor RicartAgrawala under Top: a lock "
                    "member needs one",
                    o.stack_string));
  }
  layer_ = below_top.state;

  UdpNode::Options udp_options;
  udp_options.busy_poll = o.spin;
  udp_ = std::make_unique<UdpNode>(o.me, o.peers, udp_options);
  udp_->attach(stack_->endpoint(o.me));
  lock_ = std::make_unique<Lock>(algorithm_,
                                 [this](Msg m) { udp_->send_queued(kAllPeers, std::move(m)); });
  udp_->on_deliver([this](Event& ev) { lock_->deliver(ev.peer, ev.msg); });
}

UdpMember::~UdpMember() = default;

std::uint64_t UdpMember::lock_messages() const {
  return algorithm_ == Algorithm::lamport ? static_cast<const LamportMutex*>(layer_)->sent
                                          : static_cast<const RicartAgrawala*>(layer_)->sent;
}

std::size_t UdpMember::poll(Duration wait) {
  // A deadline ends the wait: the acquire fails at its deadline, not at the next datagram.
  if (const auto deadline = lock_->deadline())
    wait = std::clamp<Duration>(*deadline - udp_->now(), Duration::zero(), wait);
  const std::size_t handled = udp_->poll(wait);
  lock_->expire(udp_->now());
  return handled;
}

bool UdpMember::run_until(const std::function<bool()>& done, Duration limit) {
  return poll_until([this](Duration wait) { return poll(wait); }, done, limit);
}

} // namespace lamina::lock
