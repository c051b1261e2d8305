#include "services/rpc/udp_member.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <stdexcept>
#include <thread>
#include <typeinfo>

namespace lamina::rpc {

namespace {
using Tenths = std::chrono::duration<std::int64_t, std::deci>;
constexpr std::chrono::sys_days kEpoch = std::chrono::year{2026} / std::chrono::January / 1;
} // namespace

std::uint32_t incarnation_from_clock() {
  const auto tenths = std::chrono::floor<Tenths>(std::chrono::system_clock::now() - kEpoch).count();
  // 0 means "unknown" on the wire: a clock before 2026 still gets a valid incarnation.
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(tenths, 1, UINT32_MAX));
}

std::chrono::system_clock::time_point incarnation_end(std::uint32_t incarnation) {
  return kEpoch + Tenths(std::int64_t{incarnation} + 1);
}

UdpMember::UdpMember(const UdpMemberOptions& o) {
  const auto members = static_cast<std::uint32_t>(o.peers.size());
  if (o.me >= members) {
    throw std::invalid_argument(
        fmt::format("member {} of a group of {} addresses does not exist", o.me, members));
  }
  stack_ = make_implementation(o.implementation, o.stack_string, members);
  const LayerView below_top = stack_->depth() > 1 ? stack_->layer(o.me, 1) : LayerView{};
  if (below_top.type == nullptr || *below_top.type != typeid(Rpc)) {
    throw std::invalid_argument(
        fmt::format("the stack {} has no Rpc under Top: an RPC node needs one", o.stack_string));
  }
  // The implementation owns its layers; a LayerView shows them const only for its readers. The
  // incarnation is set here, before the node starts, rather than in the stack string, so that
  // one fused build serves every incarnation: lamina-opt reads it from the layer on the bypass
  // (`lamina::per_node` in components/rpc.hpp), never as a constant.
  rpc_ = const_cast<Rpc*>(static_cast<const Rpc*>(below_top.state));
  rpc_->incarnation = o.incarnation;
  if (o.incarnation == 0) {
    rpc_->incarnation = incarnation_from_clock();
    hold_until_ = incarnation_end(rpc_->incarnation);
  }

  copies_ = o.copies;
  UdpNode::Options udp_options;
  udp_options.busy_poll = o.spin;
  udp_options.wakeable = true;
  udp_ = std::make_unique<UdpNode>(o.me, o.peers, udp_options);
  udp_->attach(stack_->endpoint(o.me));
  node_ = std::make_unique<Node>([this](PeerId to, Msg m) { udp_->send_queued(to, std::move(m)); },
                                 [this] { return udp_->now(); }, o.copies);
  udp_->on_deliver([this](Event& ev) { node_->deliver(ev.peer, std::move(ev.msg)); });
  for (std::uint32_t i = 0; i < o.workers; ++i) workers_.emplace_back([this] { work(); });
}

std::size_t UdpMember::poll(Duration wait) {
  std::size_t handled = udp_->poll(wait);
  // Most polls find nothing posted: they do not take the lock.
  if (!any_posted_.load(std::memory_order_acquire)) return handled;
  {
    const std::lock_guard lock(posted_mutex_);
    running_.swap(posted_);
    any_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& task : running_) task();
  handled += running_.size();
  running_.clear();
  return handled;
}

void UdpMember::post(std::function<void()> task) {
  {
    const std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
    any_posted_.store(true, std::memory_order_release);
  }
  udp_->wake();
}

void UdpMember::hand_to_worker(std::function<void()> task) {
  {
    const std::lock_guard lock(work_mutex_);
    work_.push_back(std::move(task));
  }
  work_ready_.notify_one();
}

void UdpMember::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(work_mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (work_.empty()) return; // stopping, and nothing left
      task = std::move(work_.front());
      work_.pop_front();
    }
    task();
  }
}

UdpMember::~UdpMember() {
  {
    const std::lock_guard lock(work_mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join(); // what they post now is never run: the loop is over
  std::this_thread::sleep_until(hold_until_);
}

bool UdpMember::run_until(const std::function<bool()>& done, Duration limit) {
  return poll_until([this](Duration wait) { return poll(wait); }, done, limit);
}

} // namespace lamina::rpc
