// libFuzzer target: the ANTS capsule decoder and the active node's capsule path
// (components/ants_*.hpp), with capsule code run in the Lua sandbox. An input is a script run on
// one active node (Top:AntsExec:AntsCode:AntsRoute:Bottom) that holds a few programs, pinned:
// packets from a neighbour (Bottom's marker put in front, so that the fuzzer starts at the
// capsule header: capsules of any type, kind, TTL and lengths, requests, chunks of code of any
// bytes for any type, unknowns), capsules of its own, and time running on with the timers it
// crosses. Whatever the packets say, the node must neither crash nor read out of bounds, and
// AntsCode's bookkeeping must hold: the bytes it counts are the code it caches, within its
// cache; it holds at most `hold` capsules; it loads only what it has been asked for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "services/ants/network.hpp"
#include "tests/fuzz/script_host.hpp"

namespace {

using namespace lamina;

void check(const AntsCode& c) {
  std::uint64_t bytes = 0;
  for (const auto& [type, cached] : c.cache) bytes += cached.code.size();
  if (bytes != c.cached_bytes || bytes > c.cache_bytes) std::abort();
  if (c.held.size() > c.hold) std::abort();
  for (const auto& [type, load] : c.loads)
    if (load.got.size() > c.code_max + c.chunk) std::abort();
}

} // namespace

// The script: records of [op][length][bytes]. op & 3 = 0 or 1: a packet from neighbour 1 + op
// of `length` bytes after Bottom's marker; 2: a capsule of program op >> 2 (of 4) from this
// node, with `length` bytes of payload, toward node 1 or 2; 3: time runs on by `length` ms.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::array<ants::Program, 4> programs{
      ants::Program::of("on",
                        "return function(c) node.routeForNode(c.dst, c.header, c.payload) end"),
      ants::Program::of("store", "return function(c) node.put(c.payload, c.header) "
                                 "node.deliverToApp(node.get(c.payload) or '', c.payload) end"),
      ants::Program::of("loop", "return function(c) while true do end end"),
      ants::Program::of("fail", "return function(c) error('no') end")};
  fuzz::ScriptHost host;
  ants::ActiveStack stack;
  stack.attach(host);
  ants::Sandbox sandbox;
  ants::LuaRunner runner(sandbox, {[](PeerId to) { return to; }, {}});
  stack.get<AntsExec>().runner = Oracle<CapsuleRunner>(&runner);
  stack.get<AntsCode>().cache_bytes = 4096; // small, so that code is evicted and loaded again
  for (const ants::Program& p : programs) stack.send(0, ants::make_install(p, 0));
  fuzz::run_script(
      data, size, host, stack,
      [](Msg& packet) { packet.push(Bottom::Header{Bottom::Format::layered}); },
      [&](std::uint8_t op, std::span<const std::byte> body) {
        const std::string payload(reinterpret_cast<const char*>(body.data()), body.size());
        stack.send(1 + ((op >> 4) & 1), ants::make_capsule(programs[(op >> 2) & 3].type, 0,
                                                           1 + ((op >> 4) & 1), 8, "h", payload));
      },
      [&] { check(stack.get<AntsCode>()); });
  return 0;
}
