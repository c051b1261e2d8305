#include "runtime/static_stacks.hpp"

#include <fmt/format.h>

namespace lamina {

std::unique_ptr<Implementation> StaticStacks::build(std::string_view stack_string,
                                                    std::uint32_t nodes) const {
  const std::vector<LayerSpec> layers = parse_stack_string(stack_string);
  std::string key;
  for (const LayerSpec& layer : layers) key += (key.empty() ? "" : ":") + layer.name;

  const auto it = makers_.find(key);
  if (it == makers_.end()) {
    const std::vector<std::string> compiled = sequences();
    throw StackError(fmt::format(
        "no static build of the layer sequence {}: a static stack is compiled for each layer "
        "sequence that a stack declares in a spec given to lamina_add_stack() in CMake (see "
        "stacks/CMakeLists.txt); declare one with these layers there and rebuild. Compiled "
        "sequences: {}",
        key, compiled.empty() ? "none" : fmt::format("{}", fmt::join(compiled, ", "))));
  }
  // A bad parameter throws from the layer's factory, as in the dynamic composition.
  return it->second(layers, nodes);
}

std::vector<std::string> StaticStacks::sequences() const {
  std::vector<std::string> keys;
  keys.reserve(makers_.size());
  for (const auto& [key, make] : makers_) keys.push_back(key);
  return keys;
}

StaticStacks& static_stacks() {
  // Function-local, so that the generated registrations, which run during static
  // initialisation in other translation units, find it constructed.
  static StaticStacks stacks;
  return stacks;
}

} // namespace lamina
