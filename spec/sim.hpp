// The spec simulator: runs checked specs (spec/README.md, "Semantics of a step") so that they
// can serve as the oracle the C++ layers are tested against.
//
// Three front doors, all over one tree-walking interpreter of the checked syntax tree:
//
//   AutomatonSim  a classic IOA automaton, primitive or composite: enabled actions, steps,
//                 environment inputs, seeded random runs, invariants checked after every step.
//   LayerSim      one layer instance driven event by event; records what it emits and the
//                 timers it sets, and evaluates its CCPs.
//   StackSim      a `stack` of layers behind the same Endpoint face as the C++ stacks, so that a
//                 spec stack runs on SimNet or UDP beside them.
//
// A spec that goes wrong at run time (overflow, head of an empty sequence, division by zero, a
// violated invariant) never crashes the simulator: the run stops and failure() says what, where
// in the spec, and which steps led there.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/host.hpp"
#include "spec/ast.hpp"
#include "spec/program.hpp"
#include "spec/source.hpp"
#include "spec/value.hpp"

namespace lamina::spec {

// What stopped a run: a run-time error or a violated invariant, where in the spec, and what led
// to it.
struct Failure {
  enum class Kind : std::uint8_t { RuntimeError, InvariantViolated };
  Kind kind = Kind::RuntimeError;
  SourceLoc loc;                  // the failing expression, or the invariant conjunct that is false
  std::string message;            // "overflow: 4294967295 + 1 leaves u32"
  std::vector<std::string> trace; // the steps taken, oldest first; the last is the failing one
  std::size_t trace_omitted = 0;  // earlier steps not kept (layers keep only the latest)
  std::vector<std::string> state; // "A.count = 6": the state when the run stopped

  // "file:line:col: error: message", the source line and a caret, then the trace and state.
  [[nodiscard]] std::string format(const Sources& sources) const;
};

// A problem that prevents a simulation from starting: an unknown automaton, layer or stack, an
// argument that is missing, unknown or out of range, an initial value that fails to evaluate.
class SimError : public std::runtime_error {
public:
  SimError(SourceLoc loc, const std::string& message) : std::runtime_error(message), loc(loc) {}
  SourceLoc loc;
};

// A variable with its value: "A.count" = 6.
struct NamedValue {
  std::string name;
  Value value;
  TypeRef type;
  [[nodiscard]] std::string to_string() const; // "A.count = 6"
};

// A variable seen in place, without a copy of its value: valid until the simulator next runs.
struct VariableView {
  std::string_view name;
  const Value& value;
  const TypeRef& type;
};

// ------------------------------------------------------------------------------ automata

// An action of an automaton with its parameter values.
struct Action {
  ActionKind kind = ActionKind::Output; // Input: from the environment
  std::string component;                // the owner in a composite ("A"); empty otherwise
  std::string name;
  std::vector<Value> params;
  std::vector<TypeRef> types;
  // Where its transition is, for AutomatonSim::take (locally controlled actions).
  std::uint32_t leaf = 0;
  std::uint32_t transition = 0;

  // "output A.put(0, 1, 3)", "internal A.reset", "input put(0, 1, 3)"
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Action& a, const Action& b) {
    return a.kind == b.kind && a.component == b.component && a.name == b.name &&
           a.params == b.params;
  }
};

// How random_step draws environment inputs.
struct RandomOptions {
  std::uint32_t environment_one_in = 4; // an input, when both kinds are possible: 1 step in N
  std::int64_t int_lo = 0;              // integers are drawn from [int_lo, int_hi], clamped to
  std::int64_t int_hi = 7;              // the parameter's type
  std::uint32_t max_len = 3;            // sequences, sets, maps and messages: at most this long
};

class AutomatonSim {
public:
  // Instantiates automaton `name` of `program`, with `params` for its parameters in order (the
  // rest take their declared defaults). `program` must outlive the simulator. Throws SimError.
  AutomatonSim(const Program& program, std::string_view name, std::vector<Value> params = {});
  AutomatonSim(AutomatonSim&&) noexcept;
  AutomatonSim& operator=(AutomatonSim&&) noexcept;
  ~AutomatonSim();

  // The locally controlled actions (outputs and internals of every component) enabled now,
  // with the parameters their preconditions bind. Empty after a failure.
  [[nodiscard]] std::vector<Action> enabled();
  // Performs an enabled action and, in a composite, the inputs of the other components that
  // are the same action (the output's effect first). False if the action is not enabled now or
  // the step failed (see failure()).
  bool take(const Action& action);
  // An input from the environment: every component input `name` with these parameter values
  // (const parameters must match). False if no component takes it, if it is an output of a
  // component (so not the environment's to give), or if the step failed.
  bool apply_input(std::string_view name, const std::vector<Value>& params);
  // The component inputs no component output drives: the environment's actions, with their
  // const parameters filled in and the others at their defaults.
  [[nodiscard]] std::vector<Action> environment_inputs() const;

  // One step drawn with `rng`: uniformly among the enabled actions, or now and then (see
  // RandomOptions) an environment input with random parameters. The action taken, or nullopt
  // when nothing can happen (quiescent, or failed).
  std::optional<Action> random_step(std::mt19937_64& rng);
  // Up to `max_steps` random steps from a fresh rng seeded with `seed`; stops early when
  // quiescent or failed. Returns the number of steps taken.
  std::size_t run_random(std::uint64_t seed, std::size_t max_steps);
  void set_random_options(const RandomOptions& options);

  // Every step taken, oldest first.
  [[nodiscard]] const std::vector<Action>& trace() const;
  // Parameters and state variables in declaration order; "A.count" inside a composite.
  [[nodiscard]] std::vector<NamedValue> state() const;
  [[nodiscard]] const std::optional<Failure>& failure() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// -------------------------------------------------------------------------------- layers

// One thing a layer did while handling an event, in order: an event it emitted or a timer it
// set.
struct LayerOutput {
  enum class Kind : std::uint8_t { Event, Timer };
  Kind kind = Kind::Event;
  Port port = Port::Down; // Event: toward the layer below (Down) or above (Up)
  EventKind event = EventKind::Send;
  PeerId peer = 0; // destination of a send, source of a deliver; kAllPeers for a cast
  std::vector<std::byte> msg;
  std::uint64_t lamport = 0;
  Duration delay{}; // Timer

  // "down.send(1, msg[5: 00 00 00 00 61]) lamport 0", "set_timer(20000000ns)"
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const LayerOutput&, const LayerOutput&) = default;
};

// A CCP evaluated for one event.
struct CcpResult {
  bool declared = false;          // the layer states a CCP for this event
  bool holds = false;             // and it holds
  std::optional<Failure> failure; // evaluating it raised a run-time error
};

// Layer parameter values by name; parameters not named take their declared defaults.
using LayerArgs = std::vector<std::pair<std::string, Value>>;

class LayerSim {
public:
  // Instantiates layer `name` of `program` as member `me` of a group of `group_size`. Throws
  // SimError. `program` must outlive the simulator.
  LayerSim(const Program& program, std::string_view name, const LayerArgs& args = {}, PeerId me = 0,
           std::uint32_t group_size = 2);
  LayerSim(LayerSim&&) noexcept;
  LayerSim& operator=(LayerSim&&) noexcept;
  ~LayerSim();

  // An event from the layer above (send, cast), from below (deliver), or the timer, handled at
  // time `now`. Returns what the layer emitted and the timers it set, in order. After a failure
  // (see failure()) the outputs up to it, and nothing at all on later calls.
  std::vector<LayerOutput> down_send(PeerId to, std::span<const std::byte> msg,
                                     std::uint64_t lamport, Time now);
  std::vector<LayerOutput> down_cast(std::span<const std::byte> msg, std::uint64_t lamport,
                                     Time now);
  std::vector<LayerOutput> up_deliver(PeerId from, std::span<const std::byte> msg,
                                      std::uint64_t lamport, Time now);
  std::vector<LayerOutput> timer(Time now);

  // The CCP for `port.event` (down.send, down.cast, up.deliver) on this event, evaluated in the
  // current state without changing it. `peer` is ignored for a cast.
  [[nodiscard]] CcpResult ccp(Port port, EventKind event, PeerId peer,
                              std::span<const std::byte> msg) const;

  // Parameters and state variables in declaration order.
  [[nodiscard]] std::vector<NamedValue> state() const;
  [[nodiscard]] const std::optional<Failure>& failure() const;
  [[nodiscard]] const std::string& name() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// A stack declared in a spec, running as an Endpoint: what the bottom layer emits down goes to
// Host::transmit, what the top layer emits up to Host::deliver, and timers to Host::set_timer
// with the layer's index (top = 0) as the timer number. Like the C++ stacks, an emitted event
// is handled by the neighbour at once, before the emitting transition goes on.
class StackSim final : public Endpoint {
public:
  // Stack `name` of `program` with `args` for its parameters (the rest take their defaults).
  // The layers are instantiated when the stack is attached to a host (they may read `me` and
  // `group_size`). Throws SimError. `program` must outlive the stack.
  StackSim(const Program& program, std::string_view name, const LayerArgs& args = {});
  StackSim(const StackSim&) = delete;
  StackSim& operator=(const StackSim&) = delete;
  ~StackSim() override;

  void attach(Host& host) override;
  // After a failure these do nothing: the stack has stopped.
  void send(PeerId to, Msg payload) override;
  void receive(PeerId from, Msg packet) override;
  void expire(std::uint32_t timer) override;

  [[nodiscard]] std::size_t depth() const;
  [[nodiscard]] const std::string& layer_name(std::size_t layer) const;
  // The parameters and state variables of layer `layer` (top = 0); empty before attach.
  [[nodiscard]] std::vector<NamedValue> state(std::size_t layer) const;
  // The same, in place: valid until the stack next handles an event.
  [[nodiscard]] std::vector<VariableView> variables(std::size_t layer) const;
  [[nodiscard]] const std::optional<Failure>& failure() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace lamina::spec
