// Lamport's physical clocks, simulated (services/clocks/physical_clocks.hpp): the condition
// that rules anomalies out, IR2' moving clocks only forward, the checker of PC1 and PC2 on
// violations planted in recorded runs, runs that a seed repeats, and the diagram of a run.
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "services/clocks/physical_clocks.hpp"
#include "services/common/spacetime_svg.hpp"
#include "tests/xml_wellformed.hpp"

namespace lamina::clocks {
namespace {

// Random parameters of a run, small enough to run a hundred of them in a second or two.
Params random_params() {
  Params p;
  p.nodes = *rc::gen::inRange<std::size_t>(2, 9);
  p.kappa = *rc::gen::element(0.0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.3);
  p.epsilon = *rc::gen::inRange(1, 50) / 10.0;
  p.mu = *rc::gen::inRange(1, 60) / 10.0;
  p.jitter = p.mu * *rc::gen::inRange(0, 100) / 100.0;
  p.interval = sync_interval(p.kappa, p.epsilon, p.mu, p.jitter);
  p.segment = *rc::gen::element(0.0, p.interval, 10 * p.interval);
  p.spread = *rc::gen::element(0.5, 0.9, 1.0);
  p.messages = *rc::gen::inRange<std::uint64_t>(0, 400);
  p.seed = *rc::gen::arbitrary<std::uint64_t>();
  p.ir2 = *rc::gen::arbitrary<bool>();
  return p;
}

// Lamport's condition: with PC1 and PC2 holding, messages that take at least ε/(1 − κ) never
// arrive at or before their timestamps.
RC_GTEST_PROP(PhysicalClocks, NoAnomalyWhereMuIsAtLeastTheBoundAndPC2Held, ()) {
  Params p = random_params();
  p.ir2 = true;
  p.mu = bound(p.kappa, p.epsilon) * (1 + *rc::gen::inRange(0, 100) / 100.0);
  p.interval = sync_interval(p.kappa, p.epsilon, p.mu, p.jitter);
  const clocks::Run run = simulate(p);
  const Verdict v = check(run, p.kappa, p.epsilon);
  RC_ASSERT(v.pc1()); // the simulation keeps every clock's rate in bounds
  RC_CLASSIFY(v.pc2(), "PC2 held");
  if (v.pc2()) RC_ASSERT(v.anomalies == 0u);
  // The margin Lamport's argument gives: (1 − κ)μ − ε, more than 0 here.
  if (v.pc2() && !run.messages.empty())
    RC_ASSERT(v.least_margin > (1 - p.kappa) * p.mu - p.epsilon);
}

// IR2' only ever puts a clock forward, to the timestamp plus μ; and between samples every
// clock only goes forward.
RC_GTEST_PROP(PhysicalClocks, IR2NeverMovesAClockBackward, ()) {
  const Params p = random_params();
  const clocks::Run run = simulate(p);
  if (!p.ir2) RC_ASSERT(run.corrections.empty());
  for (const Correction& c : run.corrections) RC_ASSERT(c.after > c.before);
  for (const Message& m : run.messages)
    if (p.ir2 && m.timestamp + p.mu > m.clock_at_receipt) {
      const auto c =
          std::find_if(run.corrections.begin(), run.corrections.end(),
                       [&](const Correction& x) { return x.node == m.to && x.real == m.received; });
      RC_ASSERT(c != run.corrections.end());
      RC_ASSERT(c->after == m.timestamp + p.mu);
    }
  for (std::size_t k = 0; k + 1 < run.samples.size(); ++k)
    for (std::size_t i = 0; i < p.nodes; ++i)
      RC_ASSERT(run.samples[k + 1].clock[i] >= run.samples[k].clock[i]);
}

bool same(const clocks::Run& a, const clocks::Run& b) {
  if (a.samples.size() != b.samples.size() || a.messages.size() != b.messages.size() ||
      a.corrections.size() != b.corrections.size() || a.offsets != b.offsets || a.rates != b.rates)
    return false;
  for (std::size_t k = 0; k < a.samples.size(); ++k)
    if (a.samples[k].real != b.samples[k].real || a.samples[k].clock != b.samples[k].clock)
      return false;
  for (std::size_t k = 0; k < a.messages.size(); ++k) {
    const Message& x = a.messages[k];
    const Message& y = b.messages[k];
    if (x.from != y.from || x.to != y.to || x.sent != y.sent || x.received != y.received ||
        x.timestamp != y.timestamp || x.clock_at_receipt != y.clock_at_receipt)
      return false;
  }
  return true;
}

RC_GTEST_PROP(PhysicalClocks, ASeedRepeatsItsRun, ()) {
  Params p = random_params();
  p.messages = std::max<std::uint64_t>(p.messages, 10);
  RC_ASSERT(same(simulate(p), simulate(p)));
  Params other = p;
  ++other.seed;
  RC_ASSERT(!same(simulate(p), simulate(other)));
}

// A run known to have anomalies and to hold PC1 and PC2: `lamina clocks --kappa 0.01 --mu 0.25`.
Params anomalous() {
  Params p;
  p.kappa = 0.01;
  p.mu = 0.25;
  p.epsilon = 1;
  p.interval = sync_interval(p.kappa, p.epsilon, p.mu, p.jitter);
  return p;
}

TEST(PhysicalClocks, AnomaliesOccurWhereTheBoundExceedsMu) {
  const clocks::Run run = simulate(anomalous());
  const Verdict v = check(run, 0.01, 1);
  EXPECT_TRUE(v.pc1());
  EXPECT_TRUE(v.pc2());
  EXPECT_GT(v.anomalies, 0u);
  EXPECT_LT(v.least_margin, 0);
  EXPECT_TRUE(v.violations.empty());
}

TEST(PhysicalClocks, FreeRunningClocksDriftOutOfEpsilon) {
  Params p = anomalous();
  p.ir2 = false;
  const clocks::Run run = simulate(p);
  EXPECT_TRUE(run.corrections.empty());
  const Verdict v = check(run, p.kappa, p.epsilon);
  EXPECT_TRUE(v.pc1());
  EXPECT_FALSE(v.pc2()); // 2,000 messages at 5 ms: seconds of drift of up to 2% apart
  EXPECT_GT(v.worst_skew, p.epsilon);
}

// The first violation of `rule` that `v` reports, or nullptr.
const Violation* first(const Verdict& v, const std::string& rule) {
  const auto it = std::find_if(v.violations.begin(), v.violations.end(),
                               [&](const Violation& x) { return x.rule == rule; });
  return it == v.violations.end() ? nullptr : &*it;
}

TEST(PhysicalClocks, TheCheckerFlagsAPlantedPC1Violation) {
  clocks::Run run = simulate(anomalous());
  ASSERT_TRUE(check(run, 0.01, 1).pc1());
  // A clock that runs too fast between two samples (and too slow after): node 2 a little
  // ahead at one sample in the middle, with no correction.
  std::size_t k = run.samples.size() / 2;
  while (run.samples[k + 1].real == run.samples[k].real) ++k;
  const double dt = run.samples[k + 1].real - run.samples[k].real;
  run.samples[k + 1].clock[2] += 0.05 * dt;
  const Verdict v = check(run, 0.01, 1);
  EXPECT_FALSE(v.pc1());
  ASSERT_NE(first(v, "PC1"), nullptr);
  EXPECT_EQ(first(v, "PC1")->node, 2u);
  EXPECT_EQ(first(v, "PC1")->real, run.samples[k].real);
  EXPECT_NE(first(v, "PC1")->what.find("outside [1 − κ, 1 + κ]"), std::string::npos);
}

TEST(PhysicalClocks, TheCheckerFlagsACorrectionBackwardAndAnUnrecordedJump) {
  clocks::Run run = simulate(anomalous());
  ASSERT_FALSE(run.corrections.empty());
  // The last correction turned around: the clock jumps back, as recorded.
  Correction& c = run.corrections.back();
  const auto at = std::find_if(run.samples.begin(), run.samples.end(),
                               [&](const Sample& s) { return s.real == c.real; });
  ASSERT_NE(at, run.samples.end());
  std::swap(c.before, c.after);
  at->clock[c.node] = c.before;
  (at + 1)->clock[c.node] = c.after;
  Verdict v = check(run, 0.01, 1);
  EXPECT_FALSE(v.pc1());
  EXPECT_TRUE(std::any_of(v.violations.begin(), v.violations.end(), [&](const Violation& x) {
    return x.rule == "PC1" && x.node == c.node && x.real == c.real &&
           x.what.find("a correction moved node") != std::string::npos;
  }));

  // A jump with no correction recorded for it.
  run = simulate(anomalous());
  const Correction kept = run.corrections.front();
  run.corrections.erase(run.corrections.begin());
  v = check(run, 0.01, 1);
  ASSERT_NE(first(v, "PC1"), nullptr);
  EXPECT_EQ(first(v, "PC1")->node, kept.node);
  EXPECT_EQ(first(v, "PC1")->real, kept.real);
  EXPECT_NE(first(v, "PC1")->what.find("no correction recorded"), std::string::npos);
}

TEST(PhysicalClocks, TheCheckerFlagsAPlantedPC2Violation) {
  clocks::Run run = simulate(anomalous());
  ASSERT_TRUE(check(run, 0.01, 1).pc2());
  // At one sample, node 1 a whole ε behind the fastest clock.
  Sample& s = run.samples[run.samples.size() / 3];
  s.clock[1] = *std::max_element(s.clock.begin(), s.clock.end()) - 1.0;
  const Verdict v = check(run, 0.01, 1);
  EXPECT_FALSE(v.pc2());
  EXPECT_EQ(v.pc2_violations, 1u);
  EXPECT_EQ(v.worst_skew, 1.0);
  EXPECT_EQ(v.worst_behind, 1u);
  ASSERT_NE(first(v, "PC2"), nullptr);
  EXPECT_EQ(first(v, "PC2")->node, 1u);
  EXPECT_EQ(first(v, "PC2")->real, s.real);
}

TEST(PhysicalClocks, RefusesParametersOutOfRange) {
  Params p;
  p.kappa = 1;
  EXPECT_THROW((void)simulate(p), std::invalid_argument);
  p = {};
  p.mu = 0;
  EXPECT_THROW((void)simulate(p), std::invalid_argument);
  p = {};
  p.epsilon = -1;
  EXPECT_THROW((void)simulate(p), std::invalid_argument);
  p = {};
  p.nodes = 1;
  EXPECT_THROW((void)simulate(p), std::invalid_argument);
}

RC_GTEST_PROP(PhysicalClocks, TheDiagramOfARunIsAWellFormedSvg, ()) {
  Params p = random_params();
  p.messages = std::min<std::uint64_t>(p.messages, 100);
  const clocks::Run run = simulate(p);
  const std::string svg = viz::to_svg(diagram(run, *rc::gen::inRange<std::size_t>(1, 30)));
  if (const auto problem = xml_check::svg_problem(svg)) RC_FAIL(*problem);
}

TEST(PhysicalClocks, TheDiagramShowsTheFirstAnomaly) {
  const clocks::Run run = simulate(anomalous());
  const viz::Diagram d = diagram(run, 12);
  EXPECT_EQ(d.processes.size(), 4u);
  EXPECT_EQ(d.messages.size(), 12u);
  EXPECT_TRUE(std::any_of(d.messages.begin(), d.messages.end(),
                          [](const viz::Diagram::Message& m) { return m.highlight; }));
}

} // namespace
} // namespace lamina::clocks
