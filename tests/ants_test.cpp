// The ANTS node (components/ants_*.hpp, services/ants/): the capsule format, code loaded on
// demand hop by hop and cached, passive nodes, the attacks the code path must contain, and
// multicast over a tree of active and passive nodes, on SimNet with Lua capsule code.
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <set>
#include <sstream>

#include "services/ants/network.hpp"

namespace lamina::ants {
namespace {

using namespace std::chrono_literals;

std::string app(const std::string& name) {
  std::ifstream in(std::string(LAMINA_SOURCE_DIR) + "/stacks/ants/apps/" + name + ".lua");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A line of `n` nodes, 0 - 1 - ... - n-1; the listed ones passive.
Topology line(std::uint32_t n, std::vector<PeerId> passive = {}) {
  Topology t;
  t.nodes = n;
  t.active.assign(n, true);
  for (PeerId i = 1; i < n; ++i) t.links.emplace_back(i - 1, i);
  for (const PeerId p : passive) t.active[p] = false;
  return t;
}

LinkConfig ms_links() {
  LinkConfig l;
  l.delay = 1ms;
  return l;
}

std::uint32_t delivered_at(const AntsNet& net, PeerId node) {
  std::uint32_t n = 0;
  for (const Delivery& d : net.deliveries()) n += d.node == node ? 1 : 0;
  return n;
}

CapsuleHeader header_of(const Msg& m) {
  CapsuleHeader h{};
  EXPECT_TRUE(m.peek(h));
  return h;
}

TEST(CapsuleFormat, TheHeaderIsLaidOutAsDocumented) {
  EXPECT_EQ(sizeof(CapsuleHeader), 56U);
  EXPECT_EQ(offsetof(CapsuleHeader, ttl), 2U);
  EXPECT_EQ(offsetof(CapsuleHeader, app_len), 4U);
  EXPECT_EQ(offsetof(CapsuleHeader, chunk), 6U);
  EXPECT_EQ(offsetof(CapsuleHeader, type), 8U);
  EXPECT_EQ(offsetof(CapsuleHeader, src), 40U);
  EXPECT_EQ(offsetof(CapsuleHeader, dst), 44U);
  EXPECT_EQ(offsetof(CapsuleHeader, prev), 48U);
  EXPECT_EQ(offsetof(CapsuleHeader, total), 52U);
}

RC_GTEST_PROP(CapsuleFormat, WhatTheApplicationMakesIsWellFormedAndABrokenFieldIsNot,
              (std::uint8_t ttl, std::string header, std::string payload, std::uint8_t field,
               std::uint8_t value)) {
  RC_PRE(header.size() <= 1000);
  const Program p = Program::of("x", "return function(c) end");
  Msg m = make_capsule(p.type, 1, 2, ttl, header, payload);
  CapsuleHeader h = header_of(m);
  RC_ASSERT(well_formed(h, m.size()));
  RC_ASSERT(h.app_len == header.size());
  // Break one field: every break of these makes the packet malformed.
  switch (field % 4) {
  case 0:
    h.version = value == CapsuleHeader::kVersion ? 0 : value;
    break;
  case 1:
    h.flags = value == 0 ? 1 : value;
    break;
  case 2:
    h.kind = static_cast<CapsuleHeader::Kind>(4 + value % 252);
    break;
  default:
    h.app_len = static_cast<std::uint16_t>(header.size() + payload.size() + 1 + value);
  }
  RC_ASSERT(!well_formed(h, m.size()));
}

TEST(AntsNet, CodeIsLoadedHopByHopThenCached) {
  AntsNet net(line(4), 1, ms_links());
  const Program uni = Program::of("unicast", app("unicast"));
  net.install(0, uni);
  net.send(0, uni, 3, "h", "first");
  net.net().run_until(Time(1s));
  EXPECT_EQ(delivered_at(net, 3), 1U);
  for (PeerId n = 1; n < 4; ++n) {
    EXPECT_EQ(net.code(n).loaded, 1U) << "node " << n;
    EXPECT_EQ(net.code(n).misses, 1U) << "node " << n;
  }
  // Each node asked the one before it: the capsule's prev.
  EXPECT_EQ(net.code(0).answered, 1U);
  EXPECT_EQ(net.code(2).answered, 1U);
  EXPECT_EQ(net.code(3).answered, 0U);
  const auto code_packets = net.kind_packets()[1] + net.kind_packets()[2];
  net.send(0, uni, 3, "h", "second");
  net.net().run_until(Time(2s));
  EXPECT_EQ(delivered_at(net, 3), 2U);
  EXPECT_EQ(net.kind_packets()[1] + net.kind_packets()[2], code_packets) << "the code was cached";
  EXPECT_EQ(net.code(2).hits, 1U);
}

TEST(AntsNet, PassiveNodesForwardAndTheCodeComesFromTheLastActiveNode) {
  AntsNet net(line(5, {1, 2, 3}), 1, ms_links());
  const Program uni = Program::of("unicast", app("unicast"));
  net.install(0, uni);
  net.send(0, uni, 4, "", "over passive nodes");
  net.net().run_until(Time(1s));
  EXPECT_EQ(delivered_at(net, 4), 1U);
  EXPECT_EQ(net.code(4).loaded, 1U);
  EXPECT_EQ(net.code(0).answered, 1U) << "node 4 asked node 0, three passive hops away";
  for (PeerId n = 1; n <= 3; ++n) EXPECT_GE(net.route(n).forwarded, 3U) << "node " << n;
}

TEST(AntsNet, ACapsuleWhoseCodeWasNeverDistributedIsDroppedAndTheFlowGoesOn) {
  AntsNet net(line(3), 1, ms_links());
  const Program uni = Program::of("unicast", app("unicast"));
  const Program ghost = Program::of("ghost", "return function(c) node.deliverToApp('', 'boo') end");
  net.install(0, uni);
  // A capsule of code no node has, claiming to come from node 0.
  net.inject(0, 1, make_capsule(ghost.type, 0, 2, 8, "", "x"));
  net.send(0, uni, 2, "", "honest");
  net.net().run_until(Time(1s));
  EXPECT_EQ(net.code(1).dropped_no_code, 1U) << "node 0 said it does not have the code";
  EXPECT_EQ(net.code(0).answered_unknown, 1U);
  EXPECT_EQ(delivered_at(net, 2), 1U);
}

TEST(AntsNet, CodeThatDoesNotHashToItsTypeIsNotCached) {
  AntsNet net(line(3), 1, ms_links());
  const Program uni = Program::of("unicast", app("unicast"));
  const Program evil = Program::of("evil", "return function(c) node.deliverToApp('', 'pwned') end");
  net.install(0, uni);
  // A capsule of `uni` arrives at node 1 from node 0; before node 0's answer, a chunk of other
  // code comes "from node 0" for that type.
  net.inject(0, 1, make_capsule(uni.type, 0, 2, 8, "", "x"));
  Msg chunk = Msg::copy_of(std::as_bytes(std::span(evil.code)));
  CapsuleHeader h{};
  h.version = CapsuleHeader::kVersion;
  h.kind = CapsuleHeader::Kind::chunk;
  h.ttl = 8;
  h.type = uni.type;
  h.src = h.prev = 0;
  h.dst = 1;
  h.total = static_cast<std::uint32_t>(evil.code.size());
  chunk.push(h);
  net.inject(0, 1, std::move(chunk));
  EXPECT_EQ(net.code(1).dropped_bad_code, 1U);
  EXPECT_EQ(net.code(1).cache.size(), 0U);
  net.net().run_until(Time(1s));
  // The genuine code, asked for again, came later; the held capsule was dropped with the bad
  // code, and the next capsule runs from the cache.
  net.send(0, uni, 2, "", "honest");
  net.net().run_until(Time(2s));
  EXPECT_EQ(delivered_at(net, 2), 1U);
  for (const Delivery& d : net.deliveries()) EXPECT_NE(d.payload, "pwned");
}

TEST(AntsNet, ARoutingLoopEndsWithTheTtl) {
  AntsNet net(line(3), 1, ms_links());
  // Code that sends every capsule back where it came from: 0 and 1 bounce it until its TTL is
  // spent.
  const Program pingpong = Program::of(
      "pingpong", "return function(c) node.routeForNode(node.getChannel() == node.getAddress() "
                  "and 1 or node.getChannel(), c.header, c.payload) end");
  net.install(0, pingpong);
  net.send(0, pingpong, 1, "", "", 10);
  net.net().run_until(Time(2s));
  EXPECT_EQ(net.kind_packets()[0], 10U) << "one capsule a hop, until its TTL of 10 was spent";
  EXPECT_EQ(net.net().pending(), 0U);
}

TEST(AntsNet, MalformedAndOversizedPacketsAreDroppedAndCounted) {
  AntsNet net(line(2), 1, ms_links());
  net.inject(0, 1, Msg::copy_of(std::as_bytes(std::span("short", 5))));
  Msg bad = make_capsule(Program::of("x", "").type, 0, 1, 4, "", "");
  bad.writable_data()[0] = std::byte{9}; // version 9
  net.inject(0, 1, std::move(bad));
  EXPECT_EQ(net.route(1).dropped_malformed, 2U);
  net.inject(0, 1, Msg::with_size(70000));
  EXPECT_EQ(net.route(1).dropped_malformed, 2U) << "Bottom refuses it first";
}

TEST(AntsNet, MulticastOverATreeWithPassiveNodesReachesEveryReceiverWithFewerLinkMessages) {
  const Topology tree = Topology::tree(15, 2, {2, 4, 6});
  const Program mc = Program::of("multicast", app("multicast"));
  AntsNet net(tree, 1, ms_links());
  const std::vector<PeerId> receivers{7, 8, 9, 10, 11, 12, 13, 14};
  net.install(0, mc);
  for (const PeerId r : receivers) {
    net.install(r, mc);
    net.send(r, mc, 0, "sg", "");
  }
  net.net().run_until(Time(1s));
  const std::uint64_t before = net.kind_packets()[0];
  for (int k = 0; k < 5; ++k) net.send(0, mc, 0, "dg", "data");
  net.net().run_until(Time(2s));
  for (const PeerId r : receivers) EXPECT_EQ(delivered_at(net, r), 5U) << "receiver " << r;
  const std::uint64_t multicast = net.kind_packets()[0] - before;
  // Unicast: each receiver's copy crosses every link of its path, 3 hops.
  const std::uint64_t unicast = 5 * receivers.size() * 3;
  EXPECT_LT(multicast, unicast);
  // Every one of the 14 links carries a copy a message, and the links below a passive branch
  // point one copy per active node below it: 0-2 three (for 5, 13 and 14), 2-6 two, 1-4 two.
  EXPECT_EQ(multicast, 5U * 18);
}

TEST(AntsNet, PipCarriesThePayloadSealedAcrossPassiveNodes) {
  AntsNet net(line(5, {1, 2, 3}), 1, ms_links());
  const Program pip = Program::of("pip", app("pip"));
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(7 * i + 1);
  net.sandbox(0).set_seal_key(key);
  net.sandbox(4).set_seal_key(key);
  const std::string secret = "attack at dawn";
  std::uint64_t seen_plain = 0;
  std::uint64_t capsules_between = 0;
  net.on_packet([&](const SimNet::PacketRecord& r) {
    if (r.bytes.size() < 1 + sizeof(CapsuleHeader) || static_cast<int>(r.bytes[2]) != 0) return;
    const std::string bytes(reinterpret_cast<const char*>(r.bytes.data()), r.bytes.size());
    capsules_between += r.from >= 1 && r.to <= 3 ? 1 : 0;
    seen_plain += bytes.find(secret) != std::string::npos ? 1 : 0;
  });
  net.install(0, pip);
  net.send(0, pip, 4, "p", secret);
  net.net().run_until(Time(1s));
  ASSERT_EQ(delivered_at(net, 4), 1U);
  EXPECT_EQ(net.deliveries().back().payload, secret);
  EXPECT_EQ(net.deliveries().back().header, "p");
  EXPECT_EQ(capsules_between, 2U) << "over 1-2 and 2-3";
  EXPECT_EQ(seen_plain, 0U) << "the payload was sealed on every link";
  // Node 4 without the key cannot open it: the capsule is dropped.
  AntsNet keyless(line(5, {1, 2, 3}), 1, ms_links());
  keyless.sandbox(0).set_seal_key(key);
  keyless.install(0, pip);
  keyless.send(0, pip, 4, "p", secret);
  keyless.net().run_until(Time(1s));
  EXPECT_EQ(delivered_at(keyless, 4), 0U);
  EXPECT_EQ(keyless.exec(4).errors, 1U) << "open without a key is an error of the run";
}

TEST(AntsNet, AnycastGoesToTheLeastLoadedMemberAsLastAdvertised) {
  const Topology tree = Topology::tree(15, 2, {2, 4});
  const Program any = Program::of("anycast", app("anycast"));
  AntsNet net(tree, 1, ms_links());
  // Members 7, 10 and 13 advertise their loads to the rendezvous, node 0.
  const std::map<PeerId, std::string> load{{7, "5"}, {10, "1"}, {13, "9"}};
  for (const auto& [member, l] : load) {
    net.install(member, any);
    net.send(member, any, 0, "ag", l);
  }
  net.install(14, any);
  net.net().run_until(Time(1s));
  for (int k = 0; k < 3; ++k) net.send(14, any, 0, "rg", "request");
  net.net().run_until(Time(2s));
  EXPECT_EQ(delivered_at(net, 10), 3U);
  EXPECT_EQ(delivered_at(net, 7) + delivered_at(net, 13), 0U);
  // Member 10 is busy now: the next requests go to 7.
  net.send(10, any, 0, "ag", "20");
  net.net().run_until(Time(3s));
  for (int k = 0; k < 2; ++k) net.send(14, any, 0, "rg", "request");
  net.net().run_until(Time(4s));
  EXPECT_EQ(delivered_at(net, 7), 2U);
  EXPECT_EQ(delivered_at(net, 10), 3U);
}

// A source sends data capsules from node 0 to node 3 over a line whose link 1 -> 2 carries 50 kB/s
// with room for 64 packets, every `interval`; if `listens`, it doubles the interval at each
// congestion notice and shortens it by a quarter every 20 ms without one. What the network did.
struct CongestionRun {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t notices = 0;
  std::uint64_t overflowed = 0;
};
CongestionRun congestion(bool listens) {
  AntsNet net(line(4), 1, ms_links());
  LinkConfig slow = ms_links();
  slow.rate = 50'000;
  slow.queue = 64;
  net.net().set_link(1, 2, slow);
  const Program cn = Program::of("congestion", app("congestion"));
  net.install(0, cn);
  CongestionRun run;
  Duration interval = 500us;
  Time quiet_since{};
  std::size_t seen = 0;
  std::function<void()> tick = [&] {
    for (; seen < net.deliveries().size(); ++seen) {
      const Delivery& d = net.deliveries()[seen];
      if (d.node != 0 || d.header != "c") continue;
      ++run.notices;
      if (listens) interval = std::min<Duration>(interval * 2, 100ms);
      quiet_since = net.net().now();
    }
    if (listens && net.net().now() - quiet_since >= 20ms) {
      interval = std::max<Duration>(interval * 3 / 4, 500us);
      quiet_since = net.net().now();
    }
    net.send(0, cn, 3, "d", std::string(100, 'x'));
    ++run.sent;
    if (net.net().now() + interval < Time(2s)) net.net().at(net.net().now() + interval, tick);
  };
  net.net().at(Time(1ms), tick);
  net.net().run_until(Time(3s));
  run.delivered = delivered_at(net, 3);
  run.overflowed = net.net().counters().overflowed;
  return run;
}

TEST(AntsNet, ACongestedNodeTellsTheSourceWhichSlowsDown) {
  const CongestionRun deaf = congestion(false);
  const CongestionRun listening = congestion(true);
  EXPECT_GT(deaf.notices, 0U);
  EXPECT_GT(listening.notices, 0U);
  // The link takes about 300 capsules a second: a deaf source loses most of what it sends at the
  // queue; one that listens loses next to nothing, and gets at least three quarters as much
  // through (seed 1: 552 against 688, none lost against 3,312).
  EXPECT_GT(deaf.overflowed, deaf.sent / 2);
  EXPECT_LT(listening.overflowed * 10, deaf.overflowed);
  EXPECT_GE(listening.delivered * 4, deaf.delivered * 3);
  std::printf("deaf: sent %llu, delivered %llu, overflowed %llu; listening: sent %llu, "
              "delivered %llu, overflowed %llu, notices %llu\n",
              static_cast<unsigned long long>(deaf.sent),
              static_cast<unsigned long long>(deaf.delivered),
              static_cast<unsigned long long>(deaf.overflowed),
              static_cast<unsigned long long>(listening.sent),
              static_cast<unsigned long long>(listening.delivered),
              static_cast<unsigned long long>(listening.overflowed),
              static_cast<unsigned long long>(listening.notices));
}

TEST(AntsNet, ReliableMulticastGetsEveryMessageToEveryReceiverOnceOverLossyLinks) {
  const Topology tree = Topology::tree(15, 2, {2, 4, 6});
  const Program rm = Program::of("reliable multicast", app("reliable_multicast"));
  LinkConfig lossy = ms_links();
  lossy.loss = 0.1;
  AntsNet net(tree, 7, lossy);
  const std::vector<PeerId> receivers{7, 8, 9, 10, 11, 12, 13, 14};
  // Acks on the link from node 1, below which four receivers are, to the source.
  std::uint64_t acks_up = 0;
  net.on_packet([&](const SimNet::PacketRecord& r) {
    const std::size_t app = 1 + sizeof(CapsuleHeader);
    if (r.from == 1 && r.to == 0 && r.bytes.size() > app && static_cast<int>(r.bytes[2]) == 0 &&
        static_cast<char>(r.bytes[app]) == 'a')
      ++acks_up;
  });
  net.install(0, rm);
  // Subscriptions are soft state, sent again now and then; here five times.
  for (const PeerId r : receivers) {
    net.install(r, rm);
    for (int k = 0; k < 5; ++k) net.send_at(Time(k * 100ms), r, rm, 0, "sg", "");
  }
  constexpr int kMessages = 20;
  for (int seq = 1; seq <= kMessages; ++seq)
    net.send_at(Time(1s + seq * 5ms), 0, rm, 0, fmt::format("dg:{}", seq), fmt::format("m{}", seq));
  // The source's application repairs every 50 ms what all receivers have not acked.
  std::set<int> acked;
  std::function<void()> repair = [&] {
    for (const Delivery& d : net.deliveries())
      if (d.node == 0 && d.header.starts_with("ag:")) acked.insert(std::stoi(d.header.substr(3)));
    for (int seq = 1; seq <= kMessages; ++seq)
      if (!acked.contains(seq)) net.send(0, rm, 0, fmt::format("rg:{}", seq), "");
    if (acked.size() < kMessages && net.net().now() < Time(10s))
      net.net().at(net.net().now() + 50ms, repair);
  };
  net.net().at(Time(1200ms), repair);
  net.net().run_until(Time(12s));
  EXPECT_EQ(acked.size(), static_cast<std::size_t>(kMessages)) << "the source heard every ack";
  for (const PeerId r : receivers) {
    std::map<std::string, int> got;
    for (const Delivery& d : net.deliveries())
      if (d.node == r && d.header.starts_with("dg:")) ++got[d.header];
    EXPECT_EQ(got.size(), static_cast<std::size_t>(kMessages)) << "receiver " << r;
    for (const auto& [h, n] : got) EXPECT_EQ(n, 1) << "receiver " << r << " got " << h;
  }
  EXPECT_GT(net.net().counters().lost, 0U);
  // Gathered: about one ack a message crosses 1 -> 0 (a few again after repairs), not four.
  EXPECT_GE(acks_up, static_cast<std::uint64_t>(kMessages) * 9 / 10);
  EXPECT_LT(acks_up, static_cast<std::uint64_t>(kMessages) * 2);
  std::printf("acks over 1 -> 0: %llu for %d messages to 4 receivers below node 1\n",
              static_cast<unsigned long long>(acks_up), kMessages);
}

TEST(AntsNet, CodeThatFailsWaitsBeforeItRunsAgain) {
  AntsNet net(line(2), 1, ms_links());
  const Program fail = Program::of("fail", "return function(c) error('no') end");
  const Program uni = Program::of("unicast", app("unicast"));
  net.install(0, fail);
  net.install(0, uni);
  // Three capsules at one instant: the first runs and fails; the others find the type waiting
  // (1 ms) and are dropped unrun, counted as failures. Another type runs meanwhile.
  for (int k = 0; k < 3; ++k) net.send(0, fail, 1, "", "x");
  net.send(0, uni, 1, "", "honest");
  EXPECT_EQ(net.exec(0).errors, 3U);
  EXPECT_EQ(net.sandbox(0).counters(fail.type).runs, 1U);
  EXPECT_EQ(net.sandbox(0).counters(uni.type).runs, 1U);
  // After the wait it runs again, fails again, and now waits 2 ms.
  net.net().run_until(net.net().now() + 1500us);
  net.send(0, fail, 1, "", "x");
  EXPECT_EQ(net.sandbox(0).counters(fail.type).runs, 2U);
  net.net().run_until(net.net().now() + 1500us);
  net.send(0, fail, 1, "", "x");
  EXPECT_EQ(net.sandbox(0).counters(fail.type).runs, 2U) << "the second wait is 2 ms";
  EXPECT_EQ(net.exec(0).errors, 5U);
}

TEST(Topology, ParsesTheTextFormAndSaysWhatIsWrongWhere) {
  const Topology t = Topology::parse("# a line\nnodes 3\nlink 0 1\nlink 1 2\npassive 1\n", "t");
  EXPECT_EQ(t.nodes, 3U);
  EXPECT_EQ(t.links.size(), 2U);
  EXPECT_FALSE(t.active[1]);
  EXPECT_EQ(Topology::parse(t.to_text(), "again").to_text(), t.to_text());
  const auto error = [](std::string_view text) {
    try {
      Topology::parse(text, "topo");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("link 0 1\n"), "topo:1: 'link' before 'nodes N'");
  EXPECT_EQ(error("nodes 2\nlink 0 5\n"), "topo:2: node 5 does not exist: there are 2 nodes");
  EXPECT_EQ(error("nodes 2\nlink 0 x\n"), "topo:2: 'x' is not a node number");
  EXPECT_EQ(error("nodes 2\nroute 0 1\n"),
            "topo:2: unknown statement 'route': expected nodes, link or passive");
  EXPECT_EQ(error(""), "topo: no 'nodes N' line");
}

} // namespace
} // namespace lamina::ants
