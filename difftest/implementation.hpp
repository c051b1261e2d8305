// The implementations difftest compares: the C++ ones of runtime/implementation.hpp (static,
// dynamic, fused, hand-fused, fused-mutant:NAME), and two of its own: the spec simulator
// (spec) and the dynamic composition with one layer replaced by a mutant (mutant:NAME, see
// mutants.hpp). Difftest reads a layer's state through the operations registered for its
// C++ type (layer_ops.hpp); a spec layer's state is its variables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/implementation.hpp"
#include "spec/program.hpp"
#include "spec/sim.hpp"

namespace lamina::difftest {

using lamina::Implementation;
using lamina::LayerView;

// The type of a spec layer's state in a LayerView: the variables of that layer.
using SpecState = std::vector<spec::VariableView>;

// What an implementation is built from: the stack as the spec declares it, and its stack
// string for the C++ compositions.
struct StackDecl {
  const spec::Program* program = nullptr;
  std::string stack;        // the spec's name for it: "ReliableFifo"
  spec::LayerArgs args;     // the stack's parameters that differ from their defaults
  std::string stack_string; // "Top:Frag(mtu=1400):Seqno:...:Bottom"
};

// Builds implementation `name` of `stack` for `nodes` nodes: "spec", "mutant:NAME", or one of
// lamina::make_implementation's. Throws std::runtime_error with a message for the user when
// `name` is unknown or the stack has no such implementation.
std::unique_ptr<Implementation> make_implementation(std::string_view name, const StackDecl& stack,
                                                    std::uint32_t nodes);

// The implementation names make_implementation knows, for help texts.
std::vector<std::string> implementation_names();

} // namespace lamina::difftest
