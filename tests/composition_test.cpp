// Composition: static stacks (Hana) and dynamic stacks (registry, stack strings) built from
// the same layers; stacks that cannot work are refused with a sentence naming the layers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/registry.hpp"
#include "runtime/stack.hpp"

namespace lamina::test_layers {

// A layer of another type that calls itself Top.
struct OtherTop {
  static constexpr std::string_view name = "Top";
  using Header = NoHeader;
  std::uint64_t n = 0;
  [[nodiscard]] bool ccp_down(const Event&) const { return true; }
  [[nodiscard]] bool ccp_up(const Event&, const Header&) const { return true; }
  template <class Ports>
  void down(Event& ev, Ports& io) {
    io.down(ev);
  }
  template <class Ports>
  void up(Event& ev, Ports& io) {
    io.up(ev);
  }
};

} // namespace lamina::test_layers

BOOST_HANA_ADAPT_STRUCT(lamina::test_layers::OtherTop, n);

namespace lamina {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

// A host that records what its stack transmits and delivers, and never fires timers.
class RecordingHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 2; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId to, Msg packet) override { wire.emplace_back(to, std::move(packet)); }
  void set_timer(Time, std::uint32_t timer) override { timers.push_back(timer); }
  void deliver(Event& ev) override { delivered.push_back(std::move(ev.msg)); }

  std::vector<std::pair<PeerId, Msg>> wire;
  std::vector<std::uint32_t> timers;
  std::vector<Msg> delivered;
};

Msg text(std::string_view s) {
  return Msg::copy_of({reinterpret_cast<const std::byte*>(s.data()), s.size()});
}

using ReliableFifo = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

TEST(StaticStack, LoopsAMessageBackThroughEveryLayer) {
  RecordingHost host;
  ReliableFifo s;
  s.attach(host);
  s.send(1, text("hello"));
  ASSERT_EQ(host.wire.size(), 1u);
  EXPECT_EQ(host.wire[0].first, 1u);
  EXPECT_EQ(host.timers, (std::vector<std::uint32_t>{3})); // Retransmit is layer 3
  // The packet, received as if from peer 1, climbs back up to the application.
  s.receive(1, std::move(host.wire[0].second));
  ASSERT_EQ(host.delivered.size(), 1u);
  EXPECT_EQ(host.delivered[0], text("hello"));
  EXPECT_EQ(s.get<Top>().delivered, 1u);
  EXPECT_EQ(s.get<Retransmit>().acks_sent, 1u);
}

TEST(StaticStack, HeadersOfAllLayersShareOneBufferWithoutMovingThePayload) {
  RecordingHost host;
  ReliableFifo s;
  s.attach(host);
  s.send(1, text("x"));
  const std::size_t headers = sizeof(Frag::Header) + sizeof(Seqno::Header) +
                              sizeof(Retransmit::Header) + sizeof(Checksum::Header) +
                              sizeof(Bottom::Header);
  EXPECT_EQ(host.wire[0].second.size(), 1 + headers);
  EXPECT_EQ(host.wire[0].second.headroom(), Msg::kHeadroom - headers);
}

TEST(DynamicStack, BuildsFromAStackStringWithParameters) {
  auto s =
      layer_registry().build("Top:Frag(mtu=100):Seqno:Retransmit(timeout=5ms):Checksum:Bottom");
  EXPECT_EQ(s->describe(), "Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  EXPECT_EQ(s->find<Frag>()->mtu, 100u);
  EXPECT_EQ(s->find<Retransmit>()->timeout, std::chrono::milliseconds(5));
  RecordingHost host;
  s->attach(host);
  s->send(1, text(std::string(250, 'z')));
  EXPECT_EQ(host.wire.size(), 3u); // three fragments
}

TEST(DynamicStack, BehavesLikeTheStaticStackPacketForPacket) {
  RecordingHost static_host, dynamic_host;
  ReliableFifo a;
  auto b = layer_registry().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom");
  a.attach(static_host);
  b->attach(dynamic_host);
  for (int i = 0; i < 20; ++i) {
    const std::string payload(static_cast<std::size_t>(i * 211), static_cast<char>('a' + i));
    a.send(1, text(payload));
    b->send(1, text(payload));
  }
  ASSERT_EQ(static_host.wire.size(), dynamic_host.wire.size());
  for (std::size_t i = 0; i < static_host.wire.size(); ++i)
    EXPECT_EQ(static_host.wire[i].second, dynamic_host.wire[i].second) << "packet " << i;
}

TEST(Reflection, ListsAndComparesEveryFieldOfALayer) {
  Seqno a, b;
  a.next_out[1] = 3;
  b.next_out[1] = 3;
  EXPECT_TRUE(diff(a, b).empty());
  b.next_in[0] = 7;
  const auto d = diff(a, b);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].name, "next_in");
  EXPECT_EQ(d[0].left, "[]");
  EXPECT_EQ(d[0].right, "[7]");
  std::vector<std::string> names;
  for (const Field& f : fields(a)) names.push_back(f.name);
  EXPECT_THAT(names, ::testing::ElementsAre("window", "next_out", "next_in", "early", "reordered",
                                            "dropped_short", "dropped_stale", "dropped_far"));
}

TEST(Reflection, DynamicLayersReportTheirFieldsToo) {
  auto s = layer_registry().build("Top:Seqno:Retransmit:Bottom");
  RecordingHost host;
  s->attach(host);
  s->send(1, text("a"));
  bool found = false;
  for (const Field& f : s->layer(1).fields())
    if (f.name == "next_out") {
      EXPECT_EQ(f.value, "[0, 1]");
      found = true;
    }
  EXPECT_TRUE(found);
}

struct BadStack {
  const char* name;
  const char* spec;
  const char* message;
};

// NOLINTNEXTLINE(readability-identifier-naming): the name GoogleTest looks for
void PrintTo(const BadStack& b, std::ostream* os) { *os << '"' << b.spec << '"'; }

class RefusedStack : public ::testing::TestWithParam<BadStack> {};

TEST_P(RefusedStack, WithAMessageThatSaysWhatAndWhere) {
  try {
    (void)layer_registry().build(GetParam().spec);
    FAIL() << "built " << GetParam().spec;
  } catch (const StackError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
  }
}

TEST(LayerArgs, AParameterWithoutADefaultMustBeGivenAndABoolIsTrueOrFalse) {
  LayerArgs none("L", {});
  EXPECT_THAT([&] { (void)none.get_uint("k", std::nullopt, 0, 9); },
              ThrowsMessage<StackError>(HasSubstr("L needs its parameter 'k': give it, as in "
                                                  "L(k=...)")));
  LayerArgs flags("L", {{"on", "true", 3, false}, {"off", "yes", 11, false}});
  EXPECT_TRUE(flags.get_bool("on", false));
  EXPECT_THAT([&] { (void)flags.get_bool("off", true); },
              ThrowsMessage<StackError>(HasSubstr("column 11: L(off=yes): expected true or "
                                                  "false")));
}

TEST(Registry, RefusesASecondLayerTypeUnderATakenName) {
  Registry r;
  r.add<Top>();
  r.add<Top>(); // the same type again: harmless
  EXPECT_THROW(r.add<test_layers::OtherTop>(), StackError);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RefusedStack,
    ::testing::Values(
        BadStack{"UnknownLayer", "Top:Frg:Bottom",
                 "column 5: unknown layer 'Frg' (known layers: AntsCode, AntsExec, AntsRoute, Arq, Bottom, Checksum"},
        BadStack{"UnknownParameter", "Top:Frag(mut=3):Bottom",
                 "column 10: Frag has no parameter 'mut' (its parameters: mtu, max_message)"},
        BadStack{"ParameterNotANumber", "Top:Frag(mtu=big):Bottom",
                 "Frag(mtu=big): expected an unsigned integer"},
        BadStack{"ParameterOutOfRange", "Top:Frag(mtu=0):Bottom",
                 "Frag(mtu=0): out of range, expected 1 to 65507"},
        BadStack{"ParameterOfLayerWithoutParameters", "Top:Checksum(x=1):Bottom",
                 "Checksum has no parameter 'x' (it takes none)"},
        BadStack{"NeedNotMet", "Top:Seqno:Checksum:Bottom",
                 "Seqno needs a reliable channel below it, but no layer below Seqno provides it "
                 "(directly below is Checksum)"},
        BadStack{"TopNotOnTop", "Seqno:Top:Retransmit:Bottom",
                 "Top must be the top layer, but Seqno is above it"},
        BadStack{"BottomNotAtBottom", "Top:Bottom:Retransmit",
                 "Bottom must be the bottom layer, but Retransmit is below it"},
        BadStack{"NoBottom", "Top:Retransmit",
                 "a stack must end with a bottom layer such as Bottom"},
        BadStack{"EmptyLayerName", "Top::Bottom", "column 5: expected a layer name, found ':'"},
        BadStack{"UnclosedParameters", "Top:Frag(mtu=1",
                 "column 15: expected ')', found the end of the string"},
        BadStack{"Empty", "", "empty stack"},
        BadStack{"DurationWithoutUnit", "Top:Retransmit(timeout=20):Bottom",
                 "Retransmit(timeout=20): expected a duration such as 20ms"},
        BadStack{"DurationTooShort", "Top:Retransmit(timeout=0ms):Bottom",
                 "Retransmit(timeout=0ms): too short, at least 1000ns"}),
    [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace lamina
