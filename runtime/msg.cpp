#include "runtime/msg.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <stdexcept>

namespace lamina {
namespace {

// Buffer capacities served by the pool; larger buffers are allocated and freed directly.
constexpr std::array<std::uint32_t, 5> kClasses = {256, 1024, 4096 + 256, 16384 + 256, 65536 + 256};
// Free buffers kept per class; beyond this they are returned to the allocator.
constexpr std::uint32_t kMaxFreePerClass = 4096;

// The calling thread's free buffers, by class, each list running through its buffers (the
// address of the next in the first bytes). Constant-initialised, so that reaching them costs no
// check of whether they exist yet: the fast paths of acquire() and give_back() are a few
// instructions. `keep` is how many buffers a list may hold: 0 until the thread first gives a
// buffer back (keep_buffers() then makes the Reaper that empties the lists at the thread's exit),
// and 0 again after that, when buffers are freed directly.
struct FreeList {
  std::byte* head = nullptr;
  std::uint32_t count = 0;
};
struct ThreadPool {
  std::array<FreeList, kClasses.size()> lists{};
  std::uint32_t keep = 0;
  bool exited = false;
  PoolStats stats;
};
constinit thread_local ThreadPool thread_pool;

std::byte* pop(FreeList& list) {
  std::byte* b = list.head;
  std::memcpy(static_cast<void*>(&list.head), b, sizeof(std::byte*));
  --list.count;
  return b;
}

void push(FreeList& list, std::byte* b) {
  std::memcpy(b, static_cast<const void*>(&list.head), sizeof(std::byte*));
  list.head = b;
  ++list.count;
}

// The class of a buffer of `capacity` bytes; kClasses.size() if none holds it.
std::size_t class_of(std::uint32_t capacity) {
  std::size_t cls = 0;
  while (cls < kClasses.size() && kClasses[cls] < capacity) ++cls;
  return cls;
}

// Frees the thread's free buffers when it exits. Msgs destroyed after it (in thread_local or
// static objects destroyed later) free their buffers directly.
struct Reaper {
  Reaper() = default;
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;
  ~Reaper() {
    thread_pool.keep = 0;
    thread_pool.exited = true;
    for (FreeList& list : thread_pool.lists)
      while (list.head != nullptr) ::operator delete(pop(list));
  }
};

// The slow path of give_back(): the thread's first buffer given back makes its Reaper.
bool keep_buffers() {
  if (thread_pool.exited) return false;
  thread_local Reaper reaper;
  thread_pool.keep = kMaxFreePerClass;
  return true;
}

// The slow path of acquire(): a buffer from the allocator.
[[gnu::noinline, gnu::cold]] std::byte* allocate(std::uint32_t capacity) {
  ++thread_pool.stats.allocated;
  return static_cast<std::byte*>(::operator new(capacity));
}

std::byte* acquire(std::uint32_t& capacity) {
  ++thread_pool.stats.acquired;
  const std::size_t cls = class_of(capacity);
  if (cls < kClasses.size()) {
    capacity = kClasses[cls];
    if (thread_pool.lists[cls].head != nullptr) return pop(thread_pool.lists[cls]);
  }
  return allocate(capacity);
}

// The slow path of give_back(): a buffer the list does not keep (yet).
[[gnu::noinline, gnu::cold]] void free_or_keep(std::byte* b, std::size_t cls) {
  if (cls < kClasses.size() && thread_pool.keep == 0 && keep_buffers()) {
    push(thread_pool.lists[cls], b);
    return;
  }
  ::operator delete(b);
}

void give_back(std::byte* b, std::uint32_t capacity) {
  std::size_t cls = class_of(capacity);
  if (cls < kClasses.size() && kClasses[cls] != capacity) cls = kClasses.size(); // not a pool's
  if (cls < kClasses.size() && thread_pool.lists[cls].count < thread_pool.keep) {
    push(thread_pool.lists[cls], b);
    return;
  }
  free_or_keep(b, cls);
}

std::uint32_t checked_u32(std::size_t n) {
  if (n > UINT32_MAX - 2 * Msg::kHeadroom)
    throw std::length_error("lamina::Msg: message too large");
  return static_cast<std::uint32_t>(n);
}

// Every buffer starts with Msg's Control (8 bytes), then its capacity.
constexpr std::uint32_t kControl = 8;

} // namespace

PoolStats pool_stats() { return thread_pool.stats; }

// A fresh buffer of at least `capacity` bytes after its Control, held by one view; its
// capacity is updated to what the buffer has.
std::byte* Msg::fresh_buffer(std::uint32_t& capacity) {
  std::uint32_t total = capacity + kControl;
  std::byte* raw = acquire(total);
  capacity = total - kControl;
  auto* c = reinterpret_cast<Control*>(raw);
  c->views = 1;
  c->front = 0;
  return raw + kControl;
}

// In line in with_size() and copy_of(), which are called for every message.
[[gnu::always_inline]] Msg Msg::unfilled(std::size_t size) {
  Msg m;
  m.capacity_ = static_cast<std::uint32_t>(kHeadroom) + checked_u32(size);
  m.buf_ = fresh_buffer(m.capacity_);
  m.head_ = static_cast<std::uint32_t>(kHeadroom);
  m.tail_ = m.head_ + static_cast<std::uint32_t>(size);
  return m;
}

Msg Msg::with_size(std::size_t size) {
  Msg m = unfilled(size);
  std::memset(m.buf_ + m.head_, 0, size);
  return m;
}

Msg Msg::copy_of(std::span<const std::byte> bytes) {
  Msg m = unfilled(bytes.size());
  if (!bytes.empty()) std::memcpy(m.buf_ + m.head_, bytes.data(), bytes.size());
  return m;
}

Msg Msg::clone() const {
  Msg m;
  // The room in front of the bytes and behind them is the original's, but at most kHeadroom
  // each: a copy of a few bytes of a large buffer (a packet of a bundled datagram) gets a buffer
  // of its own size, not the datagram's.
  const auto front = std::min(head_, static_cast<std::uint32_t>(kHeadroom));
  const auto back = std::min(capacity_ - tail_, static_cast<std::uint32_t>(kHeadroom));
  m.capacity_ = std::max(front + static_cast<std::uint32_t>(size()) + back,
                         static_cast<std::uint32_t>(kHeadroom));
  m.buf_ = fresh_buffer(m.capacity_);
  m.head_ = std::min(front, m.capacity_ - static_cast<std::uint32_t>(size()));
  m.tail_ = m.head_ + static_cast<std::uint32_t>(size());
  if (size() != 0) std::memcpy(m.buf_ + m.head_, data(), size());
  return m;
}

void Msg::unshare() {
  Msg own = clone();
  *this = std::move(own);
}

void Msg::append(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  reserve_back(bytes.size());
  std::memcpy(buf_ + tail_, bytes.data(), bytes.size());
  tail_ += static_cast<std::uint32_t>(bytes.size());
}

void Msg::release() {
  Control* c = control();
  if (--c->views == 0) give_back(reinterpret_cast<std::byte*>(c), capacity_ + kControl);
  buf_ = nullptr;
}

void Msg::grow_front(std::size_t need) {
  // Slow path: a stack whose headers outgrow kHeadroom, or a push where another view's bytes may
  // be. Re-centre the payload in a buffer of its own, with fresh room.
  const std::size_t front = need + kHeadroom;
  move_to(checked_u32(front + size() + kHeadroom), static_cast<std::uint32_t>(front));
}

void Msg::reserve_back(std::size_t need) {
  if (buf_ != nullptr && !shared() && capacity_ - tail_ >= need) return;
  const std::size_t total = size() + need;
  move_to(checked_u32(kHeadroom + total + total / 2), static_cast<std::uint32_t>(kHeadroom));
}

void Msg::move_to(std::uint32_t capacity, std::uint32_t head) {
  std::byte* nb = fresh_buffer(capacity);
  const auto n = static_cast<std::uint32_t>(size());
  if (n != 0) std::memcpy(nb + head, data(), n);
  if (buf_ != nullptr) release();
  buf_ = nb;
  capacity_ = capacity;
  head_ = head;
  tail_ = head + n;
}

} // namespace lamina
