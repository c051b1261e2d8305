// What a piece of a layer's code reads, writes and emits, for the delay pass: a statement may be
// put off until after the transmit (or the delivery) only if it commutes with everything it is
// moved past.
//
// Names are qualified by the layer whose code it is: "3/m:unacked" (a data member of layer 3),
// "3/l:id" (a local of its code). The handler's event is "ev", and each of its fields "ev.peer",
// "ev.lamport", ..., "ev.msg" (its message): a field read or written alone is that field, the
// event used whole is all of them, so "ev" overlaps every "ev.<field>". What a piece of code emits
// goes to one of three channels, whose order difftest compares channel by channel: "network",
// "deliver", "timer". Locals declared inside the piece are its own and are left out.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "optimizer/frontend.hpp"
#include "optimizer/ir.hpp"

namespace lamina::opt {

struct Effects {
  std::set<std::string> reads, writes, emits;
  bool unknown = false; // a construct whose effects are not known: it conflicts with anything

  void merge(const Effects& other);
};

// The effects of a call to a neighbour that is not the event's own (Retransmit's ack going down):
// the layered code that runs. Given the Neighbour node; adds to the Effects.
using NeighbourEffects = std::function<void(const NodeRef&, Effects&)>;

// Where a piece of code is: its layer, and what its locals may refer to.
struct EffectsContext {
  const LayerModel* model = nullptr;
  std::size_t layer = 0;
  NeighbourEffects neighbour;
  // A local declared with an initialiser may refer to what the initialiser reads (a reference to
  // a table's entry, an iterator into it): reading or writing it reads or writes that too.
  std::map<std::string, std::set<std::string>> aliases;
};

// Fills ctx.aliases from the locals that `body` (a layer's handler) declares.
void find_aliases(const NodeRef& body, EffectsContext& ctx);

// The effects of `n`. The event's own hand-on to the next layer (io.down(ev), io.up(ev)) adds
// nothing: the caller accounts for what follows it.
Effects effects_of(const NodeRef& n, const EffectsContext& ctx);

// Whether running `moved` after `past`, instead of before, may change the state or the order of
// what one channel emits.
bool conflict(const Effects& moved, const Effects& past);

} // namespace lamina::opt
