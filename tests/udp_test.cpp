// UdpNode: members on loopback exchange packets and casts, timers fire, strangers and bad
// addresses are refused with a count or a clear message.
#include <algorithm>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <rapidcheck/gtest.h>
#include <span>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include "runtime/udp.hpp"
#include "tests/bare_endpoint.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;

using Wire = test::BareEndpoint;

Msg text(std::string_view s) { return Msg::copy_of(std::as_bytes(std::span(s))); }

struct Delivery {
  PeerId node;
  PeerId from;
  std::string payload;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

// n members on one loopback address, each behind a Wire, every delivery logged.
struct Group {
  explicit Group(std::uint32_t n, const std::string& host = "127.0.0.1",
                 const UdpNode::Options& options = {})
      : nodes(UdpNode::loopback_group(n, host, options)), wires(n) {
    for (PeerId i = 0; i < n; ++i) {
      nodes[i]->attach(wires[i]);
      nodes[i]->on_deliver([this, i](Event& ev) {
        log.push_back(
            {i, ev.peer, std::string(reinterpret_cast<const char*>(ev.msg.data()), ev.msg.size())});
      });
    }
  }
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Polls every member until `done` holds; false if it still does not after `limit`.
  template <class Done>
  bool pump(Done done, Duration limit = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      for (auto& n : nodes) n->poll(1ms);
    }
    return true;
  }
  bool pump_until_logged(std::size_t count) {
    return pump([&] { return log.size() >= count; });
  }

  std::vector<std::unique_ptr<UdpNode>> nodes;
  std::vector<Wire> wires;
  std::vector<Delivery> log;
};

TEST(Udp, TwoMembersExchangePackets) {
  Group g(2);
  g.nodes[0]->send(1, text("ping"));
  ASSERT_TRUE(g.pump_until_logged(1));
  g.nodes[1]->send(0, text("pong"));
  ASSERT_TRUE(g.pump_until_logged(2));
  EXPECT_EQ(g.log, (std::vector<Delivery>{{1, 0, "ping"}, {0, 1, "pong"}}));
  EXPECT_EQ(g.nodes[0]->counters().sent, 1u);
  EXPECT_EQ(g.nodes[1]->counters().received, 1u);
}

TEST(Udp, BusyPollMembersExchangePackets) {
  UdpNode::Options busy;
  busy.busy_poll = true;
  Group g(2, "127.0.0.1", busy);
  g.nodes[0]->send(1, text("ping"));
  ASSERT_TRUE(g.pump_until_logged(1));
  g.nodes[1]->send(0, text("pong"));
  ASSERT_TRUE(g.pump_until_logged(2));
  EXPECT_EQ(g.log, (std::vector<Delivery>{{1, 0, "ping"}, {0, 1, "pong"}}));
  // Busy-poll spins on recvmmsg and never sleeps in ppoll.
  EXPECT_EQ(g.nodes[1]->counters().wait_calls, 0u);
  EXPECT_GT(g.nodes[1]->counters().receive_calls, 0u);
}

// A burst queued for one peer goes out at the next poll in one sendmmsg: bundled into one
// datagram by default, one datagram each without bundling; either way each arrives whole and
// in order.
TEST(Udp, QueuedSendsGoOutTogetherAtTheNextPoll) {
  for (const std::size_t bundle : {std::size_t{1452}, std::size_t{0}}) {
    SCOPED_TRACE(bundle);
    UdpNode::Options options;
    options.bundle_bytes = bundle;
    Group g(2, "127.0.0.1", options);
    for (int i = 0; i < 100; ++i) g.nodes[0]->send_queued(1, text(std::to_string(i)));
    EXPECT_EQ(g.nodes[0]->counters().queued, 100u);
    EXPECT_EQ(g.nodes[0]->counters().sent, 0u);
    g.nodes[0]->poll(Duration::zero());
    EXPECT_EQ(g.nodes[0]->counters().send_calls, 1u);
    if (bundle != 0) {
      // 290 bytes with their lengths, but a datagram gathers at most kMaxBundle packets.
      static_assert(DatagramSocket::kMaxBundle == 64);
      EXPECT_EQ(g.nodes[0]->counters().sent, 2u);
      EXPECT_EQ(g.nodes[0]->counters().bundled, 100u);
    } else {
      // "0".."9" and "10".."99" are two GSO runs.
      EXPECT_EQ(g.nodes[0]->counters().sent, 100u);
      EXPECT_EQ(g.nodes[0]->counters().bundled, 0u);
    }
    ASSERT_TRUE(g.pump_until_logged(100));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(g.log[i].payload, std::to_string(i));
    EXPECT_EQ(g.nodes[1]->counters().received, 100u);
    EXPECT_EQ(g.nodes[1]->counters().datagrams_received, g.nodes[0]->counters().sent);
    // The receiver took them in few recvmmsg calls, not one per datagram.
    EXPECT_LT(g.nodes[1]->counters().receive_calls, 50u);
  }
}

// A Moment reads the clock once: what happens in it is stamped alike, though time passes. One
// made inside another reads the clock afresh, and the other's time holds again after it.
TEST(Udp, AMomentReadsTheClockOnce) {
  Group g(2);
  UdpNode& n = *g.nodes[0];
  const Time before = n.now();
  std::this_thread::sleep_for(2ms);
  {
    const UdpNode::Moment burst(n);
    const Time held = n.now();
    EXPECT_GE(held - before, 2ms);
    std::this_thread::sleep_for(2ms);
    EXPECT_EQ(n.now(), held);
    {
      const UdpNode::Moment inner(n);
      EXPECT_GE(n.now() - held, 2ms);
    }
    EXPECT_EQ(n.now(), held);
    for (int i = 0; i < 3; ++i) g.nodes[0]->send_queued(1, text(std::to_string(i)));
    std::this_thread::sleep_for(2ms);
    EXPECT_EQ(n.now(), held);
  }
  EXPECT_GE(n.now() - before, 6ms);
  ASSERT_TRUE(g.pump_until_logged(3));
}

// Options::drop_share loses whole datagrams at the receiver, counted, as a lossy path would.
TEST(Udp, DeliberateDropsLoseWholeDatagrams) {
  UdpNode::Options options;
  options.drop_share = 0.5;
  options.drop_seed = 3;
  Group g(2, "127.0.0.1", options);
  for (int i = 0; i < 300; ++i) g.nodes[0]->send(1, text(std::to_string(i)));
  const auto& to = *g.nodes[1];
  ASSERT_TRUE(
      g.pump([&] { return to.counters().datagrams_received + to.counters().dropped == 300; }));
  EXPECT_GT(to.counters().dropped, 100u);
  EXPECT_LT(to.counters().dropped, 200u);
  EXPECT_EQ(g.log.size(), to.counters().datagrams_received);
  EXPECT_EQ(g.nodes[0]->counters().dropped, 0u) << "only the receiver drops";
}

TEST(Udp, CastReachesEveryOtherMemberOnce) {
  Group g(3);
  g.nodes[1]->send(kAllPeers, text("all"));
  ASSERT_TRUE(g.pump_until_logged(2));
  g.pump([] { return false; }, 20ms); // a third delivery, if any, would arrive by now
  std::ranges::sort(g.log, {}, &Delivery::node);
  EXPECT_EQ(g.log, (std::vector<Delivery>{{0, 1, "all"}, {2, 1, "all"}}));
}

RC_GTEST_PROP(Udp, PayloadsArriveByteForByte, (const std::string& payload)) {
  Group g(2);
  g.nodes[1]->send(0, text(payload));
  RC_ASSERT(g.pump_until_logged(1));
  RC_ASSERT(g.log[0] == (Delivery{0, 1, payload}));
}

TEST(Udp, LargestDatagramArrivesWholeAndLargerIsNotSent) {
  Group g(2);
  g.nodes[0]->send(1, Msg::with_size(UdpNode::kMaxPacket + 1));
  EXPECT_EQ(g.nodes[0]->counters().oversize, 1u);
  EXPECT_EQ(g.nodes[0]->counters().sent, 0u);
  g.nodes[0]->send(1, Msg::with_size(UdpNode::kMaxPacket));
  ASSERT_TRUE(g.pump_until_logged(1));
  EXPECT_EQ(g.log[0].payload.size(), UdpNode::kMaxPacket);
}

TEST(Udp, PacketToNonMemberIsCountedNotSent) {
  Group g(2);
  g.nodes[0]->send(5, text("nobody"));
  EXPECT_EQ(g.nodes[0]->counters().bad_destination, 1u);
  EXPECT_EQ(g.nodes[0]->counters().sent, 0u);
}

TEST(Udp, TimersFireInTimeOrderAndNotEarly) {
  Group g(1);
  Host& host = *g.wires[0].host;
  const Time start = host.now();
  host.set_timer(start + 20ms, 2);
  host.set_timer(start + 10ms, 1);
  host.set_timer(start + 10ms, 11);
  ASSERT_TRUE(g.pump([&] { return g.wires[0].expired.size() == 3; }));
  const auto& fired = g.wires[0].expired;
  EXPECT_EQ(fired[0].first, 1u);
  EXPECT_EQ(fired[1].first, 11u);
  EXPECT_EQ(fired[2].first, 2u);
  EXPECT_GE(fired[0].second, start + 10ms);
  EXPECT_GE(fired[2].second, start + 20ms);
  EXPECT_EQ(g.nodes[0]->counters().timers_fired, 3u);
}

// The timers due wait while datagrams are still queued: an ack among them may be what a timer
// would take the absence of for a loss. A poll takes kReceiveLimit datagrams at most, so with
// more queued the timer fires only once they are all read (here within kTimerWaits polls).
TEST(Udp, DueTimersWaitForTheDatagramsQueued) {
  UdpNode::Options o;
  o.bundle_bytes = 0; // a datagram a packet
  Group g(2, "127.0.0.1", o);
  constexpr std::size_t kSent = 3 * UdpNode::kReceiveLimit;
  static_assert(kSent <= UdpNode::kReceiveLimit * UdpNode::kTimerWaits);
  for (std::size_t i = 0; i < kSent; ++i) g.wires[1].send(0, text(std::to_string(i)));
  g.nodes[1]->poll(Duration::zero()); // flushed
  Host& host = *g.wires[0].host;
  host.set_timer(host.now(), 7);
  std::size_t logged_when_fired = 0;
  g.wires[0].on_expire = [&](std::uint32_t) { logged_when_fired = g.log.size(); };
  std::this_thread::sleep_for(20ms); // all on node 0's socket
  g.nodes[0]->poll(Duration::zero());
  EXPECT_EQ(g.log.size(), UdpNode::kReceiveLimit);
  EXPECT_TRUE(g.wires[0].expired.empty());
  EXPECT_EQ(g.nodes[0]->counters().timers_waited, 1u);
  ASSERT_TRUE(g.pump([&] { return !g.wires[0].expired.empty(); }));
  EXPECT_EQ(logged_when_fired, kSent);
  // A full last batch does not show the socket drained: the poll after it does.
  EXPECT_EQ(g.nodes[0]->counters().timers_waited, 3u);
}

TEST(Udp, DatagramFromUnknownSourceIsDroppedAndCounted) {
  Group g(2);
  const int stranger = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(stranger, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(g.nodes[0]->local_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char hello[] = "\x09who am I\x01"; // two packets, framed as a member would send them
  ASSERT_EQ(::sendto(stranger, hello, sizeof hello - 1, 0, reinterpret_cast<const sockaddr*>(&to),
                     sizeof to),
            static_cast<ssize_t>(sizeof hello - 1));
  ::close(stranger);
  EXPECT_TRUE(g.pump([&] { return g.nodes[0]->counters().unknown_source == 2; }));
  EXPECT_TRUE(g.log.empty());
  EXPECT_EQ(g.nodes[0]->counters().received, 0u);
  EXPECT_EQ(g.nodes[0]->counters().malformed, 0u);
}

TEST(Udp, Ipv6MembersExchangePackets) {
  std::unique_ptr<Group> g;
  try {
    g = std::make_unique<Group>(2, "[::1]");
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  g->nodes[0]->send(1, text("six"));
  ASSERT_TRUE(g->pump_until_logged(1));
  g->nodes[1]->send(0, text("xis"));
  ASSERT_TRUE(g->pump_until_logged(2));
  EXPECT_EQ(g->log, (std::vector<Delivery>{{1, 0, "six"}, {0, 1, "xis"}}));
}

TEST(Udp, BadPeerAddressIsNamedInTheError) {
  const std::pair<std::string, std::string> cases[] = {
      {"127.0.0.1", "bad peer address '127.0.0.1': expected host:port (an IPv6 host goes in "
                    "brackets, as in [::1]:7000)"},
      {"127.0.0.1:99999", "bad peer address '127.0.0.1:99999': expected host:port with a port "
                          "in 0 .. 65535"},
      {"127.0.0.1:http", "bad peer address '127.0.0.1:http': expected host:port with a port in "
                         "0 .. 65535"},
      {":7000", "bad peer address ':7000': expected host:port; the host is missing"},
      {"[::1:7000", "bad peer address '[::1:7000': expected [ipv6-host]:port"},
      {"::1:7000", "bad peer address '::1:7000': expected host:port (an IPv6 host goes in "
                   "brackets, as in [::1]:7000)"},
  };
  for (const auto& [address, message] : cases) {
    try {
      // The bad address is another member's: every entry is checked, not only our own.
      UdpNode node(0, {"127.0.0.1:0", address});
      ADD_FAILURE() << "'" << address << "' was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(e.what(), message);
    }
  }
}

TEST(Udp, MixedAddressFamiliesAreRefused) {
  EXPECT_THROW(UdpNode(0, {"127.0.0.1:0", "[::1]:7000"}), std::invalid_argument);
}

TEST(Udp, SendBeforeAttachIsAnError) {
  auto group = UdpNode::loopback_group(1);
  EXPECT_THROW(group[0]->send(0, text("x")), std::logic_error);
}

} // namespace
} // namespace lamina
