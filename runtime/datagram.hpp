// DatagramSocket: a UDP socket that moves datagrams in batches — a send queue flushed with
// sendmmsg, receives with recvmmsg — waiting either in the kernel (ppoll) or by spinning on the
// socket (busy-poll). UdpNode carries stacks on it, and `lamina netbench` measures raw UDP on it.
//
// The kernel writes each received datagram straight into a pooled message buffer, behind the
// headroom a stack's headers need: take() hands that buffer on as a Msg, so that a stack and
// the application above it read the datagram where the kernel put it, with no copy. A datagram
// longer than the buffer (Options::receive_inline) runs on into the slot's overflow buffer and
// is joined into one message by a copy (counters().copied).
//
// Single-threaded. Nothing is dropped silently: a datagram is either handed to the kernel
// (counters().sent), still queued (queued()), refused by enqueue() (it returns false when the
// bounded queue is full), or counted as a send error.
//
// UDP GSO (UDP_SEGMENT): a run of queued datagrams of one size to one peer (the last may be
// shorter) goes to the kernel as one entry of the sendmmsg batch, which the kernel cuts into
// the datagrams — the receiver sees them one by one, as without GSO. Measured on loopback
// (2-core VM, kernel 6.18, 10^6 datagrams, batches of 64): 64 B 150k/s -> 600k/s, 1 KiB and
// 1400 B 215k/s -> 850-950k/s. A segment the path cannot carry whole (larger than its MTU)
// is refused by the kernel (EINVAL, EIO); the socket then sends that size and above one by
// one from then on (counters().gso_refused).
//
// Bundling (Options::bundle_bytes): small packets share datagrams, as ENet and SCTP bundle
// theirs. Every datagram then carries one or more packets, each behind its length plus one (a
// LEB128 varint, written into the packet's headroom; a zero ends the packets, and what follows
// is padding): a run of queued packets to one peer whose framed sizes add up to at most
// bundle_bytes goes out as one datagram, gathered by sendmmsg from the packets' own buffers, and
// receive() returns the packets one by one, each taken as a view of the buffer the kernel wrote
// the datagram into. No byte is copied on either side. Consecutive bundles to one peer go as
// one GSO run of bundle_bytes segments, each bundle but the last padded up to it (by an eighth
// at most; a bundle shorter than that starts a new entry). Both ends of a conversation must
// agree on whether datagrams are framed (bundle_bytes != 0).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <random>
#include <span>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <utility>
#include <vector>

#include "runtime/event.hpp"
#include "runtime/msg.hpp"

namespace lamina {

// An IPv4 or IPv6 address and port, as the socket calls take it.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] int family() const { return storage.ss_family; }
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  [[nodiscard]] std::string text() const; // "127.0.0.1:7000", "[::1]:7000"
  // Same family, address and port (IPv6 flow info and scope are not compared).
  [[nodiscard]] bool same_as(const SocketAddress& other) const;
};

// "host:port" or "[v6-host]:port", resolved now. Throws std::invalid_argument naming the text
// and what is wrong with it.
SocketAddress parse_address(const std::string& text);

class DatagramSocket {
public:
  // The largest UDP payload over IPv4; larger datagrams are refused by enqueue().
  static constexpr std::size_t kMaxDatagram = 65507;
  // The largest packet a framed datagram carries: its length (plus one) takes three bytes in
  // front.
  static constexpr std::size_t kMaxFramedPacket = kMaxDatagram - 3;
  // Entries per sendmmsg (an entry: one datagram, or a GSO run).
  static constexpr std::size_t kSendBatch = 64;
  // Datagrams in one GSO run at most (the kernel's UDP_MAX_SEGMENTS is 64 or more).
  static constexpr std::size_t kMaxSegments = 64;
  // Packets in one bundle at most.
  static constexpr std::size_t kMaxBundle = 64;
  // Buffers one entry gathers at most (the kernel's UIO_MAXIOV), and one sendmmsg.
  static constexpr std::size_t kMaxIov = 1024;
  static constexpr std::size_t kSendIovecs = 4096;

  struct Options {
    // SO_SNDBUF and SO_RCVBUF asked for (as root beyond the sysctl limits with
    // SO_*BUFFORCE); send_buffer()/receive_buffer() report what the kernel granted. 0: leave
    // the kernel's defaults.
    std::size_t buffer_bytes = std::size_t{4} << 20;
    // Datagrams the send queue holds at most; 0: no bound.
    std::size_t queue_limit = 0;
    // Datagrams taken per recvmmsg, and the bytes of each receive buffer: a larger datagram is
    // counted as truncated and not returned.
    std::size_t receive_batch = 64;
    std::size_t receive_bytes = 65536;
    // Of those, the bytes that land in the slot's message buffer (the rest in its overflow
    // buffer). The default fills the pool's 4 KiB class less the headroom: an MTU-sized
    // fragment and a 4 KiB message with its headers arrive without a copy. A packet a stack
    // holds (out of order, or kept to answer again) holds that whole buffer: less here holds
    // less per packet, at a copy for the longer ones.
    std::size_t receive_inline = 4240;
    // Wait by spinning on the socket (non-blocking recvmmsg) instead of sleeping in ppoll.
    bool busy_poll = false;
    // Send runs of equal-size datagrams to one peer as one GSO entry (see above).
    bool gso = true;
    // Let another thread end a wait early (wake()): an eventfd waited on beside the socket.
    bool wakeable = false;
    // Frame every datagram and bundle queued packets to one peer up to this many bytes a
    // datagram (see above; at most kMaxDatagram); 0: one unframed datagram per packet. A
    // packet larger than this goes alone.
    std::size_t bundle_bytes = 0;
    // Drop this share of arriving datagrams on purpose, before anything reads them, by a
    // generator seeded with drop_seed (counters().dropped): a lossy path, for experiments.
    double drop_share = 0;
    std::uint64_t drop_seed = 1;
  };

  struct Counters {
    std::uint64_t sent = 0;          // datagrams the kernel accepted
    std::uint64_t received = 0;      // datagrams receive() took from the kernel and kept
    std::uint64_t bundled = 0;       // packets the kernel accepted in a datagram with others
    std::uint64_t send_calls = 0;    // sendmmsg syscalls
    std::uint64_t receive_calls = 0; // recvmmsg syscalls (empty ones in busy-poll included)
    std::uint64_t wait_calls = 0;    // ppoll syscalls
    std::uint64_t partial_sends = 0; // sendmmsg calls that took only some of the batch
    std::uint64_t would_block = 0;   // flushes stopped by EAGAIN/ENOBUFS (the rest stays queued)
    std::uint64_t send_errors = 0;   // datagrams the kernel refused (unreachable, ...): dropped
    std::uint64_t queue_full = 0;    // enqueue() refusals: the bounded queue was full
    std::uint64_t oversize = 0;      // enqueue() refusals: larger than kMaxDatagram
    std::uint64_t truncated = 0;     // received datagrams larger than a receive buffer: dropped
    std::uint64_t copied = 0; // received datagrams longer than receive_inline: joined by a copy
    std::uint64_t receive_errors = 0;
    std::uint64_t malformed = 0;   // received datagrams whose framing is broken: dropped
    std::uint64_t dropped = 0;     // received datagrams dropped on purpose (Options::drop_share)
    std::uint64_t gso_runs = 0;    // GSO entries the kernel accepted
    std::uint64_t gso_refused = 0; // GSO entries refused, sent again one by one
  };

  // One received packet (a datagram, or one of a bundle); its source and bytes live in the
  // socket's buffers until the next receive(), the bytes also in the message take() made of
  // them.
  struct Received {
    const SocketAddress* from; // the same for every packet of one datagram
    std::span<const std::byte> bytes;
  };

  // Binds to `local` (port 0: an ephemeral port; local() then names the one bound). Throws
  // std::system_error if the socket cannot be made or bound.
  explicit DatagramSocket(const SocketAddress& local);
  DatagramSocket(const SocketAddress& local, const Options& options);
  DatagramSocket(const DatagramSocket&) = delete;
  DatagramSocket& operator=(const DatagramSocket&) = delete;
  ~DatagramSocket();

  // Queues `packet` for `to`. False — and the packet is not taken — when the queue is at its
  // limit (counters().queue_full) or the packet is too large for a datagram
  // (counters().oversize).
  bool enqueue(const SocketAddress& to, Msg packet);
  // Hands the queue to the kernel, kSendBatch entries per sendmmsg, until it is empty or the
  // kernel would block (what is left stays queued for the next flush). Returns the datagrams
  // sent.
  std::size_t flush();
  [[nodiscard]] std::size_t queued() const { return queue_.size() - head_; }

  // Waits up to `wait` for datagrams (sleeping or spinning, as the options say) and returns
  // the packets of those ready, at most options().receive_batch datagrams: one recvmmsg once
  // they are ready. While packets are queued, a blocking wait also wakes when the socket is
  // writable, and flushes. The span and the bytes stay valid until the next call.
  std::span<const Received> receive(Duration wait);
  // Datagrams the last receive() took from the kernel, those it dropped included: fewer than
  // options().receive_batch means the socket was drained.
  [[nodiscard]] std::size_t last_datagrams() const { return filled_; }
  // The i-th packet of the last receive() as a message: in the buffer the kernel wrote it into,
  // headroom in front, handed on without a copy (the packets of a bundle as views of one
  // buffer, see Msg::share). Once per packet (an empty message after).
  [[nodiscard]] Msg take(std::size_t i);
  // Ends the current or the next wait of receive() early, from any thread; the one call of the
  // class that may come from another thread. Only for a socket made with Options::wakeable.
  void wake();

  [[nodiscard]] const SocketAddress& local() const { return local_; }
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const Options& options() const { return options_; }
  [[nodiscard]] std::size_t send_buffer() const { return send_buffer_; }
  [[nodiscard]] std::size_t receive_buffer() const { return receive_buffer_; }
  [[nodiscard]] const Counters& counters() const { return counters_; }

private:
  struct Pending {
    SocketAddress to;
    Msg packet; // framed, when bundling
  };
  // What one entry of a sendmmsg batch holds.
  struct Entry {
    std::size_t packets;   // queued packets
    std::size_t datagrams; // datagrams they make (more than one: a GSO run)
    std::size_t bundled;   // of the packets, those in a datagram with others
    std::size_t segment;   // the GSO segment size
  };
  // Where a received packet lies: its datagram's slot, and whether it is the only packet there.
  struct Arrival {
    std::size_t slot;
    bool alone;
    bool taken;
  };

  std::size_t receive_now();
  // Appends the packets of the datagram in `slot` (`bytes` long) to received_; false if its
  // framing is broken.
  bool unbundle(std::size_t slot, std::span<const std::byte> bytes);
  // Takes the first n packets off the queue (sent, or refused for good).
  void drop_front(std::size_t n);
  // The packets from queue_[from] on that share one datagram (to one peer, within bundle_bytes,
  // the first however long): their count and bytes.
  [[nodiscard]] std::pair<std::size_t, std::size_t> bundle_at(std::size_t from) const;
  // Fills the send headers from the front of the queue; returns the entries.
  std::size_t build_batch();
  void size_buffers();

  Options options_;
  SocketAddress local_;
  int fd_ = -1;
  int wake_fd_ = -1;               // an eventfd, if Options::wakeable
  std::atomic<bool> woken_{false}; // wake() called since the last wait ended
  std::size_t send_buffer_ = 0;
  std::size_t receive_buffer_ = 0;
  // The send queue: queue_[head_] on. A vector rather than a deque, whose blocks a queue that
  // fills and empties on every poll would allocate and free each time.
  std::vector<Pending> queue_;
  std::size_t head_ = 0;
  // Receive side: per slot a message buffer (made on the receiving thread, renewed when taken),
  // an overflow buffer (allocated once), an address and a header with two iovecs.
  std::vector<Msg> slots_;
  std::unique_ptr<std::byte[]> overflow_;
  std::size_t inline_bytes_ = 0;   // of each slot, in its message
  std::size_t overflow_bytes_ = 0; // of each slot, in overflow_
  std::vector<SocketAddress> sources_;
  std::vector<iovec> receive_iov_; // two per slot
  std::vector<mmsghdr> receive_headers_;
  std::vector<Received> received_; // the packets the last receive() returned
  std::vector<Arrival> arrivals_;  // where each of them lies
  std::size_t filled_ = 0;         // headers the last recvmmsg filled
  std::mt19937_64 drop_rng_;       // draws Options::drop_share
  // Send side, reused by every flush.
  std::vector<iovec> send_iov_;              // kSendIovecs
  std::vector<mmsghdr> send_headers_;        // kSendBatch
  std::vector<Entry> send_entries_;          // kSendBatch
  std::vector<std::uint64_t> send_controls_; // one UDP_SEGMENT cmsg per entry (aligned)
  // Datagrams of this size or larger are not sent by GSO (the kernel refused one).
  std::size_t gso_limit_ = kMaxDatagram + 1;
  Counters counters_;
};

} // namespace lamina
