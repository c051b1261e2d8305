// What the conformance tests of the layers share (conformance_test.cpp, and
// conformance_services_test.cpp for the services' layers): the layers' specs, and a check of a
// layer against its spec for several seeds. Two files, so that the build compiles them side by
// side.
#pragma once

#include <cstdint>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/registry.hpp"
#include "spec/program.hpp"
#include "tests/conformance.hpp"

namespace lamina::test {

// The specs of components/, loaded once.
inline const spec::Program& layer_specs() {
  static spec::Sources sources;
  static const spec::Program program = [] {
    spec::Diagnostics diags(sources);
    auto p = spec::load(std::string(LAMINA_SOURCE_DIR) + "/components", sources, diags);
    if (!p) throw std::runtime_error("components/ does not check:\n" + diags.format());
    return std::move(*p);
  }();
  return program;
}

inline constexpr std::uint64_t kSeeds = 4;

// `make` builds the layer as the options' `args` set it up, once for each seed.
template <class Make>
void expect_conformance_of(std::string_view name, Make make, ConformanceOptions o) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    o.seed = seed;
    const auto difference = check_conformance(layer_specs(), name, make, o);
    ASSERT_FALSE(difference) << name << " does not conform to its spec:\n" << *difference;
  }
}

template <class L>
void expect_conformance(std::string_view name, ConformanceOptions o = {}) {
  expect_conformance_of(name, [] { return L{}; }, o);
}

// A stack string's parameter value as its spec reads it: a duration in ns, true or false, or
// an integer.
inline spec::Value spec_value(const LayerArgs::Arg& a) {
  if (a.value == "true" || a.value == "false") return spec::Value::boolean(a.value == "true");
  const auto n = parse_nanoseconds(a.value, false);
  if (!n)
    throw std::invalid_argument(fmt::format("{}={}: not a number or a duration", a.key, a.value));
  return spec::Value::integer(*n);
}

// Layer L with the parameters `params`, written as in a stack string ("window=3,bytes=100",
// "timeout=5ms"), once for each seed: the layer is made by its registered factory, as a stack
// string makes it, and its spec gets the same values, so the two are set up from one list.
template <class L>
void expect_conformance_with(std::string_view name, std::string_view params, ConformanceOptions o) {
  const std::vector<LayerSpec> layers = parse_stack_string(fmt::format("{}({})", name, params));
  ASSERT_EQ(layers.size(), 1U);
  for (const LayerArgs::Arg& a : layers[0].args) o.args.emplace_back(a.key, spec_value(a));
  expect_conformance_of(
      name,
      [&] {
        LayerArgs args(std::string(name), layers[0].args);
        return layer_registry().make<L>(args);
      },
      std::move(o));
}

// Seqno, Retransmit, Window and Arq buffer what the driver's lossy network holds back; small
// payloads keep comparing their buffers after every step cheap.
inline ConformanceOptions small_payloads() {
  ConformanceOptions o;
  o.max_payload = 64;
  return o;
}

} // namespace lamina::test
