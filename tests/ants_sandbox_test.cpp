// The ANTS sandbox and soft store (services/ants): what capsule code can reach, what ends a run,
// that the node goes on after every attack, and the store's namespaces, expiry and quotas.
#include <array>
#include <chrono>
#include <cstdint>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <map>
#include <rapidcheck/gtest.h>
#include <string>
#include <vector>

#include "services/ants/sandbox.hpp"

namespace lamina::ants {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A node that records what the code asked of it.
class FakeNode : public NodeServices {
public:
  std::uint32_t me = 7, from = 3, queue = 2;
  std::int64_t now = 1'000'000'000;
  bool route_ok = true;
  struct Sent {
    std::uint32_t to;
    std::string header, payload;
  };
  std::vector<Sent> routed;
  std::vector<std::pair<std::string, std::string>> delivered;
  std::function<void()> on_deliver;

  std::uint32_t address() const override { return me; }
  std::uint32_t channel() const override { return from; }
  std::int64_t now_ns() const override { return now; }
  std::uint32_t next_hop(std::uint32_t node) const override { return node == me ? me : node + 100; }
  std::uint32_t queue_length() const override { return queue; }
  bool route_for_node(std::uint32_t node, std::span<const std::byte> header,
                      std::span<const std::byte> payload) override {
    routed.push_back({node, text(header), text(payload)});
    return route_ok;
  }
  void deliver_to_app(std::span<const std::byte> header,
                      std::span<const std::byte> payload) override {
    delivered.emplace_back(text(header), text(payload));
    if (on_deliver) on_deliver();
  }
  // The payload of the last delivery.
  std::string last() const { return delivered.empty() ? "<none>" : delivered.back().second; }
};

// A sandbox, a node, and code installed by its text.
struct Bench {
  Sandbox box;
  FakeNode node;
  std::string why;

  explicit Bench(Limits limits = {}) : box(limits) {}

  CodeType install(std::string_view code, Outcome expect = Outcome::ok) {
    const CodeType type = code_type_of(bytes(code));
    EXPECT_EQ(box.install(type, bytes(code), &why), expect) << why << "\n" << code;
    return type;
  }
  Outcome run(const CodeType& type, std::string_view payload = "p", std::string_view header = "h") {
    CapsuleView c;
    c.src = 1, c.dst = 9, c.prev = 3, c.ttl = 17;
    c.header = bytes(header);
    c.payload = bytes(payload);
    why.clear();
    return box.run(type, c, node, &why);
  }
  // Runs `body` as a handler (c is the capsule); what it delivers.
  std::string eval(std::string_view expression) {
    const CodeType t = install(
        fmt::format("return function(c) node.deliverToApp('', tostring({})) end", expression));
    const Outcome o = run(t);
    EXPECT_EQ(o, Outcome::ok) << why << "\n" << expression;
    return node.last();
  }
  Outcome run_body(std::string_view body, std::string_view payload = "p") {
    const CodeType t = install(fmt::format("return function(c)\n{}\nend", body));
    return run(t, payload);
  }
};

// What "ends soon" means in these tests: far beyond what a contained run takes on a loaded
// machine, far below what the uncontained run would (seconds to ages of the universe).
constexpr double kSoonMs = 1000.0;

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// ---- what the environment holds ----------------------------------------------------------

TEST(AntsSandbox, EveryForbiddenFunctionIsAbsent) {
  Bench b;
  for (const char* absent :
       {"io", "os", "debug", "require", "package", "load", "loadstring", "dofile", "loadfile",
        "print", "warn", "coroutine", "string.dump", "_G.load", "_ENV.require",
        "rawget(string, 'dump')", "('x').dump", "(''). dump", "getmetatable('').__index"}) {
    if (std::string_view(absent) == "getmetatable('').__index") {
      // getmetatable("") is false, so reading through it errors: wrapped in pcall.
      EXPECT_EQ(b.eval("pcall(function() return getmetatable('').__index end)"), "false");
      continue;
    }
    EXPECT_EQ(b.eval(fmt::format("{} == nil", absent)), "true") << absent;
  }
  EXPECT_EQ(b.eval("getmetatable('')"), "false");
  for (const char* option : {"stop", "collect", "step", "restart", "incremental", "generational"})
    EXPECT_EQ(b.eval(fmt::format("pcall(collectgarbage, '{}')", option)), "false") << option;
  EXPECT_EQ(b.eval("type(collectgarbage('count'))"), "number");
  // No finalizers: setmetatable refuses __gc.
  EXPECT_EQ(b.eval("pcall(setmetatable, {}, {__gc = function() end})"), "false");
  // The string metatable cannot be replaced.
  EXPECT_EQ(b.eval("pcall(setmetatable, '', {})"), "false");
}

TEST(AntsSandbox, TheSafeLibrariesAreThere) {
  Bench b;
  for (const char* present :
       {"pairs",         "ipairs",       "next",         "select",       "type",
        "tostring",      "tonumber",     "pcall",        "xpcall",       "error",
        "assert",        "rawequal",     "rawlen",       "rawget",       "rawset",
        "setmetatable",  "getmetatable", "table.concat", "table.insert", "table.sort",
        "string.format", "string.byte",  "string.find",  "string.pack",  "math.floor",
        "math.random",   "utf8.char"})
    EXPECT_EQ(b.eval(fmt::format("type({})", present)), "function") << present;
  EXPECT_EQ(b.eval("select(2, pcall(error, 'x', 0))"), "x");
  EXPECT_EQ(b.eval("select(2, xpcall(error, function(m) return 'handled ' .. m end, 'y', 0))"),
            "handled y");
  EXPECT_EQ(b.eval("('a,b'):find(',', 1, true)"), "2");
  EXPECT_EQ(b.eval("table.concat({1, 2, 3}, '-')"), "1-2-3");
  EXPECT_EQ(b.eval("('key=value'):match('(%w+)=(%w+)')"), "key");
  EXPECT_EQ(b.eval("select(2, ('a b c'):gsub(' ', ''))"), "2");
  EXPECT_EQ(b.eval("setmetatable({}, {__index = function() return 5 end}).x"), "5");
}

TEST(AntsSandbox, TypesHaveStatesOfTheirOwn) {
  Bench b;
  const CodeType a = b.install("x = 1 return function(c) x = x + 1 node.deliverToApp('', x) end");
  const CodeType other = b.install("return function(c) node.deliverToApp('', tostring(x)) end");
  EXPECT_EQ(b.run(a), Outcome::ok);
  EXPECT_EQ(b.node.last(), "2");
  EXPECT_EQ(b.run(other), Outcome::ok);
  EXPECT_EQ(b.node.last(), "nil");
  // A type that spoils its own library spoils no one else's.
  const CodeType spoiler = b.install("return function(c) string.rep = nil; table = nil end");
  EXPECT_EQ(b.run(spoiler), Outcome::ok);
  EXPECT_EQ(b.eval("string.rep('ab', 2)"), "abab");
}

// ---- install -----------------------------------------------------------------------------

// A state made ready ahead (what a UDP node does before it waits for packets) is as fresh and as
// restricted as one made at the install, and serves one install only.
TEST(AntsSandbox, AStateMadeReadyAheadIsAFreshOne) {
  Bench b;
  b.box.prepare();
  const CodeType spoiler =
      b.install("x = 1 return function(c) string.rep = nil; table = nil; os = 'mine' end");
  EXPECT_EQ(b.run(spoiler), Outcome::ok);
  b.box.prepare();
  EXPECT_EQ(b.eval("x == nil and os == nil and io == nil and load == nil and debug == nil"),
            "true");
  EXPECT_EQ(b.eval("string.rep('ab', 2) .. table.concat({1, 2})"), "abab12");
  b.box.prepare();
  b.box.prepare(); // one is ready: nothing more is made
  const CodeType bomb = b.install(
      "return function(c) local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 65536) .. i end "
      "end");
  EXPECT_EQ(b.run(bomb), Outcome::out_of_memory);
  EXPECT_EQ(b.eval("1 + 1"), "2");
}

// The warm-up at a node's start runs code of its own and leaves no trace: the types installed
// keep their state and counters, nothing reaches the node, and the next install still works.
TEST(AntsSandbox, AWarmUpLeavesNoTrace) {
  Bench b;
  const CodeType kept = b.install("local n = 0 return function(c) n = n + 1 "
                                  "node.deliverToApp('', tostring(n)) end");
  EXPECT_EQ(b.run(kept), Outcome::ok);
  const std::size_t memory = b.box.memory_used(kept);
  b.box.warm_up();
  EXPECT_EQ(b.box.types(), 1u);
  EXPECT_EQ(b.box.last_run_units(), 0u);
  EXPECT_EQ(b.node.delivered.size(), 1u);
  EXPECT_EQ(b.box.counters(kept).runs, 1u);
  EXPECT_EQ(b.box.memory_used(kept), memory);
  EXPECT_EQ(b.run(kept), Outcome::ok);
  EXPECT_EQ(b.node.last(), "2");
  b.box.prepare();
  b.box.warm_up(); // takes the state made ready, and leaves the next install to make its own
  EXPECT_EQ(b.eval("x == nil and os == nil and io == nil"), "true");
}

TEST(AntsSandbox, BinaryChunksAreRefused) {
  Bench b;
  // The header of a Lua 5.4 binary chunk (ESC "Lua" 0x54 0x00 LUAC_DATA ...), then a body.
  const std::string binary =
      std::string("\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08", 15) + std::string(64, '\x01');
  const CodeType t = code_type_of(bytes(binary));
  EXPECT_EQ(b.box.install(t, bytes(binary), &b.why), Outcome::compile_error);
  EXPECT_NE(b.why.find("binary"), std::string::npos) << b.why;
  EXPECT_FALSE(b.box.installed(t));
}

TEST(AntsSandbox, InstallRefusesWhatIsNotAHandler) {
  Bench b;
  b.install("return function(", Outcome::compile_error);
  EXPECT_NE(b.why.find("expected"), std::string::npos) << b.why;
  b.install("return 42", Outcome::compile_error);
  EXPECT_NE(b.why.find("not a function"), std::string::npos) << b.why;
  b.install("error('no')", Outcome::compile_error);
  // No node outside a run.
  b.install("local a = node.getAddress() return function() end", Outcome::compile_error);
  // The top level has a budget too, and a memory cap.
  b.install("while true do end", Outcome::out_of_instructions);
  b.install("local t = {} for i = 1, 64 do t[i] = string.rep('x', 65536) .. i end",
            Outcome::out_of_memory);
  Bench small(Limits{.code_bytes = 100});
  small.install("return function() end --" + std::string(100, '-'), Outcome::compile_error);
  EXPECT_NE(small.why.find("at most 100"), std::string::npos) << small.why;
}

TEST(AntsSandbox, AFailedInstallKeepsTheEarlierOne) {
  Bench b;
  const std::string good = "return function() node.deliverToApp('', 'good') end";
  const CodeType t = b.install(good);
  const std::string bad = "return 1";
  EXPECT_EQ(b.box.install(t, bytes(bad), &b.why), Outcome::compile_error);
  EXPECT_EQ(b.run(t), Outcome::ok);
  EXPECT_EQ(b.node.last(), "good");
  b.box.uninstall(t);
  EXPECT_FALSE(b.box.installed(t));
  EXPECT_EQ(b.run(t), Outcome::no_code);
}

// ---- the node API --------------------------------------------------------------------------

TEST(AntsSandbox, TheCapsuleAndTheNodeAreVisible) {
  Bench b;
  const CodeType t = b.install(R"(
    return function(c)
      node.deliverToApp(c.header, table.concat({c.src, c.dst, c.prev, c.ttl, c.payload,
        node.getAddress(), node.getChannel(), node.time(), node.nextHop(9), node.nextHop(7),
        node.queueLength()}, ','))
    end)");
  EXPECT_EQ(b.run(t, "pay", "head"), Outcome::ok) << b.why;
  ASSERT_EQ(b.node.delivered.size(), 1U);
  EXPECT_EQ(b.node.delivered[0].first, "head");
  EXPECT_EQ(b.node.delivered[0].second, "1,9,3,17,pay,7,3,1000.0,109,7,2");
}

TEST(AntsSandbox, RouteForNodeAndDeliverToAppPassTheExactBytes) {
  Bench b;
  const CodeType t = b.install(R"(
    return function(c)
      local sent = node.routeForNode(c.dst, c.header .. '\0\255', c.payload)
      node.deliverToApp('\0' .. c.header, tostring(sent))
    end)");
  const std::string header("h\0x", 3), payload("\x01\x00\xff\x80", 4);
  EXPECT_EQ(b.run(t, payload, header), Outcome::ok) << b.why;
  ASSERT_EQ(b.node.routed.size(), 1U);
  EXPECT_EQ(b.node.routed[0].to, 9U);
  EXPECT_EQ(b.node.routed[0].header, header + std::string("\0\xff", 2));
  EXPECT_EQ(b.node.routed[0].payload, payload);
  ASSERT_EQ(b.node.delivered.size(), 1U);
  EXPECT_EQ(b.node.delivered[0].first, std::string(1, '\0') + header);
  EXPECT_EQ(b.node.delivered[0].second, "true");
  b.node.route_ok = false;
  EXPECT_EQ(b.run(t, payload, header), Outcome::ok);
  EXPECT_EQ(b.node.last(), "false");
  EXPECT_EQ(b.run_body("node.routeForNode(-1, '', '')"), Outcome::runtime_error);
  EXPECT_EQ(b.run_body("node.routeForNode(1, {}, '')"), Outcome::runtime_error);
}

TEST(AntsSandbox, ARunOfTheSameTypeFromWithinARunIsRefused) {
  Bench b;
  const CodeType t = b.install("return function(c) node.deliverToApp('', c.payload) end");
  Outcome inner = Outcome::ok;
  int calls = 0;
  b.node.on_deliver = [&] {
    if (calls++ > 0) return;
    CapsuleView c;
    inner = b.box.run(t, c, b.node);
  };
  EXPECT_EQ(b.run(t), Outcome::ok);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(inner, Outcome::runtime_error);
  // Uninstalled from within its own run: gone once the run ends.
  b.node.on_deliver = [&] { b.box.uninstall(t); };
  EXPECT_EQ(b.run(t), Outcome::ok);
  EXPECT_FALSE(b.box.installed(t));
}

// ---- time ----------------------------------------------------------------------------------

TEST(AntsSandbox, AnInfiniteLoopRunsOutOfInstructionsAndTheNodeGoesOn) {
  Bench b;
  const CodeType loop =
      b.install("return function(c) if c.payload == 'loop' then while true do end end "
                "node.deliverToApp('', 'fine') end");
  const CodeType honest = b.install("return function(c) node.deliverToApp('', 'honest') end");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(b.run(loop, "loop"), Outcome::out_of_instructions);
  EXPECT_LT(ms_since(start), kSoonMs);
  EXPECT_NE(b.why.find("instruction budget"), std::string::npos) << b.why;
  EXPECT_EQ(b.run(honest), Outcome::ok);
  EXPECT_EQ(b.node.last(), "honest");
  EXPECT_EQ(b.run(loop, "no loop"), Outcome::ok);
  EXPECT_EQ(b.node.last(), "fine");
  EXPECT_EQ(b.run(loop, "loop"), Outcome::out_of_instructions);
  EXPECT_EQ(b.box.counters(loop).runs, 3U);
  EXPECT_EQ(b.box.counters(loop).timeouts, 2U);
  EXPECT_EQ(b.box.counters(loop).errors, 0U);
}

TEST(AntsSandbox, ARunSaysTheBudgetUnitsItSpent) {
  Bench b;
  const CodeType loop = b.install(
      "return function(c) local x = 0 for i = 1, tonumber(c.payload) do x = x + i end end");
  EXPECT_EQ(b.box.last_run_units(), 0U);
  // The first run also makes what later runs find made (the payload's string).
  ASSERT_EQ(b.run(loop, "1000"), Outcome::ok);
  const std::uint64_t first = b.box.last_run_units();
  ASSERT_EQ(b.run(loop, "1000"), Outcome::ok);
  const std::uint64_t thousand = b.box.last_run_units();
  EXPECT_LE(thousand, first);
  // The same run spends the same units: the measure is the code's, not the machine's.
  ASSERT_EQ(b.run(loop, "1000"), Outcome::ok);
  EXPECT_EQ(b.box.last_run_units(), thousand);
  ASSERT_EQ(b.run(loop, "10000"), Outcome::ok);
  const std::uint64_t ten_thousand = b.box.last_run_units();
  EXPECT_GT(ten_thousand, 9 * thousand);
  EXPECT_LT(ten_thousand, 11 * thousand);
  // A run that spends its budget spent all of it; the type's total is the sum.
  ASSERT_EQ(b.run(loop, "1e12"), Outcome::out_of_instructions);
  EXPECT_EQ(b.box.last_run_units(), b.box.limits().instructions);
  EXPECT_EQ(b.box.counters(loop).units,
            first + 2 * thousand + ten_thousand + b.box.limits().instructions);
  // A run that did not start spent nothing.
  EXPECT_EQ(b.run(CodeType{}), Outcome::no_code);
  EXPECT_EQ(b.box.last_run_units(), 0U);
}

TEST(AntsSandbox, LibraryWorkIsChargedAsItCosts) {
  Bench b;
  const auto units = [&](std::string_view body) {
    EXPECT_EQ(b.run_body(body), Outcome::ok) << body << ": " << b.why;
    return b.box.last_run_units();
  };
  // Each new object pays for its allocation and collection, beyond its bytes.
  const std::uint64_t empty = units("for i = 1, 1000 do local t = i end");
  EXPECT_GE(units("for i = 1, 1000 do local t = {} end"), empty + 8 * 1000);
  // Each call into the soft store pays for the store's work, beyond the call.
  const std::uint64_t calls = units("local f = node.getAddress for i = 1, 1000 do f('k') end");
  EXPECT_GE(units("local f = node.get for i = 1, 1000 do f('k') end"), calls + 8 * 1000);
  EXPECT_GE(units("local f = node.put for i = 1, 1000 do f('k', 'v') end"), calls + 8 * 1000);
  EXPECT_GE(units("local f = node.remove for i = 1, 1000 do f('k') end"), calls + 8 * 1000);
}

// string.rep fills its result by doubling what it has built: the same bytes as one copy at a
// time, in log2(n) copies.
RC_GTEST_PROP(AntsSandbox, StringRepBuildsWhatLuaWould, ()) {
  const std::string s = *rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 6),
                                                         rc::gen::inRange<char>('a', 'e'));
  const std::string sep = *rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 4),
                                                           rc::gen::inRange<char>('0', '3'));
  const int n = *rc::gen::inRange(-2, 300);
  std::string expected;
  for (int k = 0; k < n; ++k) expected += (k > 0 ? sep : "") + s;
  Bench b;
  const CodeType t = b.install(fmt::format(
      "return function(c) node.deliverToApp('', string.rep(c.header, {}, c.payload)) end", n));
  RC_ASSERT(b.run(t, sep, s) == Outcome::ok);
  RC_ASSERT(b.node.last() == expected);
}

TEST(AntsSandbox, PcallCannotCatchTheEndOfTheBudget) {
  Bench b;
  EXPECT_EQ(b.run_body("while true do pcall(function() while true do end end) end"),
            Outcome::out_of_instructions);
  EXPECT_EQ(b.run_body("pcall(function() while true do end end) node.deliverToApp('', 'after')"),
            Outcome::out_of_instructions);
  EXPECT_TRUE(b.node.delivered.empty());
  EXPECT_EQ(b.run_body("while true do xpcall(function() while true do end end, "
                       "function() while true do end end) end"),
            Outcome::out_of_instructions);
}

TEST(AntsSandbox, FunctionCallsSpendTheBudget) {
  Bench b;
  // A loop of C calls is few instructions per call.
  EXPECT_EQ(b.run_body("local f = node.getAddress for i = 1, 1e9 do f() end"),
            Outcome::out_of_instructions);
}

TEST(AntsSandbox, TableFunctionsPayForTheirLoops) {
  Bench b;
  for (const char* body :
       {"table.move({}, 1, 1e15, 1)", "table.concat({}, '', 1, 1e12)", "table.unpack({}, 1, 1e8)",
        "local t = {} for i = 1, 5000 do t[i] = i end for i = 1, 1e6 do table.insert(t, 1, i) "
        "table.remove(t, 1) end"}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(b.run_body(body), Outcome::out_of_instructions) << body << ": " << b.why;
    EXPECT_LT(ms_since(start), kSoonMs) << body;
  }
  // __len cannot make table.insert walk 2^50 slots.
  EXPECT_EQ(
      b.run_body("table.insert(setmetatable({}, {__len = function() return 2^50 end}), 1, 1)"),
      Outcome::runtime_error);
  EXPECT_EQ(b.eval("table.unpack({1, 2, 3}, 2)"), "2");
}

TEST(AntsSandbox, APathologicalPatternIsBounded) {
  Bench b;
  // Lua patterns backtrack: each a* tries every length for the rest, so this is about
  // 5000^20 steps inside one C call, where no instruction hook fires.
  for (const char* call : {"string.find", "string.match", "string.gmatch", "string.gsub"}) {
    const auto start = std::chrono::steady_clock::now();
    const std::string body = fmt::format(
        "local s = string.rep('a', 5000) local r = {}(s, string.rep('a*', 20) .. 'b'{}) "
        "if type(r) == 'function' then r() end",
        call, std::string_view(call) == "string.gsub" ? ", ''" : "");
    EXPECT_EQ(b.run_body(body), Outcome::out_of_instructions) << call << ": " << b.why;
    EXPECT_LT(ms_since(start), kSoonMs) << call;
  }
  // The largest pattern work the budget admits, with the worst subject: bounded in time.
  double worst = 0;
  for (int n : {100, 200, 400, 800}) {
    const auto start = std::chrono::steady_clock::now();
    const Outcome o = b.run_body(
        fmt::format("local s = string.rep('a', {}) .. 'c' local r = string.find(s, 'a*a*b')", n));
    worst = std::max(worst, ms_since(start));
    EXPECT_TRUE(o == Outcome::ok || o == Outcome::out_of_instructions) << b.why;
  }
  std::printf("slowest admitted-or-refused a*a*b search: %.3f ms\n", worst);
  EXPECT_LT(worst, kSoonMs);
  // Other backtracking shapes, on subjects around where the bound starts refusing: every run
  // ends soon, admitted or refused.
  double slowest = 0;
  for (const char* pattern : {"a-a-a-b", "[ab]*[ab]*[ab]*c", ".-.-.-x", "(a*)(a*)(a*)%1b",
                              "%bab*a*a*c", "a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?a?aaaaaaaaaaaaaaaac"}) {
    for (int n : {10, 30, 100, 300, 1000, 3000}) {
      const auto start = std::chrono::steady_clock::now();
      const Outcome o = b.run_body(
          fmt::format("local s = string.rep('a', {}) for _ in s:gmatch('{}') do end", n, pattern));
      slowest = std::max(slowest, ms_since(start));
      EXPECT_TRUE(o == Outcome::ok || o == Outcome::out_of_instructions)
          << pattern << ": " << b.why;
    }
  }
  std::printf("slowest of the other backtracking shapes: %.3f ms\n", slowest);
  EXPECT_LT(slowest, kSoonMs);
  // The bound reads the subject: patterns as capsule code writes them pass on real headers.
  EXPECT_EQ(b.eval("select(3, ('put key ' .. string.rep('x', 2000)):match('^(%a+) (%w+) ?(.*)$'))"
                   ":len()"),
            "2000");
  EXPECT_EQ(b.eval("select(2, string.rep('k=v;', 500):gsub('(%w+)=(%w+);', '%2=%1,'))"), "500");
  // string.rep("", huge) used to loop in C n times.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(b.eval("#string.rep('', math.maxinteger)"), "0");
  EXPECT_LT(ms_since(start), kSoonMs);
}

TEST(AntsSandbox, DeepRecursionEndsAsAnErrorNotACrash) {
  Limits big_budget;
  big_budget.instructions = 100'000'000;
  // Far above what the limits take even on a loaded machine; the quadratic body ends on it.
  big_budget.wall_ns = 500'000'000;
  Bench b(big_budget);
  // (body, whether it may end on the budget or the wall-clock guard rather than a limit)
  for (const auto& [body, may_time_out] : std::vector<std::pair<const char*, bool>>{
           {"local function f(n) return f(n + 1) + 1 end f(1)", false},
           {"local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local x = t.x",
            false},
           {"local function f() assert(pcall(f)) end f()", false},
           {"local function f(s) return (string.gsub(s, '.', f)) end f('abc')", false},
           {"local t = setmetatable({}, {}) getmetatable(t).__tostring = tostring tostring(t)",
            false},
           // Each call copies its growing arguments: quadratic, so time ends it.
           {"local function f(...) return f(1, ...) end f()", true},
       }) {
    const Outcome o = b.run_body(body);
    EXPECT_NE(o, Outcome::ok) << body;
    if (!may_time_out) EXPECT_NE(o, Outcome::out_of_instructions) << body << ": " << b.why;
  }
  EXPECT_EQ(b.eval("1 + 1"), "2");
}

// ---- memory --------------------------------------------------------------------------------

TEST(AntsSandbox, AMemoryBombHitsTheCapAndTheNodeGoesOn) {
  Limits limits;
  limits.instructions = 100'000'000; // so that memory, not time, ends these
  limits.wall_ns = 0;                // nor the clock, on a loaded machine
  Bench b(limits);
  const CodeType honest = b.install("return function(c) node.deliverToApp('', 'honest') end");
  for (const char* body : {
           "local s = string.rep('x', 1e9)",
           "local s = string.rep('x', 1e5) while true do s = s .. s end",
           "local t = {} local i = 0 while true do i = i + 1 t[i] = {} end",
           "local t = {} for i = 1, 1e6 do t[i] = string.rep('y', 1000) .. i end "
           "local s = table.concat(t)",
           "local ok = pcall(string.rep, 'x', 1e9) node.deliverToApp('', 'caught')",
           "local s = node.seal(string.rep('z', 600000))",
       }) {
    b.box.set_seal_key(std::array<std::uint8_t, 32>{});
    const CodeType t = b.install(fmt::format("return function(c)\n{}\nend", body));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(b.run(t), Outcome::out_of_memory) << body << ": " << b.why;
    EXPECT_LT(ms_since(start), 1000.0) << body;
    EXPECT_EQ(b.box.counters(t).memory_hits, 1U);
    EXPECT_LE(b.box.memory_used(t), limits.memory_bytes);
    EXPECT_EQ(b.run(honest), Outcome::ok);
    EXPECT_EQ(b.node.last(), "honest");
  }
}

TEST(AntsSandbox, AStateHeldAtItsCapIsRebuiltFromItsCode) {
  Limits limits;
  limits.instructions = 100'000'000;
  limits.wall_ns = 0; // memory, not time, ends the bombs, however loaded the machine
  Bench b(limits);
  // The garbage of a local bomb is collected: the state goes on, globals kept.
  const CodeType local = b.install(R"(
    n = 0
    return function(c)
      n = n + 1
      if c.payload == 'bomb' then local t = {} while true do t[#t + 1] = {} end end
      node.deliverToApp('', tostring(n))
    end)");
  EXPECT_EQ(b.run(local, "bomb"), Outcome::out_of_memory);
  EXPECT_EQ(b.run(local), Outcome::ok);
  EXPECT_EQ(b.node.last(), "2");
  EXPECT_EQ(b.box.counters(local).rebuilds, 0U);
  // A global bomb holds the memory: the state is rebuilt, its globals start again.
  const CodeType global = b.install(R"(
    n = 0
    kept = {}
    return function(c)
      n = n + 1
      if c.payload == 'bomb' then while true do kept[#kept + 1] = {} end end
      node.deliverToApp('', tostring(n))
    end)");
  EXPECT_EQ(b.run(global), Outcome::ok);
  EXPECT_EQ(b.run(global, "bomb"), Outcome::out_of_memory);
  EXPECT_EQ(b.box.counters(global).rebuilds, 1U);
  EXPECT_LT(b.box.memory_used(global), limits.memory_bytes / 2);
  EXPECT_EQ(b.run(global), Outcome::ok);
  EXPECT_EQ(b.node.last(), "1");
  EXPECT_EQ(b.box.counters(global).runs, 3U);
  EXPECT_EQ(b.box.counters(global).memory_hits, 1U);
}

// ---- the soft store through node ---------------------------------------------------------

TEST(AntsSandbox, StoreNamespacesAreIsolatedBetweenTypes) {
  Bench b;
  const char* code = R"(
    return function(c)
      local before = node.get('k')
      node.put('k', c.payload)
      node.deliverToApp('', tostring(before) .. ' ' .. node.get('k'))
    end -- %s)";
  const CodeType a = b.install(fmt::format(fmt::runtime(code), "a"));
  const CodeType other = b.install(std::string(code) + "b");
  EXPECT_EQ(b.run(a, "from-a"), Outcome::ok);
  EXPECT_EQ(b.node.last(), "nil from-a");
  EXPECT_EQ(b.run(other, "from-b"), Outcome::ok);
  EXPECT_EQ(b.node.last(), "nil from-b");
  EXPECT_EQ(b.run(a, "again"), Outcome::ok);
  EXPECT_EQ(b.node.last(), "from-a again");
  EXPECT_EQ(b.box.store().total().entries, 2U);
}

TEST(AntsSandbox, StoreEntriesExpireAndQuotasRefuse) {
  Limits limits;
  limits.store_entries = 3;
  limits.store_bytes = 100;
  Bench b(limits);
  const CodeType t = b.install(R"(
    return function(c)
      local cmd, k, v = c.payload:match('^(%a+) (%w+) ?(.*)$')
      if cmd == 'put' then node.deliverToApp('', tostring(node.put(k, v, 10)))
      elseif cmd == 'get' then node.deliverToApp('', tostring(node.get(k)))
      elseif cmd == 'remove' then node.deliverToApp('', tostring(node.remove(k))) end
    end)");
  auto say = [&](std::string_view command) {
    EXPECT_EQ(b.run(t, command), Outcome::ok) << b.why;
    return b.node.last();
  };
  EXPECT_EQ(say("put a 1"), "true");
  EXPECT_EQ(say("put b 2"), "true");
  EXPECT_EQ(say("put c 3"), "true");
  EXPECT_EQ(say("put d 4"), "false");                       // 3 entries
  EXPECT_EQ(say("put a " + std::string(99, 'x')), "false"); // 104 bytes with b and c
  EXPECT_EQ(say("put a " + std::string(94, 'x')), "true");  // replaces a: 99 bytes held
  EXPECT_EQ(say("remove b"), "true");
  EXPECT_EQ(say("put eee 555"), "false"); // 97 held + 6 > 100
  EXPECT_EQ(say("get c"), "3");
  b.node.now += 10'000'000;              // 10 ms: all expired
  EXPECT_EQ(say("get c"), "nil");        // dropped on access
  EXPECT_EQ(say("put eee 555"), "true"); // a (95 bytes) dropped by the sweep
  EXPECT_EQ(b.box.store().usage(t).entries, 1U);
  EXPECT_EQ(b.run_body("node.put('k', 'v', 0)"), Outcome::ok);
  EXPECT_EQ(b.run_body("node.put('k', {})"), Outcome::runtime_error);
}

TEST(AntsSandbox, SealAndOpenRoundTripAndDetectTampering) {
  Bench b;
  const char* code = R"(
    return function(c)
      local s = node.seal(c.payload)
      local t = s:sub(1, 30) .. string.char((s:byte(31) + 1) % 256) .. s:sub(32)
      node.deliverToApp(s, table.concat({tostring(node.open(s)), tostring(node.open(t)),
        tostring(node.open('short')), tostring(node.seal(c.payload) ~= s)}, ','))
    end)";
  const CodeType t = b.install(code);
  EXPECT_EQ(b.run(t, "secret message"), Outcome::runtime_error); // no key yet
  EXPECT_NE(b.why.find("no key"), std::string::npos) << b.why;
  std::array<std::uint8_t, 32> key{};
  key[0] = 42;
  b.box.set_seal_key(key);
  EXPECT_EQ(b.run(t, "secret message"), Outcome::ok) << b.why;
  EXPECT_EQ(b.node.last(), "secret message,nil,nil,true");
  const std::string sealed = b.node.delivered.back().first;
  EXPECT_EQ(sealed.size(), 14U + 40U);
  EXPECT_EQ(sealed.find("secret"), std::string::npos);
  // Under another key the box does not open.
  key[0] = 43;
  b.box.set_seal_key(key);
  const CodeType opener = b.install("return function(c) node.deliverToApp('', "
                                    "tostring(node.open(c.payload))) end");
  EXPECT_EQ(b.run(opener, sealed), Outcome::ok);
  EXPECT_EQ(b.node.last(), "nil");
  key[0] = 42;
  b.box.set_seal_key(key);
  EXPECT_EQ(b.run(opener, sealed), Outcome::ok);
  EXPECT_EQ(b.node.last(), "secret message");
}

// ---- speed ---------------------------------------------------------------------------------

TEST(AntsSandbox, TrivialCodeRunsFast) {
  Bench b;
  const CodeType t =
      b.install("return function(c) node.routeForNode(c.dst, c.header, c.payload) end");
  CapsuleView c;
  c.dst = 9;
  const std::string header(16, 'h'), payload(64, 'p');
  c.header = bytes(header);
  c.payload = bytes(payload);
  struct Quiet : FakeNode {
    std::uint64_t sent = 0;
    bool route_for_node(std::uint32_t, std::span<const std::byte>,
                        std::span<const std::byte>) override {
      ++sent;
      return true;
    }
  } node;
  constexpr int n = 300'000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) b.box.run(t, c, node);
  const double ns = ms_since(start) * 1e6 / n;
  EXPECT_EQ(node.sent, std::uint64_t{n});
  std::printf("trivial routing handler: %.0f ns per capsule (%.0f capsules/s)\n", ns, 1e9 / ns);
  RecordProperty("ns_per_capsule", std::to_string(ns));
}

// ---- the soft store on its own -------------------------------------------------------------

CodeType type_number(std::uint8_t n) {
  CodeType t{};
  t[0] = n;
  return t;
}

TEST(SoftStore, PutGetRemoveAndTotals) {
  SoftStore store(SoftStore::Quota{.entries = 2, .bytes = 10, .max_age_ns = 100});
  const CodeType a = type_number(1), c = type_number(2);
  EXPECT_TRUE(store.put(a, "k", "v", 0));
  EXPECT_TRUE(store.put(c, "k", "w", 0));
  EXPECT_EQ(store.get(a, "k", 1), std::optional<std::string_view>("v"));
  EXPECT_EQ(store.get(c, "k", 1), std::optional<std::string_view>("w"));
  EXPECT_EQ(store.total().entries, 2U);
  EXPECT_EQ(store.total().bytes, 4U);
  EXPECT_FALSE(store.put(a, "big", "12345678", 0)); // 11 bytes
  EXPECT_TRUE(store.put(a, "k", "123456789", 0));   // replacing: 10 bytes
  EXPECT_EQ(store.usage(a).bytes, 10U);
  EXPECT_FALSE(store.put(a, "x", "", 0));
  EXPECT_TRUE(store.remove(a, "k"));
  EXPECT_FALSE(store.remove(a, "k"));
  EXPECT_EQ(store.types(), 1U);
  // max_age_ns caps the age asked for; age <= 0 is refused.
  EXPECT_TRUE(store.put(a, "k", "v", 0, 1'000));
  EXPECT_FALSE(store.get(a, "k", 100));
  EXPECT_FALSE(store.put(a, "k", "v", 0, 0));
  EXPECT_TRUE(store.put(a, "k", "v", 0, 50));
  EXPECT_TRUE(store.get(a, "k", 49));
  EXPECT_EQ(store.sweep(99), 1U);  // a's k (50 ns)
  EXPECT_EQ(store.sweep(100), 1U); // c's k (max_age_ns: 100 ns)
  EXPECT_EQ(store.total().entries, 0U);
  EXPECT_EQ(store.types(), 0U);
  store.put(a, "k", "v", 0);
  store.drop(a);
  EXPECT_EQ(store.total().entries, 0U);
}

// Random puts, gets, removes, sweeps and the passing of time against a model: the store holds
// what the model holds, no type passes its quota, and the total is the sum of the types.
RC_GTEST_PROP(SoftStore, QuotasHoldAndTheStoreAgreesWithAModel, ()) {
  const SoftStore::Quota quota{.entries = 4, .bytes = 40, .max_age_ns = 100};
  SoftStore store(quota);
  struct Entry {
    std::string value;
    std::int64_t expires;
  };
  std::map<int, std::map<std::string, Entry>> model;
  std::int64_t now = 0;
  auto held = [&](int t) {
    SoftStore::Usage u;
    for (const auto& [k, e] : model[t]) u.entries += 1, u.bytes += k.size() + e.value.size();
    return u;
  };
  auto drop_expired = [&](int t) {
    std::erase_if(model[t], [&](const auto& kv) { return now >= kv.second.expires; });
  };
  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 0; step < steps; ++step) {
    const int t = *rc::gen::inRange(0, 3);
    const CodeType type = type_number(static_cast<std::uint8_t>(t));
    const std::string key(1, static_cast<char>('a' + *rc::gen::inRange(0, 6)));
    switch (*rc::gen::inRange(0, 5)) {
    case 0: { // put
      const std::string value(*rc::gen::inRange(0, 25), 'v');
      const std::int64_t age = *rc::gen::inRange(-5, 150);
      bool expect = false;
      if (age > 0 && key.size() + value.size() <= quota.bytes) {
        auto fits = [&] {
          auto u = held(t);
          if (auto it = model[t].find(key); it != model[t].end())
            u.entries -= 1, u.bytes -= key.size() + it->second.value.size();
          return u.entries + 1 <= quota.entries &&
                 u.bytes + key.size() + value.size() <= quota.bytes;
        };
        expect = fits();
        if (!expect) {
          drop_expired(t);
          expect = fits();
        }
        if (expect) model[t][key] = Entry{value, now + std::min(age, quota.max_age_ns)};
      }
      RC_ASSERT(store.put(type, key, value, now, age) == expect);
      break;
    }
    case 1: { // get
      std::optional<std::string_view> expect;
      if (auto it = model[t].find(key); it != model[t].end()) {
        if (now >= it->second.expires)
          model[t].erase(it);
        else
          expect = it->second.value;
      }
      RC_ASSERT(store.get(type, key, now) == expect);
      break;
    }
    case 2: // remove
      RC_ASSERT(store.remove(type, key) == (model[t].erase(key) == 1));
      break;
    case 3: { // sweep
      std::size_t dropped = 0;
      for (auto& [u, entries] : model) {
        dropped += std::erase_if(entries, [&](const auto& kv) { return now >= kv.second.expires; });
      }
      RC_ASSERT(store.sweep(now) == dropped);
      break;
    }
    default:
      now += *rc::gen::inRange(0, 60);
    }
    SoftStore::Usage total;
    for (int u = 0; u < 3; ++u) {
      const auto usage = store.usage(type_number(static_cast<std::uint8_t>(u)));
      const auto expect = held(u);
      RC_ASSERT(usage.entries == expect.entries);
      RC_ASSERT(usage.bytes == expect.bytes);
      RC_ASSERT(usage.entries <= quota.entries);
      RC_ASSERT(usage.bytes <= quota.bytes);
      total.entries += usage.entries, total.bytes += usage.bytes;
    }
    RC_ASSERT(store.total().entries == total.entries);
    RC_ASSERT(store.total().bytes == total.bytes);
  }
}

} // namespace
} // namespace lamina::ants
