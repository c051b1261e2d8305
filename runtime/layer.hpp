// The layer concept: what a protocol micro-layer must look like to be stacked.
//
// A layer is a plain class: its state as data members, listed after the class with
// BOOST_HANA_ADAPT_STRUCT (so that tests and tools can print and compare every field), a trivially
// copyable wire `Header` (or NoHeader), the handlers `down`, `up` and optionally `timer`, and the
// common-case predicates `ccp_down(ev)` and `ccp_up(ev, h)`. A CCP that depends on the node (its
// `me()` or `group_size()`) takes the Ports too, as a last parameter it may only read:
// `ccp_down(ev, io)`, `ccp_up(ev, h, io)`. A layer whose `down` takes the application's header off
// the message (Rpc: the application speaks to it in its own Header) may say its common case of
// that header too, `ccp_down(ev, h)`: it is asked only of a message that starts with a Header,
// `h` that header, and is false otherwise. Handlers reach their neighbours only through the
// Ports they are given:
//
//   io.down(ev)   pass `ev` to the layer below (or, from Bottom, to the transport)
//   io.up(ev)     pass `ev` to the layer above (or, from Top, to the application)
//   io.now(), io.me(), io.group_size(), io.set_timer(delay)
//
// A layer also says what it guarantees to the layers above (`provides`) and what it needs
// from the layers below (`needs_below`); composition checks that every need is met.
#pragma once

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/ext/std/tuple.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/keys.hpp>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/composition.hpp"
#include "runtime/event.hpp"

namespace lamina {

// Header of a layer that puts nothing on the wire.
struct NoHeader {};

// The Ports every handler is instantiated with when the concept is checked.
struct PortsArchetype {
  void down(Event&);
  void up(Event&);
  [[nodiscard]] Time now() const;
  [[nodiscard]] PeerId me() const;
  [[nodiscard]] std::uint32_t group_size() const;
  void set_timer(Duration);
};

template <class L>
concept Layer =
    requires { typename L::Header; } && std::is_trivially_copyable_v<typename L::Header> &&
    std::is_convertible_v<decltype(L::name), std::string_view> && boost::hana::Struct<L>::value &&
    requires(L& layer, Event& ev, PortsArchetype& io) {
      layer.down(ev, io);
      layer.up(ev, io);
    } &&
    requires(const L& cl, const Event& cev, const typename L::Header& h, const PortsArchetype& io) {
      requires requires {
        { cl.ccp_down(cev) } -> std::same_as<bool>;
      } || requires {
        { cl.ccp_down(cev, io) } -> std::same_as<bool>;
      } || requires {
        { cl.ccp_down(cev, h) } -> std::same_as<bool>;
      };
      requires requires {
        { cl.ccp_up(cev, h) } -> std::same_as<bool>;
      } || requires {
        { cl.ccp_up(cev, h, io) } -> std::same_as<bool>;
      };
    };

// A layer's CCPs, given the Ports of the node where they are asked, whichever form it declares.
template <class L, class Ports>
bool ccp_down_at(const L& layer, const Event& ev, const Ports& io) {
  if constexpr (requires { layer.ccp_down(ev, io); }) {
    return layer.ccp_down(ev, io);
  } else if constexpr (requires(const typename L::Header& h) { layer.ccp_down(ev, h); }) {
    typename L::Header h{}; // the application's header, in front of its message
    return ev.msg.peek(h) && layer.ccp_down(ev, h);
  } else {
    return layer.ccp_down(ev);
  }
}
template <class L, class Ports>
bool ccp_up_at(const L& layer, const Event& ev, const typename L::Header& h, const Ports& io) {
  if constexpr (requires { layer.ccp_up(ev, h, io); })
    return layer.ccp_up(ev, h, io);
  else
    return layer.ccp_up(ev, h);
}

template <class L>
constexpr bool has_timer =
    requires(L& layer, Event& ev, PortsArchetype& io) { layer.timer(ev, io); };

template <class L>
constexpr Guarantees provides_of() {
  if constexpr (requires { L::provides; })
    return L::provides;
  else
    return {};
}

template <class L>
constexpr Guarantees needs_of() {
  if constexpr (requires { L::needs_below; })
    return L::needs_below;
  else
    return {};
}

template <class L>
constexpr Place place_of() {
  if constexpr (requires { L::place; })
    return L::place;
  else
    return Place::anywhere;
}

// A layer's handle to the implementation of an oracle that its spec calls (spec/README.md,
// "Oracles"): something outside the layer that the spec models as a function, as the ANTS layers
// model the capsule code they run. It is not state: the layer check, conformance and difftest
// pass it by (it is not in BOOST_HANA_ADAPT_STRUCT), and a copy of the layer shares it. Empty,
// the layer uses the oracle's reference implementation, which the spec simulator calls too.
template <class T>
class Oracle {
public:
  Oracle() = default;
  explicit Oracle(T* impl) : impl_(impl) {}
  [[nodiscard]] T* get() const { return impl_; }
  explicit operator bool() const { return impl_ != nullptr; }
  T* operator->() const { return impl_; }
  T& operator*() const { return *impl_; }

private:
  T* impl_ = nullptr;
};

// A table indexed by peer id that grows on first use of a peer, so that a layer needs no
// set-up with the group size. Entries never touched read as T{}.
//
// The table also notes which entries may have changed, for a checker that compares the same
// state again and again (difftest): operator[], the only mutable access, marks the entry (a
// walk over the table reads only), and the checker asks may_have_changed(p) and clears the
// marks with forget_changes(). A new table, or one assigned to, has every bit set. The bits are not
// part of the table's value.
template <class T>
class PeerTable {
public:
  PeerTable() = default;
  PeerTable(const PeerTable& other) : entries_(other.entries_), size_(other.size_) {}
  PeerTable(PeerTable&& other) noexcept
      : entries_(std::move(other.entries_)), size_(std::exchange(other.size_, 0)) {
    other.entries_.clear();
    other.changed_ = kAll;
  }
  PeerTable& operator=(const PeerTable& other) {
    entries_ = other.entries_;
    size_ = other.size_;
    changed_ = kAll;
    return *this;
  }
  PeerTable& operator=(PeerTable&& other) noexcept {
    entries_ = std::move(other.entries_);
    size_ = std::exchange(other.size_, 0);
    other.entries_.clear();
    changed_ = other.changed_ = kAll;
    return *this;
  }
  ~PeerTable() = default;

  // operator[] and get() are inlined: a layer's common path reads and writes several tables, and
  // clang would otherwise call out for each (get()'s static makes it look bigger than it is).
  [[gnu::always_inline]] T& operator[](PeerId p) {
    changed_ |= bit(p);
    if (p >= size_) grow(p);
    return entries_[p];
  }
  [[nodiscard]] const T* find(PeerId p) const { return p < size_ ? &entries_[p] : nullptr; }
  // The entry of `p` without adding it: what operator[] would read, T{} if never touched.
  [[nodiscard, gnu::always_inline]] const T& get(PeerId p) const {
    static const T untouched{};
    return p < size_ ? entries_[p] : untouched;
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  // Iteration reads only: an entry is changed through operator[], which marks it.
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

  // Whether the entry of `p` may have changed since forget_changes(). Peers 64 apart share a
  // bit, so a set bit may stand for another peer's change; a clear one never hides a change.
  [[nodiscard]] bool may_have_changed(PeerId p) const { return (changed_ & bit(p)) != 0; }
  void forget_changes() const { changed_ = 0; }

  friend bool operator==(const PeerTable& a, const PeerTable& b) {
    static const T untouched{};
    const std::size_t n = std::max(a.entries_.size(), b.entries_.size());
    for (std::size_t i = 0; i < n; ++i) {
      const T& x = i < a.entries_.size() ? a.entries_[i] : untouched;
      const T& y = i < b.entries_.size() ? b.entries_[i] : untouched;
      if (!(x == y)) return false;
    }
    return true;
  }

private:
  static constexpr std::uint64_t kAll = ~std::uint64_t{0};
  static std::uint64_t bit(PeerId p) { return std::uint64_t{1} << (p % 64); }
  [[gnu::noinline]] void grow(PeerId p) {
    entries_.resize(static_cast<std::size_t>(p) + 1);
    size_ = p + 1;
  }

  // std::vector<bool> hands out proxies, not bool&: a table of Bool is a deque.
  std::conditional_t<std::is_same_v<T, bool>, std::deque<bool>, std::vector<T>> entries_;
  // entries_.size(), kept apart: compared on every access, it is one load, not a division.
  PeerId size_ = 0;
  mutable std::uint64_t changed_ = kAll; // bookkeeping for checkers, not state
};

// Turns a Cast into one Send per other member of the group, each with its own copy of the
// message, for layers whose state is per peer. Calls `each(Event&)` with every Send.
template <class Ports, class F>
void split_cast(Event& ev, Ports& io, F&& each) {
  const PeerId me = io.me();
  const std::uint32_t n = io.group_size();
  const PeerId last = me + 1 == n ? me - 1 : n - 1;
  for (PeerId p = 0; p < n; ++p) {
    if (p == me) continue;
    Event send{EventType::Send, p, p == last ? std::move(ev.msg) : ev.msg.share(), ev.time,
               ev.lamport};
    each(send);
  }
}

} // namespace lamina
