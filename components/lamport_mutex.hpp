// LAMPORTMUTEX: Lamport's mutual exclusion ("Time, Clocks, and the Ordering of Events in a
// Distributed System", 1978) — one lock for the whole group, granted in the order of the
// requests' Lamport stamps, with the node number breaking ties.
//
// - To ask for the lock, a node stamps a request with its clock, queues it and sends it to every
//   peer. A peer queues it and acknowledges it (the ack is stamped later than the request).
// - A node holds the lock once its request precedes every other request in its queue, in the
//   order of (stamp, node), and it has heard a message stamped later than its request from
//   every peer. Over FIFO links, that message is the peer's promise that any earlier request of
//   its own has already arrived.
// - To give the lock back (or to withdraw a request that waits), it sends a release to every
//   peer, which removes the request from its queue.
// Per entry: n-1 requests, n-1 acks, n-1 releases — 3(n-1) messages.
//
// The header is also the interface to the application, which casts a Header of kind `request`
// to ask for the lock and of kind `release` to give it back (or to withdraw its request), and
// gets `granted`, delivered from itself, with its request's stamp: (stamp, node) grows with
// every grant in the group, since grants follow the total order of the requests. Withdrawing a
// request that waits, it gets `silent` from each peer that has sent nothing later than it, the
// peers that held it back by silence. Anything else from the application (a send, a second
// request, a release of nothing) is dropped and counted.
//
// The stamps are LamportClock's: the layer stands directly on LamportClock (it needs `lamport`
// below), counts the same events — each of its sends ticks, a delivery sets the clock to the
// Lamport time LamportClock gives it — so `clock` is LamportClock's clock and each message
// carries the stamp LamportClock gives it. The algorithm tolerates no failure: a peer that is
// silent holds every request back (services/lock gives up at a deadline, naming the silent).
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class LamportMutex {
public:
  static constexpr std::string_view name = "LamportMutex";
  static constexpr Guarantees needs_below =
      Guarantee::reliable | Guarantee::fifo | Guarantees(Guarantee::lamport);

  enum class Kind : std::uint8_t {
    request = 0, // application -> wire: ask for the lock; wire: queue this request
    ack = 1,     // wire: a request was queued
    release = 2, // application -> wire: give the lock back, or withdraw the request
    granted = 3, // to the application: the lock is this node's
    silent = 4,  // to the application, from a peer that held a withdrawn request back by silence
  };
  enum class Phase : std::uint8_t { idle = 0, waiting = 1, holding = 2 };
  struct Header {
    Kind kind;
    std::uint8_t unused[7];
    std::uint64_t stamp; // the sender's Lamport clock as it sent this; granted: the request's
  };

  std::uint64_t clock = 0;        // LamportClock's clock, as this layer counts it
  Phase phase = Phase::idle;      // of this node's request
  std::uint64_t mine = 0;         // the stamp of this node's request; 0: none
  PeerTable<std::uint64_t> queue; // each peer's request: its stamp; 0: none
  PeerTable<std::uint64_t> heard; // the stamp of the latest message from each peer
  std::uint64_t grants = 0;       // times this node got the lock
  std::uint64_t sent = 0;         // messages put on the wire, a cast counted once a peer
  std::uint64_t acks_sent = 0;
  std::uint64_t from_app_dropped = 0; // what the interface does not allow
  std::uint64_t dropped_short = 0;    // too short for a header
  std::uint64_t dropped_bad_kind = 0; // no kind that travels

  // Every path reads or changes the queue, which the bypass does not carry.
  [[nodiscard]] bool ccp_down(const Event& /*ev*/) const { return false; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return false; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    Header h{};
    if (ev.type != EventType::Cast || !ev.msg.peek(h)) {
      ++from_app_dropped;
      return;
    }
    if (h.kind == Kind::request && phase == Phase::idle) {
      mine = ++clock;
      phase = Phase::waiting;
      send(EventType::Cast, kAllPeers, Kind::request, ev.time, io);
      // Alone in the group, the request is granted at once.
      if (io.group_size() <= 1) grant(ev.time, io);
    } else if (h.kind == Kind::release && phase != Phase::idle) {
      if (phase == Phase::waiting) {
        const PeerId me = io.me();
        for (PeerId q = 0; q < io.group_size(); ++q)
          if (q != me && before(heard.get(q), q, mine, me)) tell(Kind::silent, q, ev.time, io);
      }
      ++clock;
      phase = Phase::idle;
      mine = 0;
      send(EventType::Cast, kAllPeers, Kind::release, ev.time, io);
    } else {
      ++from_app_dropped;
    }
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.peek(h)) {
      ++dropped_short;
      return;
    }
    if (h.kind > Kind::release) {
      ++dropped_bad_kind;
      return;
    }
    const PeerId from = ev.peer;
    clock = std::max(clock, ev.lamport);
    heard[from] = h.stamp;
    if (h.kind == Kind::request) {
      queue[from] = h.stamp;
      ++clock;
      ++acks_sent;
      send(EventType::Send, from, Kind::ack, ev.time, io);
    } else if (h.kind == Kind::release) {
      queue[from] = 0;
    }
    if (phase == Phase::waiting && first(io)) grant(ev.time, io);
  }

private:
  // Whether (a, p) comes before (b, q) in the total order of stamps.
  static bool before(std::uint64_t a, PeerId p, std::uint64_t b, PeerId q) {
    return a < b || (a == b && p < q);
  }

  // Whether this node's request heads the queue and every peer has sent something later.
  template <class Ports>
  [[nodiscard]] bool first(const Ports& io) const {
    const PeerId me = io.me();
    for (PeerId q = 0; q < io.group_size(); ++q) {
      if (q == me) continue;
      if (before(heard.get(q), q, mine, me)) return false;
      const std::uint64_t theirs = queue.get(q);
      if (theirs != 0 && before(theirs, q, mine, me)) return false;
    }
    return true;
  }

  template <class Ports>
  void grant(Time now, Ports& io) {
    phase = Phase::holding;
    ++grants;
    tell(Kind::granted, io.me(), now, io);
  }

  // Tells the application of this node's request, as if from `from`.
  template <class Ports>
  void tell(Kind kind, PeerId from, Time now, Ports& io) {
    Event up{EventType::Deliver, from, Msg{}, now, clock};
    up.msg.push(Header{kind, {}, mine});
    io.up(up);
  }

  // A message of this layer's own, stamped with `clock` (already ticked for it).
  template <class Ports>
  void send(EventType type, PeerId to, Kind kind, Time now, Ports& io) {
    sent += type == EventType::Cast ? io.group_size() - 1 : 1;
    Event down{type, to, Msg{}, now, 0};
    down.msg.push(Header{kind, {}, clock});
    io.down(down);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::LamportMutex, clock, phase, mine, queue, heard, grants, sent,
                        acks_sent, from_app_dropped, dropped_short, dropped_bad_kind);
