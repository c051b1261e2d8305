// Shrinking a failing trace to a small one that still fails.
//
// RapidCheck shrinks the values its own generators drew; a difftest trace is drawn step by step
// from what the stack under test does (which packets exist, which timers are set), and a long
// run's trace comes from outside RapidCheck altogether. So the shrinker is delta debugging
// (Zeller and Hildebrandt's ddmin, complements only) over the explicit events, followed by
// simplifying the events that remain: smaller messages, undamaged packets.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "difftest/trace.hpp"

namespace lamina::difftest {

// True if the implementations still disagree on these events.
using StillFails = std::function<bool(const std::vector<TraceEvent>&)>;

struct ShrinkStats {
  std::size_t tests = 0; // candidate traces run
  bool minimal = true;   // false: the time budget ran out first, or the cut trace did not fail
  // false: run again, the cut trace did not fail; the trace was kept as found (shrink_outcome)
  bool reproduced = true;
};

// A subsequence of `events` (each event perhaps simplified) on which `fails` still holds, and
// from which no single event can be removed or simplified further (unless the budget ran out).
// `events` must fail.
std::vector<TraceEvent> shrink(std::vector<TraceEvent> events, const StillFails& fails,
                               std::chrono::steady_clock::duration budget, ShrinkStats& stats);

} // namespace lamina::difftest
