// The checker: resolves the names and types of a parsed Program in place and reports what is
// wrong with it (spec/README.md states the rules). The simulator runs only checked programs and
// relies on what the checker writes into the tree:
//
// - Every TypeExpr::resolved, TypeDecl::resolved, Header::resolved (a Record with is_header),
//   also those of Param, StateVar and Formal types; a `const x` formal gets the type of the
//   automaton parameter x. A type that failed to resolve is the Error type, never null.
// - Every Expr::type, Error where the expression failed to check. Integer arithmetic is exact
//   (spec/README.md, "Types"): `+ - * div mod` and unary `-` on any two integers are Int, and
//   any two integers compare. `+% -% *%` take two operands of one fixed width and are of that
//   width. Where a value is stored (assignment, initial value, default, argument, binding,
//   field, element, emit), any integer type may go into any other: the target's type is the
//   declared one (the Expr::type of an assignment's target), and the simulator checks the
//   value fits it. An integer literal is of the type a store or a wrapping operator expects
//   there, checked to fit; elsewhere Int. A time literal (20ms) is a Time. `-lit` is typed as
//   a whole, its operand then being Int if the literal alone would not fit (-128 as an i8).
//   `{}` has the Seq, Set, Map or Msg type of its context (the empty message for Msg);
//   `{a, b}` is the Seq or Set of its context, or a Seq of the first element's type.
// - Name::kind and slot. State: the automaton's, layer's or (in stack arguments) stack's
//   parameters in order, then its state variables in order. Param: index in the transition's
//   parameters (in a ccp: of the transition for that event). Local: a let/for slot. Builtin:
//   0 me, 1 group_size, 2 peers, 3 now, 4 lamport (layers only; `now`/`lamport` not in
//   invariants or initial values). Enumerator: its index. Component: the component's index;
//   such a Name appears only as the record of a FieldAccess, whose index is the variable's
//   state slot inside that component (the Name itself has the Error type and no value).
//   A header name in top(m, H), pop(m, H), fits(m, H) stays Unresolved; its type is H. The
//   headers a layer or automaton sees are its own and those declared at the top level of any
//   file of the program; a top-level header's Header::resolved is set like a layer's.
// - Built-in functions: head(Seq[T]) T, tail Seq[T], len Nat; size(Msg) Nat, crc32c u32,
//   sha256 Msg (the 32-byte digest), push(Msg, header) Msg, pop(Msg, H) Msg, top(Msg, H) H,
//   fits Bool, slice(Msg, int, int) Msg, concat Msg; keys(Map[K, V]) Seq[K], has(Map, K) Bool,
//   remove(Map or Set, k) the same type, insert(Set[T], T) Set[T]; min/max of two integers: their
//   type if it is the same, else Int; empty(Seq, Set, Map or Msg) Bool; range(n) Seq[Nat]. Built-in
//   names: me Peer, group_size u32, peers Seq[Peer], now Time, lamport u64.
// - A call of an oracle (`oracle F(x: T, ...): R`, declared in any file of the program) is typed
//   against its declaration: one argument per parameter, each flowing into its type; its type is
//   R. Call::oracle points to the declaration. OracleDecl parameter and result TypeExprs are
//   resolved. An oracle may not take the name of a built-in function or type.
// - `for x in e`: e is a Seq or Set (x: its elements, in order) or a Map (x: its keys).
// - FieldAccess::index: the field's position in the record.
// - RecordLit::fields: reordered into the record's declaration order, one per field (when the
//   literal checked cleanly).
// - Let::slot, For::slot (each let/for of a transition gets its own slot, never reused) and
//   Transition::locals (their number).
// - Transition::param_types and Transition::bindings, one per parameter. Layer transitions:
//   send/deliver (Peer, Msg), cast (Msg), timer (), all Environment. An Equality binding's
//   `expr` (the other side of `x = e` or `e = x`, the first such conjunct) reads, of the
//   action's parameters, only Const ones and Equality ones before x: evaluating them in
//   parameter order works. It may fail to evaluate where the precondition's other conjuncts
//   guard it (`buf ≠ {} ∧ x = head(buf)` with buf empty).
// - Invariant::of names the owner also where the source left it implicit (done by load).
// - Component arguments and stack arguments are typed against the parameters they set; a stack
//   argument's Names of kind State refer to the stack's parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/program.hpp"
#include "spec/source.hpp"
#include "spec/value.hpp"

namespace lamina::spec {

// Checks every declaration of every file of `program`, annotating the tree as described above.
// Reports errors, warnings (unreachable branches, never-enabled actions) and notes to `diags`.
void check(Program& program, Diagnostics& diags);

// The value of a constant integer (a time in nanoseconds), Bool (0, 1) or enumerator (its index)
// expression of a checked program: literals and operators on them; nullopt if it is not one.
std::optional<Int128> eval_const(const Expr* e);

// A time in nanoseconds as a spec writes it, in the largest unit that keeps it whole: 20ms.
std::string time_text(Int128 ns);

// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo
// (for "did you mean" notes).
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

} // namespace lamina::spec
