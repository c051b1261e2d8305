#include "runtime/implementation.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdexcept>

#include "runtime/fused_stacks.hpp"
#include "runtime/registry.hpp"
#include "runtime/static_stacks.hpp"

namespace lamina {

std::vector<std::byte> Implementation::canonical(const Msg& packet) const {
  const auto bytes = packet.bytes();
  return {bytes.begin(), bytes.end()};
}

namespace {

class DynamicImplementation final : public NodeGroup<DynamicStack> {
public:
  DynamicImplementation(std::string name, std::string_view stack_string, std::uint32_t nodes,
                        const LayerMaker& make)
      : NodeGroup(std::move(name)) {
    const std::vector<LayerSpec> layers = parse_stack_string(stack_string);
    for (std::uint32_t n = 0; n < nodes; ++n) {
      std::vector<std::unique_ptr<DynLayer>> made;
      for (const LayerSpec& l : layers) made.push_back(make ? make(l) : layer_registry().make(l));
      nodes_.push_back(std::make_unique<DynamicStack>(std::move(made)));
    }
  }

  [[nodiscard]] std::size_t depth() const override { return nodes_.front()->depth(); }
  [[nodiscard]] LayerView layer(PeerId node, std::size_t layer) const override {
    DynLayer& l = nodes_[node]->layer(layer);
    return {l.name(), l.object(), &l.type()};
  }
};

// The fused build of `kind` ("fused", "hand-fused", "fused-mutant:NAME") of the stack string,
// parameters included.
std::unique_ptr<Implementation> make_fused(std::string_view kind, std::string_view stack_string,
                                           std::uint32_t nodes, std::string_view stack) {
  if (auto impl = fused_stacks().build(kind, stack_string, nodes)) return impl;
  const std::vector<std::string> built = fused_stacks().stack_strings(kind);
  const std::string have = built.empty() ? "none" : fmt::format("{}", fmt::join(built, "; "));
  if (kind.starts_with("fused-mutant:"))
    throw std::runtime_error(fmt::format(
        "no {} of stack {}: mutants of the generated code (optimizer/mutants/*.mutant) exist "
        "only for the stacks they name; fused mutants compiled: {}",
        kind, stack, fmt::join(fused_stacks().kinds("fused-mutant:"), ", ")));
  if (kind == "fused")
    throw std::runtime_error(fmt::format(
        "no fused build of stack {} with the stack string {}: lamina-opt generates a fused stack "
        "for each stack declared in a spec given to lamina_add_stack() in CMake (see "
        "stacks/CMakeLists.txt), for its parameters as they are there; declare it there, or "
        "drop the --param that changes them, and rebuild. Fused builds compiled: {}",
        stack, stack_string, have));
  throw std::runtime_error(fmt::format(
      "no hand-fused build of stack {} with the stack string {}: the hand-fused stack "
      "(stacks/fifo/hand_fused.hpp) exists only for ReliableFifo at its default parameters. "
      "Hand-fused builds compiled: {}",
      stack, stack_string, have));
}

std::unique_ptr<Implementation> make(std::string_view kind, std::string_view stack_string,
                                     std::uint32_t nodes, std::string_view stack) {
  if (kind == "static") return static_stacks().build(stack_string, nodes);
  if (kind == "dynamic") return make_dynamic("dynamic", stack_string, nodes);
  if (kind == "fused" || kind == "hand-fused" || kind.starts_with("fused-mutant:"))
    return make_fused(kind, stack_string, nodes, stack);
  throw std::runtime_error(fmt::format("unknown implementation '{}' (known: {})", kind,
                                       fmt::join(implementation_kinds(), ", ")));
}

} // namespace

std::unique_ptr<Implementation> make_dynamic(std::string name, std::string_view stack_string,
                                             std::uint32_t nodes, const LayerMaker& make) {
  return std::make_unique<DynamicImplementation>(std::move(name), stack_string, nodes, make);
}

std::unique_ptr<Implementation> make_implementation(std::string_view kind,
                                                    std::string_view stack_string,
                                                    std::uint32_t nodes, std::string_view stack) {
  if (stack.empty()) stack = stack_string;
  try {
    return make(kind, stack_string, nodes, stack);
  } catch (const StackError& e) {
    throw std::runtime_error(fmt::format("the {} implementation of stack {} ({}): {}", kind, stack,
                                         stack_string, e.what()));
  }
}

std::vector<std::string> implementation_kinds() {
  return {"static", "dynamic", "fused", "hand-fused", "fused-mutant:NAME"};
}

} // namespace lamina
