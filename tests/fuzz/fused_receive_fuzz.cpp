// libFuzzer target: any packets arriving at the fused reliable FIFO stack that lamina-opt
// generated must be dropped or delivered without a crash or an out-of-bounds access; and after
// each, the fused stack must leave every layer as the static stack does on the same packet, read
// as the layered packet it stands for (canonical(); for_layered() below says the exception),
// having delivered as often and sent as many packets.
//
// An input is a run of packets from peers 1 and 2, each a control byte, a length byte and that
// many bytes, to a fresh fused stack and a fresh layered one. Random bytes nearly all die at
// Checksum's CRC, before the guard, so the control byte says what to make of the packet's bytes:
//   bit 0     from peer 1 or 2;
//   bits 1-2  0: as it is;
//             1: compressed: the marker set and the CRC fixed up, so that it reaches the guard,
//                and the bypass when its sequence numbers are the ones expected;
//             2: layered: Bottom's format set and the CRC fixed up, so that it reaches the
//                layered code past Checksum (the fused stack's fallback);
//             3: compressed with the marker set and the CRC as it is: the fallback of a
//                compressed packet that fails the CRC.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "difftest/layer_ops.hpp"
#include "lamina_repository_stacks_fused_fifo_ReliableFifo.hpp"
#include "runtime/crc32c.hpp"
#include "runtime/stack.hpp"

namespace {

using namespace lamina;
using Fused = lamina::fused::fifo::ReliableFifo;

class NullHost final : public Host {
public:
  [[nodiscard]] PeerId me() const override { return 0; }
  [[nodiscard]] std::uint32_t group_size() const override { return 3; }
  [[nodiscard]] Time now() const override { return {}; }
  void transmit(PeerId, Msg) override { ++transmitted; }
  void set_timer(Time, std::uint32_t) override {}
  void deliver(Event&) override { ++delivered; }
  std::uint64_t delivered = 0;
  std::uint64_t transmitted = 0;
};

// The layered packet's Checksum header: after Bottom's, the CRC32C of all that follows.
constexpr std::size_t kCrcAt = sizeof(Bottom::Header);
constexpr std::size_t kCrcEnd = kCrcAt + sizeof(Checksum::Header);

void fix_crc(std::vector<std::byte>& layered) {
  if (layered.size() < kCrcEnd) return;
  const std::uint32_t crc = crc32c(std::span(layered).subspan(kCrcEnd));
  std::memcpy(&layered[kCrcAt], &crc, sizeof crc);
}

// The packet the input stands for (above).
std::vector<std::byte> packet_of(std::uint8_t form, std::span<const std::byte> bytes) {
  std::vector<std::byte> p(bytes.begin(), bytes.end());
  if (form == 2) {
    if (!p.empty()) p[0] = static_cast<std::byte>(Bottom::Format::layered);
    fix_crc(p);
    return p;
  }
  if (form == 0 || p.empty()) return p;
  p[0] = Fused::kMarker;
  if (form == 3) return p;
  // The CRC's place in the compressed header (after the varints, whose lengths vary) is the one
  // where the layered packet's fixed-up CRC, written there, makes the packet stand for that
  // layered packet.
  std::vector<std::byte> layered = Fused::canonical(p);
  if (layered == p) return p; // it does not read as a compressed header
  fix_crc(layered);
  for (std::size_t at = 1;
       at + sizeof(Checksum::Header) <= std::min(p.size(), Fused::kMaxCompressedSize); ++at) {
    std::vector<std::byte> q = p;
    std::memcpy(&q[at], &layered[kCrcAt], sizeof(Checksum::Header));
    if (Fused::canonical(q) == layered) return q;
  }
  std::abort(); // the harness lost the CRC's place
}

// What the layered stack is given for `packet`: its layered form, as canonical() reads it, except
// for a packet with the marker whose CRC fails. That may be a damaged layered packet whose first
// byte became the marker as well as a damaged compressed one, so the fused stack hands it to the
// layered code as it came, and Bottom drops it as of an unknown format.
std::vector<std::byte> for_layered(const std::vector<std::byte>& packet) {
  std::vector<std::byte> layered = Fused::canonical(packet);
  if (layered == packet || layered.size() < kCrcEnd) return layered;
  std::uint32_t crc = 0;
  std::memcpy(&crc, &layered[kCrcAt], sizeof crc);
  return crc == crc32c(std::span(layered).subspan(kCrcEnd)) ? layered : packet;
}

template <std::size_t... I>
bool same_layers(const Fused::Layered& a, const Fused::Layered& b, difftest::MsgMemo& memo,
                 std::index_sequence<I...>) {
  return (difftest::layer_ops<std::remove_cvref_t<decltype(a.template layer<I>())>>().equal(
              &a.template layer<I>(), &b.template layer<I>(), memo) &&
          ...);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Fresh stacks for every input, so that an input replays alone.
  NullHost fused_host;
  NullHost layered_host;
  Fused fused;
  const auto reference = std::make_unique<Fused::Layered>(
      lamina::Top{},
      [] {
        lamina::Frag f;
        f.mtu = 1400;
        return f;
      }(),
      lamina::Seqno{},
      [] {
        lamina::Retransmit r;
        r.timeout = std::chrono::milliseconds(20);
        return r;
      }(),
      lamina::Checksum{}, lamina::Bottom{});
  fused.attach(fused_host);
  reference->attach(layered_host);
  difftest::MsgMemo memo;
  // Packets, each a control byte (above), a length byte and that many bytes.
  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 2) {
    const std::uint8_t control = in[0];
    const std::size_t n = std::min<std::size_t>(in[1], in.size() - 2);
    const auto bytes = std::as_bytes(in.subspan(2, n));
    in = in.subspan(2 + n);
    const PeerId from = 1 + (control & 1);
    const std::vector<std::byte> packet =
        packet_of(static_cast<std::uint8_t>((control >> 1) & 3), bytes);
    fused.receive(from, Msg::copy_of(packet));
    reference->receive(from, Msg::copy_of(for_layered(packet)));
    if (fused_host.delivered != layered_host.delivered ||
        fused_host.transmitted != layered_host.transmitted ||
        !same_layers(fused.layered(), *reference, memo,
                     std::make_index_sequence<Fused::Layered::depth>{}))
      std::abort();
  }
  return 0;
}
