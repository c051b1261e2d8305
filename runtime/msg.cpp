#include "runtime/msg.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <new>
#include <stdexcept>
#include <vector>

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
    for (auto& list : free_)
      for (std::byte* b : list) ::operator delete(b);
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::byte* acquire(std::uint32_t& capacity) {
    ++stats.acquired;
    const auto cls = class_of(capacity);
    if (cls < kClasses.size()) {
      capacity = kClasses[cls];
      if (!free_[cls].empty()) {
        std::byte* b = free_[cls].back();
        free_[cls].pop_back();
        return b;
      }
    }
    ++stats.allocated;
    return static_cast<std::byte*>(::operator new(capacity));
  }

  void give_back(std::byte* b, std::uint32_t capacity) {
    const auto cls = class_of(capacity);
    if (cls < kClasses.size() && kClasses[cls] == capacity &&
        free_[cls].size() < kMaxFreePerClass) {
      free_[cls].push_back(b);
      return;
    }
    ::operator delete(b);
  }

  // Msgs destroyed after their thread's pool (at thread exit) free their buffers directly.
  enum class State : std::uint8_t { unborn, alive, dead };
  static thread_local State state;
  PoolStats stats;

private:
  static std::size_t class_of(std::uint32_t capacity) {
    return static_cast<std::size_t>(std::lower_bound(kClasses.begin(), kClasses.end(), capacity) -
                                    kClasses.begin());
  }
  std::array<std::vector<std::byte*>, kClasses.size()> free_;
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

} // namespace

PoolStats pool_stats() { return Pool::state == Pool::State::dead ? PoolStats{} : pool().stats; }

Msg Msg::with_size(std::size_t size) {
  Msg m;
  m.capacity_ = static_cast<std::uint32_t>(kHeadroom) + checked_u32(size);
  m.buf_ = acquire(m.capacity_);
  m.head_ = static_cast<std::uint32_t>(kHeadroom);
  m.tail_ = m.head_ + static_cast<std::uint32_t>(size);
  std::memset(m.buf_ + m.head_, 0, size);
  return m;
}

Msg Msg::copy_of(std::span<const std::byte> bytes) {
  Msg m;
  m.capacity_ = static_cast<std::uint32_t>(kHeadroom) + checked_u32(bytes.size());
  m.buf_ = acquire(m.capacity_);
  m.head_ = static_cast<std::uint32_t>(kHeadroom);
  m.tail_ = m.head_ + static_cast<std::uint32_t>(bytes.size());
  if (!bytes.empty()) std::memcpy(m.buf_ + m.head_, bytes.data(), bytes.size());
  return m;
}

Msg Msg::clone() const {
  Msg m;
  m.capacity_ = capacity_ == 0 ? static_cast<std::uint32_t>(kHeadroom) : capacity_;
  m.buf_ = acquire(m.capacity_);
  // Keep the same headroom so that the copy can take the same headers as the original.
  m.head_ = std::min(head_, m.capacity_ - static_cast<std::uint32_t>(size()));
  m.tail_ = m.head_ + static_cast<std::uint32_t>(size());
  if (size() != 0) std::memcpy(m.buf_ + m.head_, data(), size());
  return m;
}

std::uint64_t Msg::new_content_id() const {
  // One counter for the process, so that a message moved to another thread keeps a number
  // no message there has. Only a checker asks, and only for messages that changed.
  static std::atomic<std::uint64_t> last{0};
  id_ = last.fetch_add(1, std::memory_order_relaxed) + 1;
  return id_;
}

bool Msg::drop_front(std::size_t n) {
  if (n > size()) return false;
  head_ += static_cast<std::uint32_t>(n);
  id_ = 0;
  return true;
}

bool Msg::truncate(std::size_t n) {
  if (n > size()) return false;
  tail_ = head_ + static_cast<std::uint32_t>(n);
  id_ = 0;
  return true;
}

void Msg::append(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  id_ = 0;
  reserve_back(bytes.size());
  std::memcpy(buf_ + tail_, bytes.data(), bytes.size());
  tail_ += static_cast<std::uint32_t>(bytes.size());
}

void Msg::release() {
  if (buf_ != nullptr) give_back(buf_, capacity_);
  buf_ = nullptr;
}

void Msg::grow_front(std::size_t need) {
  // Slow path: a stack whose headers outgrow kHeadroom. Re-centre the payload with fresh room.
  const std::size_t front = need + kHeadroom;
  move_to(checked_u32(front + size() + kHeadroom), static_cast<std::uint32_t>(front));
}

void Msg::reserve_back(std::size_t need) {
  if (buf_ != nullptr && capacity_ - tail_ >= need) return;
  const std::size_t total = size() + need;
  move_to(checked_u32(kHeadroom + total + total / 2), static_cast<std::uint32_t>(kHeadroom));
}

void Msg::move_to(std::uint32_t capacity, std::uint32_t head) {
  std::byte* nb = acquire(capacity);
  const auto n = static_cast<std::uint32_t>(size());
  if (n != 0) std::memcpy(nb + head, data(), n);
  release();
  buf_ = nb;
  capacity_ = capacity;
  head_ = head;
  tail_ = head + n;
}

} // namespace lamina
