// The services' layers conform to their specs (components/<layer>.ioa), as the foundation's do
// (conformance_test.cpp): Arq, Rpc, the locks and the ANTS node's layers, each driven with the
// events of its own application where its header is its interface.
#include <cstdint>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <string_view>

#include "components/ants_code.hpp"
#include "components/ants_exec.hpp"
#include "components/ants_route.hpp"
#include "components/arq.hpp"
#include "components/lamport_mutex.hpp"
#include "components/ricart_agrawala.hpp"
#include "components/rpc.hpp"
#include "tests/layer_conformance.hpp"

namespace lamina {
namespace {

using test::expect_conformance;
using test::expect_conformance_of;
using test::expect_conformance_with;
using test::small_payloads;

TEST(Conformance, ArqConformsToItsSpec) { expect_conformance<Arq>("Arq", small_payloads()); }

// A congestion window of 2 growing to 4, an ack per 2 messages or 500 µs, a timeout of 5 ms
// backing off to 20 ms: the driver's sends wait for the window, and its timers find losses.
// Datagrams of 300 bytes: congestion avoidance counts a message acked by its size.
TEST(Conformance, ArqWithASmallWindowConformsToItsSpec) {
  expect_conformance_with<Arq>("Arq",
                               "initial_cwnd=2,max_cwnd=4,ack_every=2,ack_delay=500us,timeout=5ms,"
                               "max_timeout=20ms,bundle_bytes=300",
                               small_payloads());
}

// A congestion window of 64 at first and a timeout of 10 s: sends go at once, packets overtake
// one another by far more than the SACK bitmap's 32, and the acks carry SackBlocks.
TEST(Conformance, ArqWithAWideWindowConformsToItsSpec) {
  expect_conformance_with<Arq>("Arq", "initial_cwnd=64,max_cwnd=256,timeout=10s,max_timeout=600s",
                               small_payloads());
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
  expect_conformance_with<Rpc>("Rpc", "cache=3,resend=2ms", rpc_application());
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
  expect_conformance_with<AntsRoute>("AntsRoute", "active=false", ants_application());
}
TEST(Conformance, AntsCodeConformsToItsSpec) {
  expect_conformance<AntsCode>("AntsCode", ants_application());
}
TEST(Conformance, AntsExecConformsToItsSpec) {
  expect_conformance<AntsExec>("AntsExec", ants_application());
}

} // namespace
} // namespace lamina
