// SimNet: the event queue, the links' queues and random fates, and the per-node Host.
#include "runtime/simnet.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdexcept>

namespace lamina {
namespace {

// Orders the heap so that its front is the earliest entry; the sequence number breaks ties
// in insertion order, which is what makes equal-time events deterministic.
template <class E>
bool later(const E& a, const E& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}

void check_link(const LinkConfig& l) {
  auto probability = [](double p) { return p >= 0 && p <= 1; };
  if (!probability(l.loss) || !probability(l.duplicate)) {
    throw std::invalid_argument(
        fmt::format("SimNet: link loss {} and duplicate {} must both be probabilities in [0, 1]",
                    l.loss, l.duplicate));
  }
  if (l.delay < Duration::zero() || l.jitter < Duration::zero()) {
    throw std::invalid_argument(
        fmt::format("SimNet: link delay {}ns and jitter {}ns must not be negative", l.delay.count(),
                    l.jitter.count()));
  }
}

// How long a packet of `size` bytes occupies a link of `rate` bytes per second: whole
// nanoseconds, rounded up, in integers so that every platform agrees. size * 1e9 fits in 64 bits
// for any packet under 18 GB.
Duration serialisation(std::size_t size, std::uint64_t rate) {
  const std::uint64_t scaled = std::uint64_t{size} * 1'000'000'000;
  return Duration(static_cast<Duration::rep>(scaled / rate + (scaled % rate != 0 ? 1 : 0)));
}

} // namespace

// The Host that one node's endpoint sees: the network, seen from that node.
class SimNet::Node final : public Host {
public:
  Node(SimNet& net, PeerId id) : net_(net), id_(id) {}
  [[nodiscard]] PeerId me() const override { return id_; }
  [[nodiscard]] std::uint32_t group_size() const override { return net_.nodes_; }
  [[nodiscard]] Time now() const override { return net_.now_; }
  void transmit(PeerId to, Msg packet) override { net_.transmit(id_, to, std::move(packet)); }
  void set_timer(Time at, std::uint32_t timer) override {
    net_.push({.at = at, .kind = Kind::Timer, .node = id_, .timer = timer});
  }
  void deliver(Event& ev) override {
    if (net_.on_deliver_) net_.on_deliver_(id_, ev);
  }

  Endpoint* ep = nullptr;

private:
  SimNet& net_;
  PeerId id_;
};

std::string SimNet::Counters::summary() const {
  std::vector<std::string> reasons;
  auto reason = [&](std::uint64_t n, const char* what) {
    if (n != 0) reasons.push_back(fmt::format("{} {}", n, what));
  };
  reason(lost, "lost");
  reason(overflowed, "overflowed");
  reason(partitioned, "partitioned");
  reason(bad_destination, "bad destination");
  reason(unattached, "unattached");
  if (reasons.empty()) reasons.emplace_back("none");
  return fmt::format("sent {}, delivered {}; dropped: {}; {} duplicated; {} timers", sent,
                     delivered, fmt::join(reasons, ", "), duplicated, timers_fired);
}

SimNet::SimNet(std::uint64_t seed, std::uint32_t nodes, LinkConfig defaults)
    : nodes_(nodes), rng_(seed) {
  if (nodes == 0 || nodes == kAllPeers) {
    throw std::invalid_argument(fmt::format(
        "SimNet: a network of {} nodes cannot be built; use 1 .. {}", nodes, kAllPeers - 1));
  }
  check_link(defaults);
  links_.assign(std::size_t{nodes} * nodes, defaults);
  blocked_.assign(std::size_t{nodes} * nodes, 0);
  for (PeerId n = 0; n < nodes; ++n) hosts_.push_back(std::make_unique<Node>(*this, n));
}

SimNet::~SimNet() = default;

void SimNet::check_node(PeerId n, const char* what) const {
  if (n >= nodes_) {
    throw std::out_of_range(fmt::format(
        "SimNet::{}: node {} does not exist; this network has nodes 0 .. {}", what, n, nodes_ - 1));
  }
}

void SimNet::set_link(PeerId from, PeerId to, LinkConfig link) {
  check_node(from, "set_link");
  check_node(to, "set_link");
  check_link(link);
  links_[std::size_t{from} * nodes_ + to] = link;
}

const LinkConfig& SimNet::link(PeerId from, PeerId to) const {
  check_node(from, "link");
  check_node(to, "link");
  return links_[std::size_t{from} * nodes_ + to];
}

void SimNet::partition(PeerId a, PeerId b) {
  check_node(a, "partition");
  check_node(b, "partition");
  blocked_[std::size_t{a} * nodes_ + b] = blocked_[std::size_t{b} * nodes_ + a] = 1;
}

void SimNet::heal(PeerId a, PeerId b) {
  check_node(a, "heal");
  check_node(b, "heal");
  blocked_[std::size_t{a} * nodes_ + b] = blocked_[std::size_t{b} * nodes_ + a] = 0;
}

void SimNet::partition_groups(const std::vector<std::vector<PeerId>>& groups) {
  for (std::size_t i = 0; i < groups.size(); ++i) {
    for (std::size_t j = i + 1; j < groups.size(); ++j) {
      for (PeerId a : groups[i]) {
        for (PeerId b : groups[j]) partition(a, b);
      }
    }
  }
}

void SimNet::heal_all() { std::fill(blocked_.begin(), blocked_.end(), 0); }

std::size_t SimNet::queued(PeerId node) const {
  check_node(node, "queued");
  std::size_t n = 0;
  for (auto it = departures_.lower_bound(std::size_t{node} * nodes_);
       it != departures_.end() && it->first < std::size_t{node + 1} * nodes_; ++it)
    for (const Time departs : it->second) n += departs > now_ ? 1 : 0;
  return n;
}

bool SimNet::partitioned(PeerId a, PeerId b) const {
  return a < nodes_ && b < nodes_ && blocked_[std::size_t{a} * nodes_ + b] != 0;
}

void SimNet::attach(PeerId node, Endpoint& ep) {
  check_node(node, "attach");
  hosts_[node]->ep = &ep;
  ep.attach(*hosts_[node]);
}

void SimNet::send(PeerId node, PeerId to, Msg payload) {
  check_node(node, "send");
  Endpoint* ep = hosts_[node]->ep;
  if (ep == nullptr) {
    throw std::logic_error(
        fmt::format("SimNet::send: node {} has no endpoint; call attach first", node));
  }
  ep->send(to, std::move(payload));
}

void SimNet::at(Time when, std::function<void()> f) {
  push({.at = when, .kind = Kind::Call, .call = std::move(f)});
}

bool SimNet::step() {
  if (queue_.empty()) return false;
  std::pop_heap(queue_.begin(), queue_.end(), later<Entry>);
  Entry e = std::move(queue_.back());
  queue_.pop_back();
  now_ = e.at;
  run(e);
  return true;
}

void SimNet::run_until(Time t) {
  while (!queue_.empty() && queue_.front().at <= t) step();
  now_ = std::max(now_, t);
}

bool SimNet::run_until_idle(Time limit) {
  while (!queue_.empty() && queue_.front().at <= limit) step();
  if (queue_.empty()) return true;
  now_ = std::max(now_, limit);
  return false;
}

void SimNet::transmit(PeerId from, PeerId to, Msg packet) {
  if (to == kAllPeers) {
    for (PeerId p = 0; p < nodes_; ++p)
      if (p != from) put_on_link(from, p, packet.clone());
    return;
  }
  if (to >= nodes_) {
    ++counters_.bad_destination;
    trace(now_, from, to, Fate::BadDestination, packet, now_);
    return;
  }
  put_on_link(from, to, std::move(packet));
}

void SimNet::put_on_link(PeerId from, PeerId to, Msg packet) {
  ++counters_.sent;
  if (partitioned(from, to)) {
    ++counters_.partitioned;
    trace(now_, from, to, Fate::Partitioned, packet, now_);
    return;
  }
  const std::size_t index = std::size_t{from} * nodes_ + to;
  const LinkConfig& l = links_[index];
  // The queue, before the wire: a packet that finds it full is dropped and draws nothing.
  Time departs = now_;
  if (l.rate > 0) {
    std::deque<Time>& held = departures_[index];
    while (!held.empty() && held.front() <= now_) held.pop_front();
    if (held.size() > l.queue) { // one being serialised, `queue` waiting
      ++counters_.overflowed;
      trace(now_, from, to, Fate::Overflowed, packet, now_);
      return;
    }
    departs = (held.empty() ? now_ : held.back()) + serialisation(packet.size(), l.rate);
    held.push_back(departs);
  }
  // Draw only for the features a link uses, so that a lossless link does not consume the
  // random stream (and adding loss to one link leaves the others' fates as they were).
  if (l.loss > 0 && uniform() < l.loss) {
    ++counters_.lost;
    trace(now_, from, to, Fate::Lost, packet, now_);
    return;
  }
  if (l.duplicate > 0 && uniform() < l.duplicate) {
    ++counters_.duplicated;
    arrive_later(from, to, l, departs, packet.clone());
  }
  arrive_later(from, to, l, departs, std::move(packet));
}

void SimNet::arrive_later(PeerId from, PeerId to, const LinkConfig& link, Time departs,
                          Msg packet) {
  push({.at = departs + delay_on(link),
        .kind = Kind::Arrival,
        .node = to,
        .from = from,
        .sent = now_, // arrive_later runs as the packet is sent
        .msg = std::move(packet)});
}

void SimNet::push(Entry e) {
  e.at = std::max(e.at, now_); // a time already past means "as soon as possible"
  e.seq = next_seq_++;
  queue_.push_back(std::move(e));
  std::push_heap(queue_.begin(), queue_.end(), later<Entry>);
}

void SimNet::run(Entry& e) {
  switch (e.kind) {
  case Kind::Arrival: {
    Node& dest = *hosts_[e.node];
    if (partitioned(e.from, e.node)) {
      ++counters_.partitioned;
      trace(now_, e.from, e.node, Fate::Partitioned, e.msg, e.sent);
    } else if (dest.ep == nullptr) {
      ++counters_.unattached;
      trace(now_, e.from, e.node, Fate::Unattached, e.msg, e.sent);
    } else {
      ++counters_.delivered;
      trace(now_, e.from, e.node, Fate::Delivered, e.msg, e.sent);
      dest.ep->receive(e.from, std::move(e.msg));
    }
    break;
  }
  case Kind::Timer:
    ++counters_.timers_fired;
    if (Endpoint* ep = hosts_[e.node]->ep) ep->expire(e.timer);
    break;
  case Kind::Call:
    e.call();
    break;
  }
}

void SimNet::trace(Time t, PeerId from, PeerId to, Fate fate, const Msg& m, Time sent) {
  if (on_packet_) on_packet_({t, from, to, fate, m.bytes(), sent});
}

double SimNet::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

Duration SimNet::delay_on(const LinkConfig& link) {
  if (link.jitter <= Duration::zero()) return link.delay;
  const auto span = static_cast<std::uint64_t>(link.jitter.count()) + 1;
  // Modulo bias is below 2^-40 for any jitter under twenty minutes; it keeps runs portable.
  return link.delay + Duration(static_cast<Duration::rep>(rng_() % span));
}

} // namespace lamina
