#include "difftest/network.hpp"

#include <array>

namespace lamina::difftest {

TraceGenerator::TraceGenerator(std::uint64_t seed, std::uint32_t nodes,
                               const NetworkOptions& options)
    : rng_(seed), nodes_(nodes), o_(options) {
  schedule_application(Time{});
}

double TraceGenerator::uniform() {
  // 53 random bits: the same on every platform, unlike std::uniform_real_distribution.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

std::uint64_t TraceGenerator::below(std::uint64_t n) { return n == 0 ? 0 : rng_() % n; }

std::uint32_t TraceGenerator::message_size() {
  const std::uint32_t m = o_.mtu;
  const double r = uniform();
  if (r < 0.45) return static_cast<std::uint32_t>(below(101));
  if (r < 0.75) {
    const std::array<std::uint32_t, 9> edges = {0,         1,     m - 1,     m,    m + 1,
                                                2 * m - 1, 2 * m, 2 * m + 1, 3 * m};
    return edges[below(edges.size())];
  }
  return static_cast<std::uint32_t>(below(std::uint64_t{4} * m + 1));
}

void TraceGenerator::schedule(const TraceEvent& e) { queue_.push({e, seq_++}); }

void TraceGenerator::schedule_application(Time after) {
  TraceEvent e;
  // Exponential gaps would need std::exponential_distribution; uniform on [0, 2 * mean) keeps
  // the mean and the platform independence.
  e.at = after + Duration(static_cast<Duration::rep>(uniform() * 2.0 *
                                                     static_cast<double>(o_.send_gap.count())));
  e.node = static_cast<PeerId>(below(nodes_));
  e.kind = uniform() < o_.cast ? TraceEvent::Kind::Cast : TraceEvent::Kind::Send;
  if (e.kind == TraceEvent::Kind::Send) {
    e.peer = static_cast<PeerId>(below(nodes_ - 1));
    if (e.peer >= e.node) ++e.peer;
  }
  e.size = message_size();
  e.fill = rng_();
  schedule(e);
}

TraceEvent TraceGenerator::next() {
  const Scheduled s = queue_.top();
  queue_.pop();
  now_ = s.event.at;
  if (s.event.kind == TraceEvent::Kind::Send || s.event.kind == TraceEvent::Kind::Cast)
    schedule_application(now_);
  return s.event;
}

void TraceGenerator::observe(Lockstep& run) {
  for (const PacketId& p : run.new_packets()) {
    if (uniform() < o_.loss) {
      run.expect_arrivals(p, 0);
      continue;
    }
    const std::uint32_t copies = uniform() < o_.duplicate ? 2 : 1;
    run.expect_arrivals(p, copies);
    for (std::uint32_t c = 0; c < copies; ++c) {
      TraceEvent e;
      e.kind = TraceEvent::Kind::Arrive;
      e.at =
          now_ + o_.delay +
          Duration(static_cast<Duration::rep>(uniform() * static_cast<double>(o_.jitter.count())));
      e.node = p.to;
      e.peer = p.from;
      e.packet = p.index;
      if (uniform() < o_.corrupt.value_or(0) && p.size > 0) {
        e.damage.offset = static_cast<std::uint32_t>(below(p.size));
        if (uniform() < 0.5) {
          e.damage.kind = Damage::Kind::Flip;
          e.damage.mask = static_cast<std::uint8_t>(1 + below(255));
        } else {
          e.damage.kind = Damage::Kind::Truncate;
        }
      }
      schedule(e);
    }
  }
  for (const Effects::TimerRequest& t : run.effects().timers) {
    TraceEvent e;
    e.kind = TraceEvent::Kind::Timer;
    e.at = std::max(t.at, now_);
    e.node = t.node;
    e.timer = t.timer;
    schedule(e);
  }
}

} // namespace lamina::difftest
