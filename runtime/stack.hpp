// Static composition: lamina::stack<Top, Frag, Seqno, Retransmit, Checksum, Bottom>.
//
// The layers live in one hana::tuple; a layer's Ports call its neighbour's handler directly,
// so the compiler sees the whole stack and can inline across layers. A stack that cannot
// work — a layer whose need no layer below meets, Top not on top, Bottom not at the bottom —
// does not compile, and the error names the layers involved.
#pragma once

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime/host.hpp"
#include "runtime/layer.hpp"

namespace lamina {

namespace detail {

template <class... Ls>
constexpr Misfit misfit_of() {
  const LayerFit fits[] = {{Ls::name, place_of<Ls>(), provides_of<Ls>(), needs_of<Ls>()}...};
  return misfit(fits);
}

template <std::size_t I, class... Ls>
using nth = std::tuple_element_t<I, std::tuple<Ls...>>;

template <class T>
constexpr bool never = false;

// Instantiated for a layer whose need no layer below it meets, so that the compiler's error
// names it ("in instantiation of ... NeedNotMet<lamina::Seqno>").
template <class Layer>
struct NeedNotMet {
  static_assert(never<Layer>, "lamina::stack: the layer NeedNotMet<...> names needs a guarantee "
                              "(its `needs_below`) that no layer below it provides");
  static constexpr bool value = false;
};

template <class... Ls>
constexpr bool needs_met() {
  constexpr Misfit m = misfit_of<Ls...>();
  if constexpr (m.kind == Misfit::Kind::need_unmet)
    return NeedNotMet<nth<m.at, Ls...>>::value;
  else
    return true;
}

} // namespace detail

template <Layer... Ls>
class stack final : public Endpoint {
  static_assert(sizeof...(Ls) > 0, "lamina::stack: a stack needs at least a Bottom layer");
  static constexpr Misfit misfit = detail::misfit_of<Ls...>();
  static_assert(!misfit || misfit.kind == Misfit::Kind::need_unmet,
                "lamina::stack: the last layer must be a bottom layer (Bottom), a top layer "
                "(Top) may only be first, and a bottom layer only last");
  static_assert(detail::needs_met<Ls...>());

public:
  static constexpr std::size_t depth = sizeof...(Ls);

  stack() = default;
  explicit stack(Ls... layers) : layers_(std::move(layers)...) {}
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  void attach(Host& host) override { host_ = &host; }

  void send(PeerId to, Msg payload) override {
    Event ev =
        to == kAllPeers ? Event::cast(std::move(payload)) : Event::send(to, std::move(payload));
    ev.time = host_->now();
    enter_down<0>(ev);
  }

  void receive(PeerId from, Msg packet) override {
    Event ev = Event::deliver(from, std::move(packet));
    ev.time = host_->now();
    enter_up<depth - 1>(ev);
  }

  void expire(std::uint32_t timer) override { expire(timer, *this); }
  // A timer of the layered code; what its layer hands on goes through `outer` (below).
  template <class Outer>
  void expire(std::uint32_t timer, Outer& outer) {
    Event ev = Event::timer(host_->now());
    expire_at<0>(timer, ev, outer);
  }

  template <std::size_t I>
  auto& layer() {
    return boost::hana::at_c<I>(layers_);
  }
  template <std::size_t I>
  const auto& layer() const {
    return boost::hana::at_c<I>(layers_);
  }
  // The layer of type L (the first, if there are several).
  template <class L>
  L& get() {
    return layer<index_of<L>()>();
  }
  template <class L>
  const L& get() const {
    return layer<index_of<L>()>();
  }

  // Calls f(layer) for each layer, top first.
  template <class F>
  void for_each_layer(F&& f) const {
    boost::hana::for_each(layers_, f);
  }

  [[nodiscard]] Host& host() const { return *host_; }

  // Hands `ev` to layer I's down (or up) handler: the layered path from layer I on, for a fused
  // stack whose bypass gives way at that layer.
  template <std::size_t I>
  void enter_down(Event& ev) {
    enter_down<I>(ev, *this);
  }
  template <std::size_t I>
  void enter_up(Event& ev) {
    enter_up<I>(ev, *this);
  }
  // Hands `ev` to the transport as layer I would pass it down, or to the application as layer
  // I would pass it up: what layer I's `io.down(ev)` or `io.up(ev)` does.
  template <std::size_t I>
  void leave_down(Event& ev) {
    leave_down<I>(ev, *this);
  }
  template <std::size_t I>
  void leave_up(Event& ev) {
    leave_up<I>(ev, *this);
  }

  // The same, with what each layer reached hands on going through `outer`: its `io.down(ev)` is
  // `outer.leave_down<I>(ev)`, and `io.up(ev)` is `outer.leave_up<I>(ev)`. A fused stack whose
  // bypass covers the layers below some layer K is the `outer` of its layered stack, so that
  // what K passes down, from any of its handlers, enters the bypass.
  template <std::size_t I, class Outer>
  void enter_down(Event& ev, Outer& outer) {
    Ports<I, Outer> io(*this, outer);
    layer<I>().down(ev, io);
  }
  template <std::size_t I, class Outer>
  void enter_up(Event& ev, Outer& outer) {
    Ports<I, Outer> io(*this, outer);
    layer<I>().up(ev, io);
  }
  template <std::size_t I, class Outer>
  void leave_down(Event& ev, Outer& outer) {
    if constexpr (I + 1 == depth)
      host_->transmit(ev.type == EventType::Cast ? kAllPeers : ev.peer, std::move(ev.msg));
    else
      enter_down<I + 1>(ev, outer);
  }
  template <std::size_t I, class Outer>
  void leave_up(Event& ev, Outer& outer) {
    if constexpr (I == 0)
      host_->deliver(ev);
    else
      enter_up<I - 1>(ev, outer);
  }

private:
  // What a handler of layer I sees of its neighbours (through `outer`) and of the host.
  template <std::size_t I, class Outer>
  class Ports {
  public:
    Ports(stack& s, Outer& outer) : s_(s), outer_(outer) {}
    void down(Event& ev) { outer_.template leave_down<I>(ev); }
    void up(Event& ev) { outer_.template leave_up<I>(ev); }
    [[nodiscard]] Time now() const { return s_.host_->now(); }
    [[nodiscard]] PeerId me() const { return s_.host_->me(); }
    [[nodiscard]] std::uint32_t group_size() const { return s_.host_->group_size(); }
    void set_timer(Duration delay) { s_.host_->set_timer(now() + delay, I); }

  private:
    stack& s_;
    Outer& outer_;
  };

  template <std::size_t I, class Outer>
  void expire_at(std::uint32_t timer, Event& ev, Outer& outer) {
    if constexpr (I < depth) {
      using L = std::remove_cvref_t<decltype(layer<I>())>;
      if (timer != I) return expire_at<I + 1>(timer, ev, outer);
      if constexpr (has_timer<L>) {
        Ports<I, Outer> io(*this, outer);
        layer<I>().timer(ev, io);
      }
    }
  }

  template <class L>
  static constexpr std::size_t index_of() {
    constexpr bool matches[] = {std::is_same_v<L, Ls>...};
    for (std::size_t i = 0; i < depth; ++i)
      if (matches[i]) return i;
    return depth;
  }

  boost::hana::tuple<Ls...> layers_;
  Host* host_ = nullptr;
};

} // namespace lamina
