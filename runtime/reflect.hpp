// Reflection of layer state: every field of a layer by name, printed and compared.
//
// Layers list their state fields with BOOST_HANA_ADAPT_STRUCT; `fields` prints them and
// `diff` names the fields in which two layers differ. The printer covers what layer state is
// made of: integers, bools, enums, strings, Msgs, pairs, optionals, ranges (PeerTable, vector,
// deque, map, set) and nested Hana structs.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <fmt/format.h>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/hex.hpp"
#include "runtime/msg.hpp"

namespace lamina {

template <class T>
void print_value(std::string& out, const T& v);

namespace detail {
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
} // namespace detail

inline void print_msg(std::string& out, const Msg& m) { out += msg_text(m.bytes(), 12); }

template <class T>
void print_value(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    fmt::format_to(std::back_inserter(out), "{}", static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_arithmetic_v<T>) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    fmt::format_to(std::back_inserter(out), "\"{}\"", std::string_view(v));
  } else if constexpr (std::is_same_v<T, Msg>) {
    print_msg(out, v);
  } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
    fmt::format_to(std::back_inserter(out), "{}ns", v.count());
  } else if constexpr (detail::is_optional<T>::value) {
    if (v)
      print_value(out, *v);
    else
      out += "none";
  } else if constexpr (detail::is_pair<T>::value) {
    print_value(out, v.first);
    out += ": ";
    print_value(out, v.second);
  } else if constexpr (boost::hana::Struct<T>::value) {
    out += '{';
    bool first = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto acc) {
      if (!first) out += ", ";
      first = false;
      out += boost::hana::to<const char*>(boost::hana::first(acc));
      out += ": ";
      print_value(out, boost::hana::second(acc)(v));
    });
    out += '}';
  } else if constexpr (std::ranges::range<T>) {
    using E = std::ranges::range_value_t<T>;
    const bool keyed = detail::is_pair<E>::value;
    out += keyed ? '{' : '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ", ";
      first = false;
      print_value(out, e);
    }
    out += keyed ? '}' : ']';
  } else {
    static_assert(sizeof(T) == 0, "lamina::print_value: no printer for this type of layer state");
  }
}

template <class T>
std::string to_text(const T& v) {
  std::string out;
  print_value(out, v);
  return out;
}

struct Field {
  std::string name;
  std::string value;
};

// Every field of a Hana struct, by name, printed.
template <class S>
std::vector<Field> fields(const S& s) {
  std::vector<Field> out;
  boost::hana::for_each(boost::hana::accessors<S>(), [&](auto acc) {
    out.push_back({boost::hana::to<const char*>(boost::hana::first(acc)),
                   to_text(boost::hana::second(acc)(s))});
  });
  return out;
}

struct FieldDiff {
  std::string name;
  std::string left;
  std::string right;
};

// The fields in which `a` and `b` differ, with both values printed.
template <class S>
std::vector<FieldDiff> diff(const S& a, const S& b) {
  std::vector<FieldDiff> out;
  boost::hana::for_each(boost::hana::accessors<S>(), [&](auto acc) {
    const auto& x = boost::hana::second(acc)(a);
    const auto& y = boost::hana::second(acc)(b);
    if (!(x == y))
      out.push_back(
          {boost::hana::to<const char*>(boost::hana::first(acc)), to_text(x), to_text(y)});
  });
  return out;
}

} // namespace lamina
