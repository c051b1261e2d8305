// Lamport's physical clocks ("Time, Clocks, and the Ordering of Events in a Distributed
// System", 1978, section 4), simulated, and a checker of a recorded run.
//
// Each node i has a physical clock C_i(t), a function of real time t (in ms). Lamport asks two
// things of such clocks:
//   PC1  every clock runs at a rate within κ of real time: |dC_i/dt − 1| ≤ κ;
//   PC2  no two clocks are ever ε or more apart: |C_i(t) − C_j(t)| < ε;
// and keeps them together with IR2': a message sent at real time t carries T_m = C_i(t), and
// its receiver, at t', sets C_j(t') := max(C_j(t'), T_m + μ_m), where μ_m is the least delay a
// message can take (here μ for every message).
//
// What the simulation shows is the condition under which a receipt can never read a clock at
// or before the send's timestamp (C_j(t') ≤ T_m: an *anomaly*, the receipt seemingly before its
// send, which is what IR2' repairs): when PC2 holds with ε and every message takes at least μ,
// then μ ≥ ε/(1 − κ) rules it out, because by the time the message arrives the receiver's clock
// has run at least (1 − κ)μ ≥ ε, more than it could have been behind the sender's. When
// ε/(1 − κ) > μ, a receiver that is behind by nearly ε and a message that takes nearly μ make
// one.
//
// The simulation is deterministic for a seed: nodes' clocks start within ε of one another and
// run at constant rates drawn in [1 − κ, 1 + κ] (redrawn every `segment` ms when that is not
// 0); each node sends, at random times, to random peers, messages that take μ plus up to
// `jitter`. It records every clock at every receipt and wherever any clock changes its rate or
// jumps (a correction), and every message with its timestamp and the receiver's reading.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "services/common/spacetime_svg.hpp"

namespace lamina::clocks {

struct Params {
  std::size_t nodes = 4;
  double kappa = 0.01; // PC1's bound on every clock's drift, in [0, 1)
  double mu = 0.5;     // the least real time a message takes, ms (> 0)
  double epsilon = 1;  // PC2's bound on the skew, ms (> 0); the initial offsets are within it
  double jitter = 0.1; // a message takes μ plus up to this much, ms
  double interval = 5; // mean real time between one node's sends, ms (each a Poisson process)
  double segment = 0;  // every this many ms each clock gets a new rate; 0: one rate per run
  double spread = 0.9; // the initial offsets are drawn in [0, spread·ε): 0.9 leaves room for
                       // drift before the first corrections
  std::uint64_t messages = 2000; // sent in all
  std::uint64_t seed = 1;
  bool ir2 = true; // apply IR2' on receipt; false: the clocks run free
};

// Every clock's reading at one real instant.
struct Sample {
  double real = 0;
  std::vector<double> clock; // by node
};

// IR2' moving a clock: at real time `real`, node's clock read `before` and now reads `after`.
struct Correction {
  std::size_t node = 0;
  double real = 0;
  double before = 0;
  double after = 0;
};

struct Message {
  std::size_t from = 0;
  std::size_t to = 0;
  double sent = 0;             // real time
  double received = 0;         // real time
  double timestamp = 0;        // T_m: the sender's clock when it sent
  double clock_at_receipt = 0; // C_j(t'): the receiver's clock as the message arrived, before IR2'
  bool anomaly = false;        // clock_at_receipt ≤ timestamp
};

struct Run {
  Params params;
  std::vector<double> offsets; // C_i(0), by node
  std::vector<double> rates;   // each node's first rate
  std::vector<Sample> samples; // in real-time order: at the start, at every receipt (and
                               // after its correction), at every change of rates, at the end
  std::vector<Correction> corrections;
  std::vector<Message> messages; // in the order they were received
};

// Runs the simulation. Throws std::invalid_argument for parameters out of their ranges.
[[nodiscard]] Run simulate(const Params& p);

// Lamport's bound: with PC2 for ε and PC1 for κ, messages that take at least ε/(1 − κ) cannot
// arrive before their timestamps.
[[nodiscard]] inline double bound(double kappa, double epsilon) { return epsilon / (1 - kappa); }

// A mean interval between one node's sends that keeps the clocks, corrected by IR2', near ε
// apart at worst but within it, so that a run can show both sides of the bound. While a message
// is on its way its sender's clock and the others drift apart by up to 2κ(μ + jitter), which no
// correction can take back (this is Lamport's d·(2κτ + ξ)); what is left of ε is for the drift
// between corrections. Two clocks drift apart by up to 2κ per ms, and in runs of a few hundred
// sends per node (4 nodes) the worst skew from that came to about 16κ times the interval:
// dividing what is left of ε by 20κ puts the worst skew near 0.8ε. When the flight takes nearly
// all of ε, a tenth of ε is shared out instead, and PC2 will likely fail. Without drift (κ = 0)
// the interval does not matter; it is then that of κ = 0.001.
[[nodiscard]] inline double sync_interval(double kappa, double epsilon, double mu, double jitter) {
  const double left = std::max(epsilon - 2 * kappa * (mu + jitter), epsilon / 10);
  return left / (20 * std::max(kappa, 0.001));
}

struct Violation {
  std::string rule; // "PC1" or "PC2"
  std::size_t node = 0;
  double real = 0;
  std::string what; // a sentence
};

struct Verdict {
  std::uint64_t pc1_violations = 0;
  std::uint64_t pc2_violations = 0;  // samples at which the skew was ε or more
  std::vector<Violation> violations; // the first few of either kind, by real time
  double worst_skew = 0;             // the largest |C_i − C_j| at any sample
  double worst_skew_at = 0;          // real time
  std::size_t worst_ahead = 0;       // the nodes of that skew
  std::size_t worst_behind = 0;
  std::uint64_t anomalies = 0;
  // The least C_j(t') − T_m over the messages: how close a receipt came to its timestamp (an
  // anomaly where ≤ 0); infinity without messages.
  double least_margin = 0;
  [[nodiscard]] bool pc1() const { return pc1_violations == 0; }
  [[nodiscard]] bool pc2() const { return pc2_violations == 0; }
};

// Checks a recorded run against PC1 with `kappa` and PC2 with `epsilon`, from its samples and
// corrections alone (not from the rates the simulation drew), and counts its anomalies. PC1:
// between two samples with no correction between them every clock ran at an average rate in
// [1 − κ, 1 + κ]; a clock changes between two samples at one instant only by a recorded
// correction, and a correction only moves a clock forward. PC2: at every sample, the fastest and
// the slowest clock are less than ε apart. Because the samples are taken wherever a clock
// changes rate or jumps, every clock is linear between two samples and the skew, a convex
// function there, is largest at one of them: the worst skew of the samples is the run's.
[[nodiscard]] Verdict check(const Run& run, double kappa, double epsilon);

// Part of `run` as a space-time diagram in real time: `messages` messages in the order they
// were received, from a third of that before the first anomaly (from the start if there is
// none). Each is an arrow, red if an anomaly; every send and receipt a dot labelled with the
// clock's reading (a corrected receipt with its reading before and after IR2'); each node's
// initial offset and rate are noted at the start of its line, which is real time 0.
[[nodiscard]] viz::Diagram diagram(const Run& run, std::size_t messages);

// The index in run.messages of the first message that diagram() draws.
[[nodiscard]] std::size_t diagram_start(const Run& run, std::size_t messages);

} // namespace lamina::clocks
