// The processor share of an ANTS node (services/ants/share.hpp): a type alone is never held
// back, a type under its guarantee never, a flood within its budget is held to its share while
// an honest type's capsules all run, the share refills as the window slides; against a model,
// over random traces; and in a node on SimNet, where AntsExec counts what the runner held back.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <string>
#include <vector>

#include "services/ants/lua_runner.hpp"
#include "services/ants/network.hpp"
#include "services/ants/share.hpp"

namespace lamina::ants {
namespace {

using namespace std::chrono_literals;

CodeType type_named(std::uint8_t n) {
  CodeType t{};
  t[0] = n;
  return t;
}

const CodeType kHonest = type_named(1);
const CodeType kFlood = type_named(2);

// Limits small enough to see in a test: a window of 100 ms, 1,000,000 units guaranteed a window,
// a lead of one 100,000-unit budget.
ShareLimits test_limits() {
  ShareLimits l;
  l.window = 100ms;
  l.guaranteed_per_s = 10'000'000;
  l.lead = 100'000;
  return l;
}

// Runs a capsule of `type` at `now` that would spend `units`: whether it ran.
bool offer(ProcessorShare& share, const CodeType& type, Time now, std::uint64_t units,
           bool ok = true) {
  if (!share.admit(type, now)) return false;
  share.spent(type, now, units, ok);
  return true;
}

TEST(AntsShare, ATypeAloneIsNeverHeldBack) {
  ProcessorShare share(test_limits());
  // A full budget every 10 us: a whole core of work, for 2 s.
  for (Time t{}; t < Time(2s); t += 10us) ASSERT_TRUE(offer(share, kFlood, t, 100'000)) << t;
  EXPECT_GT(share.used(kFlood), 100 * share.guaranteed());
}

TEST(AntsShare, AFloodWithinItsBudgetIsHeldToItsShareWhileTheHonestTypeAllRuns) {
  ProcessorShare share(test_limits());
  // One capsule of each every 10 us: honest code spends 40 units, the flood 70,000 (its runs
  // end well: it stays inside its budget, so the failure wait never stops it).
  std::uint64_t honest_ran = 0, honest_sent = 0, flood_ran = 0, flood_sent = 0;
  std::map<std::int64_t, std::uint64_t> flood_by_window, honest_by_window;
  for (Time t{}; t < Time(1s); t += 10us) {
    const std::int64_t w = t / 100ms;
    ++honest_sent;
    if (offer(share, kHonest, t, 40)) {
      ++honest_ran;
      honest_by_window[w] += 40;
    }
    ++flood_sent;
    if (offer(share, kFlood, t, 70'000)) {
      ++flood_ran;
      flood_by_window[w] += 70'000;
    }
  }
  EXPECT_EQ(honest_ran, honest_sent);
  EXPECT_GT(flood_ran, 0U);
  EXPECT_LT(flood_ran, flood_sent / 100);
  // In each window the flood spent no more than its guarantee or the honest type's units, and
  // a lead and a run more.
  for (const auto& [w, units] : flood_by_window)
    EXPECT_LE(units, std::max(share.guaranteed(), honest_by_window[w]) + 100'000 + 70'000)
        << "window " << w;
}

TEST(AntsShare, AnHonestTypeOverItsGuaranteeIsNeverHeldBackForAFloodThatSpendsInBursts) {
  ProcessorShare share(test_limits());
  // The honest type spends 400 units every 10 us, four times its guarantee; the flood 70,000 a
  // run. Compared by their sums in the window, the honest type came out ahead whenever a slot in
  // which the flood had run more left the window, and was held back; by their counts, never.
  std::uint64_t honest = 0, flood = 0;
  for (Time t{}; t < Time(2s); t += 10us) {
    ASSERT_TRUE(offer(share, kHonest, t, 400)) << t;
    honest += 400;
    flood += offer(share, kFlood, t, 70'000) ? 70'000 : 0;
  }
  // Equal shares, within a lead and a run.
  EXPECT_LE(flood, honest + 100'000 + 70'000);
  EXPECT_GE(flood + 100'000 + 70'000, honest);
}

TEST(AntsShare, UnderItsGuaranteeATypeIsNeverHeldBack) {
  ProcessorShare share(test_limits());
  // A type that spends 9,000 units every ms, 900,000 a window, under its guarantee of 1,000,000,
  // is not held back though it is far ahead of the other active type, which spends little.
  for (Time t{}; t < Time(1s); t += 1ms) {
    if (t % 5ms == Time{}) ASSERT_TRUE(offer(share, kHonest, t, 40));
    ASSERT_TRUE(offer(share, kFlood, t, 9'000)) << t;
  }
  EXPECT_EQ(share.competing(), 2U);
}

TEST(AntsShare, TwoBusyTypesShareEquallyAndOneAlwaysRuns) {
  ProcessorShare share(test_limits());
  std::uint64_t a = 0, b = 0;
  for (Time t{}; t < Time(1s); t += 10us) {
    const bool ran_a = offer(share, kHonest, t, 30'000);
    const bool ran_b = offer(share, kFlood, t, 50'000);
    ASSERT_TRUE(ran_a || ran_b) << t; // the processor is not left idle
    a += ran_a ? 30'000 : 0;
    b += ran_b ? 50'000 : 0;
  }
  EXPECT_NEAR(static_cast<double>(a) / static_cast<double>(b), 1.0, 0.01);
}

TEST(AntsShare, TheShareRefillsAsTheWindowSlides) {
  ProcessorShare share(test_limits());
  // The honest type sends a capsule every ms all along; the flood spends until held back.
  Time t{};
  int ran = 0;
  for (; offer(share, kFlood, t, 100'000); t += 10us) {
    offer(share, kHonest, t, 40);
    ++ran;
  }
  EXPECT_EQ(ran, 10); // its guarantee: 1,000,000 units
  const Time held_at = t;
  // Held back for the rest of the window, while the honest type keeps coming.
  for (; t < held_at + 90ms; t += 1ms) {
    offer(share, kHonest, t, 40);
    EXPECT_FALSE(share.admit(kFlood, t)) << t;
  }
  // A window after its runs, they have left it: the flood runs again.
  t = held_at + 100ms;
  offer(share, kHonest, t, 40);
  EXPECT_TRUE(share.admit(kFlood, t));
  // Once the honest type has gone quiet for a window, the flood is alone: never held back.
  const Time quiet = t + 100ms;
  for (t = quiet; t < quiet + 100ms; t += 10us) ASSERT_TRUE(offer(share, kFlood, t, 100'000));
}

TEST(AntsShare, AFailingTypeDoesNotHoldTheOthersBack) {
  ProcessorShare share(test_limits());
  // A type whose runs fail spends a budget now and then (the failure wait lets it run); the
  // busy type is not held back for it.
  for (Time t{}; t < Time(1s); t += 10us) {
    if (t % 1ms == Time{}) offer(share, kFlood, t, 100'000, false);
    ASSERT_TRUE(offer(share, kHonest, t, 40'000)) << t;
  }
  EXPECT_EQ(share.competing(), 1U);
}

TEST(AntsShare, AWindowOfZeroIsNoShare) {
  ShareLimits l = test_limits();
  l.window = Duration{};
  ProcessorShare share(l);
  for (Time t{}; t < Time(10ms); t += 1us) {
    ASSERT_TRUE(offer(share, kHonest, t, 40));
    ASSERT_TRUE(offer(share, kFlood, t, 100'000));
  }
}

// A model of the rule, by its words: every event kept, the window's sums counted afresh each time,
// the counts kept per type and the busiest found by looking at all of them.
class ShareModel {
public:
  explicit ShareModel(ShareLimits l)
      : l_(l), slot_ns_(l.window.count() / 10),
        guaranteed_(static_cast<std::uint64_t>(static_cast<double>(l.guaranteed_per_s) *
                                               std::chrono::duration<double>(l.window).count())) {}

  bool admit(std::uint8_t type, Time now) {
    const std::int64_t s = now.count() / slot_ns_;
    // A type with no capsule for a window is gone, and its count with it.
    std::erase_if(counts_, [&](const auto& c) { return s - last_[c.first] >= 10; });
    last_[type] = s;
    events_.push_back({s, type, 0, Event::admit});
    std::map<std::uint8_t, std::uint64_t> sum;
    std::map<std::uint8_t, bool> competes;
    for (const Event& e : events_) {
      if (s - e.slot >= 10) continue; // out of the window
      if (e.kind == Event::admit) competes[e.type] = true;
      if (e.kind == Event::spent) sum[e.type] += e.units;
      if (e.kind == Event::failed) {
        sum[e.type] += e.units;
        competes[e.type] = false;
      }
    }
    std::size_t competing = 0;
    std::uint64_t busiest = 0;
    for (const auto& [t, c] : competes) {
      if (!c) continue;
      ++competing;
      if (t != type) busiest = std::max(busiest, counts_[t]);
    }
    std::uint64_t& count = counts_[type];
    if (busiest > guaranteed_) count = std::max(count, busiest - guaranteed_); // no banking
    return competing < 2 || sum[type] < guaranteed_ || count < busiest + l_.lead;
  }
  void spent(std::uint8_t type, Time now, std::uint64_t units, bool ok) {
    events_.push_back({now.count() / slot_ns_, type, units, ok ? Event::spent : Event::failed});
    counts_[type] += units;
  }
  [[nodiscard]] std::uint64_t count(std::uint8_t type) const {
    const auto it = counts_.find(type);
    return it == counts_.end() ? 0 : it->second;
  }

private:
  struct Event {
    std::int64_t slot;
    std::uint8_t type;
    std::uint64_t units;
    enum Kind : std::uint8_t { admit, spent, failed } kind;
  };
  ShareLimits l_;
  std::int64_t slot_ns_;
  std::uint64_t guaranteed_;
  std::vector<Event> events_;
  std::map<std::uint8_t, std::uint64_t> counts_;
  std::map<std::uint8_t, std::int64_t> last_; // the slot of each type's last capsule
};

// Random traces of capsules of four types, with random costs, failures and gaps: the share
// decides as the model of its rule does, and keeps the same counts.
RC_GTEST_PROP(AntsShare, AgreesWithAModelOfItsRule, ()) {
  const ShareLimits l = test_limits();
  ProcessorShare share(l);
  ShareModel model(l);
  const auto steps = *rc::gen::inRange(1, 400);
  Time now{};
  int held = 0;
  for (int i = 0; i < steps; ++i) {
    now += Duration(
        *rc::gen::element<std::int64_t>(0, 1'000, 100'000, 3'000'000, 40'000'000, 150'000'000));
    const auto type = *rc::gen::inRange<std::uint8_t>(1, 5);
    const bool admitted = share.admit(type_named(type), now);
    RC_ASSERT(admitted == model.admit(type, now));
    RC_ASSERT(share.count(type_named(type)) == model.count(type));
    if (!admitted) {
      ++held;
      continue;
    }
    const auto units = *rc::gen::element<std::uint64_t>(0, 40, 5'000, 100'000, 400'000);
    const bool ok = *rc::gen::inRange(0, 8) != 0;
    share.spent(type_named(type), now, units, ok);
    model.spent(type, now, units, ok);
  }
  RC_TAG(held > 0 ? "some held back" : "none held back");
}

// ---- in a node -------------------------------------------------------------------------------

// The bench's soft-store flood (it stays inside its budget and its store quota, and never
// fails), then on toward its destination.
const char* const kFloodCode =
    "return function(c) for i = 1, 1000 do node.put(c.payload .. i, string.rep('x', 100)) end "
    "if c.dst ~= node.getAddress() then node.routeForNode(c.dst, c.header, c.payload) end end";

std::string read_app(const std::string& name) {
  const std::string path = std::string(LAMINA_SOURCE_DIR) + "/stacks/ants/apps/" + name + ".lua";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return {};
  std::string s;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  std::fclose(f);
  return s;
}

// Node 1 of the line 0 - 1 - 2, all active, with the share's test limits, runs the capsules
// that node 0 puts on the wire toward node 2; node 0 holds the code, which node 1 loads first.
struct Line {
  AntsNet net;
  explicit Line(const std::vector<const Program*>& programs)
      : net(
            [] {
              Topology t;
              t.nodes = 3;
              t.active.assign(3, true);
              t.links = {{0, 1}, {1, 2}};
              return t;
            }(),
            1, LinkConfig{},
            [] {
              Limits l;
              l.share = test_limits(); // 1,000,000 units a window: about 15 runs of the flood
              return l;
            }()) {
    for (const Program* p : programs) {
      net.install(0, *p);
      net.inject(0, 1, make_capsule(p->type, 0, 2, 8, "", "load"));
    }
    net.net().run_until(net.net().now() + 1s); // loaded, and a window gone by
  }
  // `n` capsules of each program, one of each every `gap`: how many reached node 2's
  // application, of each.
  std::map<std::string, std::size_t> send(const std::vector<const Program*>& programs, int n,
                                          Duration gap) {
    net.clear_deliveries();
    for (int i = 0; i < n; ++i) {
      net.net().run_until(net.net().now() + gap);
      for (const Program* p : programs)
        net.inject(0, 1, make_capsule(p->type, 0, 2, 8, "", p->name));
    }
    net.net().run_until(net.net().now() + 1s);
    std::map<std::string, std::size_t> got;
    for (const Delivery& d : net.deliveries()) ++got[d.payload];
    return got;
  }
  [[nodiscard]] std::uint64_t held(const Program& p) {
    const AntsExec& x = net.exec(1);
    const auto it = x.held.find(std::as_bytes(std::span(p.type)));
    return it == x.held.end() ? 0 : it->second;
  }
};

TEST(AntsShare, InANodeTheFloodIsHeldBackCountedAndTheHonestFlowAllDelivered) {
  const Program unicast = Program::of("unicast", read_app("unicast"));
  const Program flood = Program::of("flood", kFloodCode);
  ASSERT_FALSE(unicast.code.empty());
  Line line({&unicast, &flood});
  const AntsExec& x = line.net.exec(1);
  const std::uint64_t runs = x.runs;
  const std::uint64_t routed = x.routed;
  // 2,000 capsules of each, one of each every 20 us of virtual time (40 ms, within a window).
  auto got = line.send({&unicast, &flood}, 2000, 20us);
  EXPECT_EQ(got["unicast"], 2000U);
  EXPECT_EQ(line.held(unicast), 0U);
  // The flood ran its guarantee's worth: 1,000,000 units, of 62,000 or so a run; node 1 routed
  // on every capsule it ran.
  const std::uint64_t held = line.held(flood);
  EXPECT_GE(held, 2000U - 20U);
  EXPECT_LE(held, 2000U - 15U);
  EXPECT_EQ(x.routed - routed, 2000U + 2000U - held);
  // Counted as held back, each once, and nothing else.
  EXPECT_EQ(x.held_back, held);
  EXPECT_EQ(x.runs - runs, 4000U);
  EXPECT_EQ(x.errors + x.timeouts + x.memory_hits, 0U);
  EXPECT_EQ(line.net.sandbox(1).counters(code_type(std::as_bytes(std::span(flood.type)))).runs,
            1U + 2000U - held);
  // A window later its share has refilled: it runs its guarantee's worth again.
  got = line.send({&unicast, &flood}, 2000, 20us);
  EXPECT_EQ(got["unicast"], 2000U);
  EXPECT_EQ(line.held(flood) - held, held);
}

TEST(AntsShare, InANodeTheFloodAloneIsNotHeldBack) {
  const Program flood = Program::of("flood", kFloodCode);
  Line line({&flood});
  const std::uint64_t runs = line.net.exec(1).runs;
  line.send({&flood}, 500, 20us);
  EXPECT_EQ(line.net.exec(1).runs - runs, 500U);
  EXPECT_EQ(line.net.exec(1).held_back, 0U);
}

} // namespace
} // namespace lamina::ants
