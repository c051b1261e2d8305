#include "services/rpc/sim_group.hpp"

#include "runtime/registry.hpp"

namespace lamina::rpc {

SimGroup::SimGroup(std::uint64_t seed, std::uint32_t nodes, const std::string& stack_string,
                   LinkConfig link)
    : net_(seed, nodes, link) {
  for (PeerId n = 0; n < nodes; ++n) {
    stacks_.push_back(layer_registry().build(stack_string));
    net_.attach(n, *stacks_.back());
    nodes_.push_back(
        std::make_unique<Node>([this, n](PeerId to, Msg m) { net_.send(n, to, std::move(m)); },
                               [this] { return net_.now(); }));
  }
  net_.on_deliver([this](PeerId n, Event& ev) { nodes_[n]->deliver(ev.peer, std::move(ev.msg)); });
}

} // namespace lamina::rpc
