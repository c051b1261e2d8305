// The reliable FIFO stack Top:Frag:Seqno:Retransmit:Checksum:Bottom over a network that loses
// 20% of packets, duplicates and reorders them: every message arrives exactly once, in
// per-sender order, byte for byte — composed statically and dynamically (as declared in
// stacks/fifo/fifo.ioa), 2 and 5 nodes, 100 seeds each.
#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/registry.hpp"
#include "runtime/stack.hpp"
#include "runtime/workload.hpp"
#include "spec/program.hpp"
#include "spec/stack_string.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;
using ReliableFifo = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

// The dynamic stack is the one stacks/fifo/fifo.ioa declares.
const std::string& reliable_fifo_from_spec() {
  static const std::string stack = [] {
    spec::Sources sources;
    spec::Diagnostics diags(sources);
    const auto program =
        spec::load(std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa", sources, diags);
    if (!program) throw std::runtime_error(diags.format());
    return spec::stack_string(*program, "ReliableFifo");
  }();
  return stack;
}

enum class Composition { Static, Dynamic };

Workload hostile_network(std::uint64_t seed, std::uint32_t nodes) {
  Workload w;
  w.seed = seed;
  w.nodes = nodes;
  w.messages_per_node = 40;
  w.max_size = 5000; // up to four fragments at the default mtu
  w.cast_share = 0.2;
  w.link = {.delay = 1ms, .jitter = 3ms, .loss = 0.2, .duplicate = 0.1};
  return w;
}

// Runs the workload with freshly built stacks; returns the report.
WorkloadReport run(Composition c, const Workload& w) {
  std::vector<std::unique_ptr<Endpoint>> stacks;
  for (std::uint32_t i = 0; i < w.nodes; ++i) {
    if (c == Composition::Static)
      stacks.push_back(std::make_unique<ReliableFifo>());
    else
      stacks.push_back(layer_registry().build(reliable_fifo_from_spec()));
  }
  std::vector<Endpoint*> raw;
  for (auto& s : stacks) raw.push_back(s.get());
  return run_workload(w, raw);
}

class ReliableFifoStack : public ::testing::TestWithParam<std::tuple<Composition, std::uint32_t>> {
};

TEST_P(ReliableFifoStack, DeliversEveryMessageOnceInOrderUnderTwentyPercentLoss) {
  const auto [composition, nodes] = GetParam();
  std::uint64_t lost = 0, duplicated = 0;
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    const WorkloadReport r = run(composition, hostile_network(seed, nodes));
    ASSERT_TRUE(r.perfect()) << "seed " << seed << "\n" << r.summary();
    ASSERT_EQ(r.delivered, r.sent);
    lost += r.net.lost;
    duplicated += r.net.duplicated;
  }
  // The network really was hostile: about a fifth of all packets lost.
  EXPECT_GT(lost, 0u);
  EXPECT_GT(duplicated, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Compositions, ReliableFifoStack,
    ::testing::Combine(::testing::Values(Composition::Static, Composition::Dynamic),
                       ::testing::Values(2u, 5u)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == Composition::Static ? "Static" : "Dynamic") +
             std::to_string(std::get<1>(info.param)) + "Nodes";
    });

TEST(ReliableFifoStack, StaticAndDynamicCompositionsRunIdentically) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const WorkloadReport a = run(Composition::Static, hostile_network(seed, 3));
    const WorkloadReport b = run(Composition::Dynamic, hostile_network(seed, 3));
    EXPECT_EQ(a.summary(), b.summary()) << "seed " << seed;
  }
}

TEST(ReliableFifoStack, WithoutRetransmitAndSeqnoTheSameNetworkLosesMessages) {
  // The check above can fail: the same workload over an unreliable stack is caught out.
  std::vector<std::unique_ptr<DynamicStack>> stacks;
  for (int i = 0; i < 3; ++i) stacks.push_back(layer_registry().build("Top:Frag:Checksum:Bottom"));
  std::vector<Endpoint*> raw;
  for (auto& s : stacks) raw.push_back(s.get());
  const WorkloadReport r = run_workload(hostile_network(7, 3), raw);
  EXPECT_FALSE(r.perfect());
  EXPECT_GT(r.missing, 0u);
}

} // namespace
} // namespace lamina
