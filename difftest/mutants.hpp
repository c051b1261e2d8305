// Mutants: deliberately wrong variants of the layers, the test of difftest itself.
//
// Each mutant is the source of one layer with one small change (difftest/mutants/*.mutant),
// compiled at build time into a class of its own (lamina::mutants::<name>::<Layer>) with the
// layer's fields, so that difftest can compare it field by field with the correct layer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/dynamic_stack.hpp"
#include "runtime/registry.hpp"

namespace lamina::difftest {

struct Mutant {
  std::string name;        // "seqno_off_by_one"
  std::string layer;       // the layer it replaces: "Seqno"
  std::string description; // what is wrong with it, one sentence
  // The mutated layer, from the parameters the stack string gives the correct one.
  std::function<std::unique_ptr<DynLayer>(LayerArgs&)> make;
};

// Every mutant, sorted by name.
const std::vector<Mutant>& mutants();
// The mutant called `name`, or null.
const Mutant* find_mutant(std::string_view name);

} // namespace lamina::difftest
