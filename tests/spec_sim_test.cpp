// The spec simulator: classic automata run reproducibly and are checked against their
// invariants; layers and stacks written in the spec language behave, byte for byte, like the
// C++ layers they specify; a spec that goes wrong is reported, never crashes.
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/lamport_clock.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/reflect.hpp"
#include "runtime/simnet.hpp"
#include "runtime/stack.hpp"
#include "spec/oracle.hpp"
#include "spec/program.hpp"
#include "spec/sim.hpp"
#include "spec/value.hpp"

namespace lamina::spec {
namespace {

// A program loaded from a file or text, with the sources its diagnostics and failures quote.
struct Loaded {
  Sources sources;
  Diagnostics diags{sources};
  Program program;
};

// nullptr (and a test failure showing the diagnostics) if the spec does not load.
std::unique_ptr<Loaded> loaded(std::unique_ptr<Loaded> l, std::optional<Program> program) {
  if (!program) {
    ADD_FAILURE() << l->diags.format();
    return nullptr;
  }
  l->program = std::move(*program);
  return l;
}

std::unique_ptr<Loaded> load_spec(std::string text) {
  auto l = std::make_unique<Loaded>();
  auto program = load_text("test.ioa", std::move(text), l->sources, l->diags);
  return loaded(std::move(l), std::move(program));
}

std::unique_ptr<Loaded> load_file(const std::string& relative) {
  auto l = std::make_unique<Loaded>();
  auto program = load(std::string(LAMINA_SOURCE_DIR) + "/" + relative, l->sources, l->diags);
  return loaded(std::move(l), std::move(program));
}

// The failure report of a run, or "" if it did not fail.
std::string report(const std::optional<Failure>& failure, const Loaded& l) {
  return failure ? failure->format(l.sources) : std::string();
}

// The failure of a run that must have failed.
Failure failure_of(const std::optional<Failure>& failure) {
  if (!failure) {
    ADD_FAILURE() << "the run did not fail";
    return {};
  }
  return *failure;
}

std::vector<std::byte> bytes(std::string_view text) {
  std::vector<std::byte> out(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::vector<std::byte> bytes_of(const Msg& m) { return {m.bytes().begin(), m.bytes().end()}; }

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The value of variable `name` in a state listing.
Value value_of(const std::vector<NamedValue>& state, std::string_view name) {
  for (const NamedValue& v : state)
    if (v.name == name) return v.value;
  ADD_FAILURE() << "no variable " << name;
  return {};
}

std::string text_of(const std::vector<NamedValue>& state, std::string_view name) {
  for (const NamedValue& v : state)
    if (v.name == name) return v.to_string();
  ADD_FAILURE() << "no variable " << name;
  return {};
}

// ------------------------------------------------------------------------ classic automata

// The classic example, as the issue gives it.
const std::string& two_counters() {
  static const std::string text = [] {
    std::ifstream in(std::string(LAMINA_SOURCE_DIR) + "/tests/specs/two_counters.ioa");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  return text;
}

std::vector<std::string> trace_text(const AutomatonSim& sim) {
  std::vector<std::string> out;
  for (const Action& a : sim.trace()) out.push_back(a.to_string());
  return out;
}

TEST(SpecSimAutomaton, TwoCountersEnableBothFirstPutsWithTheirBoundParameter) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  AutomatonSim sim(l->program, "Pair");
  std::vector<std::string> enabled;
  for (const Action& a : sim.enabled()) enabled.push_back(a.to_string());
  EXPECT_EQ(enabled, (std::vector<std::string>{"output A.put(0, 1, 0)", "output B.put(1, 0, 0)"}));
}

TEST(SpecSimAutomaton, AnOutputTakesTheMatchingInputOfTheOtherComponentWithIt) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  AutomatonSim sim(l->program, "Pair");
  ASSERT_TRUE(sim.take(sim.enabled().at(0))); // A.put(0, 1, 0), and AB's input put(0, 1, 0)
  EXPECT_EQ(text_of(sim.state(), "A.count"), "A.count = 1");
  EXPECT_EQ(text_of(sim.state(), "A.phase"), "A.phase = busy");
  EXPECT_EQ(text_of(sim.state(), "AB.buf"), "AB.buf = [0]");
  EXPECT_EQ(text_of(sim.state(), "BA.buf"), "BA.buf = []");

  // AB's output get(0, 1, 0) is B's input get(from = 0, me = 1, x = 0).
  std::vector<Action> gets;
  for (const Action& a : sim.enabled())
    if (a.component == "AB") gets.push_back(a);
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0].to_string(), "output AB.get(0, 1, 0)");
  ASSERT_TRUE(sim.take(gets[0]));
  EXPECT_EQ(text_of(sim.state(), "AB.buf"), "AB.buf = []");
  EXPECT_EQ(text_of(sim.state(), "B.seen"), "B.seen = 1");
  EXPECT_EQ(text_of(sim.state(), "A.seen"), "A.seen = 0");
}

TEST(SpecSimAutomaton, AnActionNoLongerEnabledIsRefused) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  AutomatonSim sim(l->program, "Pair");
  const Action put = sim.enabled().at(0);
  ASSERT_TRUE(sim.take(put));
  EXPECT_FALSE(sim.take(put)); // A is busy now
  EXPECT_FALSE(sim.failure());
  EXPECT_EQ(sim.trace().size(), 1u);
}

TEST(SpecSimAutomaton, TwoCountersRandomRunIsReproducibleFromItsSeed) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  AutomatonSim first(l->program, "Pair");
  AutomatonSim again(l->program, "Pair");
  AutomatonSim other(l->program, "Pair");
  const std::size_t steps = first.run_random(42, 10'000);
  EXPECT_EQ(again.run_random(42, 10'000), steps);
  other.run_random(7, 10'000);

  EXPECT_FALSE(first.failure()) << report(first.failure(), *l);
  EXPECT_EQ(trace_text(first), trace_text(again));
  EXPECT_NE(trace_text(first), trace_text(other));
  // Pair is closed: it runs until both counters reach their limit and every message is read.
  EXPECT_LT(steps, 10'000u);
  EXPECT_TRUE(first.enabled().empty());
  EXPECT_EQ(value_of(first.state(), "A.count"), Value::integer(5));
  EXPECT_EQ(value_of(first.state(), "B.count"), Value::integer(5));
  EXPECT_EQ(value_of(first.state(), "A.seen"), Value::integer(5));
  EXPECT_EQ(value_of(first.state(), "B.seen"), Value::integer(5));
}

TEST(SpecSimAutomaton, CountersWithoutTheirLimitViolateTheInvariantAndTheReportShowsTheTrace) {
  std::string wrong(two_counters());
  const std::string good = "pre phase = idle ∧ count < limit ∧ x = count";
  wrong.replace(wrong.find(good), good.size(), "pre phase = idle ∧ x = count");
  auto l = load_spec(wrong);
  ASSERT_TRUE(l);
  AutomatonSim sim(l->program, "Pair");
  sim.run_random(1, 10'000);

  ASSERT_TRUE(sim.failure());
  const Failure f = failure_of(sim.failure());
  EXPECT_EQ(f.kind, Failure::Kind::InvariantViolated);
  EXPECT_NE(f.message.find("invariant of Pair violated after step"), std::string::npos)
      << f.message;
  // The step that broke it is A's or B's sixth put, and it ends the trace.
  ASSERT_FALSE(f.trace.empty());
  EXPECT_TRUE(f.trace.back() == "output A.put(0, 1, 5)" ||
              f.trace.back() == "output B.put(1, 0, 5)")
      << f.trace.back();
  EXPECT_EQ(f.trace.size() + f.trace_omitted, sim.trace().size());
  const std::string report = f.format(l->sources);
  EXPECT_NE(report.find("test.ioa:"), std::string::npos) << report;
  EXPECT_NE(report.find("A.count ≤ 5 ∧ B.count ≤ 5"), std::string::npos) << report;
  EXPECT_NE(report.find("1. output "), std::string::npos) << report;
  EXPECT_NE(report.find(f.trace.back()), std::string::npos) << report;
  // The run stopped there.
  EXPECT_TRUE(sim.enabled().empty());
  EXPECT_FALSE(sim.run_random(2, 10));
}

constexpr std::string_view kQueue = R"(
automaton Queue(src: Nat, dst: Nat)
  signature
    input  put(const src, const dst, x: Int)
    output get(const src, const dst, x: Int)
  states
    buf: Seq[Int] := {},
    puts: Nat := 0,
    gets: Nat := 0
  transitions
    input put(src, dst, x)
      eff buf := buf ⊢ x; puts := puts + 1
    output get(src, dst, x)
      pre buf ≠ {} ∧ x = head(buf)
      eff buf := tail(buf); gets := gets + 1

invariant of Queue: len(buf) = puts - gets
)";

TEST(SpecSimAutomaton, AnOpenQueueRunsTenThousandStepsAndHandsOutWhatWasPutInOrder) {
  auto l = load_spec(std::string(kQueue));
  ASSERT_TRUE(l);
  AutomatonSim sim(l->program, "Queue", {Value::integer(0), Value::integer(1)});
  ASSERT_EQ(sim.environment_inputs().size(), 1u);
  EXPECT_EQ(sim.environment_inputs()[0].to_string(), "input put(0, 1, 0)");

  EXPECT_EQ(sim.run_random(2024, 10'000), 10'000u);
  ASSERT_FALSE(sim.failure()) << report(sim.failure(), *l);
  std::vector<Value> put;
  std::vector<Value> got;
  for (const Action& a : sim.trace())
    (a.kind == ActionKind::Input ? put : got).push_back(a.params.at(2));
  ASSERT_GT(put.size(), 1000u);
  ASSERT_GT(got.size(), 1000u);
  put.resize(got.size());
  EXPECT_EQ(put, got);
}

TEST(SpecSimAutomaton, EnvironmentInputsMustMatchConstParametersAndNotBeOutputs) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  AutomatonSim link(l->program, "Link", {Value::integer(0), Value::integer(1)});
  EXPECT_TRUE(link.apply_input("put", {Value::integer(0), Value::integer(1), Value::integer(7)}));
  EXPECT_EQ(text_of(link.state(), "buf"), "buf = [7]");
  EXPECT_FALSE(link.apply_input("put", {Value::integer(1), Value::integer(1), Value::integer(7)}));
  EXPECT_FALSE(link.apply_input("get", {Value::integer(0), Value::integer(1), Value::integer(7)}));

  AutomatonSim pair(l->program, "Pair");
  EXPECT_TRUE(pair.environment_inputs().empty());
  EXPECT_FALSE(pair.apply_input("put", {Value::integer(0), Value::integer(1), Value::integer(3)}));
  EXPECT_TRUE(pair.trace().empty());
}

constexpr std::string_view kBroken = R"(
automaton Broken
  signature
    internal bump, first, halve
  states
    x: u32 := 4294967295,
    s: Seq[u8] := {},
    d: Nat := 0,
    y: u8 := 0
  transitions
    internal bump
      eff x := x + 1
    internal first
      eff y := head(s)
    internal halve
      eff d := 10 div d
)";

// Takes the one enabled action named `name` and returns the failure it ends in.
Failure fail_with(const Loaded& l, std::string_view name) {
  AutomatonSim sim(l.program, "Broken");
  for (const Action& a : sim.enabled())
    if (a.name == name) {
      EXPECT_FALSE(sim.take(a));
      if (sim.failure()) return failure_of(sim.failure());
    }
  ADD_FAILURE() << name << " did not fail";
  return {};
}

TEST(SpecSimAutomaton, RunTimeErrorsAreReportedWithTheirLocationNotCrashes) {
  auto l = load_spec(std::string(kBroken));
  ASSERT_TRUE(l);

  const Failure overflow = fail_with(*l, "bump");
  EXPECT_EQ(overflow.kind, Failure::Kind::RuntimeError);
  EXPECT_EQ(overflow.message, "overflow: 4294967295 + 1 leaves u32");
  EXPECT_EQ(overflow.loc.line, 12u);
  EXPECT_EQ(overflow.loc.column, 18u); // the + of x + 1
  EXPECT_EQ(overflow.trace, (std::vector<std::string>{"internal bump"}));
  const std::string report = overflow.format(l->sources);
  EXPECT_NE(report.find("test.ioa:12:18: error: overflow: 4294967295 + 1 leaves u32"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("x = 4294967295"), std::string::npos) << report; // state unchanged

  const Failure empty = fail_with(*l, "first");
  EXPECT_EQ(empty.message, "head of an empty sequence");
  EXPECT_EQ(empty.loc.line, 14u);

  const Failure zero = fail_with(*l, "halve");
  EXPECT_EQ(zero.message, "division by zero: 10 div 0");
  EXPECT_EQ(zero.loc.line, 16u);
}

TEST(SpecSimAutomaton, AParameterOutOfItsTypesRangeIsRefusedAtTheStart) {
  auto l = load_spec(two_counters());
  ASSERT_TRUE(l);
  EXPECT_THROW(AutomatonSim(l->program, "Link", {Value::integer(-1), Value::integer(1)}), SimError);
  EXPECT_THROW(AutomatonSim(l->program, "Link", {Value::integer(0)}), SimError);
  EXPECT_THROW(AutomatonSim(l->program, "Nope"), SimError);
}

// -------------------------------------------------------------------------------- values

TEST(SpecSimValue, MapsAreTotalAndCanonical) {
  const Value dflt = Value::integer(0);
  Value a = Value::empty_map();
  Value b = Value::empty_map();
  a.map_set(Value::integer(2), Value::integer(7), dflt);
  a.map_set(Value::integer(0), Value::integer(5), dflt);
  a.map_set(Value::integer(1), Value::integer(0), dflt); // the default: not stored
  b.map_set(Value::integer(0), Value::integer(5), dflt);
  b.map_set(Value::integer(2), Value::integer(7), dflt);
  EXPECT_EQ(a, b);
  EXPECT_EQ(to_string(a), "{0: 5, 2: 7}");
  a.map_set(Value::integer(2), Value::integer(0), dflt);
  EXPECT_EQ(to_string(a), "{0: 5}");
  EXPECT_EQ(a.map_find(Value::integer(2)), nullptr);
}

TEST(SpecSimValue, PrintsLikeTheLanguageWritesIt) {
  EXPECT_EQ(to_string(Value::seq({Value::integer(1), Value::integer(2)})), "[1, 2]");
  EXPECT_EQ(to_string(Value::set({Value::integer(3), Value::integer(1), Value::integer(3)})),
            "{1, 3}");
  EXPECT_EQ(to_string(Value::msg(bytes("\x01\x02\x03\x04\x05"))), "msg[5: 01 02 03 04 05]");
  EXPECT_EQ(int_to_string(-(static_cast<Int128>(1) << 100)), "-1267650600228229401496703205376");
}

TEST(SpecSimValue, CheckedArithmeticReportsOverflowAndWrappingWraps) {
  Type u8;
  u8.kind = TypeKind::Fixed;
  u8.bits = 8;
  Int128 out = 0;
  std::string error;
  EXPECT_FALSE(arith(BinaryOp::Add, 255, 1, &u8, out, error));
  EXPECT_EQ(error, "overflow: 255 + 1 leaves u8");
  EXPECT_TRUE(arith(BinaryOp::AddWrap, 255, 1, &u8, out, error));
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(arith(BinaryOp::SubWrap, 0, 1, &u8, out, error));
  EXPECT_EQ(out, 255);
  EXPECT_FALSE(arith(BinaryOp::Mod, 5, 0, nullptr, out, error));
  EXPECT_EQ(error, "division by zero: 5 mod 0");
}

// ------------------------------------------------------------------------------- headers

constexpr std::string_view kHeaders = R"(
type Kind = enumeration of data, ack

layer Headers
  header Ack { kind: Kind, id: u32 }
  header Piece { message: u32, index: u32, count: u32 }
  header Marker { format: u8 }
  header Stamp { stamp: u64 }
  header Mixed { a: u8, b: u64, c: u16, d: i8 }
  states
    last: Ack := Ack{kind = data, id = 0}
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Ack{kind = ack, id = 7}))
    input up.deliver(p, m)
      eff last := top(m, Ack); emit up.deliver(p, pop(m, Ack))
)";

const Type& header_named(const Program& program, std::string_view layer, std::string_view name) {
  for (const Header& h : program.layer(layer)->headers)
    if (h.name == name) return *h.resolved;
  ADD_FAILURE() << "no header " << name;
  static const Type none;
  return none;
}

// The wire bytes of spec header `name` holding `fields`, by the spec's layout.
std::vector<std::byte> spec_bytes(const Program& program, std::string_view name,
                                  std::vector<Value> fields) {
  HeaderLayout layout;
  std::string error;
  EXPECT_TRUE(header_layout(header_named(program, "Headers", name), layout, error)) << error;
  std::vector<std::byte> out(layout.size);
  encode_header(Value::record(std::move(fields)), layout, out);
  return out;
}

template <class H>
std::vector<std::byte> cpp_bytes(const H& h) {
  Msg m = Msg::with_size(0);
  m.push(h);
  return bytes_of(m);
}

TEST(SpecSimHeaders, EncodeLikeTheCppLayersHeaderStructs) {
  auto l = load_spec(std::string(kHeaders));
  ASSERT_TRUE(l);
  const Program& p = l->program;
  EXPECT_EQ(spec_bytes(p, "Ack", {Value::enumerator(1), Value::integer(0x01020304)}),
            cpp_bytes(Retransmit::Header{Retransmit::Kind::ack, {}, 0x01020304}));
  EXPECT_EQ(spec_bytes(p, "Piece", {Value::integer(9), Value::integer(2), Value::integer(3)}),
            cpp_bytes(Frag::Header{9, 2, 3}));
  EXPECT_EQ(spec_bytes(p, "Marker", {Value::integer(76)}),
            cpp_bytes(Bottom::Header{Bottom::Format::layered}));
  EXPECT_EQ(spec_bytes(p, "Stamp", {Value::integer(0x1122334455667788)}),
            cpp_bytes(LamportClock::Header{0x1122334455667788}));

  // A struct with padding is no WireHeader (Msg::push refuses it), but the spec lays out a
  // header as C++ lays out its struct, padding zeroed.
  struct Mixed {
    std::uint8_t a;
    std::uint64_t b;
    std::uint16_t c;
    std::int8_t d;
  };
  Mixed mixed;
  std::memset(&mixed, 0, sizeof mixed); // padding included
  mixed.a = 1;
  mixed.b = 2;
  mixed.c = 3;
  mixed.d = -4;
  std::vector<std::byte> mixed_bytes(sizeof mixed);
  std::memcpy(mixed_bytes.data(), &mixed, sizeof mixed);
  EXPECT_EQ(
      spec_bytes(p, "Mixed",
                 {Value::integer(1), Value::integer(2), Value::integer(3), Value::integer(-4)}),
      mixed_bytes);
  EXPECT_EQ(spec_bytes(p, "Mixed", {}).size(), sizeof(Mixed));
}

TEST(SpecSimHeaders, ALayerPushesAndPopsTheSameBytesAsTheCppHeader) {
  auto l = load_spec(std::string(kHeaders));
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Headers");
  const auto out = sim.down_send(1, bytes("xy"), 0, Time{});
  ASSERT_EQ(out.size(), 1u);
  Msg expected = Msg::copy_of(bytes("xy"));
  expected.push(Retransmit::Header{Retransmit::Kind::ack, {}, 7});
  EXPECT_EQ(out[0].msg, bytes_of(expected));

  // A header decoded from a C++ packet, with a kind the enumeration does not have.
  Msg packet = Msg::copy_of(bytes("z"));
  // NOLINTNEXTLINE(clang-analyzer-optin.core.EnumCastOutOfRange): a corrupt kind, on purpose
  packet.push(Retransmit::Header{static_cast<Retransmit::Kind>(5), {}, 99});
  const auto up = sim.up_deliver(0, bytes_of(packet), 0, Time{});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(text_of(up[0].msg), "z");
  EXPECT_EQ(text_of(sim.state(), "last"), "last = {kind: Kind#5, id: 99}");
}

// -------------------------------------------------------------------------------- layers

// tests/specs/numbered.ioa: layers Numbered and Mark, and stack Two = Numbered : Mark.
std::unique_ptr<Loaded> load_numbered() { return load_file("tests/specs/numbered.ioa"); }

// Packet `text` numbered `seq`, as Numbered (and C++ Seqno) send it.
std::vector<std::byte> numbered(std::uint32_t seq, std::string_view text) {
  Msg m = Msg::copy_of(bytes(text));
  m.push(Seqno::Header{seq});
  return bytes_of(m);
}

LayerOutput down_send(PeerId to, std::vector<std::byte> msg, std::uint64_t lamport) {
  LayerOutput o;
  o.port = Port::Down;
  o.event = EventKind::Send;
  o.peer = to;
  o.msg = std::move(msg);
  o.lamport = lamport;
  return o;
}

LayerOutput up_deliver(PeerId from, std::vector<std::byte> msg, std::uint64_t lamport) {
  LayerOutput o = down_send(from, std::move(msg), lamport);
  o.port = Port::Up;
  o.event = EventKind::Deliver;
  return o;
}

TEST(SpecSimLayer, NumbersMessagesPerDestinationAndCarriesTheEventsLamport) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Numbered");
  EXPECT_EQ(sim.down_send(1, bytes("a"), 11, Time{}),
            std::vector<LayerOutput>{down_send(1, numbered(0, "a"), 11)});
  EXPECT_EQ(sim.down_send(1, bytes("b"), 12, Time{}),
            std::vector<LayerOutput>{down_send(1, numbered(1, "b"), 12)});
  EXPECT_EQ(sim.down_send(2, bytes("c"), 13, Time{}),
            std::vector<LayerOutput>{down_send(2, numbered(0, "c"), 13)});
  EXPECT_EQ(text_of(sim.state(), "next_out"), "next_out = {1: 2, 2: 1}");
  EXPECT_FALSE(sim.failure());
}

TEST(SpecSimLayer, ACastBecomesOneSendPerOtherMemberLikeSeqno) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Numbered", {}, /*me=*/1, /*group_size=*/4);
  const auto out = sim.down_cast(bytes("all"), 0, Time{});
  EXPECT_EQ(out, (std::vector<LayerOutput>{down_send(0, numbered(0, "all"), 0),
                                           down_send(2, numbered(0, "all"), 0),
                                           down_send(3, numbered(0, "all"), 0)}));
}

TEST(SpecSimLayer, HoldsBackALaterMessageUntilTheGapIsFilled) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Numbered");
  EXPECT_TRUE(sim.up_deliver(0, numbered(1, "second"), 5, Time{}).empty());
  EXPECT_EQ(text_of(sim.state(), "early"), "early = {0: {1: msg[6: 73 65 63 6f 6e 64]}}");
  EXPECT_FALSE(sim.ccp(Port::Up, EventKind::Deliver, 0, numbered(0, "first")).holds);

  const auto out = sim.up_deliver(0, numbered(0, "first"), 6, Time{});
  EXPECT_EQ(out, (std::vector<LayerOutput>{up_deliver(0, bytes("first"), 6),
                                           up_deliver(0, bytes("second"), 0)}));
  // The emptied inner map reads as the default, so `early` is empty again.
  EXPECT_EQ(text_of(sim.state(), "early"), "early = {}");
  EXPECT_EQ(text_of(sim.state(), "next_in"), "next_in = {0: 2}");
  const CcpResult ccp = sim.ccp(Port::Up, EventKind::Deliver, 0, numbered(2, "third"));
  EXPECT_TRUE(ccp.declared);
  EXPECT_TRUE(ccp.holds);
  EXPECT_FALSE(sim.ccp(Port::Down, EventKind::Send, 0, bytes("x")).declared);
}

TEST(SpecSimLayer, APacketTooShortForItsHeaderIsCountedNotACrash) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Numbered");
  EXPECT_TRUE(sim.up_deliver(0, bytes("ab"), 0, Time{}).empty());
  EXPECT_EQ(value_of(sim.state(), "dropped_short"), Value::integer(1));
  EXPECT_FALSE(sim.ccp(Port::Up, EventKind::Deliver, 0, bytes("ab")).holds);
}

constexpr std::string_view kFaulty = R"(
layer Faulty
  header H { n: u16 }
  states
    count: u8 := 254,
    timeouts: u32 := 0
  transitions
    input down.send(p, m)
      eff count := count + 1; emit down.send(p, m)
    input up.deliver(p, m)
      eff emit up.deliver(p, pop(m, H))
    input timer
      eff timeouts := timeouts + 1; set_timer(5ms)
)";

TEST(SpecSimLayer, ARunTimeErrorStopsTheLayerWithItsLocationAndRecentEvents) {
  auto l = load_spec(std::string(kFaulty));
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Faulty");
  EXPECT_EQ(sim.down_send(1, bytes("a"), 0, Time{}).size(), 1u);
  EXPECT_TRUE(sim.down_send(1, bytes("b"), 0, Time{3}).empty());
  ASSERT_TRUE(sim.failure());
  EXPECT_EQ(failure_of(sim.failure()).message, "overflow: 255 + 1 leaves u8");
  EXPECT_EQ(failure_of(sim.failure()).loc.line, 9u);
  EXPECT_EQ(failure_of(sim.failure()).trace,
            (std::vector<std::string>{"down.send(1, msg[1: 61]) lamport 0 at 0ns",
                                      "down.send(1, msg[1: 62]) lamport 0 at 3ns"}));
  // Stopped: nothing more happens.
  EXPECT_TRUE(sim.down_send(1, bytes("c"), 0, Time{}).empty());
  EXPECT_TRUE(sim.timer(Time{}).empty());
}

TEST(SpecSimLayer, PoppingAHeaderFromAShortMessageIsAnError) {
  auto l = load_spec(std::string(kFaulty));
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Faulty");
  EXPECT_TRUE(sim.up_deliver(0, bytes("a"), 0, Time{}).empty());
  ASSERT_TRUE(sim.failure());
  EXPECT_EQ(failure_of(sim.failure()).message,
            "pop: the message has 1 bytes, fewer than the 2 of header H");
  EXPECT_EQ(failure_of(sim.failure()).loc.line, 11u);
}

TEST(SpecSimLayer, TimersAreOutputsWithTheirDelay) {
  auto l = load_spec(std::string(kFaulty));
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Faulty");
  const auto out = sim.timer(Time{100});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, LayerOutput::Kind::Timer);
  EXPECT_EQ(out[0].delay, std::chrono::milliseconds(5));
  EXPECT_EQ(value_of(sim.state(), "timeouts"), Value::integer(1));
}

TEST(SpecSimLayer, UnknownLayerOrParameterIsRefusedWithItsName) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  EXPECT_THROW(LayerSim(l->program, "Numberd"), SimError);
  try {
    const LayerSim sim(l->program, "Numbered", {{"mtu", Value::integer(1)}});
    ADD_FAILURE() << "no error for " << sim.name();
  } catch (const SimError& e) {
    EXPECT_EQ(std::string(e.what()), "layer Numbered has no parameter 'mtu'");
  }
}

// The foundation's specs (components/*.ioa) against the C++ layers, event by event.
TEST(SpecSimLayer, LamportClockSpecStampsLikeTheCppLayer) {
  auto l = load_file("components");
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "LamportClock");
  const auto sent = sim.down_send(1, bytes("hi"), 0, Time{});
  Msg expected = Msg::copy_of(bytes("hi"));
  expected.push(LamportClock::Header{1});
  EXPECT_EQ(sent, std::vector<LayerOutput>{down_send(1, bytes_of(expected), 1)});

  Msg packet = Msg::copy_of(bytes("yo"));
  packet.push(LamportClock::Header{41});
  const auto got = sim.up_deliver(0, bytes_of(packet), 0, Time{});
  EXPECT_EQ(got, std::vector<LayerOutput>{up_deliver(0, bytes("yo"), 42)});
  EXPECT_EQ(value_of(sim.state(), "clock"), Value::integer(42));
}

// --------------------------------------------------------------------------------- stacks

TEST(SpecSimStack, ATwoLayerSpecStackDeliversAMessageEndToEndOnSimNet) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  SimNet net(1, 2, LinkConfig{.delay = std::chrono::microseconds(50)});
  StackSim a(l->program, "Two");
  StackSim b(l->program, "Two");
  net.attach(0, a);
  net.attach(1, b);
  std::vector<std::pair<PeerId, std::string>> delivered;
  net.on_deliver([&](PeerId node, Event& ev) {
    EXPECT_EQ(ev.type, EventType::Deliver);
    delivered.emplace_back(node, std::to_string(ev.peer) + ":" + text_of(ev.msg.bytes()));
  });
  std::vector<std::vector<std::byte>> wire;
  net.on_packet(
      [&](const SimNet::PacketRecord& r) { wire.emplace_back(r.bytes.begin(), r.bytes.end()); });

  net.send(0, 1, Msg::copy_of(bytes("hello")));
  net.send(0, 1, Msg::copy_of(bytes("again")));
  ASSERT_TRUE(net.run_until_idle(Time{std::chrono::seconds(1)}));

  EXPECT_FALSE(a.failure());
  EXPECT_FALSE(b.failure());
  EXPECT_EQ(delivered,
            (std::vector<std::pair<PeerId, std::string>>{{1, "0:hello"}, {1, "0:again"}}));
  // On the wire: Mark's byte, then Numbered's header, then the payload.
  ASSERT_FALSE(wire.empty());
  std::vector<std::byte> first = numbered(0, "hello");
  first.insert(first.begin(), std::byte{76});
  EXPECT_EQ(wire.front(), first);
  ASSERT_EQ(b.depth(), 2u);
  EXPECT_EQ(b.layer_name(0), "Numbered");
  EXPECT_EQ(text_of(b.state(0), "next_in"), "next_in = {0: 2}");
  EXPECT_EQ(text_of(a.state(0), "next_out"), "next_out = {1: 2}");
}

// Counts deliveries only after passing each one up, and notes the count with every send.
constexpr std::string_view kEcho = R"(
layer Counted
  states
    delivered: u32 := 0,
    seen_at_send: Seq[u32] := {}
  transitions
    input down.send(p, m)
      eff seen_at_send := seen_at_send ⊢ delivered; emit down.send(p, m)
    input up.deliver(p, m)
      eff emit up.deliver(p, m); delivered := delivered + 1

layer Pass at bottom
  states
  transitions
    input down.send(p, m)
      eff emit down.send(p, m)
    input up.deliver(p, m)
      eff emit up.deliver(p, m)

stack Echo = Counted : Pass
)";

TEST(SpecSimStack, AReplySentFromInsideADeliveryRunsBeforeTheDeliveringTransitionGoesOn) {
  auto l = load_spec(std::string(kEcho));
  ASSERT_TRUE(l);
  SimNet net(3, 2);
  StackSim a(l->program, "Echo");
  StackSim b(l->program, "Echo");
  net.attach(0, a);
  net.attach(1, b);
  std::vector<std::string> delivered;
  net.on_deliver([&](PeerId node, Event& ev) {
    delivered.push_back(std::to_string(node) + ":" + text_of(ev.msg.bytes()));
    // Node 1 answers from inside the delivery, so Counted's down.send runs while its
    // up.deliver has emitted but not yet counted: as in a C++ stack, the emit is a call.
    if (node == 1) net.send(1, 0, Msg::copy_of(bytes("re:" + text_of(ev.msg.bytes()))));
  });
  net.send(0, 1, Msg::copy_of(bytes("ping")));
  ASSERT_TRUE(net.run_until_idle(Time{std::chrono::seconds(1)}));
  EXPECT_FALSE(b.failure()) << report(b.failure(), *l);
  EXPECT_EQ(delivered, (std::vector<std::string>{"1:ping", "0:re:ping"}));
  EXPECT_EQ(text_of(b.state(0), "seen_at_send"), "seen_at_send = [0]");
  EXPECT_EQ(text_of(b.state(0), "delivered"), "delivered = 1");
}

// The reliable FIFO stack written in the spec language talks to the same stack in C++ over a
// lossy, duplicating, reordering network: every message arrives once, in order, both ways.
TEST(SpecSimStack, SpecReliableFifoInteroperatesWithTheCppStackUnderLoss) {
  auto l = load_file("stacks/fifo/fifo.ioa");
  ASSERT_TRUE(l);
  using Cpp = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;
  SimNet net(11, 2,
             LinkConfig{.delay = std::chrono::microseconds(100),
                        .jitter = std::chrono::microseconds(300),
                        .loss = 0.2,
                        .duplicate = 0.1});
  StackSim spec(l->program, "ReliableFifo", {{"mtu", Value::integer(64)}});
  Frag frag;
  frag.mtu = 64;
  Cpp cpp(Top{}, std::move(frag), Seqno{}, Retransmit{}, Checksum{}, Bottom{});
  net.attach(0, spec);
  net.attach(1, cpp);
  std::vector<std::string> at[2];
  net.on_deliver([&](PeerId node, Event& ev) { at[node].push_back(text_of(ev.msg.bytes())); });
  std::vector<std::string> sent;
  for (std::size_t i = 0; i < 40; ++i) {
    const std::string text = "message " + std::to_string(i) + std::string(i * 7, '.');
    sent.push_back(text);
    net.at(Time{std::chrono::microseconds(50 * i)}, [&net, text] {
      net.send(0, 1, Msg::copy_of(bytes(text)));
      net.send(1, 0, Msg::copy_of(bytes(text)));
    });
  }
  ASSERT_TRUE(net.run_until_idle(Time{std::chrono::seconds(30)}));
  ASSERT_FALSE(spec.failure()) << report(spec.failure(), *l);
  EXPECT_EQ(at[1], sent);
  EXPECT_EQ(at[0], sent);
  EXPECT_EQ(value_of(spec.state(0), "sent"), Value::integer(40));
  EXPECT_EQ(value_of(spec.state(0), "delivered"), Value::integer(40));
}

// The foundation's specs of Top, LamportClock, Checksum and Bottom, stacked.
constexpr std::string_view kClocked = R"(
import "top.ioa"
import "lamport_clock.ioa"
import "checksum.ioa"
import "bottom.ioa"
stack Clocked = Top : LamportClock : Checksum : Bottom
)";

// Runs one scripted scenario on `net` with `ends` attached: sends and casts on a lossy,
// reordering network, and malformed packets handed straight to a node. Returns what could be
// seen from outside: every packet with its fate, every delivery with its Lamport time.
std::vector<std::string> run_scenario(SimNet& net, const std::vector<Endpoint*>& ends) {
  std::vector<std::string> seen;
  for (PeerId n = 0; n < ends.size(); ++n) net.attach(n, *ends[n]);
  net.on_packet([&](const SimNet::PacketRecord& r) {
    seen.push_back(fmt::format("{} {}->{} fate {} {}", r.time.count(), r.from, r.to,
                               static_cast<int>(r.fate), to_string(Value::msg(r.bytes))));
  });
  net.on_deliver([&](PeerId node, Event& ev) {
    seen.push_back(fmt::format("{} deliver at {} from {} lamport {}: {}", net.now().count(), node,
                               ev.peer, ev.lamport, text_of(ev.msg.bytes())));
  });
  for (std::uint32_t i = 0; i < 30; ++i) {
    const Time at{std::chrono::microseconds(37 * i)};
    const PeerId from = i % 3;
    const PeerId to = i % 5 == 0 ? kAllPeers : (from + 1 + i % 2) % 3;
    net.at(at, [&net, from, to, i] {
      net.send(from, to, Msg::copy_of(bytes("m" + std::to_string(i))));
    });
  }
  // Malformed packets: empty, of another format, corrupt below the CRC.
  net.at(Time{std::chrono::microseconds(500)}, [&] { ends[1]->receive(0, Msg::with_size(0)); });
  net.at(Time{std::chrono::microseconds(510)},
         [&] { ends[1]->receive(0, Msg::copy_of(bytes("Zxyz"))); });
  net.at(Time{std::chrono::microseconds(520)}, [&] {
    ends[2]->receive(0, Msg::copy_of(bytes("L\x01\x02\x03\x04\x05\x06\x07\x08payload")));
  });
  EXPECT_TRUE(net.run_until_idle(Time{std::chrono::seconds(1)}));
  return seen;
}

TEST(SpecSimStack, FoundationSpecsBehaveLikeTheCppLayersPacketForPacket) {
  auto l = std::make_unique<Loaded>();
  auto program = load_text(std::string(LAMINA_SOURCE_DIR) + "/components/sim_test.ioa",
                           std::string(kClocked), l->sources, l->diags);
  l = loaded(std::move(l), std::move(program));
  ASSERT_TRUE(l);
  const LinkConfig lossy{.delay = std::chrono::microseconds(100),
                         .jitter = std::chrono::microseconds(200),
                         .loss = 0.2,
                         .duplicate = 0.1};
  using Cpp = stack<Top, LamportClock, Checksum, Bottom>;
  std::vector<std::unique_ptr<StackSim>> spec;
  std::vector<std::unique_ptr<Cpp>> cpp;
  std::vector<Endpoint*> spec_ends;
  std::vector<Endpoint*> cpp_ends;
  for (int n = 0; n < 3; ++n) {
    spec.push_back(std::make_unique<StackSim>(l->program, "Clocked"));
    cpp.push_back(std::make_unique<Cpp>());
    spec_ends.push_back(spec.back().get());
    cpp_ends.push_back(cpp.back().get());
  }
  SimNet spec_net(5, 3, lossy);
  SimNet cpp_net(5, 3, lossy);
  const auto spec_seen = run_scenario(spec_net, spec_ends);
  const auto cpp_seen = run_scenario(cpp_net, cpp_ends);
  for (const auto& s : spec) ASSERT_FALSE(s->failure()) << report(s->failure(), *l);
  EXPECT_GT(cpp_seen.size(), 60u);
  EXPECT_EQ(spec_seen, cpp_seen);

  // Every counter of every layer, by name.
  for (std::size_t n = 0; n < 3; ++n) {
    std::vector<std::vector<Field>> layers;
    cpp[n]->for_each_layer([&](const auto& layer) { layers.push_back(fields(layer)); });
    ASSERT_EQ(layers.size(), spec[n]->depth());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto state = spec[n]->state(i);
      ASSERT_EQ(state.size(), layers[i].size()) << spec[n]->layer_name(i);
      for (std::size_t f = 0; f < state.size(); ++f) {
        EXPECT_EQ(state[f].name, layers[i][f].name);
        EXPECT_EQ(to_string(state[f].value, *state[f].type), layers[i][f].value)
            << "node " << n << " " << spec[n]->layer_name(i) << "." << state[f].name;
      }
    }
  }
  // The malformed packets were refused, each for its own reason.
  EXPECT_EQ(value_of(spec[1]->state(3), "dropped_empty"), Value::integer(1));
  EXPECT_EQ(value_of(spec[1]->state(3), "dropped_unknown_format"), Value::integer(1));
  EXPECT_EQ(value_of(spec[2]->state(2), "dropped_corrupt"), Value::integer(1));
}

TEST(SpecSimStack, AnUnknownStackOrLayerArgumentIsRefused) {
  auto l = load_numbered();
  ASSERT_TRUE(l);
  EXPECT_THROW(StackSim(l->program, "Three"), SimError);
  EXPECT_THROW(StackSim(l->program, "Two", {{"mtu", Value::integer(3)}}), SimError);
}

// ------------------------------------------------------------------------------ oracles

std::string hex_of(std::span<const std::byte> b) {
  std::string out;
  for (std::byte x : b) out += fmt::format("{:02x}", static_cast<unsigned>(x));
  return out;
}

Value msg_value(std::string_view text) { return Value::msg(bytes(text)); }

// What TestRun was last called with.
std::vector<Value>& test_run_args() {
  static std::vector<Value> args;
  return args;
}

// Registered as a program registers its oracles: by a static object.
const OracleRegistrar test_run("TestRun", [](std::span<const Value> args) {
  test_run_args().assign(args.begin(), args.end());
  // Two actions: the capsule with "!" to the sender's successor, and "x" to this member.
  std::vector<std::byte> bang(args[1].bytes().begin(), args[1].bytes().end());
  bang.push_back(std::byte{'!'});
  return Value::seq({Value::record({Value::integer(args[3].as_int() + 1), Value::msg(bang)}),
                     Value::record({args[2], msg_value("x")})});
});

constexpr std::string_view kOracleSpec = R"(
type Action = record [to: Peer, capsule: Msg]
type Color = enumeration of red, green
oracle TestRun(code: Msg, capsule: Msg, me: Peer, from: Peer, now: Time, c: Color, r: Action):
  Seq[Action]
oracle Unregistered(m: Msg): Nat
oracle TestWide(n: u8): u8
oracle TestBadRecord(m: Msg): Seq[Action]
oracle TestBadKind(m: Msg): Msg
oracle TestThrows(m: Msg): Msg
layer Ants
  states
    code: Msg := {},
    calls: u32 := 0,
    n: Nat := 0,
    w: Nat := 0
  transitions
    input up.deliver(p, m)
      eff calls := calls + 1;
          for a in TestRun(code, m, me, p, now, green, Action{to = 7, capsule = m}) do
            emit down.send(a.to, a.capsule)
          od
    input down.send(p, m)
      eff if p = 0 then n := Unregistered(m)
          elseif p = 1 then w := TestWide(size(m))
          elseif p = 2 then n := len(TestBadRecord(m))
          elseif p = 3 then emit down.send(p, TestBadKind(m))
          else emit down.send(p, TestThrows(m))
          fi
automaton Doubler
  signature
    internal step
  states
    n: Nat := 0, out: Seq[Action] := {}
  transitions
    internal step
      pre n = 0
      eff out := TestRun({}, {}, 4, 5, 6, red, Action{to = 1, capsule = {}}); n := len(out)
)";

const OracleRegistrar test_wide("TestWide", [](std::span<const Value> args) {
  return Value::integer(args[0].as_int() * 100); // 300 for 3: not a u8
});
const OracleRegistrar test_bad_record("TestBadRecord", [](std::span<const Value> args) {
  return Value::seq({Value::record({Value::integer(1), args[0]}), Value::record({args[0]})});
});
const OracleRegistrar test_bad_kind("TestBadKind",
                                    [](std::span<const Value>) { return Value::integer(5); });
const OracleRegistrar test_throws("TestThrows", [](std::span<const Value>) -> Value {
  throw std::runtime_error("no capsule code");
});

TEST(SpecSimOracle, ARegisteredOracleIsCalledWithTheArgumentValuesAndItsResultIsUsed) {
  auto l = load_spec(std::string(kOracleSpec));
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Ants", {}, 3, 4);
  const auto out = sim.up_deliver(1, bytes("hi"), 0, Time{5});
  ASSERT_FALSE(sim.failure()) << report(sim.failure(), *l);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].peer, 2u);
  EXPECT_EQ(text_of(out[0].msg), "hi!");
  EXPECT_EQ(out[1].peer, 3u);
  EXPECT_EQ(text_of(out[1].msg), "x");
  const std::vector<Value>& args = test_run_args();
  ASSERT_EQ(args.size(), 7u);
  EXPECT_EQ(args[0], msg_value(""));
  EXPECT_EQ(args[1], msg_value("hi"));
  EXPECT_EQ(args[2], Value::integer(3)); // me
  EXPECT_EQ(args[3], Value::integer(1)); // from
  EXPECT_EQ(args[4], Value::integer(5)); // now
  EXPECT_EQ(args[5], Value::enumerator(1));
  EXPECT_EQ(args[6], Value::record({Value::integer(7), msg_value("hi")}));

  // In an automaton too.
  AutomatonSim automaton(l->program, "Doubler");
  ASSERT_EQ(automaton.run_random(1, 5), 1u);
  ASSERT_FALSE(automaton.failure()) << report(automaton.failure(), *l);
  EXPECT_EQ(value_of(automaton.state(), "n"), Value::integer(2));
  EXPECT_EQ(test_run_args()[2], Value::integer(4));
  EXPECT_EQ(test_run_args()[6], Value::record({Value::integer(1), msg_value("")}));
}

// The failure of a down.send to `p` on a fresh Ants (which picks the oracle by `p`).
Failure ants_failure(const Loaded& l, PeerId p, std::string_view msg = "abc") {
  LayerSim sim(l.program, "Ants");
  EXPECT_TRUE(sim.down_send(p, bytes(msg), 0, Time{}).empty());
  return failure_of(sim.failure());
}

TEST(SpecSimOracle, AnOracleWithoutAnImplementationIsAClearRunTimeError) {
  auto l = load_spec(std::string(kOracleSpec));
  ASSERT_TRUE(l);
  EXPECT_EQ(find_oracle("Unregistered"), nullptr);
  const Failure f = ants_failure(*l, 0);
  EXPECT_EQ(f.kind, Failure::Kind::RuntimeError);
  EXPECT_EQ(f.message,
            "oracle Unregistered (declared at test.ioa:6) has no implementation in this program");
  EXPECT_EQ(f.loc.line, 24u); // the call
  EXPECT_NE(f.format(l->sources).find("test.ioa:24:30: error: oracle Unregistered"),
            std::string::npos)
      << f.format(l->sources);
}

TEST(SpecSimOracle, AResultNotOfTheDeclaredTypeIsAClearRunTimeErrorNamingTheOracle) {
  auto l = load_spec(std::string(kOracleSpec));
  ASSERT_TRUE(l);
  EXPECT_EQ(ants_failure(*l, 1).message,
            "oracle TestWide returned a value that is not a u8: 300 leaves u8");
  EXPECT_EQ(ants_failure(*l, 2).message,
            "oracle TestBadRecord returned a value that is not a Seq[Action]: [1]: a record of 1 "
            "fields where Action has 2");
  EXPECT_EQ(ants_failure(*l, 3).message,
            "oracle TestBadKind returned a value that is not a Msg: an integer where Msg belongs");
  EXPECT_EQ(ants_failure(*l, 4).message, "oracle TestThrows failed: no capsule code");
  // An argument is stored into its parameter's type like any other.
  const Failure wide = ants_failure(*l, 1, std::string(300, 'a'));
  EXPECT_EQ(wide.message, "out of range: 300 leaves u8");
  EXPECT_EQ(wide.loc.line, 25u);
}

TEST(SpecSimOracle, ConformingResultsOfEveryKindPass) {
  auto l = load_spec(R"(
type Color = enumeration of red, green
header H { c: Color, n: u16 }
oracle TestEcho(m: Map[u8, Set[Color]], h: H): Map[u8, Set[Color]]
oracle TestBadMap(m: Map[u8, Set[Color]]): Map[u8, Set[Color]]
automaton A
  signature
    internal step
  states
    m: Map[u8, Set[Color]] := {}, done: Bool := false
  transitions
    internal step
      pre ¬done
      eff m[3] := insert(insert({}, green), red); m := TestEcho(m, H{c = green, n = 9});
          done := true; m := TestBadMap(m)
)");
  ASSERT_TRUE(l);
  register_oracle("TestEcho", [](std::span<const Value> args) { return args[0]; });
  register_oracle("TestBadMap", [](std::span<const Value> args) {
    Value m = args[0];
    m.items()[1] = Value::set({Value::enumerator(2)}); // an enumerator Color does not have
    return m;
  });
  AutomatonSim sim(l->program, "A");
  sim.run_random(1, 5);
  EXPECT_EQ(failure_of(sim.failure()).message,
            "oracle TestBadMap returned a value that is not a Map[u8, Set[Color]]: [3][0]: "
            "enumerator #2 of Color, which has 2"); // so TestEcho's result passed
}

// ------------------------------------------------------------------------------ sha256

TEST(SpecSimBuiltins, Sha256IsTheDigestOfTheMessageBytes) {
  auto l = load_spec(R"(
layer Hash at bottom
  states
  transitions
    input up.deliver(p, m)
      eff emit up.deliver(p, sha256(m)); emit up.deliver(p, sha256(sha256(m)))
)");
  ASSERT_TRUE(l);
  LayerSim sim(l->program, "Hash");
  auto out = sim.up_deliver(0, bytes("abc"), 0, Time{});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(hex_of(out[0].msg), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(out[1].msg.size(), 32u);
  out = sim.up_deliver(0, {}, 0, Time{});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(hex_of(out[0].msg), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// ------------------------------------------------------------------- top-level headers

// Common is owned by no layer: Upper and Lower both push, read and pop it.
constexpr std::string_view kShared = R"(
type Kind = enumeration of data, ack
header Common { kind: Kind, id: u32 }
layer Upper
  states
    next: u32 := 0,
    short: u32 := 0
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Common{kind = data, id = next})); next := next + 1
    input up.deliver(p, m)
      eff if fits(m, Common) then emit up.deliver(p, pop(m, Common)) else short := short + 1 fi
layer Lower at bottom
  header Own { n: u8 }
  states
    seen: Seq[Common] := {}
  transitions
    input down.send(p, m)
      eff emit down.send(p, push(m, Own{n = 1}))
    input up.deliver(p, m)
      eff if fits(m, Own) ∧ fits(pop(m, Own), Common) then
            seen := seen ⊢ top(pop(m, Own), Common)
          fi;
          emit up.deliver(p, pop(m, Own))
stack Shared = Upper : Lower
)";

TEST(SpecSimHeaders, ATopLevelHeaderIsPushedReadAndPoppedByTwoLayersOfAStack) {
  auto l = load_spec(std::string(kShared));
  ASSERT_TRUE(l);
  SimNet net(1, 2);
  StackSim a(l->program, "Shared");
  StackSim b(l->program, "Shared");
  net.attach(0, a);
  net.attach(1, b);
  std::vector<std::string> delivered;
  net.on_deliver([&](PeerId, Event& ev) { delivered.push_back(text_of(ev.msg.bytes())); });
  std::vector<std::vector<std::byte>> wire;
  net.on_packet(
      [&](const SimNet::PacketRecord& r) { wire.emplace_back(r.bytes.begin(), r.bytes.end()); });
  net.send(0, 1, Msg::copy_of(bytes("hello")));
  net.send(0, 1, Msg::copy_of(bytes("again")));
  ASSERT_TRUE(net.run_until_idle(Time{std::chrono::seconds(1)}));
  ASSERT_FALSE(b.failure()) << report(b.failure(), *l);
  EXPECT_EQ(delivered, (std::vector<std::string>{"hello", "again"}));
  // Own's byte, then Common as a C struct (kind, 3 bytes of padding, id), then the payload.
  ASSERT_EQ(wire.size(), 2u);
  EXPECT_EQ(hex_of(wire[1]), "01"
                             "00000000"
                             "01000000" +
                                 hex_of(bytes("again")));
  EXPECT_EQ(text_of(b.state(1), "seen"), "seen = [{kind: data, id: 0}, {kind: data, id: 1}]");
  // Only the layers' own headers count as theirs.
  EXPECT_TRUE(l->program.layer("Upper")->headers.empty());

  LayerSim upper(l->program, "Upper");
  EXPECT_TRUE(upper.up_deliver(0, bytes("abc"), 0, Time{}).empty()); // fits: no
  EXPECT_EQ(value_of(upper.state(), "short"), Value::integer(1));
}

TEST(SpecSimHeaders, ATopLevelHeaderAndOracleOfAnImportedFileServeTheImporter) {
  auto l = load_file("tests/specs/check/uses_oracles.ioa");
  ASSERT_TRUE(l);
  register_oracle("AntsRun", [](std::span<const Value> args) {
    return Value::seq({Value::record({args[3], args[1]})}); // the capsule back to its sender
  });
  LayerSim sim(l->program, "Ants", {}, 9, 10);
  // Capsule{kind = 1, hops = 4, origin = 2}: u8, a byte of padding, u16, u32.
  std::vector<std::byte> capsule = {std::byte{1}, std::byte{0}, std::byte{4},
                                    std::byte{0}, std::byte{2}, std::byte{0},
                                    std::byte{0}, std::byte{0}, std::byte{'x'}};
  const auto out = sim.up_deliver(5, capsule, 0, Time{});
  ASSERT_FALSE(sim.failure()) << report(sim.failure(), *l);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].peer, 5u);
  EXPECT_EQ(hex_of(out[0].msg), "01000500"
                                "09000000"
                                "78"); // hops + 1, origin = me
}

} // namespace
} // namespace lamina::spec
