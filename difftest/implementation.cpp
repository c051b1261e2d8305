#include "difftest/implementation.hpp"

#include <fmt/format.h>
#include <map>
#include <stdexcept>
#include <typeindex>

#include "difftest/fused_stacks.hpp"
#include "difftest/mutants.hpp"
#include "difftest/static_stacks.hpp"
#include "runtime/dynamic_stack.hpp"
#include "runtime/registry.hpp"
#include "spec/sim.hpp"

namespace lamina::difftest {

namespace {

// The operations of every C++ layer type difftest may meet, registered as the program starts:
// by the generated static stacks (lamina_add_stack), and by each mutant.
std::map<std::type_index, const LayerOps*>& ops_table() {
  static std::map<std::type_index, const LayerOps*> table;
  return table;
}

// A group of dynamic stacks; `swap` replaces one layer (by name) with a mutant.
class DynamicImplementation final : public NodeGroup<DynamicStack> {
public:
  DynamicImplementation(std::string name, const std::string& stack_string, std::uint32_t nodes,
                        const Mutant* mutant)
      : NodeGroup(std::move(name)) {
    const std::vector<LayerSpec> layers = parse_stack_string(stack_string);
    bool replaced = false;
    for (std::uint32_t n = 0; n < nodes; ++n) {
      std::vector<std::unique_ptr<DynLayer>> made;
      for (const LayerSpec& l : layers) {
        if (mutant != nullptr && l.name == mutant->layer) {
          LayerArgs args(l.name, l.args);
          made.push_back(mutant->make(args));
          args.finish();
          replaced = true;
        } else {
          made.push_back(layer_registry().make(l));
        }
      }
      nodes_.push_back(std::make_unique<DynamicStack>(std::move(made)));
    }
    if (mutant != nullptr && !replaced)
      throw std::runtime_error(fmt::format("mutant {} replaces layer {}, which the stack {} does "
                                           "not have",
                                           mutant->name, mutant->layer, stack_string));
    for (const auto& node : nodes_) {
      std::vector<LayerView> views;
      for (std::size_t i = 0; i < node->depth(); ++i) {
        DynLayer& l = node->layer(i);
        const LayerOps* ops = find_layer_ops(l.type());
        if (ops == nullptr)
          throw std::runtime_error(
              fmt::format("difftest cannot compare layer {}: its type has no registered "
                          "operations; lamina_add_stack() registers them for the layers of its "
                          "stacks, of components/ and of its LAYERS folders",
                          l.name()));
        views.push_back({l.name(), l.object(), ops, nullptr});
      }
      views_.push_back(std::move(views));
    }
  }

  [[nodiscard]] std::size_t depth() const override { return nodes_.front()->depth(); }
  [[nodiscard]] LayerView layer(PeerId node, std::size_t layer) const override {
    return views_[node][layer];
  }

private:
  std::vector<std::vector<LayerView>> views_;
};

// The spec simulator: one StackSim per node.
class SpecImplementation final : public NodeGroup<spec::StackSim> {
public:
  SpecImplementation(const StackDecl& stack, std::uint32_t nodes) : NodeGroup("spec") {
    for (std::uint32_t n = 0; n < nodes; ++n)
      nodes_.push_back(std::make_unique<spec::StackSim>(*stack.program, stack.stack, stack.args));
    state_.resize(nodes_.front()->depth());
  }

  [[nodiscard]] std::size_t depth() const override { return nodes_.front()->depth(); }
  [[nodiscard]] LayerView layer(PeerId node, std::size_t layer) const override {
    std::vector<spec::VariableView>& values = state_[layer];
    values = nodes_[node]->variables(layer);
    return {nodes_[node]->layer_name(layer), nullptr, nullptr, &values};
  }
  [[nodiscard]] std::optional<std::string> failure() const override {
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      if (const auto& f = nodes_[n]->failure())
        return fmt::format("node {}: the spec stopped: {} (line {}, column {})", n, f->message,
                           f->loc.line, f->loc.column);
    return std::nullopt;
  }

private:
  mutable std::vector<std::vector<spec::VariableView>> state_; // of the layer last asked for
};

} // namespace

void register_layer_ops(const LayerOps& ops) { ops_table()[*ops.self] = &ops; }

const LayerOps* find_layer_ops(const std::type_info& type) {
  // The mutants register their types when the set is first built.
  (void)mutants();
  const auto& table = ops_table();
  auto it = table.find(type);
  return it == table.end() ? nullptr : it->second;
}

std::vector<std::byte> Implementation::canonical(const Msg& packet) const {
  const auto bytes = packet.bytes();
  return {bytes.begin(), bytes.end()};
}

namespace {

// The fused build of `kind` ("fused", "hand-fused") for the stack's string, parameters included.
std::unique_ptr<Implementation> make_fused(std::string_view kind, const StackDecl& stack,
                                           std::uint32_t nodes) {
  if (auto impl = fused_stacks().build(kind, stack.stack_string, nodes)) return impl;
  const std::vector<std::string> built = fused_stacks().stack_strings(kind);
  const std::string have = built.empty() ? "none" : fmt::format("{}", fmt::join(built, "; "));
  if (kind.starts_with("fused-mutant:"))
    throw std::runtime_error(fmt::format(
        "no {} of stack {}: mutants of the generated code (optimizer/mutants/*.mutant) exist "
        "only for the stacks they name; fused mutants compiled: {}",
        kind, stack.stack, fmt::join(fused_stacks().kinds("fused-mutant:"), ", ")));
  if (kind == "fused")
    throw std::runtime_error(fmt::format(
        "no fused build of stack {} with the stack string {}: lamina-opt generates a fused stack "
        "for each stack declared in a spec given to lamina_add_stack() in CMake (see "
        "stacks/CMakeLists.txt), for its parameters as they are there; declare it there, or "
        "drop the --param that changes them, and rebuild. Fused builds compiled: {}",
        stack.stack, stack.stack_string, have));
  throw std::runtime_error(fmt::format(
      "no hand-fused build of stack {} with the stack string {}: the hand-fused stack "
      "(stacks/fifo/hand_fused.hpp) exists only for ReliableFifo at its default parameters. "
      "Hand-fused builds compiled: {}",
      stack.stack, stack.stack_string, have));
}

std::unique_ptr<Implementation> make(std::string_view name, const StackDecl& stack,
                                     std::uint32_t nodes) {
  if (name == "spec") return std::make_unique<SpecImplementation>(stack, nodes);
  if (name == "static") return static_stacks().build(stack.stack_string, nodes);
  if (name == "dynamic")
    return std::make_unique<DynamicImplementation>("dynamic", stack.stack_string, nodes, nullptr);
  if (name == "fused" || name == "hand-fused" || name.starts_with("fused-mutant:"))
    return make_fused(name, stack, nodes);
  if (name.starts_with("mutant:")) {
    const std::string_view which = name.substr(7);
    const Mutant* m = find_mutant(which);
    if (m == nullptr)
      throw std::runtime_error(fmt::format("no mutant named '{}' (lamina difftest --list-mutants "
                                           "lists them)",
                                           which));
    return std::make_unique<DynamicImplementation>(std::string(name), stack.stack_string, nodes, m);
  }
  throw std::runtime_error(fmt::format("unknown implementation '{}' (known: {})", name,
                                       fmt::join(implementation_names(), ", ")));
}

} // namespace

std::unique_ptr<Implementation> make_implementation(std::string_view name, const StackDecl& stack,
                                                    std::uint32_t nodes) {
  try {
    return make(name, stack, nodes);
  } catch (const StackError& e) {
    throw std::runtime_error(fmt::format("the {} implementation of stack {} ({}): {}", name,
                                         stack.stack, stack.stack_string, e.what()));
  }
}

std::vector<std::string> implementation_names() {
  return {"spec", "static", "dynamic", "fused", "hand-fused", "mutant:NAME", "fused-mutant:NAME"};
}

} // namespace lamina::difftest
