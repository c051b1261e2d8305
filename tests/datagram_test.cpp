// DatagramSocket on loopback: batches keep every datagram's bytes and source, a batch larger
// than one sendmmsg goes out whole, a bounded queue says it is full, both wait modes receive,
// what does not fit is counted, bundled packets arrive whole and in order, and broken framing
// is dropped and counted.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/datagram.hpp"
#include "runtime/varint.hpp"

namespace lamina {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const SocketAddress kLoopback = parse_address("127.0.0.1:0");

DatagramSocket::Options with(auto change) {
  DatagramSocket::Options o;
  change(o);
  return o;
}

// Datagram `i` of sender `s`: its length and every byte follow from (s, i).
Msg numbered(std::uint32_t s, std::uint32_t i) {
  Msg m = Msg::with_size(8 + (i * 37 + s) % 1200);
  for (std::size_t k = 0; k < m.size(); ++k)
    m.writable_data()[k] = std::byte((s * 131 + i * 7 + k) & 0xff);
  return m;
}

struct Arrival {
  SocketAddress from;
  std::vector<std::byte> bytes;
};

// Receives until `count` datagrams have arrived or `limit` has passed.
std::vector<Arrival> receive_all(DatagramSocket& s, std::size_t count, Duration limit = 2s) {
  std::vector<Arrival> got;
  const auto deadline = Clock::now() + limit;
  while (got.size() < count && Clock::now() < deadline) {
    for (const auto& d : s.receive(10ms))
      got.push_back({*d.from, {d.bytes.begin(), d.bytes.end()}});
  }
  return got;
}

std::vector<std::byte> bytes_of(const Msg& m) { return {m.bytes().begin(), m.bytes().end()}; }

DatagramSocket::Options bundling(std::size_t bytes) {
  return with([&](auto& o) { o.bundle_bytes = bytes; });
}

// The packets of a framed datagram, read here independently of the socket: each behind its
// length plus one; a zero ends them (padding follows). None if the framing is broken.
std::vector<std::vector<std::byte>> frames_of(std::span<const std::byte> datagram) {
  std::vector<std::vector<std::byte>> frames;
  const std::byte* at = datagram.data();
  const std::byte* end = at + datagram.size();
  while (at != end) {
    std::uint32_t frame = 0;
    if (!varint::get(at, end, frame) || frame > std::size_t(end - at) + 1) return {};
    if (frame == 0) break;
    frames.emplace_back(at, at + frame - 1);
    at += frame - 1;
  }
  return frames;
}

// Sends `bytes` from an unframed socket: a datagram exactly as given.
void send_raw(const SocketAddress& to, std::vector<std::uint8_t> bytes) {
  DatagramSocket raw(kLoopback);
  Msg m = Msg::with_size(bytes.size());
  if (!bytes.empty()) std::memcpy(m.writable_data(), bytes.data(), bytes.size());
  ASSERT_TRUE(raw.enqueue(to, std::move(m)));
  ASSERT_EQ(raw.flush(), 1u);
}

TEST(Datagram, BatchKeepsEveryDatagramsBytesAndSource) {
  DatagramSocket a(kLoopback), b(kLoopback), c(kLoopback);
  for (std::uint32_t i = 0; i < 100; ++i) {
    ASSERT_TRUE(a.enqueue(c.local(), numbered(0, i)));
    ASSERT_TRUE(b.enqueue(c.local(), numbered(1, i)));
  }
  EXPECT_EQ(a.flush(), 100u);
  EXPECT_EQ(b.flush(), 100u);
  const auto got = receive_all(c, 200);
  ASSERT_EQ(got.size(), 200u);
  std::uint32_t next[2] = {0, 0};
  for (const Arrival& d : got) {
    const bool from_a = d.from.same_as(a.local());
    ASSERT_TRUE(from_a || d.from.same_as(b.local())) << d.from.text();
    const std::uint32_t s = from_a ? 0 : 1;
    // Loopback keeps each sender's order.
    EXPECT_EQ(d.bytes, bytes_of(numbered(s, next[s]))) << "datagram " << next[s] << " of " << s;
    ++next[s];
  }
  EXPECT_EQ(next[0], 100u);
  EXPECT_EQ(next[1], 100u);
  EXPECT_EQ(c.counters().received, 200u);
  EXPECT_EQ(c.counters().truncated, 0u);
}

TEST(Datagram, BatchLargerThanOneSyscallIsSentWhole) {
  DatagramSocket a(kLoopback, with([](auto& o) { o.gso = false; })), b(kLoopback);
  constexpr std::uint32_t n = 1000;
  for (std::uint32_t i = 0; i < n; ++i) ASSERT_TRUE(a.enqueue(b.local(), numbered(0, i % 50)));
  EXPECT_EQ(a.queued(), n);
  EXPECT_EQ(a.flush(), n);
  EXPECT_EQ(a.queued(), 0u);
  EXPECT_EQ(a.counters().sent, n);
  // 1000 datagrams in batches of 64: 16 calls, unless the kernel took some in part.
  EXPECT_GE(a.counters().send_calls,
            (n + DatagramSocket::kSendBatch - 1) / DatagramSocket::kSendBatch);
  EXPECT_EQ(a.counters().send_calls, 16u + a.counters().partial_sends + a.counters().would_block);
  EXPECT_EQ(receive_all(b, n).size(), n);
  // recvmmsg takes up to 64 at a time: far fewer calls than datagrams.
  EXPECT_LT(b.counters().receive_calls, n / 4);
}

// 300 datagrams of 1000 bytes and a shorter last one, to one peer: GSO runs of 64 in one
// sendmmsg, and the receiver gets them one by one, byte for byte.
TEST(Datagram, GsoRunArrivesAsSeparateDatagrams) {
  DatagramSocket a(kLoopback), b(kLoopback);
  const auto datagram = [](std::uint32_t i) {
    Msg m = Msg::with_size(i == 300 ? 123 : 1000);
    for (std::size_t k = 0; k < m.size(); ++k)
      m.writable_data()[k] = std::byte((std::size_t{i} * 13 + k) & 0xff);
    return m;
  };
  for (std::uint32_t i = 0; i <= 300; ++i) ASSERT_TRUE(a.enqueue(b.local(), datagram(i)));
  EXPECT_EQ(a.flush(), 301u);
  EXPECT_EQ(a.counters().send_calls, 1u);
  EXPECT_EQ(a.counters().gso_runs, 5u); // 64 + 64 + 64 + 64 + 45 (the last one shorter)
  EXPECT_EQ(a.counters().gso_refused, 0u);
  const auto got = receive_all(b, 301);
  ASSERT_EQ(got.size(), 301u);
  for (std::uint32_t i = 0; i <= 300; ++i) {
    EXPECT_EQ(got[i].bytes, bytes_of(datagram(i))) << "datagram " << i;
    EXPECT_TRUE(got[i].from.same_as(a.local()));
  }
}

// Runs end where the peer or the size changes; without GSO every datagram is an entry.
TEST(Datagram, GsoRunsOnlyOfOneSizeToOnePeer) {
  DatagramSocket a(kLoopback), b(kLoopback), c(kLoopback);
  DatagramSocket plain(kLoopback, with([](auto& o) { o.gso = false; }));
  for (std::uint32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(a.enqueue(i % 2 ? b.local() : c.local(), Msg::with_size(100)));
    ASSERT_TRUE(plain.enqueue(b.local(), Msg::with_size(100)));
  }
  ASSERT_TRUE(a.enqueue(b.local(), Msg::with_size(50)));
  ASSERT_TRUE(a.enqueue(b.local(), Msg::with_size(60)));
  EXPECT_EQ(a.flush(), 12u);
  EXPECT_EQ(plain.flush(), 10u);
  // Alternating peers make no run, except the last 100 bytes to b, which takes the 50 after
  // it as a shorter last segment (the 60 after that is larger: alone).
  EXPECT_EQ(a.counters().gso_runs, 1u);
  EXPECT_EQ(a.counters().send_calls, 1u);
  EXPECT_EQ(plain.counters().gso_runs, 0u);
  EXPECT_EQ(receive_all(b, 17).size(), 17u);
  EXPECT_EQ(receive_all(c, 5).size(), 5u);
}

TEST(Datagram, BoundedQueueSaysFullInsteadOfDropping) {
  DatagramSocket a(kLoopback, with([](auto& o) { o.queue_limit = 4; })), b(kLoopback);
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(a.enqueue(b.local(), numbered(0, i)));
  EXPECT_FALSE(a.enqueue(b.local(), numbered(0, 4)));
  EXPECT_EQ(a.counters().queue_full, 1u);
  EXPECT_EQ(a.queued(), 4u);
  EXPECT_EQ(a.flush(), 4u);
  EXPECT_TRUE(a.enqueue(b.local(), numbered(0, 4)));
  EXPECT_EQ(a.flush(), 1u);
  const auto got = receive_all(b, 5);
  ASSERT_EQ(got.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(got[i].bytes, bytes_of(numbered(0, i)));
}

TEST(Datagram, TooLargeToSendIsRefused) {
  DatagramSocket a(kLoopback), b(kLoopback);
  EXPECT_FALSE(a.enqueue(b.local(), Msg::with_size(DatagramSocket::kMaxDatagram + 1)));
  EXPECT_EQ(a.counters().oversize, 1u);
  EXPECT_TRUE(a.enqueue(b.local(), Msg::with_size(DatagramSocket::kMaxDatagram)));
  EXPECT_EQ(a.flush(), 1u);
  const auto got = receive_all(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes.size(), DatagramSocket::kMaxDatagram);
}

class WaitMode : public testing::TestWithParam<bool> {};

TEST_P(WaitMode, ReceivesAndTimesOut) {
  DatagramSocket a(kLoopback), b(kLoopback, with([](auto& o) { o.busy_poll = GetParam(); }));
  // Nothing to receive: the wait lasts about as long as asked.
  const auto start = Clock::now();
  EXPECT_TRUE(b.receive(20ms).empty());
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 19ms);
  EXPECT_LT(waited, 1s);
  ASSERT_TRUE(a.enqueue(b.local(), numbered(0, 1)));
  a.flush();
  const auto got = receive_all(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, bytes_of(numbered(0, 1)));
  // Blocking waits in ppoll; busy-poll never does.
  if (GetParam())
    EXPECT_EQ(b.counters().wait_calls, 0u);
  else
    EXPECT_GE(b.counters().wait_calls, 1u);
}

// Another thread's wake() ends a long wait early, whether it comes before or during it.
TEST_P(WaitMode, WakeEndsAWaitFromAnotherThread) {
  DatagramSocket s(kLoopback, with([](auto& o) {
                     o.busy_poll = GetParam();
                     o.wakeable = true;
                   }));
  s.wake(); // before the wait: the wait ends at once
  auto start = Clock::now();
  EXPECT_TRUE(s.receive(30s).empty());
  EXPECT_LT(Clock::now() - start, 10s);
  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    s.wake();
  });
  start = Clock::now();
  EXPECT_TRUE(s.receive(30s).empty()); // during the wait
  EXPECT_LT(Clock::now() - start, 10s);
  waker.join();
}

INSTANTIATE_TEST_SUITE_P(Datagram, WaitMode, testing::Values(false, true),
                         [](const auto& info) { return info.param ? "BusyPoll" : "Blocking"; });

TEST(Datagram, DatagramLargerThanTheBufferIsCounted) {
  DatagramSocket a(kLoopback), b(kLoopback, with([](auto& o) { o.receive_bytes = 100; }));
  ASSERT_TRUE(a.enqueue(b.local(), Msg::with_size(101)));
  ASSERT_TRUE(a.enqueue(b.local(), numbered(0, 2))); // 8 + 74 bytes: fits
  EXPECT_EQ(a.flush(), 2u);
  const auto got = receive_all(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, bytes_of(numbered(0, 2)));
  EXPECT_EQ(b.counters().truncated, 1u);
  EXPECT_EQ(b.counters().received, 1u);
}

// A datagram that fits the slot's message buffer is handed on in the buffer the kernel wrote
// it into (the same bytes at the same address, headroom in front); a longer one, up to the
// receive buffer, is joined into one message by a copy and counted; each is taken once.
TEST(Datagram, DatagramIsHandedOnInTheBufferTheKernelWroteItInto) {
  DatagramSocket a(kLoopback, with([](auto& o) { o.gso = false; }));
  DatagramSocket b(kLoopback, with([](auto& o) {
                     o.receive_inline = 100;
                     o.receive_bytes = 3000;
                     o.receive_batch = 4;
                   }));
  const std::vector<std::size_t> sizes = {0, 1, 99, 100, 101, 2999, 3000, 64, 3001, 7};
  for (std::uint32_t i = 0; i < sizes.size(); ++i) {
    Msg m = Msg::with_size(sizes[i]);
    for (std::size_t k = 0; k < m.size(); ++k)
      m.writable_data()[k] = std::byte((std::size_t{i} * 31 + k) & 0xff);
    ASSERT_TRUE(a.enqueue(b.local(), std::move(m)));
  }
  ASSERT_EQ(a.flush(), sizes.size());
  std::vector<std::uint32_t> arriving; // the datagrams that fit the receive buffer, in order
  for (std::uint32_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] <= 3000) arriving.push_back(i);
  std::size_t got = 0;
  std::uint64_t in_place = 0;
  const auto deadline = Clock::now() + 2s;
  while (got < arriving.size() && Clock::now() < deadline) {
    const auto ready = b.receive(10ms);
    for (std::size_t i = 0; i < ready.size(); ++i) {
      const std::span<const std::byte> kernel = ready[i].bytes;
      Msg m = b.take(i);
      EXPECT_EQ(m.size(), kernel.size());
      EXPECT_EQ(b.take(i).size(), 0u) << "a datagram is taken once";
      if (m.size() <= 100) {
        EXPECT_EQ(m.data(), kernel.data()) << "a datagram that fits is not copied";
        EXPECT_EQ(m.headroom(), Msg::kHeadroom);
        ++in_place;
      }
      ASSERT_LT(got, arriving.size());
      const std::uint32_t n = arriving[got++];
      ASSERT_EQ(m.size(), sizes[n]) << "datagram " << n;
      for (std::size_t k = 0; k < m.size(); ++k)
        ASSERT_EQ(m.data()[k], std::byte((std::size_t{n} * 31 + k) & 0xff))
            << "datagram " << n << " byte " << k;
    }
  }
  ASSERT_EQ(got, arriving.size());
  EXPECT_EQ(in_place, 6u);
  EXPECT_EQ(b.counters().copied, 3u); // 101, 2999 and 3000 bytes
  EXPECT_EQ(b.counters().truncated, 1u);
  EXPECT_THROW((void)b.take(sizes.size()), std::out_of_range);
}

// A slot whose datagram was read but not taken keeps its buffer for the next datagram; a slot
// whose buffer was taken gets a new one, on the receive after. Counted in the pool's buffers
// taken by receive() alone.
TEST(Datagram, OnlyTakenBuffersAreRenewed) {
  DatagramSocket a(kLoopback), b(kLoopback, with([](auto& o) { o.receive_batch = 8; }));
  std::uint64_t buffers = 0; // taken from the pool by the last receive
  auto send_and_receive = [&](std::uint32_t i) {
    EXPECT_TRUE(a.enqueue(b.local(), numbered(0, i)));
    EXPECT_EQ(a.flush(), 1u);
    const std::uint64_t before = pool_stats().acquired;
    std::span<const DatagramSocket::Received> got;
    for (const auto deadline = Clock::now() + 2s; got.empty() && Clock::now() < deadline;)
      got = b.receive(10ms);
    buffers = pool_stats().acquired - before;
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? std::vector<std::byte>{}
                       : std::vector<std::byte>(got[0].bytes.begin(), got[0].bytes.end());
  };
  EXPECT_EQ(send_and_receive(0), bytes_of(numbered(0, 0)));
  EXPECT_EQ(buffers, 8u) << "the first receive gives every slot its buffer";
  EXPECT_EQ(send_and_receive(1), bytes_of(numbered(0, 1)));
  EXPECT_EQ(buffers, 0u) << "the slot read and not taken keeps its buffer";
  const Msg taken = b.take(0);
  EXPECT_EQ(bytes_of(taken), bytes_of(numbered(0, 1)));
  EXPECT_EQ(send_and_receive(2), bytes_of(numbered(0, 2)));
  EXPECT_EQ(buffers, 1u) << "the taken slot's new buffer, and no other";
  EXPECT_EQ(bytes_of(taken), bytes_of(numbered(0, 1))) << "a taken message is the caller's";
  EXPECT_EQ(bytes_of(b.take(0)), bytes_of(numbered(0, 2)));
}

// Read by a plain socket, a bundling sender's datagrams hold its packets in order, each behind
// its length, none longer than the limit unless it holds one packet alone.
TEST(Datagram, BundlesHoldThePacketsInOrderWithinTheLimit) {
  DatagramSocket a(kLoopback, bundling(1000)), plain(kLoopback);
  std::vector<std::vector<std::byte>> sent;
  for (std::uint32_t i = 0; i < 100; ++i) {
    sent.push_back(bytes_of(numbered(0, i)));
    ASSERT_TRUE(a.enqueue(plain.local(), numbered(0, i)));
  }
  const std::size_t datagrams = a.flush();
  EXPECT_LT(datagrams, 80u);
  EXPECT_EQ(a.counters().sent, datagrams);
  const auto got = receive_all(plain, datagrams);
  ASSERT_EQ(got.size(), datagrams);
  std::vector<std::vector<std::byte>> arrived;
  std::uint64_t bundled = 0;
  for (const auto& d : got) {
    const auto frames = frames_of(d.bytes);
    ASSERT_FALSE(frames.empty()) << "every datagram is framed";
    if (frames.size() > 1) {
      EXPECT_LE(d.bytes.size(), 1000u);
      bundled += frames.size();
    }
    arrived.insert(arrived.end(), frames.begin(), frames.end());
  }
  EXPECT_EQ(arrived, sent);
  EXPECT_EQ(a.counters().bundled, bundled);
  EXPECT_GT(bundled, 0u);
}

// Consecutive bundles to one peer go as one GSO run: every datagram but the last exactly
// bundle_bytes long, padded, and every packet arrives in order.
TEST(Datagram, BundlesGoAsOneGsoRunPaddedToTheLimit) {
  DatagramSocket a(kLoopback, bundling(1000)), plain(kLoopback);
  std::vector<std::vector<std::byte>> sent;
  for (std::uint32_t i = 0; i < 300; ++i) {
    Msg m = Msg::with_size(40 + i % 20);
    for (std::size_t k = 0; k < m.size(); ++k) m.writable_data()[k] = std::byte((i + k) & 0xff);
    sent.push_back(bytes_of(m));
    ASSERT_TRUE(a.enqueue(plain.local(), std::move(m)));
  }
  const std::size_t datagrams = a.flush();
  EXPECT_EQ(a.counters().send_calls, 1u);
  EXPECT_EQ(a.counters().gso_runs, 1u);
  EXPECT_EQ(a.counters().bundled, 300u);
  const auto got = receive_all(plain, datagrams);
  ASSERT_EQ(got.size(), datagrams);
  ASSERT_GT(datagrams, 10u);
  std::vector<std::vector<std::byte>> arrived;
  for (std::size_t d = 0; d < got.size(); ++d) {
    if (d + 1 < got.size()) EXPECT_EQ(got[d].bytes.size(), 1000u) << "datagram " << d;
    const auto frames = frames_of(got[d].bytes);
    EXPECT_GT(frames.size(), 1u);
    arrived.insert(arrived.end(), frames.begin(), frames.end());
  }
  EXPECT_EQ(arrived, sent);
}

// Packets too long to share a datagram, all of one length, still go as one GSO run, unpadded.
TEST(Datagram, EqualDatagramsTooLongToBundleGoAsOneGsoRun) {
  DatagramSocket a(kLoopback, bundling(1452)), plain(kLoopback);
  for (std::uint32_t i = 0; i < 20; ++i)
    ASSERT_TRUE(a.enqueue(plain.local(), Msg::with_size(1000)));
  ASSERT_EQ(a.flush(), 20u);
  EXPECT_EQ(a.counters().gso_runs, 1u);
  EXPECT_EQ(a.counters().bundled, 0u);
  const auto got = receive_all(plain, 20);
  ASSERT_EQ(got.size(), 20u);
  for (const auto& d : got)
    EXPECT_EQ(d.bytes.size(), 1002u) << "1,000 bytes behind a 2-byte length";
}

// The packets of one datagram are taken as views of the buffer the kernel wrote it into;
// writing to one, or pushing a header in front of it, leaves the others' bytes alone.
TEST(Datagram, BundledPacketsAreViewsOfOneBufferThatCopyBeforeWriting) {
  DatagramSocket a(kLoopback, bundling(1452)), b(kLoopback, bundling(1452));
  for (std::uint32_t i = 0; i < 3; ++i) ASSERT_TRUE(a.enqueue(b.local(), numbered(0, i)));
  ASSERT_EQ(a.flush(), 1u);
  std::span<const DatagramSocket::Received> ready;
  for (const auto deadline = Clock::now() + 2s; ready.empty() && Clock::now() < deadline;)
    ready = b.receive(10ms);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(b.counters().received, 1u);
  std::vector<Msg> taken;
  for (std::size_t i = 0; i < 3; ++i) {
    taken.push_back(b.take(i));
    EXPECT_EQ(b.take(i).size(), 0u) << "a packet is taken once";
    EXPECT_EQ(taken[i].data(), ready[i].bytes.data()) << "taken where the kernel wrote it";
    EXPECT_TRUE(taken[i].shared());
  }
  EXPECT_EQ(taken[1].data(), taken[0].data() + taken[0].size() + 1) << "one length byte between";
  taken[1].push(std::uint32_t{0xFFFFFFFF});
  taken[2].writable_data()[0] = std::byte{0xEE};
  EXPECT_EQ(bytes_of(taken[0]), bytes_of(numbered(0, 0)));
  EXPECT_EQ(taken[1].size(), numbered(0, 1).size() + 4);
  std::vector<std::byte> written = bytes_of(numbered(0, 2));
  written[0] = std::byte{0xEE};
  EXPECT_EQ(bytes_of(taken[2]), written);
  // The next receive gives the shared slot a new buffer: the views keep theirs.
  ASSERT_TRUE(a.enqueue(b.local(), numbered(0, 9)));
  ASSERT_EQ(a.flush(), 1u);
  const auto next = receive_all(b, 1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].bytes, bytes_of(numbered(0, 9)));
  EXPECT_EQ(bytes_of(taken[0]), bytes_of(numbered(0, 0)));
}

// A datagram whose framing is broken is dropped whole and counted; the good ones around it
// arrive.
TEST(Datagram, BrokenFramingIsDroppedAndCounted) {
  DatagramSocket b(kLoopback, bundling(1452));
  send_raw(b.local(), {});                          // not even one length
  send_raw(b.local(), {0x05, 1, 2});                // longer than what follows
  send_raw(b.local(), {0x80});                      // a length cut short
  send_raw(b.local(), {0x81, 0x00, 1});             // a length not in its shortest form
  send_raw(b.local(), {0x00, 1, 2});                // padding alone, no packet
  send_raw(b.local(), {0x03, 7, 8, 0x01});          // two packets: 7 8, and an empty one
  send_raw(b.local(), {0x02, 9, 0x04, 1});          // the second packet runs past the end
  send_raw(b.local(), {0x02, 5, 0x00, 0xAA, 0xBB}); // 5, then padding
  const auto got = receive_all(b, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].bytes, (std::vector<std::byte>{std::byte{7}, std::byte{8}}));
  EXPECT_TRUE(got[1].bytes.empty());
  EXPECT_EQ(got[2].bytes, (std::vector<std::byte>{std::byte{5}}));
  EXPECT_EQ(b.counters().malformed, 6u);
  EXPECT_EQ(b.counters().received, 2u);
}

// Options::drop_share drops whole datagrams before they are read, counted.
TEST(Datagram, DeliberateDropsAreWholeDatagramsAndCounted) {
  DatagramSocket a(kLoopback), b(kLoopback, with([](auto& o) {
                                   o.drop_share = 0.25;
                                   o.drop_seed = 5;
                                 }));
  for (std::uint32_t i = 0; i < 400; ++i) ASSERT_TRUE(a.enqueue(b.local(), numbered(0, i)));
  ASSERT_EQ(a.flush(), 400u);
  std::size_t packets = 0;
  for (const auto deadline = Clock::now() + 2s;
       b.counters().received + b.counters().dropped < 400 && Clock::now() < deadline;)
    packets += b.receive(10ms).size();
  EXPECT_EQ(b.counters().received + b.counters().dropped, 400u);
  EXPECT_EQ(packets, b.counters().received);
  EXPECT_GT(b.counters().dropped, 60u);
  EXPECT_LT(b.counters().dropped, 140u);
}

// Any packets, any limit, any receive buffer: the bundling receiver takes exactly the packets
// sent, in order, byte for byte.
RC_GTEST_PROP(Datagram, BundlingKeepsEveryPacketWholeAndInOrder, ()) {
  const auto sizes = *rc::gen::container<std::vector<std::size_t>>(
      *rc::gen::inRange<std::size_t>(1, 120), rc::gen::inRange<std::size_t>(0, 3000));
  const auto limit = *rc::gen::inRange<std::size_t>(1, 5000);
  const auto inline_bytes = *rc::gen::inRange<std::size_t>(16, 5000);
  DatagramSocket a(kLoopback, bundling(limit));
  DatagramSocket b(kLoopback, with([&](auto& o) {
                     o.bundle_bytes = limit;
                     o.receive_inline = inline_bytes;
                     o.receive_batch = 8;
                   }));
  std::vector<std::vector<std::byte>> sent;
  for (std::uint32_t i = 0; i < sizes.size(); ++i) {
    Msg m = Msg::with_size(sizes[i]);
    for (std::size_t k = 0; k < m.size(); ++k)
      m.writable_data()[k] = std::byte((std::size_t{i} * 13 + k) & 0xff);
    sent.push_back(bytes_of(m));
    RC_ASSERT(a.enqueue(b.local(), std::move(m)));
  }
  const std::size_t datagrams = a.flush();
  RC_ASSERT(a.queued() == 0u);
  std::vector<std::vector<std::byte>> got;
  for (const auto deadline = Clock::now() + 2s;
       b.counters().received < datagrams && Clock::now() < deadline;) {
    const auto ready = b.receive(10ms);
    for (std::size_t i = 0; i < ready.size(); ++i) got.push_back(bytes_of(b.take(i)));
  }
  RC_ASSERT(got == sent);
  RC_ASSERT(b.counters().malformed == 0u);
}

TEST(Datagram, BuffersAreSizedAndReported) {
  DatagramSocket a(kLoopback, with([](auto& o) { o.buffer_bytes = 1 << 20; }));
  // Linux doubles what is asked (bookkeeping); without privilege it caps at the sysctl limit.
  EXPECT_GT(a.send_buffer(), 0u);
  EXPECT_GT(a.receive_buffer(), 0u);
  if (::geteuid() == 0) {
    EXPECT_GE(a.send_buffer(), 1u << 20);
    EXPECT_GE(a.receive_buffer(), 1u << 20);
  }
}

TEST(Datagram, LocalAddressNamesTheBoundPort) {
  DatagramSocket a(kLoopback);
  EXPECT_NE(a.local().port(), 0);
  EXPECT_EQ(a.local().text(), "127.0.0.1:" + std::to_string(a.local().port()));
  EXPECT_TRUE(parse_address(a.local().text()).same_as(a.local()));
}

} // namespace
} // namespace lamina
