// One implementation of a stack: a group of nodes, each an Endpoint, whose layers' state can be
// read. Difftest runs several in lockstep and compares them; the bench times them; a node on a
// real wire is one node of one.
//
// The C++ implementations of a stack string are built here, by name: the dynamic composition
// ("dynamic"), the static composition (static_stacks.hpp, "static"), and the fused stacks
// (fused_stacks.hpp): lamina-opt's ("fused"), the reliable FIFO stack fused by hand
// ("hand-fused"), and mutants of lamina-opt's output ("fused-mutant:NAME"). Difftest adds the
// spec simulator and mutants of the layers (difftest/implementation.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "runtime/dynamic_stack.hpp"
#include "runtime/host.hpp"
#include "runtime/registry.hpp"

namespace lamina {

// The state of one layer of one node, type-erased: `state` points to an object of type `type`
// — the C++ layer object itself, or whatever else an implementation keeps as a layer's state
// (the spec simulator's variables).
struct LayerView {
  std::string_view name; // "Seqno"
  const void* state = nullptr;
  const std::type_info* type = nullptr;
};

class Implementation {
public:
  virtual ~Implementation() = default;
  // "static", "dynamic", "fused", "spec", "mutant:seqno_off_by_one"
  [[nodiscard]] virtual const std::string& name() const = 0;
  [[nodiscard]] virtual std::uint32_t nodes() const = 0;
  [[nodiscard]] virtual Endpoint& endpoint(PeerId node) = 0;
  [[nodiscard]] virtual std::size_t depth() const = 0;
  // Layer `layer` (top = 0) of node `node`, valid until the node next handles an event. Its
  // type is the same for every node and for as long as the implementation lives.
  [[nodiscard]] virtual LayerView layer(PeerId node, std::size_t layer) const = 0;
  // Whether packets on the wire differ in layout from the layered stacks' (a fused stack's
  // compressed header); if so, canonical() expands them.
  [[nodiscard]] virtual bool own_wire_format() const { return false; }
  // A packet as the layered stacks would have put it on the wire.
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
    views.push_back({L::name, &layer, &typeid(L)});
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

// Makes one layer of a dynamic stack from its part of the stack string.
using LayerMaker = std::function<std::unique_ptr<DynLayer>(const LayerSpec&)>;

// `nodes` dynamic stacks of `stack_string`, named `name`; `make` makes each layer (by default
// the layer registry's factory). Throws StackError for a bad stack string.
std::unique_ptr<Implementation> make_dynamic(std::string name, std::string_view stack_string,
                                             std::uint32_t nodes, const LayerMaker& make = {});

// Builds implementation `kind` of `stack_string` for `nodes` nodes: "static", "dynamic",
// "fused", "hand-fused" or "fused-mutant:NAME". `stack` names the stack for messages (its
// spec's name for it). Throws std::runtime_error with a message for the user when `kind` is
// unknown, or the stack has no such build (a static or fused build of a stack that no
// lamina_add_stack() declared), or for a bad parameter.
std::unique_ptr<Implementation> make_implementation(std::string_view kind,
                                                    std::string_view stack_string,
                                                    std::uint32_t nodes,
                                                    std::string_view stack = {});

// The names make_implementation knows, for help texts.
std::vector<std::string> implementation_kinds();

} // namespace lamina
