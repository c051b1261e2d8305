// Rpc on a simulated network that loses, repeats, delays and reorders packets, with servers
// that restart: at most once, deadlines and incarnations, as properties over random networks,
// workloads and restarts.
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <random>
#include <rapidcheck/gtest.h>
#include <vector>

#include "components/rpc.hpp"
#include "runtime/registry.hpp"
#include "runtime/simnet.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;
using Kind = Rpc::Kind;

Msg with_header(Kind kind, std::uint32_t id, std::uint32_t budget_us, std::uint64_t body) {
  Msg m = Msg::with_size(sizeof body);
  std::memcpy(m.writable_data(), &body, sizeof body);
  m.push(Rpc::Header{kind, {}, id, 0, 0, 0, budget_us});
  return m;
}

// What the server computes for a call: a function of the client, the id and the argument.
std::uint64_t result_of(PeerId client, std::uint32_t id, std::uint64_t arg) {
  return (arg * 31 + client) ^ (std::uint64_t{id} << 20);
}

struct Scenario {
  std::uint64_t seed = 1;
  std::uint32_t clients = 2;
  std::uint32_t calls = 20; // per client
  LinkConfig link;
  std::uint32_t restarts = 0; // of the server, at random times
  Duration work = 3ms;        // the server answers within [0, work]
  std::uint32_t cache = 4096;
};

// A server (node 0) and clients (nodes 1..), each a dynamic Top:Rpc:Bottom.
class World {
public:
  struct Call {
    Time sent{};
    Time deadline{};
    std::uint64_t arg = 0;
    std::vector<std::pair<Kind, Time>> outcomes;
    std::uint64_t answer = 0;
  };

  explicit World(const Scenario& s)
      : s_(s), net_(s.seed, s.clients + 1, s.link), rng_(s.seed ^ 0x5eed) {
    for (PeerId n = 0; n <= s.clients; ++n) stacks_.push_back(make(1));
    for (PeerId n = 0; n <= s.clients; ++n) net_.attach(n, *stacks_[n]);
    net_.on_deliver([this](PeerId node, Event& ev) { delivered(node, ev); });
  }

  void run() {
    for (PeerId c = 1; c <= s_.clients; ++c)
      for (std::uint32_t i = 0; i < s_.calls; ++i) {
        const Time at = Time(std::chrono::microseconds(draw(200'000)));
        const std::uint32_t budget = 1 + static_cast<std::uint32_t>(draw(60'000));
        const std::uint64_t arg = rng_();
        const bool cancel = draw(10) == 0;
        const Duration cancel_after = std::chrono::microseconds(draw(20'000));
        net_.at(at, [this, c, budget, arg, cancel, cancel_after] {
          const std::uint32_t id = next_id_[c]++;
          calls_[{c, id}] =
              Call{net_.now(), net_.now() + std::chrono::microseconds(budget), arg, {}, 0};
          net_.send(c, 0, with_header(Kind::call, id, budget, arg));
          if (cancel)
            net_.at(net_.now() + cancel_after, [this, c, id] {
              if (calls_[{c, id}].outcomes.empty())
                net_.send(c, 0, with_header(Kind::cancel, id, 0, 0));
            });
        });
      }
    for (std::uint32_t r = 0; r < s_.restarts; ++r)
      net_.at(Time(std::chrono::microseconds(draw(250'000))), [this] { restart(); });
    net_.run_until(1s); // every deadline has passed by then: every call has its outcome
  }

  const std::map<std::pair<PeerId, std::uint32_t>, Call>& calls() const { return calls_; }
  const std::map<std::pair<PeerId, std::uint32_t>, int>& executions() const { return runs_; }
  std::uint32_t incarnation() const { return incarnation_; }
  const Rpc& server() const { return *stacks_[0]->find<Rpc>(); }

private:
  std::unique_ptr<DynamicStack> make(std::uint32_t incarnation) const {
    return layer_registry().build(
        fmt::format("Top:Rpc(incarnation={},resend=5ms,cache={}):Bottom", incarnation, s_.cache));
  }

  std::uint64_t draw(std::uint64_t n) { return rng_() % n; }

  // The server crashes (what it was running is lost) and starts again, a new incarnation.
  void restart() {
    crashed_.push_back(std::move(stacks_[0])); // kept: its timers are still queued
    stacks_[0] = make(++incarnation_);
    net_.attach(0, *stacks_[0]);
  }

  void delivered(PeerId node, Event& ev) {
    Rpc::Header h{};
    ASSERT_TRUE(ev.msg.peek(h));
    if (node == 0) {
      if (h.kind != Kind::call) return; // a cancel of a call running: it is answered anyway
      ++runs_[{ev.peer, h.id}];
      std::uint64_t arg = 0;
      ASSERT_EQ(ev.msg.size(), sizeof h + sizeof arg);
      std::memcpy(&arg, ev.msg.data() + sizeof h, sizeof arg);
      const PeerId client = ev.peer;
      const std::uint32_t inc = incarnation_;
      net_.at(net_.now() + std::chrono::nanoseconds(draw(s_.work.count() + 1)),
              [this, client, id = h.id, arg, inc] {
                if (inc != incarnation_) return; // crashed before answering
                net_.send(0, client, with_header(Kind::answer, id, 0, result_of(client, id, arg)));
              });
      return;
    }
    Call& c = calls_[{node, h.id}];
    c.outcomes.emplace_back(h.kind, net_.now());
    if (h.kind == Kind::answer) std::memcpy(&c.answer, ev.msg.data() + sizeof h, sizeof c.answer);
  }

  Scenario s_;
  SimNet net_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<DynamicStack>> stacks_;
  std::vector<std::unique_ptr<DynamicStack>> crashed_;
  std::uint32_t incarnation_ = 1;
  std::map<PeerId, std::uint32_t> next_id_;
  std::map<std::pair<PeerId, std::uint32_t>, Call> calls_;
  std::map<std::pair<PeerId, std::uint32_t>, int> runs_;
};

Scenario random_scenario() {
  Scenario s;
  s.seed = *rc::gen::arbitrary<std::uint64_t>();
  s.clients = *rc::gen::inRange(1u, 4u);
  s.calls = *rc::gen::inRange(1u, 40u);
  s.link.delay = std::chrono::microseconds(*rc::gen::inRange(10, 2000));
  s.link.jitter = std::chrono::microseconds(*rc::gen::inRange(0, 5000));
  s.link.loss = *rc::gen::inRange(0, 40) / 100.0;
  s.link.duplicate = *rc::gen::inRange(0, 40) / 100.0;
  s.restarts = *rc::gen::inRange(0u, 3u);
  s.work = std::chrono::microseconds(*rc::gen::inRange(0, 10'000));
  s.cache = *rc::gen::element(4096u, 8u, 2u);
  return s;
}

// Whatever the network and the restarts: no call runs twice; each ends once; an answer is the
// result of the call's one run, and comes by the deadline.
RC_GTEST_PROP(Rpc, RunsEachCallAtMostOnceAndEndsItOnceByItsDeadline, ()) {
  const Scenario s = random_scenario();
  World w(s);
  w.run();
  for (const auto& [key, runs] : w.executions()) RC_ASSERT(runs == 1);
  for (const auto& [key, c] : w.calls()) {
    RC_ASSERT(c.outcomes.size() == 1u);
    const auto [kind, at] = c.outcomes.front();
    RC_ASSERT(at <= c.deadline);
    if (kind == Kind::answer) {
      RC_ASSERT(w.executions().contains(key));
      RC_ASSERT(c.answer == result_of(key.first, key.second, c.arg));
    } else {
      RC_ASSERT(kind == Kind::expired || kind == Kind::cancelled || kind == Kind::unavailable);
    }
    // Without a restart or a full cache, only the deadline or a cancel ends a call unanswered.
    if (s.restarts == 0 && s.cache == 4096) RC_ASSERT(kind != Kind::unavailable);
  }
}

// On a network that loses and repeats packets but no server restart: every call whose budget
// covers the resends it needs is answered, and run exactly once.
TEST(Rpc, AnswersEveryCallOnALossyNetwork) {
  Scenario s;
  s.seed = 7;
  s.clients = 3;
  s.calls = 200;
  s.link.delay = 200us;
  s.link.jitter = 300us;
  s.link.loss = 0.15;
  s.link.duplicate = 0.2;
  s.work = 100us;
  World w(s);
  w.run();
  std::size_t answered = 0;
  for (const auto& [key, c] : w.calls()) {
    ASSERT_EQ(c.outcomes.size(), 1u);
    // 50 ms is 10 tries, resent every 5 ms; a try fails with probability 1 - 0.85^2.
    if (c.deadline - c.sent >= 50ms && c.outcomes.front().first != Kind::cancelled)
      EXPECT_EQ(c.outcomes.front().first, Kind::answer) << "call " << key.second;
    if (c.outcomes.front().first == Kind::answer) {
      ++answered;
      EXPECT_EQ(w.executions().at(key), 1);
    }
  }
  EXPECT_GT(answered, 300u);
  EXPECT_GT(w.server().replayed, 0u); // lost answers were sent again from the cache
}

// A restarted server refuses the calls addressed to its old incarnation: they end unavailable
// rather than run again, and calls made after the restart reach the new one.
TEST(Rpc, ARestartedServerRefusesCallsAddressedToItsOldIncarnation) {
  Scenario s;
  s.seed = 11;
  s.clients = 2;
  s.calls = 100;
  s.link.delay = 500us;
  s.link.loss = 0.1;
  s.restarts = 2;
  s.work = 5ms;
  World w(s);
  w.run();
  EXPECT_EQ(w.incarnation(), 3u);
  std::size_t unavailable = 0;
  std::size_t answered = 0;
  for (const auto& [key, c] : w.calls()) {
    ASSERT_EQ(c.outcomes.size(), 1u);
    unavailable += c.outcomes.front().first == Kind::unavailable;
    answered += c.outcomes.front().first == Kind::answer;
  }
  for (const auto& [key, runs] : w.executions()) EXPECT_EQ(runs, 1);
  EXPECT_GT(unavailable, 0u);
  EXPECT_GT(answered, 50u);
}

} // namespace
} // namespace lamina
