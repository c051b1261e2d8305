// RICARTAGRAWALA: Ricart and Agrawala's mutual exclusion ("An Optimal Algorithm for Mutual
// Exclusion in Computer Networks", 1981) — LamportMutex's lock with no acks and no releases on
// the wire.
//
// - To ask for the lock, a node stamps a request with its clock and sends it to every peer.
// - A peer replies at once, unless it holds the lock, or waits for it with a request that comes
//   first in the order of (stamp, node): then it defers the reply until it gives the lock back.
// - A node holds the lock once every peer has replied to its request.
// Per entry: n-1 requests and n-1 replies — 2(n-1) messages. A reply names the request it
// answers (`ref`), so that a late reply to a withdrawn request is not taken for the next one.
// - A try (the application's `try_request`) is a request that waits behind no one. Deferred
//   replies say nothing until the lock is given back: a node cannot tell a peer that defers its
//   request from a slow one. So a try goes on the wire as `try_request`, which a peer never
//   defers: where it would, because it holds the lock or waits with a request that comes
//   first, it refuses the try at once (`taken`, naming its own request), and keeps nothing of
//   it. The trying node gives up at the first refusal, or as soon as a request before its own
//   arrives (to which it replies at once, as to any earlier request): it replies to the
//   requests it deferred, as a release does. Every peer answers a try exactly once, with a
//   reply or a refusal, so a try costs 2(n-1) messages, granted or not, and a failed one leaves
//   nothing behind at any peer; an ordinary request is never refused, and its entry still
//   costs 2(n-1).
//
// The interface to the application is LamportMutex's (the same kinds, and a Header that starts
// as LamportMutex's does): the application casts `request` and `release` (which also withdraws
// a waiting request), and gets `granted`, from itself, with its request's stamp, which grows
// with every grant in the group in the order of (stamp, node), or, withdrawing a request that
// waits, `silent` from each peer that has not replied. It casts `try_request` to try, and gets
// `granted` or `taken`, as if from the peer in the way, with that peer's request's stamp.
// Anything else from the application is dropped and counted. The stamps are LamportClock's, as
// in LamportMutex; the algorithm needs no FIFO order, and tolerates no failure.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class RicartAgrawala {
public:
  static constexpr std::string_view name = "RicartAgrawala";
  static constexpr Guarantees needs_below = Guarantee::reliable | Guarantee::lamport;

  enum class Kind : std::uint8_t {
    request = 0,     // application -> wire: ask for the lock; wire: answer it now or later
    reply = 1,       // wire: go ahead, as far as the sender is concerned
    release = 2,     // application: give the lock back, or withdraw the request
    granted = 3,     // to the application: the lock is this node's
    silent = 4,      // to the application, from a peer that did not reply to a withdrawn request
    try_request = 5, // application -> wire: ask for the lock unless it is taken; wire: answer
                     // it now, with a reply or a refusal
    taken = 6,       // wire: a try refused, by a peer that holds the lock or asks first; to the
                     // application: its try failed, as if from the peer in the way
  };
  // As the algorithm's states are usually named: no request, waiting, holding the lock.
  enum class Phase : std::uint8_t { released = 0, wanted = 1, held = 2 };
  struct Header {
    Kind kind;
    std::uint8_t unused[7];
    std::uint64_t stamp; // the sender's Lamport clock as it sent this; granted: the request's;
                         // taken: the request's in the way
    std::uint64_t ref;   // reply, taken on the wire: the stamp of the request it answers
  };

  std::uint64_t clock = 0;           // LamportClock's clock, as this layer counts it
  Phase phase = Phase::released;     // of this node's request
  std::uint64_t mine = 0;            // the stamp of this node's request; 0: none
  bool trying = false;               // this node's request is a try
  PeerTable<bool> replied;           // the peers that replied to this node's request
  PeerTable<std::uint64_t> deferred; // each peer's request whose reply waits: its stamp; 0: none
  std::uint64_t grants = 0;          // times this node got the lock
  std::uint64_t sent = 0;            // messages put on the wire, a cast counted once a peer
  std::uint64_t replies_sent = 0;
  std::uint64_t refusals_sent = 0;    // tries of peers refused
  std::uint64_t tries_taken = 0;      // tries of this node that failed as `taken`
  std::uint64_t from_app_dropped = 0; // what the interface does not allow
  std::uint64_t dropped_short = 0;    // too short for a header
  std::uint64_t dropped_bad_kind = 0; // no kind that travels
  std::uint64_t dropped_stale = 0;    // a reply to a request withdrawn or granted

  // Every path reads or changes the replies, which the bypass does not carry.
  [[nodiscard]] bool ccp_down(const Event& /*ev*/) const { return false; }
  [[nodiscard]] bool ccp_up(const Event& /*ev*/, const Header& /*h*/) const { return false; }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    Header h{};
    if (ev.type != EventType::Cast || !ev.msg.peek(h)) {
      ++from_app_dropped;
      return;
    }
    if ((h.kind == Kind::request || h.kind == Kind::try_request) && phase == Phase::released) {
      mine = ++clock;
      phase = Phase::wanted;
      trying = h.kind == Kind::try_request;
      replied = {};
      send(EventType::Cast, kAllPeers, h.kind, clock, 0, ev.time, io);
      // Alone in the group, the request is granted at once.
      if (io.group_size() <= 1) grant(ev.time, io);
    } else if (h.kind == Kind::release && phase != Phase::released) {
      if (phase == Phase::wanted)
        for (PeerId q = 0; q < io.group_size(); ++q)
          if (q != io.me() && !replied.get(q)) tell(Kind::silent, q, mine, ev.time, io);
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
    const bool asks = h.kind == Kind::request || h.kind == Kind::try_request;
    if (!asks && h.kind != Kind::reply && h.kind != Kind::taken) {
      ++dropped_bad_kind;
      return;
    }
    const PeerId from = ev.peer;
    clock = std::max(clock, ev.lamport);
    if (asks) {
      const bool mine_first = mine < h.stamp || (mine == h.stamp && io.me() < from);
      if (phase == Phase::held || (phase == Phase::wanted && mine_first)) {
        if (h.kind == Kind::try_request)
          refuse(from, h.stamp, ev.time, io); // a try waits behind no one
        else
          deferred[from] = h.stamp;
      } else {
        reply(from, h.stamp, ev.time, io);
        // A request before this node's try: the try gives up.
        if (phase == Phase::wanted && trying) give_up(from, h.stamp, ev.time, io);
      }
    } else if (phase != Phase::wanted || h.ref != mine || (h.kind == Kind::taken && !trying)) {
      ++dropped_stale; // a refusal answers only a try
    } else if (h.kind == Kind::taken) {
      give_up(from, h.stamp, ev.time, io);
    } else {
      replied[from] = true;
      for (PeerId q = 0; q < io.group_size(); ++q)
        if (q != io.me() && !replied.get(q)) return;
      grant(ev.time, io);
    }
  }

private:
  template <class Ports>
  void grant(Time now, Ports& io) {
    phase = Phase::held;
    ++grants;
    tell(Kind::granted, io.me(), mine, now, io);
  }

  // Gives this node's request up, granted or not: the replies it deferred go out.
  template <class Ports>
  void withdraw(Time now, Ports& io) {
    phase = Phase::released;
    mine = 0;
    trying = false;
    for (PeerId q = 0; q < deferred.size(); ++q) {
      const std::uint64_t theirs = deferred.get(q);
      if (theirs == 0) continue;
      deferred[q] = 0;
      reply(q, theirs, now, io);
    }
  }

  // This node's try fails: `from`'s request (`theirs`) is in its way.
  template <class Ports>
  void give_up(PeerId from, std::uint64_t theirs, Time now, Ports& io) {
    withdraw(now, io);
    ++tries_taken;
    tell(Kind::taken, from, theirs, now, io);
  }

  // Tells the application of a request (`stamp`), as if from `from`.
  template <class Ports>
  void tell(Kind kind, PeerId from, std::uint64_t stamp, Time now, Ports& io) {
    Event up{EventType::Deliver, from, Msg{}, now, clock};
    up.msg.push(Header{kind, {}, stamp, 0});
    io.up(up);
  }

  template <class Ports>
  void reply(PeerId to, std::uint64_t request, Time now, Ports& io) {
    ++clock;
    ++replies_sent;
    send(EventType::Send, to, Kind::reply, clock, request, now, io);
  }

  // Refuses a try (`request`), naming this node's own request, which holds or comes first.
  template <class Ports>
  void refuse(PeerId to, std::uint64_t request, Time now, Ports& io) {
    ++clock;
    ++refusals_sent;
    send(EventType::Send, to, Kind::taken, mine, request, now, io);
  }

  // A message of this layer's own (`clock` already ticked for it).
  template <class Ports>
  void send(EventType type, PeerId to, Kind kind, std::uint64_t stamp, std::uint64_t ref, Time now,
            Ports& io) {
    sent += type == EventType::Cast ? io.group_size() - 1 : 1;
    Event down{type, to, Msg{}, now, 0};
    down.msg.push(Header{kind, {}, stamp, ref});
    io.down(down);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::RicartAgrawala, clock, phase, mine, trying, replied, deferred,
                        grants, sent, replies_sent, refusals_sent, tries_taken, from_app_dropped,
                        dropped_short, dropped_bad_kind, dropped_stale);
