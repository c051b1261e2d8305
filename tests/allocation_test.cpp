// The common path allocates nothing: once warm, a message through the reliable FIFO stack and
// back (its ack included) takes its buffers from the pool and touches no allocator, and so does
// an RPC call. Off it, repairing losses allocates only to grow the pools; a thread's pools are
// freed when it ends.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <gtest/gtest.h>
#include <map>
#include <new>
#include <rapidcheck/gtest.h>
#include <thread>
#include <vector>

#include "components/bottom.hpp"
#include "components/checksum.hpp"
#include "components/frag.hpp"
#include "components/retransmit.hpp"
#include "components/seqno.hpp"
#include "components/top.hpp"
#include "runtime/recycling.hpp"
#include "runtime/registry.hpp"
#include "runtime/simnet.hpp"
#include "runtime/stack.hpp"
#include "services/rpc/kv.hpp"
#include "services/rpc/sim_group.hpp"

namespace {
std::atomic<std::uint64_t> allocations{0};
std::atomic<std::uint64_t> frees{0};
} // namespace

// Counts every allocation the program makes, and every free.
void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p != nullptr) frees.fetch_add(1, std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }

namespace lamina {
namespace {

using namespace std::chrono_literals;

// Sends `count` messages of `size` bytes from node 0 to node 1 and lets the network settle (long
// enough for a lost message to be sent again).
void exchange(SimNet& net, int count, std::size_t size) {
  for (int i = 0; i < count; ++i) {
    net.send(0, 1, Msg::with_size(size));
    net.run_for(1ms);
  }
  net.run_for(200ms);
}

template <class MakeStack>
std::uint64_t allocations_when_warm(MakeStack make, std::size_t size,
                                    LinkConfig link = LinkConfig{.delay = 100us}) {
  auto a = make();
  auto b = make();
  SimNet net(1, 2, link);
  std::uint64_t delivered = 0;
  net.on_deliver([&](PeerId, Event&) { ++delivered; });
  net.attach(0, *a);
  net.attach(1, *b);
  exchange(net, 1000, size); // warm: pool, vectors and the event queue reach their sizes
  const std::uint64_t before = allocations.load();
  exchange(net, 1000, size);
  const std::uint64_t after = allocations.load();
  EXPECT_EQ(delivered, 2000u);
  return after - before;
}

using ReliableFifo = stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>;

TEST(Allocation, StaticStackSendsAndReceivesWithoutAllocating) {
  EXPECT_EQ(allocations_when_warm([] { return std::make_unique<ReliableFifo>(); }, 64), 0u);
  EXPECT_EQ(allocations_when_warm([] { return std::make_unique<ReliableFifo>(); }, 1300), 0u);
}

// Off the common path: messages that arrive out of order or twice, lost ones sent again.
// Retransmit's and Seqno's tables of early arrivals take their nodes from a pool, which
// allocates only when more are waiting at once than ever before: 1,489 allocations in 1,000
// messages here with std::set and std::map, 33 with the pool.
TEST(Allocation, StaticStackRepairsLossesAllocatingOnlyToGrowItsPool) {
  const LinkConfig lossy{.delay = 100us, .jitter = 3ms, .loss = 0.05, .duplicate = 0.05};
  EXPECT_LE(allocations_when_warm([] { return std::make_unique<ReliableFifo>(); }, 64, lossy), 50u);
}

TEST(Allocation, DynamicStackSendsAndReceivesWithoutAllocating) {
  auto make = [] { return layer_registry().build("Top:Frag:Seqno:Retransmit:Checksum:Bottom"); };
  EXPECT_EQ(allocations_when_warm(make, 64), 0u);
}

// A call, its run at the server and its answer, once warm: Rpc's tables of calls and answers and
// rpc::Node's table of calls take their nodes from a pool (runtime/recycling.hpp), and a call's
// completion is held in place.
TEST(Allocation, AnRpcCallAllocatesNothingWhenWarm) {
  rpc::SimGroup g(1, 2, "Top:Rpc:Bottom");
  rpc::kv::Store store(g.node(0));
  const std::array<std::byte, 32> data{};
  int answered = 0;
  const auto calls = [&](int n) {
    for (int i = 0; i < n; ++i) {
      g.node(1).call<rpc::kv::Echo>(0, {data}, g.net().now() + 100ms,
                                    [&](const auto& r) { answered += r ? 1 : 0; });
      while (g.net().step()) {
      }
    }
  };
  calls(1000);
  const std::uint64_t before = allocations.load();
  calls(1000);
  EXPECT_EQ(allocations.load() - before, 0u);
  EXPECT_EQ(answered, 2000);
}

// A RecyclingMap is a std::map: the same contents after any inserts and erases. The same
// operations again take no node from the heap: the nodes the first run freed are reused.
RC_GTEST_PROP(Allocation, ARecyclingMapIsAMapAndReusesItsNodes,
              (const std::vector<std::pair<std::uint16_t, bool>>& ops)) {
  RecyclingMap<std::uint16_t, std::uint64_t> recycling;
  std::map<std::uint16_t, std::uint64_t> plain;
  const auto run = [&] {
    for (const auto& [key, insert] : ops) {
      if (insert) {
        recycling.emplace(key, key * 3u);
        plain.emplace(key, key * 3u);
      } else {
        recycling.erase(key);
        plain.erase(key);
      }
    }
    RC_ASSERT(std::equal(recycling.begin(), recycling.end(), plain.begin(), plain.end()));
  };
  run();
  recycling.clear();
  plain.clear();
  const std::uint64_t before = allocations.load();
  for (const auto& [key, insert] : ops) {
    if (insert)
      recycling.emplace(key, 0);
    else
      recycling.erase(key);
  }
  RC_ASSERT(allocations.load() == before);
}

TEST(Allocation, TheCounterSeesAllocations) {
  const std::uint64_t before = allocations.load();
  void* p = ::operator new(16); // a call, unlike a new-expression, cannot be elided
  ::operator delete(p);
  EXPECT_EQ(allocations.load() - before, 1u);
}

// Msg's pool keeps the buffers a thread gives back, per thread: a thread that ends frees those it
// kept, and a buffer that outlives its thread (a message handed to another) is still freed.
TEST(Allocation, AThreadFreesItsPooledBuffersWhenItEnds) {
  const auto live = [] { return allocations.load() - frees.load(); };
  const std::uint64_t before = live();
  Msg handed_on;
  std::thread worker([&] {
    std::vector<Msg> held;
    for (int i = 0; i < 100; ++i) held.push_back(Msg::with_size(64 + i * 40));
    handed_on = held.back().clone();
    held.clear(); // 100 buffers kept by this thread's pool, of two classes
    for (int i = 0; i < 10; ++i) Msg again = Msg::with_size(64); // from the pool
  });
  worker.join();
  EXPECT_EQ(live(), before + 1) << "only the buffer handed on is left";
  handed_on = Msg();
  EXPECT_LE(live(), before + 1) << "kept by this thread's pool, or freed";
  std::thread late([&] {
    thread_local Msg outlives_the_pool; // destroyed after the thread's pool has emptied
    outlives_the_pool = Msg::with_size(64);
    Msg kept = Msg::with_size(64); // given back to the pool, which the thread's end empties
  });
  late.join();
  EXPECT_LE(live(), before + 1) << "a thread_local message is freed after the pool ends";
}

} // namespace
} // namespace lamina
