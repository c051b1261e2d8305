// Dynamic composition: a stack assembled at run time from layers behind a virtual interface.
//
// The same layer classes as in static stacks, each wrapped in DynLayerOf<L>; every hand-off
// between layers is one virtual call. Registry (registry.hpp) builds these from stack strings.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "runtime/host.hpp"
#include "runtime/layer.hpp"
#include "runtime/reflect.hpp"

namespace lamina {

class DynamicStack;

// What a handler of a layer in a DynamicStack sees of its neighbours and of the host.
class DynPorts {
public:
  DynPorts(DynamicStack& s, std::uint32_t index) : s_(&s), index_(index) {}
  void down(Event& ev);
  void up(Event& ev);
  [[nodiscard]] Time now() const;
  [[nodiscard]] PeerId me() const;
  [[nodiscard]] std::uint32_t group_size() const;
  void set_timer(Duration delay);

private:
  DynamicStack* s_;
  std::uint32_t index_;
};

// One layer, type-erased.
class DynLayer {
public:
  virtual ~DynLayer() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  virtual void down(Event& ev, DynPorts& io) = 0;
  virtual void up(Event& ev, DynPorts& io) = 0;
  virtual void timer(Event& ev, DynPorts& io) = 0;
  [[nodiscard]] virtual Guarantees provides() const = 0;
  [[nodiscard]] virtual Guarantees needs_below() const = 0;
  [[nodiscard]] virtual Place place() const = 0;
  [[nodiscard]] virtual std::vector<Field> fields() const = 0;
  // Fields that differ from `other`, which must be a layer of the same type.
  [[nodiscard]] virtual std::vector<FieldDiff> diff(const DynLayer& other) const = 0;
  // The wrapped layer, for code that knows its type.
  [[nodiscard]] virtual const std::type_info& type() const = 0;
  [[nodiscard]] virtual void* object() = 0;
};

template <Layer L>
class DynLayerOf final : public DynLayer {
public:
  explicit DynLayerOf(L layer) : layer_(std::move(layer)) {}
  [[nodiscard]] std::string_view name() const override { return L::name; }
  void down(Event& ev, DynPorts& io) override { layer_.down(ev, io); }
  void up(Event& ev, DynPorts& io) override { layer_.up(ev, io); }
  void timer(Event& ev, DynPorts& io) override {
    if constexpr (has_timer<L>) layer_.timer(ev, io);
  }
  [[nodiscard]] Guarantees provides() const override { return provides_of<L>(); }
  [[nodiscard]] Guarantees needs_below() const override { return needs_of<L>(); }
  [[nodiscard]] Place place() const override { return place_of<L>(); }
  [[nodiscard]] std::vector<Field> fields() const override { return lamina::fields(layer_); }
  [[nodiscard]] std::vector<FieldDiff> diff(const DynLayer& other) const override {
    return lamina::diff(layer_, dynamic_cast<const DynLayerOf&>(other).layer_);
  }
  [[nodiscard]] const std::type_info& type() const override { return typeid(L); }
  [[nodiscard]] void* object() override { return &layer_; }

private:
  L layer_;
};

class DynamicStack final : public Endpoint {
public:
  // Takes the layers top first. Throws StackError when they do not fit together (see
  // check_composition).
  explicit DynamicStack(std::vector<std::unique_ptr<DynLayer>> layers);

  void attach(Host& host) override { host_ = &host; }
  void send(PeerId to, Msg payload) override;
  void receive(PeerId from, Msg packet) override;
  void expire(std::uint32_t timer) override;

  [[nodiscard]] std::size_t depth() const { return layers_.size(); }
  [[nodiscard]] DynLayer& layer(std::size_t i) { return *layers_[i]; }
  [[nodiscard]] const DynLayer& layer(std::size_t i) const { return *layers_[i]; }
  // The first layer of type L, or nullptr.
  template <class L>
  L* find() {
    for (auto& l : layers_)
      if (l->type() == typeid(L)) return static_cast<L*>(l->object());
    return nullptr;
  }
  // "Top:Frag:Seqno:...": the layer names, top first.
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] Host& host() const { return *host_; }

private:
  friend class DynPorts;
  void leave_down(std::uint32_t i, Event& ev);
  void leave_up(std::uint32_t i, Event& ev);

  std::vector<std::unique_ptr<DynLayer>> layers_;
  std::vector<DynPorts> ports_;
  Host* host_ = nullptr;
};

// A stack that cannot be built: its message names the layer(s) and what is wrong.
class StackError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Throws StackError if the layers (top first) cannot form a stack: a need of one layer that
// no layer below meets, or a top or bottom layer out of place.
void check_composition(const std::vector<std::unique_ptr<DynLayer>>& layers);

} // namespace lamina
