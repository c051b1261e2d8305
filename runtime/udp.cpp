// UdpNode: address parsing, the socket, the receive loop and the timer heap.
#include "runtime/udp.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace lamina {
namespace {

// Datagrams taken per poll before the timers get their turn, so that a flood cannot starve
// them.
constexpr int kReceiveBatch = 256;

// Front of the timer heap = earliest timer; equal times in the order they were set.
template <class T>
bool later(const T& a, const T& b) {
  return a.at != b.at ? a.at > b.at : a.seq > b.seq;
}

// "host:port" or "[v6-host]:port", resolved once, at construction.
auto parse_address(const std::string& text) {
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
  std::pair<sockaddr_storage, socklen_t> result{};
  std::memcpy(&result.first, found->ai_addr, found->ai_addrlen);
  result.second = found->ai_addrlen;
  ::freeaddrinfo(found);
  return result;
}

} // namespace

UdpNode::UdpNode(PeerId me, const std::vector<std::string>& peers)
    : me_(me), epoch_(std::chrono::steady_clock::now()), scratch_(65536) {
  if (me >= peers.size()) {
    throw std::invalid_argument(
        fmt::format("UdpNode: member {} has no address; the peer list has {}", me, peers.size()));
  }
  for (const auto& text : peers) {
    auto [storage, length] = parse_address(text);
    peers_.push_back({storage, length});
  }
  const auto family = peers_[me].storage.ss_family;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    if (peers_[i].storage.ss_family != family) {
      throw std::invalid_argument(fmt::format(
          "bad peer address '{}': its family differs from this node's address '{}'; a group "
          "is all IPv4 or all IPv6",
          peers[i], peers[me]));
    }
  }

  fd_ = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "UdpNode: socket");
  Address& mine = peers_[me];
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&mine.storage), mine.length) != 0) {
    const int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(),
                            fmt::format("UdpNode: cannot bind to '{}'", peers[me]));
  }
  // Learn the port actually bound (port 0 asks for an ephemeral one).
  mine.length = sizeof mine.storage;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&mine.storage), &mine.length);
}

UdpNode::~UdpNode() { ::close(fd_); }

std::vector<std::unique_ptr<UdpNode>> UdpNode::loopback_group(std::uint32_t n,
                                                              const std::string& host) {
  const std::vector<std::string> unbound(n, host + ":0");
  std::vector<std::unique_ptr<UdpNode>> group;
  for (PeerId i = 0; i < n; ++i) group.push_back(std::make_unique<UdpNode>(i, unbound));
  // Each node now knows its own port; tell every node everyone's.
  for (auto& node : group)
    for (PeerId i = 0; i < n; ++i) node->peers_[i] = group[i]->peers_[i];
  return group;
}

std::uint16_t UdpNode::local_port() const {
  const auto& s = peers_[me_].storage;
  if (s.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(s).sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in&>(s).sin_port);
}

void UdpNode::attach(Endpoint& ep) {
  ep_ = &ep;
  ep.attach(*this);
}

void UdpNode::send(PeerId to, Msg payload) {
  if (ep_ == nullptr) {
    throw std::logic_error(
        fmt::format("UdpNode::send: node {} has no endpoint; call attach first", me_));
  }
  ep_->send(to, std::move(payload));
}

Time UdpNode::now() const {
  return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - epoch_);
}

void UdpNode::transmit(PeerId to, Msg packet) {
  if (packet.size() > kMaxDatagram) {
    ++counters_.oversize;
    return;
  }
  if (to == kAllPeers) {
    for (PeerId p = 0; p < peers_.size(); ++p)
      if (p != me_) send_to(peers_[p], packet);
    return;
  }
  if (to >= peers_.size()) {
    ++counters_.bad_destination;
    return;
  }
  send_to(peers_[to], packet);
}

void UdpNode::send_to(const Address& a, const Msg& packet) {
  const auto n = ::sendto(fd_, packet.data(), packet.size(), 0,
                          reinterpret_cast<const sockaddr*>(&a.storage), a.length);
  ++(n < 0 ? counters_.send_errors : counters_.sent);
}

void UdpNode::set_timer(Time at, std::uint32_t timer) {
  timers_.push_back({at, next_seq_++, timer});
  std::push_heap(timers_.begin(), timers_.end(), later<PendingTimer>);
}

PeerId UdpNode::member_at(const sockaddr_storage& from, socklen_t length) const {
  for (PeerId p = 0; p < peers_.size(); ++p) {
    const Address& a = peers_[p];
    if (a.storage.ss_family != from.ss_family || a.length != length) continue;
    if (from.ss_family == AF_INET) {
      const auto& x = reinterpret_cast<const sockaddr_in&>(a.storage);
      const auto& y = reinterpret_cast<const sockaddr_in&>(from);
      if (x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr) return p;
    } else if (from.ss_family == AF_INET6) {
      const auto& x = reinterpret_cast<const sockaddr_in6&>(a.storage);
      const auto& y = reinterpret_cast<const sockaddr_in6&>(from);
      if (x.sin6_port == y.sin6_port &&
          std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0)
        return p;
    }
  }
  return kAllPeers;
}

std::size_t UdpNode::poll(Duration max_wait) {
  Duration wait = std::max(max_wait, Duration::zero());
  if (!timers_.empty()) wait = std::clamp(timers_.front().at - now(), Duration::zero(), wait);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(wait);
  const timespec timeout{static_cast<time_t>(secs.count()),
                         static_cast<long>((wait - secs).count())};
  pollfd readable{fd_, POLLIN, 0};
  std::size_t handled = 0;
  // An interrupted wait (EINTR) simply goes on to the timers.
  if (::ppoll(&readable, 1, &timeout, nullptr) > 0) {
    for (int i = 0; i < kReceiveBatch; ++i) {
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      const auto n = ::recvfrom(fd_, scratch_.data(), scratch_.size(), 0,
                                reinterpret_cast<sockaddr*>(&from), &length);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++counters_.recv_errors;
        break;
      }
      const PeerId source = member_at(from, length);
      if (source == kAllPeers) {
        ++counters_.unknown_source;
        continue;
      }
      ++counters_.received;
      if (ep_ == nullptr) {
        ++counters_.unattached;
        continue;
      }
      // Copied out of the scratch buffer so that the Msg is sized to the datagram: a stack
      // may hold it (reordering, retransmission) and 64 KiB per held packet would add up.
      ep_->receive(source, Msg::copy_of({scratch_.data(), static_cast<std::size_t>(n)}));
      ++handled;
    }
  }
  return handled + fire_due_timers();
}

std::size_t UdpNode::fire_due_timers() {
  // Timers set while these fire wait for the next poll, so that a layer re-arming itself with
  // no delay cannot hold the loop forever.
  const std::uint64_t horizon = next_seq_;
  const Time t = now();
  std::size_t fired = 0;
  while (!timers_.empty() && timers_.front().at <= t && timers_.front().seq < horizon) {
    std::pop_heap(timers_.begin(), timers_.end(), later<PendingTimer>);
    const std::uint32_t timer = timers_.back().timer;
    timers_.pop_back();
    ++counters_.timers_fired;
    ++fired;
    if (ep_ != nullptr) ep_->expire(timer);
  }
  return fired;
}

void UdpNode::run_for(Duration d) {
  const Time deadline = now() + d;
  for (Duration left = d; left > Duration::zero(); left = deadline - now()) poll(left);
}

} // namespace lamina
