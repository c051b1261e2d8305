// The ordered lock service on SimNet: both algorithms, in groups of 2 to 8, on healthy and on
// lossy, duplicating, reordering networks, checked by services/lock's checker — no two holders
// at once, grants (and fencing tokens) in the order of the requests, every acquire granted, and
// exactly 3(n-1) or 2(n-1) lock messages an entry — and a silent peer that makes acquires fail
// at their deadline, naming it, never a violation. The checker is shown to catch what it checks.
// try_acquire: granted when uncontended, refused as `taken` within a round trip (at once, with no
// message, for Lamport's algorithm) while another member holds the lock or asks first, its
// request withdrawn everywhere; mixed with acquires on random networks, the checker finds
// nothing.
#include <algorithm>
#include <functional>
#include <gtest/gtest.h>
#include <optional>
#include <rapidcheck/gtest.h>
#include <string>
#include <tuple>

#include "components/ricart_agrawala.hpp"
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

// Random groups, networks and workloads, acquires only in about half of them and a mix of
// acquires and tries in the others: the checker finds nothing.
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
  w.entries = *rc::gen::inRange<std::uint32_t>(1, 8);
  w.think = Duration(*rc::gen::inRange<std::int64_t>(0, 10'000'000));
  w.hold = Duration(*rc::gen::inRange<std::int64_t>(0, 5'000'000));
  w.tries = *rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(0, 101)) / 100.0;
  RC_TAG(w.tries > 0 ? "with tries" : "acquires only");
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

// With acquires alone, and with half the asks tries.
TEST_P(EveryAlgorithm, TheStaticAndFusedBuildsRunTheSameAsTheDynamic) {
  for (const double tries : {0.0, 0.5}) {
    auto grants = [&](std::string_view impl) {
      LockGroup group(GetParam(), stack_of(GetParam()), 3, 11, lossy(), impl);
      const lock::Run run = group.run(Workload{.entries = 4, .tries = tries}, Time(60s));
      EXPECT_TRUE(check(run).ok()) << impl;
      std::vector<std::tuple<PeerId, Status, Time>> out;
      for (const Entry& e : run.entries) out.emplace_back(e.node, e.status, e.granted);
      return out;
    };
    const auto dynamic = grants("dynamic");
    EXPECT_EQ(grants("static"), dynamic) << "tries " << tries;
    EXPECT_EQ(grants("fused"), dynamic) << "tries " << tries;
    if (tries > 0)
      EXPECT_TRUE(std::ranges::any_of(
          dynamic, [](const auto& e) { return std::get<1>(e) == Status::taken; }));
  }
}

// The lock layer is not collapsed (its CCPs are false), but the layers below it are: what it
// passes down to one peer (an ack; a reply) takes their bypass, with a compressed header ('F'),
// and what it casts (a request, a release) goes layered ('L'). Both kinds of packet must be on
// the wire of a fused group, and the run must check.
TEST_P(EveryAlgorithm, AFusedGroupSendsWhatTheLockLayerPassesDownThroughTheBypassBelowIt) {
  LockGroup group(GetParam(), stack_of(GetParam()), 3, 5, healthy(), "fused");
  std::uint64_t compressed = 0;
  std::uint64_t layered = 0;
  group.net().on_packet([&](const SimNet::PacketRecord& p) {
    if (p.bytes.empty()) return;
    compressed += p.bytes[0] == std::byte{'F'};
    layered += p.bytes[0] == std::byte{'L'};
  });
  const lock::Run run = group.run(Workload{.entries = 4}, Time(60s));
  const Verdict v = check(run);
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.grants, 12u);
  EXPECT_GT(compressed, 0u);
  EXPECT_GT(layered, 0u);
}

// ------------------------------------------------------------------------------ try_acquire

// The link healthy() gives, one way: at most delay + jitter.
constexpr Duration kOneWay = 150us;

// Runs `group`'s network until `done()` holds or `limit` is reached; whether it held.
bool run_until(LockGroup& group, const std::function<bool()>& done, Time limit) {
  while (!done() && group.net().now() < limit && group.net().step()) {
  }
  return done();
}

// Runs the network until nothing is on its way.
void settle(LockGroup& group) { group.net().run_until_idle(group.net().now() + 60s); }

// Whether some member still knows of a request of `node`'s.
bool anyone_knows_a_request_of(const LockGroup& group, PeerId node) {
  for (PeerId m = 0; m < group.size(); ++m)
    for (const Token& t : group.queue(m))
      if (t.node == node) return true;
  return false;
}

// Every member's view of the requests, as LockGroup::queue gives it.
std::vector<std::vector<Token>> queues(const LockGroup& group) {
  std::vector<std::vector<Token>> out;
  for (PeerId m = 0; m < group.size(); ++m) out.push_back(group.queue(m));
  return out;
}

TEST_P(EveryAlgorithm, AnUncontendedTryIsGrantedWithinARoundTripForAnEntrysMessages) {
  for (const std::uint32_t n : {2u, 3u, 5u}) {
    LockGroup group(GetParam(), stack_of(GetParam()), n, n, healthy());
    const PeerId me = n - 1;
    std::optional<Outcome> o;
    const std::uint64_t before = group.lock_messages();
    const Time asked = group.net().now();
    group.lock(me).try_acquire(asked + 1s, [&](const Outcome& out) { o = out; });
    ASSERT_TRUE(run_until(group, [&] { return o.has_value(); }, asked + 1s)) << "n = " << n;
    EXPECT_EQ(o->status, Status::granted) << "n = " << n;
    EXPECT_EQ(o->token.node, me);
    EXPECT_LE(group.net().now() - asked, 2 * kOneWay) << "n = " << n;
    EXPECT_TRUE(group.lock(me).holding());
    EXPECT_TRUE(group.lock(me).release());
    settle(group);
    // A granted try is an entry like any other.
    EXPECT_EQ(group.lock_messages() - before, messages_per_entry(GetParam(), n)) << "n = " << n;
    EXPECT_FALSE(anyone_knows_a_request_of(group, me));
  }
}

// Node 0 holds the lock; the last node tries: `taken` at once for Lamport's algorithm (its queue
// holds node 0's request), after a round trip for Ricart and Agrawala's (node 0 refuses it),
// naming node 0's request, long before the deadline. Every member's state is as before the
// try; the holder keeps the lock, and an acquire made after the try is granted once node 0
// gives the lock back.
TEST_P(EveryAlgorithm, ATryWhileAnotherHoldsIsTakenFastAndLeavesEveryoneAsBefore) {
  for (const std::uint32_t n : {2u, 3u, 5u}) {
    LockGroup group(GetParam(), stack_of(GetParam()), n, 100 + n, healthy());
    const Time limit = group.net().now() + 10s;
    std::optional<Outcome> held, tried, later;
    group.lock(0).acquire(limit, [&](const Outcome& out) { held = out; });
    ASSERT_TRUE(run_until(group, [&] { return held.has_value(); }, limit));
    ASSERT_EQ(held->status, Status::granted);
    settle(group);
    const auto before = queues(group);
    const std::uint64_t messages_before = group.lock_messages();

    const PeerId trier = n - 1;
    const Time asked = group.net().now();
    group.lock(trier).try_acquire(asked + 5s, [&](const Outcome& out) { tried = out; });
    ASSERT_TRUE(run_until(group, [&] { return tried.has_value(); }, asked + 5s)) << "n = " << n;
    const Duration took = group.net().now() - asked;
    EXPECT_EQ(tried->status, Status::taken) << "n = " << n;
    EXPECT_EQ(tried->ahead, held->token) << "n = " << n;
    if (GetParam() == Algorithm::lamport)
      EXPECT_EQ(took, Duration::zero()) << "n = " << n;
    else
      EXPECT_LE(took, 2 * kOneWay) << "n = " << n;
    EXPECT_FALSE(group.lock(trier).waiting());
    settle(group);
    EXPECT_EQ(queues(group), before) << "n = " << n << ": the try left something behind";
    EXPECT_EQ(group.lock_messages() - messages_before,
              GetParam() == Algorithm::lamport ? 0 : messages_per_entry(GetParam(), n))
        << "n = " << n;
    EXPECT_TRUE(group.lock(0).holding());
    EXPECT_EQ(group.lock(0).token(), held->token);

    // Someone else's acquire, made after the try, is granted once the holder gives up the lock.
    const PeerId next = n >= 3 ? 1 : 0;
    if (next == 0) ASSERT_TRUE(group.lock(0).release());
    group.lock(next).acquire(group.net().now() + 5s, [&](const Outcome& out) { later = out; });
    if (next != 0) {
      group.net().run_for(10ms);
      EXPECT_FALSE(later.has_value()) << "n = " << n << ": granted while node 0 holds";
      ASSERT_TRUE(group.lock(0).release());
    }
    ASSERT_TRUE(run_until(group, [&] { return later.has_value(); }, group.net().now() + 5s));
    EXPECT_EQ(later->status, Status::granted) << "n = " << n;
    EXPECT_LT(held->token, later->token);
  }
}

// Node 0 acquires and node 1 tries at the same moment: both requests are stamped 1, and (1, 0)
// comes first. The try learns it when node 0's request arrives (or node 0's refusal), within a
// round trip, and withdraws its request, which has gone out: node 0 is granted, and node 2's
// acquire, made after the try and so behind it, is granted next — the try holds it back at no
// member. The other way round (node 0 tries, node 1 acquires) the try comes first and is
// granted, and the acquire after it.
TEST_P(EveryAlgorithm, ATryRacingAnAcquireLosesToAnEarlierRequestAndWinsAgainstALaterOne) {
  for (const std::uint32_t n : {2u, 3u, 5u}) {
    for (const bool try_first : {false, true}) {
      LockGroup group(GetParam(), stack_of(GetParam()), n, 200 + n, healthy());
      const Time limit = group.net().now() + 10s;
      const PeerId trier = try_first ? 0 : 1;
      const PeerId acquirer = try_first ? 1 : 0;
      std::optional<Outcome> tried, acquired;
      group.lock(acquirer).acquire(limit, [&](const Outcome& out) { acquired = out; });
      group.lock(trier).try_acquire(limit, [&](const Outcome& out) { tried = out; });
      ASSERT_TRUE(run_until(group, [&] { return tried.has_value(); }, limit));
      EXPECT_LE(group.net().now(), Time(2 * kOneWay)) << "n = " << n;
      if (!try_first) {
        EXPECT_EQ(tried->status, Status::taken) << "n = " << n;
        EXPECT_EQ(tried->ahead, (Token{1, 0})) << "n = " << n;
        ASSERT_TRUE(run_until(group, [&] { return acquired.has_value(); }, limit));
        EXPECT_EQ(acquired->status, Status::granted);
        EXPECT_EQ(acquired->token, (Token{1, 0}));
        settle(group);
        EXPECT_FALSE(anyone_knows_a_request_of(group, trier)) << "n = " << n;
      } else {
        EXPECT_EQ(tried->status, Status::granted) << "n = " << n;
        EXPECT_EQ(tried->token, (Token{1, 0}));
        group.net().run_for(10ms);
        EXPECT_FALSE(acquired.has_value()) << "n = " << n << ": granted while the try holds";
        ASSERT_TRUE(group.lock(trier).release());
        ASSERT_TRUE(run_until(group, [&] { return acquired.has_value(); }, limit));
        EXPECT_EQ(acquired->status, Status::granted);
        EXPECT_LT(tried->token, acquired->token);
      }
      // Whoever holds gives the lock back; a third acquire is granted.
      ASSERT_TRUE(group.lock(acquirer).release());
      const PeerId third = n >= 3 ? 2 : trier;
      std::optional<Outcome> after;
      group.lock(third).acquire(group.net().now() + 5s, [&](const Outcome& out) { after = out; });
      ASSERT_TRUE(run_until(
          group, [&] { return after.has_value(); }, group.net().now() + 5s))
          << "n = " << n << (try_first ? ", try first" : ", acquire first");
      EXPECT_EQ(after->status, Status::granted) << "n = " << n;
      EXPECT_LT(acquired->token, after->token);
    }
  }
}

// A cut-off peer keeps a try from learning anything: it fails at its deadline, naming the peer,
// as an acquire does, and holds no one back once the network heals.
TEST_P(EveryAlgorithm, ASilentPeerMakesATryFailAtItsDeadlineNamingIt) {
  LockGroup group(GetParam(), stack_of(GetParam()), 4, 9, healthy());
  group.net().partition_groups({{0, 1, 2}, {3}});
  std::optional<Outcome> tried;
  const Time deadline = group.net().now() + 200ms;
  group.lock(0).try_acquire(deadline, [&](const Outcome& out) { tried = out; });
  group.net().at(deadline, [&] { group.lock(0).expire(group.net().now()); });
  ASSERT_TRUE(run_until(group, [&] { return tried.has_value(); }, deadline + 1s));
  EXPECT_EQ(tried->status, Status::deadline_exceeded);
  EXPECT_EQ(group.net().now(), deadline);
  EXPECT_EQ(tried->silent, std::vector<PeerId>{3});
  group.net().heal_all();
  const lock::Run after = group.run(Workload{.entries = 2}, Time(60s));
  const Verdict healed = check(after, {.healthy = true, .bound = 3s, .exact_messages = false});
  EXPECT_TRUE(healed.ok()) << describe(healed);
  EXPECT_EQ(healed.grants, 8u);
}

// Groups of 2, 3 and 5 mixing acquires and tries on healthy and lossy networks: the checker
// finds nothing — no two holders, grants and tokens in the order of the requests, every try
// taken naming a request of the run, exact messages — and tries are both granted and taken.
TEST_P(EveryAlgorithm, AcquiresAndTriesMixedPassTheChecker) {
  std::uint64_t taken = 0, granted_tries = 0;
  for (const std::uint32_t n : {2u, 3u, 5u})
    for (const LinkConfig& link : {healthy(), lossy()})
      for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        LockGroup group(GetParam(), stack_of(GetParam()), n, seed, link);
        const lock::Run run =
            group.run(Workload{.entries = 6, .think = 1ms, .tries = 0.5}, Time(600s));
        const Verdict v = check(run, {.healthy = true, .bound = 30s});
        ASSERT_TRUE(v.ok()) << "n = " << n << ", seed " << seed << "\n" << describe(v);
        taken += v.taken;
        for (const Entry& e : run.entries) granted_tries += e.tried && e.status == Status::granted;
      }
  EXPECT_GT(taken, 100u);
  EXPECT_GT(granted_tries, 100u);
}

TEST(Lock, ATryWhileAskingOrHoldingIsBusyAndATakenTryEndsIt) {
  int casts = 0;
  Lock lock(Algorithm::ricart_agrawala, [&](Msg) { ++casts; });
  std::vector<Status> seen;
  lock.try_acquire(Time(1s), [&](const Outcome& o) { seen.push_back(o.status); });
  lock.try_acquire(Time(1s), [&](const Outcome& o) { seen.push_back(o.status); });
  lock.acquire(Time(1s), [&](const Outcome& o) { seen.push_back(o.status); });
  EXPECT_EQ(seen, (std::vector<Status>{Status::busy, Status::busy}));
  EXPECT_EQ(casts, 1);
  // The layer's word that the try was refused, as if from node 2, whose request (7, 2) is in
  // its way.
  Msg taken;
  taken.push(RicartAgrawala::Header{RicartAgrawala::Kind::taken, {}, 7, 0});
  lock.deliver(2, taken);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.back(), Status::taken);
  EXPECT_FALSE(lock.waiting());
  EXPECT_EQ(casts, 1); // the layer withdrew the request: the lock sends nothing more
  EXPECT_EQ(to_string(Status::taken), "taken");
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
  run.entries = {
      {.node = 0, .asked = Time(0ms), .granted = Time(1ms), .released = Time(5ms), .token = {1, 0}},
      {.node = 1,
       .asked = Time(0ms),
       .granted = Time(6ms),
       .released = Time(8ms),
       .token = {2, 1}}};
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

// Tries in the checker: a try taken counts for the messages only if its request went out, and
// one that names no request of the run in its way is caught.
TEST(LockChecker, CountsTheMessagesOfTriesAndCatchesATryTakenForNoRequest) {
  lock::Run run;
  run.algorithm = Algorithm::lamport;
  run.nodes = 3;
  run.finished = true;
  run.entries = {
      {.node = 0, .asked = Time(0ms), .granted = Time(1ms), .released = Time(5ms), .token = {1, 0}},
      {.node = 1,
       .status = Status::taken,
       .asked = Time(2ms),
       .granted = Time(2ms),
       .tried = true,
       .ahead = {1, 0},
       .at_once = true},
      {.node = 2,
       .status = Status::taken,
       .asked = Time(0ms),
       .granted = Time(1ms),
       .tried = true,
       .ahead = {1, 0}}};
  run.messages = 12; // node 0's entry and node 2's try, 6 each; node 1's try sent nothing
  const Verdict v = check(run);
  EXPECT_TRUE(v.ok()) << describe(v);
  EXPECT_EQ(v.taken, 2u);

  lock::Run chatty = run;
  chatty.messages = 18;
  EXPECT_NE(describe(check(chatty))
                .find("messages: 18 lock messages for 1 entries and 1 tries taken after asking"),
            std::string::npos)
      << describe(check(chatty));

  lock::Run unfounded = run;
  unfounded.entries[1].ahead = {9, 0}; // node 0's request was (1, 0)
  EXPECT_NE(describe(check(unfounded))
                .find("tries: node 1's try was taken at 2.000 ms naming the "
                      "request (9, 0)"),
            std::string::npos)
      << describe(check(unfounded));
  unfounded.entries[1].ahead = {1, 1}; // its own
  EXPECT_EQ(check(unfounded).unfounded, 1u);
}

} // namespace
} // namespace lamina::lock
