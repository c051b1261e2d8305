// Every C++ layer conforms to its spec (components/<layer>.ioa): driven with the same random
// events, 10,000 steps for each of several seeds, they agree after every step on the CCP,
// on every event emitted and timer set, and on every state variable. A deliberately wrong
// layer is caught. The layers of the foundation; the services' layers are in
// conformance_services_test.cpp.
#include <gtest/gtest.h>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/lamport_clock.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "components/window.hpp"
#include "runtime/registry.hpp"
#include "spec/stack_string.hpp"
#include "tests/layer_conformance.hpp"

namespace lamina {
namespace {

using test::expect_conformance;
using test::expect_conformance_with;
using test::layer_specs;
using test::small_payloads;

TEST(Conformance, TopConformsToItsSpec) { expect_conformance<Top>("Top"); }
TEST(Conformance, BottomConformsToItsSpec) { expect_conformance<Bottom>("Bottom"); }
TEST(Conformance, FragConformsToItsSpec) { expect_conformance<Frag>("Frag"); }
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
  expect_conformance_with<Window>("Window", "window=3,bytes=100,queue=4", small_payloads());
}

TEST(Conformance, FragWithASmallMtuConformsToItsSpec) {
  test::ConformanceOptions o;
  o.max_payload = 1500; // beyond max_message too
  expect_conformance_with<Frag>("Frag", "mtu=100,max_message=1000", o);
}

TEST(SpecStacks, DynamicCompositionBuildsTheStacksDeclaredInSpecFiles) {
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const auto loaded =
      spec::load(std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa", sources, diags);
  if (!loaded) FAIL() << diags.format();
  const spec::Program& program = *loaded;
  EXPECT_EQ(spec::stack_string(program, "ReliableFifo"),
            "Top:Frag(mtu=1400):Seqno:Retransmit(timeout=20000000ns):Checksum:Bottom");
  EXPECT_EQ(spec::stack_string(program, "ReliableFifo", {{"mtu", 512}}),
            "Top:Frag(mtu=512):Seqno:Retransmit(timeout=20000000ns):Checksum:Bottom");
  auto stack = layer_registry().build(spec::stack_string(program, "ClockedFifo"));
  EXPECT_EQ(stack->describe(), "Top:LamportClock:Frag:Seqno:Retransmit:Checksum:Bottom");
  EXPECT_EQ(stack->find<Frag>()->mtu, 1400u);
  EXPECT_THROW((void)spec::stack_string(program, "Nope"), spec::StackStringError);
  EXPECT_THROW((void)spec::stack_string(program, "ReliableFifo", {{"mut", 1}}),
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
  if (!difference) FAIL() << "a checksum that skips the last byte conforms";
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
  if (!difference) FAIL() << "a Seqno whose count drifts conforms";
  EXPECT_NE(difference->find("field 'reordered'"), std::string::npos) << *difference;
}

} // namespace
} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::SloppyChecksum, passed, dropped_short, dropped_corrupt);
BOOST_HANA_ADAPT_STRUCT(lamina::ForgetfulSeqno, window, next_out, next_in, early, reordered,
                        dropped_short, dropped_stale, dropped_far);
