// SimNet: a deterministic simulated network — N nodes, virtual time, seeded loss, delay,
// jitter, duplication, partitions and links of bounded rate and queue — so that a run is a pure
// function of its seed.
//
// Every packet arrival, timer expiry and scheduled call is an entry in one queue ordered by
// (virtual time, insertion sequence); nothing depends on wall-clock time or on the standard
// library's random distributions, so the same seed gives the same run on every compiler.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "runtime/host.hpp"

namespace lamina {

// How one directed link of a SimNet treats each packet.
//
// A link with a rate is a FIFO queue in front of a wire, as at a router's port: a packet waits
// behind those sent before it, occupies the link for size * 1e9 / rate ns (rounded up), then
// travels delay + jitter. A packet that finds `queue` packets waiting behind the one being
// serialised is dropped (tail drop, counted as overflowed) and draws no random numbers. Loss
// and duplication happen on the wire, after the queue: a lost packet has used its slot, and a
// duplicate copy leaves with the original without occupying the link. Each directed link has
// its own capacity; a cast queues a copy on every link it uses.
struct LinkConfig {
  Duration delay{};        // base one-way delay
  Duration jitter{};       // extra delay drawn uniformly from [0, jitter]; reorders packets
  double loss = 0;         // probability that a packet is lost
  double duplicate = 0;    // probability that a packet arrives twice (the copy delayed anew)
  std::uint64_t rate = 0;  // bytes per second the link serialises; 0: unlimited, no queue
  std::uint32_t queue = 0; // packets that may wait behind the one being serialised (rate > 0)
};

class SimNet {
public:
  // Packets and timers, by what became of them. Once nothing is in flight (queued or on a wire),
  // sent + duplicated == delivered + lost + overflowed + partitioned + unattached;
  // bad_destination, the rest of dropped(), was never put on a link and so is not in sent.
  struct Counters {
    std::uint64_t sent = 0;            // packets put on a link (a cast counts once per receiver)
    std::uint64_t delivered = 0;       // packets handed to an endpoint
    std::uint64_t lost = 0;            // dropped by the link's loss probability
    std::uint64_t overflowed = 0;      // dropped because the link's queue was full
    std::uint64_t duplicated = 0;      // extra copies made by the link's duplicate probability
    std::uint64_t partitioned = 0;     // dropped because the two nodes were partitioned
    std::uint64_t bad_destination = 0; // addressed to a node that does not exist
    std::uint64_t unattached = 0;      // arrived at a node with no endpoint attached
    std::uint64_t timers_fired = 0;

    [[nodiscard]] std::uint64_t dropped() const {
      return lost + overflowed + partitioned + bad_destination + unattached;
    }
    // "sent 40, delivered 25; dropped: 12 lost, 3 partitioned; 2 duplicated; 7 timers"
    // (a reason whose count is zero is left out)
    [[nodiscard]] std::string summary() const;
  };

  // What happened to a packet, for the tracing hook.
  enum class Fate : std::uint8_t {
    Lost,
    Overflowed,
    Partitioned,
    BadDestination,
    Unattached,
    Delivered
  };
  struct PacketRecord {
    Time time; // when the fate was decided: on sending (lost, overflowed), or on arrival
    PeerId from;
    PeerId to;
    Fate fate;
    std::span<const std::byte> bytes;
    Time sent; // when the sender's stack transmitted it
  };

  SimNet(std::uint64_t seed, std::uint32_t nodes, LinkConfig defaults = {});
  SimNet(const SimNet&) = delete;
  SimNet& operator=(const SimNet&) = delete;
  ~SimNet();

  // Overrides the directed link from -> to, for the packets sent from then on; those already
  // queued keep their departure times.
  void set_link(PeerId from, PeerId to, LinkConfig link);
  [[nodiscard]] const LinkConfig& link(PeerId from, PeerId to) const;
  // Blocks (or unblocks) both directions between a and b. A packet is dropped as partitioned
  // if its nodes are blocked when it is sent or when it arrives, so blocking also drops the
  // packets queued or in flight between them, as a cut cable would (unless healed first).
  void partition(PeerId a, PeerId b);
  void heal(PeerId a, PeerId b);
  // Blocks every pair of nodes that lie in different groups; nodes in no group are untouched.
  void partition_groups(const std::vector<std::vector<PeerId>>& groups);
  void heal_all();
  [[nodiscard]] bool partitioned(PeerId a, PeerId b) const;

  // Gives `node` to `ep` as its Host, and calls ep.attach.
  void attach(PeerId node, Endpoint& ep);
  void on_deliver(std::function<void(PeerId node, Event&)> f) { on_deliver_ = std::move(f); }
  void on_packet(std::function<void(const PacketRecord&)> f) { on_packet_ = std::move(f); }

  // The application at `node` sends `payload` to `to` (kAllPeers: the group), now.
  void send(PeerId node, PeerId to, Msg payload);
  // Runs `f` at virtual time `when` (for scripted scenarios: sends, partitions, heals).
  void at(Time when, std::function<void()> f);

  // Packets on `node`'s links of bounded rate that have not yet left it, now: being serialised
  // or waiting behind one that is (what a router's output queues hold).
  [[nodiscard]] std::size_t queued(PeerId node) const;

  [[nodiscard]] Time now() const { return now_; }
  [[nodiscard]] std::uint32_t size() const { return nodes_; }
  [[nodiscard]] std::size_t pending() const { return queue_.size(); }
  [[nodiscard]] const Counters& counters() const { return counters_; }

  // Runs the earliest queued event; false if there is none.
  bool step();
  // Runs every event due at or before `t`, then sets the clock to `t`.
  void run_until(Time t);
  void run_for(Duration d) { run_until(now_ + d); }
  // Runs until nothing is queued or the next event lies beyond `limit`; true if idle.
  bool run_until_idle(Time limit);

private:
  class Node;
  enum class Kind : std::uint8_t { Arrival, Timer, Call };
  struct Entry {
    Time at{};
    std::uint64_t seq = 0;
    Kind kind = Kind::Call;
    PeerId node = 0; // receiver of an arrival, owner of a timer
    PeerId from = 0; // sender of an arrival
    Time sent{};     // of an arrival: when its sender transmitted it
    std::uint32_t timer = 0;
    Msg msg{};
    std::function<void()> call{};
  };

  void transmit(PeerId from, PeerId to, Msg packet);
  void put_on_link(PeerId from, PeerId to, Msg packet);
  void arrive_later(PeerId from, PeerId to, const LinkConfig& link, Time departs, Msg packet);
  void push(Entry e);
  void run(Entry& e);
  void trace(Time t, PeerId from, PeerId to, Fate fate, const Msg& m, Time sent);
  void check_node(PeerId n, const char* what) const;
  double uniform();
  Duration delay_on(const LinkConfig& link);

  std::uint32_t nodes_;
  std::mt19937_64 rng_;
  std::vector<LinkConfig> links_;     // nodes_ x nodes_, row = sender
  std::vector<std::uint8_t> blocked_; // nodes_ x nodes_, symmetric
  // For each link that has had a rate, by index in links_: the departure times of the packets
  // it holds (the one being serialised, then those waiting), earliest first. Pruned of those
  // already gone at each send, so its size then is exactly the link's occupancy.
  std::map<std::size_t, std::deque<Time>> departures_;
  std::vector<std::unique_ptr<Node>> hosts_;
  std::vector<Entry> queue_; // a min-heap on (at, seq)
  std::uint64_t next_seq_ = 0;
  Time now_{};
  Counters counters_;
  std::function<void(PeerId, Event&)> on_deliver_;
  std::function<void(const PacketRecord&)> on_packet_;
};

} // namespace lamina
