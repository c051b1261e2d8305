// The `lamina` subcommands that read spec files: check and sim.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lamina::tools {

// lamina check FILE...: nothing and 0 when every file checks; the diagnostics and 1 otherwise.
int check_command(const std::vector<std::string>& files);

struct SimOptions {
  std::string file;
  std::string automaton; // one of automaton and stack
  std::string stack;
  std::uint64_t steps = 1000;
  std::uint64_t seed = 1;
  std::string trace;       // a file of actions to take instead of random ones
  std::uint32_t nodes = 2; // stacks: members of the group
  bool quiet = false;      // print only the summary and the final state
};

// lamina sim: runs an automaton (random steps, or a given trace) or a spec stack (on SimNet);
// prints the actions taken and the final state. 1 on an invariant violation or a run-time
// error, with the trace that led to it; 2 when the run cannot start.
int sim_command(const SimOptions& options);

} // namespace lamina::tools
