// A group of RPC nodes on SimNet, each a dynamic stack with an rpc::Node on top: what the demo
// and the tests run calls on.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/dynamic_stack.hpp"
#include "runtime/simnet.hpp"
#include "services/rpc/node.hpp"

namespace lamina::rpc {

class SimGroup {
public:
  // `nodes` members, each running `stack_string` (a stack with Rpc under Top), on a SimNet of
  // `seed` whose links are `link`. Throws StackError for a bad stack string.
  SimGroup(std::uint64_t seed, std::uint32_t nodes, const std::string& stack_string,
           LinkConfig link = {});

  [[nodiscard]] SimNet& net() { return net_; }
  [[nodiscard]] Node& node(PeerId n) { return *nodes_[n]; }
  [[nodiscard]] DynamicStack& stack(PeerId n) { return *stacks_[n]; }
  [[nodiscard]] std::uint32_t size() const { return static_cast<std::uint32_t>(nodes_.size()); }

private:
  SimNet net_;
  std::vector<std::unique_ptr<DynamicStack>> stacks_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

} // namespace lamina::rpc
