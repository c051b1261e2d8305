// UdpNode: the group's addresses, the receive loop and the timer heap.
#include "runtime/udp.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <system_error>

namespace lamina {
namespace {

// Front of the timer heap = earliest timer; equal times in the order they were set.
template <class T>
bool later(const T& a, const T& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}

} // namespace

UdpNode::UdpNode(PeerId me, const std::vector<std::string>& peers)
    : UdpNode(me, peers, Options{}) {}

UdpNode::UdpNode(PeerId me, const std::vector<std::string>& peers, const Options& options)
    : me_(me), epoch_(std::chrono::steady_clock::now()) {
  if (me >= peers.size()) {
    throw std::invalid_argument(
        fmt::format("UdpNode: member {} has no address; the peer list has {}", me, peers.size()));
  }
  for (const auto& text : peers) peers_.push_back(parse_address(text));
  const auto family = peers_[me].family();
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (peers_[i].family() != family) {
      throw std::invalid_argument(fmt::format(
          "bad peer address '{}': its family differs from this node's address '{}'; a group "
          "is all IPv4 or all IPv6",
          peers[i], peers[me]));
    }
  }
  DatagramSocket::Options socket_options;
  socket_options.busy_poll = options.busy_poll;
  socket_options.queue_limit = options.queue_limit;
  socket_options.buffer_bytes = options.buffer_bytes;
  socket_options.wakeable = options.wakeable;
  socket_options.bundle_bytes = options.bundle_bytes;
  socket_options.drop_share = options.drop_share;
  socket_options.drop_seed = options.drop_seed;
  try {
    socket_ = std::make_unique<DatagramSocket>(peers_[me], socket_options);
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), fmt::format("UdpNode: cannot bind to '{}'", peers[me]));
  }
  // The port actually bound (port 0 asks for an ephemeral one).
  peers_[me] = socket_->local();
}

UdpNode::~UdpNode() = default;

std::vector<std::unique_ptr<UdpNode>>
UdpNode::loopback_group(std::uint32_t n, const std::string& host, const Options& options) {
  const std::vector<std::string> unbound(n, host + ":0");
  std::vector<std::unique_ptr<UdpNode>> group;
  for (PeerId i = 0; i < n; ++i) group.push_back(std::make_unique<UdpNode>(i, unbound, options));
  // Each node now knows its own port; tell every node everyone's.
  for (auto& node : group)
    for (PeerId i = 0; i < n; ++i) node->peers_[i] = group[i]->peers_[i];
  return group;
}

std::uint16_t UdpNode::local_port() const { return socket_->local().port(); }

UdpNode::Counters UdpNode::counters() const {
  Counters c = counters_;
  const DatagramSocket::Counters& s = socket_->counters();
  c.sent = s.sent;
  c.oversize = s.oversize;
  c.send_errors = s.send_errors;
  c.recv_errors = s.receive_errors;
  c.send_calls = s.send_calls;
  c.receive_calls = s.receive_calls;
  c.wait_calls = s.wait_calls;
  c.partial_sends = s.partial_sends;
  c.would_block = s.would_block;
  c.queue_full = s.queue_full;
  c.truncated = s.truncated;
  c.copied = s.copied;
  c.datagrams_received = s.received;
  c.bundled = s.bundled;
  c.malformed = s.malformed;
  c.dropped = s.dropped;
  c.queued = socket_->queued();
  return c;
}

void UdpNode::attach(Endpoint& ep) {
  ep_ = &ep;
  ep.attach(*this);
}

void UdpNode::send(PeerId to, Msg payload) {
  if (ep_ == nullptr) {
    throw std::logic_error(
        fmt::format("UdpNode::send: node {} has no endpoint; call attach first", me_));
  }
  ep_->send(to, std::move(payload));
  socket_->flush();
}

void UdpNode::send_queued(PeerId to, Msg payload) {
  if (ep_ == nullptr) {
    throw std::logic_error(
        fmt::format("UdpNode::send_queued: node {} has no endpoint; call attach first", me_));
  }
  ep_->send(to, std::move(payload));
}

void UdpNode::flush() { socket_->flush(); }

Time UdpNode::clock() const {
  return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - epoch_);
}

Time UdpNode::now() const { return holding_ ? held_ : clock(); }

void UdpNode::transmit(PeerId to, Msg packet) {
  // An oversize packet or a full queue is refused and counted by the socket.
  if (to == kAllPeers) {
    PeerId last = kAllPeers;
    for (PeerId p = 0; p < peers_.size(); ++p) {
      if (p == me_) continue;
      if (last != kAllPeers) socket_->enqueue(peers_[last], Msg::copy_of(packet.bytes()));
      last = p;
    }
    if (last != kAllPeers) socket_->enqueue(peers_[last], std::move(packet));
    return;
  }
  if (to >= peers_.size()) {
    ++counters_.bad_destination;
    return;
  }
  socket_->enqueue(peers_[to], std::move(packet));
}

void UdpNode::set_timer(Time at, std::uint32_t timer) {
  timers_.push_back({at, next_seq_++, timer});
  std::push_heap(timers_.begin(), timers_.end(), later<PendingTimer>);
}

PeerId UdpNode::member_at(const SocketAddress& from) const {
  for (PeerId p = 0; p < peers_.size(); ++p)
    if (peers_[p].same_as(from)) return p;
  return kAllPeers;
}

std::size_t UdpNode::poll(Duration max_wait) {
  Duration wait = std::max(max_wait, Duration::zero());
  if (!timers_.empty()) wait = std::clamp(timers_.front().at - now(), Duration::zero(), wait);
  // What send_queued() left, or the kernel refused last time, goes out before the wait.
  if (socket_->queued() != 0) socket_->flush();
  std::size_t handled = 0;
  const std::size_t batch = socket_->options().receive_batch;
  std::size_t taken = 0;
  bool drained = false;
  for (auto ready = socket_->receive(wait);; ready = socket_->receive(Duration::zero())) {
    // The datagrams of one batch have all arrived by now: one reading of the clock stamps them.
    const Moment arrived(*this);
    PeerId source = kAllPeers;
    for (std::size_t i = 0; i < ready.size(); ++i) {
      // The packets of one datagram share its source: looked up once.
      if (i == 0 || ready[i].from != ready[i - 1].from) source = member_at(*ready[i].from);
      if (source == kAllPeers) {
        ++counters_.unknown_source;
        continue;
      }
      ++counters_.received;
      if (ep_ == nullptr) {
        ++counters_.unattached;
        continue;
      }
      // In the buffer the kernel wrote the datagram into, with no copy.
      ep_->receive(source, socket_->take(i));
      ++handled;
    }
    // A short batch means the socket is drained.
    taken += batch;
    drained = socket_->last_datagrams() < batch;
    if (drained || taken >= kReceiveLimit) break;
  }
  // A timer that fired with acks still unread would take their absence for a loss: with a
  // backlog (a process descheduled, say), the timers wait for it to be read.
  if (drained || timer_waits_ >= kTimerWaits) {
    timer_waits_ = 0;
    handled += fire_due_timers();
  } else if (!timers_.empty() && timers_.front().at <= now()) {
    ++timer_waits_;
    ++counters_.timers_waited;
  }
  socket_->flush();
  return handled;
}

std::size_t UdpNode::fire_due_timers() {
  // Timers set while these fire wait for the next poll, so that a layer re-arming itself with
  // no delay cannot hold the loop forever.
  const std::uint64_t horizon = next_seq_;
  const Moment due(*this);
  const Time t = now();
  std::size_t fired = 0;
  while (!timers_.empty() && timers_.front().at <= t && timers_.front().seq < horizon) {
    std::pop_heap(timers_.begin(), timers_.end(), later<PendingTimer>);
    const std::uint32_t timer = timers_.back().timer;
    timers_.pop_back();
    ++counters_.timers_fired;
    ++fired;
    if (ep_ != nullptr) ep_->expire(timer);
  }
  return fired;
}

void UdpNode::run_for(Duration d) {
  const Time deadline = now() + d;
  for (Duration left = d; left > Duration::zero(); left = deadline - now()) poll(left);
}

} // namespace lamina
