// Msg: one contiguous packet buffer with headroom in front of the payload.
//
// A layer pushes its wire header into the headroom on the way down and pops it on the way
// up; the payload is written once and never moves. Buffers come from a per-thread pool of
// size classes, so sending and receiving on the common path does not allocate.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace lamina {

static_assert(std::endian::native == std::endian::little,
              "wire headers are copied in host byte order; Lamina assumes a little-endian host");

// A wire header: a fixed-size, trivially copyable struct copied byte for byte.
template <class H>
concept WireHeader = std::is_trivially_copyable_v<H> && std::is_standard_layout_v<H>;

class Msg {
public:
  // Room in front of a new payload for the headers of a whole stack.
  static constexpr std::size_t kHeadroom = 96;

  Msg() = default;
  Msg(Msg&& other) noexcept { steal(other); }
  Msg& operator=(Msg&& other) noexcept {
    if (this != &other) {
      release();
      steal(other);
    }
    return *this;
  }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;
  ~Msg() { release(); }

  // A message whose payload is `size` zero bytes, with kHeadroom bytes free in front.
  static Msg with_size(std::size_t size);
  // A message holding a copy of `bytes`, with kHeadroom bytes free in front.
  static Msg copy_of(std::span<const std::byte> bytes);
  // A deep copy (a new pooled buffer).
  [[nodiscard]] Msg clone() const;

  [[nodiscard]] std::size_t size() const { return tail_ - head_; }
  [[nodiscard]] bool empty() const { return head_ == tail_; }
  // The mutable views count as writes: see content_id().
  [[nodiscard]] std::byte* data() {
    id_ = 0;
    return buf_ + head_;
  }
  [[nodiscard]] const std::byte* data() const { return buf_ + head_; }
  [[nodiscard]] std::span<const std::byte> bytes() const { return {data(), size()}; }
  [[nodiscard]] std::span<std::byte> bytes() { return {data(), size()}; }
  [[nodiscard]] std::size_t headroom() const { return head_; }

  // A number that names the bytes the message holds now, for a checker that compares the
  // same messages again and again (difftest): it stays while the message is unchanged, and
  // every change -- push, pop, drop_front, truncate, append, or taking data() or bytes() for
  // writing -- drops it, so that the next call gives a new one. A move takes the number along.
  // Numbers are unique in the process and never 0. A write through a pointer taken from
  // data() before the call is not seen: take the pointer again to write.
  [[nodiscard]] std::uint64_t content_id() const { return id_ != 0 ? id_ : new_content_id(); }

  // Prepends `h`. Moves the payload only when the headroom is exhausted (never on a stack
  // whose headers fit in kHeadroom).
  template <WireHeader H>
  void push(const H& h) {
    if (head_ < sizeof(H)) grow_front(sizeof(H));
    head_ -= static_cast<std::uint32_t>(sizeof(H));
    id_ = 0;
    std::memcpy(buf_ + head_, &h, sizeof(H));
  }

  // Removes a header from the front into `h`; false (and `h` untouched) if the message is
  // shorter than the header.
  template <WireHeader H>
  [[nodiscard]] bool pop(H& h) {
    if (!peek(h)) return false;
    head_ += static_cast<std::uint32_t>(sizeof(H));
    id_ = 0;
    return true;
  }

  // Reads a header from the front without removing it.
  template <WireHeader H>
  [[nodiscard]] bool peek(H& h) const {
    if (size() < sizeof(H)) return false;
    std::memcpy(&h, buf_ + head_, sizeof(H));
    return true;
  }

  // Drops the first `n` bytes; false if there are fewer.
  [[nodiscard]] bool drop_front(std::size_t n);
  // Keeps the first `n` bytes; false if there are fewer.
  [[nodiscard]] bool truncate(std::size_t n);
  // Appends bytes at the end, growing the buffer if needed.
  void append(std::span<const std::byte> bytes);

  friend bool operator==(const Msg& a, const Msg& b) {
    return a.size() == b.size() &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
  }

private:
  void steal(Msg& other) {
    buf_ = other.buf_;
    capacity_ = other.capacity_;
    head_ = other.head_;
    tail_ = other.tail_;
    id_ = other.id_;
    other.buf_ = nullptr;
    other.capacity_ = other.head_ = other.tail_ = 0;
    other.id_ = 0;
  }
  void release();
  void grow_front(std::size_t need);
  void reserve_back(std::size_t need);
  // Moves the payload into a new buffer of at least `capacity` bytes, starting at `head`.
  void move_to(std::uint32_t capacity, std::uint32_t head);
  std::uint64_t new_content_id() const;

  std::byte* buf_ = nullptr;
  std::uint32_t capacity_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t tail_ = 0;
  mutable std::uint64_t id_ = 0; // content_id(), 0 until asked for or after a change
};

// Counters of the calling thread's buffer pool, for tests and benchmarks.
struct PoolStats {
  std::uint64_t acquired = 0;  // buffers handed out
  std::uint64_t allocated = 0; // of which freshly allocated (pool empty or oversize)
};
PoolStats pool_stats();

} // namespace lamina
