// What the conformance tests of the layers share (conformance_test.cpp, and
// conformance_services_test.cpp for the services' layers): the layers' specs, and a check of a
// layer against its spec for several seeds. Two files, so that the build compiles them side by
// side.
#pragma once

#include <cstdint>
#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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

// Seqno, Retransmit, Window and Arq buffer what the driver's lossy network holds back; small
// payloads keep comparing their buffers after every step cheap.
inline ConformanceOptions small_payloads() {
  ConformanceOptions o;
  o.max_payload = 64;
  return o;
}

} // namespace lamina::test
