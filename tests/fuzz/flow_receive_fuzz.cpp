// libFuzzer target: the headers of Window and Arq (credits, cumulative and selective acks, data
// numbers) behind a valid checksum. An input is a script run on a fresh FlowFifo node that has
// messages outstanding to two peers: packets from a peer (the CRC fixed up, so that the fuzzer
// gets past Checksum to the headers), sends, and time running on with the timers it crosses.
// Whatever the packets say, the node must neither crash nor read out of bounds, and Arq's
// counts of what is in flight, lost and sacked must add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <vector>

#include "components/arq.hpp"
#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "components/window.hpp"
#include "runtime/crc32c.hpp"
#include "runtime/stack.hpp"
#include "tests/fuzz/script_host.hpp"

namespace {

using namespace lamina;
using FlowFifo = stack<Top, Window, Frag, Seqno, Arq, Checksum, Bottom>;

using fuzz::ScriptHost;

void check_counts(const Arq& a) {
  for (PeerId peer = 0; peer < a.unacked.size(); ++peer) {
    std::uint32_t in_flight = 0, lost = 0, sacked = 0;
    for (const Arq::Unacked& u : a.unacked.get(peer)) {
      if (u.sacked)
        ++sacked;
      else if (u.lost)
        ++lost;
      else
        ++in_flight;
    }
    if (in_flight != a.in_flight.get(peer) || lost != a.lost.get(peer) ||
        sacked != a.sacked.get(peer) ||
        a.unacked.get(peer).size() != a.next_id.get(peer) - a.acked_below.get(peer))
      std::abort();
  }
}

} // namespace

// The script: records of [op][length][bytes]. op & 3 = 0 or 1: a packet from peer 1 + op of
// `length` bytes after Bottom's marker and Checksum's CRC, which are put in front; 2: the
// application sends `length` bytes to peer 1 or 2; 3: time runs on by `length` ms.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ScriptHost host;
  FlowFifo node;
  node.attach(host);
  for (int i = 0; i < 40; ++i) node.send(1 + (i & 1), Msg::with_size(16 + i));
  fuzz::run_script(
      data, size, host, node,
      [](Msg& packet) {
        packet.push(Checksum::Header{crc32c(packet.bytes())});
        packet.push(Bottom::Header{Bottom::Format::layered});
      },
      [&](std::uint8_t op, std::span<const std::byte> body) {
        node.send(1 + (op >> 7), Msg::copy_of(body));
      },
      [&] { check_counts(node.get<Arq>()); });
  return 0;
}
