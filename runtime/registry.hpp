// Registry: layers by name, and stacks built at run time from stack strings.
//
//   Top:Frag(mtu=1400):Seqno:Retransmit(timeout=20ms):Checksum:Bottom
//
// An unknown layer, an unknown or ill-typed parameter, or layers that do not fit together
// are reported as a StackError that names the layer and the column of the string.
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "runtime/dynamic_stack.hpp"

namespace lamina {

// A count with an optional time unit — 20ms, 5s, 100us, 7ns, or 7 (nanoseconds when
// `unit_required` is false) — in nanoseconds; nullopt if it is not one or does not fit.
std::optional<std::uint64_t> parse_nanoseconds(std::string_view text, bool unit_required);

// The parameters given to one layer in a stack string, read by the layer's factory.
class LayerArgs {
public:
  struct Arg {
    std::string key;
    std::string value;
    std::size_t column = 0; // 1-based, in the stack string
    bool used = false;
  };

  LayerArgs(std::string layer, std::vector<Arg> args)
      : layer_(std::move(layer)), args_(std::move(args)) {}

  // The value of `key` as an unsigned integer in [min, max], or `fallback` when absent (a
  // StackError when there is none: the parameter must be given).
  std::uint64_t get_uint(std::string_view key, std::optional<std::uint64_t> fallback,
                         std::uint64_t min, std::uint64_t max);
  // The value of `key` as a duration with a unit — 20ms, 5s, 100us, 7ns — in [min, max], or
  // `fallback` when absent.
  Duration get_duration(std::string_view key, std::optional<Duration> fallback, Duration min,
                        Duration max);
  // The value of `key`, true or false, or `fallback` when absent.
  bool get_bool(std::string_view key, std::optional<bool> fallback);
  // Throws if a parameter was given that no get_* asked for.
  void finish() const;

private:
  // The argument `key`, marked used; null when absent and `has_fallback`, else a StackError.
  Arg* find(std::string_view key, bool has_fallback);

  std::string layer_;
  std::vector<Arg> args_;
  std::vector<std::string> known_; // the keys the factory asked for
};

// One layer of a stack string: its name, where it starts (1-based column) and its parameters.
struct LayerSpec {
  std::string name;
  std::size_t column = 0;
  std::vector<LayerArgs::Arg> args;
};

// Splits a stack string into its layers; throws StackError naming the column of a syntax error.
std::vector<LayerSpec> parse_stack_string(std::string_view spec);

class Registry {
public:
  using Factory = std::function<std::unique_ptr<DynLayer>(LayerArgs&)>;

  // Registers layer L under L::name; `make` reads its parameters and returns the layer;
  // `params` documents them ("mtu: maximum fragment payload, bytes (default 1400)"). A second
  // layer type under a name already taken is a StackError.
  template <Layer L, class Make>
  void add(Make make, std::string params = "") {
    const auto [it, fresh] = entries_.try_emplace(std::string(L::name));
    if (!fresh && it->second.type != &typeid(L)) duplicate(L::name);
    it->second = {[make](LayerArgs& args) -> std::unique_ptr<DynLayer> {
                    return std::make_unique<DynLayerOf<L>>(make(args));
                  },
                  std::function<L(LayerArgs&)>(make), std::move(params), &typeid(L)};
  }
  // Registers a layer without parameters.
  template <Layer L>
  void add() {
    add<L>([](LayerArgs&) { return L{}; });
  }

  // Layer L made from its parameters, as a static stack holds it. Throws StackError if no layer
  // of type L is registered under L::name, or for a bad or unknown parameter.
  template <Layer L>
  [[nodiscard]] L make(LayerArgs& args) const {
    auto it = entries_.find(L::name);
    const auto* typed = it == entries_.end()
                            ? nullptr
                            : std::any_cast<std::function<L(LayerArgs&)>>(&it->second.typed);
    if (typed == nullptr)
      throw StackError(std::string("layer ") + std::string(L::name) + " is not registered");
    L layer = (*typed)(args);
    args.finish();
    return layer;
  }

  // The layer a stack string names, type-erased; throws StackError for an unknown layer or a
  // bad or unknown parameter.
  [[nodiscard]] std::unique_ptr<DynLayer> make(const LayerSpec& layer) const;

  // Builds the stack described by `spec`; throws StackError on any problem.
  [[nodiscard]] std::unique_ptr<DynamicStack> build(std::string_view spec) const;
  // The registered layers, sorted by name, with their parameter documentation.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> layers() const;

private:
  struct Entry {
    Factory make;
    std::any typed; // std::function<L(LayerArgs&)>, for make<L>
    std::string params;
    const std::type_info* type = nullptr;
  };
  [[noreturn]] static void duplicate(std::string_view name);
  std::map<std::string, Entry, std::less<>> entries_;
};

// The layers this program was built with, by name: those of every lamina_add_layers() library
// linked into it (components/ is lamina_components). lamina-stackgen writes their registration
// from their specs (cmake/LaminaStacks.cmake), which runs as the program starts.
Registry& layer_registry();

} // namespace lamina
