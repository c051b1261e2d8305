// WINDOW: flow control — at most `window` messages sent to a peer and not yet passed up there,
// and a message goes only while fewer than `bytes` of their bytes are.
//
// A send beyond that waits, in order, in a queue of at most `queue` messages per peer; a send
// that finds the queue full is refused and counted, never dropped unseen: would_block() tells
// the application beforehand. The receiver grants credit: it counts what it passes up and,
// once half a window of messages or half of `bytes` bytes has gone up since its last grant,
// sends the total back. Needs a reliable channel below (a lost credit would stall the sender);
// credits may arrive out of order, since the total only grows: an older one is ignored.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

#include "runtime/layer.hpp"

namespace lamina {

class Window {
public:
  static constexpr std::string_view name = "Window";
  static constexpr Guarantees needs_below = Guarantee::reliable;

  enum class Kind : std::uint8_t {
    data = 0,   // a message
    credit = 1, // `count`: the messages from the credit's receiver passed up so far (wrapping)
  };
  struct Header {
    Kind kind;
    std::uint8_t unused[3];
    std::uint32_t count;
  };

  std::uint32_t window = 256;       // parameter: messages in flight to a peer, at most
  std::uint32_t bytes = 1u << 20;   // parameter: a message is sent while fewer bytes are in flight
  std::uint32_t queue = 1024;       // parameter: sends that may wait for credit, per peer
  PeerTable<std::uint32_t> sent;    // messages sent to each peer (wrapping)
  PeerTable<std::uint32_t> granted; // of them, passed up there as the last credit said
  PeerTable<std::deque<std::uint32_t>> in_flight; // sizes of those sent and not granted
  PeerTable<std::uint64_t> in_flight_bytes;       // their sum
  PeerTable<std::deque<Msg>> waiting;             // sends waiting for credit, in order
  PeerTable<std::uint32_t> passed;                // messages from each peer passed up (wrapping)
  PeerTable<std::uint64_t> passed_bytes; // bytes from each peer passed up since the last credit
  PeerTable<std::uint32_t> credited;     // `passed` as the last credit to each peer said
  std::uint64_t queued = 0;              // sends that waited for credit
  std::uint64_t refused = 0;             // sends that found the queue full
  std::uint64_t credits_sent = 0;
  std::uint64_t credits_received = 0; // that granted something
  std::uint64_t stale_credits = 0;    // behind or equal to one received before
  std::uint64_t dropped_forged = 0;   // granting more than was sent
  std::uint64_t dropped_short = 0;    // too short for a header
  std::uint64_t dropped_bad_kind = 0; // neither data nor credit

  // Whether a send to `peer` now would be refused: its queue is full.
  [[nodiscard]] bool would_block(PeerId peer) const { return waiting.get(peer).size() >= queue; }

  // Down: a message to one peer with room in its window and nothing waiting before it.
  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && waiting.get(ev.peer).empty() && room(ev.peer);
  }
  // Up: data that does not complete a grant of credit.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.kind == Kind::data &&
           static_cast<std::uint32_t>(passed.get(ev.peer) + 1 - credited.get(ev.peer)) <
               grant_every() &&
           2 * (passed_bytes.get(ev.peer) + ev.msg.size() - sizeof(Header)) < bytes;
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Cast) {
      split_cast(ev, io, [&](Event& send) { down(send, io); });
      return;
    }
    if (waiting[ev.peer].empty() && room(ev.peer)) {
      transmit(ev, io);
    } else if (waiting[ev.peer].size() < queue) {
      waiting[ev.peer].push_back(std::move(ev.msg));
      ++queued;
    } else {
      ++refused;
    }
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    if (h.kind == Kind::data) {
      const PeerId peer = ev.peer;
      const Time now = ev.time;
      ++passed[peer];
      passed_bytes[peer] += ev.msg.size();
      io.up(ev);
      if (static_cast<std::uint32_t>(passed[peer] - credited[peer]) >= grant_every() ||
          2 * passed_bytes[peer] >= bytes)
        send_credit(peer, now, io);
    } else if (h.kind == Kind::credit) {
      take_credit(ev.peer, h.count, ev.time, io);
    } else {
      ++dropped_bad_kind;
    }
  }

private:
  [[nodiscard]] std::uint32_t grant_every() const { return std::max<std::uint32_t>(1, window / 2); }

  [[nodiscard]] bool room(PeerId peer) const {
    return static_cast<std::uint32_t>(sent.get(peer) - granted.get(peer)) < window &&
           in_flight_bytes.get(peer) < bytes;
  }

  template <class Ports>
  void transmit(Event& ev, Ports& io) {
    const auto size = static_cast<std::uint32_t>(ev.msg.size());
    ++sent[ev.peer];
    in_flight[ev.peer].push_back(size);
    in_flight_bytes[ev.peer] += size;
    ev.msg.push(Header{Kind::data, {}, 0});
    io.down(ev);
  }

  template <class Ports>
  void send_credit(PeerId peer, Time now, Ports& io) {
    credited[peer] = passed[peer];
    passed_bytes[peer] = 0;
    ++credits_sent;
    Event credit = Event::send(peer, Msg::with_size(0));
    credit.msg.push(Header{Kind::credit, {}, passed[peer]});
    credit.time = now;
    io.down(credit);
  }

  template <class Ports>
  void take_credit(PeerId peer, std::uint32_t count, Time now, Ports& io) {
    const std::uint32_t advance = count - granted.get(peer);
    if (advance == 0 || advance >= (1u << 31)) {
      ++stale_credits;
      return;
    }
    if (advance > static_cast<std::uint32_t>(sent.get(peer) - granted.get(peer))) {
      ++dropped_forged;
      return;
    }
    granted[peer] = count;
    ++credits_received;
    auto& sizes = in_flight[peer];
    for (std::uint32_t i = 0; i < advance; ++i) {
      in_flight_bytes[peer] -= sizes.front();
      sizes.pop_front();
    }
    // Send what waited, in order, while there is room. The table is looked up afresh after
    // each send: the layers below may deliver (and the layers above send) meanwhile.
    while (!waiting[peer].empty() && room(peer)) {
      Event next = Event::send(peer, std::move(waiting[peer].front()));
      waiting[peer].pop_front();
      next.time = now;
      transmit(next, io);
    }
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Window, window, bytes, queue, sent, granted, in_flight,
                        in_flight_bytes, waiting, passed, passed_bytes, credited, queued, refused,
                        credits_sent, credits_received, stale_credits, dropped_forged,
                        dropped_short, dropped_bad_kind);
