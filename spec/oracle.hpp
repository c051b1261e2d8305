// Oracles: the functions a spec declares with `oracle F(x: T, ...): R` and the host program
// supplies (spec/README.md, "Oracles"). The simulator calls the implementation registered under
// the oracle's name, in one registry for the whole process:
//
//   // ants_oracles.cpp, linked into the program that runs the ANTS specs
//   const lamina::spec::OracleRegistrar ants_run("AntsRun", [](std::span<const Value> args) {
//     ... // args[0] is `code` (a Msg), args[2] is `me` (an Int), ...
//     return Value::seq(std::move(actions));
//   });
//
// Arguments arrive as Values of the declared types, in declaration order: Msg as Kind::Msg,
// integers (Nat, Peer, Time, u32, ...) as Kind::Int, enumerations as Kind::Enum (the
// enumerator's index), records and headers as Kind::Record with the fields in declaration order,
// Seq, Set and Map as their kinds. The result must be a Value of the declared result type; the
// simulator checks that it is (its kind, record arity, integer ranges, enumerator indices,
// ordered sets and map keys) and stops the run with an error naming the oracle if it is not.
// An implementation must be deterministic (a function of its arguments): the spec's meaning,
// and the differential tests against it, rest on that.
//
// A registrar in a static library is linked only if something else in its object file is used:
// define registrars in a file of the program itself (or of an object library).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "spec/value.hpp"

namespace lamina::spec {

using OracleFn = std::function<Value(std::span<const Value> args)>;

// Registers the implementation of the oracle `name`, replacing any registered before; a static
// object's constructor may call it. Register before simulating: find_oracle's pointer is to the
// entry, which a later registration of the same name changes.
void register_oracle(std::string name, OracleFn fn);

// The implementation of the oracle `name`, or nullptr if none is registered.
const OracleFn* find_oracle(std::string_view name);

struct OracleRegistrar {
  OracleRegistrar(std::string name, OracleFn fn) {
    register_oracle(std::move(name), std::move(fn));
  }
};

} // namespace lamina::spec
