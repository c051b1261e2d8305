// ReliableFifo fused by hand: the reference that lamina-opt's generated code is measured against.
//
// For `stack ReliableFifo = Top : Frag(mtu = 1400) : Seqno : Retransmit(timeout = 20ms) :
// Checksum : Bottom` at its default parameters, substituted as constants. The bypass does, in
// one function each way, what the six layers do on their common path, on the layers' own state
// (the layered stack that FusedStack holds), and puts one compressed header on the wire:
//
//   compressed  'H' seq id crc                                       13 bytes
//   layered     'L' crc {data, 0, 0, 0, id} seq {0, 0, 1}            29 bytes
//
// Frag's header of a whole message is the constant {0, 0, 1}, and Retransmit's kind the constant
// data, so neither is on the compressed wire; the CRC still covers every byte the layered CRC
// covers (Retransmit's, Seqno's and Frag's headers, expanded, and the payload). Anything off the
// common path — casts, messages over the mtu, peers that read only layered headers, packets out
// of order, acks, timers — is the layered code's, which the bypass shares state with. A
// compressed packet that arrives intact but off the common path is expanded to the layered
// headers and goes up the layered path from Bottom; one that is not intact goes there as it
// arrived (its marker may be the damage), and Bottom drops it as a format it does not speak.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/crc32c.hpp"
#include "runtime/fused.hpp"
#include "runtime/stack.hpp"

namespace lamina::hand {

using ReliableFifoLayers = lamina::stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

class ReliableFifo final : public FusedStack<ReliableFifoLayers> {
public:
  // spec::stack_string(fifo.ioa, "ReliableFifo"): the one stack string this class serves.
  static constexpr std::string_view stack_string =
      "Top:Frag(mtu=1400):Seqno:Retransmit(timeout=20000000ns):Checksum:Bottom";

  // The stack's parameters, as constants.
  static constexpr std::uint32_t kMtu = 1400;
  static constexpr Duration kTimeout = std::chrono::milliseconds(20);

  // The first byte of a compressed packet; a layered one starts with Bottom::Format::layered.
  static constexpr std::uint8_t kCompressed = 0x48; // 'H'
  static_assert(kCompressed != static_cast<std::uint8_t>(Bottom::Format::layered));

  // The one header of the bypass: the marker, then only the fields that vary.
  struct [[gnu::packed]] Compressed {
    std::uint8_t marker;
    std::uint32_t seq; // Seqno's
    std::uint32_t id;  // Retransmit's
    std::uint32_t crc; // Checksum's, over the layered bytes it covers
  };
  // The headers the layers above Checksum push on the common path, in wire order: what
  // Retransmit keeps of a message, and what Checksum's CRC covers before the payload.
  struct AboveChecksum {
    Retransmit::Header retransmit;
    Seqno::Header seqno;
    Frag::Header frag;
  };
  // All the layered headers of a common-path message, in wire order.
  struct [[gnu::packed]] LayeredHeaders {
    Bottom::Header bottom;
    Checksum::Header checksum;
    AboveChecksum above;
  };
  static_assert(sizeof(Compressed) == 13 && sizeof(AboveChecksum) == 24 &&
                sizeof(LayeredHeaders) == 29);
  // Bottom's CCP down holds for every message the bypass takes.
  static_assert(kMtu + sizeof(LayeredHeaders) <= Bottom::kMaxPacket);

  ReliableFifo()
      : FusedStack(Top{}, with_mtu(kMtu), Seqno{}, with_timeout(kTimeout), Checksum{}, Bottom{}) {}

  void send(PeerId to, Msg payload) override {
    // The down CCPs: Seqno's and Retransmit's (a Send), Frag's (one fragment); Top's, Checksum's
    // and Bottom's hold always (static_assert above). And the peer reads compressed headers.
    if (to == kAllPeers || payload.size() > kMtu || !compresses_to(to)) {
      layered_.send(to, std::move(payload));
      return;
    }
    // Frag sends a whole message, its header the constant {0, 0, 1}; Checksum keeps no state
    // going down.
    Top& top = layered_.get<Top>();
    Seqno& seqno = layered_.get<Seqno>();
    Retransmit& retransmit = layered_.get<Retransmit>();
    Bottom& bottom = layered_.get<Bottom>();
    const Time now = host_->now();
    ++top.sent;
    const std::uint32_t seq = seqno.next_out[to]++;
    const std::uint32_t id = retransmit.next_id[to]++;
    // Retransmit keeps the message as it would pass it down, its header and those above on it;
    // Checksum's CRC covers exactly those bytes.
    Msg kept = payload.clone();
    kept.push(above_checksum(seq, id));
    const std::uint32_t crc = crc32c(kept.bytes());
    retransmit.unacked[to].push_back({id, now, std::move(kept)});
    if (!retransmit.timer_armed) { // something is unacked now: Retransmit arms its timer
      retransmit.timer_armed = true;
      host_->set_timer(now + kTimeout, kRetransmitAt);
    }
    ++bottom.sent;
    payload.push(Compressed{kCompressed, seq, id, crc});
    host_->transmit(to, std::move(payload));
  }

  void receive(PeerId from, Msg packet) override {
    Compressed c{};
    if (!packet.peek(c) || c.marker != kCompressed) {
      layered_.receive(from, std::move(packet));
      return;
    }
    Top& top = layered_.get<Top>();
    Frag& frag = layered_.get<Frag>();
    Seqno& seqno = layered_.get<Seqno>();
    Retransmit& retransmit = layered_.get<Retransmit>();
    Checksum& checksum = layered_.get<Checksum>();
    Bottom& bottom = layered_.get<Bottom>();
    // Bottom's size, on the packet as the layered stacks would receive it.
    if (packet.size() + (sizeof(LayeredHeaders) - sizeof(Compressed)) > bottom.max_packet) {
      layered_.receive(from, std::move(packet));
      return;
    }
    // Checksum's CRC covers the headers above Checksum and the payload. They are written in
    // front of the payload, over the compressed header, so that one CRC runs over them.
    (void)packet.drop_front(sizeof(Compressed));
    packet.push(above_checksum(c.seq, c.id));
    if (c.crc != crc32c(packet.bytes())) {
      // Not intact, so its marker may be damage too (a layered packet whose first byte changed):
      // it goes to the layered path as it arrived, which drops it as a layered stack would.
      (void)packet.drop_front(sizeof(AboveChecksum));
      packet.push(c);
      layered_.receive(from, std::move(packet));
      return;
    }
    heard_compressed_from(from);
    // The CCPs of Retransmit (the next data, no gap), Seqno (the next number, nothing early) and
    // Frag (nothing in reassembly), all decided before any state changes. A packet that fails
    // them takes the layered path from Bottom, its headers expanded to the layered ones.
    const Frag::Partial* partial = frag.partial.find(from);
    if (c.id != number(retransmit.received_below, from) ||
        !untouched_or_empty(retransmit.received_above, from) ||
        c.seq != number(seqno.next_in, from) || !untouched_or_empty(seqno.early, from) ||
        (partial != nullptr && partial->count != 0)) {
      packet.push(Checksum::Header{c.crc});
      packet.push(Bottom::Header{Bottom::Format::layered});
      layered_.receive(from, std::move(packet));
      return;
    }
    const Time now = host_->now();
    ++bottom.received;
    ++checksum.passed;
    // Retransmit acknowledges, through the layered code of the layers below it, and records the
    // arrival: the next in order, with nothing above it.
    Event ack = Event::send(from, Msg::with_size(0));
    ack.msg.push(Retransmit::Header{Retransmit::Kind::ack, {}, c.id});
    ack.time = now;
    ++retransmit.acks_sent;
    layered_.enter_down<kChecksumAt>(ack);
    ++retransmit.received_below[from];
    ++seqno.next_in[from];
    ++top.delivered;
    (void)packet.drop_front(sizeof(AboveChecksum));
    Event ev = Event::deliver(from, std::move(packet));
    ev.time = now;
    host_->deliver(ev);
  }

  // `packet` as the layered stacks put it on the wire: a compressed packet expanded, any other
  // (a layered one, or one too short to be compressed) as it is.
  static std::vector<std::byte> canonical(std::span<const std::byte> packet) {
    Compressed c{};
    if (packet.size() < sizeof(Compressed) || packet[0] != std::byte{kCompressed})
      return {packet.begin(), packet.end()};
    std::memcpy(&c, packet.data(), sizeof(Compressed));
    const LayeredHeaders headers = layered_headers(c);
    std::vector<std::byte> out(packet.size() - sizeof(Compressed) + sizeof(LayeredHeaders));
    std::memcpy(out.data(), &headers, sizeof(LayeredHeaders));
    std::memcpy(out.data() + sizeof(LayeredHeaders), packet.data() + sizeof(Compressed),
                packet.size() - sizeof(Compressed));
    return out;
  }

private:
  // Layer indices: Retransmit's timer is its index; an ack enters the layered code at Checksum.
  static constexpr std::size_t kRetransmitAt = 3;
  static constexpr std::size_t kChecksumAt = 4;
  static_assert(
      std::is_same_v<
          std::remove_cvref_t<decltype(std::declval<ReliableFifoLayers&>().layer<kRetransmitAt>())>,
          Retransmit> &&
      std::is_same_v<
          std::remove_cvref_t<decltype(std::declval<ReliableFifoLayers&>().layer<kChecksumAt>())>,
          Checksum>);

  static AboveChecksum above_checksum(std::uint32_t seq, std::uint32_t id) {
    return {{Retransmit::Kind::data, {}, id}, {seq}, {0, 0, 1}};
  }
  static LayeredHeaders layered_headers(const Compressed& c) {
    return {{Bottom::Format::layered}, {c.crc}, above_checksum(c.seq, c.id)};
  }
  // PeerTable::get, without its function-local static: what an untouched entry reads as.
  static std::uint32_t number(const PeerTable<std::uint32_t>& table, PeerId peer) {
    const std::uint32_t* entry = table.find(peer);
    return entry == nullptr ? 0 : *entry;
  }
  template <class Container>
  static bool untouched_or_empty(const PeerTable<Container>& table, PeerId peer) {
    const Container* entry = table.find(peer);
    return entry == nullptr || entry->empty();
  }

  static Frag with_mtu(std::uint32_t mtu) {
    Frag f;
    f.mtu = mtu;
    return f;
  }
  static Retransmit with_timeout(Duration timeout) {
    Retransmit r;
    r.timeout = timeout;
    return r;
  }
};

} // namespace lamina::hand
