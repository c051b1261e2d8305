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
constexpr std::size_t kMaxFreePerClass = 4096;

class Pool {
public:
  Pool() { state = State::alive; }
  ~Pool() {
    state = State::dead;
    for (FreeList& list : free_)
      while (list.head != nullptr) ::operator delete(pop(list));
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::byte* acquire(std::uint32_t& capacity) {
    ++stats.acquired;
    const std::size_t cls = class_of(capacity);
    if (cls < kClasses.size()) {
      capacity = kClasses[cls];
      if (free_[cls].head != nullptr) return pop(free_[cls]);
    }
    ++stats.allocated;
    return static_cast<std::byte*>(::operator new(capacity));
  }

  void give_back(std::byte* b, std::uint32_t capacity) {
    const std::size_t cls = class_of(capacity);
    if (cls < kClasses.size() && kClasses[cls] == capacity && free_[cls].count < kMaxFreePerClass) {
      // The list runs through the buffers.
      std::memcpy(b, static_cast<const void*>(&free_[cls].head), sizeof(std::byte*));
      free_[cls].head = b;
      ++free_[cls].count;
      return;
    }
    ::operator delete(b);
  }

  // Msgs destroyed after their thread's pool (at thread exit) free their buffers directly.
  enum class State : std::uint8_t { unborn, alive, dead };
  static thread_local State state;
  PoolStats stats;

private:
  // Free buffers of one class, each holding the address of the next in its first bytes.
  struct FreeList {
    std::byte* head = nullptr;
    std::size_t count = 0;
  };
  static std::byte* pop(FreeList& list) {
    std::byte* b = list.head;
    std::memcpy(static_cast<void*>(&list.head), b, sizeof(std::byte*));
    --list.count;
    return b;
  }
  static std::size_t class_of(std::uint32_t capacity) {
    std::size_t cls = 0;
    while (cls < kClasses.size() && kClasses[cls] < capacity) ++cls;
    return cls;
  }
  std::array<FreeList, kClasses.size()> free_;
};

thread_local Pool::State Pool::state = Pool::State::unborn;

// The calling thread's pool, made on first use.
Pool& pool() {
  thread_local Pool p;
  return p;
}

std::byte* acquire(std::uint32_t& capacity) {
  if (Pool::state != Pool::State::dead) return pool().acquire(capacity);
  return static_cast<std::byte*>(::operator new(capacity));
}

void give_back(std::byte* b, std::uint32_t capacity) {
  if (Pool::state != Pool::State::dead)
    pool().give_back(b, capacity);
  else
    ::operator delete(b);
}

std::uint32_t checked_u32(std::size_t n) {
  if (n > UINT32_MAX - 2 * Msg::kHeadroom)
    throw std::length_error("lamina::Msg: message too large");
  return static_cast<std::uint32_t>(n);
}

// Every buffer starts with Msg's Control (8 bytes), then its capacity.
constexpr std::uint32_t kControl = 8;

} // namespace

PoolStats pool_stats() { return Pool::state == Pool::State::dead ? PoolStats{} : pool().stats; }

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
