// FRAG: messages of any size up to max_message above, cut into fragments of at most `mtu`
// payload bytes below and reassembled on arrival.
//
// Needs nothing below to stay safe, but reassembles only fragments that arrive in order, so it
// belongs above Seqno (FIFO). Under loss, reordering or duplication, messages are lost but
// never garbled: fragments carry the number of their message, so pieces of two messages are
// never joined.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "runtime/layer.hpp"

namespace lamina {

class Frag {
public:
  static constexpr std::string_view name = "Frag";

  // Every message and fragment: which piece this is, of how many, of which message. A message
  // that fits one fragment travels whole as {0, 0, 1}. 32-bit fields: with any mtu >= 1, any
  // message a Msg can hold fits the count.
  struct Header {
    std::uint32_t message; // the sender's number for a fragmented message; 0 when whole
    std::uint32_t index;   // 0 .. count - 1
    std::uint32_t count;   // fragments in the whole message, >= 1
  };

  // A message being reassembled from one peer; count == 0 when there is none.
  struct Partial {
    std::uint32_t message = 0; // its number at the sender
    std::uint32_t next = 0;    // index of the fragment expected next
    std::uint32_t count = 0;   // fragments in the message
    Msg data;                  // the payload of fragments 0 .. next - 1, in order
    friend bool operator==(const Partial&, const Partial&) = default;
  };

  // Largest message reassembled by default: 64 MiB.
  static constexpr std::uint32_t kMaxMessage = 64u << 20;

  std::uint32_t mtu = 1400;                // parameter: largest fragment payload, bytes, >= 1
  std::uint32_t max_message = kMaxMessage; // parameter: largest count * mtu sent or reassembled
  std::uint32_t next_message = 1;          // number of the next message cut into fragments
  PeerTable<Partial> partial;              // message being reassembled, by source
  std::uint64_t fragmented = 0;            // messages cut into fragments
  std::uint64_t reassembled = 0;           // messages put together from fragments
  std::uint64_t refused_too_large = 0;     // going down: count * mtu above max_message
  std::uint64_t dropped_short = 0;         // coming up: too short for a header
  std::uint64_t dropped_malformed = 0;     // count 0, index >= count, or a fragment over mtu
  std::uint64_t dropped_too_large = 0;     // count * mtu above max_message
  std::uint64_t dropped_out_of_order = 0;  // not the fragment expected next (partial discarded)
  std::uint64_t abandoned_partial = 0;     // partial discarded: a new message began instead

  // Down: straight when the message fits one fragment.
  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.msg.size() <= mtu; }
  // Up: straight for a whole message while nothing is being reassembled from its sender.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.count == 1 && h.index == 0 && partial.get(ev.peer).count == 0;
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    // Check for fast path: the message fits one fragment and goes as it is.
    if (ccp_down(ev)) {
      ev.msg.push(Header{0, 0, 1});
      io.down(ev);
      return;
    }
    const std::uint64_t count = (ev.msg.size() + mtu - 1) / mtu;
    if (count * mtu > max_message) {
      ++refused_too_large;
      return;
    }
    ++fragmented;
    const std::uint32_t message = next_message++;
    const auto whole = ev.msg.bytes();
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::size_t offset = static_cast<std::size_t>(i) * mtu;
      const std::size_t size = std::min<std::size_t>(mtu, whole.size() - offset);
      Event piece{ev.type, ev.peer, Msg::copy_of(whole.subspan(offset, size)), ev.time, ev.lamport};
      piece.msg.push(Header{message, i, static_cast<std::uint32_t>(count)});
      io.down(piece);
    }
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    // Check for fast path: a whole message, nothing in reassembly from its sender.
    if (ccp_up(ev, h)) {
      io.up(ev);
      return;
    }
    Partial& p = partial[ev.peer];
    if (h.count == 0 || h.index >= h.count) {
      ++dropped_malformed;
      discard(p);
      return;
    }
    if (h.index == 0) {
      if (p.count != 0) {
        ++abandoned_partial;
        discard(p);
      }
      if (h.count == 1) {
        io.up(ev);
        return;
      }
      if (static_cast<std::uint64_t>(h.count) * mtu > max_message) {
        ++dropped_too_large;
        return;
      }
      if (ev.msg.size() > mtu) {
        ++dropped_malformed;
        return;
      }
      p.message = h.message;
      p.next = 1;
      p.count = h.count;
      p.data = std::move(ev.msg);
      return;
    }
    if (p.count == 0 || h.message != p.message || h.count != p.count || h.index != p.next) {
      ++dropped_out_of_order;
      discard(p);
      return;
    }
    if (ev.msg.size() > mtu) {
      ++dropped_malformed;
      discard(p);
      return;
    }
    p.data.append(ev.msg.bytes());
    if (++p.next < p.count) return;
    ev.msg = std::move(p.data);
    discard(p);
    ++reassembled;
    io.up(ev);
  }

private:
  // Forgets the message being reassembled in `p`.
  static void discard(Partial& p) { p = Partial{}; }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Frag::Partial, message, next, count, data);
BOOST_HANA_ADAPT_STRUCT(lamina::Frag, mtu, max_message, next_message, partial, fragmented,
                        reassembled, refused_too_large, dropped_short, dropped_malformed,
                        dropped_too_large, dropped_out_of_order, abandoned_partial);
