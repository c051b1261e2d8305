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
// - A try (the application's `try_request`) is a request that waits behind no one: it fails as
//   soon as the node knows of a request before its own, from the queue it keeps anyway. A
//   request already queued comes before any the node would make now (its clock is past every
//   stamp it has heard), so a try then fails at once and sends nothing; otherwise it goes out
//   as a request like any other, and a request before it that arrives before the grant makes
//   the node withdraw it (a release to every peer, as for a request given up) and fail. The
//   holder's request is in every peer's queue while it holds the lock, and, over FIFO links, a
//   peer's earlier request arrives before its ack: a try fails or is granted within a round
//   trip, and a granted try is an ordinary entry (3(n-1) messages); a failed one costs nothing
//   or 3(n-1), and leaves no request anywhere.
//
// The header is also the interface to the application, which casts a Header of kind `request`
// to ask for the lock and of kind `release` to give it back (or to withdraw its request), and
// gets `granted`, delivered from itself, with its request's stamp: (stamp, node) grows with
// every grant in the group, since grants follow the total order of the requests. Withdrawing a
// request that waits, it gets `silent` from each peer that has sent nothing later than it, the
// peers that held it back by silence. It casts `try_request` to try, and gets `granted`, or
// `taken`, as if from the peer whose request was in the way, with that request's stamp (the
// earliest of those before its own that it knew of). Anything else from the application (a
// send, a second request, a release of nothing) is dropped and counted.
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
    request = 0,     // application -> wire: ask for the lock; wire: queue this request
    ack = 1,         // wire: a request was queued
    release = 2,     // application -> wire: give the lock back, or withdraw the request
    granted = 3,     // to the application: the lock is this node's
    silent = 4,      // to the application, from a peer that held a withdrawn request back
    try_request = 5, // application: ask for the lock unless a request before it is known
    taken = 6,       // to the application, from the peer whose request was in the way of its try
  };
  enum class Phase : std::uint8_t { idle = 0, waiting = 1, holding = 2 };
  struct Header {
    Kind kind;
    std::uint8_t unused[7];
    std::uint64_t stamp; // the sender's Lamport clock as it sent this; granted: the request's;
                         // taken: the request's in the way
  };

  std::uint64_t clock = 0;        // LamportClock's clock, as this layer counts it
  Phase phase = Phase::idle;      // of this node's request
  std::uint64_t mine = 0;         // the stamp of this node's request; 0: none
  bool trying = false;            // this node's request is a try
  PeerTable<std::uint64_t> queue; // each peer's request: its stamp; 0: none
  PeerTable<std::uint64_t> heard; // the stamp of the latest message from each peer
  std::uint64_t grants = 0;       // times this node got the lock
  std::uint64_t sent = 0;         // messages put on the wire, a cast counted once a peer
  std::uint64_t acks_sent = 0;
  std::uint64_t tries_taken = 0;      // tries of this node that failed as `taken`
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
    const bool asks = h.kind == Kind::request || h.kind == Kind::try_request;
    // A try fails at once if a queued request comes before the one it would make.
    const PeerId ahead = h.kind == Kind::try_request && phase == Phase::idle
                             ? ahead_of(clock + 1, io)
                             : io.group_size();
    if (ahead != io.group_size()) {
      ++tries_taken;
      tell(Kind::taken, ahead, queue.get(ahead), ev.time, io);
    } else if (asks && phase == Phase::idle) {
      mine = ++clock;
      phase = Phase::waiting;
      trying = h.kind == Kind::try_request;
      send(EventType::Cast, kAllPeers, Kind::request, ev.time, io);
      // Alone in the group, the request is granted at once.
      if (io.group_size() <= 1) grant(ev.time, io);
    } else if (h.kind == Kind::release && phase != Phase::idle) {
      if (phase == Phase::waiting) {
        const PeerId me = io.me();
        for (PeerId q = 0; q < io.group_size(); ++q)
          if (q != me && before(heard.get(q), q, mine, me))
            tell(Kind::silent, q, mine, ev.time, io);
      }
      withdraw(ev.time, io);
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
    if (phase != Phase::waiting) return;
    // A try with a request before it in the queue gives up, and is withdrawn.
    const PeerId ahead = trying ? ahead_of(mine, io) : io.group_size();
    if (ahead != io.group_size()) {
      const std::uint64_t theirs = queue.get(ahead);
      withdraw(ev.time, io);
      ++tries_taken;
      tell(Kind::taken, ahead, theirs, ev.time, io);
    } else if (first(io)) {
      grant(ev.time, io);
    }
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

  // The peer whose queued request comes first of those before (stamp, me); group_size if none.
  template <class Ports>
  [[nodiscard]] PeerId ahead_of(std::uint64_t stamp, const Ports& io) const {
    const PeerId me = io.me();
    PeerId ahead = io.group_size();
    for (PeerId q = 0; q < io.group_size(); ++q) {
      const std::uint64_t theirs = queue.get(q);
      if (q != me && theirs != 0 && before(theirs, q, stamp, me) &&
          (ahead == io.group_size() || theirs < queue.get(ahead)))
        ahead = q;
    }
    return ahead;
  }

  // Gives this node's request up, granted or not: a release to every peer.
  template <class Ports>
  void withdraw(Time now, Ports& io) {
    ++clock;
    phase = Phase::idle;
    mine = 0;
    trying = false;
    send(EventType::Cast, kAllPeers, Kind::release, now, io);
  }

  template <class Ports>
  void grant(Time now, Ports& io) {
    phase = Phase::holding;
    ++grants;
    tell(Kind::granted, io.me(), mine, now, io);
  }

  // Tells the application of a request (`stamp`), as if from `from`.
  template <class Ports>
  void tell(Kind kind, PeerId from, std::uint64_t stamp, Time now, Ports& io) {
    Event up{EventType::Deliver, from, Msg{}, now, clock};
    up.msg.push(Header{kind, {}, stamp});
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

BOOST_HANA_ADAPT_STRUCT(lamina::LamportMutex, clock, phase, mine, trying, queue, heard, grants,
                        sent, acks_sent, tries_taken, from_app_dropped, dropped_short,
                        dropped_bad_kind);
