// Static compositions: the `lamina::stack<...>` of every layer sequence that a lamina_add_stack()
// in CMake declared, found at run time by its layer names (make_implementation's "static").
//
// A static stack's type is fixed at compile time by its layers; its parameters (mtu, timeout)
// are constructor arguments. So one compiled instance serves every stack with the same layer
// sequence, whatever its parameters: the registry is keyed by "Top:Frag:Seqno:...:Bottom".
#pragma once

#include <boost/hana/for_each.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/implementation.hpp"
#include "runtime/registry.hpp"
#include "runtime/stack.hpp"

namespace lamina {

template <Layer... Ls>
class StaticImplementation final : public NodeGroup<lamina::stack<Ls...>> {
public:
  using Stack = lamina::stack<Ls...>;

  // `layers` are the stack string's layers, top first, with their parameters.
  StaticImplementation(const std::vector<LayerSpec>& layers, std::uint32_t nodes)
      : NodeGroup<Stack>("static") {
    for (std::uint32_t n = 0; n < nodes; ++n) nodes_.push_back(make(layers));
    for (const auto& node : nodes_) views_.push_back(layer_views(*node));
  }

  [[nodiscard]] std::size_t depth() const override { return Stack::depth; }
  [[nodiscard]] LayerView layer(PeerId node, std::size_t layer) const override {
    return views_[node][layer];
  }

private:
  static std::unique_ptr<Stack> make(const std::vector<LayerSpec>& layers) {
    std::size_t i = 0;
    auto next = [&]<class L>(std::type_identity<L>) {
      const LayerSpec& spec = layers[i++];
      LayerArgs args(spec.name, spec.args);
      return layer_registry().make<L>(args);
    };
    // Braced initialisation evaluates the layers' arguments in order, top first.
    return std::unique_ptr<Stack>(new Stack{next(std::type_identity<Ls>{})...});
  }

  using NodeGroup<Stack>::nodes_;
  std::vector<std::vector<LayerView>> views_;
};

class StaticStacks {
public:
  using Make = std::function<std::unique_ptr<Implementation>(const std::vector<LayerSpec>&,
                                                             std::uint32_t nodes)>;

  // Registers the static composition of Ls under their names, "Top:Frag:...:Bottom".
  template <Layer... Ls>
  void add() {
    std::string key;
    ((key += (key.empty() ? "" : ":") + std::string(Ls::name)), ...);
    makers_[key] = [](const std::vector<LayerSpec>& layers, std::uint32_t nodes) {
      return std::make_unique<StaticImplementation<Ls...>>(layers, nodes);
    };
  }

  // The static composition of the stack string's layers, for `nodes` nodes. Throws StackError
  // when no lamina_add_stack() compiled that sequence of layers, or for a bad parameter.
  [[nodiscard]] std::unique_ptr<Implementation> build(std::string_view stack_string,
                                                      std::uint32_t nodes) const;
  // The layer sequences compiled in, sorted.
  [[nodiscard]] std::vector<std::string> sequences() const;

private:
  std::map<std::string, Make, std::less<>> makers_;
};

// The registry that the code lamina_add_stack() generates fills as the program starts.
StaticStacks& static_stacks();

} // namespace lamina
