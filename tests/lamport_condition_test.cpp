// Lamport's clock condition on recorded runs: if event a happened before event b, then
// C(a) < C(b). Happened-before is computed independently with vector clocks, and every pair
// of events of a run is checked.
#include <algorithm>
#include <cstring>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/lamport_clock.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/simnet.hpp"
#include "runtime/stack.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;
using ClockedStack = stack<Top, LamportClock, Frag, Seqno, Retransmit, Checksum, Bottom>;
using VectorClock = std::vector<std::uint64_t>;

struct Recorded {
  std::uint64_t lamport; // C(e), as the LamportClock layer assigned it
  VectorClock vc;        // e's vector clock: happened-before, computed apart from the layer
};

// a happened before b iff a's vector clock is below b's.
bool happened_before(const VectorClock& a, const VectorClock& b) {
  return a != b && std::equal(a.begin(), a.end(), b.begin(), std::less_equal<>());
}

struct Recording {
  std::vector<Recorded> events;
  std::uint64_t messages = 0;
};

Recording record(std::uint64_t seed, std::uint32_t nodes, int sends_per_node) {
  SimNet net(seed, nodes, LinkConfig{.delay = 1ms, .jitter = 2ms, .loss = 0.1, .duplicate = 0.05});
  std::vector<std::unique_ptr<ClockedStack>> stacks;
  std::vector<VectorClock> vc(nodes, VectorClock(nodes, 0));
  std::map<std::uint64_t, VectorClock> in_flight; // message id -> sender's vector clock at send
  Recording run;

  for (PeerId i = 0; i < nodes; ++i) {
    stacks.push_back(std::make_unique<ClockedStack>());
    net.attach(i, *stacks.back());
  }
  net.on_deliver([&](PeerId node, Event& ev) {
    std::uint64_t id = 0;
    std::memcpy(&id, ev.msg.data(), sizeof id);
    VectorClock& mine = vc[node];
    for (std::size_t k = 0; k < nodes; ++k) mine[k] = std::max(mine[k], in_flight.at(id)[k]);
    ++mine[node];
    run.events.push_back({ev.lamport, mine});
  });

  std::mt19937_64 plan(seed);
  for (PeerId from = 0; from < nodes; ++from) {
    for (int k = 0; k < sends_per_node; ++k) {
      const Time at = Time(static_cast<std::int64_t>(plan() % 50'000'000)); // within 50 ms
      const PeerId to = static_cast<PeerId>((from + 1 + plan() % (nodes - 1)) % nodes);
      net.at(at, [&, from, to] {
        const std::uint64_t id = run.messages++;
        ++vc[from][from];
        in_flight[id] = vc[from];
        Msg m = Msg::with_size(sizeof id);
        std::memcpy(m.writable_data(), &id, sizeof id);
        net.send(from, to, std::move(m));
        run.events.push_back({stacks[from]->get<LamportClock>().clock, vc[from]});
      });
    }
  }
  EXPECT_TRUE(net.run_until_idle(Time(60s)));
  return run;
}

TEST(LamportClockCondition, HoldsForEveryPairOfEventsInRecordedRuns) {
  std::uint64_t ordered_pairs = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Recording run = record(seed, 4, 30);
    ASSERT_EQ(run.events.size(), 2 * run.messages) << "every message sent and delivered once";
    for (const Recorded& a : run.events) {
      for (const Recorded& b : run.events) {
        if (!happened_before(a.vc, b.vc)) continue;
        ++ordered_pairs;
        ASSERT_LT(a.lamport, b.lamport) << "seed " << seed;
      }
    }
  }
  EXPECT_GT(ordered_pairs, 10'000u); // the runs are rich in causal chains
}

} // namespace
} // namespace lamina
