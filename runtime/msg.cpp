#include "runtime/msg.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <stdexcept>

#include "runtime/pool.hpp"

namespace lamina {
namespace {

// Buffer capacities served by the pool; larger buffers are allocated and freed directly.
constexpr std::array<std::uint32_t, 5> kCapacities = {256, 1024, 4096 + 256, 16384 + 256,
                                                      65536 + 256};
struct MsgBuffers;
// Free buffers kept per class and thread; beyond this they are returned to the allocator.
using Pool = BlockPool<MsgBuffers, kCapacities, 4096>;

constinit thread_local PoolStats stats;

// A buffer of at least `capacity` bytes; `capacity` becomes what it has, and `cls` its size
// class (Pool::kClasses for a buffer from the allocator, too large for any class).
std::byte* acquire(std::uint32_t& capacity, std::size_t& cls) {
  ++stats.acquired;
  cls = Pool::class_of(capacity);
  if (cls < Pool::kClasses) {
    capacity = kCapacities[cls];
    if (std::byte* b = Pool::reuse(cls)) return b;
  }
  ++stats.allocated;
  return static_cast<std::byte*>(::operator new(capacity));
}

void give_back(std::byte* b, std::size_t cls) {
  if (cls < Pool::kClasses)
    Pool::give_back(b, cls);
  else
    ::operator delete(b);
}

std::uint32_t checked_u32(std::size_t n) {
  if (n > UINT32_MAX - 2 * Msg::kHeadroom)
    throw std::length_error("lamina::Msg: message too large");
  return static_cast<std::uint32_t>(n);
}

// Every buffer starts with Msg's Control (16 bytes), then its capacity.
constexpr std::uint32_t kControl = 16;

} // namespace

PoolStats pool_stats() { return stats; }

// A fresh buffer of at least `capacity` bytes after its Control, held by one view; its
// capacity is updated to what the buffer has.
std::byte* Msg::fresh_buffer(std::uint32_t& capacity) {
  std::uint32_t total = capacity + kControl;
  std::size_t cls = 0;
  std::byte* raw = acquire(total, cls);
  capacity = total - kControl;
  auto* c = reinterpret_cast<Control*>(raw);
  c->views = 1;
  c->front = 0;
  c->capacity = capacity;
  c->size_class = static_cast<std::uint32_t>(cls);
  return raw + kControl;
}

// In line in with_size() and copy_of(), which are called for every message.
[[gnu::always_inline]] Msg Msg::unfilled(std::size_t size) {
  Msg m;
  std::uint32_t capacity = static_cast<std::uint32_t>(kHeadroom) + checked_u32(size);
  m.buf_ = fresh_buffer(capacity);
  m.head_ = static_cast<std::uint32_t>(kHeadroom);
  m.tail_ = m.head_ + static_cast<std::uint32_t>(size);
  return m;
}

Msg Msg::with_size(std::size_t size) {
  Msg m = unfilled(size);
  if (size != 0) std::memset(m.buf_ + m.head_, 0, size); // an ack's empty payload: no call
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
  const auto back = std::min(capacity() - tail_, static_cast<std::uint32_t>(kHeadroom));
  std::uint32_t capacity = std::max(front + static_cast<std::uint32_t>(size()) + back,
                                    static_cast<std::uint32_t>(kHeadroom));
  m.buf_ = fresh_buffer(capacity);
  m.head_ = std::min(front, capacity - static_cast<std::uint32_t>(size()));
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
  if (--c->views == 0) give_back(reinterpret_cast<std::byte*>(c), c->size_class);
  buf_ = nullptr;
}

void Msg::grow_front(std::size_t need) {
  // Slow path: a stack whose headers outgrow kHeadroom, or a push where another view's bytes may
  // be. Re-centre the payload in a buffer of its own, with fresh room.
  const std::size_t front = need + kHeadroom;
  move_to(checked_u32(front + size() + kHeadroom), static_cast<std::uint32_t>(front));
}

void Msg::reserve_back(std::size_t need) {
  if (buf_ != nullptr && !shared() && capacity() - tail_ >= need) return;
  const std::size_t total = size() + need;
  move_to(checked_u32(kHeadroom + total + total / 2), static_cast<std::uint32_t>(kHeadroom));
}

void Msg::move_to(std::uint32_t capacity, std::uint32_t head) {
  std::byte* nb = fresh_buffer(capacity);
  const auto n = static_cast<std::uint32_t>(size());
  if (n != 0) std::memcpy(nb + head, data(), n);
  if (buf_ != nullptr) release();
  buf_ = nb;
  head_ = head;
  tail_ = head + n;
}

} // namespace lamina
