// RPC: calls and their answers. A call runs at most once at its server however often it is
// sent, within its deadline; it can be cancelled; a restarted server never runs a call twice.
//
// The header is also the interface to the application. A client sends a call as a message
// that starts with a Header of kind `call`, its id (greater than its last call's to that
// server) and its budget in µs; it gets back, under the same id, the `answer`, or the outcome
// `expired`, `cancelled` or `unavailable`, and it may send `cancel` for a call it no longer
// wants. A server gets a call with its header as it came, and answers by sending a Header of
// kind `answer` with the call's id in front of the result. The layer fills in the rest.
//
// - Resending. A call unanswered for `resend` is sent again, and again, until it is answered
//   or its deadline passes; the layers below may lose or repeat it. Each copy carries the
//   budget left, which the server hands to its application with the call.
// - At most once. The server keeps the answer it sent for each call, keyed by client, the
//   client's incarnation and the call's id, and answers a resent call from there instead of
//   running it again. Every call carries the client's lowest unfinished id: the server drops
//   the answers below it and runs no call below it. It holds at most `cache` calls (running,
//   answered or cancelled); a call beyond that is refused, and the client's application gets
//   `unavailable`.
// - Incarnations. A node has an incarnation number, greater after every restart. A call is
//   addressed to the server's incarnation, and a server refuses one addressed to another (an
//   old one, or none: the first call to a server learns its incarnation from the refusal and
//   goes again at once). A call refused by a newer incarnation than its own may have run at
//   the old one: it ends `unavailable`, never runs again. A server that hears from a newer
//   incarnation of a client forgets the old one's calls.
// - Cancelling. The client forgets the call at once (the application gets `cancelled`, and no
//   answer after it) and tells the server: a call not yet there never runs, and one running
//   gets the cancel, for its handler to stop if it can.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/layer.hpp"
#include "runtime/recycling.hpp"

namespace lamina {

class Rpc {
public:
  static constexpr std::string_view name = "Rpc";

  enum class Kind : std::uint8_t {
    call = 0,        // client application -> wire -> server application
    answer = 1,      // server application -> wire -> client application
    cancel = 2,      // client application -> wire -> server application (if the call runs)
    stale = 3,       // wire: refused, addressed to another incarnation of the server
    busy = 4,        // wire: refused, the server holds `cache` calls
    expired = 5,     // to the client application: the deadline passed unanswered
    cancelled = 6,   // to the client application: the call was cancelled
    unavailable = 7, // to the client application: refused as busy, or the server restarted
  };
  struct Header {
    Kind kind;
    std::uint8_t unused[3];
    std::uint32_t id;  // the call: its client's number for it, increasing per server
    std::uint32_t low; // call, cancel: the client has finished every call below this
    // The sender's incarnation, and the one it takes the receiver to have (0: unknown). Read
    // from the clock, they name a run: `lamina::opaque` tells lamina-opt to send them whole.
    std::uint32_t inc [[clang::annotate("lamina::opaque")]];
    std::uint32_t to_inc [[clang::annotate("lamina::opaque")]];
    std::uint32_t budget; // call: µs left before its deadline
  };

  // A call sent and not yet finished.
  struct Call {
    Time deadline{};          // the call ends `expired` then
    Time next_send{};         // it goes again then, unanswered
    std::uint32_t to_inc = 0; // the server's incarnation it is addressed to; 0: unknown yet
    Msg args;                 // as it came from above, without the header
    friend bool operator==(const Call&, const Call&) = default;
  };

  // Parameter: this node's incarnation. A node sets it before it starts (from the clock, so that
  // a restart has a greater one): one fused build serves every incarnation.
  [[clang::annotate("lamina::per_node")]] std::uint32_t incarnation = 1;
  Duration resend = std::chrono::milliseconds(20); // parameter: an unanswered call goes again
  std::uint32_t cache = 4096;                      // parameter: calls a server holds
  // Client, per server.
  PeerTable<std::uint32_t> next_id;                   // a new call's id is at least this
  PeerTable<std::uint32_t> server_inc;                // its incarnation as last heard; 0: unknown
  PeerTable<RecyclingMap<std::uint32_t, Call>> calls; // unfinished, by id
  // Server, per client.
  PeerTable<std::uint32_t> client_inc;                 // the incarnation whose calls are held
  PeerTable<std::uint32_t> low;                        // no call below this runs
  PeerTable<RecyclingSet<std::uint32_t>> running;      // with the application, unanswered
  PeerTable<RecyclingMap<std::uint32_t, Msg>> answers; // answered: the packets sent
  PeerTable<RecyclingSet<std::uint32_t>> cancelled;    // cancelled before they came: never run
  std::uint32_t held = 0;                              // calls running, answered or cancelled
  Time timer_at{};                    // the earliest timer asked for and not yet expired; 0: none
  std::uint64_t resent = 0;           // calls sent again
  std::uint64_t replayed = 0;         // calls answered again from `answers`, not run
  std::uint64_t expired = 0;          // calls whose deadline passed unanswered
  std::uint64_t refused = 0;          // calls and cancels refused: busy or stale
  std::uint64_t from_app_dropped = 0; // sends the interface does not allow (see down)
  std::uint64_t dropped_short = 0;    // too short for a header
  std::uint64_t dropped_bad_kind = 0; // no kind that travels
  std::uint64_t dropped_old = 0;      // a call finished, running, answered or cancelled
  std::uint64_t dropped_late = 0;     // a call with no budget left
  std::uint64_t dropped_unknown = 0;  // an answer or refusal of no unfinished call
  std::uint64_t dropped_stale = 0;    // from or to another incarnation

  // Down: the server's application answers a call that is running and that its client has not
  // finished (`h` is the application's header, in front of the answer). The client's calls
  // change the table of calls and may take a timer: they stay layered.
  [[nodiscard]] bool ccp_down(const Event& ev, const Header& h) const {
    return ev.type == EventType::Send && h.kind == Kind::answer &&
           running.get(ev.peer).contains(h.id) && h.id >= low.get(ev.peer);
  }
  // Up: at the client, the answer to a call it has not finished, from the incarnation the call
  // was addressed to. A call arriving at the server reads and changes its tables on every path,
  // and stays layered.
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.kind == Kind::answer && h.to_inc == incarnation && calls.get(ev.peer).contains(h.id) &&
           h.inc == calls.get(ev.peer).at(h.id).to_inc;
  }

  // From the application: a call, an answer or a cancel, to one peer. Anything else is dropped
  // and counted: a cast, a message without a header, another kind, a call whose id is not
  // above the last to that peer, an answer to a call not running, a cancel of a call not
  // unfinished.
  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type != EventType::Send) {
      ++from_app_dropped;
      return;
    }
    Header h{};
    if (!ev.msg.pop(h)) {
      ++from_app_dropped;
      return;
    }
    switch (h.kind) {
    case Kind::call:
      return call(ev, h, io);
    case Kind::answer:
      return answer(ev, h, io);
    case Kind::cancel:
      return cancel(ev, h, io);
    default:
      ++from_app_dropped;
      return;
    }
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.peek(h)) {
      ++dropped_short;
      return;
    }
    switch (h.kind) {
    case Kind::call:
      return serve(ev, h, io);
    case Kind::answer:
      return answered(ev, h, io);
    case Kind::cancel:
      return cancel_arrived(ev, h, io);
    case Kind::stale:
    case Kind::busy:
      return refusal(ev, h, io);
    default:
      ++dropped_bad_kind;
      return;
    }
  }

  // Ends the calls whose deadline has passed and resends those unanswered for `resend`.
  template <class Ports>
  void timer(Event& ev, Ports& io) {
    const Time now = ev.time;
    if (timer_at != Time{} && now >= timer_at) timer_at = Time{};
    std::vector<std::uint32_t> ids;
    for (PeerId peer = 0; peer < calls.size(); ++peer) {
      ids.clear();
      for (const auto& entry : calls.get(peer)) ids.push_back(entry.first);
      // Looked up afresh: the layers around may call back meanwhile.
      for (const std::uint32_t id : ids) {
        auto it = calls[peer].find(id);
        if (it == calls[peer].end()) continue;
        if (it->second.deadline <= now) {
          calls[peer].erase(it);
          ++expired;
          outcome(peer, Kind::expired, id, now, io);
        } else if (it->second.next_send <= now) {
          it->second.next_send = now + resend;
          ++resent;
          send_call(peer, id, it->second, now, io);
        }
      }
    }
    Time next{};
    for (PeerId peer = 0; peer < calls.size(); ++peer)
      for (const auto& [id, c] : calls.get(peer)) {
        const Time t = std::min(c.deadline, c.next_send);
        if (next == Time{} || t < next) next = t;
      }
    if (next != Time{}) arm(next, now, io);
  }

private:
  static constexpr std::uint32_t kLastId = std::numeric_limits<std::uint32_t>::max();

  template <class Ports>
  void call(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    const Time now = ev.time;
    if (h.id < next_id.get(peer) || h.id == kLastId) {
      ++from_app_dropped;
      return;
    }
    next_id[peer] = h.id + 1;
    if (h.budget == 0) {
      ++expired;
      outcome(peer, Kind::expired, h.id, now, io);
      return;
    }
    const Time deadline = now + std::chrono::microseconds(h.budget);
    const auto it =
        calls[peer]
            .emplace(h.id, Call{deadline, now + resend, server_inc.get(peer), ev.msg.share()})
            .first;
    arm(std::min(deadline, now + resend), now, io);
    send_call(peer, h.id, it->second, now, io);
  }

  // The server's application answers a call it was given.
  template <class Ports>
  void answer(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    if (!running.get(peer).contains(h.id)) {
      ++from_app_dropped;
      return;
    }
    running[peer].erase(h.id);
    ev.msg.push(Header{Kind::answer, {}, h.id, 0, incarnation, client_inc.get(peer), 0});
    if (h.id < low.get(peer)) { // the client has finished the call: no copy will come
      --held;
      io.down(ev);
      return;
    }
    // Kept for a resent call. On a fused stack lamina-opt's delay pass keeps it after the
    // answer has left, off its way out.
    answers[peer].emplace(h.id, ev.msg.share());
    io.down(ev);
  }

  template <class Ports>
  void cancel(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    auto it = calls[peer].find(h.id);
    if (it == calls[peer].end()) {
      ++from_app_dropped;
      return;
    }
    const std::uint32_t to_inc = it->second.to_inc;
    calls[peer].erase(it);
    // A call addressed to no incarnation yet has been refused, never run: nothing to tell.
    if (to_inc != 0) {
      Event tell = Event::send(peer, Msg::with_size(0));
      tell.msg.push(Header{Kind::cancel, {}, h.id, lowest(peer), incarnation, to_inc, 0});
      tell.time = ev.time;
      io.down(tell);
    }
    outcome(peer, Kind::cancelled, h.id, ev.time, io);
  }

  template <class Ports>
  void serve(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    if (h.to_inc != incarnation) {
      ++refused;
      refuse(peer, Kind::stale, h, ev.time, io);
      return;
    }
    if (!admit(peer, h)) return;
    if (h.id < low.get(peer) || running.get(peer).contains(h.id) ||
        cancelled.get(peer).contains(h.id)) {
      ++dropped_old;
      return;
    }
    if (auto it = answers.get(peer).find(h.id); it != answers.get(peer).end()) {
      ++replayed;
      Event again = Event::send(peer, it->second.share());
      again.time = ev.time;
      io.down(again);
      return;
    }
    if (h.budget == 0) {
      ++dropped_late;
      return;
    }
    if (held >= cache) {
      ++refused;
      refuse(peer, Kind::busy, h, ev.time, io);
      return;
    }
    running[peer].insert(h.id);
    ++held;
    io.up(ev);
  }

  template <class Ports>
  void answered(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    if (h.to_inc != incarnation) {
      ++dropped_stale;
      return;
    }
    if (!calls.get(peer).contains(h.id)) {
      ++dropped_unknown;
      return;
    }
    if (h.inc != calls.get(peer).at(h.id).to_inc) { // only the incarnation addressed answers
      ++dropped_stale;
      return;
    }
    calls[peer].erase(h.id);
    io.up(ev);
  }

  template <class Ports>
  void cancel_arrived(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    if (h.to_inc != incarnation) {
      ++dropped_stale;
      return;
    }
    if (!admit(peer, h)) return;
    if (h.id < low.get(peer) || answers.get(peer).contains(h.id) ||
        cancelled.get(peer).contains(h.id)) {
      ++dropped_old;
      return;
    }
    if (running.get(peer).contains(h.id)) {
      io.up(ev); // for the handler to stop, if it can; it still answers
      return;
    }
    if (held >= cache) {
      ++refused;
      return;
    }
    cancelled[peer].insert(h.id);
    ++held;
  }

  // A refusal of a call: stale (addressed to another incarnation) or busy.
  template <class Ports>
  void refusal(Event& ev, const Header& h, Ports& io) {
    const PeerId peer = ev.peer;
    const Time now = ev.time;
    if (h.to_inc != incarnation) {
      ++dropped_stale;
      return;
    }
    auto it = calls[peer].find(h.id);
    if (it == calls[peer].end()) {
      ++dropped_unknown;
      return;
    }
    Call& c = it->second;
    if (h.kind == Kind::busy) {
      if (h.inc != c.to_inc) {
        ++dropped_stale;
        return;
      }
      calls[peer].erase(it);
      outcome(peer, Kind::unavailable, h.id, now, io);
      return;
    }
    // Stale: the server is incarnation h.inc, and the call was addressed to another. From an
    // incarnation older than one heard before, or naming the one addressed, it is not news.
    if (h.inc == 0 || h.inc == c.to_inc || h.inc < server_inc.get(peer)) {
      ++dropped_stale;
      return;
    }
    server_inc[peer] = h.inc;
    if (c.to_inc != 0) { // it may have run at the incarnation it was addressed to
      calls[peer].erase(it);
      outcome(peer, Kind::unavailable, h.id, now, io);
    } else if (c.deadline > now) { // refused unrun: address it and send it again
      c.to_inc = h.inc;
      c.next_send = now + resend;
      ++resent;
      arm(std::min(c.deadline, c.next_send), now, io);
      send_call(peer, h.id, c, now, io);
    } // else its deadline has come, and the timer ends it
  }

  // Takes in the client's incarnation; false if the message is from an older one. A newer one
  // has restarted: the calls of the old one are forgotten. Then the client's lowest unfinished
  // call: the answers and cancels below it are dropped.
  bool admit(PeerId peer, const Header& h) {
    if (h.inc < client_inc.get(peer)) {
      ++dropped_stale;
      return false;
    }
    if (h.inc > client_inc.get(peer)) {
      held -= static_cast<std::uint32_t>(running.get(peer).size() + answers.get(peer).size() +
                                         cancelled.get(peer).size());
      running[peer].clear();
      answers[peer].clear();
      cancelled[peer].clear();
      low[peer] = 0;
      client_inc[peer] = h.inc;
    }
    if (h.low > low.get(peer)) {
      low[peer] = h.low;
      auto& kept = answers[peer];
      auto& gone = cancelled[peer];
      const auto a = kept.lower_bound(h.low);
      const auto c = gone.lower_bound(h.low);
      held -= static_cast<std::uint32_t>(std::distance(kept.begin(), a) +
                                         std::distance(gone.begin(), c));
      kept.erase(kept.begin(), a);
      gone.erase(gone.begin(), c);
    }
    return true;
  }

  // The lowest unfinished call to `peer`, or the next id if none is.
  [[nodiscard]] std::uint32_t lowest(PeerId peer) const {
    const auto& mine = calls.get(peer);
    return mine.empty() ? next_id.get(peer) : mine.begin()->first;
  }

  // Sends call `id` to `peer`, `c` its entry in `calls`, with the budget left.
  template <class Ports>
  void send_call(PeerId peer, std::uint32_t id, const Call& c, Time now, Ports& io) {
    const auto left = std::chrono::ceil<std::chrono::microseconds>(c.deadline - now).count();
    const auto budget = static_cast<std::uint32_t>(
        std::min<std::int64_t>(left, std::numeric_limits<std::uint32_t>::max()));
    Event out = Event::send(peer, c.args.share());
    out.msg.push(Header{Kind::call, {}, id, lowest(peer), incarnation, c.to_inc, budget});
    out.time = now;
    io.down(out);
  }

  template <class Ports>
  void refuse(PeerId peer, Kind why, const Header& h, Time now, Ports& io) {
    Event out = Event::send(peer, Msg::with_size(0));
    out.msg.push(Header{why, {}, h.id, 0, incarnation, h.inc, 0});
    out.time = now;
    io.down(out);
  }

  template <class Ports>
  void outcome(PeerId peer, Kind kind, std::uint32_t id, Time now, Ports& io) {
    Event out = Event::deliver(peer, Msg::with_size(0));
    out.msg.push(Header{kind, {}, id, 0, 0, 0, 0});
    out.time = now;
    io.up(out);
  }

  template <class Ports>
  void arm(Time at, Time now, Ports& io) {
    if (timer_at != Time{} && timer_at <= at) return;
    timer_at = at;
    io.set_timer(at - now);
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Rpc::Call, deadline, next_send, to_inc, args);
BOOST_HANA_ADAPT_STRUCT(lamina::Rpc, incarnation, resend, cache, next_id, server_inc, calls,
                        client_inc, low, running, answers, cancelled, held, timer_at, resent,
                        replayed, expired, refused, from_app_dropped, dropped_short,
                        dropped_bad_kind, dropped_old, dropped_late, dropped_unknown,
                        dropped_stale);
