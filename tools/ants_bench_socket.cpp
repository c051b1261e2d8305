#include "tools/ants_bench_socket.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <fmt/format.h>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "services/ants/udp_node.hpp"
#include "tools/child_process.hpp"

namespace lamina::tools {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBatch = 2048; // capsules node 0 sends while node 1 waits, at most
constexpr auto kLimit = 60s;           // a round's bound, whatever happens
constexpr auto kQuiet = 50ms;          // no progress for this long: what is missing is lost

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Three distinct ports on 127.0.0.1, free a moment ago.
std::vector<std::string> three_addresses() {
  std::vector<std::uint16_t> ports;
  while (ports.size() < 3) {
    const std::uint16_t p = free_port(SOCK_DGRAM);
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  std::vector<std::string> out;
  for (const std::uint16_t p : ports) out.push_back(fmt::format("127.0.0.1:{}", p));
  return out;
}

// The first error of any of the round's threads; the others see it and stop.
class Failure {
public:
  void set(const std::string& what) {
    const std::scoped_lock lock(mutex_);
    if (what_.empty()) what_ = what;
    failed_ = true;
  }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::string what() const {
    const std::scoped_lock lock(mutex_);
    return what_;
  }

private:
  mutable std::mutex mutex_;
  std::string what_;
  std::atomic<bool> failed_{false};
};

// Runs `body` on a thread of its own. An exception is recorded in `failure`, and `abort` is
// called, to end the other threads' waits. `ready` is counted down whatever happens, so that no
// thread waits for one that failed to start.
template <class Setup, class Body, class Abort>
std::jthread node_thread(Failure& failure, std::latch& ready, Setup setup, Body body, Abort abort) {
  return std::jthread([&failure, &ready, setup, body, abort] {
    bool counted = false;
    try {
      // Each node is made on its own thread: a message's buffer goes back to the pool of the
      // thread that took it.
      auto node = setup();
      ready.count_down();
      counted = true;
      ready.wait();
      if (!failure.failed()) body(*node);
    } catch (const std::exception& e) {
      failure.set(e.what());
      abort();
    }
    if (!counted) ready.count_down();
  });
}

// Node 0 and node 1 take turns: node 0 sends a batch while node 1 waits, then node 1 takes the
// whole batch from its socket and forwards it while node 0 waits; node 2 drains all along.
struct Turns {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t fed = 0;     // capsules node 0 has sent
  std::uint64_t drained = 0; // of them, those node 1 has taken (or given up for lost)
  bool stop = false;

  void set(std::uint64_t Turns::* field, std::uint64_t v) {
    {
      const std::scoped_lock lock(mutex);
      this->*field = v;
    }
    changed.notify_all();
  }
  void end() {
    {
      const std::scoped_lock lock(mutex);
      stop = true;
    }
    changed.notify_all();
  }
  [[nodiscard]] bool ended() {
    const std::scoped_lock lock(mutex);
    return stop;
  }
  // Waits until `ready` holds or the round ends; false if it ended.
  template <class Ready>
  bool wait(Ready ready) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return stop || ready(); });
    return !stop;
  }
};

// Polls `n` until `done` holds or nothing has changed `progress` for kQuiet; false then.
template <class Done, class Progress>
bool poll_until(ants::UdpAntsNode& n, Done done, Progress progress) {
  auto last = progress();
  auto moved = Clock::now();
  while (!done()) {
    n.poll(1ms);
    if (const auto p = progress(); p != last) {
      last = p;
      moved = Clock::now();
    } else if (Clock::now() - moved > kQuiet) {
      return false;
    }
  }
  return true;
}

// One round: `capsules` capsules of `program` from node 0 through node 1 to node 2.
SocketRound round_of(bool active, const ants::Program& program, std::uint64_t capsules) {
  ants::Topology line;
  line.nodes = 3;
  line.active = {true, active, true};
  line.links = {{0, 1}, {1, 2}};
  const std::vector<std::string> peers = three_addresses();
  const auto make = [&](PeerId me) {
    return [&line, &peers, &program, me] {
      auto n = std::make_unique<ants::UdpAntsNode>(line, me, peers);
      if (n->active()) n->install(program);
      return n;
    };
  };

  Failure failure;
  std::latch ready(3);
  Turns turns;
  const auto end_turns = [&turns] { turns.end(); };
  std::atomic<std::uint64_t> received{0};
  SocketRound r;
  {
    const auto sink = node_thread(
        failure, ready, make(2),
        [&](ants::UdpAntsNode& n) {
          n.on_deliver([&](const ants::Delivery&) { received.fetch_add(1); });
          while (!turns.ended() && !failure.failed()) n.poll(1ms);
        },
        end_turns);
    const auto node = node_thread(
        failure, ready, make(1),
        [&](ants::UdpAntsNode& n) {
          const auto taken = [&] { return n.udp().counters().received; };
          std::uint64_t fed = 0;
          std::uint64_t drained = 0;
          while (turns.wait([&] { return turns.fed > turns.drained; })) {
            {
              const std::scoped_lock lock(turns.mutex);
              fed = turns.fed;
            }
            const double start = thread_cpu_s();
            poll_until(n, [&] { return taken() >= fed; }, taken);
            // The first batch warms the node up (its buffer pool, the pages under it).
            if (const std::uint64_t batch = fed - drained; drained > 0) {
              r.cpu_s += thread_cpu_s() - start;
              r.timed += batch;
            }
            drained = fed;
            turns.set(&Turns::drained, fed);
          }
          r.datagrams_in = n.udp().counters().datagrams_received;
          r.datagrams_out = n.udp().counters().sent;
        },
        end_turns);
    const auto source = node_thread(
        failure, ready, make(0),
        [&](ants::UdpAntsNode& n) {
          const std::string header(16, 'h');
          const std::string payload(64, 'd');
          const auto end = Clock::now() + kLimit;
          // At least 8 batches, so that all but the first are timed.
          const std::uint64_t batch = std::clamp<std::uint64_t>(capsules / 8, 1, kBatch);
          while (r.sent < capsules && Clock::now() < end && !failure.failed()) {
            for (std::uint64_t i = 0; i < batch && r.sent < capsules; ++i, ++r.sent)
              n.udp().send_queued(2, ants::make_capsule(program.type, 0, 2, 64, header, payload));
            const auto queued = [&] { return n.udp().counters().queued; };
            if (n.udp().flush(); !poll_until(n, [&] { return queued() == 0; }, queued))
              throw std::runtime_error("node 0 could not hand its capsules to the kernel");
            turns.set(&Turns::fed, r.sent);
            if (!turns.wait([&] { return turns.drained == r.sent; })) return;
          }
          poll_until(n, [&] { return received.load() == r.sent; }, [&] { return received.load(); });
          turns.end();
        },
        end_turns);
  }
  if (failure.failed())
    throw std::runtime_error("the UDP nodes of the socket rows failed: " + failure.what());
  r.received = received.load();
  return r;
}

} // namespace

SocketRound socket_forwarding(bool active, const ants::Program& program, std::uint64_t capsules,
                              std::uint32_t rounds) {
  std::vector<SocketRound> all;
  for (std::uint32_t i = 0; i < rounds; ++i) all.push_back(round_of(active, program, capsules));
  std::sort(all.begin(), all.end(), [](const SocketRound& a, const SocketRound& b) {
    return a.ns_per_capsule() < b.ns_per_capsule();
  });
  return all[all.size() / 2];
}

} // namespace lamina::tools
