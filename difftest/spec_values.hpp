// C++ layer state as spec values: the bridge that lets a C++ layer's fields be compared with
// the variables of its spec, by name (conformance tests, difftest against the spec simulator).
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "runtime/layer.hpp"
#include "runtime/reflect.hpp"
#include "spec/sim.hpp"

namespace lamina::difftest {

template <class T>
struct is_std_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_std_map<std::map<K, V, C, A>> : std::true_type {};
template <class T>
struct is_std_set : std::false_type {};
template <class K, class C, class A>
struct is_std_set<std::set<K, C, A>> : std::true_type {};
template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};
template <class T, class A> // a Seq the layer takes from the front too
struct is_std_vector<std::deque<T, A>> : std::true_type {};
template <class T>
struct is_peer_table : std::false_type {};
template <class T>
struct is_peer_table<PeerTable<T>> : std::true_type {};
template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};

// Converts a C++ field to the spec value of type `t`; false and the reason if the two do not
// correspond (a layer whose state is not what its spec says).
template <class T>
bool to_value(const T& x, const spec::Type& t, spec::Value& out, std::string& why) {
  using spec::TypeKind;
  using spec::Value;
  const auto mismatch = [&](const char* cpp) {
    why = fmt::format("C++ {} where the spec has {}", cpp,
                      spec::type_name(std::make_shared<spec::Type>(t)));
    return false;
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (t.kind != TypeKind::Bool) return mismatch("bool");
    out = Value::boolean(x);
  } else if constexpr (std::is_enum_v<T>) {
    if (t.kind == TypeKind::Enum)
      out = Value::enumerator(static_cast<std::uint32_t>(x));
    else if (spec::is_integer(t))
      out = Value::integer(static_cast<std::underlying_type_t<T>>(x));
    else
      return mismatch("enum");
  } else if constexpr (std::is_integral_v<T>) {
    if (!spec::is_integer(t)) return mismatch("integer");
    out = Value::integer(x);
  } else if constexpr (is_duration<T>::value) {
    if (!spec::is_integer(t)) return mismatch("duration");
    out = Value::integer(std::chrono::duration_cast<std::chrono::nanoseconds>(x).count());
  } else if constexpr (std::is_same_v<T, Msg>) {
    if (t.kind != TypeKind::Msg) return mismatch("Msg");
    out = Value::msg(x.bytes());
  } else if constexpr (is_peer_table<T>::value || is_std_map<T>::value) {
    if (t.kind != TypeKind::Map) return mismatch("map");
    out = Value::empty_map();
    const Value dflt = spec::default_value(*t.value);
    auto add = [&](const auto& key, const auto& value) {
      Value k, v;
      if (!to_value(key, *t.elem, k, why) || !to_value(value, *t.value, v, why)) return false;
      out.map_set(k, std::move(v), dflt);
      return true;
    };
    if constexpr (is_peer_table<T>::value) {
      PeerId peer = 0;
      for (const auto& value : x)
        if (!add(peer++, value)) return false;
    } else {
      for (const auto& [key, value] : x)
        if (!add(key, value)) return false;
    }
  } else if constexpr (is_std_set<T>::value || is_std_vector<T>::value) {
    const bool set = is_std_set<T>::value;
    if (t.kind != (set ? TypeKind::Set : TypeKind::Seq)) return mismatch(set ? "set" : "vector");
    std::vector<Value> elems;
    for (const auto& e : x) {
      Value v;
      if (!to_value(e, *t.elem, v, why)) return false;
      elems.push_back(std::move(v));
    }
    out = set ? Value::set(std::move(elems)) : Value::seq(std::move(elems));
  } else if constexpr (boost::hana::Struct<T>::value) {
    if (t.kind != TypeKind::Record) return mismatch("struct");
    std::vector<Value> fields(t.fields.size());
    std::vector<bool> found(t.fields.size(), false);
    bool ok = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto acc) {
      const std::string name = boost::hana::to<const char*>(boost::hana::first(acc));
      for (std::size_t i = 0; ok && i < t.fields.size(); ++i) {
        if (t.fields[i].first != name) continue;
        found[i] = true;
        ok = to_value(boost::hana::second(acc)(x), *t.fields[i].second, fields[i], why);
      }
    });
    if (!ok) return false;
    for (std::size_t i = 0; i < found.size(); ++i)
      if (!found[i]) return mismatch(("struct without field " + t.fields[i].first).c_str());
    out = Value::record(std::move(fields));
  } else {
    static_assert(sizeof(T) == 0, "to_value: no conversion for this C++ type");
  }
  return true;
}

// Whether the C++ field `x` equals the spec value `v` of type `t`: what to_value then == would
// say, without building the value (difftest compares the state of every layer after every
// event). False also where to_value would fail.
template <class T>
bool same_value(const T& x, const spec::Type& t, const spec::Value& v) {
  using spec::TypeKind;
  using spec::Value;
  if constexpr (std::is_same_v<T, bool>) {
    return t.kind == TypeKind::Bool && v.as_bool() == x;
  } else if constexpr (std::is_enum_v<T>) {
    if (t.kind == TypeKind::Enum) return v.as_enum() == static_cast<std::uint32_t>(x);
    return spec::is_integer(t) && v.as_int() == static_cast<std::underlying_type_t<T>>(x);
  } else if constexpr (std::is_integral_v<T>) {
    return spec::is_integer(t) && v.as_int() == x;
  } else if constexpr (is_duration<T>::value) {
    return spec::is_integer(t) &&
           v.as_int() == std::chrono::duration_cast<std::chrono::nanoseconds>(x).count();
  } else if constexpr (std::is_same_v<T, Msg>) {
    const auto a = x.bytes();
    const auto b = v.bytes();
    return t.kind == TypeKind::Msg && a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
  } else if constexpr (is_peer_table<T>::value || is_std_map<T>::value) {
    if (t.kind != TypeKind::Map) return false;
    // The spec's map holds the entries that are not at the default, in ascending key order;
    // so do the C++ containers, once their entries at the default are skipped.
    const Value dflt = spec::default_value(*t.value);
    std::size_t i = 0;
    auto entry = [&](const auto& key, const auto& value) {
      if (same_value(value, *t.value, dflt)) return true;
      return i < v.map_size() && same_value(key, *t.elem, v.map_key(i)) &&
             same_value(value, *t.value, v.map_value(i++));
    };
    if constexpr (is_peer_table<T>::value) {
      PeerId peer = 0;
      for (const auto& value : x)
        if (!entry(peer++, value)) return false;
    } else {
      for (const auto& [key, value] : x)
        if (!entry(key, value)) return false;
    }
    return i == v.map_size();
  } else if constexpr (is_std_set<T>::value || is_std_vector<T>::value) {
    if (t.kind != (is_std_set<T>::value ? TypeKind::Set : TypeKind::Seq)) return false;
    if (x.size() != v.items().size()) return false;
    std::size_t i = 0;
    for (const auto& e : x)
      if (!same_value(e, *t.elem, v.items()[i++])) return false;
    return true;
  } else if constexpr (boost::hana::Struct<T>::value) {
    if (t.kind != TypeKind::Record || v.items().size() != t.fields.size()) return false;
    std::size_t matched = 0;
    std::size_t k = 0; // the accessor's position: fields are usually in the spec's order
    bool same = true;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto acc) {
      const std::string_view name = boost::hana::to<const char*>(boost::hana::first(acc));
      std::size_t i = k < t.fields.size() && t.fields[k].first == name ? k : 0;
      while (i < t.fields.size() && t.fields[i].first != name) ++i;
      ++k;
      if (!same || i == t.fields.size()) return;
      ++matched;
      same = same_value(boost::hana::second(acc)(x), *t.fields[i].second, v.items()[i]);
    });
    return same && matched == t.fields.size();
  } else {
    static_assert(sizeof(T) == 0, "same_value: no comparison for this C++ type");
  }
}

// The first field in which the C++ layer's state differs from the spec's (`left` the C++ value,
// `right` the spec's), or nullopt. A field that one side lacks, or whose C++ type does not
// correspond to the spec's, is a difference too.
// `Variables` is a range of spec::NamedValue or spec::VariableView.
template <class L, class Variables>
std::optional<FieldDiff> state_difference(const L& layer, const Variables& spec_state) {
  // The common case, everything equal, without building a single value.
  std::size_t matched = 0;
  bool same = true;
  boost::hana::for_each(boost::hana::accessors<L>(), [&](auto acc) {
    const std::string_view name = boost::hana::to<const char*>(boost::hana::first(acc));
    for (const auto& sv : spec_state) {
      if (!same || sv.name != name) continue;
      ++matched;
      same = same_value(boost::hana::second(acc)(layer), *sv.type, sv.value);
    }
  });
  if (same && matched == spec_state.size() &&
      matched == decltype(boost::hana::length(boost::hana::accessors<L>()))::value)
    return std::nullopt;

  std::optional<FieldDiff> diff;
  std::set<std::string> cpp_fields;
  boost::hana::for_each(boost::hana::accessors<L>(), [&](auto acc) {
    cpp_fields.insert(boost::hana::to<const char*>(boost::hana::first(acc)));
  });
  for (const auto& sv : spec_state) {
    if (diff) break;
    if (!cpp_fields.erase(std::string(sv.name))) {
      diff = FieldDiff{std::string(sv.name), "(no C++ field of that name)",
                       spec::to_string(sv.value, *sv.type)};
      break;
    }
    boost::hana::for_each(boost::hana::accessors<L>(), [&](auto acc) {
      if (diff || sv.name != boost::hana::to<const char*>(boost::hana::first(acc))) return;
      spec::Value cpp;
      std::string why;
      if (!to_value(boost::hana::second(acc)(layer), *sv.type, cpp, why))
        diff = FieldDiff{std::string(sv.name), why, spec::to_string(sv.value, *sv.type)};
      else if (!(cpp == sv.value))
        diff = FieldDiff{std::string(sv.name), spec::to_string(cpp, *sv.type),
                         spec::to_string(sv.value, *sv.type)};
    });
  }
  if (!diff && !cpp_fields.empty())
    diff = FieldDiff{*cpp_fields.begin(), "(a C++ field)", "(not in the spec)"};
  return diff;
}

} // namespace lamina::difftest
