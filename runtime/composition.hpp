// Whether layers fit together: the one composition rule, used by the static stack at compile
// time (runtime/stack.hpp), by the dynamic stack as it is built (runtime/dynamic_stack.cpp) and
// by the spec checker on stack declarations (spec/checker.cpp).
//
// Layers are listed top first. A stack is not empty; a layer that must stand at the top (Top)
// is first, one that must stand at the bottom (Bottom) is last, and the last layer is such a
// bottom layer; every guarantee a layer needs from below is provided by some layer below it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lamina {

// Properties of the channel a layer offers to the layers above it.
enum class Guarantee : std::uint8_t {
  integrity = 1 << 0, // corrupt packets never pass up
  reliable = 1 << 1,  // every message sent is delivered once, despite loss and duplication
  fifo = 1 << 2,      // messages from one sender are delivered in the order sent
  lamport = 1 << 3,   // every event carries its Lamport time (Event::lamport)
};

// The guarantee a spec names (`provides fifo`), or nullopt.
constexpr std::optional<Guarantee> guarantee_named(std::string_view name) {
  if (name == "integrity") return Guarantee::integrity;
  if (name == "reliable") return Guarantee::reliable;
  if (name == "fifo") return Guarantee::fifo;
  if (name == "lamport") return Guarantee::lamport;
  return std::nullopt;
}

class Guarantees {
public:
  constexpr Guarantees() = default;
  constexpr Guarantees(Guarantee g)
      : bits_(static_cast<std::uint8_t>(g)) {} // NOLINT: implicit by design
  constexpr Guarantees operator|(Guarantees o) const { return from_bits(bits_ | o.bits_); }
  [[nodiscard]] constexpr bool covers(Guarantees o) const { return (bits_ & o.bits_) == o.bits_; }
  [[nodiscard]] constexpr Guarantees missing_from(Guarantees have) const {
    return from_bits(bits_ & ~have.bits_);
  }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  [[nodiscard]] std::string names() const;

private:
  static constexpr Guarantees from_bits(unsigned bits) {
    Guarantees g;
    g.bits_ = static_cast<std::uint8_t>(bits);
    return g;
  }
  std::uint8_t bits_ = 0;
};
constexpr Guarantees operator|(Guarantee a, Guarantee b) { return Guarantees(a) | Guarantees(b); }

// Where a layer may stand in a stack.
enum class Place : std::uint8_t { anywhere, top, bottom };

// What the rule reads of one layer.
struct LayerFit {
  std::string_view name;
  Place place = Place::anywhere;
  Guarantees provides;
  Guarantees needs;
};

// The first thing wrong with a stack, by the rule above; `kind == none` when it fits.
struct Misfit {
  enum class Kind : std::uint8_t {
    none,
    empty,           // no layer at all
    top_not_first,   // layer `at` must be the top layer, but `at - 1` is above it
    bottom_not_last, // layer `at` must be the bottom layer, but `at + 1` is below it
    need_unmet,      // layer `at` needs `missing`, which no layer below it provides
    no_bottom,       // the last layer, `at`, is not a bottom layer
  };
  Kind kind = Kind::none;
  std::size_t at = 0;
  Guarantees missing;
  [[nodiscard]] constexpr explicit operator bool() const { return kind != Kind::none; }
};

constexpr Misfit misfit(std::span<const LayerFit> layers) {
  using K = Misfit::Kind;
  const std::size_t n = layers.size();
  if (n == 0) return {K::empty, 0, {}};
  for (std::size_t i = 0; i < n; ++i) {
    if (layers[i].place == Place::top && i != 0) return {K::top_not_first, i, {}};
    if (layers[i].place == Place::bottom && i != n - 1) return {K::bottom_not_last, i, {}};
    Guarantees below;
    for (std::size_t j = i + 1; j < n; ++j) below = below | layers[j].provides;
    if (!below.covers(layers[i].needs))
      return {K::need_unmet, i, layers[i].needs.missing_from(below)};
  }
  if (layers[n - 1].place != Place::bottom) return {K::no_bottom, n - 1, {}};
  return {};
}

// A sentence naming the layers involved: "Seqno needs a reliable channel below it, but no layer
// below Seqno provides it (directly below is Bottom)"; `in` names the stack where one is known.
std::string describe(const Misfit& m, std::span<const LayerFit> layers, std::string_view in = "");

} // namespace lamina
