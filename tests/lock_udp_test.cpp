// The ordered lock service on real UDP sockets (loopback): lock::UdpMember in one process, its
// members polled in turn, each build; exact messages, growing tokens, a silent peer named at
// the deadline, and a stack without a lock layer refused.
#include <chrono>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "runtime/datagram.hpp"
#include "services/lock/udp_member.hpp"
#include "spec/stack_string.hpp"

namespace lamina::lock {
namespace {

using namespace std::chrono_literals;

// `n` addresses on 127.0.0.1 whose ports were free a moment ago, all different.
std::vector<std::string> loopback_addresses(std::uint32_t n) {
  std::vector<std::string> out;
  std::vector<int> fds;
  for (std::uint32_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    SocketAddress a = parse_address("127.0.0.1:0");
    if (fd < 0 || ::bind(fd, a.get(), a.length) != 0) throw std::runtime_error("cannot bind");
    a.length = sizeof a.storage;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length);
    out.push_back(a.text());
    fds.push_back(fd); // held until all are chosen, so that they differ
  }
  for (const int fd : fds) ::close(fd);
  return out;
}

std::string stack_of(const std::string& file, const std::string& name) {
  return spec::load_stack_string(std::string(LAMINA_SOURCE_DIR) + "/stacks/" + file, name);
}

std::vector<std::unique_ptr<UdpMember>> group(Algorithm a, const std::string& impl,
                                              std::uint32_t n) {
  const auto peers = loopback_addresses(n);
  std::vector<std::unique_ptr<UdpMember>> members;
  for (PeerId me = 0; me < n; ++me) {
    UdpMemberOptions o;
    o.stack_string = stack_of("lock/lock.ioa", std::string(stack_name(a)));
    o.implementation = impl;
    o.me = me;
    o.peers = peers;
    members.push_back(std::make_unique<UdpMember>(o));
  }
  return members;
}

struct Case {
  Algorithm algorithm;
  const char* impl;
};

class EveryBuild : public testing::TestWithParam<Case> {};

// Every member asks `entries` times, all at once; each grant is given back at once, from the
// polling loop.
TEST_P(EveryBuild, ThreeMembersContendAndEveryEntryCostsExactlyTheAlgorithmsMessages) {
  const auto [algorithm, impl] = GetParam();
  constexpr std::uint32_t n = 3, entries = 30;
  auto members = group(algorithm, impl, n);
  ASSERT_EQ(members[0]->algorithm(), algorithm);
  std::vector<std::uint32_t> asked(n, 0), granted(n, 0);
  std::vector<std::optional<Outcome>> outcome(n);
  std::vector<Token> last(n);
  const auto until = std::chrono::steady_clock::now() + 20s;
  auto done = [&] {
    for (PeerId i = 0; i < n; ++i)
      if (granted[i] < entries) return false;
    return true;
  };
  while (!done() && std::chrono::steady_clock::now() < until) {
    for (PeerId i = 0; i < n; ++i) {
      UdpMember& m = *members[i];
      if (const std::optional<Outcome> o = std::exchange(outcome[i], std::nullopt)) {
        ASSERT_EQ(o->status, Status::granted);
        EXPECT_LT(last[i], o->token) << "member " << i << "'s tokens must grow";
        last[i] = o->token;
        ++granted[i];
        ASSERT_TRUE(m.lock().release());
      }
      if (!m.lock().waiting() && !m.lock().holding() && asked[i] < entries) {
        ++asked[i];
        m.lock().acquire(m.now() + 5s, [&outcome, i](const Outcome& o) { outcome[i] = o; });
      }
      m.poll(Duration::zero());
    }
  }
  ASSERT_TRUE(done()) << "not every acquire was granted in 20 s";
  // Every message of the algorithm has been sent by now: a grant needs every peer's answer, and
  // the layer sends the last release (and the replies it deferred) as release() returns.
  std::uint64_t sent = 0;
  for (const auto& m : members) sent += m->lock_messages();
  EXPECT_EQ(sent, messages_per_entry(algorithm, n) * n * entries);
}

INSTANTIATE_TEST_SUITE_P(Lock, EveryBuild,
                         testing::Values(Case{Algorithm::lamport, "dynamic"},
                                         Case{Algorithm::lamport, "static"},
                                         Case{Algorithm::lamport, "fused"},
                                         Case{Algorithm::ricart_agrawala, "dynamic"},
                                         Case{Algorithm::ricart_agrawala, "static"},
                                         Case{Algorithm::ricart_agrawala, "fused"}));

// Member 2 is never polled: it answers nothing. Member 0's acquire fails at its deadline, not
// later, and names member 2 alone.
TEST(LockUdpMember, AnAcquireFailsAtItsDeadlineNamingTheSilentMember) {
  auto members = group(Algorithm::ricart_agrawala, "static", 3);
  std::optional<Outcome> outcome;
  const Time asked = members[0]->now();
  members[0]->lock().acquire(asked + 50ms, [&](const Outcome& o) { outcome = o; });
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!outcome && std::chrono::steady_clock::now() < until) {
    members[0]->poll(10ms);
    members[1]->poll(Duration::zero());
  }
  ASSERT_TRUE(outcome.has_value());
  const Outcome o = outcome.value_or(Outcome{});
  EXPECT_EQ(o.status, Status::deadline_exceeded);
  EXPECT_EQ(o.silent, std::vector<PeerId>{2});
  EXPECT_GE(members[0]->now() - asked, 50ms);
  EXPECT_LT(members[0]->now() - asked, 1s) << "the deadline ends the poll's wait";
}

TEST(LockUdpMember, RefusesAStackWithoutALockLayerUnderTop) {
  UdpMemberOptions o;
  o.stack_string = stack_of("rpc/rpc.ioa", "RpcLan");
  o.peers = loopback_addresses(2);
  try {
    const UdpMember m(o);
    FAIL() << "a stack with Rpc under Top was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("neither LamportMutex nor RicartAgrawala under Top"),
              std::string::npos)
        << e.what();
  }
  o.stack_string = stack_of("lock/lock.ioa", "LamportLock");
  o.me = 2;
  EXPECT_THROW(UdpMember{o}, std::invalid_argument) << "member 2 of a group of 2";
}

} // namespace
} // namespace lamina::lock
