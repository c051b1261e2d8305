// One implementation of a stack, as difftest drives it: a group of nodes, each an Endpoint,
// whose layers' state can be read and compared.
//
// The implementations Lamina has: the spec simulator (spec), the static composition (static),
// the dynamic composition (dynamic), the dynamic composition with one layer replaced by a
// mutant (mutant:NAME), and the fused stacks (fused_stacks.hpp): lamina-opt's (fused), the
// reliable FIFO stack fused by hand (hand-fused), and mutants of lamina-opt's output
// (fused-mutant:NAME).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "difftest/layer_ops.hpp"
#include "runtime/host.hpp"
#include "spec/program.hpp"

namespace lamina::difftest {

// The state of one layer of one node: a C++ layer object with its operations, or the
// variables of a spec layer.
struct LayerView {
  std::string_view name; // "Seqno"
  const void* object = nullptr;
  const LayerOps* ops = nullptr;
  const std::vector<spec::VariableView>* values = nullptr; // spec layers (object == nullptr)
};

class Implementation {
public:
  virtual ~Implementation() = default;
  // "static", "dynamic", "spec", "mutant:seqno_off_by_one"
  [[nodiscard]] virtual const std::string& name() const = 0;
  [[nodiscard]] virtual std::uint32_t nodes() const = 0;
  [[nodiscard]] virtual Endpoint& endpoint(PeerId node) = 0;
  [[nodiscard]] virtual std::size_t depth() const = 0;
  // Layer `layer` (top = 0) of node `node`, valid until the node next handles an event.
  [[nodiscard]] virtual LayerView layer(PeerId node, std::size_t layer) const = 0;
  // Whether packets on the wire differ in layout from the layered stacks' (a fused stack's
  // compressed header); if so, canonical() expands them for the comparison.
  [[nodiscard]] virtual bool own_wire_format() const { return false; }
  // A packet as the layered stacks would have put it on the wire: what the comparison sees.
  [[nodiscard]] virtual std::vector<std::byte> canonical(const Msg& packet) const;
  // What stopped this implementation, if something did (a spec's run-time error).
  [[nodiscard]] virtual std::optional<std::string> failure() const { return std::nullopt; }
};

// The views of the layers of a lamina::stack, top first: a static stack's, or the layered
// stack inside a fused one.
template <class Stack>
std::vector<LayerView> layer_views(const Stack& stack) {
  std::vector<LayerView> views;
  stack.for_each_layer([&](const auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    views.push_back({L::name, &layer, &layer_ops<L>(), nullptr});
  });
  return views;
}

// An implementation that is a group of nodes of type Node, each an Endpoint.
template <class Node>
class NodeGroup : public Implementation {
public:
  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] std::uint32_t nodes() const override {
    return static_cast<std::uint32_t>(nodes_.size());
  }
  [[nodiscard]] Endpoint& endpoint(PeerId node) override { return *nodes_[node]; }

protected:
  explicit NodeGroup(std::string name) : name_(std::move(name)) {}
  std::string name_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// What an implementation is built from: the stack as the spec declares it, and its stack
// string for the C++ compositions.
struct StackDecl {
  const spec::Program* program = nullptr;
  std::string stack;        // the spec's name for it: "ReliableFifo"
  spec::LayerArgs args;     // the stack's parameters that differ from their defaults
  std::string stack_string; // "Top:Frag(mtu=1400):Seqno:...:Bottom"
};

// Builds implementation `name` of `stack` for `nodes` nodes: "spec", "static", "dynamic",
// "mutant:NAME" (see mutants.hpp), "fused", "hand-fused" or "fused-mutant:NAME". Throws
// std::runtime_error with a message for the user when `name` is unknown or the stack has no
// such implementation (a static or fused build of a stack that no lamina_add_stack declared).
std::unique_ptr<Implementation> make_implementation(std::string_view name, const StackDecl& stack,
                                                    std::uint32_t nodes);

// The implementation names make_implementation knows, for help texts.
std::vector<std::string> implementation_names();

} // namespace lamina::difftest
