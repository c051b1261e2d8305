// The ordered lock service on SimNet: both algorithms, in groups of 2 to 8, on healthy and on
// lossy, duplicating, reordering networks, checked by services/lock's checker — no two holders
// at once, grants (and fencing tokens) in the order of the requests, every acquire granted, and
// exactly 3(n-1) or 2(n-1) lock messages an entry — and a silent peer that makes acquires fail
// at their deadline, naming it, never a violation. The checker is shown to catch what it checks.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <string>

#include "services/lock/checker.hpp"
#include "services/lock/sim_group.hpp"
#include "spec/stack_string.hpp"

namespace lamina::lock {
namespace {

using namespace std::chrono_literals;

std::string stack_of(Algorithm a) {
  return spec::load_stack_string(std::string(LAMINA_SOURCE_DIR) + "/stacks/lock/lock.ioa",
                                 stack_name(a));
}

LinkConfig lossy() {
  LinkConfig link;
  link.delay = 200us;
  link.jitter = 300us; // reorders
  link.loss = 0.1;
  link.duplicate = 0.05;
  return link;
}

LinkConfig healthy() {
  LinkConfig link;
  link.delay = 100us;
  link.jitter = 50us;
  return link;
}

std::string describe(const Verdict& v) {
  std::string out;
  for (const std::string& s : v.violations) out += s + "\n";
  return out;
}

class EveryAlgorithm : public ::testing::TestWithParam<Algorithm> {};
INSTANTIATE_TEST_SUITE_P(Lock, EveryAlgorithm,
                         ::testing::Values(Algorithm::lamport, Algorithm::ricart_agrawala),
                         [](const auto& info) {
                           return info.param == Algorithm::lamport ? "Lamport" : "RicartAgrawala";
                         });

TEST_P(EveryAlgorithm, AHealthyGroupGrantsEveryAcquireWithExactlyTheMessagesOfTheAlgorithm) {
  for (const std::uint32_t n : {2u, 3u, 5u, 8u}) {
    LockGroup group(GetParam(), stack_of(GetParam()), n, n, healthy());
    const lock::Run run = group.run(Workload{}, Time(60s));
    const Verdict v = check(run, {.healthy = true, .bound = 1s});
    EXPECT_TRUE(v.ok()) << "n = " << n << "\n" << describe(v);
    EXPECT_EQ(v.grants, 10u * n);
    EXPECT_EQ(run.messages, v.grants * messages_per_entry(GetParam(), n)) << "n = " << n;
  }
}

TEST_P(EveryAlgorithm, ALossyNetworkNeverBreaksTheLock) {
  for (const std::uint32_t n : {2u, 3u, 5u, 8u})
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      LockGroup group(GetParam(), stack_of(GetParam()), n, seed, lossy());
      const lock::Run run = group.run(Workload{.entries = 5}, Time(120s));
      const Verdict v = check(run, {.healthy = true, .bound = 30s});
      ASSERT_TRUE(v.ok()) << "n = " << n << ", seed " << seed << "\n" << describe(v);
      EXPECT_EQ(v.grants, 5u * n);
    }
}

// Random groups, networks and workloads: the checker finds nothing.
RC_GTEST_PROP(Lock, AnyRunPassesTheChecker, ()) {
  const auto algorithm = *rc::gen::element(Algorithm::lamport, Algorithm::ricart_agrawala);
  const auto n = *rc::gen::inRange<std::uint32_t>(2, 7);
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  LinkConfig link;
  link.delay = Duration(*rc::gen::inRange<std::int64_t>(1'000, 2'000'000));
  link.jitter = Duration(*rc::gen::inRange<std::int64_t>(0, 2'000'000));
  link.loss = *rc::gen::inRange(0, 30) / 100.0;
  link.duplicate = *rc::gen::inRange(0, 20) / 100.0;
  Workload w;
  w.entries = *rc::gen::inRange<std::uint32_t>(1, 6);
  w.think = Duration(*rc::gen::inRange<std::int64_t>(0, 10'000'000));
  w.hold = Duration(*rc::gen::inRange<std::int64_t>(0, 5'000'000));
  LockGroup group(algorithm, stack_of(algorithm), n, seed, link);
  const lock::Run run = group.run(w, Time(600s));
  const Verdict v = check(run, {.healthy = true, .bound = 120s});
  RC_ASSERT(v.ok());
}

// A cut-off peer holds every request back: acquires fail at their deadline, naming it, and
// nobody holds the lock with another.
TEST_P(EveryAlgorithm, ASilentPeerMakesAcquiresFailAtTheirDeadlineNamingIt) {
  LockGroup group(GetParam(), stack_of(GetParam()), 4, 7, healthy());
  group.net().partition_groups({{0, 1, 2}, {3}});
  Workload w;
  w.entries = 2;
  w.patience = 200ms;
  const lock::Run run = group.run(w, Time(5s));
  const Verdict v = check(run, {.healthy = false, .exact_messages = false});
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.grants, 0u);
  ASSERT_EQ(run.entries.size(), 8u);
  for (const Entry& e : run.entries) {
    EXPECT_EQ(e.status, Status::deadline_exceeded);
    EXPECT_EQ(e.granted - e.asked, 200ms) << "node " << e.node; // at the deadline, no later
    if (e.node != 3) EXPECT_EQ(e.silent, std::vector<PeerId>{3}) << "node " << e.node;
  }
  // Healed, the group grants again: the withdrawn requests hold no one back. The first grants
  // wait for Arq's retransmissions to node 3, backed off to as much as 2 s during the cut.
  group.net().heal_all();
  const lock::Run after = group.run(Workload{.entries = 2}, Time(60s));
  const Verdict healed = check(after, {.healthy = true, .bound = 3s, .exact_messages = false});
  EXPECT_TRUE(healed.ok()) << describe(healed);
  EXPECT_EQ(healed.grants, 8u);
}

TEST_P(EveryAlgorithm, AGroupOfOneGrantsAtOnceWithoutAMessage) {
  LockGroup group(GetParam(), stack_of(GetParam()), 1, 1, healthy());
  const lock::Run run = group.run(Workload{.entries = 3}, Time(1s));
  const Verdict v = check(run);
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.grants, 3u);
  EXPECT_EQ(run.messages, 0u);
}

TEST_P(EveryAlgorithm, TheStaticAndFusedBuildsRunTheSameAsTheDynamic) {
  auto grants = [&](std::string_view impl) {
    LockGroup group(GetParam(), stack_of(GetParam()), 3, 11, lossy(), impl);
    const lock::Run run = group.run(Workload{.entries = 4}, Time(60s));
    EXPECT_TRUE(check(run).ok()) << impl;
    std::vector<std::pair<PeerId, Time>> out;
    for (const Entry& e : run.entries) out.emplace_back(e.node, e.granted);
    return out;
  };
  const auto dynamic = grants("dynamic");
  EXPECT_EQ(grants("static"), dynamic);
  EXPECT_EQ(grants("fused"), dynamic);
}

TEST(Lock, AskingTwiceIsBusyAndReleasingWhatIsNotHeldSendsNothing) {
  int casts = 0;
  Lock lock(Algorithm::lamport, [&](Msg) { ++casts; });
  EXPECT_FALSE(lock.release());
  std::vector<Status> seen;
  lock.acquire(Time(1s), [&](const Outcome& o) { seen.push_back(o.status); });
  lock.acquire(Time(1s), [&](const Outcome& o) { seen.push_back(o.status); });
  EXPECT_EQ(seen, std::vector<Status>{Status::busy});
  EXPECT_EQ(casts, 1);
  lock.expire(Time(999ms));
  EXPECT_TRUE(lock.waiting());
  lock.expire(Time(1s));
  EXPECT_EQ(seen, (std::vector<Status>{Status::busy, Status::deadline_exceeded}));
  EXPECT_EQ(casts, 2); // the withdrawal
}

TEST(FencedRegister, RefusesAWriteWithAnOlderTokenThanTheNewestTaken) {
  FencedRegister r;
  EXPECT_TRUE(r.write({5, 1}, 10));
  EXPECT_TRUE(r.write({5, 1}, 11)); // the same holder again
  EXPECT_TRUE(r.write({9, 0}, 12));
  EXPECT_FALSE(r.write({5, 1}, 13)); // the earlier holder, late
  EXPECT_FALSE(r.write({8, 7}, 14)); // a smaller stamp, whatever the node
  EXPECT_EQ(r.value(), 12);
  EXPECT_EQ(r.written(), 3u);
  EXPECT_EQ(r.refused(), 2u);
}

// The checker catches what it checks: runs with a violation planted.
TEST(LockChecker, CatchesOverlapDisorderStarvationAndExtraMessages) {
  lock::Run run;
  run.algorithm = Algorithm::lamport;
  run.nodes = 3;
  run.finished = true;
  run.entries = {{0, Status::granted, Time(0ms), Time(1ms), Time(5ms), {1, 0}, {}},
                 {1, Status::granted, Time(0ms), Time(6ms), Time(8ms), {2, 1}, {}}};
  run.messages = 12;
  EXPECT_TRUE(check(run).ok()) << describe(check(run));

  lock::Run overlap = run;
  overlap.entries[1].granted = Time(4ms);
  EXPECT_NE(describe(check(overlap)).find("safety: node 1 was granted at 4.000 ms while node 0"),
            std::string::npos)
      << describe(check(overlap));

  lock::Run disorder = run;
  disorder.entries[1].token = {1, 1}; // after (1, 0) in the total order, but ...
  disorder.entries[0].token = {1, 2};
  disorder.entries[0].node = 2;
  EXPECT_NE(describe(check(disorder)).find("order: node 1's grant"), std::string::npos)
      << describe(check(disorder));

  lock::Run starved = run;
  starved.entries[1].granted = Time(20s);
  EXPECT_NE(describe(check(starved, {.bound = 1s})).find("liveness: node 1 waited"),
            std::string::npos);
  starved.finished = false;
  EXPECT_NE(describe(check(starved)).find("did not finish"), std::string::npos);

  lock::Run chatty = run;
  chatty.messages = 13;
  EXPECT_NE(describe(check(chatty)).find("messages: 13 lock messages for 2 entries"),
            std::string::npos);
}

} // namespace
} // namespace lamina::lock
