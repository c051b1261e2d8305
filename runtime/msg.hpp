// Msg: one contiguous packet buffer with headroom in front of the payload.
//
// A layer pushes its wire header into the headroom on the way down and pops it on the way
// up; the payload is written once and never moves. Buffers come from a per-thread pool of
// size classes, so sending and receiving on the common path does not allocate.
//
// share() gives a second view of the same buffer (a reference count in front of it), for the
// copy a reliable layer keeps to resend: nothing is copied unless a holder writes where another
// holder's bytes may be. Every view may pop, drop_front and truncate freely. A view may push
// without a copy when it holds the buffer alone, or when no other holder has pushed in front of
// the bytes they share; append and writable_data() copy a buffer that is shared. So the packet
// that goes down and the copy kept for resending share one buffer, and a resend of the kept
// copy after the packet is gone copies nothing either. The views of one buffer stay on one
// thread, as its pool does.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace lamina {

static_assert(std::endian::native == std::endian::little,
              "wire headers are copied in host byte order; Lamina assumes a little-endian host");

// A wire header: a fixed-size, trivially copyable struct copied byte for byte. Without padding
// (std::has_unique_object_representations): its padding would put whatever bytes the copied
// object held on the wire, under the CRC, and a fused receiver, which rebuilds the layered
// headers from their fields to check the CRC, could not rebuild them. Name the padding as a
// field instead (`std::uint8_t unused[3]{}`).
template <class H>
concept WireHeader = std::is_trivially_copyable_v<H> && std::is_standard_layout_v<H> &&
                     std::has_unique_object_representations_v<H>;

// The bytes that Msg::push(hs...) puts in front of a message, in a buffer of their own: the last
// header first.
template <WireHeader... H>
  requires(sizeof...(H) > 0)
std::array<std::byte, (sizeof(H) + ...)> header_bytes(const H&... hs) {
  std::array<std::byte, (sizeof(H) + ...)> out;
  std::size_t at = out.size();
  ((at -= sizeof(H), std::memcpy(out.data() + at, &hs, sizeof(H))), ...);
  return out;
}

// [[clang::trivial_abi]]: a Msg (a pointer and two offsets, 16 bytes) is passed to a function and
// returned in registers, although moving one empties the source and destroying one may give a
// buffer back; the callee destroys a parameter. Messages are passed by value on every path.
class [[clang::trivial_abi]] Msg {
public:
  // Room in front of a new payload for the headers of a whole stack.
  static constexpr std::size_t kHeadroom = 96;

  Msg() = default;
  Msg(Msg&& other) noexcept { steal(other); }
  Msg& operator=(Msg&& other) noexcept {
    if (this != &other) {
      if (buf_ != nullptr) release();
      steal(other);
    }
    return *this;
  }
  Msg(const Msg&) = delete;
  Msg& operator=(const Msg&) = delete;
  ~Msg() {
    if (buf_ != nullptr) release();
  }

  // A message whose payload is `size` zero bytes, with kHeadroom bytes free in front.
  static Msg with_size(std::size_t size);
  // A message holding a copy of `bytes`, with kHeadroom bytes free in front.
  static Msg copy_of(std::span<const std::byte> bytes);
  // A message of `size` bytes left unwritten, with kHeadroom bytes free in front: a buffer for
  // a receive to write into (writable_data()), truncated afterwards to what arrived.
  static Msg unfilled(std::size_t size);
  // A deep copy (a new pooled buffer).
  [[nodiscard]] Msg clone() const;
  // Another view of the same bytes in the same buffer (see the top of this file). In line: a
  // reliable layer's kept copy is made on every message sent.
  [[nodiscard]] Msg share() const {
    if (buf_ == nullptr) return {};
    Control* c = control();
    // Alone, the buffer has no bytes of others: the lowest push is this view's start.
    c->front = c->views == 1 ? head_ : std::min(c->front, head_);
    ++c->views;
    Msg m;
    m.buf_ = buf_;
    m.head_ = head_;
    m.tail_ = tail_;
    return m;
  }

  [[nodiscard]] std::size_t size() const { return tail_ - head_; }
  [[nodiscard]] bool empty() const { return head_ == tail_; }
  [[nodiscard]] const std::byte* data() const { return buf_ + head_; }
  [[nodiscard]] std::span<const std::byte> bytes() const { return {data(), size()}; }
  // The bytes, to write: a buffer shared with another view is copied first.
  [[nodiscard]] std::byte* writable_data() {
    if (buf_ != nullptr && shared()) unshare();
    return buf_ + head_;
  }
  [[nodiscard]] std::span<std::byte> writable_bytes() { return {writable_data(), size()}; }
  [[nodiscard]] std::size_t headroom() const { return head_; }
  // Whether another view holds this buffer too.
  [[nodiscard]] bool shared() const { return buf_ != nullptr && control()->views > 1; }

  // Prepends `hs`, one after another: push(a, b) is push(a); push(b), with `b` in front, but
  // checks for room once. Moves the payload only when the headroom is exhausted (never on a
  // stack whose headers fit in kHeadroom), or when another view's bytes may be in front of it.
  template <WireHeader... H>
    requires(sizeof...(H) > 0)
  void push(const H&... hs) {
    constexpr std::size_t n = (sizeof(H) + ...);
    if (head_ < n || !may_push()) grow_front(n);
    ((head_ -= static_cast<std::uint32_t>(sizeof(H)), std::memcpy(buf_ + head_, &hs, sizeof(H))),
     ...);
    if (control()->views > 1) control()->front = head_;
  }

  // Makes room for `n` bytes in front and returns where they go: a header whose size is known
  // only at run time (a fused stack's compressed header, its integers of variable length),
  // written in place by the caller.
  [[nodiscard]] std::byte* claim_front(std::size_t n) {
    if (head_ < n || !may_push()) grow_front(n);
    head_ -= static_cast<std::uint32_t>(n);
    if (control()->views > 1) control()->front = head_;
    return buf_ + head_;
  }

  // Removes a header from the front into `h`; false (and `h` untouched) if the message is
  // shorter than the header.
  template <WireHeader H>
  [[nodiscard]] bool pop(H& h) {
    if (!peek(h)) return false;
    head_ += static_cast<std::uint32_t>(sizeof(H));
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
  [[nodiscard]] bool drop_front(std::size_t n) {
    if (n > size()) return false;
    head_ += static_cast<std::uint32_t>(n);
    return true;
  }
  // Keeps the first `n` bytes; false if there are fewer.
  [[nodiscard]] bool truncate(std::size_t n) {
    if (n > size()) return false;
    tail_ = head_ + static_cast<std::uint32_t>(n);
    return true;
  }
  // Appends bytes at the end, growing (or unsharing) the buffer if needed.
  void append(std::span<const std::byte> bytes);

  friend bool operator==(const Msg& a, const Msg& b) {
    return a.size() == b.size() &&
           (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0);
  }

private:
  // In front of every buffer: how many views hold it, the lowest offset that a holder has
  // pushed to while it was shared (no view's bytes start below it), the buffer's capacity
  // (here, not in each view, so that a Msg is two words and is passed in registers), and the
  // pool's size class it came from, found once when it is taken, not again when it goes back.
  struct Control {
    std::uint32_t views;
    std::uint32_t front;
    std::uint32_t capacity;
    std::uint32_t size_class; // the pool's number of classes: not from the pool
  };
  static_assert(sizeof(Control) == 16);
  [[nodiscard]] Control* control() const { return reinterpret_cast<Control*>(buf_) - 1; }
  [[nodiscard]] std::uint32_t capacity() const { return buf_ == nullptr ? 0 : control()->capacity; }
  // A push writes just in front of head_: nobody else's bytes are there if this view holds the
  // buffer alone, or if it starts where the lowest push so far did.
  [[nodiscard]] bool may_push() const { return control()->views == 1 || control()->front == head_; }
  void steal(Msg& other) {
    buf_ = other.buf_;
    head_ = other.head_;
    tail_ = other.tail_;
    other.buf_ = nullptr;
    other.head_ = other.tail_ = 0;
  }
  // Lets go of the buffer (buf_ != nullptr): the last view gives it back to the pool.
  void release();
  // Copies the bytes into a buffer of this view's own.
  void unshare();
  static std::byte* fresh_buffer(std::uint32_t& capacity);
  void grow_front(std::size_t need);
  void reserve_back(std::size_t need);
  // Moves the payload into a new buffer of at least `capacity` bytes, starting at `head`.
  void move_to(std::uint32_t capacity, std::uint32_t head);

  std::byte* buf_ = nullptr; // just after its Control
  std::uint32_t head_ = 0;
  std::uint32_t tail_ = 0;
};
static_assert(sizeof(Msg) == 16);

// Orders messages, and byte spans among them, by their bytes (memcmp order, a prefix first): the
// comparator of a map keyed by messages, a spec's Map[Msg, V], which can then be searched with a
// span of a packet's bytes without making a message of them.
struct ByteOrder {
  using is_transparent = void;
  static std::span<const std::byte> view(const Msg& m) { return m.bytes(); }
  static std::span<const std::byte> view(std::span<const std::byte> s) { return s; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const auto x = view(a);
    const auto y = view(b);
    const std::size_t n = std::min(x.size(), y.size());
    const int c = n == 0 ? 0 : std::memcmp(x.data(), y.data(), n);
    return c < 0 || (c == 0 && x.size() < y.size());
  }
};

// Counters of the calling thread's buffer pool, for tests and benchmarks.
struct PoolStats {
  std::uint64_t acquired = 0;  // buffers handed out
  std::uint64_t allocated = 0; // of which freshly allocated (pool empty or oversize)
};
PoolStats pool_stats();

} // namespace lamina
