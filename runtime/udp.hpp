// UdpNode: one stack on a real UDP socket, its peers named by address, its clock the steady
// clock — so that a stack runs across processes and machines as it runs on SimNet.
//
// Member i of the group is the i-th address of the peer list; a node binds to its own entry
// and recognises a datagram's sender by its source address, so every member must bind to
// exactly the address the others list for it (not 0.0.0.0). Single-threaded: the owner
// calls poll() or run_for(), and every Endpoint call happens inside them or inside send().
//
// The socket is a DatagramSocket: what the stack transmits is queued and handed to the kernel
// in batches (sendmmsg) — at the end of every poll(), once the stack has handled the datagrams
// received and the timers due, and at the end of send(); a poll takes every datagram ready
// (recvmmsg, up to kReceiveLimit), and the timers due fire once none is left (or after
// kTimerWaits polls, so that a flood cannot starve them). Packets queued together for one peer
// share datagrams (Options::bundle_bytes): a stream of small messages costs the kernel a
// fraction of a datagram each, while a lone packet — a ping, a reply — goes at once, alone, as
// before. Every datagram is framed, so all members must bundle or none.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/datagram.hpp"
#include "runtime/host.hpp"

namespace lamina {

// How a UdpNode waits and queues (UdpNode::Options).
struct UdpOptions {
  // Wait in poll() by spinning on the socket rather than sleeping in the kernel: lower
  // latency, one core busy.
  bool busy_poll = false;
  // Datagrams the send queue holds at most; beyond, transmit() drops and counts them
  // (queue_full). The queue is flushed every poll, so it fills only when the kernel keeps
  // refusing (its buffer full) while the stack keeps sending.
  std::size_t queue_limit = std::size_t{1} << 16;
  // SO_SNDBUF and SO_RCVBUF asked for (see DatagramSocket::Options).
  std::size_t buffer_bytes = std::size_t{4} << 20;
  // Let another thread end a poll's wait early (wake()).
  bool wakeable = false;
  // Packets to one peer share a datagram up to this many bytes (see DatagramSocket). The
  // default, the UDP payload of a 1,500-byte Ethernet frame over IPv6 (IPv4 allows 1,472),
  // keeps a bundle whole on a real network; 0 sends one unframed datagram per packet.
  std::size_t bundle_bytes = 1452;
  // Drop this share of arriving datagrams on purpose (a lossy path for experiments: lamina node
  // --drop, lamina netbench --drop), by a generator seeded with drop_seed.
  double drop_share = 0;
  std::uint64_t drop_seed = 1;
};

class UdpNode final : public Host {
public:
  // The largest packet: a UDP payload over IPv4 less the length that frames it (when
  // bundling); larger packets are counted and dropped.
  static constexpr std::size_t kMaxPacket = DatagramSocket::kMaxFramedPacket;
  // Datagrams one poll() takes at most. The timers that are due wait while datagrams are still
  // queued (an ack among them may be the news whose absence a timer would take for a loss), for
  // kTimerWaits polls in a row at most, so that a flood cannot starve them.
  static constexpr std::size_t kReceiveLimit = 256;
  static constexpr std::uint32_t kTimerWaits = 16;

  using Options = UdpOptions;

  struct Counters {
    std::uint64_t sent = 0;               // datagrams handed to the kernel
    std::uint64_t bundled = 0;            // of the packets sent, those in a datagram with others
    std::uint64_t received = 0;           // packets from group members
    std::uint64_t datagrams_received = 0; // datagrams that carried them (and any unknown)
    std::uint64_t malformed = 0;          // datagrams whose framing is broken (dropped)
    std::uint64_t dropped = 0;            // datagrams dropped on purpose (Options::drop_share)
    std::uint64_t unknown_source = 0;     // packets from addresses not in the peer list (dropped)
    std::uint64_t oversize = 0;           // packets larger than kMaxPacket (not sent)
    std::uint64_t bad_destination = 0;    // packets for a member that does not exist (not sent)
    std::uint64_t send_errors = 0;        // datagrams the kernel refused (unreachable, ...)
    std::uint64_t recv_errors = 0;
    std::uint64_t unattached = 0; // packets received before an endpoint was attached
    std::uint64_t timers_fired = 0;
    std::uint64_t timers_waited = 0; // polls whose due timers waited for datagrams still queued
    // The socket's work: syscalls, and what the batching met.
    std::uint64_t send_calls = 0;    // sendmmsg syscalls
    std::uint64_t receive_calls = 0; // recvmmsg syscalls
    std::uint64_t wait_calls = 0;    // ppoll syscalls
    std::uint64_t partial_sends = 0; // sendmmsg calls that took only part of the batch
    std::uint64_t would_block = 0;   // flushes the kernel stopped (buffer full; the rest waits)
    std::uint64_t queue_full = 0;    // packets dropped because the send queue was full
    std::uint64_t truncated = 0;     // datagrams larger than the receive buffer (dropped)
    std::uint64_t copied = 0;        // datagrams too long for a message buffer: joined by a copy
    std::uint64_t queued = 0;        // packets waiting in the send queue now
  };

  // `peers` are "host:port" or "[v6-host]:port" strings; this node binds to peers[me] (port
  // 0 binds an ephemeral port, see local_port). Throws std::invalid_argument naming a bad
  // address, std::system_error if the socket cannot be bound.
  UdpNode(PeerId me, const std::vector<std::string>& peers);
  UdpNode(PeerId me, const std::vector<std::string>& peers, const Options& options);
  UdpNode(const UdpNode&) = delete;
  UdpNode& operator=(const UdpNode&) = delete;
  ~UdpNode() override;

  // A group of n nodes on one host address ("127.0.0.1", "[::1]"), each on a fresh ephemeral
  // port and knowing the others' ports: for tests and demos in one process, which must not
  // collide on fixed ports.
  static std::vector<std::unique_ptr<UdpNode>> loopback_group(std::uint32_t n,
                                                              const std::string& host = "127.0.0.1",
                                                              const Options& options = {});

  void attach(Endpoint& ep);
  void on_deliver(std::function<void(Event&)> f) { on_deliver_ = std::move(f); }
  // The application sends `payload` to `to` (kAllPeers: the group) through the stack; what the
  // stack transmits is handed to the kernel before send returns.
  void send(PeerId to, Msg payload);
  // As send, but what the stack transmits stays queued until the next poll() or flush(): a
  // burst of sends then goes out in few sendmmsg calls.
  void send_queued(PeerId to, Msg payload);
  // Hands the send queue to the kernel (what it refuses for now stays queued).
  void flush();

  // While a Moment lives, the node reads its clock once: every send, arrival and timer in it
  // is stamped with the time the Moment was made. For a burst of sends made at once, which
  // need not read the clock once each (about 26 ns a read through the vDSO on the development
  // VM, a twentieth of what a 64-byte message costs its sender); not to be held across a
  // wait. A Moment made in another reads the clock afresh, and when it ends the other's time
  // holds again.
  class [[nodiscard]] Moment {
  public:
    explicit Moment(UdpNode& node)
        : node_(node), outer_held_(node.held_), outer_holding_(node.holding_) {
      node_.held_ = node_.clock();
      node_.holding_ = true;
    }
    Moment(const Moment&) = delete;
    Moment& operator=(const Moment&) = delete;
    ~Moment() {
      node_.held_ = outer_held_;
      node_.holding_ = outer_holding_;
    }

  private:
    UdpNode& node_;
    Time outer_held_;
    bool outer_holding_;
  };

  // Waits up to `max_wait` for a datagram or the next timer, then hands every pending
  // datagram to the stack (up to kReceiveLimit), fires the timers that are due (unless
  // datagrams are left, kTimerWaits times in a row at most) and flushes the send queue.
  // Returns the number of datagrams received plus timers fired.
  std::size_t poll(Duration max_wait);
  // Polls until `d` has passed.
  void run_for(Duration d);
  // Ends the current or the next poll's wait early: the one call that may come from another
  // thread, and only on a node made with Options::wakeable.
  void wake() { socket_->wake(); }

  [[nodiscard]] std::uint16_t local_port() const;
  [[nodiscard]] Counters counters() const;
  [[nodiscard]] const DatagramSocket& socket() const { return *socket_; }

  // Host
  [[nodiscard]] PeerId me() const override { return me_; }
  [[nodiscard]] std::uint32_t group_size() const override {
    return static_cast<std::uint32_t>(peers_.size());
  }
  [[nodiscard]] Time now() const override;
  void transmit(PeerId to, Msg packet) override;
  void set_timer(Time at, std::uint32_t timer) override;
  void deliver(Event& ev) override {
    if (on_deliver_) on_deliver_(ev);
  }

private:
  struct PendingTimer {
    Time at;
    std::uint64_t seq; // ties fire in the order they were set
    std::uint32_t timer;
  };

  [[nodiscard]] Time clock() const;
  [[nodiscard]] PeerId member_at(const SocketAddress& from) const;
  std::size_t fire_due_timers();

  PeerId me_;
  std::vector<SocketAddress> peers_;
  std::unique_ptr<DatagramSocket> socket_;
  std::chrono::steady_clock::time_point epoch_;
  Time held_{};                      // the time a Moment holds
  bool holding_ = false;             // a Moment lives
  std::vector<PendingTimer> timers_; // a min-heap on (at, seq)
  std::uint64_t next_seq_ = 0;
  std::uint32_t timer_waits_ = 0; // polls in a row whose due timers waited (kTimerWaits)
  Endpoint* ep_ = nullptr;
  std::function<void(Event&)> on_deliver_;
  Counters counters_;
};

// Calls `poll(wait)`, waiting at most 10 ms a call, until `done()` holds or `limit` has passed
// on the steady clock; whether it held. For the owners of a UdpNode (the lock and RPC members).
template <class Poll>
bool poll_until(Poll&& poll, const std::function<bool()>& done, Duration limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= Duration::zero()) return false;
    poll(std::min<Duration>(left, std::chrono::milliseconds(10)));
  }
  return true;
}

} // namespace lamina
