// Speed of the spec simulator: layer steps per second for small layers.
//
// The spec is the oracle that difftest runs beside the C++ stacks on every step of long random
// traces, so it has to keep up: the target is at least 100,000 layer steps per second for a
// layer of Seqno's size. One layer step = one input (send, deliver) handled by one layer,
// including what it emits.
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "runtime/host.hpp"
#include "spec/program.hpp"
#include "spec/sim.hpp"

namespace {

using namespace lamina;
using namespace lamina::spec;

// The program, loaded once; exits with the diagnostics if it does not load.
const Program& program() {
  static Sources sources;
  static Diagnostics diags(sources);
  // Numbered (Seqno's numbering and holding back), Mark below it, stack Two = Numbered : Mark.
  static const std::optional<Program> p =
      load(std::string(LAMINA_SOURCE_DIR) + "/tests/specs/numbered.ioa", sources, diags);
  if (!p) {
    std::fprintf(stderr, "lamina_spec_bench: the benchmark's spec does not load:\n%s",
                 diags.format().c_str());
    std::exit(1);
  }
  return *p;
}

void skip_if_failed(benchmark::State& state, const std::optional<Failure>& failure) {
  if (failure) state.SkipWithError(failure->message.c_str());
}

std::vector<std::byte> payload(std::size_t size) { return std::vector<std::byte>(size); }

// One step: Numbered numbers a message going down.
void layer_send(benchmark::State& state) {
  LayerSim sim(program(), "Numbered");
  const auto msg = payload(static_cast<std::size_t>(state.range(0)));
  // NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores): the loop variable is unused by design
  for (auto _ : state) benchmark::DoNotOptimize(sim.down_send(1, msg, 0, Time{}));
  skip_if_failed(state, sim.failure());
  state.SetItemsProcessed(state.iterations());
}

// One step: Numbered takes the next packet in order and delivers it.
void layer_deliver_in_order(benchmark::State& state) {
  LayerSim sim(program(), "Numbered");
  std::vector<std::byte> packet = payload(4 + static_cast<std::size_t>(state.range(0)));
  std::uint32_t seq = 0;
  // NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores): the loop variable is unused by design
  for (auto _ : state) {
    std::memcpy(packet.data(), &seq, sizeof seq);
    ++seq;
    benchmark::DoNotOptimize(sim.up_deliver(0, packet, 0, Time{}));
  }
  skip_if_failed(state, sim.failure());
  state.SetItemsProcessed(state.iterations());
}

// A host that loops what its stack transmits back into the stack, as if from peer 1.
class Loopback final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId /*to*/, Msg packet) override { wire.push_back(std::move(packet)); }
  void set_timer(Time /*at*/, std::uint32_t /*timer*/) override {}
  void deliver(Event& ev) override {
    benchmark::DoNotOptimize(ev.msg.data());
    ++delivered;
  }
  std::vector<Msg> wire;
  std::uint64_t delivered = 0;
};

// Four steps: a message down Numbered : Mark to the wire, and back up both layers.
void stack_round_trip(benchmark::State& state) {
  StackSim sim(program(), "Two");
  Loopback host;
  sim.attach(host);
  const auto size = static_cast<std::size_t>(state.range(0));
  // NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores): the loop variable is unused by design
  for (auto _ : state) {
    sim.send(1, Msg::with_size(size));
    for (Msg& m : host.wire) sim.receive(1, std::move(m));
    host.wire.clear();
  }
  skip_if_failed(state, sim.failure());
  if (host.delivered != static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("a message was not delivered");
  state.SetItemsProcessed(4 * state.iterations());
}

BENCHMARK(layer_send)->Arg(64)->Arg(1024);
BENCHMARK(layer_deliver_in_order)->Arg(64)->Arg(1024);
BENCHMARK(stack_round_trip)->Arg(64)->Arg(1024);

} // namespace

BENCHMARK_MAIN();
