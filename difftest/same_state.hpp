// Equality of C++ layer state for difftest, which compares the state of a node after every
// event: field by field as operator== would, but without reading again what cannot have
// changed since the two sides were last found equal --
// - an entry of a PeerTable that neither side has touched since forget_changes(): a layer
//   that handles a message from one peer leaves the other peers' entries alone;
// - a message that neither side has changed (the MsgMemo below): the copies a layer keeps
//   (Retransmit's unacknowledged packets, Seqno's early arrivals) are read once, not after
//   every event.
#pragma once

#include <algorithm>
#include <boost/hana/accessors.hpp>
#include <boost/hana/all_of.hpp>
#include <boost/hana/any_of.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ranges>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "difftest/spec_values.hpp"
#include "runtime/layer.hpp"
#include "runtime/msg.hpp"
#include "runtime/reflect.hpp"

namespace lamina::difftest {

// Pairs of messages already found to hold the same bytes. The memo keeps a share() of each
// (runtime/msg.hpp): while a buffer has more than one view, the bytes of every view are fixed,
// since a holder that writes gets a copy of its own. So a message met again at the same place
// (data(), size()) as a remembered view holds the same bytes as that view, without reading it;
// Msg carries nothing for the checker, and difftest runs the code users run. A small
// direct-mapped table; a pair not in it (never seen, or pushed out by another) is compared byte
// by byte, so the table's size bounds only the saving.
class MsgMemo {
public:
  [[nodiscard]] bool same(const Msg& a, const Msg& b) {
    if (a.size() != b.size()) return false;
    // A short message is compared faster than it is looked up.
    if (a.size() < kShortest)
      return a.size() == 0 || std::memcmp(a.data(), b.data(), a.size()) == 0;
    Pair& slot = table_[index(a.data(), b.data())];
    if (slot.a.data() == a.data() && slot.b.data() == b.data() && slot.a.size() == a.size() &&
        slot.b.size() == b.size())
      return true;
    if (std::memcmp(a.data(), b.data(), a.size()) != 0) return false;
    slot = {a.share(), b.share()};
    return true;
  }

private:
  static constexpr std::size_t kShortest = 128;
  static constexpr int kBits = 10;
  struct Pair {
    Msg a; // empty: matches no message of kShortest bytes or more
    Msg b;
  };
  static std::size_t index(const std::byte* a, const std::byte* b) {
    const auto x = reinterpret_cast<std::uintptr_t>(a);
    const auto y = reinterpret_cast<std::uintptr_t>(b);
    return static_cast<std::size_t>((x * 0x9e3779b97f4a7c15u ^ y * 0xc2b2ae3d27d4eb4fu) >>
                                    (64 - kBits));
  }
  std::vector<Pair> table_ = std::vector<Pair>(std::size_t{1} << kBits);
};

namespace detail {

using lamina::detail::is_optional; // runtime/reflect.hpp
using lamina::detail::is_pair;

template <class T>
constexpr bool is_byte_string = std::is_convertible_v<const T&, std::string_view>;

template <class T>
constexpr bool holds_msg();

template <class S>
constexpr bool struct_holds_msg() {
  return decltype(boost::hana::any_of(boost::hana::accessors<S>(), [](auto acc) {
    using F = std::remove_cvref_t<decltype(boost::hana::second(acc)(std::declval<const S&>()))>;
    return boost::hana::bool_c<holds_msg<F>()>;
  }))::value;
}

// Whether T has a Msg anywhere inside: only then is it compared piece by piece; anything else
// is compared with its own operator==.
template <class T>
constexpr bool holds_msg() {
  if constexpr (std::is_same_v<T, Msg>)
    return true;
  else if constexpr (is_optional<T>::value)
    return holds_msg<typename T::value_type>();
  else if constexpr (is_pair<T>::value)
    return holds_msg<std::remove_const_t<typename T::first_type>>() ||
           holds_msg<typename T::second_type>();
  else if constexpr (boost::hana::Struct<T>::value)
    return struct_holds_msg<T>();
  else if constexpr (std::ranges::range<T> && !is_byte_string<T>) // PeerTable too
    return holds_msg<std::ranges::range_value_t<T>>();
  else
    return false;
}

} // namespace detail

// a == b, field by field, with messages compared through `memo`.
template <class T>
bool same_state(const T& a, const T& b, MsgMemo& memo) {
  if constexpr (is_peer_table<T>::value) {
    // A peer never touched reads as T{}, as PeerTable's operator== has it.
    const std::size_t n = std::max(a.size(), b.size());
    for (PeerId p = 0; p < n; ++p)
      if ((a.may_have_changed(p) || b.may_have_changed(p)) && !same_state(a.get(p), b.get(p), memo))
        return false;
    return true;
  } else if constexpr (!detail::holds_msg<T>()) {
    return a == b;
  } else if constexpr (std::is_same_v<T, Msg>) {
    return memo.same(a, b);
  } else if constexpr (detail::is_optional<T>::value) {
    return a.has_value() == b.has_value() && (!a || same_state(*a, *b, memo));
  } else if constexpr (detail::is_pair<T>::value) {
    return same_state(a.first, b.first, memo) && same_state(a.second, b.second, memo);
  } else if constexpr (boost::hana::Struct<T>::value) {
    return boost::hana::all_of(boost::hana::accessors<T>(), [&](auto acc) {
      return same_state(boost::hana::second(acc)(a), boost::hana::second(acc)(b), memo);
    });
  } else {
    static_assert(std::ranges::sized_range<T>, "a container of messages must know its size");
    if (std::ranges::size(a) != std::ranges::size(b)) return false;
    auto j = std::ranges::begin(b);
    for (const auto& x : a)
      if (!same_state(x, *j++, memo)) return false;
    return true;
  }
}

// Marks every PeerTable of `x` (a layer) unchanged, once it has been found equal to its
// counterparts. A table inside a container is not reached, and keeps being compared whole.
template <class T>
void forget_changes(const T& x) {
  if constexpr (is_peer_table<T>::value) {
    x.forget_changes();
  } else if constexpr (boost::hana::Struct<T>::value) {
    boost::hana::for_each(boost::hana::accessors<T>(),
                          [&](auto acc) { forget_changes(boost::hana::second(acc)(x)); });
  }
}

} // namespace lamina::difftest
