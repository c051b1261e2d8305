// Every C++ layer conforms to its spec (components/<layer>.ioa): driven with the same random
// events, 10,000 steps for each of several seeds, they agree after every step on the CCP,
// on every event emitted and timer set, and on every state variable. A deliberately wrong
// layer is caught.
#include <gtest/gtest.h>

#include "components/ants_code.hpp"
#include "components/ants_exec.hpp"
#include "components/ants_route.hpp"
#include "components/arq.hpp"
#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/lamport_clock.hpp"
#include "components/lamport_mutex.hpp"
#include "components/retransmit.hpp"
#include "components/ricart_agrawala.hpp"
#include "components/rpc.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "components/window.hpp"
#include "runtime/registry.hpp"
#include "spec/stack_string.hpp"
#include "tests/conformance.hpp"

namespace lamina {
namespace {

const spec::Program& layer_specs() {
  static spec::Sources sources;
  static const spec::Program program = [] {
    spec::Diagnostics diags(sources);
    auto p = spec::load(std::string(LAMINA_SOURCE_DIR) + "/components", sources, diags);
    if (!p) throw std::runtime_error("components/ does not check:\n" + diags.format());
    return std::move(*p);
  }();
  return program;
}

constexpr std::uint64_t kSeeds = 4;

// `make` builds the layer as the options' `args` set it up, once for each seed.
template <class Make>
void expect_conformance_of(std::string_view name, Make make, test::ConformanceOptions o) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    o.seed = seed;
    const auto difference = test::check_conformance(layer_specs(), name, make, o);
    ASSERT_FALSE(difference) << name << " does not conform to its spec:\n" << *difference;
  }
}

template <class L>
void expect_conformance(std::string_view name, test::ConformanceOptions o = {}) {
  expect_conformance_of(name, [] { return L{}; }, o);
}

TEST(Conformance, TopConformsToItsSpec) { expect_conformance<Top>("Top"); }
TEST(Conformance, BottomConformsToItsSpec) { expect_conformance<Bottom>("Bottom"); }
TEST(Conformance, FragConformsToItsSpec) { expect_conformance<Frag>("Frag"); }
// Seqno and Retransmit buffer what the driver's lossy network holds back; small payloads keep
// comparing their buffers after every step cheap.
test::ConformanceOptions small_payloads() {
  test::ConformanceOptions o;
  o.max_payload = 64;
  return o;
}
TEST(Conformance, SeqnoConformsToItsSpec) { expect_conformance<Seqno>("Seqno", small_payloads()); }
TEST(Conformance, RetransmitConformsToItsSpec) {
  expect_conformance<Retransmit>("Retransmit", small_payloads());
}
TEST(Conformance, ChecksumConformsToItsSpec) { expect_conformance<Checksum>("Checksum"); }
TEST(Conformance, LamportClockConformsToItsSpec) {
  expect_conformance<LamportClock>("LamportClock");
}

TEST(Conformance, WindowConformsToItsSpec) {
  expect_conformance<Window>("Window", small_payloads());
}

// A window of 3 messages and 100 bytes, and a queue of 4: the driver's sends fill the window,
// wait, and overflow the queue; credits come every message or two.
TEST(Conformance, WindowWithASmallWindowConformsToItsSpec) {
  test::ConformanceOptions o = small_payloads();
  o.args = {{"window", spec::Value::integer(3)},
            {"bytes", spec::Value::integer(100)},
            {"queue", spec::Value::integer(4)}};
  expect_conformance_of(
      "Window",
      [] {
        Window w;
        w.window = 3;
        w.bytes = 100;
        w.queue = 4;
        return w;
      },
      o);
}

TEST(Conformance, ArqConformsToItsSpec) { expect_conformance<Arq>("Arq", small_payloads()); }

// A congestion window of 2 growing to 4, an ack per 2 messages or 500 µs, a timeout of 5 ms
// backing off to 20 ms: the driver's sends wait for the window, and its timers find losses.
// Datagrams of 300 bytes: congestion avoidance counts a message acked by its size.
TEST(Conformance, ArqWithASmallWindowConformsToItsSpec) {
  using namespace std::chrono_literals;
  test::ConformanceOptions o = small_payloads();
  o.args = {{"initial_cwnd", spec::Value::integer(2)},
            {"max_cwnd", spec::Value::integer(4)},
            {"ack_every", spec::Value::integer(2)},
            {"ack_delay", spec::Value::integer(500'000)},
            {"timeout", spec::Value::integer(5'000'000)},
            {"max_timeout", spec::Value::integer(20'000'000)},
            {"bundle_bytes", spec::Value::integer(300)}};
  expect_conformance_of(
      "Arq",
      [] {
        Arq a;
        a.initial_cwnd = 2;
        a.max_cwnd = 4;
        a.ack_every = 2;
        a.ack_delay = 500us;
        a.timeout = 5ms;
        a.max_timeout = 20ms;
        a.bundle_bytes = 300;
        return a;
      },
      o);
}

// A congestion window of 64 at first and a timeout of 10 s: sends go at once, packets overtake
// one another by far more than the SACK bitmap's 32, and the acks carry SackBlocks.
TEST(Conformance, ArqWithAWideWindowConformsToItsSpec) {
  using namespace std::chrono_literals;
  test::ConformanceOptions o = small_payloads();
  o.args = {{"initial_cwnd", spec::Value::integer(64)},
            {"max_cwnd", spec::Value::integer(256)},
            {"timeout", spec::Value::integer(10'000'000'000)},
            {"max_timeout", spec::Value::integer(600'000'000'000)}};
  expect_conformance_of(
      "Arq",
      [] {
        Arq a;
        a.initial_cwnd = 64;
        a.max_cwnd = 256;
        a.timeout = 10s;
        a.max_timeout = 600s;
        return a;
      },
      o);
}

// Rpc's header is its interface: the driver's members make calls, answer them and cancel them
// as difftest's RPC application does, and now and then break the interface.
test::ConformanceOptions rpc_application() {
  test::ConformanceOptions o = small_payloads();
  o.application = [] { return difftest::application_for("Top:Rpc:Bottom"); };
  return o;
}
TEST(Conformance, RpcConformsToItsSpec) { expect_conformance<Rpc>("Rpc", rpc_application()); }

// The lock's header is its interface: the driver's members ask for the lock (and try for it),
// give it back and withdraw requests as difftest's lock application does, and now and then
// break the interface. Groups of 2, 3 and 5.
template <class Mutex>
void expect_lock_conformance(std::string_view name) {
  for (const std::uint32_t group : {2u, 3u, 5u}) {
    test::ConformanceOptions o = small_payloads();
    o.group = group;
    o.application = [name] {
      return difftest::application_for(fmt::format("Top:{}:Bottom", name));
    };
    expect_conformance_of(name, [] { return Mutex{}; }, o);
  }
}
TEST(Conformance, LamportMutexConformsToItsSpec) {
  expect_lock_conformance<LamportMutex>("LamportMutex");
}
TEST(Conformance, RicartAgrawalaConformsToItsSpec) {
  expect_lock_conformance<RicartAgrawala>("RicartAgrawala");
}

// A server that holds 3 calls refuses the rest as busy; calls resent every 2 ms.
TEST(Conformance, RpcWithASmallCacheConformsToItsSpec) {
  using namespace std::chrono_literals;
  test::ConformanceOptions o = rpc_application();
  o.args = {{"cache", spec::Value::integer(3)}, {"resend", spec::Value::integer(2'000'000)}};
  expect_conformance_of(
      "Rpc",
      [] {
        Rpc r;
        r.cache = 3;
        r.resend = 2ms;
        return r;
      },
      o);
}

// The ANTS layers read the capsule header in place: the driver's members send capsules, code to
// pin and code-distribution packets as difftest's ANTS application does (with now and then
// another kind or random bytes), so that the layers' paths past the header are taken.
test::ConformanceOptions ants_application() {
  test::ConformanceOptions o;
  o.max_payload = 200;
  o.application = [] { return difftest::application_for("Top:AntsExec:Bottom"); };
  return o;
}
TEST(Conformance, AntsRouteConformsToItsSpec) {
  expect_conformance<AntsRoute>("AntsRoute", ants_application());
}
// A passive node: its CCP up (forward a capsule for another node) reads the node's identity.
TEST(Conformance, PassiveAntsRouteConformsToItsSpec) {
  test::ConformanceOptions o = ants_application();
  o.args = {{"active", spec::Value::boolean(false)}};
  expect_conformance_of(
      "AntsRoute",
      [] {
        AntsRoute r;
        r.active = false;
        return r;
      },
      o);
}
TEST(Conformance, AntsCodeConformsToItsSpec) {
  expect_conformance<AntsCode>("AntsCode", ants_application());
}
TEST(Conformance, AntsExecConformsToItsSpec) {
  expect_conformance<AntsExec>("AntsExec", ants_application());
}

TEST(Conformance, FragWithASmallMtuConformsToItsSpec) {
  test::ConformanceOptions o;
  o.args = {{"mtu", spec::Value::integer(100)}, {"max_message", spec::Value::integer(1000)}};
  o.max_payload = 1500; // beyond max_message too
  expect_conformance_of(
      "Frag",
      [] {
        Frag f;
        f.mtu = 100;
        f.max_message = 1000;
        return f;
      },
      o);
}

TEST(SpecStacks, DynamicCompositionBuildsTheStacksDeclaredInSpecFiles) {
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const auto program =
      spec::load(std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa", sources, diags);
  ASSERT_TRUE(program) << diags.format();
  EXPECT_EQ(spec::stack_string(*program, "ReliableFifo"),
            "Top:Frag(mtu=1400):Seqno:Retransmit(timeout=20000000ns):Checksum:Bottom");
  EXPECT_EQ(spec::stack_string(*program, "ReliableFifo", {{"mtu", 512}}),
            "Top:Frag(mtu=512):Seqno:Retransmit(timeout=20000000ns):Checksum:Bottom");
  auto stack = layer_registry().build(spec::stack_string(*program, "ClockedFifo"));
  EXPECT_EQ(stack->describe(), "Top:LamportClock:Frag:Seqno:Retransmit:Checksum:Bottom");
  EXPECT_EQ(stack->find<Frag>()->mtu, 1400u);
  EXPECT_THROW((void)spec::stack_string(*program, "Nope"), spec::StackStringError);
  EXPECT_THROW((void)spec::stack_string(*program, "ReliableFifo", {{"mut", 1}}),
               spec::StackStringError);
}

// A checksum that leaves the last byte out of its CRC: wrong, and conformance must say so.
struct SloppyChecksum : Checksum {
  template <class Ports>
  void down(Event& ev, Ports& io) {
    const auto bytes = ev.msg.bytes();
    ev.msg.push(Header{crc32c(bytes.first(bytes.empty() ? 0 : bytes.size() - 1))});
    io.down(ev);
  }
};

TEST(Conformance, CatchesAChecksumThatSkipsTheLastByte) {
  test::ConformanceOptions o;
  const auto difference =
      test::check_conformance(layer_specs(), "Checksum", [] { return SloppyChecksum{}; }, o);
  ASSERT_TRUE(difference);
  EXPECT_NE(difference->find("outputs differ"), std::string::npos) << *difference;
}

// A Seqno that forgets to count what it releases from `early`.
struct ForgetfulSeqno : Seqno {
  template <class Ports>
  void up(Event& ev, Ports& io) {
    const auto before = reordered;
    Seqno::up(ev, io);
    reordered = before;
  }
};

TEST(Conformance, CatchesAStateFieldThatDrifts) {
  test::ConformanceOptions o;
  const auto difference =
      test::check_conformance(layer_specs(), "Seqno", [] { return ForgetfulSeqno{}; }, o);
  ASSERT_TRUE(difference);
  EXPECT_NE(difference->find("field 'reordered'"), std::string::npos) << *difference;
}

} // namespace
} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::SloppyChecksum, passed, dropped_short, dropped_corrupt);
BOOST_HANA_ADAPT_STRUCT(lamina::ForgetfulSeqno, window, next_out, next_in, early, reordered,
                        dropped_short, dropped_stale, dropped_far);
