// RETRANSMIT: reliable delivery — every message sent to a peer goes up there exactly once,
// despite loss and duplication below, though not necessarily in order.
//
// The receiver acknowledges each message; the sender keeps a copy until it is acknowledged
// and sends it again each `timeout` until then. The receiver suppresses duplicates.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/layer.hpp"
#include "runtime/recycling.hpp"

namespace lamina {

class Retransmit {
public:
  static constexpr std::string_view name = "Retransmit";
  static constexpr Guarantees provides = Guarantee::reliable;

  enum class Kind : std::uint8_t {
    data = 0, // a message; `id` is its number in the sender's sequence to this peer
    ack = 1,  // the receiver has message `id`
  };
  struct Header {
    Kind kind;
    std::uint8_t unused[3];
    std::uint32_t id;
  };

  // A message sent and not yet acknowledged.
  struct Unacked {
    std::uint32_t id = 0;
    Time sent_at{}; // when it was last (re)sent
    Msg msg;        // with this layer's header, ready to send again
    friend bool operator==(const Unacked&, const Unacked&) = default;
  };

  // How far ahead of the first missing id a message may be and still be accepted: a peer
  // never has more messages outstanding; a corrupt or forged header might claim so.
  static constexpr std::uint32_t kWindow = 1u << 16;

  Duration timeout = std::chrono::milliseconds(20);      // parameter: resend unacked after this
  PeerTable<std::uint32_t> next_id;                      // id of the next message to each peer
  PeerTable<std::vector<Unacked>> unacked;               // sent, awaiting an ack; by id
  PeerTable<std::uint32_t> received_below;               // all ids below this have arrived
  PeerTable<RecyclingSet<std::uint32_t>> received_above; // ids at or above received_below, arrived
  bool timer_armed = false;
  std::uint64_t retransmitted = 0; // copies sent again on timeout
  std::uint64_t acks_sent = 0;
  std::uint64_t acks_received = 0;         // that acknowledged an unacked message
  std::uint64_t duplicates_suppressed = 0; // data that had already arrived
  std::uint64_t dropped_short = 0;         // too short for a header
  std::uint64_t dropped_bad_kind = 0;      // neither data nor ack
  std::uint64_t dropped_far = 0;           // id beyond the window

  // Down: straight for a message to one peer (a cast fans out).
  [[nodiscard]] bool ccp_down(const Event& ev) const { return ev.type == EventType::Send; }
  // Up: the next data in order with no gap behind it (it is acked and passed up at once).
  [[nodiscard]] bool ccp_up(const Event& ev, const Header& h) const {
    return h.kind == Kind::data && h.id == received_below.get(ev.peer) &&
           received_above.get(ev.peer).empty();
  }

  template <class Ports>
  void down(Event& ev, Ports& io) {
    if (ev.type == EventType::Cast) {
      split_cast(ev, io, [&](Event& send) { down(send, io); });
      return;
    }
    const std::uint32_t id = next_id[ev.peer]++;
    ev.msg.push(Header{Kind::data, {}, id});
    unacked[ev.peer].push_back({id, ev.time, ev.msg.share()});
    arm_timer(io);
    io.down(ev);
  }

  template <class Ports>
  void up(Event& ev, Ports& io) {
    Header h{};
    if (!ev.msg.pop(h)) {
      ++dropped_short;
      return;
    }
    if (h.kind == Kind::ack) {
      take_ack(ev.peer, h.id);
      return;
    }
    if (h.kind != Kind::data) {
      ++dropped_bad_kind;
      return;
    }
    std::uint32_t& below = received_below[ev.peer];
    if (h.id - below >= kWindow && below - h.id > kWindow) {
      ++dropped_far;
      return;
    }
    send_ack(ev.peer, h.id, ev.time, io); // even for a duplicate: the first ack may be lost
    if (!record_arrival(ev.peer, h.id)) {
      ++duplicates_suppressed;
      return;
    }
    io.up(ev);
  }

  template <class Ports>
  void timer(Event& ev, Ports& io) {
    timer_armed = false;
    for (PeerId peer = 0; peer < unacked.size(); ++peer) {
      for (Unacked& u : unacked[peer]) {
        if (u.sent_at + timeout > ev.time) continue;
        u.sent_at = ev.time;
        Event again = Event::send(peer, u.msg.share());
        again.time = ev.time;
        ++retransmitted;
        io.down(again);
      }
    }
    arm_timer(io);
  }

private:
  template <class Ports>
  void arm_timer(Ports& io) {
    if (timer_armed) return;
    const bool waiting =
        std::any_of(unacked.begin(), unacked.end(), [](const auto& list) { return !list.empty(); });
    if (!waiting) return;
    timer_armed = true;
    io.set_timer(timeout);
  }

  template <class Ports>
  void send_ack(PeerId peer, std::uint32_t id, Time now, Ports& io) {
    Event ack = Event::send(peer, Msg::with_size(0));
    ack.msg.push(Header{Kind::ack, {}, id});
    ack.time = now;
    ++acks_sent;
    io.down(ack);
  }

  void take_ack(PeerId peer, std::uint32_t id) {
    auto& list = unacked[peer];
    // Ids are compared as serial numbers (within a window far below 2^31), so they may wrap.
    auto it = std::lower_bound(list.begin(), list.end(), id, [](const Unacked& u, std::uint32_t i) {
      return static_cast<std::int32_t>(u.id - i) < 0;
    });
    if (it == list.end() || it->id != id) return; // a late duplicate ack
    list.erase(it);
    ++acks_received;
  }

  // Notes that `id` arrived from `peer`; false if it had arrived before.
  bool record_arrival(PeerId peer, std::uint32_t id) {
    std::uint32_t& below = received_below[peer];
    auto& above = received_above[peer];
    if (id - below >= kWindow) return false; // behind `below`
    if (id != below) return above.insert(id).second;
    ++below;
    if (above.empty()) return true; // the common case: nothing arrived early
    for (auto it = above.find(below); it != above.end(); it = above.find(below)) {
      above.erase(it);
      ++below;
    }
    return true;
  }
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::Retransmit::Unacked, id, sent_at, msg);
BOOST_HANA_ADAPT_STRUCT(lamina::Retransmit, timeout, next_id, unacked, received_below,
                        received_above, timer_armed, retransmitted, acks_sent, acks_received,
                        duplicates_suppressed, dropped_short, dropped_bad_kind, dropped_far);
