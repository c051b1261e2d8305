// The difftest trace file (difftest/README.md, "Trace files"): payloads, the text of each event,
// the round trip write_trace -> read_trace, and the message for each way a file can be wrong.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits>
#include <ostream>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <string>
#include <vector>

#include "difftest/trace.hpp"

namespace lamina::difftest {

// RapidCheck shows a failing trace as the file it would be.
// NOLINTBEGIN(readability-identifier-naming): the name RapidCheck looks for
void showValue(const Trace& t, std::ostream& os) { os << write_trace(t); }
void showValue(const TraceEvent& e, std::ostream& os) { os << to_text(e); }
// NOLINTEND(readability-identifier-naming)

namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// ----------------------------------------------------------------------------------- payload

TEST(Payload, IsSplitmix64LittleEndian) {
  // The first splitmix64 output for seed 0 is 0xe220a8397b1dcdaf.
  const Msg m = payload(10, 0);
  const auto bytes = m.bytes();
  const std::vector<unsigned> expected = {0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2};
  ASSERT_EQ(bytes.size(), 10u);
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(std::to_integer<unsigned>(bytes[i]), expected[i]) << "byte " << i;
}

RC_GTEST_PROP(Payload, IsTheSameForTheSameFillAndSize, (std::uint64_t fill)) {
  const auto size = *rc::gen::inRange<std::uint32_t>(0, 5000);
  const Msg bytes = payload(size, fill);
  RC_ASSERT(bytes.size() == size);
  RC_ASSERT(payload(size, fill) == bytes);
}

RC_GTEST_PROP(Payload, DiffersForDifferentFills, (std::uint64_t a, std::uint64_t b)) {
  RC_PRE(a != b);
  RC_ASSERT(!(payload(64, a) == payload(64, b)));
}

RC_GTEST_PROP(Payload, IsAPrefixOfALongerPayloadOfTheSameFill, (std::uint64_t fill)) {
  const auto size = *rc::gen::inRange<std::uint32_t>(0, 100);
  Msg prefix = payload(size + 13, fill);
  RC_ASSERT(prefix.truncate(size));
  RC_ASSERT(payload(size, fill) == prefix);
}

// --------------------------------------------------------------------------------- event text

TraceEvent event(TraceEvent::Kind kind, Time at, PeerId node) {
  TraceEvent e;
  e.kind = kind;
  e.at = at;
  e.node = node;
  return e;
}

TEST(TraceText, PrintsEachEventKindAsDocumented) {
  TraceEvent send = event(TraceEvent::Kind::Send, 1200000ns, 0);
  send.peer = 1;
  send.size = 137;
  send.fill = 0x9e3779b9;
  EXPECT_EQ(to_text(send), "@1200000 send 0 -> 1 size 137 fill 0x9e3779b9");

  TraceEvent cast = event(TraceEvent::Kind::Cast, 5ns, 2);
  cast.size = 0;
  cast.fill = 0xABCDEF;
  EXPECT_EQ(to_text(cast), "@5 cast 2 size 0 fill 0xabcdef");

  // The link reads sender -> receiver: `peer` sent, `node` receives.
  TraceEvent arrive = event(TraceEvent::Kind::Arrive, 7ns, 1);
  arrive.peer = 3;
  arrive.packet = 12;
  EXPECT_EQ(to_text(arrive), "@7 arrive 3 -> 1 #12");
  arrive.damage = {Damage::Kind::Flip, 40, 0x0f};
  EXPECT_EQ(to_text(arrive), "@7 arrive 3 -> 1 #12 flip 40 0x0f");
  arrive.damage = {Damage::Kind::Truncate, 9, 0};
  EXPECT_EQ(to_text(arrive), "@7 arrive 3 -> 1 #12 truncate 9");

  TraceEvent timer = event(TraceEvent::Kind::Timer, 0ns, 4);
  timer.timer = 2;
  EXPECT_EQ(to_text(timer), "@0 timer 4 2");
}

TEST(TraceText, WritesTheReplayFileHeaderThenOneLinePerEvent) {
  Trace t{.spec_file = "stacks/fifo/fifo.ioa",
          .stack = "ReliableFifo",
          .params = {{"delay", 1000000}, {"window", -3}},
          .impls = {"static", "dynamic"},
          .nodes = 3,
          .seed = 42,
          .events = {}};
  TraceEvent timer = event(TraceEvent::Kind::Timer, 10ns, 2);
  timer.timer = 1;
  t.events.push_back(timer);
  EXPECT_EQ(write_trace(t),
            "# lamina difftest trace; run it again with: lamina difftest --replay <this file>\n"
            "spec stacks/fifo/fifo.ioa\n"
            "stack ReliableFifo\n"
            "param delay 1000000\n"
            "param window -3\n"
            "impl static,dynamic\n"
            "nodes 3\n"
            "seed 42\n"
            "events 1\n"
            "@10 timer 2 1\n");
}

// --------------------------------------------------------------------------------- round trip

// A word of a trace file: no blanks, no '#', no ','.
rc::Gen<std::string> gen_word() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::elementOf(
      std::string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:+=@<>"))));
}

// Two different nodes of a group of `nodes`.
rc::Gen<std::pair<PeerId, PeerId>> gen_link(std::uint32_t nodes) {
  return rc::gen::exec([nodes] {
    const auto from = *rc::gen::inRange<PeerId>(0, nodes);
    auto to = *rc::gen::inRange<PeerId>(0, nodes - 1);
    if (to >= from) ++to;
    return std::pair{from, to};
  });
}

// Any event a group of `nodes` can have, with the fields its kind does not use left at their
// defaults (they are not written).
rc::Gen<TraceEvent> gen_event(std::uint32_t nodes) {
  return rc::gen::exec([nodes] {
    TraceEvent e;
    e.kind = *rc::gen::element(TraceEvent::Kind::Send, TraceEvent::Kind::Cast,
                               TraceEvent::Kind::Arrive, TraceEvent::Kind::Timer);
    e.at = Time(*rc::gen::oneOf(
        rc::gen::inRange<std::int64_t>(0, 1'000'000'000),
        rc::gen::inRange<std::int64_t>(0, std::numeric_limits<std::int64_t>::max())));
    e.node = *rc::gen::inRange<PeerId>(0, nodes);
    switch (e.kind) {
    case TraceEvent::Kind::Send:
      std::tie(e.node, e.peer) = *gen_link(nodes);
      [[fallthrough]];
    case TraceEvent::Kind::Cast:
      e.size = *rc::gen::arbitrary<std::uint32_t>();
      e.fill = *rc::gen::arbitrary<std::uint64_t>();
      break;
    case TraceEvent::Kind::Arrive:
      std::tie(e.peer, e.node) = *gen_link(nodes);
      e.packet = *rc::gen::arbitrary<std::uint64_t>();
      e.damage.kind =
          *rc::gen::element(Damage::Kind::None, Damage::Kind::Flip, Damage::Kind::Truncate);
      if (e.damage.kind != Damage::Kind::None)
        e.damage.offset = *rc::gen::arbitrary<std::uint32_t>();
      if (e.damage.kind == Damage::Kind::Flip) e.damage.mask = *rc::gen::arbitrary<std::uint8_t>();
      break;
    case TraceEvent::Kind::Timer:
      e.timer = *rc::gen::arbitrary<std::uint32_t>();
      break;
    }
    return e;
  });
}

rc::Gen<Trace> gen_trace() {
  return rc::gen::exec([] {
    Trace t;
    // A path may have blanks inside, not at its ends.
    const auto path = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_word()));
    for (const std::string& part : path) t.spec_file += (t.spec_file.empty() ? "" : " ") + part;
    t.stack = *gen_word();
    t.params = *rc::gen::container<std::vector<std::pair<std::string, std::int64_t>>>(
        rc::gen::pair(gen_word(), rc::gen::arbitrary<std::int64_t>()));
    t.impls = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_word()));
    t.nodes = *rc::gen::oneOf(
        rc::gen::inRange<std::uint32_t>(2, 8),
        rc::gen::inRange<std::uint32_t>(2, std::numeric_limits<std::uint32_t>::max()));
    t.seed = *rc::gen::arbitrary<std::uint64_t>();
    t.events = *rc::gen::container<std::vector<TraceEvent>>(gen_event(t.nodes));
    std::ranges::sort(t.events, {}, &TraceEvent::at);
    return t;
  });
}

RC_GTEST_PROP(TraceFile, ReadsBackExactlyWhatWasWritten, ()) {
  const Trace t = *gen_trace();
  const Trace back = read_trace(write_trace(t), "t.trace");
  RC_ASSERT(back.spec_file == t.spec_file);
  RC_ASSERT(back.stack == t.stack);
  RC_ASSERT(back.params == t.params);
  RC_ASSERT(back.impls == t.impls);
  RC_ASSERT(back.nodes == t.nodes);
  RC_ASSERT(back.seed == t.seed);
  RC_ASSERT(back.events == t.events);
}

// Whatever is done to a good file, reading it either succeeds, and then the trace writes and reads
// back the same, or throws a TraceError; never anything else.
RC_GTEST_PROP(TraceFile, DamagedFilesReadOrFailWithATraceError, ()) {
  std::string text = write_trace(*gen_trace());
  const auto edits = *rc::gen::inRange(1, 5);
  for (int i = 0; i < edits; ++i) {
    const auto at = *rc::gen::inRange<std::size_t>(0, text.size());
    if (*rc::gen::arbitrary<bool>())
      text.erase(at, *rc::gen::inRange<std::size_t>(1, 20));
    else
      text.insert(at, *rc::gen::container<std::string>(
                          rc::gen::elementOf(std::string(" \t\n#@-x0189,>f\xff\r"))));
  }
  try {
    const Trace t = read_trace(text, "damaged.trace");
    RC_ASSERT(read_trace(write_trace(t), "again.trace") == t);
  } catch (const TraceError& e) {
    RC_ASSERT(std::string(e.what()).starts_with("damaged.trace:"));
  }
}

TEST(TraceFile, SkipsCommentsBlankLinesAndCarriageReturns) {
  const Trace t = read_trace("# a trace kept for issue 12\n"
                             "\n"
                             "spec my specs/fifo.ioa   # the path has a blank inside\r\n"
                             "  stack ReliableFifo\r\n"
                             "impl static # just one\n"
                             "nodes 2\n"
                             "\t\n"
                             "events 2 # two of them\n"
                             "# the first packet\n"
                             "@3 arrive 1 -> 0 #0 # comes before the timer\n"
                             "\n"
                             "@3 timer 0 1#comment straight after the number\n"
                             "# the end\n",
                             "commented.trace");
  EXPECT_EQ(t.spec_file, "my specs/fifo.ioa");
  EXPECT_EQ(t.stack, "ReliableFifo");
  EXPECT_EQ(t.impls, std::vector<std::string>{"static"});
  EXPECT_EQ(t.nodes, 2u);
  EXPECT_EQ(t.seed, 0u);
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[0].kind, TraceEvent::Kind::Arrive);
  EXPECT_EQ(t.events[0].peer, 1u);
  EXPECT_EQ(t.events[0].node, 0u);
  EXPECT_EQ(t.events[1].timer, 1u);
}

// ------------------------------------------------------------------------------ broken files

struct Broken {
  const char* name; // what is wrong, as a test name
  std::string text;
  std::size_t line;
  std::size_t column;
  const char* says; // a phrase the message must contain
};

// NOLINTNEXTLINE(readability-identifier-naming): the name GoogleTest looks for
void PrintTo(const Broken& b, std::ostream* os) { *os << b.name; }

// Four header lines; a file adds "events N" as line 5 and its events from line 6 on.
const std::string header = "spec fifo.ioa\nstack ReliableFifo\nimpl static,dynamic\nnodes 3\n";

class BrokenTrace : public ::testing::TestWithParam<Broken> {};

TEST_P(BrokenTrace, IsRefusedWithItsPlaceAndWhatWasExpected) {
  const Broken& b = GetParam();
  try {
    (void)read_trace(b.text, "bad.trace");
    FAIL() << "read without error:\n" << b.text;
  } catch (const TraceError& e) {
    const std::string where =
        "bad.trace:" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": error: ";
    EXPECT_TRUE(std::string(e.what()).starts_with(where)) << e.what() << "\nexpected " << where;
    EXPECT_THAT(e.what(), HasSubstr(b.says));
  }
}

INSTANTIATE_TEST_SUITE_P(
    TraceFile, BrokenTrace,
    ::testing::Values(
        // the header
        Broken{"UnknownKeyword", "spek fifo.ioa\n", 1, 1, "unknown keyword 'spek'"},
        Broken{"MissingStack", "spec f\nimpl s\nnodes 3\nevents 0\n", 4, 1,
               "before any 'stack' line"},
        Broken{"MissingEventsLine", header, 5, 1, "ends before the 'events <count>' line"},
        Broken{"NoStackName", "spec f\nstack   \n", 2, 9,
               "expected a stack name after 'stack', found the end of the line"},
        Broken{"TwoSpecLines", header + "spec other.ioa\nevents 0\n", 5, 1,
               "a second 'spec' line (the first is line 1)"},
        Broken{"NodesNotANumber", "spec f\nstack s\nimpl s\nnodes three\n", 4, 7,
               "expected a node count, found 'three'"},
        Broken{"NoNodes", "spec f\nstack s\nimpl s\nnodes 0\n", 4, 7, "a group of 0 nodes"},
        Broken{"NodesOutOfRange", "nodes 4294967296\n", 1, 7,
               "out of range for a node count; expected at most 4294967295"},
        Broken{"EmptyImplName", "impl static,,dynamic\n", 1, 13, "an empty implementation name"},
        Broken{"ParamValueNotANumber", header + "param delay 10ms\n", 5, 13,
               "expected a parameter value (an int64), found '10ms'"},
        Broken{"TrailingGarbageInTheHeader", "stack A B\n", 1, 9,
               "unexpected 'B'; expected the end of the line"},
        Broken{"EventBeforeEventsLine", header + "@0 timer 0 1\n", 5, 1,
               "before the 'events <count>' line"},
        // the event count
        Broken{"FewerEventsThanAnnounced", header + "events 2\n@0 timer 0 1\n", 7, 1,
               "ends after 1 of the 2 events that 'events' on line 5 announces"},
        Broken{"MoreEventsThanAnnounced", header + "events 0\n@0 timer 0 1\n", 6, 1,
               "more than the 0 events that 'events' on line 5 announces"},
        // events
        Broken{"NotAnEvent", header + "events 1\nseed 4\n", 6, 1, "expected an event"},
        Broken{"NegativeTime", header + "events 1\n@-1 timer 0 0\n", 6, 2,
               "expected a time in ns, found '-1'"},
        Broken{"TimeGoesBack", header + "events 2\n@5 timer 0 1\n@4 timer 0 1\n", 7, 1,
               "time 4 is before the previous event's time 5"},
        Broken{"UnknownEventKind", header + "events 1\n@0 deliver 0\n", 6, 4,
               "unknown event kind 'deliver'"},
        Broken{"NodeOutOfRange", header + "events 1\n@0 send 0 -> 3 size 4 fill 0x1\n", 6, 14,
               "'3' is out of range for a node id (nodes 3); expected at most 2"},
        Broken{"SendToItself", header + "events 1\n@0 send 1 -> 1 size 4 fill 0x1\n", 6, 14,
               "node 1 sends to itself"},
        Broken{"SizeTooLarge", header + "events 1\n@0 send 0 -> 1 size 4294967296 fill 0x1\n", 6,
               21, "out of range for a size in bytes"},
        Broken{"SendCutShort", header + "events 1\n@0 send 0 -> 1 size 4\n", 6, 22,
               "expected 'fill', found the end of the line"},
        Broken{"FillWithoutHexPrefix", header + "events 1\n@0 cast 0 size 4 fill 12\n", 6, 23,
               "expected a fill seed as 0x<hex digits>, found '12'"},
        Broken{"ArriveFromItself", header + "events 1\n@0 arrive 2 -> 2 #0\n", 6, 16,
               "a packet from node 2 to itself"},
        Broken{"PacketWithoutHash", header + "events 1\n@0 arrive 0 -> 1 0\n", 6, 18,
               "expected a packet number '#<n>', found '0'"},
        Broken{"MaskNotAByte", header + "events 1\n@0 arrive 0 -> 1 #0 flip 0 0x100\n", 6, 28,
               "out of range for a byte mask; expected at most 0xff"},
        Broken{"TruncateLengthTooLarge",
               header + "events 1\n@0 arrive 0 -> 1 #0 truncate 4294967296\n", 6, 30,
               "out of range for a length in bytes"},
        Broken{"UnknownDamage", header + "events 1\n@0 arrive 0 -> 1 #0 smash\n", 6, 21,
               "expected 'flip', 'truncate' or the end of the line, found 'smash'"},
        Broken{"TrailingGarbageAfterAnEvent", header + "events 1\n@0 timer 1 2 extra\n", 6, 14,
               "unexpected 'extra'; expected the end of the line"}),
    [](const ::testing::TestParamInfo<Broken>& info) { return info.param.name; });

} // namespace
} // namespace lamina::difftest
