// UdpNode: one stack on a real UDP socket, its peers named by address, its clock the steady
// clock — so that a stack runs across processes and machines as it runs on SimNet.
//
// Member i of the group is the i-th address of the peer list; a node binds to its own entry
// and recognises a datagram's sender by its source address, so every member must bind to
// exactly the address the others list for it (not 0.0.0.0). Single-threaded: the owner
// calls poll() or run_for(), and every Endpoint call happens inside them or inside send().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "runtime/host.hpp"

namespace lamina {

class UdpNode final : public Host {
public:
  // The largest UDP payload over IPv4; larger packets are counted and dropped.
  static constexpr std::size_t kMaxDatagram = 65507;

  struct Counters {
    std::uint64_t sent = 0;            // datagrams handed to the kernel
    std::uint64_t received = 0;        // datagrams from group members
    std::uint64_t unknown_source = 0;  // datagrams from addresses not in the peer list (dropped)
    std::uint64_t oversize = 0;        // packets larger than kMaxDatagram (not sent)
    std::uint64_t bad_destination = 0; // packets for a member that does not exist (not sent)
    std::uint64_t send_errors = 0;     // sendto failures (buffer full, unreachable, ...)
    std::uint64_t recv_errors = 0;
    std::uint64_t unattached = 0; // datagrams received before an endpoint was attached
    std::uint64_t timers_fired = 0;
  };

  // `peers` are "host:port" or "[v6-host]:port" strings; this node binds to peers[me] (port
  // 0 binds an ephemeral port, see local_port). Throws std::invalid_argument naming a bad
  // address, std::system_error if the socket cannot be bound.
  UdpNode(PeerId me, const std::vector<std::string>& peers);
  UdpNode(const UdpNode&) = delete;
  UdpNode& operator=(const UdpNode&) = delete;
  ~UdpNode() override;

  // A group of n nodes on one host address ("127.0.0.1", "[::1]"), each on a fresh ephemeral
  // port and knowing the others' ports: for tests and demos in one process, which must not
  // collide on fixed ports.
  static std::vector<std::unique_ptr<UdpNode>>
  loopback_group(std::uint32_t n, const std::string& host = "127.0.0.1");

  void attach(Endpoint& ep);
  void on_deliver(std::function<void(Event&)> f) { on_deliver_ = std::move(f); }
  // The application sends `payload` to `to` (kAllPeers: the group) through the stack.
  void send(PeerId to, Msg payload);

  // Waits up to `max_wait` for a datagram or the next timer, then hands every pending
  // datagram to the stack and fires the timers that are due. Returns the number of
  // datagrams received plus timers fired.
  std::size_t poll(Duration max_wait);
  // Polls until `d` has passed.
  void run_for(Duration d);

  [[nodiscard]] std::uint16_t local_port() const;
  [[nodiscard]] const Counters& counters() const { return counters_; }

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
  struct Address {
    sockaddr_storage storage{};
    socklen_t length = 0;
  };
  struct PendingTimer {
    Time at;
    std::uint64_t seq; // ties fire in the order they were set
    std::uint32_t timer;
  };

  void send_to(const Address& a, const Msg& packet);
  [[nodiscard]] PeerId member_at(const sockaddr_storage& from, socklen_t length) const;
  std::size_t fire_due_timers();

  PeerId me_;
  std::vector<Address> peers_;
  int fd_ = -1;
  std::chrono::steady_clock::time_point epoch_;
  std::vector<PendingTimer> timers_; // a min-heap on (at, seq)
  std::uint64_t next_seq_ = 0;
  std::vector<std::byte> scratch_; // receive buffer, reused for every datagram
  Endpoint* ep_ = nullptr;
  std::function<void(Event&)> on_deliver_;
  Counters counters_;
};

} // namespace lamina
