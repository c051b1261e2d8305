// difftest itself: the implementations of the repository's stacks agree on random traces, and
// a wrong implementation is caught, located, shrunk to a minimal trace, and replayed.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "difftest/difftest.hpp"
#include "difftest/mutants.hpp"

namespace lamina::difftest {
namespace {

const std::string fifo_spec = std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa";

Options quick(std::vector<std::string> impls, std::uint64_t events, std::uint64_t seed = 1) {
  Options o;
  o.impls = std::move(impls);
  o.events = events;
  o.seed = seed;
  o.shrink_budget = std::chrono::seconds(30);
  return o;
}

TEST(Difftest, SpecStaticAndDynamicAgreeOnTheReliableFifo) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  const Outcome out = run(stack, quick({"spec", "static", "dynamic"}, 20'000));
  ASSERT_FALSE(out.divergence) << out.divergence.value().format();
  EXPECT_EQ(out.events, 20'000u);
  // Every event compares the six layers of one node, for two pairs of implementations.
  EXPECT_EQ(out.comparisons, 20'000u * 6 * 2);
}

// Any seed, any group size, any network: the three implementations of every stack agree.
RC_GTEST_PROP(Difftest, ImplementationsAgreeOnAnyNetwork, ()) {
  static const LoadedStack reliable(fifo_spec, "ReliableFifo", {{"mtu", 64}});
  static const LoadedStack clocked(fifo_spec, "ClockedFifo");
  static const LoadedStack unreliable(fifo_spec, "Unreliable");
  const LoadedStack* stacks[] = {&reliable, &clocked, &unreliable};
  const LoadedStack& stack = *stacks[*rc::gen::inRange(0, 3)];
  Options o = quick({"spec", "static", "dynamic"}, 600, *rc::gen::arbitrary<std::uint64_t>());
  o.nodes = *rc::gen::inRange(2u, 6u);
  o.network.loss = *rc::gen::inRange(0, 60) / 100.0;
  o.network.duplicate = *rc::gen::inRange(0, 50) / 100.0;
  o.network.corrupt = *rc::gen::inRange(0, 30) / 100.0;
  o.network.jitter = std::chrono::microseconds(*rc::gen::inRange(0, 10'000));
  o.shrink = false;
  const Outcome out = run(stack, o);
  RC_ASSERT(!out.divergence);
}

TEST(Difftest, TheSameSeedGivesTheSameTrace) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  Options o = quick({"static", "mutant:seqno_releases_one"}, 100'000, 7);
  o.shrink = false;
  const Outcome a = run(stack, o);
  const Outcome b = run(stack, o);
  ASSERT_TRUE(a.divergence);
  EXPECT_EQ(a.trace.events, b.trace.events);
  o.seed = 8;
  const Outcome c = run(stack, o);
  EXPECT_NE(a.trace.events, c.trace.events);
}

TEST(Difftest, AWrongLayerIsCaughtLocatedAndShrunkToAMinimalTrace) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  Options o = quick({"static", "mutant:seqno_releases_one"}, 100'000);
  // Minimality is the property here, not speed: time enough for a slow (sanitized, loaded)
  // machine, where 30 s ran out once.
  o.shrink_budget = std::chrono::minutes(10);
  const Outcome out = run(stack, o);
  ASSERT_TRUE(out.divergence);
  EXPECT_EQ(out.divergence.value().left_impl, "static");
  EXPECT_EQ(out.divergence.value().right_impl, "mutant:seqno_releases_one");
  EXPECT_LE(out.trace.events.size(), out.original_length);
  EXPECT_TRUE(out.shrink.minimal);
  // 1-minimal: without any one of its events, the trace no longer shows a divergence.
  for (std::size_t i = 0; i < out.trace.events.size(); ++i) {
    Trace less = out.trace;
    less.events.erase(less.events.begin() + static_cast<std::ptrdiff_t>(i));
    EXPECT_FALSE(replay(stack, less, false, {}).divergence) << "event " << i << " is not needed";
  }
}

TEST(Difftest, AStateDivergenceNamesTheLayerTheFieldAndBothValues) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  const Outcome out = run(stack, quick({"spec", "mutant:top_forgets_deliveries"}, 10'000));
  ASSERT_TRUE(out.divergence);
  const Divergence& d = out.divergence.value();
  EXPECT_EQ(d.kind, "state");
  EXPECT_EQ(d.layer, "Top");
  EXPECT_EQ(d.field, "delivered");
  EXPECT_NE(d.left, d.right);
  EXPECT_NE(d.format().find("field delivered"), std::string::npos) << d.format();
}

TEST(Difftest, APacketDivergenceNamesTheLayerAndTheHeaderField) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  const Outcome out = run(stack, quick({"static", "mutant:seqno_first_is_one"}, 1'000));
  ASSERT_TRUE(out.divergence);
  const Divergence& d = out.divergence.value();
  EXPECT_EQ(d.kind, "network");
  EXPECT_EQ(d.layer, "Seqno"); // not Checksum, whose CRC differs only because Seqno's header does
  EXPECT_NE(d.field.find("Data.seq"), std::string::npos) << d.field;
  EXPECT_EQ(d.left, "0");
  EXPECT_EQ(d.right, "1");
  EXPECT_NE(d.detail.find("Seqno{seq: 1}"), std::string::npos) << d.detail;
}

TEST(Difftest, ASavedTraceReplaysToTheSameDivergence) {
  const LoadedStack stack(fifo_spec, "ReliableFifo");
  const Outcome out = run(stack, quick({"static", "mutant:checksum_skips_first_byte"}, 10'000));
  ASSERT_TRUE(out.divergence);
  const Trace again = read_trace(write_trace(out.trace), "saved.trace");
  const Outcome replayed = replay(stack, again, false, {});
  ASSERT_TRUE(replayed.divergence);
  EXPECT_EQ(replayed.divergence.value().format(), out.divergence.value().format());
  EXPECT_EQ(replayed.events, again.events.size());
}

TEST(Difftest, EveryMutantIsCaught) {
  const std::string file = std::string(LAMINA_SOURCE_DIR) + "/tests/specs/boundaries.ioa";
  const LoadedStack ordered(file, "TightClockedFifo");
  const LoadedStack unordered(file, "TightUnreliable");
  const LoadedStack windowed(file, "TightWindowedFifo");
  const LoadedStack arq(file, "TightArqFifo");
  const LoadedStack rpc(file, "TightRpc");
  const LoadedStack lamport(file, "TightLamportLock");
  const LoadedStack ricart_agrawala(file, "TightRicartAgrawalaLock");
  Options o = quick({"static"}, 200'000);
  o.shrink = false;
  const auto results =
      run_mutants({&ordered, &unordered, &windowed, &arq, &rpc, &lamport, &ricart_agrawala}, o);
  // The ANTS node's, on its own stack: with a small cache, so that code is loaded again and
  // again, and damaged packets, which stand for forged code (ANTS has no checksum of its own).
  const LoadedStack ants(std::string(LAMINA_SOURCE_DIR) + "/stacks/ants/ants.ioa", "AntsActive",
                         {{"cache_bytes", 3000}});
  Options damaged = o;
  damaged.network.corrupt = 0.05;
  const auto ants_results = run_mutants({&ants}, damaged);
  EXPECT_EQ(results.size(), mutants().size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const bool of_ants = results[i].name.starts_with("ants_");
    const MutantResult& r = of_ants ? ants_results[i] : results[i];
    EXPECT_TRUE(r.applicable) << r.name;
    EXPECT_TRUE(r.caught) << r.name << " survived " << r.events_to_catch << " events on "
                          << r.stack;
  }
}

TEST(Difftest, DamagesPacketsOnlyForAStackThatCanTellADamagedOne) {
  EXPECT_TRUE(LoadedStack(fifo_spec, "ReliableFifo").has_integrity()); // it has Checksum
  const LoadedStack bare(std::string(LAMINA_SOURCE_DIR) + "/tests/specs/seqno.ioa", "Fifo");
  EXPECT_FALSE(bare.has_integrity());
}

TEST(Difftest, StackParametersReachEveryImplementation) {
  const LoadedStack stack(fifo_spec, "ReliableFifo", {{"mtu", 300}, {"timeout", 5'000'000}});
  EXPECT_EQ(stack.mtu(), 300u);
  EXPECT_EQ(stack.decl().stack_string,
            "Top:Frag(mtu=300):Seqno:Retransmit(timeout=5000000ns):Checksum:Bottom");
  const Outcome out = run(stack, quick({"spec", "static", "dynamic"}, 3'000));
  EXPECT_FALSE(out.divergence) << out.divergence.value().format();
}

TEST(Difftest, ImplementationsOfDifferentStacksCannotBeCompared) {
  const LoadedStack stack(fifo_spec, "Unreliable");
  EXPECT_THROW(run(stack, quick({"static", "mutant:seqno_first_is_one"}, 10)), std::runtime_error);
  EXPECT_THROW(run(stack, quick({"static", "fast"}, 10)), std::runtime_error);
  EXPECT_THROW(LoadedStack(fifo_spec, "NoSuchStack"), std::runtime_error);
  EXPECT_THROW(LoadedStack(fifo_spec, "ReliableFifo", {{"no_such_param", 1}}), std::runtime_error);
}

} // namespace
} // namespace lamina::difftest
