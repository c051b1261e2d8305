// The passes over one layer's code, each a function from IR to IR (see README.md, "Passes").
//
//   inline_helpers     calls of the layer's own helpers and CCPs replaced by their bodies
//   substitute_params  the stack's parameters (mtu = 1400) as constants
//   fold               branches the CCP decides folded, and the code that becomes dead dropped
//
// The collapse (collapse.hpp) chains the folded bodies of the layers of a stack.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/frontend.hpp"
#include "optimizer/ir.hpp"

namespace lamina::opt {

// Replaces every call of a helper of `layer` in `body` by an Inlined node holding the helper's
// body with its parameters bound, and every call of a CCP by its expression; `depth` bounds
// recursion (a recursive helper stays a call).
NodeRef inline_helpers(const NodeRef& body, const LayerModel& layer, int depth = 8);

// Replaces the data members named in `params` by their constant values.
NodeRef substitute_params(const NodeRef& body, const std::map<std::string, NodeRef>& params);

// The members that some code of `layer` may write (so that a parameter among them is left a
// member rather than made a constant).
std::set<std::string> written_members(const LayerModel& layer);

// A CCP's expression with its parameters renamed: the event to `event`, the header to "$hdr",
// the name fold() gives the header the CCP speaks of.
NodeRef bind_ccp(const Ccp& ccp, const std::string& event);

// What fold() may assume.
struct FoldContext {
  NodeRef assume; // true on entry (the layer's CCP, bound with bind_ccp); may be null
  std::uint32_t header_size = 0;          // of the layer's Header: what a pop takes off the message
  std::vector<std::string> header_fields; // its fields' names
  // On a fused path: pops of the layer's header succeed, and its fields have these values
  // (constants, or the compressed header's fields).
  bool pops_succeed = false;
  std::map<std::string, NodeRef> header_values;
  // Down, where the CCP speaks of the application's header (`ccp_down(ev, h)`): a pop of the
  // layer's Header at its entry, where that header is, succeeds.
  bool app_header_pops = false;
  // Out: the operations whose operands are known but whose value C++ leaves undefined (signed
  // overflow, a shift by the width or more, a division by zero), each with the reason; fold()
  // leaves them as written. May be null.
  std::set<std::string>* not_folded = nullptr;
};

// Folds the branches that the context decides, drops what can no longer run, and removes locals
// left unused. Sound, not complete: what it cannot decide it leaves as it was.
NodeRef fold(const NodeRef& body, const FoldContext& ctx);

// Whether `e` is decided by `ctx.assume` alone (for the guard: a CCP that is always true).
std::optional<bool> decide_under(const NodeRef& e, const NodeRef& assume);

// Simplifies an expression: constant arithmetic as C++ does it (integer.hpp), && and || with
// constants, sums of constants.
NodeRef simplify(const NodeRef& e);

// Replaces the MsgSize / MsgBytes positions: each node gets `value` = `offset` (bytes past the
// layer's entry position; negative after pushes).
void set_positions(const NodeRef& n, std::int64_t offset);

// Substitutes Local(from) by `to` everywhere in `n` (a copy).
NodeRef rename_local(const NodeRef& n, const std::string& from, const NodeRef& to);

// Adds to `out` the name of every local that `n` declares.
void declared_in(const NodeRef& n, std::set<std::string>& out);

// `body` with each local it declares under a name that `reserved` says the generated code uses
// for its own (a layer's variable, `f`, ...) renamed, with its uses, to a fresh one (`f_1`), so
// that it cannot hide the generated code's variable in the blocks nested in its own.
NodeRef rename_reserved_locals(const NodeRef& body,
                               const std::function<bool(const std::string&)>& reserved);

} // namespace lamina::opt
