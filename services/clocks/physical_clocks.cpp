#include "services/clocks/physical_clocks.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <queue>
#include <random>
#include <stdexcept>
#include <tuple>

namespace lamina::clocks {
namespace {

// A clock that runs at a constant rate since it was last set: C(t) = base_clock +
// rate · (t − base_real).
struct Clock {
  double base_real = 0;
  double base_clock = 0;
  double rate = 1;

  [[nodiscard]] double at(double t) const { return base_clock + rate * (t - base_real); }
  void set(double t, double reading) {
    base_real = t;
    base_clock = reading;
  }
};

// The random draws, made from the generator's bits by hand so that a seed gives the same run
// with any standard library (the std:: distributions are not specified bit for bit).
class Random {
public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; } // [0, 1)
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }

private:
  std::mt19937_64 engine_;
};

enum class Kind : std::uint8_t { send, receive, rates };

struct Event {
  double t;
  std::uint64_t order; // ties go first come, first served
  Kind kind;
  std::size_t node;    // send: the sender
  std::size_t message; // receive: index into the messages in flight
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : order > o.order; }
};

void validate(const Params& p) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument(what); };
  if (p.nodes < 2) fail(fmt::format("nodes is {}: a run needs at least 2", p.nodes));
  if (!(p.kappa >= 0 && p.kappa < 1))
    fail(fmt::format("kappa is {}: it must be in [0, 1)", p.kappa));
  if (!(p.mu > 0 && std::isfinite(p.mu))) fail(fmt::format("mu is {}: it must be > 0", p.mu));
  if (!(p.epsilon > 0 && std::isfinite(p.epsilon)))
    fail(fmt::format("epsilon is {}: it must be > 0", p.epsilon));
  if (!(p.jitter >= 0 && std::isfinite(p.jitter)))
    fail(fmt::format("jitter is {}: it must be ≥ 0", p.jitter));
  if (!(p.interval > 0 && std::isfinite(p.interval)))
    fail(fmt::format("interval is {}: it must be > 0", p.interval));
  if (!(p.segment >= 0 && std::isfinite(p.segment)))
    fail(fmt::format("segment is {}: it must be ≥ 0", p.segment));
  if (!(p.spread > 0 && p.spread <= 1))
    fail(fmt::format("spread is {}: it must be in (0, 1]", p.spread));
}

// The rounding a reading near `a` and `b` may carry: a few units in the last place.
double slack(double a, double b) {
  return 64 * std::numeric_limits<double>::epsilon() * std::max({1.0, std::abs(a), std::abs(b)});
}

} // namespace

Run simulate(const Params& p) {
  validate(p);
  Random random(p.seed);
  Run run;
  run.params = p;
  std::vector<Clock> clocks(p.nodes);
  const auto draw_rate = [&] { return 1 - p.kappa + 2 * p.kappa * random.uniform(); };
  for (Clock& c : clocks) {
    // Offsets in [0, spread·ε): any two differ by less than ε, as PC2 asks from the start.
    c.set(0, p.spread * p.epsilon * random.uniform());
    c.rate = draw_rate();
    run.offsets.push_back(c.base_clock);
    run.rates.push_back(c.rate);
  }
  const auto sample = [&](double t) {
    Sample s{t, {}};
    for (const Clock& c : clocks) s.clock.push_back(c.at(t));
    run.samples.push_back(std::move(s));
  };
  sample(0);

  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  std::uint64_t order = 0;
  std::vector<Message> in_flight;
  std::uint64_t sent = 0;
  std::uint64_t arriving = 0;
  for (std::size_t i = 0; i < p.nodes; ++i)
    queue.push({random.exponential(p.interval), order++, Kind::send, i, 0});
  if (p.segment > 0) queue.push({p.segment, order++, Kind::rates, 0, 0});

  double now = 0;
  while (!queue.empty()) {
    const Event e = queue.top();
    queue.pop();
    now = e.t;
    switch (e.kind) {
    case Kind::send: {
      if (sent == p.messages) break;
      ++sent;
      std::size_t to = random.below(p.nodes - 1);
      if (to >= e.node) ++to; // a peer, never itself
      const double delay = p.mu + p.jitter * random.uniform();
      in_flight.push_back({e.node, to, now, now + delay, clocks[e.node].at(now), 0, false});
      queue.push({now + delay, order++, Kind::receive, 0, in_flight.size() - 1});
      ++arriving;
      if (sent < p.messages)
        queue.push({now + random.exponential(p.interval), order++, Kind::send, e.node, 0});
      break;
    }
    case Kind::receive: {
      --arriving;
      Message m = in_flight[e.message];
      Clock& c = clocks[m.to];
      m.clock_at_receipt = c.at(now);
      m.anomaly = m.clock_at_receipt <= m.timestamp;
      sample(now);
      // IR2': the receiver's clock is put forward to at least the timestamp plus the least delay
      // the message could have taken.
      if (p.ir2 && m.timestamp + p.mu > m.clock_at_receipt) {
        c.set(now, m.timestamp + p.mu);
        run.corrections.push_back({m.to, now, m.clock_at_receipt, c.base_clock});
        sample(now);
      }
      run.messages.push_back(m);
      break;
    }
    case Kind::rates:
      sample(now);
      for (Clock& c : clocks) {
        c.set(now, c.at(now));
        c.rate = draw_rate();
      }
      if (sent < p.messages || arriving > 0)
        queue.push({now + p.segment, order++, Kind::rates, 0, 0});
      break;
    }
  }
  if (run.samples.back().real != now) sample(now);
  return run;
}

Verdict check(const Run& run, double kappa, double epsilon) {
  Verdict v;
  std::vector<Violation> pc1;
  std::vector<Violation> pc2;
  constexpr std::size_t kKept = 10; // of each kind

  const std::size_t nodes = run.samples.empty() ? 0 : run.samples.front().clock.size();
  // The corrections by real time, to find the one that explains a jump between two samples.
  std::vector<const Correction*> by_time;
  for (const Correction& c : run.corrections) by_time.push_back(&c);
  const auto earlier = [](const Correction* a, const Correction* b) { return a->real < b->real; };
  std::sort(by_time.begin(), by_time.end(), [](const Correction* a, const Correction* b) {
    return a->real != b->real ? a->real < b->real : a < b; // as recorded, at one instant
  });
  for (const Correction& c : run.corrections) {
    if (c.after < c.before) {
      ++v.pc1_violations;
      if (pc1.size() < kKept)
        pc1.push_back({"PC1", c.node, c.real,
                       fmt::format("a correction moved node {}'s clock back by {:.6g} ms, from "
                                   "{:.6f} to {:.6f}",
                                   c.node, c.before - c.after, c.before, c.after)});
    }
  }
  for (std::size_t i = 0; i < nodes; ++i) {
    for (std::size_t k = 0; k + 1 < run.samples.size(); ++k) {
      const Sample& a = run.samples[k];
      const Sample& b = run.samples[k + 1];
      const double dt = b.real - a.real;
      const double dc = b.clock[i] - a.clock[i];
      const double tolerance = slack(a.clock[i], b.clock[i]) + slack(a.real, b.real);
      if (dt > 0) {
        if (dc >= (1 - kappa) * dt - tolerance && dc <= (1 + kappa) * dt + tolerance) continue;
        ++v.pc1_violations;
        if (pc1.size() < kKept)
          pc1.push_back({"PC1", i, a.real,
                         fmt::format("node {}'s clock ran at rate {:.6f} from {:.6f} to {:.6f} "
                                     "ms, outside [1 − κ, 1 + κ] = [{}, {}]",
                                     i, dc / dt, a.real, b.real, 1 - kappa, 1 + kappa)});
      } else if (std::abs(dc) > tolerance) {
        // A change at one instant must be a recorded correction of this clock, from this
        // reading to that one (and forward, which the loop above checked).
        const Correction at{i, a.real, 0, 0};
        const auto [first, last] = std::equal_range(by_time.begin(), by_time.end(), &at, earlier);
        const bool recorded = std::any_of(first, last, [&](const Correction* c) {
          return c->node == i && std::abs(c->before - a.clock[i]) <= tolerance &&
                 std::abs(c->after - b.clock[i]) <= tolerance;
        });
        if (recorded) continue;
        ++v.pc1_violations;
        if (pc1.size() < kKept)
          pc1.push_back({"PC1", i, a.real,
                         fmt::format("node {}'s clock changed by {:.6g} ms at one instant, "
                                     "{:.6f} ms, with no correction recorded",
                                     i, dc, a.real)});
      }
    }
  }

  for (const Sample& s : run.samples) {
    const auto [low, high] = std::minmax_element(s.clock.begin(), s.clock.end());
    const double skew = *high - *low;
    const auto behind = static_cast<std::size_t>(low - s.clock.begin());
    const auto ahead = static_cast<std::size_t>(high - s.clock.begin());
    if (skew > v.worst_skew) {
      v.worst_skew = skew;
      v.worst_skew_at = s.real;
      v.worst_ahead = ahead;
      v.worst_behind = behind;
    }
    if (skew >= epsilon) {
      ++v.pc2_violations;
      if (pc2.size() < kKept)
        pc2.push_back({"PC2", behind, s.real,
                       fmt::format("node {} at {:.6f} is {:.6f} ms ahead of node {} at {:.6f}, "
                                   "not less than ε = {}",
                                   ahead, *high, skew, behind, *low, epsilon)});
    }
  }

  v.least_margin = std::numeric_limits<double>::infinity();
  for (const Message& m : run.messages) {
    if (m.clock_at_receipt <= m.timestamp) ++v.anomalies;
    v.least_margin = std::min(v.least_margin, m.clock_at_receipt - m.timestamp);
  }

  v.violations = std::move(pc1);
  v.violations.insert(v.violations.end(), pc2.begin(), pc2.end());
  std::sort(v.violations.begin(), v.violations.end(), [](const Violation& a, const Violation& b) {
    return std::tie(a.real, a.rule, a.node, a.what) < std::tie(b.real, b.rule, b.node, b.what);
  });
  return v;
}

std::size_t diagram_start(const Run& run, std::size_t messages) {
  const auto anomaly = std::find_if(run.messages.begin(), run.messages.end(),
                                    [](const Message& m) { return m.anomaly; });
  if (anomaly == run.messages.end()) return 0;
  const auto index = static_cast<std::size_t>(anomaly - run.messages.begin());
  return index - std::min(index, messages / 3);
}

viz::Diagram diagram(const Run& run, std::size_t messages) {
  const Params& p = run.params;
  viz::Diagram d;
  d.title = fmt::format("Physical clocks, κ = {}, μ = {} ms, ε = {} ms, {}; red: arrived at or "
                        "before its timestamp",
                        p.kappa, p.mu, p.epsilon, p.ir2 ? "IR2'" : "free-running");
  d.time_unit = "ms, real time";
  // The messages from a few before the first anomaly, where the rule is worth seeing at work.
  const std::size_t first = diagram_start(run, messages);
  const std::size_t end = std::min(first + messages, run.messages.size());
  double from = 0;
  for (std::size_t k = first; k < end; ++k)
    from = k == first ? run.messages[k].sent : std::min(from, run.messages[k].sent);
  for (std::size_t i = 0; i < p.nodes; ++i) {
    d.processes.push_back(fmt::format("node {}", i));
    d.notes.push_back(
        {i, from, fmt::format("C(0) = {:.3f}, first rate {:.4f}", run.offsets[i], run.rates[i])});
  }
  for (std::size_t k = first; k < end; ++k) {
    const Message& m = run.messages[k];
    d.messages.push_back({m.from, m.sent, m.to, m.received,
                          m.anomaly ? fmt::format("m{}: anomaly", k) : fmt::format("m{}", k),
                          m.anomaly});
    d.events.push_back({m.from, m.sent, fmt::format("{:.3f}", m.timestamp)});
    // The receipt's reading, and where IR2' put the clock when it moved it.
    const auto corrected =
        std::find_if(run.corrections.begin(), run.corrections.end(),
                     [&](const Correction& c) { return c.node == m.to && c.real == m.received; });
    d.events.push_back({m.to, m.received,
                        corrected == run.corrections.end()
                            ? fmt::format("{:.3f}", m.clock_at_receipt)
                            : fmt::format("{:.3f}→{:.3f}", corrected->before, corrected->after)});
  }
  return d;
}

} // namespace lamina::clocks
