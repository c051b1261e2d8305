#include "runtime/dynamic_stack.hpp"

#include <fmt/format.h>

namespace lamina {

void DynPorts::down(Event& ev) { s_->leave_down(index_, ev); }
void DynPorts::up(Event& ev) { s_->leave_up(index_, ev); }
Time DynPorts::now() const { return s_->host_->now(); }
PeerId DynPorts::me() const { return s_->host_->me(); }
std::uint32_t DynPorts::group_size() const { return s_->host_->group_size(); }
void DynPorts::set_timer(Duration delay) { s_->host_->set_timer(now() + delay, index_); }

void check_composition(const std::vector<std::unique_ptr<DynLayer>>& layers) {
  std::vector<LayerFit> fits;
  fits.reserve(layers.size());
  for (const auto& l : layers)
    fits.push_back({l->name(), l->place(), l->provides(), l->needs_below()});
  if (const Misfit m = misfit(fits)) throw StackError(describe(m, fits));
}

DynamicStack::DynamicStack(std::vector<std::unique_ptr<DynLayer>> layers)
    : layers_(std::move(layers)) {
  check_composition(layers_);
  ports_.reserve(layers_.size());
  for (std::uint32_t i = 0; i < layers_.size(); ++i) ports_.emplace_back(*this, i);
}

void DynamicStack::send(PeerId to, Msg payload) {
  Event ev =
      to == kAllPeers ? Event::cast(std::move(payload)) : Event::send(to, std::move(payload));
  ev.time = host_->now();
  layers_.front()->down(ev, ports_.front());
}

void DynamicStack::receive(PeerId from, Msg packet) {
  Event ev = Event::deliver(from, std::move(packet));
  ev.time = host_->now();
  layers_.back()->up(ev, ports_.back());
}

void DynamicStack::expire(std::uint32_t timer) {
  if (timer >= layers_.size()) return;
  Event ev = Event::timer(host_->now());
  layers_[timer]->timer(ev, ports_[timer]);
}

std::string DynamicStack::describe() const {
  std::string out;
  for (const auto& l : layers_) {
    if (!out.empty()) out += ':';
    out += l->name();
  }
  return out;
}

void DynamicStack::leave_down(std::uint32_t i, Event& ev) {
  if (i + 1 == layers_.size())
    host_->transmit(ev.type == EventType::Cast ? kAllPeers : ev.peer, std::move(ev.msg));
  else
    layers_[i + 1]->down(ev, ports_[i + 1]);
}

void DynamicStack::leave_up(std::uint32_t i, Event& ev) {
  if (i == 0)
    host_->deliver(ev);
  else
    layers_[i - 1]->up(ev, ports_[i - 1]);
}

} // namespace lamina
