// `lamina netbench`: the parent runs each row as two child processes on loopback (this program
// again, with --role), waits for them within a time limit, and prints the table; a child runs
// one side of one row over one Link — raw UDP, TCP, ENet, ZeroMQ or Lamina over UdpNode.
#include "tools/netbench.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <enet/enet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <iterator>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <random>
#include <ranges>
#include <sys/socket.h>
#include <thread>
#include <typeinfo>
#include <unistd.h>
#include <zmq.h>

#include "runtime/datagram.hpp"
#include "runtime/implementation.hpp"
#include "runtime/udp.hpp"
#include "tools/child_process.hpp"
#include "tools/wire_layers.hpp"

namespace lamina::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t kNa = ~std::uint64_t{0};
// Messages a sender hands over between two looks at what came back (acks, echoes).
constexpr std::uint64_t kBurst = 64;
// A Lamina child stops when it holds this much memory: a stack without flow control keeps
// every unacknowledged message, and a long run at full speed would take the machine's memory.
constexpr std::size_t kMemoryCap = std::size_t{2} << 30;

// CLOCK_MONOTONIC, which every process on the machine shares: a sender's start and a
// receiver's last delivery can be subtracted.
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

std::size_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

SocketAddress loopback(std::uint16_t port) {
  return parse_address(fmt::format("127.0.0.1:{}", port));
}

// ---------------------------------------------------------------------------------------------
// Links: one side of a connection, as the workloads drive it.

class Link {
public:
  virtual ~Link() = default;
  // Hands one message over; false when it cannot be taken now (the caller polls and retries).
  virtual bool send(std::span<const std::byte> m) = 0;
  // Puts what send() queued on the wire.
  virtual void flush() {}
  // Waits up to `wait` (sleeping or spinning) and delivers what arrived through on_message.
  virtual void poll(Duration wait) = 0;
  // Everything sent has been acknowledged (or, without acknowledgements, handed over).
  virtual bool settled() { return true; }
  // Datagrams this side has sent, or kNa where the transport does not show them.
  [[nodiscard]] virtual std::uint64_t datagrams() const { return kNa; }
  [[nodiscard]] virtual std::uint64_t retransmitted() const { return 0; }
  [[nodiscard]] virtual std::uint64_t timeouts() const { return 0; }
  [[nodiscard]] virtual std::uint64_t probes() const { return 0; }

  std::function<void(std::span<const std::byte>)> on_message;
  std::uint64_t dropped = 0;         // arriving datagrams dropped on purpose
  std::string stopped;               // why the run cannot go on, or empty
  bool reliable = true;              // a lost message is resent
  bool linger_after_receive = false; // the receiver must stay to acknowledge the last ones
};

// Raw UDP on DatagramSocket, batched and bundled as UdpNode does, nothing resent.
class UdpLink final : public Link {
public:
  UdpLink(const NetbenchOptions& o)
      : socket_(loopback(o.port), options(o.busy)), peer_(loopback(o.peer_port)) {
    reliable = false;
  }
  bool send(std::span<const std::byte> m) override {
    if (!socket_.enqueue(peer_, Msg::copy_of(m))) return false;
    if (socket_.queued() >= DatagramSocket::kSendBatch) socket_.flush();
    return true;
  }
  void flush() override { socket_.flush(); }
  void poll(Duration wait) override {
    socket_.flush();
    for (const auto& d : socket_.receive(wait)) on_message(d.bytes);
  }
  bool settled() override { return socket_.flush(), socket_.queued() == 0; }
  [[nodiscard]] std::uint64_t datagrams() const override { return socket_.counters().sent; }

private:
  static DatagramSocket::Options options(bool busy) {
    DatagramSocket::Options o;
    o.busy_poll = busy;
    o.bundle_bytes = UdpNode::Options{}.bundle_bytes;
    o.queue_limit = 4096;
    return o;
  }
  DatagramSocket socket_;
  SocketAddress peer_;
};

// TCP with TCP_NODELAY, one write per message: a 4-byte length, then the bytes.
class TcpLink final : public Link {
public:
  TcpLink(const NetbenchOptions& o, Clock::time_point deadline)
      : busy_(o.busy), deadline_(deadline) {
    const SocketAddress a = loopback(o.role == "receiver" ? o.port : o.peer_port);
    if (o.role == "receiver") {
      listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(listener_, a.get(), a.length) != 0 || ::listen(listener_, 1) != 0)
        throw std::system_error(errno, std::generic_category(), "tcp: cannot listen");
      return;
    }
    for (auto until = Clock::now() + 5s; fd_ < 0; std::this_thread::sleep_for(10ms)) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd_, a.get(), a.length) == 0) break;
      ::close(fd_);
      fd_ = -1;
      if (Clock::now() > until) throw std::runtime_error("tcp: cannot connect");
    }
    configure();
  }
  ~TcpLink() override {
    if (fd_ >= 0) ::close(fd_);
    if (listener_ >= 0) ::close(listener_);
  }
  bool send(std::span<const std::byte> m) override {
    frame_.resize(4 + m.size());
    const auto length = static_cast<std::uint32_t>(m.size());
    std::memcpy(frame_.data(), &length, 4);
    std::memcpy(frame_.data() + 4, m.data(), m.size());
    for (std::size_t done = 0; done < frame_.size();) {
      const auto n = ::send(fd_, frame_.data() + done, frame_.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
        stopped = fmt::format("tcp: send: {}", std::strerror(errno));
        return true;
      } else if (Clock::now() > deadline_) {
        return true; // the caller sees the deadline
      }
    }
    return true;
  }
  void poll(Duration wait) override {
    if (fd_ < 0 && !accept(wait)) return;
    const auto until = Clock::now() + wait;
    for (;;) {
      if (read_some()) return;
      if (busy_) {
        if (Clock::now() >= until) return;
        continue;
      }
      const auto left = std::max(Duration::zero(), Duration(until - Clock::now()));
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>((left.count() + 999'999) / 1'000'000)) <= 0) return;
    }
  }

private:
  void configure() {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval t{0, 100'000}; // a blocked write looks at the deadline every 100 ms
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
  }
  bool accept(Duration wait) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count() / 1'000'000 + 1)) <= 0) return false;
    fd_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd_ < 0) return false;
    configure();
    return true;
  }
  // Reads what is there and delivers every whole frame; true when something was read.
  bool read_some() {
    if (buffer_.size() - end_ < 65536) {
      std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
      if (buffer_.size() - end_ < 65536) buffer_.resize(end_ + (1 << 18));
    }
    const auto n = ::recv(fd_, buffer_.data() + end_, buffer_.size() - end_, MSG_DONTWAIT);
    if (n <= 0) return false;
    end_ += static_cast<std::size_t>(n);
    while (end_ - start_ >= 4) {
      std::uint32_t length = 0;
      std::memcpy(&length, buffer_.data() + start_, 4);
      if (end_ - start_ < 4 + length) break;
      on_message({buffer_.data() + start_ + 4, length});
      start_ += 4 + length;
    }
    return true;
  }

  bool busy_;
  Clock::time_point deadline_;
  int listener_ = -1;
  int fd_ = -1;
  std::vector<std::byte> frame_;
  std::vector<std::byte> buffer_ = std::vector<std::byte>(1 << 18);
  std::size_t start_ = 0, end_ = 0;
};

// ENet's reliable channel; the receiver drops a share of arriving datagrams through ENet's
// intercept hook.
class EnetLink final : public Link {
public:
  EnetLink(const NetbenchOptions& o) : busy_(o.busy) {
    linger_after_receive = true;
    static const bool initialised = [] {
      if (enet_initialize() != 0) throw std::runtime_error("enet: cannot initialise");
      std::atexit(enet_deinitialize);
      return true;
    }();
    (void)initialised;
    ENetAddress address{};
    enet_address_set_host(&address, "127.0.0.1");
    if (o.role == "receiver") {
      address.port = o.port;
      host_ = enet_host_create(&address, 1, 1, 0, 0);
      if (host_ == nullptr) throw std::runtime_error("enet: cannot bind");
      if (o.drops.front() > 0) {
        drop_share_ = o.drops.front();
        host_->intercept = [](ENetHost*, ENetEvent*) -> int {
          if (!connected_ || unit_(rng_) >= drop_share_) return 0;
          ++dropped_;
          return 1;
        };
      }
      return;
    }
    address.port = o.peer_port;
    host_ = enet_host_create(nullptr, 1, 1, 0, 0);
    if (host_ == nullptr) throw std::runtime_error("enet: cannot create a host");
    peer_ = enet_host_connect(host_, &address, 1, 0);
    ENetEvent ev;
    for (auto until = Clock::now() + 5s; Clock::now() < until;) {
      if (enet_host_service(host_, &ev, 10) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT) return;
    }
    throw std::runtime_error("enet: cannot connect");
  }
  ~EnetLink() override {
    if (host_ != nullptr) enet_host_destroy(host_);
  }
  bool send(std::span<const std::byte> m) override {
    if (peer_ == nullptr) return false;
    // ENet queues without bound: look every kBurst messages at what waits, and hold back.
    if (++since_check_ >= kBurst) {
      if (enet_list_size(&peer_->outgoingCommands) > 4096) return false;
      since_check_ = 0;
    }
    ENetPacket* p = enet_packet_create(m.data(), m.size(), ENET_PACKET_FLAG_RELIABLE);
    enet_peer_send(peer_, 0, p);
    return true;
  }
  void flush() override { enet_host_flush(host_); }
  void poll(Duration wait) override {
    const auto until = Clock::now() + wait;
    ENetEvent ev;
    int ms = busy_ ? 0 : static_cast<int>((wait.count() + 999'999) / 1'000'000);
    for (;;) {
      const int r = enet_host_service(host_, &ev, static_cast<enet_uint32>(ms));
      if (r > 0) {
        handle(ev);
        ms = 0;
        // Take every event already there, then return.
        while (enet_host_check_events(host_, &ev) > 0) handle(ev);
        return;
      }
      dropped = dropped_;
      if (r < 0 || !busy_ || Clock::now() >= until) return;
    }
  }
  bool settled() override {
    return peer_ != nullptr && enet_list_empty(&peer_->outgoingCommands) &&
           enet_list_empty(&peer_->sentReliableCommands);
  }
  [[nodiscard]] std::uint64_t datagrams() const override { return host_->totalSentPackets; }

private:
  void handle(ENetEvent& ev) {
    dropped = dropped_;
    if (ev.type == ENET_EVENT_TYPE_CONNECT) {
      peer_ = ev.peer;
      connected_ = true;
    } else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
      on_message({reinterpret_cast<const std::byte*>(ev.packet->data), ev.packet->dataLength});
      enet_packet_destroy(ev.packet);
    }
  }

  bool busy_;
  ENetHost* host_ = nullptr;
  ENetPeer* peer_ = nullptr;
  std::uint64_t since_check_ = 0;
  static inline bool connected_ = false;
  static inline double drop_share_ = 0;
  static inline std::uint64_t dropped_ = 0;
  static inline std::mt19937_64 rng_{7};
  static inline std::uniform_real_distribution<double> unit_{0, 1};
};

// ZeroMQ PAIR over tcp://127.0.0.1.
class ZmqLink final : public Link {
public:
  ZmqLink(const NetbenchOptions& o) : busy_(o.busy), context_(zmq_ctx_new()) {
    socket_ = zmq_socket(context_, ZMQ_PAIR);
    const int timeout = 100, linger = 2000;
    zmq_setsockopt(socket_, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger);
    const bool receiver = o.role == "receiver";
    const auto endpoint = fmt::format("tcp://127.0.0.1:{}", receiver ? o.port : o.peer_port);
    if ((receiver ? zmq_bind(socket_, endpoint.c_str()) : zmq_connect(socket_, endpoint.c_str())) !=
        0)
      throw std::runtime_error(fmt::format("zmq: {}: {}", endpoint, zmq_strerror(zmq_errno())));
    zmq_msg_init(&message_);
  }
  ~ZmqLink() override {
    zmq_msg_close(&message_);
    zmq_close(socket_);
    zmq_ctx_term(context_);
  }
  bool send(std::span<const std::byte> m) override {
    return zmq_send(socket_, m.data(), m.size(), 0) >= 0;
  }
  void poll(Duration wait) override {
    const auto until = Clock::now() + wait;
    for (;;) {
      if (take()) return;
      if (busy_) {
        if (Clock::now() >= until) return;
        continue;
      }
      zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
      const auto left = std::max(Duration::zero(), Duration(until - Clock::now()));
      if (zmq_poll(&item, 1, static_cast<long>((left.count() + 999'999) / 1'000'000)) <= 0) return;
    }
  }

private:
  // Delivers what is there, a bounded number; true when something was.
  bool take() {
    int n = 0;
    for (; n < 256 && zmq_msg_recv(&message_, socket_, ZMQ_DONTWAIT) >= 0; ++n)
      on_message({static_cast<const std::byte*>(zmq_msg_data(&message_)), zmq_msg_size(&message_)});
    return n > 0;
  }

  bool busy_;
  void* context_;
  void* socket_ = nullptr;
  zmq_msg_t message_;
};

// Node `me` of implementation `kind` of the rows' stack, and its Retransmit, Arq and Window
// layers if it has them: found once, since the sender asks them about every message (a
// type_info comparison can cost a strcmp).
struct LaminaStack {
  LaminaStack(const std::string& kind, const std::string& stack, PeerId me)
      : impl(make_implementation(kind, stack, 2)), node(me) {
    for (std::size_t i = 0; i < impl->depth(); ++i) {
      const LayerView view = impl->layer(me, i);
      if (*view.type == typeid(Retransmit))
        wire.retransmit = static_cast<const Retransmit*>(view.state);
      if (*view.type == typeid(Arq)) wire.arq = static_cast<const Arq*>(view.state);
      if (*view.type == typeid(Window)) wire.window = static_cast<const Window*>(view.state);
    }
  }
  [[nodiscard]] const WireLayers& layers() const { return wire; }

  std::unique_ptr<Implementation> impl;
  PeerId node;
  WireLayers wire;
};

// A Lamina stack over UdpNode: the sender is member 0, the receiver member 1.
class LaminaLink final : public Link {
public:
  LaminaLink(const NetbenchOptions& o, const std::string& kind)
      : stack_(kind, o.stack, o.role == "receiver" ? 1 : 0) {
    linger_after_receive = true;
    reliable = stack_.layers().reliable();
    const bool receiver = o.role == "receiver";
    const std::vector<std::string> peers{
        fmt::format("127.0.0.1:{}", receiver ? o.peer_port : o.port),
        fmt::format("127.0.0.1:{}", receiver ? o.port : o.peer_port)};
    UdpNode::Options options;
    options.busy_poll = o.busy;
    if (receiver) options.drop_share = o.drops.front();
    options.drop_seed = 11;
    node_ = std::make_unique<UdpNode>(receiver ? 1 : 0, peers, options);
    peer_ = receiver ? 0 : 1;
    node_->attach(stack_.impl->endpoint(stack_.node));
    node_->on_deliver([this](Event& ev) { on_message(ev.msg.bytes()); });
  }
  bool send(std::span<const std::byte> m) override {
    if ((++sends_ & 4095) == 0 && resident_bytes() > kMemoryCap) {
      stopped = fmt::format("stopped at {} GiB resident", kMemoryCap >> 30);
      return true;
    }
    if (stack_.layers().would_block(peer_)) {
      node_->flush();
      return false;
    }
    // The sends between two polls are one burst: the clock is read once for them all.
    if (!burst_) burst_.emplace(*node_);
    node_->send_queued(peer_, Msg::copy_of(m));
    return true;
  }
  void flush() override {
    burst_.reset();
    node_->flush();
  }
  void poll(Duration wait) override {
    burst_.reset();
    node_->poll(wait);
    dropped = node_->counters().dropped;
  }
  bool settled() override { return node_->counters().queued == 0 && stack_.layers().settled(); }
  [[nodiscard]] std::uint64_t datagrams() const override { return node_->counters().sent; }
  [[nodiscard]] std::uint64_t retransmitted() const override {
    return stack_.layers().retransmitted();
  }
  [[nodiscard]] std::uint64_t timeouts() const override { return stack_.layers().timeouts(); }
  [[nodiscard]] std::uint64_t probes() const override { return stack_.layers().probes(); }

private:
  LaminaStack stack_;
  std::unique_ptr<UdpNode> node_;
  std::optional<UdpNode::Moment> burst_;
  PeerId peer_ = 0;
  std::uint64_t sends_ = 0;
};

std::unique_ptr<Link> make_link(const NetbenchOptions& o, Clock::time_point deadline) {
  if (o.transport == "udp") return std::make_unique<UdpLink>(o);
  if (o.transport == "tcp") return std::make_unique<TcpLink>(o, deadline);
  if (o.transport == "enet") return std::make_unique<EnetLink>(o);
  if (o.transport == "zmq") return std::make_unique<ZmqLink>(o);
  if (o.transport.starts_with("lamina:")) {
    return std::make_unique<LaminaLink>(o, o.transport.substr(7));
  }
  throw std::runtime_error("unknown transport " + o.transport);
}

// ---------------------------------------------------------------------------------------------
// The child: one side of one row. It prints "ready" once bound, then one "result" line of
// key=value pairs.

std::uint64_t sequence_of(std::span<const std::byte> m) {
  std::uint64_t s = kNa;
  if (m.size() >= 8) std::memcpy(&s, m.data(), 8);
  return s;
}

int run_child(const NetbenchOptions& o) {
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.limit_s));
  const auto past = [&] { return Clock::now() >= deadline; };
  std::unique_ptr<Link> link;
  try {
    link = make_link(o, deadline);
  } catch (const std::exception& e) {
    std::string why = e.what();
    std::replace(why.begin(), why.end(), ' ', '_');
    print_result({{"error", why}});
    return 3;
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);

  const bool ping = o.workload == "ping";
  const std::uint64_t n = ping ? o.pings : o.messages;
  const std::uint32_t size = ping ? 64 : o.sizes.front();
  std::map<std::string, std::string> r;
  const auto finish = [&](bool timed_out) {
    r["datagrams"] = link->datagrams() == kNa ? "na" : std::to_string(link->datagrams());
    r["retransmitted"] = std::to_string(link->retransmitted());
    r["timeouts"] = std::to_string(link->timeouts());
    r["probes"] = std::to_string(link->probes());
    r["dropped"] = std::to_string(link->dropped);
    r["timed_out"] = timed_out ? "1" : "0";
    r["reliable"] = link->reliable ? "1" : "0";
    if (!link->stopped.empty()) {
      std::string why = link->stopped;
      std::replace(why.begin(), why.end(), ' ', '_');
      r["stopped"] = why;
    }
    print_result(r);
    link.reset(); // ZeroMQ and ENet close here, within the parent's time limit
    return 0;
  };

  if (o.role == "receiver") {
    std::uint64_t count = 0, wrong = 0, expected = 0;
    std::int64_t last_ns = 0;
    std::vector<std::vector<std::byte>> echoes;
    link->on_message = [&](std::span<const std::byte> m) {
      const std::uint64_t s = sequence_of(m);
      if (s != expected) ++wrong;
      expected = s + 1;
      ++count;
      last_ns = now_ns();
      if (ping) echoes.emplace_back(m.begin(), m.end());
    };
    // Raw UDP loses what it loses: the receiver stops a second after the last arrival.
    auto last_arrival = Clock::now();
    while (count < n && !past()) {
      const std::uint64_t before = count;
      link->poll(5ms);
      for (const auto& e : echoes) {
        while (!link->send(e) && !past()) link->poll(1ms);
        link->flush();
      }
      echoes.clear();
      if (count != before) last_arrival = Clock::now();
      if (!link->reliable && count > 0 && Clock::now() - last_arrival > 1s) break;
      if (!link->stopped.empty()) break;
    }
    const bool timed_out = count < n && link->reliable;
    // Stay to acknowledge what the sender still resends, until it has been quiet a while.
    if (link->linger_after_receive) {
      std::uint64_t seen = count;
      for (auto quiet = Clock::now(); Clock::now() - quiet < 300ms && !past();) {
        link->poll(5ms);
        const std::uint64_t d = link->datagrams();
        if (d != seen) quiet = Clock::now(), seen = d;
      }
    }
    r["count"] = std::to_string(count);
    r["wrong"] = std::to_string(wrong);
    r["last_ns"] = std::to_string(last_ns);
    return finish(timed_out);
  }

  // The sender.
  std::vector<std::byte> payload(size);
  for (std::size_t i = 8; i < size; ++i) payload[i] = std::byte(i * 7);
  std::uint64_t sent = 0;
  const std::int64_t start_ns = now_ns();
  if (!ping) {
    // The time limit is read once a burst, not once a message: the harness's own clock reads
    // (a vDSO call each) are not what a row measures.
    for (bool late = false; sent < n && !late && link->stopped.empty();) {
      std::memcpy(payload.data(), &sent, 8);
      if (!link->send(payload)) {
        link->poll(1ms);
        late = past();
        continue;
      }
      if (++sent % kBurst == 0) {
        link->poll(Duration::zero());
        late = past();
      }
    }
    link->flush();
    while (!link->settled() && !past() && link->stopped.empty()) link->poll(1ms);
    r["sent"] = std::to_string(sent);
    r["start_ns"] = std::to_string(start_ns);
    return finish(sent < n || !link->settled());
  }
  std::vector<double> rtts;
  std::uint64_t want = 0;
  bool answered = false;
  link->on_message = [&](std::span<const std::byte> m) {
    if (sequence_of(m) == want) answered = true;
  };
  std::uint64_t lost = 0;
  for (; sent < n && !past(); ++sent) {
    want = sent;
    answered = false;
    std::memcpy(payload.data(), &sent, 8);
    const auto t0 = Clock::now();
    while (!link->send(payload) && !past()) link->poll(1ms);
    link->flush();
    // Raw UDP gives up on a ping after 200 ms; the others resend until the deadline.
    const auto until = link->reliable ? deadline : std::min(deadline, t0 + 200ms);
    while (!answered && Clock::now() < until) link->poll(1ms);
    if (answered)
      rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    else
      ++lost;
  }
  std::sort(rtts.begin(), rtts.end());
  const auto pct = [&](double p) {
    return rtts.empty() ? 0.0 : rtts[std::min(rtts.size() - 1, std::size_t(p * rtts.size()))];
  };
  r["sent"] = std::to_string(sent);
  r["answered"] = std::to_string(rtts.size());
  r["lost"] = std::to_string(lost);
  r["p50_us"] = fmt::format("{:.1f}", pct(0.50));
  r["p99_us"] = fmt::format("{:.1f}", pct(0.99));
  return finish(rtts.size() < n);
}

// ---------------------------------------------------------------------------------------------
// The parent: children, rows, the table.

struct Row {
  std::string name;      // as in the table
  std::string transport; // --transport of the children
  std::string workload;  // "stream 64 B", "ping 64 B busy"
  std::uint32_t size = 0;
  bool ping = false;
  bool busy = false;
  double drop = 0;
  // Figures; NaN: not applicable.
  double rate = NAN, mb_per_s = NAN, p50 = NAN, p99 = NAN, datagrams = NAN, acks = NAN;
  std::uint64_t sent = 0, delivered = 0;
  long rss_sender = 0, rss_receiver = 0;
  std::string status;
  std::vector<double> rounds; // with --rounds: each round's rate (a stream) or p50 (a ping)
};

// The figure a row's rounds are ordered by: a stream's rate, a ping's p50.
double key_of(const Row& r) { return r.ping ? r.p50 : r.rate; }

// One row out of its rounds: the round whose figure is the median among those that ran (a row
// none of whose rounds ran is its first round), every round's figure kept, and, of more than
// one round, the spread said in its status.
Row median_round(std::vector<Row> runs) {
  std::vector<double> figures;
  for (const Row& r : runs) figures.push_back(key_of(r));
  const std::optional<std::size_t> median = median_index(figures);
  Row row = std::move(runs[median.value_or(0)]);
  row.rounds = figures;
  if (!median || runs.size() == 1) return row;
  std::vector<double> ran;
  std::ranges::copy_if(figures, std::back_inserter(ran), [](double v) { return !std::isnan(v); });
  const auto [low, high] = std::ranges::minmax(ran);
  const auto figure = [&row](double v) {
    return row.ping ? fmt::format("{:.1f}", v) : number(static_cast<std::uint64_t>(v));
  };
  std::string spread =
      fmt::format("median of {} rounds, {} {} to {}{}", runs.size(), row.ping ? "p50" : "msgs/s",
                  figure(low), figure(high), row.ping ? " us" : "");
  if (ran.size() < runs.size()) spread += fmt::format(" ({} of {} ran)", ran.size(), runs.size());
  row.status = spread + (row.status == "ok" ? "" : "; " + row.status);
  return row;
}

void run_row(const NetbenchOptions& o, const std::vector<std::string>& base, Row& row) {
  const bool udp_based =
      row.transport == "udp" || row.transport == "enet" || row.transport.starts_with("lamina");
  const std::uint16_t receiver_port = free_port(udp_based ? SOCK_DGRAM : SOCK_STREAM);
  std::uint16_t sender_port = free_port(SOCK_DGRAM);
  if (sender_port == receiver_port) sender_port = free_port(SOCK_DGRAM);
  const auto args = [&](const std::string& role, std::uint16_t port, std::uint16_t peer) {
    std::vector<std::string> a = base;
    for (const std::string& s :
         {std::string("--role"), role, std::string("--transport"), row.transport,
          std::string("--workload"), std::string(row.ping ? "ping" : "stream"),
          std::string("--sizes"), std::to_string(row.size), std::string("--drop"),
          fmt::format("{}", row.drop), std::string("--port"), std::to_string(port),
          std::string("--peer-port"), std::to_string(peer)})
      a.push_back(s);
    if (row.busy) a.emplace_back("--busy");
    return a;
  };
  const auto kill_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o.limit_s + 15));
  Child receiver = spawn(args("receiver", receiver_port, sender_port));
  if (!wait_for_line(receiver, "ready", Clock::now() + 10s)) {
    kill_child(receiver);
    const auto r = result_of(receiver);
    row.status = r.contains("error") ? "error: " + r.at("error") : "receiver did not start";
    return;
  }
  Child sender = spawn(args("sender", sender_port, receiver_port));
  wait_for_both(sender, receiver, kill_at);
  row.rss_sender = sender.max_rss_kib;
  row.rss_receiver = receiver.max_rss_kib;
  const auto s = result_of(sender);
  const auto r = result_of(receiver);
  if (s.contains("error") || r.contains("error")) {
    row.status = "error: " + (s.contains("error") ? s.at("error") : r.at("error"));
    return;
  }
  row.sent = static_cast<std::uint64_t>(std::max(0.0, field(s, "sent")));
  row.delivered = static_cast<std::uint64_t>(std::max(0.0, field(r, "count")));
  const double n = static_cast<double>(row.ping ? o.pings : o.messages);
  row.datagrams = field(s, "datagrams") / std::max(1.0, static_cast<double>(row.sent));
  row.acks = field(r, "datagrams") / std::max(1.0, static_cast<double>(row.sent));
  if (row.ping) {
    row.p50 = field(s, "p50_us");
    row.p99 = field(s, "p99_us");
  } else if (row.delivered > 0) {
    const double seconds = (field(r, "last_ns") - field(s, "start_ns")) * 1e-9;
    row.rate = static_cast<double>(row.delivered) / seconds;
    row.mb_per_s = row.rate * row.size / 1e6;
  }
  std::vector<std::string> notes;
  if (sender.killed || receiver.killed) notes.push_back("killed at the time limit");
  if (field(s, "timed_out") == 1 || field(r, "timed_out") == 1) notes.push_back("timed out");
  for (const auto* side : {&s, &r})
    if (side->contains("stopped")) {
      std::string why = side->at("stopped");
      std::replace(why.begin(), why.end(), '_', ' ');
      notes.push_back(why);
    }
  const bool reliable = field(s, "reliable") != 0;
  if (!reliable && row.sent > 0) {
    const double got = static_cast<double>(row.ping ? field(s, "answered") : row.delivered);
    notes.push_back(fmt::format("loss {:.2f}%", 100.0 * (1 - got / static_cast<double>(row.sent))));
  }
  if (!row.ping && field(r, "wrong") > 0 && reliable)
    notes.push_back(fmt::format("{} out of order", field(r, "wrong")));
  if (field(s, "retransmitted") > 0)
    notes.push_back(fmt::format("{} retransmitted",
                                number(static_cast<std::uint64_t>(field(s, "retransmitted")))));
  for (const char* count : {"timeouts", "probes"})
    if (field(s, count) > 0)
      notes.push_back(
          fmt::format("{} {}", number(static_cast<std::uint64_t>(field(s, count))), count));
  if (field(r, "dropped") > 0)
    notes.push_back(fmt::format("{} dropped on purpose",
                                number(static_cast<std::uint64_t>(field(r, "dropped")))));
  (void)n;
  std::string status;
  for (const auto& note : notes) status += (status.empty() ? "" : "; ") + note;
  row.status = status.empty() ? "ok" : status;
}

std::string cell(double v, const char* format_spec) {
  return std::isnan(v) ? "n/a" : fmt::format(fmt::runtime(format_spec), v);
}

const std::map<std::string, std::string> kRowNames{
    {"udp", "raw UDP (batched)"}, {"tcp", "TCP_NODELAY"}, {"enet", "ENet reliable"},
    {"zmq", "ZeroMQ PAIR"},       {"lamina", "Lamina"},
};

// A row of the table before it runs: transport `t`, its workload and drop.
Row row_of(const std::string& t, std::uint32_t size, bool ping, bool busy, double drop) {
  Row row;
  row.transport = t;
  row.name = t.starts_with("lamina:") ? "Lamina " + t.substr(7) : kRowNames.at(t);
  row.size = size;
  row.ping = ping;
  row.busy = busy;
  row.drop = drop;
  const std::string bytes = size >= 1024 && size % 1024 == 0 ? fmt::format("{} KiB", size / 1024)
                                                             : fmt::format("{} B", size);
  row.workload = ping ? fmt::format("ping {} {}", bytes, busy ? "busy" : "blocking")
                      : fmt::format("stream {}", bytes);
  return row;
}

} // namespace

CLI::App* add_netbench_command(CLI::App& app, NetbenchOptions& o) {
  auto* cmd = app.add_subcommand(
      "netbench", "Lamina on a real wire: two processes on loopback, raw UDP (batched), TCP, "
                  "ENet, ZeroMQ and a Lamina stack over UdpNode side by side — a one-way stream "
                  "of each size and a 64-byte ping-pong, blocking and busy-polling");
  cmd->add_option("--stack", o.stack,
                  "the Lamina rows' stack string (default: FlowFifo of stacks/fifo/fifo.ioa)");
  cmd->add_option(
         "--impl", o.impls,
         fmt::format("Lamina implementations to run: {}", fmt::join(implementation_kinds(), ", ")))
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--rows", o.rows, "rows to run: udp, tcp, enet, zmq, lamina (default all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"udp", "tcp", "enet", "zmq", "lamina"}));
  auto* messages = cmd->add_option("--messages", o.messages, "messages of each stream")
                       ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
                       ->capture_default_str();
  cmd->add_option("--sizes", o.sizes, "message sizes of the streams, bytes")
      ->delimiter(',')
      ->check(CLI::Range(8u, 60'000u))
      ->capture_default_str();
  auto* pings = cmd->add_option("--pings", o.pings, "round trips of each ping-pong")
                    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000}))
                    ->capture_default_str();
  cmd->add_option("--drop", o.drops,
                  "shares of arriving datagrams the reliable rows' receivers drop on purpose, "
                  "e.g. 0,0.02")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  auto* limit = cmd->add_option("--limit-s", o.limit_s, "time limit of each row, seconds")
                    ->check(CLI::Range(0.5, 3600.0))
                    ->capture_default_str();
  cmd->add_option("--rounds", o.rounds,
                  "runs of each row, the rows of a workload taking turns; the table shows the "
                  "median run and the spread")
      ->check(CLI::Range(1u, 20u))
      ->capture_default_str();
  cmd->add_flag("--quick", o.quick,
                "10^5 messages, 2,000 pings, 20 s a row (what is given explicitly stays)");
  cmd->add_option("--json", o.json, "also write the figures to this file as JSON");
  for (auto* hidden :
       {cmd->add_option("--role", o.role)->check(CLI::IsMember({"sender", "receiver"})),
        cmd->add_option("--transport", o.transport), cmd->add_option("--workload", o.workload),
        cmd->add_flag("--busy", o.busy), cmd->add_option("--port", o.port),
        cmd->add_option("--peer-port", o.peer_port)})
    hidden->group("");
  cmd->final_callback([&o, messages, pings, limit] {
    if (!o.quick) return;
    if (messages->count() == 0) o.messages = 100'000;
    if (pings->count() == 0) o.pings = 2'000;
    if (limit->count() == 0) o.limit_s = 20;
  });
  return cmd;
}

int netbench_command(const NetbenchOptions& o, std::span<char* const> args) {
  if (!o.role.empty()) return run_child(o);
  // A file that cannot be written is said before the run, not after it.
  if (!o.json.empty() && !write_file(o.json, "")) return 2;

  for (const auto& impl : o.impls) {
    try {
      (void)make_implementation(impl, o.stack, 2); // it builds, or the run cannot start
    } catch (const std::exception& e) {
      fmt::print(stderr, "lamina: error: --impl {}, stack '{}': {}\n", impl, o.stack, e.what());
      return 2;
    }
  }

  std::string command = "lamina";
  for (const char* a : args) command += fmt::format(" {}", a);
  fmt::print("{}\nmachine: {}\nlamina:  {}\n", command, machine(), o.stack);
  {
    const DatagramSocket probe(loopback(0));
    fmt::print("UDP:     SO_SNDBUF/SO_RCVBUF asked {} KiB, granted {}/{} KiB; GSO {}\n",
               probe.options().buffer_bytes >> 10, probe.send_buffer() >> 10,
               probe.receive_buffer() >> 10, probe.options().gso ? "on" : "off");
  }
  fmt::print("each row: two processes on 127.0.0.1; streams of {} messages, ping-pong of {} "
             "round trips; at most {} s a row\n\n",
             number(o.messages), number(o.pings), o.limit_s);
  std::fflush(stdout);

  // What the children get besides their row.
  std::vector<std::string> base{"lamina",     "netbench",
                                "--messages", std::to_string(o.messages),
                                "--pings",    std::to_string(o.pings),
                                "--limit-s",  fmt::format("{}", o.limit_s),
                                "--stack",    o.stack};
  std::vector<std::string> transports;
  for (const std::string t : {"udp", "tcp", "enet", "zmq", "lamina"}) {
    if (!o.rows.empty() && std::find(o.rows.begin(), o.rows.end(), t) == o.rows.end()) continue;
    if (t == "lamina")
      for (const auto& impl : o.impls) transports.push_back("lamina:" + impl);
    else
      transports.push_back(t);
  }
  std::vector<Row> rows;
  for (const double drop : o.drops) {
    std::vector<std::tuple<bool, std::uint32_t, bool>> workloads; // ping, size, busy
    for (const auto size : o.sizes) workloads.emplace_back(false, size, false);
    workloads.emplace_back(true, 64, false);
    workloads.emplace_back(true, 64, true);
    for (const auto& [ping, size, busy] : workloads) {
      // The rows of one workload take turns, round after round, so that what the machine does
      // meanwhile falls on all of them alike.
      std::vector<std::vector<Row>> runs(transports.size());
      for (std::uint32_t round = 0; round < o.rounds; ++round)
        for (std::size_t i = 0; i < transports.size(); ++i) {
          const std::string& t = transports[i];
          Row row = row_of(t, size, ping, busy, drop);
          if (drop > 0 && (t == "tcp" || t == "zmq"))
            row.status = "n/a: cannot drop";
          else if (drop > 0 && t == "udp")
            row.status = "n/a: nothing resent (see its loss at drop 0)";
          else
            run_row(o, base, row);
          fmt::print(stderr, "netbench: {} {} drop {}: {}\n", row.name, row.workload, drop,
                     row.status);
          runs[i].push_back(std::move(row));
        }
      for (auto& r : runs) rows.push_back(median_round(std::move(r)));
    }
  }

  const char* header = "{:<18} {:<19} {:>5} {:>11} {:>8} {:>8} {:>8} {:>7} {:>7} {:>17} "
                       "{:>13}  {}\n";
  fmt::print(fmt::runtime(header), "row", "workload", "drop", "msgs/s", "MB/s", "p50 us", "p99 us",
             "dgm/msg", "ack/msg", "delivered/sent", "RSS MiB s/r", "status");
  for (const Row& r : rows) {
    const bool ran = r.sent > 0 || r.delivered > 0;
    fmt::print(fmt::runtime(header), r.name, r.workload, fmt::format("{:g}", r.drop),
               cell(r.rate, "{:.0f}"), cell(r.mb_per_s, "{:.1f}"), cell(r.p50, "{:.1f}"),
               cell(r.p99, "{:.1f}"), cell(r.datagrams, "{:.2f}"), cell(r.acks, "{:.2f}"),
               ran ? fmt::format("{}/{}", r.ping ? r.sent : r.delivered, r.sent) : "-",
               ran ? fmt::format("{:.0f}/{:.0f}", r.rss_sender / 1024.0, r.rss_receiver / 1024.0)
                   : "-",
               r.status);
  }
  fmt::print("\ndgm/msg: datagrams the sender sent per message; ack/msg: datagrams the receiver "
             "sent back per message (ping rows: the echo included); n/a where TCP hides them.\n");

  if (!o.json.empty()) {
    std::string out =
        fmt::format("{{\n  \"command\": {},\n  \"machine\": {},\n  \"stack\": {},\n"
                    "  \"rows\": [\n",
                    json_string(command), json_string(machine()), json_string(o.stack));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      out += fmt::format(
          "    {{\"row\": {}, \"workload\": {}, \"drop\": {}, \"messages_per_s\": {}, "
          "\"mb_per_s\": {}, \"p50_us\": {}, \"p99_us\": {}, \"datagrams_per_message\": {}, "
          "\"acks_per_message\": {}, \"sent\": {}, \"delivered\": {}, \"rss_sender_kib\": {}, "
          "\"rss_receiver_kib\": {}, \"rounds\": [{}], \"status\": {}}}{}\n",
          json_string(r.name), json_string(r.workload), r.drop, json_number(r.rate),
          json_number(r.mb_per_s), json_number(r.p50), json_number(r.p99), json_number(r.datagrams),
          json_number(r.acks), r.sent, r.delivered, r.rss_sender, r.rss_receiver,
          fmt::join(r.rounds | std::views::transform(json_number), ", "), json_string(r.status),
          i + 1 < rows.size() ? "," : "");
    }
    out += "  ]\n}\n";
    if (!write_file(o.json, out)) return 2;
  }
  return 0;
}

} // namespace lamina::tools
