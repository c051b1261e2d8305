#include "difftest/implementation.hpp"

#include <fmt/format.h>
#include <map>
#include <stdexcept>
#include <typeindex>

#include "difftest/layer_ops.hpp"
#include "difftest/mutants.hpp"
#include "runtime/registry.hpp"

namespace lamina::difftest {

namespace {

// The operations of every C++ layer type difftest may meet, registered as the program starts:
// by the code lamina_add_layers() generates for each set of layers, and by each mutant.
std::map<std::type_index, const LayerOps*>& ops_table() {
  static std::map<std::type_index, const LayerOps*> table;
  return table;
}

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
    SpecState& values = state_[layer];
    values = nodes_[node]->variables(layer);
    return {nodes_[node]->layer_name(layer), &values, &typeid(SpecState)};
  }
  [[nodiscard]] std::optional<std::string> failure() const override {
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      if (const auto& f = nodes_[n]->failure())
        return fmt::format("node {}: the spec stopped: {} (line {}, column {})", n, f->message,
                           f->loc.line, f->loc.column);
    return std::nullopt;
  }

private:
  mutable std::vector<SpecState> state_; // of the layer last asked for
};

// The dynamic composition with the layer that `mutant` mutates replaced by it.
std::unique_ptr<Implementation> make_mutant(std::string_view name, const Mutant& mutant,
                                            const StackDecl& stack, std::uint32_t nodes) {
  bool replaced = false;
  auto impl = make_dynamic(std::string(name), stack.stack_string, nodes,
                           [&](const LayerSpec& l) -> std::unique_ptr<DynLayer> {
                             if (l.name != mutant.layer) return layer_registry().make(l);
                             LayerArgs args(l.name, l.args);
                             auto made = mutant.make(args);
                             args.finish();
                             replaced = true;
                             return made;
                           });
  if (!replaced)
    throw std::runtime_error(fmt::format("mutant {} replaces layer {}, which the stack {} does "
                                         "not have",
                                         mutant.name, mutant.layer, stack.stack_string));
  return impl;
}

std::unique_ptr<Implementation> make(std::string_view name, const StackDecl& stack,
                                     std::uint32_t nodes) {
  if (name == "spec") return std::make_unique<SpecImplementation>(stack, nodes);
  if (name.starts_with("mutant:")) {
    const std::string_view which = name.substr(7);
    const Mutant* m = find_mutant(which);
    if (m == nullptr)
      throw std::runtime_error(fmt::format("no mutant named '{}' (lamina difftest --list-mutants "
                                           "lists them)",
                                           which));
    return make_mutant(name, *m, stack, nodes);
  }
  const auto kinds = lamina::implementation_kinds();
  if (std::find(kinds.begin(), kinds.end(), name) == kinds.end() &&
      !name.starts_with("fused-mutant:"))
    throw std::runtime_error(fmt::format("unknown implementation '{}' (known: {})", name,
                                         fmt::join(implementation_names(), ", ")));
  return lamina::make_implementation(name, stack.stack_string, nodes, stack.stack);
}

} // namespace

void register_layer_ops(const LayerOps& ops) { ops_table()[*ops.self] = &ops; }

const LayerOps* find_layer_ops(const std::type_info& type) {
  // The mutants register their types when the set is first built.
  (void)mutants();
  const auto& table = ops_table();
  auto it = table.find(type);
  return it == table.end() ? nullptr : it->second;
}

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
  std::vector<std::string> names = {"spec"};
  for (std::string& kind : lamina::implementation_kinds()) names.push_back(std::move(kind));
  names.insert(names.end() - 1, "mutant:NAME");
  return names;
}

} // namespace lamina::difftest
