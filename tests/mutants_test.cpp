// The mutants of the layers, the test of difftest: each is made like its layer, starts in its
// layer's state, and behaves differently from it; and lamina-mutate, which writes them, refuses
// a mutant that no longer fits its layer's source.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "components/ants_capsule.hpp"
#include "components/arq.hpp"
#include "components/checksum.hpp"
#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"
#include "components/rpc.hpp"
#include "difftest/layer_ops.hpp"
#include "difftest/mutants.hpp"
#include "runtime/host.hpp"
#include "runtime/registry.hpp"
#include "runtime/sha256.hpp"

#ifndef LAMINA_MUTATE
#error "LAMINA_MUTATE, the path of lamina-mutate, is defined by difftest/mutants/mutants.cmake"
#endif

namespace lamina::difftest {
namespace {

// The wire under the layer on the bench: passes packets straight through, so that what leaves
// the node is what the layer sent. Promises every guarantee, so that any layer may stand on it.
struct Wire {
  static constexpr std::string_view name = "Wire";
  static constexpr Place place = Place::bottom;
  static constexpr Guarantees provides =
      Guarantee::integrity | Guarantee::reliable | Guarantee::fifo | Guarantee::lamport;
  using Header = NoHeader;

  std::uint64_t packets = 0; // passed either way

  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }
  template <class Ports>
  void down(Event& ev, Ports& io) {
    ++packets;
    io.down(ev);
  }
  template <class Ports>
  void up(Event& ev, Ports& io) {
    ++packets;
    io.up(ev);
  }
};

} // namespace
} // namespace lamina::difftest

BOOST_HANA_ADAPT_STRUCT(lamina::difftest::Wire, packets);

namespace lamina::difftest {
namespace {

using namespace std::chrono_literals;

Msg bytes_of(std::string_view text) {
  return Msg::copy_of(std::as_bytes(std::span(text.data(), text.size())));
}

std::string hex(const Msg& m) {
  std::string out;
  for (std::byte b : m.bytes())
    fmt::format_to(std::back_inserter(out), "{}{:02x}", out.empty() ? "" : " ",
                   static_cast<unsigned>(b));
  return out;
}

// The layer `spec` names, or `mutant` in its place when it mutates that layer.
std::unique_ptr<DynLayer> make_layer(const LayerSpec& spec, const Mutant* mutant) {
  if (mutant == nullptr || spec.name != mutant->layer) return layer_registry().make(spec);
  LayerArgs args(spec.name, spec.args);
  return mutant->make(args);
}

// Node `me` of group {0, 1, 2}: a dynamic stack on the test wire, whose packets, timers and
// deliveries are recorded in order. Time stands still unless the scenario runs it on.
class Node final : public Host {
public:
  // `stack` is the stack string above the wire ("Frag(mtu=2)"); `mutant`, if given, replaces
  // its layer.
  Node(std::string_view stack, const Mutant* mutant, PeerId me) : me_(me) {
    std::vector<std::unique_ptr<DynLayer>> layers;
    for (const LayerSpec& spec : parse_stack_string(stack))
      layers.push_back(make_layer(spec, mutant));
    if (layers.back()->place() != Place::bottom)
      layers.push_back(std::make_unique<DynLayerOf<Wire>>(Wire{}));
    stack_ = std::make_unique<DynamicStack>(std::move(layers));
    stack_->attach(*this);
  }

  [[nodiscard]] PeerId me() const override { return me_; }
  [[nodiscard]] std::uint32_t group_size() const override { return 3; }
  [[nodiscard]] Time now() const override { return clock_; }
  void transmit(PeerId to, Msg packet) override {
    log_.push_back(fmt::format("{}ms: wire to {}: {}", clock_ / 1ms, to, hex(packet)));
    wire_.push_back(std::move(packet));
  }
  void set_timer(Time at, std::uint32_t timer) override {
    log_.push_back(fmt::format("{}ms: timer {} for {}ms", clock_ / 1ms, timer, at / 1ms));
    timers_.emplace(at, timer);
  }
  void deliver(Event& ev) override {
    log_.push_back(fmt::format("{}ms: deliver from {} at lamport {}: {}", clock_ / 1ms, ev.peer,
                               ev.lamport, hex(ev.msg)));
  }

  void send(PeerId to, std::string_view text) { stack_->send(to, bytes_of(text)); }
  void send(PeerId to, const Msg& m) { stack_->send(to, m.clone()); }
  void receive(PeerId from, const Msg& packet) { stack_->receive(from, packet.clone()); }
  // Runs the clock on to `t`, firing the timers due on the way.
  void run_until(Time t) {
    while (!timers_.empty() && timers_.begin()->first <= t) {
      const auto [at, timer] = *timers_.begin();
      timers_.erase(timers_.begin());
      clock_ = at;
      stack_->expire(timer);
    }
    clock_ = t;
  }
  // The packets this node sent, oldest first.
  [[nodiscard]] const std::vector<Msg>& wire() const { return wire_; }

  // What the node did, then the state of every layer: what a scenario compares.
  [[nodiscard]] std::vector<std::string> record() const {
    std::vector<std::string> out = log_;
    for (std::size_t i = 0; i < stack_->depth(); ++i)
      for (const Field& f : stack_->layer(i).fields())
        out.push_back(fmt::format("{}.{} = {}", stack_->layer(i).name(), f.name, f.value));
    return out;
  }

private:
  PeerId me_;
  std::unique_ptr<DynamicStack> stack_;
  Time clock_{};
  std::multimap<Time, std::uint32_t> timers_;
  std::vector<Msg> wire_;
  std::vector<std::string> log_;
};

// An ack alone from Arq: every id below `below` arrived, and those `sack` marks.
Msg arq_ack(std::uint32_t below, std::uint32_t sack) {
  Msg m = Msg::with_size(0);
  m.push(Arq::Header{Arq::Kind::ack, {}, 0, below, sack});
  return m;
}

// Arq's first message to peer 1, acked 1ms after it went: an SRTT of 1ms from here.
void arq_srtt_of_1ms(Node& n) {
  n.send(1, "a");
  n.run_until(1ms);
  n.receive(1, arq_ack(1, 0));
}

// An Rpc header alone: from the application (kind call or answer, `id`, `budget`), or from a
// peer of incarnation 1 to this node's incarnation `to_inc`.
Msg rpc(Rpc::Kind kind, std::uint32_t id, std::uint32_t low = 0, std::uint32_t to_inc = 1,
        std::uint32_t budget = 1000) {
  Msg m = Msg::with_size(0);
  m.push(Rpc::Header{kind, {}, id, low, 1, to_inc, budget});
  return m;
}

// A LamportMutex header alone: from the application (request, release), or from a peer.
Msg lamport_mutex(LamportMutex::Kind kind, std::uint64_t stamp = 0) {
  Msg m = Msg::with_size(0);
  m.push(LamportMutex::Header{kind, {}, stamp});
  return m;
}

// A RicartAgrawala header alone: `ref` is the request a reply answers.
Msg ricart_agrawala(RicartAgrawala::Kind kind, std::uint64_t stamp = 0, std::uint64_t ref = 0) {
  Msg m = Msg::with_size(0);
  m.push(RicartAgrawala::Header{kind, {}, stamp, ref});
  return m;
}

// `m` with byte `i` flipped, as a noisy link would deliver it.
// An ANTS packet (components/ants_capsule.hpp) about the code `code`, from node 1 (and run by
// it last), toward `dst`, carrying `body` after the header.
Msg ants(CapsuleHeader::Kind kind, std::string_view code, PeerId dst, std::string_view body = {},
         std::uint8_t ttl = 5) {
  Msg m = bytes_of(body);
  CapsuleHeader h{};
  h.version = CapsuleHeader::kVersion;
  h.kind = kind;
  h.ttl = ttl;
  h.type = sha256(std::as_bytes(std::span(code)));
  h.src = h.prev = 1;
  h.dst = dst;
  if (kind == CapsuleHeader::Kind::chunk || kind == CapsuleHeader::Kind::installed)
    h.total = static_cast<std::uint32_t>(body.size());
  m.push(h);
  return m;
}

Msg damaged(const Msg& m, std::size_t i) {
  Msg out = m.clone();
  out.writable_bytes()[i] ^= std::byte{0xFF};
  return out;
}

// A few events on which a mutant and its layer part ways: `run` drives one node whose stack is
// `stack` (over the test wire), with the mutant or with the correct layer.
struct Scenario {
  std::string_view mutant;
  std::string_view stack;
  std::string_view difference; // what the mutant does differently
  void (*run)(Node&);
  PeerId me = 0; // the node's number in the group
};

// How GoogleTest prints a scenario; the name is GoogleTest's.
// NOLINTNEXTLINE(readability-identifier-naming)
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.mutant << " on " << s.stack; }

const std::vector<Scenario>& scenarios() {
  // The reference runner's program "route toward dst" (components/ants_runner.hpp).
  static const std::string forward(1, '\0');
  static const std::vector<Scenario> all = {
      {"ants_code_releases_only_the_first", "AntsCode",
       "lets only the first of two capsules held for the code go up when it comes",
       [](Node& n) {
         n.receive(1, ants(CapsuleHeader::Kind::capsule, forward, 2, "a"));
         n.receive(1, ants(CapsuleHeader::Kind::capsule, forward, 2, "b"));
         n.receive(1, ants(CapsuleHeader::Kind::chunk, forward, 0, forward));
       }},
      {"ants_code_skips_the_hash", "AntsCode", "caches code that does not hash to its type",
       [](Node& n) {
         n.receive(1, ants(CapsuleHeader::Kind::capsule, forward, 2, "a"));
         n.receive(1, ants(CapsuleHeader::Kind::chunk, forward, 0, "forged"));
       }},
      {"ants_exec_keeps_prev", "AntsExec",
       "routes a copy on with prev 1, the node before it, not itself",
       [](Node& n) {
         n.receive(0, ants(CapsuleHeader::Kind::installed, forward, 0, forward));
         n.receive(1, ants(CapsuleHeader::Kind::capsule, forward, 2, "a"));
       }},
      {"ants_route_spends_no_ttl", "AntsRoute", "forwards a capsule with TTL 5, not 4",
       [](Node& n) { n.receive(1, ants(CapsuleHeader::Kind::request, forward, 2)); }},
      {"arq_acks_late", "Arq(ack_every=2)", "does not ack when the second message arrives",
       [](Node& n) {
         n.send(1, "a");
         n.send(1, "b");
         for (int i : {0, 1}) n.receive(1, n.wire()[i]); // its own data, as if from peer 1
       }},
      {"arq_grows_by_messages", "Arq(initial_cwnd=2,bundle_bytes=1452)",
       "grows its window of 2 by 1, not by a datagram's worth, when two 1-byte messages are acked "
       "in congestion avoidance",
       [](Node& n) {
         n.send(1, "a");
         n.run_until(20ms);           // an expiry: a window of 1, and slow start up to 2
         n.receive(1, arq_ack(1, 0)); // a window of 2: congestion avoidance from here
         for (std::string_view m : {"b", "c", "d"}) n.send(1, m);
         n.receive(1, arq_ack(3, 0));
       }},
      {"arq_no_backoff", "Arq(timeout=20ms)", "keeps a timeout of 20ms after it expires",
       [](Node& n) {
         n.send(1, "a");
         n.run_until(20ms);
       }},
      {"arq_never_probes", "Arq",
       "does not probe (send again) the tail it sent at 1ms at 4ms, 2 SRTT + ack_delay later",
       [](Node& n) {
         arq_srtt_of_1ms(n);
         n.send(1, "b");
         n.run_until(4ms);
       }},
      {"arq_never_undoes", "Arq",
       "resends c, taken for lost at 20ms, after an ack shows that b, taken for lost with it, had "
       "arrived",
       [](Node& n) {
         for (std::string_view m : {"a", "b", "c"}) n.send(1, m);
         n.run_until(20ms);           // an expiry: a, b and c taken for lost, a resent
         n.receive(1, arq_ack(2, 0)); // a and b arrived, b from its only copy
       }},
      {"arq_undo_keeps_the_repair_order", "Arq",
       "resends d and e, put back in flight when an ack at 22ms shows the expiry at 21ms "
       "spurious, because it acks the expiry's repair of b too",
       [](Node& n) {
         arq_srtt_of_1ms(n);
         for (std::string_view m : {"b", "c", "d", "e"}) n.send(1, m);
         n.run_until(21ms); // the probe at 4ms, then the expiry: b resent
         n.run_until(22ms);
         n.receive(1, arq_ack(3, 0)); // b and c arrived, c from its only copy: undone
       }},
      {"arq_repair_never_lost", "Arq",
       "does not resend 0 again when 10, 11 and 12, sent after its repair, are selectively acked",
       [](Node& n) {
         for (int i = 0; i < 10; ++i) n.send(1, std::string(1, static_cast<char>('a' + i)));
         n.run_until(1ms);
         n.receive(1, arq_ack(0, 0b111111111)); // 0 is lost and resent
         n.run_until(2ms);
         for (std::string_view m : {"k", "l", "m", "n"}) n.send(1, m);
         n.receive(1, arq_ack(0, 0b111111111111));
       }},
      {"arq_no_reordering_window", "Arq",
       "resends b when c, sent after it, is acked 1ms after b went, with an SRTT of 1ms",
       [](Node& n) {
         arq_srtt_of_1ms(n);
         n.send(1, "b");
         n.send(1, "c");
         n.run_until(2ms);
         n.receive(1, arq_ack(1, 1)); // c arrived, b not yet: within the reordering window
       }},
      {"arq_trusts_early_repair_acks", "Arq",
       "resends f and g, sent at 1ms, when the repair of b, sent at 2ms, is acked at 2.5ms, "
       "sooner than the least round trip of 1ms",
       [](Node& n) {
         arq_srtt_of_1ms(n);
         for (std::string_view m : {"b", "c", "d", "e", "f", "g"}) n.send(1, m);
         n.run_until(2ms);
         n.receive(1, arq_ack(1, 0b111)); // c, d and e arrived: b is lost and resent
         n.run_until(2500us);
         n.receive(1, arq_ack(5, 0)); // b's first copy arrived after all
       }},
      {"arq_sack_marks_the_hole", "Arq",
       "takes message 0, not 1, for selectively acked when bit 0 of a SACK with ack 0 is set",
       [](Node& n) {
         for (std::string_view m : {"a", "b", "c"}) n.send(1, m);
         n.receive(1, arq_ack(0, 1));
       }},
      {"bottom_accepts_foreign_format", "Bottom", "passes up a packet marked 0x00",
       [](Node& n) { n.receive(1, bytes_of(std::string("\0a", 2))); }},
      {"bottom_refuses_full_packet", "Bottom(max_packet=4)",
       "refuses 3 bytes, which with the marker make max_packet", [](Node& n) { n.send(1, "abc"); }},
      {"checksum_passes_corrupt", "Checksum", "passes up its own packet with the last byte damaged",
       [](Node& n) {
         n.send(1, "abc");
         n.receive(1, damaged(n.wire()[0], n.wire()[0].size() - 1));
       }},
      {"checksum_skips_first_byte", "Checksum",
       "puts another CRC on the wire, and passes up its own packet damaged behind the header",
       [](Node& n) {
         n.send(1, "abc");
         n.receive(1, damaged(n.wire()[0], sizeof(Checksum::Header)));
       }},
      {"frag_arrival_order", "Frag(mtu=2)",
       "joins fragments 0, 2, 1 into aaccbb where the layer drops them",
       [](Node& n) {
         n.send(1, "aabbcc");
         for (int i : {0, 2, 1}) n.receive(1, n.wire()[i]);
       }},
      {"frag_extra_fragment", "Frag(mtu=2)", "cuts 4 bytes into 3 fragments, not 2",
       [](Node& n) { n.send(1, "aabb"); }},
      {"lamport_receive_does_not_tick", "LamportClock",
       "delivers its own stamp 1 at clock 1, not 2",
       [](Node& n) {
         n.send(1, "a");
         n.receive(1, n.wire()[0]);
       }},
      {"lamport_send_does_not_tick", "LamportClock", "stamps its first send 0, not 1",
       [](Node& n) { n.send(1, "a"); }},
      {"lamport_mutex_enters_before_every_ack", "LamportMutex",
       "takes the lock when peer 1 has acked its request and peer 2 has sent nothing",
       [](Node& n) {
         n.send(kAllPeers, lamport_mutex(LamportMutex::Kind::request));
         n.receive(1, lamport_mutex(LamportMutex::Kind::ack, 5));
       }},
      {"lamport_mutex_queue_without_tie_break", "LamportMutex",
       "as node 1, takes the lock for its request (1, 1) though peer 0's (1, 0) comes first",
       [](Node& n) {
         n.send(kAllPeers, lamport_mutex(LamportMutex::Kind::request));
         n.receive(0, lamport_mutex(LamportMutex::Kind::request, 1));
         n.receive(2, lamport_mutex(LamportMutex::Kind::ack, 5));
       },
       1},
      {"lamport_mutex_release_misses_a_peer", "LamportMutex",
       "sends its release to peer 1 alone, not to the group",
       [](Node& n) {
         n.send(kAllPeers, lamport_mutex(LamportMutex::Kind::request));
         for (PeerId p : {1, 2}) n.receive(p, lamport_mutex(LamportMutex::Kind::ack, 5));
         n.send(kAllPeers, lamport_mutex(LamportMutex::Kind::release));
       }},
      {"lamport_mutex_try_keeps_its_request", "LamportMutex",
       "as node 2, gives its try (1, 2) up without a release when peer 1's (1, 1) arrives",
       [](Node& n) {
         n.send(kAllPeers, lamport_mutex(LamportMutex::Kind::try_request));
         n.receive(1, lamport_mutex(LamportMutex::Kind::request, 1)); // (1, 1) before (1, 2)
       },
       2},
      {"retransmit_no_ack_for_duplicate", "Retransmit",
       "acknowledges a message that arrives twice once, not twice",
       [](Node& n) {
         n.send(1, "a"); // the data packet that peer 1 would send this node
         n.receive(1, n.wire()[0]);
         n.receive(1, n.wire()[0]);
       }},
      {"retransmit_resends_late", "Retransmit(timeout=20ms)",
       "does not resend when its timer fires, 20ms after the send",
       [](Node& n) {
         n.send(1, "a");
         n.run_until(20ms);
       }},
      {"retransmit_timer_not_rearmed", "Retransmit(timeout=20ms)",
       "resends once at 20ms and never again",
       [](Node& n) {
         n.send(1, "a");
         n.run_until(60ms);
       }},
      {"ricart_agrawala_replies_while_holding", "RicartAgrawala",
       "replies at once to peer 1's request while it holds the lock",
       [](Node& n) {
         n.send(kAllPeers, ricart_agrawala(RicartAgrawala::Kind::request));
         for (PeerId p : {1, 2}) n.receive(p, ricart_agrawala(RicartAgrawala::Kind::reply, 5, 1));
         n.receive(1, ricart_agrawala(RicartAgrawala::Kind::request, 7));
       }},
      {"ricart_agrawala_defers_a_try", "RicartAgrawala",
       "defers peer 1's try while it holds the lock, where it refuses it at once",
       [](Node& n) {
         n.send(kAllPeers, ricart_agrawala(RicartAgrawala::Kind::request));
         for (PeerId p : {1, 2}) n.receive(p, ricart_agrawala(RicartAgrawala::Kind::reply, 5, 1));
         n.receive(1, ricart_agrawala(RicartAgrawala::Kind::try_request, 7));
       }},
      {"rpc_holds_one_call_too_many", "Rpc(cache=1)",
       "runs a second call from peer 1 while it holds one, where the layer refuses it as busy",
       [](Node& n) {
         n.receive(1, rpc(Rpc::Kind::call, 0));
         n.receive(1, rpc(Rpc::Kind::call, 1));
       }},
      {"rpc_low_skips_unfinished_calls", "Rpc",
       "tells the server on its second call that call 0, unanswered, is finished",
       [](Node& n) {
         n.send(1, rpc(Rpc::Kind::call, 0));
         n.send(1, rpc(Rpc::Kind::call, 1));
       }},
      {"rpc_runs_a_running_call_again", "Rpc", "passes up a call that arrives twice twice",
       [](Node& n) {
         n.receive(1, rpc(Rpc::Kind::call, 0));
         n.receive(1, rpc(Rpc::Kind::call, 0));
       }},
      {"rpc_runs_an_unaddressed_call", "Rpc",
       "runs a call addressed to no incarnation, where the layer refuses it as stale",
       [](Node& n) { n.receive(1, rpc(Rpc::Kind::call, 0, 0, 0)); }},
      {"rpc_trims_the_lowest_answer", "Rpc",
       "drops its answer to call 1 when call 2 says the client has finished those below 1",
       [](Node& n) {
         n.receive(1, rpc(Rpc::Kind::call, 1));
         n.send(1, rpc(Rpc::Kind::answer, 1));
         n.receive(1, rpc(Rpc::Kind::call, 2, 1));
       }},
      {"seqno_first_is_one", "Seqno", "numbers its first message 1",
       [](Node& n) { n.send(1, "a"); }},
      {"seqno_releases_one", "Seqno", "delivers a and b but holds back c when 2, 1, 0 arrive",
       [](Node& n) {
         for (std::string_view m : {"a", "b", "c"}) n.send(1, m);
         for (int i : {2, 1, 0}) n.receive(1, n.wire()[i]);
       }},
      {"top_forgets_deliveries", "Top", "does not count a delivery",
       [](Node& n) { n.receive(1, bytes_of("a")); }},
      {"window_grants_late", "Window(window=4)",
       "sends no credit when half a window, 2 messages, has gone up",
       [](Node& n) {
         n.send(1, "a");
         n.send(1, "b");
         for (int i : {0, 1}) n.receive(1, n.wire()[i]); // its own data, as if from peer 1
       }},
      {"window_releases_one", "Window(window=2)",
       "sends only c of the waiting c and d when a credit for 2 arrives",
       [](Node& n) {
         for (std::string_view m : {"a", "b", "c", "d"}) n.send(1, m); // a, b go; c, d wait
         // Its own a and b, as if from peer 1, make it send credits for 1 and then 2
         // (wire()[2], wire()[3]); the credit for 2, as if from peer 1, grants a and b.
         for (int i : {0, 1}) n.receive(1, n.wire()[i]);
         n.receive(1, n.wire()[3]);
       }},
      {"window_room_off_by_one", "Window(window=2)", "sends a third message with a window of 2",
       [](Node& n) {
         for (std::string_view m : {"a", "b", "c"}) n.send(1, m);
       }},
  };
  return all;
}

std::vector<std::string> layer_names() {
  std::vector<std::string> names;
  for (const auto& [name, params] : layer_registry().layers()) names.push_back(name);
  return names;
}

TEST(Mutants, AreAtLeastTwelveAndMutateEveryLayer) {
  EXPECT_GE(mutants().size(), 12u);
  std::set<std::string> mutated;
  for (const Mutant& m : mutants()) mutated.insert(m.layer);
  EXPECT_THAT(mutated, ::testing::UnorderedElementsAreArray(layer_names()));
}

TEST(Mutants, HaveUniqueNamesInOrderAndADescriptionEach) {
  const auto& all = mutants();
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].name, all[i].name) << "the names are sorted and unique";
  for (const Mutant& m : all) {
    EXPECT_FALSE(m.description.empty()) << m.name;
    EXPECT_TRUE(m.make) << m.name;
  }
}

TEST(Mutants, AreFoundByNameAndNothingElseIs) {
  for (const Mutant& m : mutants()) {
    const Mutant* found = find_mutant(m.name);
    ASSERT_NE(found, nullptr) << m.name;
    EXPECT_EQ(found, &m);
  }
  EXPECT_EQ(find_mutant(""), nullptr);
  EXPECT_EQ(find_mutant("seqno"), nullptr);
  EXPECT_EQ(find_mutant("zzz_no_such_mutant"), nullptr);
}

TEST(Mutants, EachHasAScenarioInThisTest) {
  std::set<std::string> covered;
  for (const Scenario& s : scenarios()) {
    EXPECT_NE(find_mutant(s.mutant), nullptr)
        << "a scenario for a mutant that is gone: " << s.mutant;
    covered.insert(std::string(s.mutant));
  }
  for (const Mutant& m : mutants())
    EXPECT_TRUE(covered.contains(m.name)) << "add a scenario for mutant " << m.name;
}

class EachMutant : public ::testing::TestWithParam<Scenario> {
protected:
  const Mutant& mutant() const {
    const Mutant* m = find_mutant(GetParam().mutant);
    if (m == nullptr) throw std::logic_error("no mutant " + std::string(GetParam().mutant));
    return *m;
  }
};

// Made from the same stack-string parameters, the mutant starts field for field where its layer
// does: every difference difftest sees later comes from its code.
TEST_P(EachMutant, StartsInTheStateOfItsLayer) {
  const Mutant& m = mutant();
  for (const LayerSpec& spec : parse_stack_string(GetParam().stack)) {
    if (spec.name != m.layer) continue;
    const std::unique_ptr<DynLayer> mutated = make_layer(spec, &m);
    const std::unique_ptr<DynLayer> correct = make_layer(spec, nullptr);
    EXPECT_EQ(mutated->name(), m.layer);
    EXPECT_TRUE(mutated->type() != correct->type());
    const LayerOps* ops = find_layer_ops(mutated->type());
    ASSERT_NE(ops, nullptr) << "the mutant's operations are registered";
    ASSERT_NE(ops->twin, nullptr);
    EXPECT_TRUE(*ops->twin == correct->type());
    MsgMemo memo;
    EXPECT_TRUE(ops->equal_twin(mutated->object(), correct->object(), memo));
    std::vector<std::pair<std::string, std::string>> a, b;
    for (const Field& f : mutated->fields()) a.emplace_back(f.name, f.value);
    for (const Field& f : correct->fields()) b.emplace_back(f.name, f.value);
    EXPECT_EQ(a, b);
    return;
  }
  FAIL() << "the scenario's stack " << GetParam().stack << " has no layer " << m.layer;
}

TEST_P(EachMutant, BehavesDifferentlyFromItsLayer) {
  const Scenario& s = GetParam();
  const auto record = [&](const Mutant* m) {
    Node n(s.stack, m, s.me);
    s.run(n);
    return n.record();
  };
  const std::vector<std::string> correct = record(nullptr);
  ASSERT_EQ(correct, record(nullptr)) << "the scenario must be deterministic";
  EXPECT_NE(record(&mutant()), correct) << "the mutant " << s.difference;
}

INSTANTIATE_TEST_SUITE_P(Mutants, EachMutant, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) {
                           return std::string(info.param.mutant);
                         });

// lamina-mutate run on .mutant files written by the test, in a directory of their own.
class LaminaMutate : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("lamina_mutants_test_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `text` as <name>.mutant and runs lamina-mutate on it; its exit status and output.
  std::pair<int, std::string> run(const std::string& name, std::string_view text) {
    std::ofstream(dir_ / (name + ".mutant")) << text;
    return run_all({name});
  }
  // Runs lamina-mutate on the .mutant files `names` written before, with `options`.
  std::pair<int, std::string> run_all(const std::vector<std::string>& names,
                                      const std::string& options = "") {
    std::string files;
    for (const std::string& name : names) files += " '" + where(name) + "'";
    const std::string command =
        fmt::format("'{}' --source-dir '{}' --output-dir '{}' {}{} 2>&1", LAMINA_MUTATE,
                    LAMINA_SOURCE_DIR, (dir_ / "out").string(), options, files);
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, "cannot run " + command};
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  [[nodiscard]] std::string where(const std::string& name) const {
    return (dir_ / (name + ".mutant")).string();
  }
  [[nodiscard]] std::filesystem::path out() const { return dir_ / "out"; }

private:
  std::filesystem::path dir_;
};

TEST_F(LaminaMutate, RejectsAFromTextThatTheLayerDoesNotHave) {
  const auto [status, output] = run("stale", R"(# A mutant whose layer has changed under it.
layer Seqno
file components/seqno.hpp
from
    ev.msg.push(Header{next_seq[ev.peer]++});
to
    ev.msg.push(Header{++next_seq[ev.peer]});
)");
  EXPECT_EQ(status, 1);
  EXPECT_THAT(output,
              ::testing::HasSubstr(where("stale") + ":4:1: error: the text after 'from' is not in "
                                                    "components/seqno.hpp; update the mutant"));
  EXPECT_FALSE(std::filesystem::exists(out() / "mutants.cpp")) << "nothing is written";
}

TEST_F(LaminaMutate, RejectsAFromTextThatOccursMoreThanOnce) {
  const auto [status, output] = run("vague", R"(# Returns too early, somewhere.
layer Seqno
file components/seqno.hpp
from
      return;
to
)");
  EXPECT_EQ(status, 1);
  EXPECT_THAT(output,
              ::testing::ContainsRegex(
                  ":4:1: error: the text after 'from' occurs [0-9]+ times in components/seqno.hpp; "
                  "update the mutant"));
}

TEST_F(LaminaMutate, NamesTheLineOfEveryMistakeInAMutant) {
  const auto [status, output] = run("sloppy", R"(layer Seqno
file components/seqno.hpp
colour blue
to
from
    ++reordered;
)");
  EXPECT_EQ(status, 1);
  const std::string file = where("sloppy");
  EXPECT_THAT(output, ::testing::HasSubstr(file + ":3:1: error: expected 'layer Seqno', 'file "
                                                  "components/seqno.hpp', 'from' or a '#' "
                                                  "comment, found 'colour blue'"));
  EXPECT_THAT(output, ::testing::HasSubstr(file + ":4:1: error: 'to' without a 'from' before it"));
  EXPECT_THAT(output, ::testing::HasSubstr(file + ":5:1: error: this 'from' has no 'to' after it"));
  EXPECT_THAT(output,
              ::testing::HasSubstr(file + ":1:1: error: a mutant opens with a '#' comment"));
}

TEST_F(LaminaMutate, RefusesAChangeToAStructThatMutantsShareWithTheirLayer) {
  const auto [status, output] = run("partial", R"(# Partial compares nothing.
layer Frag
file components/frag.hpp
from
    friend bool operator==(const Partial&, const Partial&) = default;
to
)");
  EXPECT_EQ(status, 1);
  EXPECT_THAT(output, ::testing::HasSubstr(":4:1: error: the text after 'from' overlaps struct "
                                           "Frag::Partial, which mutants share"));
}

TEST_F(LaminaMutate, MovesTheLayerIntoANamespaceOfItsOwnAndSharesItsNestedStructs) {
  const auto [status, output] = run("late_ack", R"(# Retransmit acknowledges after delivering.
layer Retransmit
file components/retransmit.hpp
from
    send_ack(ev.peer, h.id, ev.time, io); // even for a duplicate: the first ack may be lost
to
)");
  ASSERT_EQ(status, 0) << output;
  std::ifstream in(out() / "mutants" / "late_ack.hpp");
  const std::string header{std::istreambuf_iterator<char>(in), {}};
  using ::testing::HasSubstr;
  using ::testing::Not;
  EXPECT_THAT(header, HasSubstr("// Mutant late_ack of Retransmit: Retransmit acknowledges after "
                                "delivering.\n"));
  EXPECT_THAT(header, HasSubstr("#include \"runtime/recycling.hpp\"\n\n#include "
                                "\"components/retransmit.hpp\""));
  EXPECT_THAT(header, HasSubstr("\nnamespace lamina::mutants::late_ack {\n"));
  EXPECT_THAT(header, HasSubstr("\n} // namespace lamina::mutants::late_ack\n"));
  EXPECT_THAT(header, HasSubstr("  using Unacked = ::lamina::Retransmit::Unacked;"));
  EXPECT_THAT(header, HasSubstr("\nBOOST_HANA_ADAPT_STRUCT(lamina::mutants::late_ack::Retransmit, "
                                "timeout, next_id,"));
  EXPECT_THAT(header, Not(HasSubstr("BOOST_HANA_ADAPT_STRUCT(lamina::Retransmit")));
  EXPECT_THAT(header, Not(HasSubstr("send_ack(ev.peer, h.id")));
  std::ifstream maker(out() / "mutants_0.cpp");
  const std::string cpp{std::istreambuf_iterator<char>(maker), {}};
  EXPECT_THAT(cpp, HasSubstr("#include \"components/retransmit.hpp\"\n#include "
                             "\"mutants/late_ack.hpp\"\n"));
  EXPECT_THAT(cpp, HasSubstr("out.push_back(mutant_of<::lamina::mutants::late_ack::Retransmit, "
                             "::lamina::Retransmit>(\n      \"late_ack\",\n"));
  std::ifstream list(out() / "mutants.cpp");
  const std::string index{std::istreambuf_iterator<char>(list), {}};
  EXPECT_THAT(index, HasSubstr("    add_mutants_0(out);\n"));
}

// The text of `file`.
std::string text_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST_F(LaminaMutate, SharesTheMutantsOutAmongFilesByTheSizeOfTheirLayers) {
  // Two mutants of Arq, whose header is several times any other, and three of small layers, into
  // two files: the Arq mutants first, one into each file, then each small one into the file
  // that holds the least so far. Every mutant is made exactly once.
  const auto mutant = [](const std::string& layer, const std::string& file,
                         const std::string& from) {
    return fmt::format("# A mutant.\nlayer {}\nfile {}\nfrom\n{}\nto\n", layer, file, from);
  };
  const std::string arq_from = "    ++acks_sent;";
  std::ofstream(where("arq_a")) << mutant("Arq", "components/arq.hpp", arq_from);
  std::ofstream(where("arq_b")) << mutant("Arq", "components/arq.hpp", arq_from);
  std::ofstream(where("seqno_a")) << mutant("Seqno", "components/seqno.hpp", "      ++reordered;");
  std::ofstream(where("top_a")) << mutant("Top", "components/top.hpp", "    ++delivered;");
  std::ofstream(where("checksum_a"))
      << mutant("Checksum", "components/checksum.hpp", "    ++passed;");
  const auto [status, output] =
      run_all({"arq_a", "arq_b", "seqno_a", "top_a", "checksum_a"}, "--shards 2");
  ASSERT_EQ(status, 0) << output;
  const std::array<std::string, 2> files{text_of(out() / "mutants_0.cpp"),
                                         text_of(out() / "mutants_1.cpp")};
  EXPECT_FALSE(std::filesystem::exists(out() / "mutants_2.cpp"));
  const auto holds = [&](std::size_t k, const char* name) {
    return files[k].find(fmt::format("\"{}\"", name)) != std::string::npos;
  };
  for (const char* name : {"arq_a", "arq_b", "seqno_a", "top_a", "checksum_a"})
    EXPECT_NE(holds(0, name), holds(1, name)) << name << " is made in exactly one file";
  EXPECT_NE(holds(0, "arq_a"), holds(0, "arq_b")) << "one Arq mutant in each file";
  EXPECT_THAT(files[1], ::testing::HasSubstr("void add_mutants_1(std::vector<Mutant>& out)"));
  const std::string index = text_of(out() / "mutants.cpp");
  EXPECT_THAT(index, ::testing::HasSubstr("    add_mutants_0(out);\n    add_mutants_1(out);\n"));
}

} // namespace
} // namespace lamina::difftest
