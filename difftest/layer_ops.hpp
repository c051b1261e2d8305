// Layer state behind a type-erased face: what difftest needs to compare the state of one
// layer in two implementations of a stack, field by field, without knowing the layer's type.
//
// A C++ layer is compared with the same layer in another C++ implementation through Hana
// reflection (fast: no allocation, no printing), with its mutant twin (same fields, other code)
// field by field in declaration order, and with its spec through spec values (spec_values.hpp).
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/zip.hpp>
#include <optional>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "difftest/same_state.hpp"
#include "difftest/spec_values.hpp"
#include "runtime/reflect.hpp"

namespace lamina::difftest {

// The operations on one C++ layer type, `self`. `twin` is the type of the correct layer when
// `self` is a mutant of it, else null.
struct LayerOps {
  const std::type_info* self = nullptr;
  const std::type_info* twin = nullptr;
  // a and b are both `self`. `memo` remembers messages already compared.
  bool (*equal)(const void* a, const void* b, MsgMemo& memo) = nullptr;
  std::vector<FieldDiff> (*diff)(const void* a, const void* b) = nullptr;
  // a is `self`, b is `twin`.
  bool (*equal_twin)(const void* a, const void* b, MsgMemo& memo) = nullptr;
  // a is `self`: marks its per-peer tables unchanged (same_state.hpp), once a has been found
  // equal to its counterparts.
  void (*forget_changes)(const void* a) = nullptr;
  std::vector<FieldDiff> (*diff_twin)(const void* a, const void* b) = nullptr;
  // a is `self`; the first field that differs from the spec's state (left: C++, right: spec).
  std::optional<FieldDiff> (*spec_difference)(
      const void* a, const std::vector<spec::VariableView>& spec) = nullptr;
};

namespace detail {

// Compares two Hana structs whose fields have the same names and types in the same order (a
// layer and a mutant made from its source) with equal(x, y); calls on_diff(name, x, y) for
// each field that differs and returns whether all were equal.
template <class A, class B, class Equal, class OnDiff>
bool compare_fields(const A& a, const B& b, Equal equal, OnDiff on_diff) {
  constexpr auto fa = boost::hana::accessors<A>();
  constexpr auto fb = boost::hana::accessors<B>();
  static_assert(decltype(boost::hana::length(fa))::value ==
                    decltype(boost::hana::length(fb))::value,
                "a mutant must have the fields of the layer it mutates");
  bool same = true;
  boost::hana::for_each(boost::hana::zip(fa, fb), [&](auto pair) {
    auto acc_a = boost::hana::at_c<0>(pair);
    auto acc_b = boost::hana::at_c<1>(pair);
    static_assert(
        std::is_same_v<decltype(boost::hana::first(acc_a)), decltype(boost::hana::first(acc_b))>,
        "a mutant must have the fields of the layer it mutates, in the same order");
    const auto& x = boost::hana::second(acc_a)(a);
    const auto& y = boost::hana::second(acc_b)(b);
    if (!equal(x, y)) {
      same = false;
      on_diff(boost::hana::to<const char*>(boost::hana::first(acc_a)), x, y);
    }
  });
  return same;
}

template <class A, class B>
bool equal_fields(const void* a, const void* b, MsgMemo& memo) {
  return compare_fields(
      *static_cast<const A*>(a), *static_cast<const B*>(b),
      [&](const auto& x, const auto& y) { return same_state(x, y, memo); },
      [](const char*, const auto&, const auto&) {});
}

template <class A, class B>
std::vector<FieldDiff> diff_fields(const void* a, const void* b) {
  std::vector<FieldDiff> out;
  compare_fields(
      *static_cast<const A*>(a), *static_cast<const B*>(b),
      [](const auto& x, const auto& y) { return x == y; },
      [&](const char* name, const auto& x, const auto& y) {
        out.push_back({name, to_text(x), to_text(y)});
      });
  return out;
}

template <class L>
std::optional<FieldDiff> spec_difference(const void* a, const std::vector<spec::VariableView>& s) {
  return state_difference(*static_cast<const L*>(a), s);
}

} // namespace detail

// The operations of layer type L; of a mutant L of layer Twin when Twin is given.
template <class L, class Twin = void>
const LayerOps& layer_ops() {
  static const LayerOps ops = [] {
    LayerOps o;
    o.self = &typeid(L);
    o.equal = &detail::equal_fields<L, L>;
    o.diff = &detail::diff_fields<L, L>;
    o.spec_difference = &detail::spec_difference<L>;
    o.forget_changes = [](const void* a) { difftest::forget_changes(*static_cast<const L*>(a)); };
    if constexpr (!std::is_void_v<Twin>) {
      o.twin = &typeid(Twin);
      o.equal_twin = &detail::equal_fields<L, Twin>;
      o.diff_twin = &detail::diff_fields<L, Twin>;
    }
    return o;
  }();
  return ops;
}

// The operations of the C++ layer types that a dynamic stack may hold, by type: difftest
// registers the standard layers, and each mutant registers its own.
void register_layer_ops(const LayerOps& ops);
// The operations registered for `type`, or null.
const LayerOps* find_layer_ops(const std::type_info& type);

} // namespace lamina::difftest
