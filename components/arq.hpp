// ARQ: reliable delivery that scales — every message sent to a peer goes up there exactly once,
// despite loss, duplication and reordering below, though not necessarily in order.
//
// What Retransmit does with one ack per message and a fixed timeout, Arq does as TCP does:
// - Acks are cumulative (every id below `ack` has arrived) with a selective-ack bitmap (bit i:
//   id ack + 1 + i has arrived), so one loss resends one message. An ack alone reaches beyond
//   the bitmap too: when ids have arrived past its 32, it carries a block, the 32 ids that end
//   at the highest arrived, so that what arrived after a hole is not taken to be in flight
//   however large the window (TCP's first SACK block reports the newest arrival likewise).
// - Acks are delayed: one per `ack_every` messages, or `ack_delay` after the first one owed;
//   at once for a message out of order, seen before, or that fills the sender's window (which
//   then waits for it). Every data message carries the current ack too, so reverse traffic
//   takes them for free.
// - The retransmission timeout follows the measured round trip (SRTT and RTTVAR, RFC 6298),
//   sampled only from acks that cover no message resent or lost (Karn's rule, widened: a
//   repair lets a cumulative ack cover messages that arrived long before); it doubles on each
//   expiry until an ack acknowledges something new. `timeout` is its first and least value,
//   `max_timeout` its greatest. An ack that acknowledges something new restarts the timers (RFC
//   6298's 5.3): a message's timeout and probe count from its send or that ack, the later.
// - A congestion window, NewReno-like, with SACK loss detection (RFC 6675): slow start, then one
//   more message per window acked, or, where the transport bundles messages into datagrams of
//   `bundle_bytes`, a datagram's worth of messages of the sizes acked: the window counts
//   messages, and grows as one counted in bytes grows by a segment (RFC 3465), so that a loss
//   of one datagram of many messages costs what it costs TCP; a message is lost once three sent
//   after it (new or resent, ordered as RFC 8985's RACK orders sends) are selectively acked, or
//   once one sent after it is acked and it has been in flight a round trip and a quarter (RACK's
//   reordering window), so a lost repair is found as the first loss was (a repair acked sooner
//   than the least round trip after it went was acked by an earlier copy, and counts as sent
//   before everything: RFC 8985's step 2); the first loss in a window halves the window (fast
//   recovery: until everything sent before it is acked, the window stays); an expiry sets it
//   to one, to slow start again. An expiry is undone (RFC 4015's Eifel response: the window as
//   it was, nothing more resent, and its repair orders nothing) when an ack shows that a
//   message it took for lost, and not sent since, had arrived. A message is in flight when it
//   is neither acked nor taken for lost; new ones go while fewer than the window are in flight,
//   after the lost ones are resent. Sends beyond the window wait in order, unbounded: a layer
//   above (Window) bounds them.
// - A probe for a lost tail (after RFC 8985's TLP): with no more sends to be acked above it, a
//   lost message is found by no sack. Once a round trip has been measured, when a message has
//   been in flight for 2 SRTT + ack_delay (the receiver may hold its ack that long), but less
//   than the timeout, the message in flight sent last goes again, to be acked at once, and its
//   ack shows by the reordering window what was lost. A receiver that was only slow to answer
//   (descheduled, say) then costs one message sent again, not a window. One probe, then none
//   until an ack acknowledges something new, so a dead path meets the timeout and its back-off.
//
// The congestion window lives here, with the acks, because that is where its clock is: every
// change to it is a reaction to an ack or an expiry, and a layer above would see neither.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <iterator>
#include <utility>

#include "runtime/layer.hpp"
#include "runtime/recycling.hpp"

namespace lamina {

class Arq {
public:
  static constexpr std::string_view name = "Arq";
  static constexpr Guarantees provides = Guarantee::reliable;

  enum class Kind : std::uint8_t {
    data = 0,         // a message, number `id` in its sender's sequence to this peer; and an ack
    ack = 1,          // an ack alone
    data_ack_now = 2, // data that fills the sender's window: it waits for the ack
    ack_block = 3,    // an ack alone, then a SackBlock: the ids `id` .. `id` + 31 that arrived
  };
  // `ack`: every id below it has arrived at the header's sender; bit i of `sack`: so has
  // ack + 1 + i. `lamina::bits` tells lamina-opt that `sack` is a set of bits, not a counter.
  struct Header {
    Kind kind;
    std::uint8_t unused[3];
    std::uint32_t id;
    std::uint32_t ack;
    std::uint32_t sack [[clang::annotate("lamina::bits")]];
  };
  // Behind an ack of kind ack_block: bit i says id `Header::id` + i has arrived.
  struct SackBlock {
    std::uint32_t bits;
  };

  // A message sent and not yet acknowledged cumulatively.
  struct Unacked {
    std::uint32_t id = 0;
    Time sent_at{};          // when it was last (re)sent
    std::uint64_t order = 0; // its last (re)send's place among the layer's data sends
    bool sacked = false;     // selectively acked (its copy is dropped)
    bool lost = false;       // taken for lost, waiting to be resent
    bool resent = false;     // sent more than once: no round-trip sample (Karn)
    bool timed_out = false;  // taken for lost by an expiry, and not sent since
    Msg msg;                 // as it came from above, without this layer's header
    friend bool operator==(const Unacked&, const Unacked&) = default;
  };

  // The round trip to a peer as RFC 6298 measures it, in ns, and where the timers count from.
  struct Rtt {
    std::int64_t srtt = 0;   // smoothed; 0: no sample yet
    std::int64_t rttvar = 0; // its variation
    std::int64_t rto = 0;    // the retransmission timeout
    std::int64_t least = 0;  // the least sample; 0: none yet
    Time restart{};          // the last ack of news: a message's timers count from its send or this
    friend bool operator==(const Rtt&, const Rtt&) = default;
  };

  // The congestion state toward a peer, NewReno-like (see the top of this file).
  struct Congestion {
    std::uint32_t cwnd = 0;     // congestion window, in messages; 0 until the first send
    std::uint32_t ssthresh = 0; // slow start below it
    std::uint32_t credit = 0;   // acked towards growth above ssthresh (growth_credit)
    bool recovering = false;    // after a loss, until `recover` is acked
    std::uint32_t recover = 0;  // next_id when the loss was found
    friend bool operator==(const Congestion&, const Congestion&) = default;
  };

  // What take_ack counts of the messages an ack newly acknowledges.
  struct Tally {
    std::uint32_t newly = 0;        // messages newly acked
    std::uint32_t credit = 0;       // towards congestion avoidance's growth (growth_credit)
    bool clean = true;              // none of them resent or taken for lost
    bool spurious = false;          // an expiry took one for lost that had arrived
    Time sample_sent{};             // when the last one counted was sent
    std::uint64_t newest = 0;       // the latest sent of them
    std::uint64_t newest_first = 0; // the same, of those sent only once
  };

  // How far ahead of the first missing id a message may be and still be accepted: a peer
  // never has more messages outstanding; a corrupt or forged header might claim so.
  static constexpr std::uint32_t kWindow = 1u << 16;
  static constexpr std::uint32_t kSackBits = 32;
  static constexpr std::uint32_t kDupThresh = 3; // sent after a loss and selectively acked

  Duration timeout = std::chrono::milliseconds(20);  // parameter: first and least timeout
  Duration max_timeout = std::chrono::seconds(2);    // parameter: greatest timeout
  std::uint32_t ack_every = 8;                       // parameter: data messages per ack
  Duration ack_delay = std::chrono::milliseconds(1); // parameter: an owed ack waits at most this
  std::uint32_t initial_cwnd = 16;                   // parameter: messages
  std::uint32_t max_cwnd = 4096;                     // parameter: messages
  std::uint32_t bundle_bytes = 0; // parameter: bytes a datagram bundles; 0: a message a datagram
  // Sender, per peer.
  PeerTable<std::uint32_t> next_id;       // id of the next message to each peer
  PeerTable<std::uint32_t> acked_below;   // every id below this is acked
  PeerTable<std::deque<Unacked>> unacked; // ids acked_below .. next_id - 1, in order
  PeerTable<std::deque<Msg>> waiting;     // sends beyond the congestion window
  PeerTable<std::uint32_t> in_flight;     // unacked, neither sacked nor lost
  PeerTable<std::uint32_t> lost;          // unacked and lost, waiting to be resent
  PeerTable<std::uint32_t> sacked;        // unacked and sacked
  PeerTable<Congestion> congestion;       // the congestion window and its state
  PeerTable<Congestion> undo;             // as it was before the last expiry (undo_expiry)
  PeerTable<Rtt> rtt;                     // the round trip measured, and the timeout
  PeerTable<bool> probed;                 // a probe expired since the last ack of news
  // Receiver, per peer.
  PeerTable<std::uint32_t> received_below;               // all ids below this have arrived
  PeerTable<RecyclingSet<std::uint32_t>> received_above; // ids above received_below, arrived
  PeerTable<std::uint32_t> sack_bits;                    // received_above as a SACK bitmap
  PeerTable<std::uint32_t> owed;                         // data arrived since the last ack
  PeerTable<Time> ack_due;                               // when the owed ack goes; 0: none owed
  Time timer_at{};                     // the earliest timer asked for and not yet expired; 0: none
  std::uint64_t sends = 0;             // data sent, new or again: the next one's order
  std::uint64_t queued = 0;            // sends that waited for the congestion window
  std::uint64_t retransmitted = 0;     // copies sent again
  std::uint64_t timeouts = 0;          // expiries that found a message lost
  std::uint64_t spurious_timeouts = 0; // expiries undone: what they took for lost had arrived
  std::uint64_t fast_recoveries = 0;   // losses found by selective acks
  std::uint64_t probes = 0;            // probes sent (each a message sent again)
  std::uint64_t acks_sent = 0;         // acks alone (the ones on data are free)
  std::uint64_t duplicates_suppressed = 0; // data that had already arrived
  std::uint64_t dropped_short = 0;         // too short for a header
  std::uint64_t dropped_bad_kind = 0;      // neither data nor ack
  std::uint64_t dropped_far = 0;           // id beyond the window
  std::uint64_t dropped_forged = 0;        // acking what was never sent

  // Down: a message to one peer, with room in its congestion window and nothing waiting.
  [[nodiscard]] bool ccp_down(const Event& ev) const {
    return ev.type == EventType::Send && waiting.get(ev.peer).empty() &&
           in_flight.get(ev.peer) < congestion.get(ev.peer).cwnd;
  }
  // Up: the next data in order with no gap behind it, carrying a cumulative ack (no sack) of
  // what was sent: the ack of reverse traffic, which moves the window, is common too.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.kind == Kind::data && h.id == received_below.get(ev.peer) &&
           received_above.get(ev.peer).empty() && h.sack == 0 &&
           h.ack - acked_below.get(ev.peer) <= next_id.get(ev.peer) - acked_below.get(ev.peer);
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Cast) {
      split_cast(ev, io, [&](Event& send) { down(send, io); });
      return;
    }
    const PeerId peer = ev.peer;
    if (congestion[peer].cwnd == 0) { // the first message to this peer
      congestion[peer].cwnd = std::min(initial_cwnd, max_cwnd);
      congestion[peer].ssthresh = max_cwnd;
      rtt[peer].rto = timeout.count();
    }
    if (waiting[peer].empty() && in_flight[peer] < congestion[peer].cwnd) {
      transmit(ev, io);
      return;
    }
    // Nothing can be sent instead: after every change to the window, pump() filled it.
    ++queued;
    waiting[peer].push_back(std::move(ev.msg));
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    if (h.kind > Kind::ack_block) {
      ++dropped_bad_kind;
      return;
    }
    SackBlock block{};
    if (h.kind == Kind::ack_block && !ev.msg.pop(block)) {
      ++dropped_short;
      return;
    }
    const bool data = h.kind == Kind::data || h.kind == Kind::data_ack_now;
    const PeerId peer = ev.peer;
    const Time now = ev.time;
    if (data && h.id - received_below.get(peer) >= kWindow &&
        received_below.get(peer) - h.id > kWindow) {
      ++dropped_far;
      return;
    }
    const std::uint32_t advance = h.ack - acked_below.get(peer);
    const std::uint32_t outstanding = next_id.get(peer) - acked_below.get(peer);
    const bool stale = advance >= (1u << 31); // behind an ack taken before: reordered
    // The block is read only behind an ack_block: on the common path (data) lamina-opt sees the
    // kind and leaves it out.
    const bool has_block = h.kind == Kind::ack_block;
    if (!stale && (forged(advance, outstanding, h.sack) ||
                   (has_block && forged_block(h.id - h.ack, block.bits, outstanding - advance)))) {
      ++dropped_forged;
      return;
    }
    // Whether the ack may acknowledge anything not acked before (only take_ack moves
    // acked_below).
    const bool news = !stale && (advance != 0 || h.sack != 0 || has_block);
    bool ack_now = h.kind == Kind::data_ack_now;
    if (data) {
      if (!record_arrival(peer, h.id, ack_now)) {
        ++duplicates_suppressed;
      } else {
        io.up(ev);
      }
    }
    if (news) take_ack(peer, h, block.bits, now, io);
    if (owed.get(peer) == 0) return; // nothing owed, or paid on data sent meanwhile
    if (ack_now || owed[peer] >= ack_every) {
      send_ack(peer, now, io);
    } else if (ack_due[peer] == Time{}) {
      ack_due[peer] = now + ack_delay;
      arm(ack_due[peer], now, io);
    }
  }

  template <class Ports>
  void timer(Event& ev, Ports& io) {
    const Time now = ev.time;
    if (timer_at != Time{} && now >= timer_at) timer_at = Time{};
    for (PeerId peer = 0; peer < unacked.size() || peer < ack_due.size(); ++peer) {
      if (ack_due.get(peer) != Time{} && ack_due.get(peer) <= now) send_ack(peer, now, io);
      if (peer < unacked.size()) expire(peer, now, io);
    }
    // The next deadline: the earliest owed ack, or the earliest probe or expiry of a message in
    // flight.
    Time next{};
    const auto consider = [&](Time t) {
      if (next == Time{} || t < next) next = t;
    };
    for (PeerId peer = 0; peer < ack_due.size(); ++peer)
      if (ack_due.get(peer) != Time{}) consider(ack_due.get(peer));
    for (PeerId peer = 0; peer < unacked.size(); ++peer) {
      const Time restart = rtt.get(peer).restart;
      const Duration wait(patience(peer));
      for (const Unacked& u : unacked.get(peer))
        if (!u.sacked && !u.lost) consider(std::max(u.sent_at, restart) + wait);
    }
    if (next != Time{}) arm(next, now, io);
  }

private:
  // Whether an ack `advance` ahead of acked_below, with `sack`, acknowledges an id never sent.
  [[nodiscard]] static bool forged(std::uint32_t advance, std::uint32_t outstanding,
                                   std::uint32_t sack) {
    if (advance > outstanding) return true;
    if (sack == 0) return false;
    const std::uint32_t room = outstanding - advance; // ids ack .. next_id - 1
    if (room <= 1) return true;
    return room - 1 < kSackBits && (sack >> (room - 1)) != 0;
  }

  // Whether a block `from` ids past the ack marks an id at or below the ack, or never sent
  // (`room`: the ids ack .. next_id - 1).
  [[nodiscard]] static bool forged_block(std::uint32_t from, std::uint32_t bits,
                                         std::uint32_t room) {
    for (std::uint32_t i = 0; bits != 0; ++i, bits >>= 1)
      if ((bits & 1) != 0 && (room <= 1 || from + i - 1 >= room - 1)) return true;
    return false;
  }

  // How long a message may be in flight before the timer looks at it: until the probe, unless
  // one has gone (or no round trip is known yet), then until the timeout.
  [[nodiscard]] std::int64_t patience(PeerId peer) const {
    const Rtt& e = rtt.get(peer);
    if (probed.get(peer) || e.srtt == 0) return e.rto;
    return std::min(e.rto, 2 * e.srtt + ack_delay.count());
  }

  template <class Ports>
  void arm(Time at, Time now, Ports& io) {
    if (timer_at != Time{} && timer_at <= at) return;
    timer_at = at;
    io.set_timer(at - now);
  }

  // Sends `ev` as the next new message to its peer.
  template <class Ports>
  void transmit(Event& ev, Ports& io) {
    const PeerId peer = ev.peer;
    const std::uint32_t id = next_id[peer]++;
    unacked[peer].push_back({id, ev.time, sends++, false, false, false, false, ev.msg.share()});
    ++in_flight[peer];
    ev.msg.push(Header{data_kind(peer), {}, id, received_below.get(peer), sack_bits.get(peer)});
    paid(peer);
    arm(ev.time + Duration(patience(peer)), ev.time, io);
    io.down(ev);
  }

  // The kind of data just counted in flight: if it fills the window, the sender waits for its
  // ack, which must not wait for ack_every more.
  [[nodiscard]] Kind data_kind(PeerId peer) const {
    return in_flight.get(peer) >= congestion.get(peer).cwnd ? Kind::data_ack_now : Kind::data;
  }

  // A header to `peer` carries the ack owed there (received_below, sack_bits): it is paid.
  void paid(PeerId peer) {
    owed[peer] = 0;
    ack_due[peer] = Time{};
  }

  template <class Ports>
  void send_ack(PeerId peer, Time now, Ports& io) {
    Event ack = Event::send(peer, Msg::with_size(0));
    Header h{Kind::ack, {}, 0, received_below.get(peer), sack_bits.get(peer)};
    if (const SackBlock block = block_beyond(peer, h.id); block.bits != 0) {
      ack.msg.push(block);
      h.kind = Kind::ack_block;
    }
    ack.msg.push(h);
    paid(peer);
    ack.time = now;
    ++acks_sent;
    io.down(ack);
  }

  // If an id beyond the bitmap has arrived from `peer`: the block of the 32 ids that end at the
  // highest arrived (by distance from received_below, as ids wrap), from `from`; else bits 0
  // (and `from` as it was).
  [[nodiscard]] SackBlock block_beyond(PeerId peer, std::uint32_t& from) const {
    const auto& above = received_above.get(peer);
    const std::uint32_t below = received_below.get(peer);
    if (above.empty()) return {0};
    // Every id held lies within kWindow above `below`; those less than it have wrapped.
    const auto wrapped = above.lower_bound(below);
    const std::uint32_t highest = wrapped != above.begin() ? *std::prev(wrapped) : *above.rbegin();
    if (highest - below <= kSackBits) return {0};
    from = highest - (kSackBits - 1);
    std::uint32_t bits = 0;
    for (std::uint32_t i = 0; i < kSackBits; ++i)
      if (above.contains(from + i)) bits |= 1u << i;
    return {bits};
  }

  // Resends what is lost, then sends what waits, while the congestion window has room. The
  // tables are looked up afresh after each send: the layers below may deliver meanwhile.
  template <class Ports>
  void pump(PeerId peer, Time now, Ports& io) {
    while (in_flight[peer] < congestion[peer].cwnd) {
      if (lost[peer] > 0) {
        auto& list = unacked[peer];
        auto it = std::find_if(list.begin(), list.end(), [](const Unacked& u) { return u.lost; });
        it->lost = false;
        it->timed_out = false;
        --lost[peer];
        ++in_flight[peer];
        resend(peer, *it, false, now, io);
      } else if (!waiting[peer].empty()) {
        Event next = Event::send(peer, std::move(waiting[peer].front()));
        waiting[peer].pop_front();
        next.time = now;
        transmit(next, io);
      } else {
        return;
      }
    }
  }

  // Sends `u`, in flight, again; as data to be acked at once if `ack_now`.
  template <class Ports>
  void resend(PeerId peer, Unacked& u, bool ack_now, Time now, Ports& io) {
    u.resent = true;
    u.sent_at = now;
    u.order = sends++;
    ++retransmitted;
    const Kind kind = ack_now ? Kind::data_ack_now : data_kind(peer);
    Event again = Event::send(peer, u.msg.share());
    again.msg.push(Header{kind, {}, u.id, received_below.get(peer), sack_bits.get(peer)});
    paid(peer);
    again.time = now;
    arm(now + Duration(patience(peer)), now, io);
    io.down(again);
  }

  // Takes the entry out of the counts of what it was; `sacked` says it is acknowledged.
  void settle(PeerId peer, Unacked& u) {
    if (u.sacked) {
      --sacked[peer];
    } else if (u.lost) {
      --lost[peer];
    } else {
      --in_flight[peer];
    }
  }

  // A message resent less than the least round trip ago was not acked by its new copy but by an
  // earlier one, whose place among the sends is no longer known: it orders nothing for loss
  // detection (RFC 8985's step 2), else all sent before the new copy would be taken for lost,
  // and their repairs in turn would do the same to what was sent before them.
  [[nodiscard]] bool early(PeerId peer, const Unacked& u, Time now) const {
    return u.resent && now - u.sent_at < Duration(rtt.get(peer).least);
  }

  // Counts `u`, newly acked, into `t`. The round trip is sampled from the newest message newly
  // acked, unless the ack covers a message resent or taken for lost: it may then have waited
  // for the repair (Karn's rule, widened to what a repair lets a cumulative ack cover).
  void count_acked(Tally& t, PeerId peer, const Unacked& u, Time now) const {
    ++t.newly;
    t.credit += growth_credit(u.msg.size());
    t.clean = t.clean && !u.resent && !u.lost;
    t.spurious = t.spurious || u.timed_out;
    t.sample_sent = u.sent_at;
    if (!early(peer, u, now)) t.newest = std::max(t.newest, u.order);
    if (!u.resent) t.newest_first = std::max(t.newest_first, u.order);
  }

  // Marks selectively acked, for each bit i of `bits`, the message `first` + i ids past
  // acked_below; forged() and forged_block() saw that each was sent.
  void mark_sacked(Tally& t, PeerId peer, std::uint32_t bits, std::uint32_t first, Time now) {
    for (std::uint32_t i = 0; bits != 0; ++i, bits >>= 1) {
      if ((bits & 1) == 0) continue;
      Unacked& u = unacked[peer][first + i];
      if (u.sacked) continue;
      count_acked(t, peer, u, now);
      settle(peer, u);
      if (early(peer, u, now)) u.order = 0; // as if sent first: it takes nothing for lost
      u.sacked = true;
      u.lost = false;
      u.timed_out = false;
      u.msg = Msg();
      ++sacked[peer];
    }
  }

  // `block_bits`: the bits of the SackBlock behind an ack_block, else 0.
  template <class Ports>
  void take_ack(PeerId peer, const Header& h, std::uint32_t block_bits, Time now, Ports& io) {
    Tally t{};
    while (acked_below[peer] != h.ack) {
      Unacked& u = unacked[peer].front();
      if (!u.sacked) count_acked(t, peer, u, now);
      settle(peer, u);
      unacked[peer].pop_front();
      ++acked_below[peer];
    }
    mark_sacked(t, peer, h.sack, 1, now);                // ids ack + 1 ..
    mark_sacked(t, peer, block_bits, h.id - h.ack, now); // ids id .. (0 unless an ack_block)
    if (t.newly == 0) return;
    probed[peer] = false;
    if (t.clean) measure(peer, now - t.sample_sent);
    // Progress ends a back-off (as Linux does; RFC 6298 keeps it until a sample, which Karn's
    // rule may withhold for long on a lossy path).
    Rtt& e = rtt[peer];
    e.rto = std::max(timeout.count(), std::min(max_timeout.count(), e.srtt + 4 * e.rttvar));
    e.restart = now;
    // After a spurious expiry, a repair acked was acked by its first copy too: only messages
    // sent once order anything.
    if (t.spurious) {
      undo_expiry(peer);
      t.newest = t.newest_first;
    }
    const bool found_loss = (sacked[peer] != 0 || !t.clean) && find_losses(peer, t.newest, now);
    Congestion& c = congestion[peer];
    if (c.recovering && acked_below[peer] - c.recover < (1u << 31)) c.recovering = false;
    if (found_loss && !c.recovering) {
      ++fast_recoveries;
      enter_recovery(peer);
    } else if (!c.recovering || c.cwnd < c.ssthresh) {
      grow(peer, t.newly, t.credit); // not in fast recovery; after an expiry, slow start
    }
    pump(peer, now, io);
  }

  // Takes for lost each message in flight with kDupThresh sent after it sacked, or with one sent
  // after it acked (`newest`: the latest sent of those just acked) and in flight for a round
  // trip and a quarter, RACK's reordering window (RFC 8985): after a probe's ack, where no
  // kDupThresh sacks follow. Sends are ordered as they went, new or resent (RACK's order), not
  // by time: the transport reads the clock once a burst, and a repair may go in the same burst
  // as new messages sent before it. A message still in flight can have one sent after it acked
  // only while sacks are held or when a resent message is acked: take_ack looks only then.
  // True if a loss is found.
  bool find_losses(PeerId peer, std::uint64_t newest, Time now) {
    auto& list = unacked[peer];
    // The kDupThresh latest sacked, latest first.
    std::array<std::uint64_t, Arq::kDupThresh> latest{};
    for (const Unacked& u : list) {
      if (!u.sacked) continue;
      std::uint64_t order = u.order;
      for (std::uint64_t& l : latest)
        if (order >= l) std::swap(order, l);
    }
    newest = std::max(newest, latest.front());
    const std::int64_t srtt = rtt.get(peer).srtt;
    const Time settled = now - Duration(srtt + srtt / 4); // sent by then: past the window
    bool found = false;
    for (Unacked& u : list) {
      if (u.sacked || u.lost) continue;
      const bool by_count = u.order < latest.back();
      const bool by_time = srtt != 0 && u.order < newest && u.sent_at <= settled;
      if (!by_count && !by_time) continue;
      take_for_lost(peer, u);
      found = true;
    }
    return found;
  }

  // `u`, in flight to `peer`, is taken for lost: out of flight, to be resent.
  void take_for_lost(PeerId peer, Unacked& u) {
    u.lost = true;
    --in_flight[peer];
    ++lost[peer];
  }

  // A loss, the first of its window: recovery until everything sent so far is acked, slow start
  // below half the window; the window itself halves (two at least, but it never rises). An
  // expiry then shuts it to one.
  void enter_recovery(PeerId peer) {
    Congestion& c = congestion[peer];
    c.ssthresh = std::max<std::uint32_t>(c.cwnd / 2, 2);
    c.cwnd = std::min(c.cwnd, c.ssthresh);
    c.credit = 0;
    c.recovering = true;
    c.recover = next_id.get(peer);
  }

  // Slow start adds a message for each message acked; congestion avoidance, one for each window
  // of credit acked.
  void grow(PeerId peer, std::uint32_t newly, std::uint32_t credit) {
    Congestion& c = congestion[peer];
    if (c.cwnd < c.ssthresh) {
      c.cwnd = std::min(c.cwnd + newly, max_cwnd);
      return;
    }
    c.credit += credit;
    if (c.credit >= c.cwnd) {
      const std::uint32_t more = c.credit / c.cwnd;
      c.credit %= c.cwnd;
      c.cwnd = std::min(c.cwnd + more, max_cwnd);
    }
  }

  // What acking a message of `size` bytes from above counts towards congestion avoidance: as
  // many messages of its size (and Arq's header) as a datagram of bundle_bytes holds, at least
  // one. A window acked then adds a datagram's worth of messages, as a window counted in bytes
  // adds one segment (RFC 3465), where the transport bundles; one message where it does not.
  [[nodiscard]] std::uint32_t growth_credit(std::size_t size) const {
    return static_cast<std::uint32_t>(
        std::max<std::size_t>(1, bundle_bytes / (size + sizeof(Header))));
  }

  // An ack of a message that an expiry took for lost, and that has not been sent since, shows
  // that a copy sent before the expiry arrived: the expiry was spurious (the receiver or its
  // acks were only late, say descheduled). As RFC 4015's Eifel response does, the window and
  // its state are put back as they were before it, and what it took for lost is in flight
  // again, not resent: only the one message resent at the expiry was sent twice. A repair
  // sacked counts as sent first, as one acked sooner than the least round trip does: else its
  // late place among the sends would take everything sent before it for lost again, all that
  // the expiry took.
  void undo_expiry(PeerId peer) {
    ++spurious_timeouts;
    congestion[peer] = undo.get(peer);
    for (Unacked& u : unacked[peer]) {
      if (u.sacked && u.resent) u.order = 0;
      if (!u.timed_out) continue;
      u.timed_out = false;
      u.lost = false;
      --lost[peer];
      ++in_flight[peer];
    }
  }

  // A round-trip sample, as RFC 6298 takes it into SRTT and RTTVAR.
  void measure(PeerId peer, Duration sample) {
    const std::int64_t r = sample.count();
    Rtt& e = rtt[peer];
    if (e.srtt == 0) {
      e.srtt = r;
      e.rttvar = r / 2;
    } else {
      const std::int64_t err = e.srtt > r ? e.srtt - r : r - e.srtt;
      e.rttvar = (3 * e.rttvar + err) / 4;
      e.srtt = (7 * e.srtt + r) / 8;
    }
    if (e.least == 0 || r < e.least) e.least = r;
  }

  // Once a message has been in flight a timeout or longer, takes all in flight for lost (as
  // TCP does on a timeout: were some still in flight, they would hold the window of one shut),
  // and backs off. Before that, once the probe is due, probes.
  template <class Ports>
  void expire(PeerId peer, Time now, Ports& io) {
    const Time restart = rtt.get(peer).restart;
    const auto past = [&](const Unacked& u, std::int64_t wait) {
      return !u.sacked && !u.lost && std::max(u.sent_at, restart) + Duration(wait) <= now;
    };
    // patience() is the timeout itself once a probe has gone: then a probe is an expiry.
    const std::int64_t wait = patience(peer);
    bool expired = false;
    bool due = false;     // for the probe, or expired (wait <= rto)
    bool pending = false; // messages an earlier expiry took for lost wait to be resent
    for (const Unacked& u : unacked[peer]) {
      expired = expired || past(u, rtt[peer].rto);
      due = due || past(u, wait);
      pending = pending || u.timed_out;
    }
    if (!due) return;
    if (!expired) return probe(peer, now, io);
    // For undo_expiry: the window before this expiry, or, while messages an earlier one took for
    // lost are still unsent, before that one.
    if (!pending) undo[peer] = congestion.get(peer);
    for (Unacked& u : unacked[peer]) {
      if (!past(u, 0)) continue;
      take_for_lost(peer, u);
      u.timed_out = true;
    }
    ++timeouts;
    enter_recovery(peer);
    congestion[peer].cwnd = 1;
    rtt[peer].rto = std::max(timeout.count(), std::min(max_timeout.count(), 2 * rtt[peer].rto));
    pump(peer, now, io);
  }

  // The probe (RFC 8985's TLP): the message in flight sent last goes again, marked to be acked
  // at once. Nothing is taken for lost and the window stays. After a lost tail, the probe's ack
  // sacks it, and the rest of the tail, sent before it, is lost by the reordering window
  // (find_losses). A receiver that was only late acks everything sent before the probe: had the
  // probe been an earlier message, an ack of its first copy would have counted as the probe's,
  // and taken all sent after that copy and not yet acked for lost.
  template <class Ports>
  void probe(PeerId peer, Time now, Ports& io) {
    ++probes;
    probed[peer] = true;
    Unacked* last = nullptr;
    for (Unacked& u : unacked[peer])
      if (!u.sacked && !u.lost && (last == nullptr || u.order > last->order)) last = &u;
    resend(peer, *last, true, now, io);
  }

  // Notes that `id` arrived (and is owed an ack); false if it had arrived before. Sets `ack_now`
  // if it was out of order, filled a gap or was seen before: such data is acked at once, since
  // the sender finds losses by those acks.
  bool record_arrival(PeerId peer, std::uint32_t id, bool& ack_now) {
    std::uint32_t& below = received_below[peer];
    auto& above = received_above[peer];
    std::uint32_t& bits = sack_bits[peer];
    const std::uint32_t ahead = id - below;
    ++owed[peer];
    ack_now = ack_now || ahead != 0 || !above.empty();
    if (ahead >= kWindow) return false; // behind `below`
    if (ahead != 0) {
      if (!above.insert(id).second) return false;
      if (ahead <= kSackBits) bits |= 1u << (ahead - 1);
      return true;
    }
    step_below(peer);
    while (!above.empty() && above.erase(below) != 0) step_below(peer);
    return true;
  }

  // The next id in order has arrived: `received_below` moves on by one. Bit i of the bitmap
  // stands for below + 1 + i: each step shifts it.
  void step_below(PeerId peer) {
    const std::uint32_t below = ++received_below[peer];
    std::uint32_t& bits = sack_bits[peer];
    bits >>= 1;
    if (received_above[peer].contains(below + kSackBits)) bits |= 1u << (kSackBits - 1);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Arq::Unacked, id, sent_at, order, sacked, lost, resent, timed_out,
                        msg);
BOOST_HANA_ADAPT_STRUCT(lamina::Arq::Rtt, srtt, rttvar, rto, least, restart);
BOOST_HANA_ADAPT_STRUCT(lamina::Arq::Congestion, cwnd, ssthresh, credit, recovering, recover);
// Boost.Hana adapts at most 39 members.
BOOST_HANA_ADAPT_STRUCT(lamina::Arq, timeout, max_timeout, ack_every, ack_delay, initial_cwnd,
                        max_cwnd, bundle_bytes, next_id, acked_below, unacked, waiting, in_flight,
                        lost, sacked, congestion, undo, rtt, probed, received_below, received_above,
                        sack_bits, owed, ack_due, timer_at, sends, queued, retransmitted, timeouts,
                        spurious_timeouts, fast_recoveries, probes, acks_sent,
                        duplicates_suppressed, dropped_short, dropped_bad_kind, dropped_far,
                        dropped_forged);
