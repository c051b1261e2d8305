// The RPC service on real UDP sockets (loopback): rpc::UdpMember running the stacks of
// stacks/rpc/rpc.ioa in each build, a restarted server, the naive-copy mode, and bad options.
#include <atomic>
#include <boost/hana/define_struct.hpp>
#include <chrono>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "runtime/datagram.hpp"
#include "services/rpc/kv.hpp"
#include "services/rpc/udp_member.hpp"
#include "spec/stack_string.hpp"

namespace lamina::rpc {
namespace {

using namespace std::chrono_literals;

// Two addresses on 127.0.0.1 whose ports were free a moment ago.
std::vector<std::string> two_loopback_addresses() {
  std::vector<std::string> out;
  std::vector<int> fds;
  for (int i = 0; i < 2; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    SocketAddress a = parse_address("127.0.0.1:0");
    ::bind(fd, a.get(), a.length);
    a.length = sizeof a.storage;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length);
    out.push_back(a.text());
    fds.push_back(fd); // held until both are chosen, so that they differ
  }
  for (const int fd : fds) ::close(fd);
  return out;
}

std::string stack_of(const std::string& name) {
  return spec::load_stack_string(LAMINA_SOURCE_DIR "/stacks/rpc/rpc.ioa", name);
}

UdpMemberOptions options(const std::string& stack, const std::string& impl, PeerId me,
                         const std::vector<std::string>& peers, std::uint32_t incarnation) {
  UdpMemberOptions o;
  o.stack_string = stack_of(stack);
  o.implementation = impl;
  o.me = me;
  o.peers = peers;
  o.incarnation = incarnation;
  return o;
}

// Polls both members, without waiting, until `done` or 10 s.
bool run(UdpMember& a, UdpMember& b, const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    a.poll(Duration::zero());
    b.poll(Duration::zero());
  }
  return true;
}

struct Case {
  std::string stack;
  std::string impl;
};

class RpcOverUdp : public ::testing::TestWithParam<Case> {};

// Puts, gets and echoes of 4 KiB, 30 outstanding at a time: every call ends ok with the
// answer to it, and every handler runs once per call.
TEST_P(RpcOverUdp, EveryCallEndsOkWithItsAnswer) {
  const auto peers = two_loopback_addresses();
  UdpMember server(options(GetParam().stack, GetParam().impl, 0, peers, 7));
  UdpMember client(options(GetParam().stack, GetParam().impl, 1, peers, 3));
  kv::Store store(server.node());
  const std::vector<std::byte> big(4096, std::byte{0x5a});
  std::uint32_t ok = 0, wrong = 0, started = 0;
  const std::uint32_t n = 300;
  std::function<void()> next = [&] {
    const std::uint32_t i = started++;
    const Time deadline = client.udp().now() + 5s;
    const std::string key = fmt::format("key {}", i / 3);
    switch (i % 3) {
    case 0:
      client.node().call<kv::Put>(0, {key, key + " value"}, deadline, [&](auto r) {
        ++(r && !r.value->replaced ? ok : wrong);
        if (started < n) next();
      });
      break;
    case 1:
      client.node().call<kv::Get>(0, {key}, deadline, [&, key](auto r) {
        ++(r && r.value->found && r.value->value == key + " value" ? ok : wrong);
        if (started < n) next();
      });
      break;
    default:
      client.node().call<kv::Echo>(0, {big}, deadline, [&](auto r) {
        ++(r && r.value->data.size() == big.size() &&
                   std::equal(big.begin(), big.end(), r.value->data.begin())
               ? ok
               : wrong);
        if (started < n) next();
      });
      break;
    }
  };
  // A first call learns the server's incarnation; then 30 at a time, in order on loopback, so
  // that a put comes before the gets of its key.
  bool warm = false;
  client.node().call<kv::Echo>(0, {big}, client.udp().now() + 5s, [&](auto r) { warm = bool(r); });
  ASSERT_TRUE(run(client, server, [&] { return warm; }));
  for (int i = 0; i < 30; ++i) next();
  ASSERT_TRUE(run(client, server, [&] { return ok + wrong == n; }));
  EXPECT_EQ(ok, n);
  EXPECT_EQ(wrong, 0u);
  std::uint64_t runs = 0;
  for (const auto& [method, count] : store.runs()) runs += count;
  EXPECT_EQ(runs, n + 1) << "a handler ran more or less than once per call";
  EXPECT_EQ(client.rpc().incarnation, 3u);
  // Every datagram, 4 KiB echoes with their headers included, reached the stack in the buffer
  // the kernel wrote it into: none was copied before the handler read it.
  EXPECT_EQ(server.udp().counters().copied, 0u);
  EXPECT_EQ(client.udp().counters().copied, 0u);
  EXPECT_GT(server.udp().counters().received, n);
}

INSTANTIATE_TEST_SUITE_P(Builds, RpcOverUdp,
                         ::testing::Values(Case{"RpcLan", "dynamic"}, Case{"RpcLan", "static"},
                                           Case{"RpcLan", "fused"}, Case{"RpcWan", "static"},
                                           Case{"RpcWan", "fused"}),
                         [](const auto& info) { return info.param.stack + "_" + info.param.impl; });

// A server that restarts at the same address as a new incarnation. The client's next call,
// addressed to the old incarnation, ends `unavailable` unrun (for all the client knows it was
// sent before the restart and ran there); the client has learnt the new incarnation, and the
// call after is answered.
TEST(RpcOverUdp, ARestartedServerRunsNoCallTwiceAndAnswersTheNext) {
  const auto peers = two_loopback_addresses();
  UdpMember client(options("RpcLan", "static", 1, peers, 2));
  auto server = std::make_unique<UdpMember>(options("RpcLan", "static", 0, peers, 10));
  auto store = std::make_unique<kv::Store>(server->node());
  std::optional<Status> status;
  const auto put = [&](std::string_view value) {
    status.reset();
    client.node().call<kv::Put>(0, {"k", value}, client.udp().now() + 2s,
                                [&](auto r) { status = r.status; });
    return run(client, *server, [&] { return status.has_value(); });
  };
  ASSERT_TRUE(put("v"));
  EXPECT_EQ(*status, Status::ok);

  store.reset();
  server.reset(); // the old process is gone before the new one binds its address
  server = std::make_unique<UdpMember>(options("RpcLan", "static", 0, peers, 11));
  store = std::make_unique<kv::Store>(server->node());
  ASSERT_TRUE(put("w"));
  EXPECT_EQ(*status, Status::unavailable);
  EXPECT_TRUE(store->runs().empty()) << "a call addressed to the old incarnation ran";
  ASSERT_TRUE(put("x"));
  EXPECT_EQ(*status, Status::ok);
  EXPECT_EQ(store->runs().at("put"), 1u);
  EXPECT_EQ(store->data().at("k"), "x");
}

// Application threads make calls at once, through UdpMember::call, while the loop thread polls:
// every call is answered, each handler run once.
TEST(RpcOverUdp, CallsFromSeveralThreadsAreOutstandingTogether) {
  const auto peers = two_loopback_addresses();
  UdpMember server(options("RpcLan", "static", 0, peers, 5));
  UdpMember client(options("RpcLan", "static", 1, peers, 5));
  kv::Store store(server.node());
  constexpr int kThreads = 4, kCalls = 200;
  std::atomic<int> ok = 0, ended = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const std::string key = fmt::format("thread {} key {}", t, i);
        client.call<kv::Put>(0, {key, "v"}, client.udp().now() + 5s, [&](auto r) {
          ok += r && !r.value->replaced ? 1 : 0;
          ++ended;
        });
      }
    });
  }
  ASSERT_TRUE(run(client, server, [&] { return ended == kThreads * kCalls; }));
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads * kCalls);
  EXPECT_EQ(store.runs().at("put"), std::uint64_t{kThreads * kCalls});
  EXPECT_GT(client.node().stats().calls, 0u);
}

struct Sleep {
  static constexpr std::uint16_t id = 100;
  static constexpr std::string_view name = "sleep";
  struct Request {
    BOOST_HANA_DEFINE_STRUCT(Request, (std::uint32_t, ms));
  };
  struct Response {
    BOOST_HANA_DEFINE_STRUCT(Response, (std::uint32_t, slept));
  };
};

// A long handler on the workers does not hold up the calls the loop answers inline: an echo
// made after a 200 ms sleep began is answered before it ends.
TEST(RpcOverUdp, LongHandlersOnWorkersDoNotHoldUpTheLoop) {
  const auto peers = two_loopback_addresses();
  UdpMemberOptions with_workers = options("RpcLan", "static", 0, peers, 5);
  with_workers.workers = 2;
  UdpMember server(with_workers);
  UdpMember client(options("RpcLan", "static", 1, peers, 5));
  kv::Store store(server.node());
  server.serve_on_workers<Sleep>([](const Sleep::Request& req, Sleep::Response& resp, std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(req.ms));
    resp.slept = req.ms;
    return Status::ok;
  });
  std::vector<std::string> order;
  const std::string text = "hi";
  client.node().call<kv::Echo>(0, {std::as_bytes(std::span(text))}, client.udp().now() + 5s,
                               [&](auto r) { order.push_back(r ? "warm" : "failed"); });
  ASSERT_TRUE(run(client, server, [&] { return order.size() == 1; }));
  client.node().call<Sleep>(0, {200}, client.udp().now() + 5s, [&](auto r) {
    order.push_back(r && r.value->slept == 200 ? "sleep" : "failed");
  });
  client.node().call<kv::Echo>(0, {std::as_bytes(std::span(text))}, client.udp().now() + 5s,
                               [&](auto r) { order.push_back(r ? "echo" : "failed"); });
  ASSERT_TRUE(run(client, server, [&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<std::string>{"warm", "echo", "sleep"}));
}

TEST(RpcOverUdp, ServingOnWorkersNeedsWorkers) {
  const auto peers = two_loopback_addresses();
  UdpMember server(options("RpcLan", "static", 0, peers, 5));
  EXPECT_THROW(server.serve_on_workers<Sleep>([](auto&, auto&, auto&) { return Status::ok; }),
               std::logic_error);
}

// The naive-copy mode answers as the one-copy mode does.
TEST(RpcOverUdp, NaiveCopiesGiveTheSameAnswers) {
  const auto peers = two_loopback_addresses();
  auto naive = [](UdpMemberOptions o) {
    o.copies = Copies::naive;
    return o;
  };
  UdpMember server(naive(options("RpcLan", "fused", 0, peers, 4)));
  UdpMember client(naive(options("RpcLan", "fused", 1, peers, 4)));
  kv::Store store(server.node());
  std::vector<std::byte> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7);
  bool same = false;
  client.node().call<kv::Echo>(0, {data}, client.udp().now() + 2s, [&](auto r) {
    same = r && std::equal(data.begin(), data.end(), r.value->data.begin(), r.value->data.end());
  });
  ASSERT_TRUE(run(client, server, [&] { return same; }));
}

TEST(RpcOverUdp, BadOptionsAreRefusedWithAReason) {
  const auto peers = two_loopback_addresses();
  UdpMemberOptions o = options("RpcLan", "dynamic", 0, peers, 1);
  o.stack_string = "Top:Bottom";
  try {
    UdpMember m(o);
    FAIL() << "a stack without Rpc was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("has no Rpc under Top"), std::string::npos) << e.what();
  }
  o = options("RpcLan", "static", 2, peers, 1);
  EXPECT_THROW(UdpMember{o}, std::invalid_argument);
  o = options("RpcLan", "no-such-build", 0, peers, 1);
  EXPECT_THROW(UdpMember{o}, std::runtime_error);
}

// A member whose incarnation came from the clock holds it until the clock has passed it: the
// next member made after it gets a greater one.
TEST(RpcOverUdp, IncarnationsFromTheClockGrowFromOneMemberToTheNext) {
  const auto peers = two_loopback_addresses();
  std::uint32_t last = 0;
  for (int i = 0; i < 3; ++i) {
    UdpMember m(options("RpcLan", "static", 0, peers, 0));
    EXPECT_GT(m.rpc().incarnation, last);
    last = m.rpc().incarnation;
  }
  EXPECT_GT(incarnation_end(last), std::chrono::system_clock::now() - 1s);
}

} // namespace
} // namespace lamina::rpc
