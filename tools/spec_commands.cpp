#include "tools/spec_commands.hpp"

#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string_view>

#include "runtime/workload.hpp"
#include "spec/program.hpp"
#include "spec/sim.hpp"

namespace lamina::tools {
namespace {

using spec::Diagnostics;
using spec::Program;
using spec::Sources;

std::optional<Program> load_reporting(const std::string& file, Sources& sources,
                                      Diagnostics& diags) {
  auto program = spec::load(file, sources, diags);
  if (!diags.all().empty()) fmt::print(stderr, "{}", diags.format());
  return program;
}

void print_state(const std::vector<spec::NamedValue>& state, std::string_view indent) {
  for (const spec::NamedValue& v : state) fmt::print("{}{}\n", indent, v.to_string());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "output A.put(0, 1, 3)" -> "A.put(0,1,3)": the form trace lines are matched in.
std::string canonical(std::string_view action) {
  for (std::string_view kind : {"input ", "output ", "internal "})
    if (action.starts_with(kind)) action.remove_prefix(kind.size());
  std::string out;
  for (char c : action)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

// Takes the actions of a trace file, one per line (as `lamina sim` prints them; `%` starts a
// comment). Locally controlled actions must be enabled; other lines are environment inputs
// with integer or Boolean arguments.
bool follow_trace(spec::AutomatonSim& sim, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "lamina: error: cannot read trace file '{}'\n", path);
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view text = trim(std::string_view(line).substr(0, line.find('%')));
    if (text.empty()) continue;
    const std::string wanted = canonical(text);
    bool done = false;
    for (const spec::Action& a : sim.enabled()) {
      if (canonical(a.to_string()) != wanted) continue;
      fmt::print("{}\n", a.to_string());
      sim.take(a);
      done = true;
      break;
    }
    if (!done) {
      // An environment input: name(args).
      const auto open = wanted.find('(');
      const std::string name = wanted.substr(0, open);
      std::vector<spec::Value> args;
      bool parsed = true;
      if (open != std::string::npos) {
        std::string_view rest(wanted);
        rest = rest.substr(open + 1);
        if (!rest.ends_with(')')) parsed = false;
        rest.remove_suffix(rest.empty() ? 0 : 1);
        while (parsed && !rest.empty()) {
          const auto comma = rest.find(',');
          const std::string_view arg = rest.substr(0, comma);
          if (arg == "true" || arg == "false") {
            args.push_back(spec::Value::boolean(arg == "true"));
          } else {
            long long v = 0;
            std::size_t used = 0;
            try {
              v = std::stoll(std::string(arg), &used);
            } catch (const std::exception&) {
              used = 0;
            }
            parsed = used == arg.size() && !arg.empty();
            args.push_back(spec::Value::integer(v));
          }
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
      }
      if (!parsed || !sim.apply_input(name, args)) {
        if (sim.failure()) break;
        std::string enabled;
        for (const spec::Action& a : sim.enabled()) enabled += "\n  " + a.to_string();
        fmt::print(stderr,
                   "lamina: error: {}:{}: '{}' is neither an enabled action nor an input the "
                   "environment can give{}{}\n",
                   path, number, text, enabled.empty() ? "" : "; enabled now:", enabled);
        return false;
      }
      fmt::print("input {}\n", text);
    }
    if (sim.failure()) break;
  }
  return true;
}

int sim_automaton(const Program& program, const Sources& sources, const SimOptions& o) {
  std::unique_ptr<spec::AutomatonSim> sim;
  try {
    sim = std::make_unique<spec::AutomatonSim>(program, o.automaton);
  } catch (const spec::SimError& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  std::size_t steps = 0;
  if (!o.trace.empty()) {
    if (!follow_trace(*sim, o.trace)) return 2;
    steps = sim->trace().size();
  } else {
    std::mt19937_64 rng(o.seed);
    for (; steps < o.steps; ++steps) {
      const auto action = sim->random_step(rng);
      if (!action) break;
      if (!o.quiet) fmt::print("{}\n", action->to_string());
    }
  }
  if (const auto& failure = sim->failure()) {
    fmt::print(stderr, "{}", failure->format(sources));
    return 1;
  }
  fmt::print("{} steps{}; final state:\n", steps,
             steps < o.steps && o.trace.empty() ? " (nothing more was enabled)" : "");
  print_state(sim->state(), "  ");
  return 0;
}

int sim_stack(const Program& program, const Sources& sources, const SimOptions& o) {
  std::vector<std::unique_ptr<spec::StackSim>> stacks;
  std::vector<Endpoint*> endpoints;
  try {
    for (std::uint32_t i = 0; i < o.nodes; ++i) {
      stacks.push_back(std::make_unique<spec::StackSim>(program, o.stack));
      endpoints.push_back(stacks.back().get());
    }
  } catch (const spec::SimError& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  Workload w;
  w.seed = o.seed;
  w.nodes = o.nodes;
  w.messages_per_node = static_cast<std::uint32_t>(o.steps);
  w.link = {.delay = std::chrono::milliseconds(1),
            .jitter = std::chrono::milliseconds(3),
            .loss = 0.2,
            .duplicate = 0.1};
  const WorkloadReport r = run_workload(w, endpoints);
  for (const auto& s : stacks) {
    if (const auto& failure = s->failure()) {
      fmt::print(stderr, "{}", failure->format(sources));
      return 1;
    }
  }
  fmt::print("spec stack {} on {} nodes, 20% loss, 10% duplication, seed {}\n{}\n", o.stack,
             o.nodes, o.seed, r.summary());
  fmt::print("final state of node 0:\n");
  for (std::size_t i = 0; i < stacks[0]->depth(); ++i) {
    fmt::print("  {}\n", stacks[0]->layer_name(i));
    print_state(stacks[0]->state(i), "    ");
  }
  return 0;
}

} // namespace

int check_command(const std::vector<std::string>& files) {
  bool ok = true;
  for (const std::string& file : files) {
    Sources sources;
    Diagnostics diags(sources);
    ok = load_reporting(file, sources, diags).has_value() && ok;
  }
  return ok ? 0 : 1;
}

int sim_command(const SimOptions& o) {
  Sources sources;
  Diagnostics diags(sources);
  const auto program = load_reporting(o.file, sources, diags);
  if (!program) return 2;
  return o.stack.empty() ? sim_automaton(*program, sources, o) : sim_stack(*program, sources, o);
}

} // namespace lamina::tools
