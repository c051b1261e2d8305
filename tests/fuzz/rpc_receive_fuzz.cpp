// libFuzzer target: Rpc's header and the RPC service's argument decoder. An input is a script
// run on one member of RpcLan (Top:Rpc:Bottom) serving the key-value store and calling its
// peers: packets from a peer (Bottom's marker put in front, so that the fuzzer starts at Rpc's
// header: calls with any kind, id, low, incarnations and budget, arguments of any shape),
// calls of its own, cancels, and time running on with the timers it crosses. Whatever the
// packets say, the node must neither crash nor read out of bounds, Rpc's count of the calls it
// holds must be what its tables hold, and every call the node made ends once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

#include "components/bottom.hpp"
#include "components/rpc.hpp"
#include "components/top.hpp"
#include "runtime/stack.hpp"
#include "services/rpc/kv.hpp"
#include "tests/fuzz/script_host.hpp"

namespace {

using namespace lamina;
using RpcLan = stack<Top, Rpc, Bottom>;

void check_held(const Rpc& r) {
  std::size_t held = 0;
  for (PeerId p = 0; p < 3; ++p)
    held += r.running.get(p).size() + r.answers.get(p).size() + r.cancelled.get(p).size();
  if (held != r.held) std::abort();
}

} // namespace

// The script: records of [op][length][bytes]. op & 3 = 0 or 1: a packet from peer 1 + op of
// `length` bytes after Bottom's marker; 2: a call to peer 1 or 2 (a put of `length` bytes, with
// a deadline of `length` ms), or a cancel of the last call; 3: time runs on by `length` ms.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::ScriptHost host;
  RpcLan stack;
  stack.attach(host);
  rpc::Node node([&](PeerId to, Msg m) { stack.send(to, std::move(m)); },
                 [&] { return host.now(); });
  host.on_deliver = [&](Event& ev) { node.deliver(ev.peer, std::move(ev.msg)); };
  rpc::kv::Store store(node);
  std::map<rpc::CallId, int> ended;
  rpc::CallId last = 0;
  fuzz::run_script(
      data, size, host, stack,
      [](Msg& packet) { packet.push(Bottom::Header{Bottom::Format::layered}); },
      [&](std::uint8_t op, std::span<const std::byte> body) {
        const PeerId to = 1 + ((op >> 2) & 1);
        if ((op >> 3) & 1) {
          node.cancel(to, last);
          return;
        }
        const std::string_view value(reinterpret_cast<const char*>(body.data()), body.size());
        last = node.call<rpc::kv::Put>(to, {"key", value},
                                       host.now() + std::chrono::milliseconds(body.size()),
                                       [&ended, id = node.stats().calls](auto) {
                                         if (++ended[static_cast<rpc::CallId>(id)] > 1)
                                           std::abort(); // a call ends once
                                       });
      },
      [&] { check_held(stack.get<Rpc>()); });
  return 0;
}
