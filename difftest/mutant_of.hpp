// mutant_of<M, L>: how difftest makes mutant M of layer L (difftest/mutants.hpp). For the
// sources that lamina-mutate writes at build time, each of which makes a few of the mutants.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/zip.hpp>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "difftest/layer_ops.hpp"
#include "difftest/mutants.hpp"
#include "runtime/registry.hpp"

namespace lamina::difftest {

// Mutant M of layer L. `make` builds L from the stack string's parameters, as for a correct stack,
// and moves its fields into M, which has the same fields in the same order. Registers the
// operations of M, so that difftest can compare it with L.
template <class M, class L>
Mutant mutant_of(const char* name, const char* description) {
  register_layer_ops(layer_ops<M, L>());
  return {name, std::string(L::name), description,
          [](LayerArgs& args) -> std::unique_ptr<DynLayer> {
            L correct = layer_registry().make<L>(args);
            M mutated;
            namespace hana = boost::hana;
            hana::for_each(hana::zip(hana::accessors<M>(), hana::accessors<L>()), [&](auto pair) {
              auto to = hana::at_c<0>(pair);
              auto from = hana::at_c<1>(pair);
              static_assert(std::is_same_v<std::decay_t<decltype(hana::first(to))>,
                                           std::decay_t<decltype(hana::first(from))>>,
                            "a mutant has the fields of its layer, in the same order");
              hana::second(to)(mutated) = std::move(hana::second(from)(correct));
            });
            return std::make_unique<DynLayerOf<M>>(std::move(mutated));
          }};
}

} // namespace lamina::difftest
