// Cost of one message through the reliable FIFO stack, static vs dynamic composition.
//
// Two stacks joined by an in-memory wire, no loss: a message goes down the sender's stack, up
// the receiver's, and the receiver's ack goes down and back up. One iteration = one message,
// everything included (payload buffer, headers, checksum, ack). This is the baseline that the
// optimiser's fused stacks are measured against.
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
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

// Sends `count` messages of `size` bytes and nothing else, for instruction counting under
// callgrind (tools/instructions.sh): the difference of two counts is the cost per message.
int send_only(std::string_view composition, std::size_t size, std::uint64_t count) {
  std::unique_ptr<Endpoint> a, b;
  if (composition == "static") {
    a = std::make_unique<ReliableFifo>();
    b = std::make_unique<ReliableFifo>();
  } else if (composition == "dynamic") {
    a = standard_layers().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
    b = standard_layers().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  } else {
    std::fprintf(stderr, "lamina_bench: --count takes static or dynamic, not '%.*s'\n",
                 static_cast<int>(composition.size()), composition.data());
    return 2;
  }
  Wire wire(*a, *b);
  for (std::uint64_t i = 0; i < count; ++i) wire.send(Msg::with_size(size));
  return wire.delivered == count ? 0 : 1;
}

} // namespace

// lamina_bench [Google Benchmark flags]
// lamina_bench --count static|dynamic SIZE COUNT
int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--count")
    return send_only(argv[2], std::strtoull(argv[3], nullptr, 10),
                     std::strtoull(argv[4], nullptr, 10));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
