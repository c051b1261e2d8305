#include "runtime/fused_stacks.hpp"

namespace lamina {

std::unique_ptr<Implementation> FusedStacks::build(std::string_view kind,
                                                   std::string_view stack_string,
                                                   std::uint32_t nodes) const {
  const auto it = makers_.find(std::pair{std::string(kind), std::string(stack_string)});
  return it == makers_.end() ? nullptr : it->second(nodes);
}

std::vector<std::string> FusedStacks::stack_strings(std::string_view kind) const {
  std::vector<std::string> strings;
  for (const auto& [key, make] : makers_)
    if (key.first == kind) strings.push_back(key.second);
  return strings;
}

std::vector<std::string> FusedStacks::kinds(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const auto& [kind, description] : descriptions_)
    if (kind.starts_with(prefix)) out.push_back(kind);
  return out;
}

std::string FusedStacks::description(std::string_view kind) const {
  const auto it = descriptions_.find(kind);
  return it == descriptions_.end() ? std::string{} : it->second;
}

std::string FusedStacks::explanation(std::string_view stack_string) const {
  const auto it = explanations_.find(stack_string);
  return it == explanations_.end() ? std::string{} : it->second;
}

FusedStacks& fused_stacks() {
  // Function-local, so that registrations running during static initialisation in other
  // translation units find it constructed.
  static FusedStacks stacks;
  return stacks;
}

} // namespace lamina
