// DatagramSocket: addresses, the socket and its buffers, the sendmmsg queue and the recvmmsg
// receive.
#include "runtime/datagram.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <system_error>
#include <unistd.h>

#include "runtime/varint.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 // Linux 4.18
#endif

namespace lamina {
namespace {

// A cmsg carrying a 16-bit UDP_SEGMENT, in 64-bit words.
constexpr std::size_t kControlWords = (CMSG_SPACE(sizeof(std::uint16_t)) + 7) / 8;

// What pads a bundle up to a GSO run's segment (by an eighth of it at most): a zero length,
// then anything.
constexpr std::array<std::byte, 8192> kPadding{};
static_assert(DatagramSocket::kMaxDatagram / 8 <= kPadding.size());

} // namespace

std::uint16_t SocketAddress::port() const {
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(storage).sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in&>(storage).sin_port);
}

std::string SocketAddress::text() const {
  char host[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(storage).sin6_addr, host,
                sizeof host);
    return fmt::format("[{}]:{}", host, port());
  }
  ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(storage).sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, port());
}

bool SocketAddress::same_as(const SocketAddress& other) const {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(storage);
    const auto& y = reinterpret_cast<const sockaddr_in&>(other.storage);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    const auto& x = reinterpret_cast<const sockaddr_in6&>(storage);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(other.storage);
    return x.sin6_port == y.sin6_port &&
           std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
  }
  return false;
}

SocketAddress parse_address(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument(fmt::format("bad peer address '{}': {}", text, why));
  };
  std::string host;
  std::string port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string::npos || text.substr(close + 1, 1) != ":")
      throw bad("expected [ipv6-host]:port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      throw bad("expected host:port (an IPv6 host goes in brackets, as in [::1]:7000)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) throw bad("expected host:port; the host is missing");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) > 65535)
    throw bad("expected host:port with a port in 0 .. 65535");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw bad(fmt::format("cannot resolve host '{}': {}", host, ::gai_strerror(rc)));
  SocketAddress result;
  std::memcpy(&result.storage, found->ai_addr, found->ai_addrlen);
  result.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return result;
}

DatagramSocket::DatagramSocket(const SocketAddress& local) : DatagramSocket(local, Options{}) {}

DatagramSocket::DatagramSocket(const SocketAddress& local, const Options& options)
    : options_(options), local_(local) {
  options_.receive_batch = std::max<std::size_t>(options_.receive_batch, 1);
  options_.receive_bytes = std::max<std::size_t>(options_.receive_bytes, 1);
  options_.bundle_bytes = std::min(options_.bundle_bytes, kMaxDatagram);
  fd_ = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "DatagramSocket: socket");
  if (::bind(fd_, local_.get(), local_.length) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(),
                            fmt::format("DatagramSocket: cannot bind to '{}'", local.text()));
  }
  if (options_.wakeable) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
      const int err = errno;
      ::close(fd_);
      throw std::system_error(err, std::generic_category(), "DatagramSocket: eventfd");
    }
  }
  // Learn the port actually bound (port 0 asks for an ephemeral one).
  local_.length = sizeof local_.storage;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local_.storage), &local_.length);
  size_buffers();

  // The overflow buffers are allocated without being written, so that the pages a run never
  // fills (all of them, while datagrams fit in the message buffers) never become resident. The
  // message buffers come from the pool of the thread that receives, on its first receive().
  const std::size_t slots = options_.receive_batch;
  inline_bytes_ = std::min(options_.receive_inline, options_.receive_bytes);
  overflow_bytes_ = options_.receive_bytes - inline_bytes_;
  slots_.resize(slots);
  if (overflow_bytes_ != 0) overflow_.reset(new std::byte[slots * overflow_bytes_]);
  sources_.resize(slots);
  receive_iov_.resize(2 * slots);
  receive_headers_.resize(slots);
  received_.reserve(slots);
  arrivals_.reserve(slots);
  drop_rng_.seed(options_.drop_seed);
  filled_ = slots; // as if every slot had been filled: each gets its buffer on the first receive
  for (std::size_t i = 0; i < slots; ++i) {
    receive_iov_[2 * i + 1] = {overflow_.get() + i * overflow_bytes_, overflow_bytes_};
    receive_headers_[i] = {};
    msghdr& h = receive_headers_[i].msg_hdr;
    h.msg_name = &sources_[i].storage;
    h.msg_namelen = sizeof sources_[i].storage;
    h.msg_iov = &receive_iov_[2 * i];
    h.msg_iovlen = overflow_bytes_ != 0 ? 2 : 1;
  }
  send_iov_.resize(kSendIovecs);
  send_headers_.resize(kSendBatch);
  send_entries_.resize(kSendBatch);
  send_controls_.resize(kSendBatch * kControlWords);
}

DatagramSocket::~DatagramSocket() {
  ::close(fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void DatagramSocket::wake() {
  woken_.store(true, std::memory_order_release);
  if (wake_fd_ < 0) return;
  const std::uint64_t one = 1;
  // The counter cannot overflow from wakes; EAGAIN would mean it is already readable.
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void DatagramSocket::size_buffers() {
  const auto ask = [&](int force, int plain) {
    if (options_.buffer_bytes > 0) {
      const int bytes = static_cast<int>(std::min<std::size_t>(options_.buffer_bytes, 1u << 30));
      // SO_*BUFFORCE passes the sysctl limit but needs CAP_NET_ADMIN; without, the plain
      // option gets what the limit allows.
      if (::setsockopt(fd_, SOL_SOCKET, force, &bytes, sizeof bytes) != 0)
        ::setsockopt(fd_, SOL_SOCKET, plain, &bytes, sizeof bytes);
    }
    int granted = 0;
    socklen_t length = sizeof granted;
    ::getsockopt(fd_, SOL_SOCKET, plain, &granted, &length);
    return static_cast<std::size_t>(granted);
  };
  send_buffer_ = ask(SO_SNDBUFFORCE, SO_SNDBUF);
  receive_buffer_ = ask(SO_RCVBUFFORCE, SO_RCVBUF);
}

bool DatagramSocket::enqueue(const SocketAddress& to, Msg packet) {
  const std::size_t size = packet.size();
  const std::size_t frame = options_.bundle_bytes == 0 ? 0 : varint::size(size + 1);
  if (size + frame > kMaxDatagram) {
    ++counters_.oversize;
    return false;
  }
  if (options_.queue_limit != 0 && queued() >= options_.queue_limit) {
    ++counters_.queue_full;
    return false;
  }
  if (frame != 0) varint::put(packet.claim_front(frame), size + 1);
  queue_.push_back({to, std::move(packet)});
  return true;
}

void DatagramSocket::drop_front(std::size_t n) {
  for (std::size_t i = head_; i < head_ + n; ++i) queue_[i].packet = Msg{}; // buffers back now
  head_ += n;
  if (head_ == queue_.size()) {
    queue_.clear(); // keeps its capacity: the next datagrams allocate nothing
    head_ = 0;
  } else if (head_ >= 1024 && 2 * head_ >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

std::pair<std::size_t, std::size_t> DatagramSocket::bundle_at(std::size_t from) const {
  const Pending& first = queue_[from];
  std::size_t count = 1;
  std::size_t bytes = first.packet.size();
  while (options_.bundle_bytes != 0 && count < kMaxBundle && from + count < queue_.size()) {
    const Pending& p = queue_[from + count];
    if (bytes + p.packet.size() > options_.bundle_bytes || !p.to.same_as(first.to)) break;
    bytes += p.packet.size();
    ++count;
  }
  return {count, bytes};
}

std::size_t DatagramSocket::build_batch() {
  const bool framed = options_.bundle_bytes != 0;
  std::size_t entries = 0;
  std::size_t iov_used = 0;
  std::size_t next = head_; // the queued packet the next entry starts with
  while (entries < kSendBatch && next < queue_.size()) {
    const Pending& first = queue_[next];
    const auto [count, bytes] = bundle_at(next);
    if (iov_used + count > send_iov_.size()) break; // the next sendmmsg takes it
    Entry& e = send_entries_[entries];
    e = {};
    iovec* const iov = &send_iov_[iov_used];
    std::size_t iovs = 0;
    const auto add = [&](std::size_t from, std::size_t packets) {
      for (std::size_t i = from; i < from + packets; ++i) {
        // iovec's pointer is not const, but sendmmsg only reads through it.
        iov[iovs++] = {const_cast<std::byte*>(queue_[i].packet.data()), queue_[i].packet.size()};
      }
      e.packets += packets;
      ++e.datagrams;
      if (packets > 1) e.bundled += packets;
    };
    add(next, count);
    next += count;
    // A GSO run: more datagrams to the same peer, cut by the kernel at `segment` bytes. Each
    // but the last must be exactly that long: the first one's length or, when it is within an
    // eighth of bundle_bytes, bundle_bytes, and framed datagrams that much short are padded.
    const std::size_t slack = options_.bundle_bytes / 8;
    const bool padded =
        framed && bytes <= options_.bundle_bytes && options_.bundle_bytes - bytes <= slack;
    e.segment = padded ? options_.bundle_bytes : bytes;
    std::size_t total = bytes;
    std::size_t last = bytes; // the last datagram's length so far
    while (options_.gso && bytes > 0 && e.segment < gso_limit_ && e.datagrams < kMaxSegments &&
           next < queue_.size() && queue_[next].to.same_as(first.to)) {
      const std::size_t pad = e.segment - last;
      if (pad > (padded ? slack : 0)) break;
      const auto [more, more_bytes] = bundle_at(next);
      if (more_bytes == 0 || more_bytes > e.segment || total + pad + more_bytes > kMaxDatagram ||
          iovs + 1 + more > kMaxIov || iov_used + iovs + 1 + more > send_iov_.size())
        break;
      if (pad != 0) {
        // A zero length ends a datagram's packets: the rest is padding.
        iov[iovs++] = {const_cast<std::byte*>(kPadding.data()), pad};
        total += pad;
      }
      add(next, more);
      next += more;
      total += more_bytes;
      last = more_bytes;
    }
    msghdr& h = send_headers_[entries].msg_hdr;
    h = {};
    h.msg_name = const_cast<sockaddr_storage*>(&first.to.storage);
    h.msg_namelen = first.to.length;
    h.msg_iov = iov;
    h.msg_iovlen = iovs;
    if (e.datagrams > 1) {
      auto* control = &send_controls_[entries * kControlWords];
      h.msg_control = control;
      h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto size = static_cast<std::uint16_t>(e.segment);
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    iov_used += iovs;
    ++entries;
  }
  return entries;
}

std::size_t DatagramSocket::flush() {
  std::size_t sent = 0;
  while (queued() != 0) {
    const std::size_t n = build_batch();
    ++counters_.send_calls;
    const int r = ::sendmmsg(fd_, send_headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (r < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        // The kernel's buffer is full: the rest waits for the next flush.
        ++counters_.would_block;
        break;
      }
      if (send_entries_[0].datagrams > 1) {
        // The kernel refused the GSO run (a segment larger than the path's MTU, no GSO
        // here): from now on datagrams of this size go one by one.
        ++counters_.gso_refused;
        gso_limit_ = std::min(gso_limit_, send_entries_[0].segment);
        continue;
      }
      // The first datagram of the batch is refused for good (EMSGSIZE, unreachable, ...):
      // count it and go on with the others.
      ++counters_.send_errors;
      drop_front(send_entries_[0].packets);
      continue;
    }
    const auto taken_entries = static_cast<std::size_t>(r);
    if (taken_entries < n) ++counters_.partial_sends;
    std::size_t taken = 0;
    for (std::size_t i = 0; i < taken_entries; ++i) {
      const Entry& e = send_entries_[i];
      taken += e.packets;
      sent += e.datagrams;
      counters_.sent += e.datagrams;
      counters_.bundled += e.bundled;
      if (e.datagrams > 1) ++counters_.gso_runs;
    }
    drop_front(taken);
    // A partial send is followed by another call, which reports the error of the entry that
    // stopped it (or takes more, if the buffer drained meanwhile).
  }
  return sent;
}

Msg DatagramSocket::take(std::size_t i) {
  if (i >= received_.size()) {
    throw std::out_of_range(fmt::format(
        "DatagramSocket::take({}): the last receive() returned {} packets", i, received_.size()));
  }
  Arrival& a = arrivals_[i];
  if (a.taken) return {};
  a.taken = true;
  // A packet alone takes its slot's buffer; one of a bundle, a view of it.
  Msg m = a.alone ? std::move(slots_[a.slot]) : slots_[a.slot].share();
  const std::span<const std::byte> bytes = received_[i].bytes;
  (void)m.drop_front(static_cast<std::size_t>(bytes.data() - m.data()));
  (void)m.truncate(bytes.size());
  return m;
}

bool DatagramSocket::unbundle(std::size_t slot, std::span<const std::byte> bytes) {
  const std::size_t first = received_.size();
  const std::byte* at = bytes.data();
  const std::byte* const end = at + bytes.size();
  while (at != end) {
    std::uint32_t frame = 0;
    if (!varint::get(at, end, frame) || frame > static_cast<std::size_t>(end - at) + 1) {
      received_.resize(first);
      arrivals_.resize(first);
      return false;
    }
    if (frame == 0) break; // padding to the end
    const std::uint32_t size = frame - 1;
    received_.push_back({&sources_[slot], {at, size}});
    arrivals_.push_back({slot, false, false});
    at += size;
  }
  if (received_.size() == first) return false; // not even one packet
  if (received_.size() == first + 1) arrivals_[first].alone = true;
  return true;
}

std::size_t DatagramSocket::receive_now() {
  const std::size_t slots = options_.receive_batch;
  received_.clear();
  arrivals_.clear();
  // The kernel rewrote the address length and flags of the headers it filled last time; the
  // rest of every header stays as the constructor set it (a batch of 64 set afresh on every
  // call cost about 1,000 instructions, more than the stack's work on a datagram). Only those
  // slots' buffers can have been taken, replaced by a joined message, or still be shared with
  // packets handed on: they get new ones.
  for (std::size_t i = 0; i < filled_; ++i) {
    msghdr& h = receive_headers_[i].msg_hdr;
    h.msg_namelen = sizeof sources_[i].storage;
    h.msg_flags = 0;
    if (slots_[i].headroom() == 0 || slots_[i].size() != inline_bytes_ || slots_[i].shared()) {
      slots_[i] = Msg::unfilled(inline_bytes_);
      receive_iov_[2 * i] = {slots_[i].writable_data(), inline_bytes_};
    }
  }
  filled_ = 0;
  ++counters_.receive_calls;
  const int r =
      ::recvmmsg(fd_, receive_headers_.data(), static_cast<unsigned>(slots), MSG_DONTWAIT, nullptr);
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters_.receive_errors;
    return 0;
  }
  filled_ = static_cast<std::size_t>(r);
  for (std::size_t i = 0; i < filled_; ++i) {
    const mmsghdr& m = receive_headers_[i];
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      ++counters_.truncated;
      continue;
    }
    if (options_.drop_share > 0 &&
        static_cast<double>(drop_rng_() >> 11) * 0x1.0p-53 < options_.drop_share) {
      ++counters_.dropped;
      continue;
    }
    if (m.msg_len > inline_bytes_) {
      // It ran on into the overflow buffer: one message of it, by a copy.
      Msg whole = Msg::unfilled(m.msg_len);
      std::byte* to = whole.writable_data();
      std::memcpy(to, slots_[i].data(), inline_bytes_);
      std::memcpy(to + inline_bytes_, receive_iov_[2 * i + 1].iov_base, m.msg_len - inline_bytes_);
      slots_[i] = std::move(whole);
      ++counters_.copied;
    }
    sources_[i].length = m.msg_hdr.msg_namelen; // the kernel reads only the header's length
    const std::span<const std::byte> bytes{slots_[i].data(), m.msg_len};
    if (options_.bundle_bytes == 0) {
      received_.push_back({&sources_[i], bytes});
      arrivals_.push_back({i, true, false});
    } else if (!unbundle(i, bytes)) {
      ++counters_.malformed;
      continue;
    }
    ++counters_.received;
  }
  return received_.size();
}

std::span<const DatagramSocket::Received> DatagramSocket::receive(Duration wait) {
  using Clock = std::chrono::steady_clock;
  wait = std::max(wait, Duration::zero());
  received_.clear(); // a wait that ends with nothing leaves nothing to take
  arrivals_.clear();
  // received_ grows as the packets are found: its data() is read once receive_now() is done.
  const auto packets = [this](std::size_t n) {
    return std::span<const Received>(received_.data(), n);
  };
  if (wait == Duration::zero()) return packets(receive_now());

  if (options_.busy_poll) {
    const auto deadline = Clock::now() + wait;
    std::size_t n = 0;
    // A truncated datagram alone yields nothing: spin on until the deadline, or a wake().
    while ((n = receive_now()) == 0 && Clock::now() < deadline &&
           !woken_.exchange(false, std::memory_order_acquire))
      if (queued() != 0) flush();
    return packets(n);
  }

  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(wait);
  const timespec timeout{static_cast<time_t>(secs.count()),
                         static_cast<long>((wait - secs).count())};
  pollfd ready[2] = {{fd_, static_cast<short>(POLLIN | (queued() == 0 ? 0 : POLLOUT)), 0},
                     {wake_fd_, POLLIN, 0}};
  ++counters_.wait_calls;
  if (woken_.exchange(false, std::memory_order_acquire)) return packets(receive_now());
  // An interrupted wait (EINTR) returns nothing; the caller waits again.
  if (::ppoll(ready, wake_fd_ >= 0 ? 2 : 1, &timeout, nullptr) <= 0) return {};
  if ((ready[1].revents & POLLIN) != 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);
    woken_.store(false, std::memory_order_relaxed);
  }
  if ((ready[0].revents & POLLOUT) != 0) flush();
  if ((ready[0].revents & (POLLIN | POLLERR)) == 0) return {};
  return packets(receive_now());
}

} // namespace lamina
