// The static compositions that lamina_add_stack() compiles from the specs (stacks/CMakeLists.txt):
// every stack declared in stacks/fifo/fifo.ioa has one, with the spec's layers in order and the
// stack string's parameters in its layers, and it delivers messages on SimNet; a stack string
// whose layer sequence no lamina_add_stack() compiled, or with a bad parameter, is refused with
// a StackError that says what is wrong.
#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "runtime/simnet.hpp"
#include "runtime/static_stacks.hpp"
#include "spec/program.hpp"
#include "spec/stack_string.hpp"

namespace lamina::difftest {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

const spec::Program& fifo_spec() {
  static const spec::Program program = [] {
    spec::Sources sources;
    spec::Diagnostics diags(sources);
    auto loaded =
        spec::load(std::string(LAMINA_SOURCE_DIR) + "/stacks/fifo/fifo.ioa", sources, diags);
    if (!loaded) throw std::runtime_error(diags.format());
    return std::move(*loaded);
  }();
  return program;
}

// The stacks fifo.ioa itself declares, in the order declared.
std::vector<const spec::Stack*> fifo_stacks() {
  std::vector<const spec::Stack*> stacks;
  for (const spec::Decl& decl : fifo_spec().files.front().decls)
    if (const auto* s = std::get_if<spec::Stack>(&decl)) stacks.push_back(s);
  return stacks;
}

// The message of the StackError that building `stack_string` throws, or "" if it builds.
std::string build_error(const std::string& stack_string) {
  try {
    (void)static_stacks().build(stack_string, 1);
  } catch (const StackError& e) {
    return e.what();
  }
  return "";
}

Msg payload(std::uint32_t from, std::uint32_t k, std::size_t size) {
  Msg m = Msg::with_size(size);
  auto bytes = m.writable_bytes();
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<std::byte>((from * 131 + k * 31 + i) & 0xFF);
  return m;
}

// Sends `per_pair` messages (sizes cycling through `sizes`) from every node to every other
// node of `impl` over `net`, runs until idle (or a minute of virtual time) and returns, for each
// (receiver, sender), the payloads delivered, in order.
using Deliveries = std::map<std::pair<PeerId, PeerId>, std::vector<std::vector<std::byte>>>;
Deliveries exchange(Implementation& impl, SimNet& net, std::uint32_t per_pair,
                    const std::vector<std::size_t>& sizes) {
  Deliveries got;
  net.on_deliver([&](PeerId node, Event& ev) {
    const auto bytes = ev.msg.bytes();
    got[{node, ev.peer}].emplace_back(bytes.begin(), bytes.end());
  });
  for (PeerId n = 0; n < impl.nodes(); ++n) net.attach(n, impl.endpoint(n));
  for (std::uint32_t k = 0; k < per_pair; ++k)
    for (PeerId from = 0; from < impl.nodes(); ++from)
      for (PeerId to = 0; to < impl.nodes(); ++to)
        if (to != from) net.send(from, to, payload(from, k, sizes[k % sizes.size()]));
  net.run_until_idle(Time(60s));
  return got;
}

// Every pair got exactly the messages sent, in the order sent.
void expect_all_delivered_in_order(const Deliveries& got, std::uint32_t nodes,
                                   std::uint32_t per_pair, const std::vector<std::size_t>& sizes) {
  for (PeerId to = 0; to < nodes; ++to) {
    for (PeerId from = 0; from < nodes; ++from) {
      if (to == from) continue;
      std::vector<std::vector<std::byte>> sent;
      for (std::uint32_t k = 0; k < per_pair; ++k) {
        const Msg m = payload(from, k, sizes[k % sizes.size()]);
        sent.emplace_back(m.bytes().begin(), m.bytes().end());
      }
      const auto it = got.find({to, from});
      EXPECT_TRUE(it != got.end() && it->second == sent)
          << "node " << to << " did not get the " << per_pair << " messages of node " << from
          << " exactly once, in order (got " << (it == got.end() ? 0 : it->second.size()) << ")";
    }
  }
}

TEST(StaticStacks, EveryStackOfTheFifoSpecHasAStaticBuildWithTheSpecsLayersInOrder) {
  const auto stacks = fifo_stacks();
  std::vector<std::string> names;
  for (const spec::Stack* s : stacks) names.push_back(s->name);
  ASSERT_THAT(names, Contains("ReliableFifo"));

  for (const spec::Stack* s : stacks) {
    SCOPED_TRACE(s->name);
    const auto impl = static_stacks().build(spec::stack_string(fifo_spec(), s->name), 3);
    ASSERT_EQ(impl->nodes(), 3u);
    EXPECT_EQ(impl->name(), "static");
    ASSERT_EQ(impl->depth(), s->layers.size());
    for (PeerId n = 0; n < impl->nodes(); ++n)
      for (std::size_t i = 0; i < impl->depth(); ++i)
        EXPECT_EQ(impl->layer(n, i).name, s->layers[i].layer) << "node " << n << ", layer " << i;
  }
}

TEST(StaticStacks, SequencesListsTheLayerSequencesOfTheFifoSpec) {
  const std::vector<std::string> compiled = static_stacks().sequences();
  EXPECT_TRUE(std::is_sorted(compiled.begin(), compiled.end()));
  EXPECT_THAT(compiled, AllOf(Contains("Top:Frag:Seqno:Retransmit:Checksum:Bottom"),
                              Contains("Top:LamportClock:Frag:Seqno:Retransmit:Checksum:Bottom"),
                              Contains("Top:Frag:Checksum:Bottom")));
}

TEST(StaticStacks, TheStackStringsParametersArriveInTheLayersOfEveryNode) {
  const std::string stack =
      spec::stack_string(fifo_spec(), "ReliableFifo", {{"mtu", 512}, {"timeout", 5'000'000}});
  const auto impl = static_stacks().build(stack, 3);
  for (PeerId n = 0; n < impl->nodes(); ++n) {
    const LayerView frag = impl->layer(n, 1);
    ASSERT_EQ(frag.name, "Frag");
    EXPECT_EQ(static_cast<const Frag*>(frag.state)->mtu, 512u) << "node " << n;
    const LayerView retransmit = impl->layer(n, 3);
    ASSERT_EQ(retransmit.name, "Retransmit");
    EXPECT_EQ(static_cast<const Retransmit*>(retransmit.state)->timeout, 5ms) << "node " << n;
  }
}

RC_GTEST_PROP(StaticStacks, AnyMtuOfTheStackStringArrivesInFragAndMessagesStillArriveWhole, ()) {
  const auto mtu = *rc::gen::inRange<std::int64_t>(1, 3000);
  const auto impl =
      static_stacks().build(spec::stack_string(fifo_spec(), "ReliableFifo", {{"mtu", mtu}}), 2);
  RC_ASSERT(static_cast<const Frag*>(impl->layer(0, 1).state)->mtu ==
            static_cast<std::uint32_t>(mtu));

  const auto sizes =
      *rc::gen::container<std::vector<std::size_t>>(3, rc::gen::inRange<std::size_t>(0, 4000));
  SimNet net(*rc::gen::arbitrary<std::uint64_t>(), 2, {.delay = 1ms});
  const Deliveries got = exchange(*impl, net, 3, sizes);
  RC_ASSERT(net.pending() == 0u);
  for (PeerId to = 0; to < 2; ++to) {
    const auto it = got.find({to, 1 - to});
    RC_ASSERT(it != got.end());
    RC_ASSERT(it->second.size() == 3u);
    for (std::uint32_t k = 0; k < 3; ++k) {
      const Msg m = payload(1 - to, k, sizes[k]);
      RC_ASSERT(it->second[k] == std::vector<std::byte>(m.bytes().begin(), m.bytes().end()));
    }
  }
}

TEST(StaticStacks, ALayerSequenceThatNoSpecDeclaresIsAStackErrorNamingItAndSayingHowToGetOne) {
  const std::string error = build_error("Top:Checksum:Checksum:Bottom");
  EXPECT_THAT(error,
              HasSubstr("no static build of the layer sequence Top:Checksum:Checksum:Bottom"));
  EXPECT_THAT(error, HasSubstr("lamina_add_stack()"));
  EXPECT_THAT(error, HasSubstr("Top:Frag:Seqno:Retransmit:Checksum:Bottom"));
}

TEST(StaticStacks, TheSequenceIsFoundWhateverTheParameters) {
  // Parameters are constructor arguments; they do not pick a different static build.
  EXPECT_EQ(build_error("Top:Frag(mtu=9):Checksum:Bottom(max_packet=600)"), "");
}

TEST(StaticStacks, AnUnknownParameterIsAStackErrorNamingTheLayerAndTheParameter) {
  const std::string error =
      build_error("Top:Frag(mtu=1400,window=3):Seqno:Retransmit:Checksum:Bottom");
  EXPECT_THAT(error, AllOf(HasSubstr("Frag"), HasSubstr("'window'")));
}

TEST(StaticStacks, AnIllFormedParameterValueIsAStackErrorNamingTheLayerAndTheParameter) {
  EXPECT_THAT(build_error("Top:Frag(mtu=0):Checksum:Bottom"),
              AllOf(HasSubstr("Frag"), HasSubstr("mtu"), HasSubstr("out of range")));
  EXPECT_THAT(build_error("Top:Frag:Seqno:Retransmit(timeout=soon):Checksum:Bottom"),
              AllOf(HasSubstr("Retransmit"), HasSubstr("timeout"), HasSubstr("duration")));
}

class EveryFifoStack : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryFifoStack, DeliversEveryMessageInOrderOnALosslessSimNet) {
  const auto impl = static_stacks().build(spec::stack_string(fifo_spec(), GetParam()), 3);
  SimNet net(7, 3, {.delay = 1ms});
  const std::vector<std::size_t> sizes = {0, 1, 100, 1400, 1401, 5000};
  const Deliveries got = exchange(*impl, net, 12, sizes);
  EXPECT_EQ(net.pending(), 0u) << "still busy after a minute of virtual time";
  expect_all_delivered_in_order(got, 3, 12, sizes);
}

INSTANTIATE_TEST_SUITE_P(StaticStacks, EveryFifoStack,
                         ::testing::Values("ReliableFifo", "ClockedFifo", "Unreliable"));

TEST(StaticStacks, StaticReliableFifoDeliversEveryMessageInOrderOnALossySimNet) {
  const auto impl = static_stacks().build(spec::stack_string(fifo_spec(), "ReliableFifo"), 3);
  SimNet net(11, 3, {.delay = 1ms, .jitter = 3ms, .loss = 0.2, .duplicate = 0.1});
  const std::vector<std::size_t> sizes = {10, 3000, 700};
  const Deliveries got = exchange(*impl, net, 20, sizes);
  EXPECT_EQ(net.pending(), 0u) << "still busy after a minute of virtual time";
  expect_all_delivered_in_order(got, 3, 20, sizes);
  EXPECT_GT(net.counters().lost, 0u) << "the network was meant to lose packets";
}

} // namespace
} // namespace lamina::difftest
