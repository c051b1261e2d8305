#include "services/lock/sim_group.hpp"

#include <algorithm>
#include <random>
#include <typeinfo>

#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"

namespace lamina::lock {

LockGroup::LockGroup(Algorithm algorithm, std::string_view stack_string, std::uint32_t nodes,
                     std::uint64_t seed, LinkConfig link, std::string_view impl)
    : algorithm_(algorithm), net_(seed, nodes, link),
      impl_(make_implementation(impl, stack_string, nodes)), seed_(seed) {
  for (PeerId n = 0; n < nodes; ++n) {
    net_.attach(n, impl_->endpoint(n));
    locks_.push_back(std::make_unique<Lock>(
        algorithm, [this, n](Msg m) { net_.send(n, kAllPeers, std::move(m)); }));
  }
  net_.on_deliver([this](PeerId n, Event& ev) { locks_[n]->deliver(ev.peer, ev.msg); });
  (void)lock_messages(); // a stack without the algorithm's layer under Top is refused now
}

std::uint64_t LockGroup::lock_messages() const {
  std::uint64_t sent = 0;
  for (PeerId n = 0; n < size(); ++n) {
    const LayerView v = impl_->depth() > 1 ? impl_->layer(n, 1) : LayerView{};
    if (v.type != nullptr && *v.type == typeid(LamportMutex))
      sent += static_cast<const LamportMutex*>(v.state)->sent;
    else if (v.type != nullptr && *v.type == typeid(RicartAgrawala))
      sent += static_cast<const RicartAgrawala*>(v.state)->sent;
    else
      throw std::runtime_error("a lock stack has LamportMutex or RicartAgrawala under Top");
  }
  return sent;
}

std::vector<Token> LockGroup::queue(PeerId n) const {
  std::vector<Token> out;
  const LayerView v = impl_->layer(n, 1);
  auto add = [&](const auto& table) {
    for (PeerId q = 0; q < table.size(); ++q)
      if (table.get(q) != 0) out.push_back({table.get(q), q});
  };
  if (*v.type == typeid(LamportMutex)) {
    const auto& l = *static_cast<const LamportMutex*>(v.state);
    if (l.mine != 0) out.push_back({l.mine, n});
    add(l.queue);
  } else {
    const auto& l = *static_cast<const RicartAgrawala*>(v.state);
    if (l.mine != 0) out.push_back({l.mine, n});
    add(l.deferred);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Run LockGroup::run(const Workload& w, Time limit) {
  run_ = Run{algorithm_, size(), {}, 0, 0, false, {}};
  asked_.assign(size(), 0);
  const std::uint64_t messages_before = lock_messages();
  const std::uint64_t packets_before = net_.counters().sent;
  std::mt19937_64 rng(seed_ ^ 0x6c6f636bULL);
  for (PeerId n = 0; n < size(); ++n) {
    const auto start = std::uniform_int_distribution<std::int64_t>(0, 2 * w.think.count())(rng);
    net_.at(net_.now() + Duration(start), [this, n, &w] { ask(n, w); });
  }
  auto done = [&] {
    for (PeerId n = 0; n < size(); ++n)
      if (asked_[n] < w.entries || locks_[n]->holding() || locks_[n]->waiting()) return false;
    return true;
  };
  while (!done() && net_.now() < limit && net_.step()) {
  }
  run_.finished = done();
  run_.end = net_.now();
  // What is still on the wire (releases, acks below) arrives; the deadlines of acquires
  // granted long ago pass, doing nothing.
  net_.run_until_idle(limit);
  run_.messages = lock_messages() - messages_before;
  run_.packets = net_.counters().sent - packets_before;
  return std::move(run_);
}

void LockGroup::ask(PeerId n, const Workload& w) {
  ++asked_[n];
  const Time asked = net_.now();
  const std::uint64_t draw = seed_ * 1'000'003 + n * 7919 + asked_[n];
  std::mt19937_64 rng(draw);
  const Duration hold(std::uniform_int_distribution<std::int64_t>(0, 2 * w.hold.count())(rng));
  const Duration think(std::uniform_int_distribution<std::int64_t>(0, 2 * w.think.count())(rng));
  const bool tried = std::bernoulli_distribution(w.tries)(rng);
  auto next = [this, n, think, &w] {
    if (asked_[n] < w.entries) net_.at(net_.now() + think, [this, n, &w] { ask(n, w); });
  };
  auto done = [this, n, asked, hold, next, tried](const Outcome& o) {
    Entry e{n,       o.status, asked, net_.now(), Time::max(),
            o.token, o.silent, tried, o.ahead,    asking_ == n};
    if (o.status != Status::granted) {
      run_.entries.push_back(std::move(e));
      next();
      return;
    }
    const std::size_t at = run_.entries.size();
    run_.entries.push_back(std::move(e));
    if (on_grant_) on_grant_(run_.entries[at]);
    net_.at(net_.now() + hold, [this, n, at, next] {
      run_.entries[at].released = net_.now();
      locks_[n]->release();
      next();
    });
  };
  asking_ = n;
  if (tried)
    locks_[n]->try_acquire(asked + w.patience, std::move(done));
  else
    locks_[n]->acquire(asked + w.patience, std::move(done));
  asking_.reset();
  const Time deadline = asked + w.patience;
  net_.at(deadline, [this, n, deadline] {
    if (locks_[n]->deadline() == deadline) locks_[n]->expire(net_.now());
  });
}

} // namespace lamina::lock
