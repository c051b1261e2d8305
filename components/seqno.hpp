// SEQNO: per-sender FIFO order — messages from one peer go up in the order that peer sent them.
//
// Needs a reliable channel below (a message that never arrives would hold back every later
// one from its sender). A cast is sent as one message per member, each in that member's order.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"
#include "runtime/recycling.hpp"

namespace lamina {

class Seqno {
public:
  static constexpr std::string_view name = "Seqno";
  static constexpr Guarantees provides = Guarantee::fifo;
  static constexpr Guarantees needs_below = Guarantee::reliable;

  // Every message: its number in the sender's sequence to this destination.
  struct Header {
    std::uint32_t seq;
  };

  // Parameter: how far ahead of the next expected number a message may be and still be
  // buffered. A reliable channel never runs this far ahead; a corrupt or forged header might.
  std::uint32_t window = 1u << 16;
  PeerTable<std::uint32_t> next_out; // number of the next message to each peer
  PeerTable<std::uint32_t> next_in;  // number expected next from each peer
  PeerTable<RecyclingMap<std::uint32_t, Msg>>
      early;                       // arrived ahead of next_in, by number, as received
  std::uint64_t reordered = 0;     // messages that waited in `early`
  std::uint64_t dropped_short = 0; // too short for a header
  std::uint64_t dropped_stale = 0; // number already delivered, or already waiting
  std::uint64_t dropped_far = 0;   // number beyond the window

  // Down: straight for a message to one peer (a cast fans out).
  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  // Up: the expected number, and nothing waiting behind it.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.seq == next_in.get(ev.peer) && early.get(ev.peer).empty();
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Cast) {
      split_cast(ev, io, [&](Event& send) { down(send, io); });
      return;
    }
    ev.msg.push(Header{next_out[ev.peer]++});
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.peek(h)) {
      ++dropped_short;
      return;
    }
    std::uint32_t& expected = next_in[ev.peer];
    // Serial-number distance, so that the sequence may wrap around 2^32.
    const std::uint32_t ahead = h.seq - expected;
    if (ahead == 0) {
      ++expected;
      (void)ev.msg.drop_front(sizeof(Header));
      io.up(ev);
      release_waiting(ev.peer, ev.time, io);
    } else if (ahead < window) {
      // Kept as it arrived, header and all, so that no waiting message is ever empty.
      if (!early[ev.peer].try_emplace(h.seq, std::move(ev.msg)).second) ++dropped_stale;
    } else if (ahead > ~window) {
      ++dropped_stale; // up to `window` behind: an old duplicate
    } else {
      ++dropped_far;
    }
  }

private:
  // Delivers the messages that were waiting for the one just delivered. Tables are looked up
  // afresh after each delivery: the layers above may send (and so grow a table) meanwhile.
  template <class Ports>
  void release_waiting(PeerId peer, Time now, Ports& io) {
    for (;;) {
      if (early.get(peer).empty()) return; // the common case: nothing waits
      auto& waiting = early[peer];
      auto it = waiting.find(next_in[peer]);
      if (it == waiting.end()) return;
      Event next = Event::deliver(peer, std::move(it->second));
      (void)next.msg.drop_front(sizeof(Header));
      next.time = now;
      waiting.erase(it);
      ++next_in[peer];
      ++reordered;
      io.up(next);
    }
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Seqno, window, next_out, next_in, early, reordered, dropped_short,
                        dropped_stale, dropped_far);
