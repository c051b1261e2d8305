// difftest, the whole job: load a stack from its spec, run its implementations in lockstep on
// a random trace (or a saved one), and on a disagreement shrink the trace to a minimal one
// that still shows it. `lamina difftest` is a thin front end to this; so are the tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "difftest/implementation.hpp"
#include "difftest/network.hpp"
#include "difftest/packet.hpp"
#include "difftest/runner.hpp"
#include "difftest/shrink.hpp"
#include "difftest/trace.hpp"
#include "spec/program.hpp"
#include "spec/source.hpp"

namespace lamina::difftest {

// A stack loaded from its spec file, with the parameters given.
class LoadedStack {
public:
  // Throws std::runtime_error with the spec's diagnostics, or naming the unknown stack or
  // parameter. Parameters are integers; Time parameters in nanoseconds.
  LoadedStack(const std::string& spec_file, const std::string& stack,
              std::vector<std::pair<std::string, std::int64_t>> params = {});
  LoadedStack(const LoadedStack&) = delete;
  LoadedStack& operator=(const LoadedStack&) = delete;

  [[nodiscard]] const StackDecl& decl() const { return decl_; }
  [[nodiscard]] const PacketDecoder& packets() const { return *packets_; }
  [[nodiscard]] const std::string& spec_file() const { return file_; }
  [[nodiscard]] const std::vector<std::pair<std::string, std::int64_t>>& params() const {
    return params_;
  }
  // The stack's mtu parameter, if a layer of it has one (the generator's size boundaries).
  [[nodiscard]] std::optional<std::uint32_t> mtu() const;
  // Whether a layer of the stack provides integrity (drops damaged packets), as the spec says.
  [[nodiscard]] bool has_integrity() const;

private:
  std::string file_;
  std::vector<std::pair<std::string, std::int64_t>> params_;
  spec::Sources sources_;
  std::optional<spec::Program> program_;
  StackDecl decl_;
  std::unique_ptr<PacketDecoder> packets_;
};

// The stacks `spec_file` declares (not those it imports), in the order declared. Throws
// std::runtime_error with the diagnostics if the file does not check.
std::vector<std::string> declared_stacks(const std::string& spec_file);

struct Progress {
  std::uint64_t events = 0; // done so far
  std::uint64_t total = 0;
  double seconds = 0;
};

struct Options {
  std::vector<std::string> impls = {"spec", "static", "dynamic"};
  std::uint64_t events = 100'000;
  std::uint64_t seed = 1;
  std::uint32_t nodes = 3;
  NetworkOptions network;
  bool shrink = true;
  std::chrono::steady_clock::duration shrink_budget = std::chrono::seconds(60);
  // Called now and then during a long run (not while shrinking).
  std::function<void(const Progress&)> progress;
};

struct Outcome {
  std::uint64_t events = 0;      // events run (up to and including a divergence)
  std::uint64_t comparisons = 0; // layer states compared
  double seconds = 0;            // the run, not the shrinking
  std::optional<Divergence> divergence;
  // With a divergence: the trace that shows it (shrunk, if asked), ready for --replay, and the
  // divergence as that trace shows it.
  Trace trace;
  std::size_t original_length = 0; // events up to the divergence, before shrinking
  ShrinkStats shrink;
};

// A random run of options.events events. The trace is not kept while the implementations
// agree (a long run needs no memory for it); on a divergence it is drawn again from the seed.
Outcome run(const LoadedStack& stack, const Options& options);
// Runs a saved trace (its implementations, nodes and events) and, if it fails and `shrink`,
// shrinks it.
Outcome replay(const LoadedStack& stack, const Trace& trace, bool shrink,
               std::chrono::steady_clock::duration shrink_budget);

// One mutant against the correct implementation.
struct MutantResult {
  std::string name;
  std::string layer;
  std::string description;
  bool applicable = false; // some stack has the mutant's layer
  bool caught = false;
  std::string stack;                 // where it was caught (or last tried)
  std::uint64_t events_to_catch = 0; // in that stack's run
  std::size_t minimal_length = 0;    // events in the shrunk trace
  bool minimal = true;               // false: the shrink's time budget ran out first
  bool reproduced = true;            // false: run again, it did not fail (kept as found)
  std::optional<Divergence> divergence;
};
// Runs every mutant of the generated code ("fused-mutant:NAME", optimizer/mutants/*.mutant)
// against options.impls.front() on the stack it was made for, if `stacks` has it. The result's
// `layer` is "generated".
std::vector<MutantResult> run_fused_mutants(const std::vector<const LoadedStack*>& stacks,
                                            const Options& options,
                                            const std::function<void(const MutantResult&)>& each);
// Runs every mutant against options.impls.front() on each of `stacks` that has its layer, in
// order, until one run catches it; each run is at most options.events events. `each` is told
// of every result as it comes.
std::vector<MutantResult> run_mutants(const std::vector<const LoadedStack*>& stacks,
                                      const Options& options,
                                      const std::function<void(const MutantResult&)>& each = {});

} // namespace lamina::difftest
