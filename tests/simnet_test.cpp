// SimNet: runs are a function of the seed, and each link does what its LinkConfig says.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <span>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "runtime/simnet.hpp"
#include "tests/bare_endpoint.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;

using Wire = test::BareEndpoint;

Msg payload(std::uint64_t id) { return Msg::copy_of(std::as_bytes(std::span(&id, 1))); }

std::uint64_t id_of(const Msg& m) {
  std::uint64_t id = 0;
  EXPECT_EQ(m.size(), sizeof id);
  std::memcpy(&id, m.data(), std::min(m.size(), sizeof id));
  return id;
}

struct Delivery {
  Time at;
  PeerId node;
  PeerId from;
  std::uint64_t id;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

// A network of Wires that logs every delivery.
struct Harness {
  Harness(std::uint64_t seed, std::uint32_t n, LinkConfig link = {})
      : net(seed, n, link), wires(n) {
    for (PeerId i = 0; i < n; ++i) net.attach(i, wires[i]);
    net.on_deliver([this](PeerId node, Event& ev) {
      log.push_back({net.now(), node, ev.peer, id_of(ev.msg)});
    });
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  std::vector<std::uint64_t> ids() const {
    std::vector<std::uint64_t> out;
    for (const auto& d : log) out.push_back(d.id);
    return out;
  }

  SimNet net;
  std::vector<Wire> wires;
  std::vector<Delivery> log;
};

// What a run did: every delivery, and the counters.
struct Run {
  std::vector<Delivery> log;
  std::string counters;
  friend bool operator==(const Run&, const Run&) = default;
};

// Four nodes send 200 messages, a tenth of them casts, spread over 20 ms.
Run workload_run(std::uint64_t seed, LinkConfig link) {
  Harness h(seed, 4, link);
  for (std::uint64_t k = 0; k < 200; ++k) {
    const auto from = static_cast<PeerId>(k % 4);
    const PeerId to = k % 10 == 0 ? kAllPeers : static_cast<PeerId>((k * 7 + 1) % 4);
    h.net.at(Time(k * 100us), [&h, from, to, k] { h.net.send(from, to, payload(k)); });
  }
  h.net.run_until_idle(Time(10s));
  return {h.log, h.net.counters().summary()};
}

std::vector<Delivery> workload(std::uint64_t seed, LinkConfig link) {
  return workload_run(seed, link).log;
}

// A packet of `size` bytes (at least 8) that begins with `id`.
Msg sized(std::uint64_t id, std::size_t size) {
  Msg m = Msg::with_size(size);
  std::memcpy(m.writable_data(), &id, sizeof id);
  return m;
}

// How long `size` bytes occupy a link of `rate` bytes per second, rounded up to whole ns.
Duration serialisation(std::size_t size, std::uint64_t rate) {
  return Duration((size * 1'000'000'000 + rate - 1) / rate);
}

struct Fated {
  Time at;
  PeerId from;
  PeerId to;
  SimNet::Fate fate;
  std::uint64_t id;
  friend bool operator==(const Fated&, const Fated&) = default;
};

// A network of Wires that logs every packet's fate, for packets of any size from sized().
struct FateLog {
  FateLog(std::uint64_t seed, std::uint32_t n, LinkConfig link) : net(seed, n, link), wires(n) {
    for (PeerId i = 0; i < n; ++i) net.attach(i, wires[i]);
    net.on_packet([this](const SimNet::PacketRecord& r) {
      std::uint64_t id = 0;
      std::memcpy(&id, r.bytes.data(), std::min(r.bytes.size(), sizeof id));
      log.push_back({r.time, r.from, r.to, r.fate, id});
    });
  }
  FateLog(const FateLog&) = delete;
  FateLog& operator=(const FateLog&) = delete;

  std::vector<Fated> with(SimNet::Fate fate) const {
    std::vector<Fated> out;
    std::ranges::copy_if(log, std::back_inserter(out), [&](auto& f) { return f.fate == fate; });
    return out;
  }

  SimNet net;
  std::vector<Wire> wires;
  std::vector<Fated> log;
};

RC_GTEST_PROP(SimNet, SameSeedGivesSameDeliveries, (std::uint64_t seed)) {
  const LinkConfig link{
      .delay = Duration(*rc::gen::inRange(0, 5'000'000)),
      .jitter = Duration(*rc::gen::inRange(0, 5'000'000)),
      .loss = *rc::gen::inRange(0, 50) / 100.0,
      .duplicate = *rc::gen::inRange(0, 50) / 100.0,
  };
  RC_ASSERT(workload(seed, link) == workload(seed, link));
}

RC_GTEST_PROP(SimNet, SameSeedGivesSameRunOnRatedLinks, (std::uint64_t seed)) {
  const LinkConfig link{
      .delay = Duration(*rc::gen::inRange(0, 5'000'000)),
      .jitter = Duration(*rc::gen::inRange(0, 5'000'000)),
      .loss = *rc::gen::inRange(0, 50) / 100.0,
      .duplicate = *rc::gen::inRange(0, 50) / 100.0,
      .rate = *rc::gen::inRange<std::uint64_t>(100, 100'000), // 8 bytes: 80 ms to 80 us
      .queue = *rc::gen::inRange<std::uint32_t>(0, 8),
  };
  const Run a = workload_run(seed, link);
  RC_CLASSIFY(a.counters.find("overflowed") != std::string::npos, "some overflowed");
  RC_ASSERT(a == workload_run(seed, link));
}

// A rate of 0 is the link as it was before rates: the queue is ignored and the random stream
// is drawn as before, so existing seeds give the same runs.
RC_GTEST_PROP(SimNet, LinkWithoutRateIgnoresQueue, (std::uint64_t seed, std::uint32_t queue)) {
  const LinkConfig plain{
      .delay = Duration(*rc::gen::inRange(0, 5'000'000)),
      .jitter = Duration(*rc::gen::inRange(0, 5'000'000)),
      .loss = *rc::gen::inRange(0, 50) / 100.0,
      .duplicate = *rc::gen::inRange(0, 50) / 100.0,
  };
  LinkConfig with_queue = plain;
  with_queue.queue = queue;
  RC_ASSERT(workload_run(seed, plain) == workload_run(seed, with_queue));
}

TEST(SimNet, DifferentSeedsGiveDifferentDeliveries) {
  const LinkConfig link{.delay = 1ms, .jitter = 1ms, .loss = 0.1, .duplicate = 0.1};
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    EXPECT_NE(workload(seed, link), workload(seed + 1, link))
        << "seeds " << seed << ", " << seed + 1;
  }
}

RC_GTEST_PROP(SimNet, NoLossDeliversEverythingExactlyOnce,
              (std::uint64_t seed, const std::vector<std::uint32_t>& destinations)) {
  const auto n = *rc::gen::inRange<std::uint32_t>(2, 7);
  Harness h(seed, n, {.delay = 1ms, .jitter = Duration(*rc::gen::inRange(0, 3'000'000))});
  std::vector<Delivery> expected;
  for (std::uint64_t k = 0; k < destinations.size(); ++k) {
    const auto from = static_cast<PeerId>(k % n);
    // A destination of n stands for a cast.
    const auto to = destinations[k] % (n + 1) == n ? kAllPeers : destinations[k] % (n + 1);
    h.net.send(from, to, payload(k));
    for (PeerId p = 0; p < n; ++p)
      if (p == to || (to == kAllPeers && p != from)) expected.push_back({{}, p, from, k});
  }
  h.net.run_until_idle(Time(1s));
  for (auto& d : h.log) d.at = {};
  auto key = [](const Delivery& d) { return std::tie(d.node, d.from, d.id); };
  std::ranges::sort(h.log, {}, key);
  std::ranges::sort(expected, {}, key);
  RC_ASSERT(h.log == expected);
  RC_ASSERT(h.net.counters().dropped() == 0u);
}

RC_GTEST_PROP(SimNet, MeasuredLossIsNearTheLossProbability, (std::uint64_t seed)) {
  const double p = *rc::gen::inRange(0, 101) / 100.0;
  Harness h(seed, 2, {.delay = 1ms, .loss = p});
  constexpr int kPackets = 4000;
  for (int k = 0; k < kPackets; ++k) h.net.send(0, 1, payload(k));
  h.net.run_until_idle(Time(1s));
  const auto& c = h.net.counters();
  RC_ASSERT(c.sent == std::uint64_t{kPackets});
  RC_ASSERT(c.delivered + c.lost == c.sent);
  // Six standard deviations at worst (p = 0.5): a false alarm once in a billion runs.
  RC_ASSERT(std::abs(static_cast<double>(c.lost) / kPackets - p) < 0.05);
}

RC_GTEST_PROP(SimNet, EveryPacketIsAccountedForOnceIdle, (std::uint64_t seed)) {
  Harness h(seed, 3,
            {.delay = 1ms,
             .jitter = Duration(*rc::gen::inRange(0, 3'000'000)),
             .loss = *rc::gen::inRange(0, 100) / 100.0,
             .duplicate = *rc::gen::inRange(0, 100) / 100.0});
  const auto cut = Time(std::chrono::microseconds(*rc::gen::inRange(0, 4000)));
  h.net.at(cut, [&] { h.net.partition(0, 1); });
  for (std::uint64_t k = 0; k < 100; ++k) {
    const PeerId to = k % 5 == 0 ? kAllPeers : static_cast<PeerId>(k % 4); // 3: bad destination
    h.net.at(Time(k * 40us),
             [&h, k, to] { h.net.send(static_cast<PeerId>(k % 3), to, payload(k)); });
  }
  RC_ASSERT(h.net.run_until_idle(Time(1s)));
  const auto& c = h.net.counters();
  RC_ASSERT(c.sent + c.duplicated == c.delivered + c.lost + c.partitioned + c.unattached);
  RC_ASSERT(c.delivered == h.log.size());
  RC_ASSERT(c.bad_destination > 0u);
}

TEST(SimNet, DuplicationDeliversSomePacketsTwice) {
  Harness h(7, 2, {.delay = 1ms, .jitter = 1ms, .duplicate = 0.3});
  constexpr int kPackets = 2000;
  for (int k = 0; k < kPackets; ++k) h.net.send(0, 1, payload(k));
  h.net.run_until_idle(Time(1s));
  std::map<std::uint64_t, int> copies;
  for (auto id : h.ids()) ++copies[id];
  const auto twice = std::ranges::count_if(copies, [](auto& kv) { return kv.second == 2; });
  EXPECT_EQ(copies.size(), std::size_t{kPackets});
  EXPECT_TRUE(std::ranges::all_of(copies, [](auto& kv) { return kv.second <= 2; }));
  EXPECT_EQ(static_cast<std::uint64_t>(twice), h.net.counters().duplicated);
  EXPECT_NEAR(static_cast<double>(twice) / kPackets, 0.3, 0.05);
}

TEST(SimNet, JitterReordersPackets) {
  Harness h(3, 2, {.delay = 1ms, .jitter = 5ms});
  for (int k = 0; k < 100; ++k) h.net.at(Time(k * 10us), [&h, k] { h.net.send(0, 1, payload(k)); });
  h.net.run_until_idle(Time(1s));
  ASSERT_EQ(h.log.size(), 100u);
  EXPECT_FALSE(std::ranges::is_sorted(h.ids()));
}

TEST(SimNet, LinkWithoutJitterKeepsFifoOrder) {
  Harness h(3, 2, {.delay = 1ms});
  for (int k = 0; k < 100; ++k) h.net.send(0, 1, payload(k));
  h.net.run_until_idle(Time(1s));
  ASSERT_EQ(h.log.size(), 100u);
  EXPECT_TRUE(std::ranges::is_sorted(h.ids()));
}

RC_GTEST_PROP(SimNet, DelayIsBaseDelayPlusAtMostJitter, (std::uint64_t seed)) {
  const Duration delay(*rc::gen::inRange(0, 10'000'000));
  const Duration jitter(*rc::gen::inRange(0, 10'000'000));
  Harness h(seed, 2, {.delay = delay, .jitter = jitter});
  for (int k = 0; k < 50; ++k) h.net.send(0, 1, payload(k));
  h.net.run_until_idle(Time(1s));
  RC_ASSERT(h.log.size() == 50u);
  for (const auto& d : h.log) RC_ASSERT(d.at >= delay && d.at <= delay + jitter);
}

TEST(SimNet, LinkOverrideAppliesToOneDirectionOnly) {
  Harness h(1, 2, {.delay = 1ms});
  h.net.set_link(0, 1, {.delay = 1ms, .loss = 1.0});
  h.net.set_link(1, 0, {.delay = 7ms});
  h.net.send(0, 1, payload(1));
  h.net.send(1, 0, payload(2));
  h.net.run_until_idle(Time(1s));
  EXPECT_EQ(h.log, (std::vector<Delivery>{{Time(7ms), 0, 1, 2}}));
  EXPECT_EQ(h.net.counters().lost, 1u);
}

// A record of an arrival says when the packet was sent, so that a diagram can draw its arrow.
TEST(SimNet, APacketRecordSaysWhenThePacketWasSent) {
  Harness h(1, 2, {.delay = 3ms});
  std::vector<std::pair<Time, Time>> sent_and_decided;
  h.net.on_packet(
      [&](const SimNet::PacketRecord& r) { sent_and_decided.emplace_back(r.sent, r.time); });
  h.net.at(Time(2ms), [&] { h.net.send(0, 1, payload(1)); });
  h.net.run_until_idle(Time(1s));
  EXPECT_EQ(sent_and_decided, (std::vector<std::pair<Time, Time>>{{Time(2ms), Time(5ms)}}));
}

TEST(SimNet, PartitionDropsBothDirectionsAndHealRestores) {
  Harness h(1, 3, {.delay = 1ms});
  std::vector<SimNet::Fate> fates;
  h.net.on_packet([&](const SimNet::PacketRecord& r) { fates.push_back(r.fate); });
  h.net.partition(0, 1);
  h.net.send(0, 1, payload(1));
  h.net.send(1, 0, payload(2));
  h.net.send(0, 2, payload(3));
  h.net.run_until_idle(Time(1s));
  EXPECT_EQ(h.ids(), std::vector<std::uint64_t>{3});
  EXPECT_EQ(h.net.counters().partitioned, 2u);
  EXPECT_EQ(fates, (std::vector{SimNet::Fate::Partitioned, SimNet::Fate::Partitioned,
                                SimNet::Fate::Delivered}));

  h.net.heal(0, 1);
  h.net.send(0, 1, payload(4));
  h.net.send(1, 0, payload(5));
  h.net.run_until_idle(Time(2s));
  EXPECT_EQ(h.ids(), (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST(SimNet, PartitionDropsPacketsAlreadyInFlight) {
  Harness h(1, 2, {.delay = 10ms});
  h.net.send(0, 1, payload(1));
  h.net.at(Time(5ms), [&] { h.net.partition(0, 1); });
  h.net.run_until_idle(Time(1s));
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(h.net.counters().partitioned, 1u);
}

TEST(SimNet, RatedLinkPassesQueuePlusOneOfABurstAtItsRate) {
  // 1000 bytes at 3 MB/s: 333,333.3 ns on the link, rounded up to 333,334.
  FateLog h(1, 2, {.delay = 2ms, .rate = 3'000'000, .queue = 3});
  for (std::uint64_t k = 0; k < 10; ++k) h.net.send(0, 1, sized(k, 1000));
  ASSERT_TRUE(h.net.run_until_idle(Time(1s)));
  std::vector<Fated> delivered, overflowed;
  for (std::uint64_t k = 0; k < 4; ++k) { // one serialised, three waiting
    delivered.push_back({(k + 1) * 333'334ns + 2ms, 0, 1, SimNet::Fate::Delivered, k});
  }
  for (std::uint64_t k = 4; k < 10; ++k)
    overflowed.push_back({{}, 0, 1, SimNet::Fate::Overflowed, k});
  EXPECT_EQ(h.with(SimNet::Fate::Delivered), delivered);
  EXPECT_EQ(h.with(SimNet::Fate::Overflowed), overflowed);
  const auto& c = h.net.counters();
  EXPECT_EQ(c.overflowed, 6u);
  EXPECT_EQ(c.dropped(), 6u);
  EXPECT_EQ(c.summary(), "sent 10, delivered 4; dropped: 6 overflowed; 0 duplicated; 0 timers");
}

TEST(SimNet, RatedLinkTakesAPacketTheMomentASerialisationEnds) {
  // 1000 bytes at 1 MB/s: 1 ms on the link; with queue 0 it holds one packet at a time.
  FateLog h(1, 2, {.delay = 1ms, .rate = 1'000'000});
  h.net.send(0, 1, sized(0, 1000));
  h.net.at(Time(1ms) - 1ns, [&] { h.net.send(0, 1, sized(1, 1000)); }); // still busy
  h.net.at(Time(1ms), [&] { h.net.send(0, 1, sized(2, 1000)); });       // packet 0 has left
  h.net.at(Time(5ms), [&] { h.net.send(0, 1, sized(3, 500)); });        // idle again
  ASSERT_TRUE(h.net.run_until_idle(Time(1s)));
  using enum SimNet::Fate;
  EXPECT_EQ(h.log, (std::vector<Fated>{{Time(1ms) - 1ns, 0, 1, Overflowed, 1},
                                       {Time(2ms), 0, 1, Delivered, 0},
                                       {Time(3ms), 0, 1, Delivered, 2},
                                       {Time(6500us), 0, 1, Delivered, 3}}));
}

TEST(SimNet, LostPacketUsesTheLinkButDuplicateCopyDoesNot) {
  // Loss is on the wire, after the queue: the lost packet held the link, so the next overflowed.
  FateLog lossy(1, 2, {.delay = 1ms, .loss = 1.0, .rate = 1'000'000});
  lossy.net.send(0, 1, sized(0, 1000));
  lossy.net.send(0, 1, sized(1, 1000));
  ASSERT_TRUE(lossy.net.run_until_idle(Time(1s)));
  EXPECT_EQ(lossy.net.counters().lost, 1u);
  EXPECT_EQ(lossy.net.counters().overflowed, 1u);

  // The copy leaves with its original and takes no place on the link: the second packet of the
  // burst still finds room to wait, and the third finds room once the first has left.
  FateLog twice(1, 2, {.delay = 1ms, .duplicate = 1.0, .rate = 1'000'000, .queue = 1});
  twice.net.send(0, 1, sized(0, 1000));
  twice.net.send(0, 1, sized(1, 1000));
  twice.net.at(Time(1ms), [&] { twice.net.send(0, 1, sized(2, 1000)); });
  ASSERT_TRUE(twice.net.run_until_idle(Time(1s)));
  using enum SimNet::Fate;
  EXPECT_EQ(twice.log, (std::vector<Fated>{{Time(2ms), 0, 1, Delivered, 0},
                                           {Time(2ms), 0, 1, Delivered, 0},
                                           {Time(3ms), 0, 1, Delivered, 1},
                                           {Time(3ms), 0, 1, Delivered, 1},
                                           {Time(4ms), 0, 1, Delivered, 2},
                                           {Time(4ms), 0, 1, Delivered, 2}}));
  EXPECT_EQ(twice.net.counters().duplicated, 3u);
  EXPECT_EQ(twice.net.counters().overflowed, 0u);
}

TEST(SimNet, PartitionDropsPacketsStillQueued) {
  // 1 ms each on the link and 1 ms of delay: a burst of three would arrive at 2, 3 and 4 ms.
  FateLog h(1, 2, {.delay = 1ms, .rate = 1'000'000, .queue = 2});
  for (std::uint64_t k = 0; k < 3; ++k) h.net.send(0, 1, sized(k, 1000));
  h.net.at(Time(500us), [&] { h.net.partition(0, 1); });            // one serialised, two waiting
  h.net.at(Time(600us), [&] { h.net.send(0, 1, sized(3, 1000)); }); // dropped, takes no slot
  h.net.at(Time(10ms), [&] {
    h.net.heal(0, 1);
    h.net.send(0, 1, sized(4, 1000));
  });
  ASSERT_TRUE(h.net.run_until_idle(Time(1s)));
  using enum SimNet::Fate;
  EXPECT_EQ(h.log, (std::vector<Fated>{{Time(600us), 0, 1, Partitioned, 3},
                                       {Time(2ms), 0, 1, Partitioned, 0},
                                       {Time(3ms), 0, 1, Partitioned, 1},
                                       {Time(4ms), 0, 1, Partitioned, 2},
                                       {Time(12ms), 0, 1, Delivered, 4}}));
  EXPECT_EQ(h.net.counters().partitioned, 4u);
  EXPECT_EQ(h.net.counters().overflowed, 0u);
}

RC_GTEST_PROP(SimNet, RatedLinkHoldsAtMostQueuePlusOneAndLosesNothingUnaccounted,
              (std::uint64_t seed)) {
  const LinkConfig link{
      .delay = Duration(*rc::gen::inRange(0, 5'000'000)),
      .loss = *rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(1, 50)) / 100.0,
      .duplicate = *rc::gen::inRange(0, 50) / 100.0,
      .rate = *rc::gen::inRange<std::uint64_t>(10'000, 2'000'000),
      .queue = *rc::gen::inRange<std::uint32_t>(0, 10),
  };
  // Three nodes; nodes 0 and 2 are cut apart at `cut`, or never.
  const bool cuts = *rc::gen::arbitrary<bool>();
  const Time cut(*rc::gen::inRange(0, 20'000'000));
  struct Sent {
    Time at;
    PeerId from;
    PeerId to;
    std::size_t size;
  };
  auto sends = *rc::gen::container<std::vector<Sent>>(rc::gen::construct<Sent>(
      rc::gen::map(rc::gen::inRange(0, 20'000'000), [](int ns) { return Time(ns); }),
      rc::gen::inRange<PeerId>(0, 3), rc::gen::inRange<PeerId>(1, 3),
      rc::gen::inRange<std::size_t>(8, 1500)));
  // Sorted by time, a packet's id is its place in the order the network sees the sends.
  std::ranges::sort(sends, {}, &Sent::at);
  for (auto& s : sends) s.to = (s.from + s.to) % 3; // never to itself

  FateLog h(seed, 3, link);
  if (cuts) h.net.at(cut, [&] { h.net.partition(0, 2); });
  for (std::uint64_t k = 0; k < sends.size(); ++k) {
    h.net.at(sends[k].at, [&h, &s = sends[k], k] { h.net.send(s.from, s.to, sized(k, s.size)); });
  }
  RC_ASSERT(h.net.run_until_idle(Time(60s)));

  const auto& c = h.net.counters();
  RC_ASSERT(c.sent == sends.size());
  RC_ASSERT(c.sent + c.duplicated == c.delivered + c.lost + c.overflowed + c.partitioned);
  RC_ASSERT(c.sent + c.duplicated == c.delivered + c.dropped());
  RC_CLASSIFY(c.overflowed > 0, "some overflowed");

  // Without jitter a packet leaves the link `delay` before it arrives.
  std::map<std::uint64_t, Time> departed; // by id; a copy arrives with its original
  for (const auto& f : h.with(SimNet::Fate::Delivered)) departed.emplace(f.id, f.at - link.delay);
  // How many delivered packets sent before packet k are still on its link at `t`.
  auto held = [&](std::uint64_t k, Time t) {
    return std::ranges::count_if(departed, [&](auto& kv) {
      const Sent& s = sends[kv.first];
      return kv.first < k && s.from == sends[k].from && s.to == sends[k].to && kv.second > t;
    });
  };
  std::map<std::pair<PeerId, PeerId>, Time> last; // the latest departure on each link so far
  for (const auto& [k, left] : departed) {
    const Sent& s = sends[k];
    const Duration on_link = serialisation(s.size, link.rate);
    RC_ASSERT(left >= s.at + on_link);
    // FIFO, and one packet at a time: after the one before it has left, its whole length.
    auto [prev, first] = last.try_emplace({s.from, s.to}, left);
    if (!first) {
      RC_ASSERT(left >= prev->second + on_link);
      prev->second = left;
    }
    const auto occupancy = held(k, s.at) + 1; // with itself
    RC_ASSERT(occupancy <= std::int64_t{link.queue} + 1);
  }
  // Tail drop and nothing more: an overflowed packet found the link full. Checkable only where
  // every packet that held the link is seen to arrive: no loss, no cut.
  for (const auto& f : h.with(SimNet::Fate::Overflowed)) {
    const bool on_cut_link = std::min(f.from, f.to) == 0 && std::max(f.from, f.to) == 2;
    const bool all_seen = link.loss == 0 && !(cuts && on_cut_link);
    if (all_seen) RC_ASSERT(held(f.id, f.at) == std::int64_t{link.queue} + 1);
  }
}

TEST(SimNet, PartitionGroupsCutsOnlyBetweenGroups) {
  Harness h(1, 5, {.delay = 1ms});
  h.net.partition_groups({{0, 1}, {2, 3}});
  EXPECT_FALSE(h.net.partitioned(0, 1));
  EXPECT_FALSE(h.net.partitioned(2, 3));
  EXPECT_TRUE(h.net.partitioned(0, 2));
  EXPECT_TRUE(h.net.partitioned(3, 1));
  for (PeerId p = 0; p < 4; ++p) EXPECT_FALSE(h.net.partitioned(4, p)) << "node 4 is in no group";
  h.net.heal_all();
  EXPECT_FALSE(h.net.partitioned(0, 2));
}

TEST(SimNet, CastReachesEveryOtherNodeOnce) {
  Harness h(1, 5, {.delay = 1ms, .jitter = 1ms});
  h.net.send(2, kAllPeers, payload(9));
  h.net.run_until_idle(Time(1s));
  std::vector<PeerId> reached;
  for (const auto& d : h.log) {
    EXPECT_EQ(d.from, 2u);
    EXPECT_EQ(d.id, 9u);
    reached.push_back(d.node);
  }
  std::ranges::sort(reached);
  EXPECT_EQ(reached, (std::vector<PeerId>{0, 1, 3, 4}));
  EXPECT_EQ(h.net.counters().sent, 4u);
}

RC_GTEST_PROP(SimNet, TimersFireAtTheirTimesInTimeThenSetOrder,
              (const std::vector<std::uint16_t>& micros)) {
  Harness h(1, 1);
  std::vector<std::pair<std::uint32_t, Time>> expected;
  for (std::uint32_t i = 0; i < micros.size(); ++i) {
    h.wires[0].host->set_timer(Time(std::chrono::microseconds(micros[i])), i);
    expected.emplace_back(i, std::chrono::microseconds(micros[i]));
  }
  // Ordered by time, equal times in the order they were set: a sort on (time, index).
  std::ranges::sort(expected, [](auto& a, auto& b) {
    return std::tie(a.second, a.first) < std::tie(b.second, b.first);
  });
  h.net.run_until_idle(Time(1s));
  RC_ASSERT(h.wires[0].expired == expected);
  RC_ASSERT(h.net.counters().timers_fired == micros.size());
}

TEST(SimNet, TimerSetInThePastFiresNow) {
  Harness h(1, 1);
  h.net.run_until(Time(40ms));
  h.wires[0].host->set_timer(Time(5ms), 9);
  h.net.run_until_idle(Time(1s));
  EXPECT_EQ(h.wires[0].expired, (std::vector<std::pair<std::uint32_t, Time>>{{9, Time(40ms)}}));
}

TEST(SimNet, RearmedTimerFiresPeriodically) {
  Harness h(1, 1);
  Wire& w = h.wires[0];
  w.on_expire = [&](std::uint32_t t) {
    if (w.expired.size() < 5) w.host->set_timer(w.host->now() + 10ms, t);
  };
  w.host->set_timer(Time(10ms), 0);
  h.net.run_until_idle(Time(1s));
  std::vector<Time> times;
  for (const auto& e : w.expired) times.push_back(e.second);
  EXPECT_EQ(times, (std::vector<Time>{10ms, 20ms, 30ms, 40ms, 50ms}));
}

TEST(SimNet, RunUntilStopsAtTheLimitAndAdvancesTheClock) {
  Harness h(1, 2, {.delay = 10ms});
  h.net.at(Time(5ms), [&] { h.net.send(0, 1, payload(1)); });
  h.net.run_until(Time(10ms));
  EXPECT_EQ(h.net.now(), Time(10ms));
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(h.net.pending(), 1u);
  EXPECT_FALSE(h.net.run_until_idle(Time(14ms)));
  EXPECT_EQ(h.net.now(), Time(14ms));
  EXPECT_TRUE(h.net.run_until_idle(Time(1s)));
  EXPECT_EQ(h.log, (std::vector<Delivery>{{Time(15ms), 1, 0, 1}}));
  EXPECT_FALSE(h.net.step());
}

TEST(SimNet, BadDestinationIsCountedNotDelivered) {
  Harness h(1, 3);
  std::vector<SimNet::Fate> fates;
  h.net.on_packet([&](const SimNet::PacketRecord& r) { fates.push_back(r.fate); });
  h.net.send(0, 7, payload(1));
  h.net.run_until_idle(Time(1s));
  EXPECT_TRUE(h.log.empty());
  EXPECT_EQ(h.net.counters().bad_destination, 1u);
  EXPECT_EQ(h.net.counters().sent, 0u);
  EXPECT_EQ(fates, std::vector{SimNet::Fate::BadDestination});
}

TEST(SimNet, PacketToNodeWithoutEndpointIsCounted) {
  SimNet net(1, 2);
  Wire w;
  net.attach(0, w);
  net.send(0, 1, payload(1));
  net.run_until_idle(Time(1s));
  EXPECT_EQ(net.counters().unattached, 1u);
  EXPECT_EQ(net.counters().delivered, 0u);
}

TEST(SimNet, CountersSummaryNamesEachDropReason) {
  const SimNet::Counters c{.sent = 40, .delivered = 25, .lost = 12, .partitioned = 3};
  EXPECT_EQ(c.summary(), "sent 40, delivered 25; dropped: 12 lost, 3 partitioned; 0 duplicated; "
                         "0 timers");
  EXPECT_EQ(SimNet::Counters{}.summary(),
            "sent 0, delivered 0; dropped: none; 0 duplicated; 0 timers");
  const SimNet::Counters full{
      .sent = 9, .delivered = 1, .lost = 2, .overflowed = 3, .duplicated = 1, .partitioned = 4};
  EXPECT_EQ(full.summary(), "sent 9, delivered 1; dropped: 2 lost, 3 overflowed, 4 partitioned; "
                            "1 duplicated; 0 timers");
  EXPECT_EQ(full.dropped(), 9u);
}

TEST(SimNet, ConfigurationErrorsSayWhatIsWrong) {
  EXPECT_THROW(SimNet(1, 0), std::invalid_argument);
  EXPECT_THROW(SimNet(1, 2, {.loss = 1.5}), std::invalid_argument);
  SimNet net(1, 3);
  try {
    Wire w;
    net.attach(9, w);
    FAIL() << "attach to a node that does not exist must throw";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "SimNet::attach: node 9 does not exist; this network has nodes 0 .. 2");
  }
  EXPECT_THROW(net.send(1, 0, payload(1)), std::logic_error) << "node 1 has no endpoint";
}

} // namespace
} // namespace lamina
