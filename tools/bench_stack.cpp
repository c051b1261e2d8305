// Cost of one message through the reliable FIFO stack, static vs dynamic composition.
//
// Two stacks joined by an in-memory wire, no loss: a message goes down the sender's stack, up
// the receiver's, and the receiver's ack goes down and back up. One iteration = one message,
// everything included (payload buffer, headers, checksum, ack). This is the baseline that the
// optimiser's fused stacks are measured against.
#include <benchmark/benchmark.h>
#include <memory>
#include <utility>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/standard_layers.hpp"
#include "components/top.hpp"
#include "runtime/stack.hpp"

namespace {

using namespace lamina;
using ReliableFifo = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

// Two nodes and the wire between them. Timers are never due: with no loss every ack arrives
// long before the retransmission timeout.
class Wire {
public:
  Wire(Endpoint& a, Endpoint& b) : hosts_{Side(*this, 0), Side(*this, 1)}, ends_{&a, &b} {
    a.attach(hosts_[0]);
    b.attach(hosts_[1]);
  }

  // Sends one message from node 0 to node 1 and runs until the wire is empty.
  void send(Msg payload) {
    ends_[0]->send(1, std::move(payload));
    // In order of transmission; receiving may transmit more (acks), appended behind.
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
      auto& [to, packet] = in_flight_[i];
      ends_[to]->receive(1 - to, std::move(packet));
    }
    in_flight_.clear();
  }
  std::uint64_t delivered = 0;

private:
  class Side final : public Host {
  public:
    Side(Wire& w, PeerId me) : w_(&w), me_(me) {}
    [[nodiscard]] PeerId me() const override { return me_; }
    [[nodiscard]] std::uint32_t group_size() const override { return 2; }
    [[nodiscard]] Time now() const override { return {}; }
    void transmit(PeerId to, Msg packet) override {
      w_->in_flight_.emplace_back(to, std::move(packet));
    }
    void set_timer(Time, std::uint32_t) override {}
    void deliver(Event& ev) override {
      benchmark::DoNotOptimize(ev.msg.data());
      ++w_->delivered;
    }

  private:
    Wire* w_;
    PeerId me_;
  };

  Side hosts_[2];
  Endpoint* ends_[2];
  std::vector<std::pair<PeerId, Msg>> in_flight_;
};

void run(benchmark::State& state, Endpoint& a, Endpoint& b) {
  Wire wire(a, b);
  const auto size = static_cast<std::size_t>(state.range(0));
  // NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores): the loop variable is unused by design
  for (auto _ : state) wire.send(Msg::with_size(size));
  if (wire.delivered != static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("a message was not delivered");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void static_reliable_fifo(benchmark::State& state) {
  auto a = std::make_unique<ReliableFifo>();
  auto b = std::make_unique<ReliableFifo>();
  run(state, *a, *b);
}

void dynamic_reliable_fifo(benchmark::State& state) {
  auto a = standard_layers().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  auto b = standard_layers().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  run(state, *a, *b);
}

BENCHMARK(static_reliable_fifo)->Arg(64)->Arg(4096);
BENCHMARK(dynamic_reliable_fifo)->Arg(64)->Arg(4096);

} // namespace

BENCHMARK_MAIN();
