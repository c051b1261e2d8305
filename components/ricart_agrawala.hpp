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
//
// The interface to the application is LamportMutex's (the same kinds, and a Header that starts
// as LamportMutex's does): the application casts `request` and `release` (which also withdraws
// a waiting request), and gets `granted`, from itself, with its request's stamp, which grows
// with every grant in the group in the order of (stamp, node), or, withdrawing a request that
// waits, `silent` from each peer that has not replied. Anything else from the application is
// dropped and counted. The stamps are LamportClock's, as in LamportMutex; the
// algorithm needs no FIFO order, and tolerates no failure.
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
    request = 0, // application -> wire: ask for the lock; wire: answer it now or later
    reply = 1,   // wire: go ahead, as far as the sender is concerned
    release = 2, // application: give the lock back, or withdraw the request
    granted = 3, // to the application: the lock is this node's
    silent = 4,  // to the application, from a peer that did not reply to a withdrawn request
  };
  // As the algorithm's states are usually named: no request, waiting, holding the lock.
  enum class Phase : std::uint8_t { released = 0, wanted = 1, held = 2 };
  struct Header {
    Kind kind;
    std::uint8_t unused[7];
    std::uint64_t stamp; // the sender's Lamport clock as it sent this; granted: the request's
    std::uint64_t ref;   // reply: the stamp of the request it answers
  };

  std::uint64_t clock = 0;           // LamportClock's clock, as this layer counts it
  Phase phase = Phase::released;     // of this node's request
  std::uint64_t mine = 0;            // the stamp of this node's request; 0: none
  PeerTable<bool> replied;           // the peers that replied to this node's request
  PeerTable<std::uint64_t> deferred; // each peer's request whose reply waits: its stamp; 0: none
  std::uint64_t grants = 0;          // times this node got the lock
  std::uint64_t sent = 0;            // messages put on the wire, a cast counted once a peer
  std::uint64_t replies_sent = 0;
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
    if (h.kind == Kind::request && phase == Phase::released) {
      mine = ++clock;
      phase = Phase::wanted;
      replied = {};
      send(EventType::Cast, kAllPeers, Kind::request, 0, ev.time, io);
      // Alone in the group, the request is granted at once.
      if (io.group_size() <= 1) grant(ev.time, io);
    } else if (h.kind == Kind::release && phase != Phase::released) {
      if (phase == Phase::wanted)
        for (PeerId q = 0; q < io.group_size(); ++q)
          if (q != io.me() && !replied.get(q)) tell(Kind::silent, q, ev.time, io);
      phase = Phase::released;
      mine = 0;
      for (PeerId q = 0; q < deferred.size(); ++q) {
        const std::uint64_t theirs = deferred.get(q);
        if (theirs == 0) continue;
        deferred[q] = 0;
        reply(q, theirs, ev.time, io);
      }
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
    if (h.kind > Kind::reply) {
      ++dropped_bad_kind;
      return;
    }
    const PeerId from = ev.peer;
    clock = std::max(clock, ev.lamport);
    if (h.kind == Kind::request) {
      const bool mine_first = mine < h.stamp || (mine == h.stamp && io.me() < from);
      if (phase == Phase::held || (phase == Phase::wanted && mine_first))
        deferred[from] = h.stamp;
      else
        reply(from, h.stamp, ev.time, io);
    } else if (phase != Phase::wanted || h.ref != mine) {
      ++dropped_stale;
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
    tell(Kind::granted, io.me(), now, io);
  }

  // Tells the application of this node's request, as if from `from`.
  template <class Ports>
  void tell(Kind kind, PeerId from, Time now, Ports& io) {
    Event up{EventType::Deliver, from, Msg{}, now, clock};
    up.msg.push(Header{kind, {}, mine, 0});
    io.up(up);
  }

  template <class Ports>
  void reply(PeerId to, std::uint64_t request, Time now, Ports& io) {
    ++clock;
    ++replies_sent;
    send(EventType::Send, to, Kind::reply, request, now, io);
  }

  // A message of this layer's own, stamped with `clock` (already ticked for it).
  template <class Ports>
  void send(EventType type, PeerId to, Kind kind, std::uint64_t ref, Time now, Ports& io) {
    sent += type == EventType::Cast ? io.group_size() - 1 : 1;
    Event down{type, to, Msg{}, now, 0};
    down.msg.push(Header{kind, {}, clock, ref});
    io.down(down);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::RicartAgrawala, clock, phase, mine, replied, deferred, grants, sent,
                        replies_sent, from_app_dropped, dropped_short, dropped_bad_kind,
                        dropped_stale);
