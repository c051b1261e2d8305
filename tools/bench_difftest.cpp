// Speed of difftest: trace events per second with every comparison on (deliveries, packets,
// timers, the state of every layer of the handling node), for the reliable FIFO stack on the
// default network (10% loss, 5% duplicates, 1% damaged, 1 ms + up to 2 ms delay), and with 1%
// loss.
//
// Targets (issue 4): 1,000,000 events/s comparing static against dynamic, and 100,000 with the
// spec simulator on one side. Run: build/tools/lamina_difftest_bench
#include <benchmark/benchmark.h>
#include <string>
#include <vector>

#include "difftest/difftest.hpp"

namespace {

using namespace lamina::difftest;

const LoadedStack& reliable_fifo() {
  static const LoadedStack stack(std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa",
                                 "ReliableFifo");
  return stack;
}

void events_per_second(benchmark::State& state, std::vector<std::string> impls,
                       double loss = NetworkOptions{}.loss) {
  Options o;
  o.impls = std::move(impls);
  o.network.loss = loss;
  o.events = static_cast<std::uint64_t>(state.range(0));
  std::uint64_t events = 0;
  for (auto _ : state) {
    const Outcome out = run(reliable_fifo(), o);
    if (out.divergence) state.SkipWithError("the implementations diverged");
    events += out.events;
    ++o.seed;
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(events_per_second, static_vs_dynamic, {"static", "dynamic"})
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);
// Less loss, less to compare: Retransmit and Seqno hold fewer messages.
BENCHMARK_CAPTURE(events_per_second, static_vs_dynamic_1pct_loss, {"static", "dynamic"}, 0.01)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(events_per_second, spec_vs_static, {"spec", "static"})
    ->Arg(20'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(events_per_second, spec_static_dynamic, {"spec", "static", "dynamic"})
    ->Arg(20'000)
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
