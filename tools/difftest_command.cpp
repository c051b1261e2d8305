#include "tools/difftest_command.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>
#include <unistd.h>

#include "difftest/difftest.hpp"
#include "difftest/mutants.hpp"
#include "runtime/fused_stacks.hpp"
#include "runtime/registry.hpp"

namespace lamina::tools {

namespace {

using namespace lamina::difftest;

// "timeout=5ms" -> {"timeout", 5000000}; integers, or durations with a unit (ns, us, ms, s).
std::pair<std::string, std::int64_t> parse_param(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::runtime_error(fmt::format("--param {}: expected NAME=VALUE, e.g. mtu=512", text));
  const std::optional<std::uint64_t> n = parse_nanoseconds(text.substr(eq + 1), false);
  if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw std::runtime_error(fmt::format(
        "--param {}: expected a non-negative integer, or a duration such as 20ms", text));
  return {text.substr(0, eq), static_cast<std::int64_t>(*n)};
}

std::string thousands(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// Progress on stderr when it is a terminal: events done, rate, time left.
class ProgressLine {
public:
  ProgressLine() : on_(isatty(STDERR_FILENO) != 0) {}
  void update(const Progress& p) {
    if (!on_ || p.seconds < last_ + 0.25) return;
    last_ = p.seconds;
    const double rate = static_cast<double>(p.events) / p.seconds;
    const double left = static_cast<double>(p.total - p.events) / rate;
    fmt::print(stderr, "\r  {} / {} events  {:.0f} events/s  {:.0f} s left   ", thousands(p.events),
               thousands(p.total), rate, left);
    shown_ = true;
  }
  void clear() {
    if (shown_) fmt::print(stderr, "\r{:<79}\r", "");
    shown_ = false;
  }

private:
  bool on_;
  bool shown_ = false;
  double last_ = 0;
};

// Prints the divergence of `out` (which must have one) and its trace, and saves the trace.
void print_divergence(const Outcome& out, const std::string& save) {
  if (out.divergence) fmt::print("{}", out.divergence->format());
  const Trace& t = out.trace;
  if (!out.shrink.reproduced)
    fmt::print("trace: {} events, not shrunk: run again, it did not fail, so an implementation "
               "does not do the same on the same events (bytes read that were never written?)\n",
               t.events.size());
  else if (out.original_length != t.events.size() || !out.shrink.minimal)
    fmt::print("{} trace: {} events, shrunk from {} in {} runs{}\n",
               out.shrink.minimal ? "minimal" : "shrunk", t.events.size(), out.original_length,
               out.shrink.tests,
               out.shrink.minimal ? "" : " (the time budget ran out: it may not be minimal)");
  else
    fmt::print("trace: {} events\n", t.events.size());
  const std::size_t shown = std::min<std::size_t>(t.events.size(), 40);
  for (std::size_t i = 0; i < shown; ++i) fmt::print("  {:>4}  {}\n", i, to_text(t.events[i]));
  if (shown < t.events.size()) fmt::print("  ... ({} more in the file)\n", t.events.size() - shown);
  std::ofstream file(save);
  file << write_trace(t);
  if (!file) {
    fmt::print(stderr, "lamina: error: cannot write the trace to {}\n", save);
    return;
  }
  fmt::print("saved to {}; run it again with: lamina difftest --replay {}\n", save, save);
}

int run_mutant_set(const std::vector<const LoadedStack*>& stacks, const Options& o, bool fused) {
  std::vector<std::string> names;
  for (const LoadedStack* s : stacks) names.push_back(s->decl().stack);
  fmt::print("mutants of the {}, each against {} on the stacks {} until one catches it; at "
             "most {} events a run, seed {}:\n",
             fused ? "generated code (lamina-opt)" : "layers", o.impls.front(),
             fmt::join(names, ", "), thousands(o.events), o.seed);
  std::vector<std::uint64_t> caught_after;
  std::size_t applicable = 0;
  (fused ? run_fused_mutants : run_mutants)(stacks, o, [&](const MutantResult& r) {
    if (!r.applicable) {
      fmt::print("  {:<37} {:<14} not applicable: no stack has {}\n", r.name, r.layer, r.layer);
      return;
    }
    ++applicable;
    if (!r.caught) {
      fmt::print("  {:<37} {:<14} SURVIVED ({} events on {})\n", r.name, r.layer,
                 thousands(r.events_to_catch), r.stack);
      return;
    }
    caught_after.push_back(r.events_to_catch);
    fmt::print("  {:<37} {:<14} caught on {} after {} events: {} differs; {} trace {} events{}\n",
               r.name, r.layer, r.stack, thousands(r.events_to_catch), r.divergence->kind,
               r.minimal ? "minimal" : "shrunk", r.minimal_length,
               !r.reproduced ? " (run again, it did not fail: kept as found)"
               : r.minimal   ? ""
                             : " (shrinking ran out of time)");
  });
  std::sort(caught_after.begin(), caught_after.end());
  const std::size_t n = caught_after.size();
  const double median = n == 0 ? 0
                               : (static_cast<double>(caught_after[(n - 1) / 2]) +
                                  static_cast<double>(caught_after[n / 2])) /
                                     2;
  fmt::print("caught {} of {} mutants ({:.0f}%); median events to detection: {}\n", n, applicable,
             applicable == 0 ? 0.0
                             : 100.0 * static_cast<double>(n) / static_cast<double>(applicable),
             median);
  return n == applicable ? 0 : 1;
}

} // namespace

CLI::App* add_difftest_command(CLI::App& app, DifftestOptions& o) {
  auto* cmd = app.add_subcommand(
      "difftest",
      "run the implementations of a stack (spec simulator, static and dynamic composition, fused) "
      "on "
      "the same random trace and compare them after every event: deliveries, packets, timers "
      "and the state of every layer; on a divergence, shrink the trace and save it (exit 1)");
  cmd->add_option("file", o.file, "the spec file declaring the stack (.ioa)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--stack", o.stack,
                  "the name of a stack declared in FILE (default: every stack FILE declares)");
  cmd->add_option("--impl", o.impls,
                  "implementations to compare, the first the reference: spec, static, dynamic, "
                  "fused, hand-fused, mutant:NAME, fused-mutant:NAME (default spec,static,dynamic; "
                  "with --mutants or --fused-mutants, static)")
      ->delimiter(',');
  cmd->add_option("--param", o.params, "a stack parameter, NAME=VALUE (e.g. mtu=512, timeout=5ms)");
  cmd->add_option("--events", o.events, "events in the random trace")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  cmd->add_option("--seed", o.seed, "seed of the random trace (same seed, same trace)");
  cmd->add_option("--nodes", o.nodes, "members of the group")->check(CLI::Range(2u, 16u));
  cmd->add_option("--loss", o.network.loss, "probability that a packet is lost")
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--duplicate", o.network.duplicate, "probability that a packet arrives twice")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--corrupt", o.network.corrupt,
                  "probability that an arriving packet is damaged (a byte flipped or cut short); "
                  "default 0.01 for a stack with an integrity layer (Checksum), else 0")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--delay-ms", o.delay_ms, "one-way delay of a packet, ms")
      ->check(CLI::Range(0.0, 1e4));
  cmd->add_option("--jitter-ms", o.jitter_ms, "extra random delay that reorders packets, ms")
      ->check(CLI::Range(0.0, 1e4));
  cmd->add_option("--replay", o.replay, "run the trace in this file (written by a failing run)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--save", o.save,
                  "where to write the trace of a divergence (default difftest-STACK-SEED.trace)");
  cmd->add_flag("--no-shrink", o.no_shrink, "report a divergence without shrinking its trace");
  cmd->add_option("--shrink-seconds", o.shrink_seconds, "time allowed for shrinking")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("--mutants", o.mutants,
                "run every mutant of the stack's layers against the first --impl and report "
                "which were caught, and after how many events");
  cmd->add_flag("--fused-mutants", o.fused_mutants,
                "run every mutant of lamina-opt's generated code (optimizer/mutants) against the "
                "first --impl on the stack it was made for, and report which were caught");
  cmd->add_flag("--list-mutants", o.list_mutants, "list the mutants and exit");
  return cmd;
}

int difftest_command(DifftestOptions o) {
  if (o.list_mutants) {
    for (const Mutant& m : mutants())
      fmt::print("{:<28} {:<12} {}\n", m.name, m.layer, m.description);
    for (const std::string& kind : fused_stacks().kinds("fused-mutant:"))
      fmt::print("{:<28} {:<12} {}\n", kind, "generated", fused_stacks().description(kind));
    return 0;
  }
  const auto shrink_budget = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.shrink_seconds));
  if (!o.replay.empty()) {
    std::ifstream in(o.replay);
    std::stringstream text;
    text << in.rdbuf();
    const Trace trace = read_trace(text.str(), o.replay);
    const LoadedStack stack(trace.spec_file, trace.stack, trace.params);
    const Outcome out = replay(stack, trace, !o.no_shrink, shrink_budget);
    if (!out.divergence) {
      fmt::print("replay of {}: {} events, {} layer states compared, no divergence ({})\n",
                 o.replay, thousands(out.events), thousands(out.comparisons),
                 fmt::join(trace.impls, ", "));
      return 0;
    }
    print_divergence(out, o.save.empty() ? o.replay + ".min" : o.save);
    return 1;
  }
  if (o.file.empty()) {
    fmt::print(stderr, "lamina: error: difftest needs a spec FILE (or --replay TRACE)\n");
    return 2;
  }
  std::vector<std::pair<std::string, std::int64_t>> params;
  for (const auto& p : o.params) params.push_back(parse_param(p));
  Options run_options;
  run_options.impls = o.impls;
  if (run_options.impls.empty())
    run_options.impls = o.mutants || o.fused_mutants
                            ? std::vector<std::string>{"static"}
                            : std::vector<std::string>{"spec", "static", "dynamic"};
  run_options.events = o.events;
  run_options.seed = o.seed;
  run_options.nodes = o.nodes;
  run_options.network = o.network;
  run_options.network.delay =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.delay_ms));
  run_options.network.jitter =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.jitter_ms));
  run_options.shrink = !o.no_shrink;
  run_options.shrink_budget = shrink_budget;
  if (!o.mutants && !o.fused_mutants && run_options.impls.size() < 2) {
    fmt::print(stderr, "lamina: error: --impl needs at least two implementations to compare\n");
    return 2;
  }

  // Without --stack: every stack the file declares, one after the other.
  const std::vector<std::string> names =
      o.stack.empty() ? declared_stacks(o.file) : std::vector<std::string>{o.stack};
  if (names.empty()) {
    fmt::print(stderr, "lamina: error: {} declares no stack\n", o.file);
    return 2;
  }
  if (o.mutants || o.fused_mutants) {
    std::vector<std::unique_ptr<LoadedStack>> loaded;
    std::vector<const LoadedStack*> stacks;
    for (const std::string& name : names) {
      loaded.push_back(std::make_unique<LoadedStack>(o.file, name, params));
      stacks.push_back(loaded.back().get());
    }
    return run_mutant_set(stacks, run_options, o.fused_mutants);
  }
  for (const std::string& name : names) {
    const LoadedStack stack(o.file, name, params);
    ProgressLine progress;
    run_options.progress = [&](const Progress& p) { progress.update(p); };
    const Outcome out = run(stack, run_options);
    progress.clear();
    if (out.divergence) {
      print_divergence(out,
                       o.save.empty() ? fmt::format("difftest-{}-{}.trace", name, o.seed) : o.save);
      return 1;
    }
    fmt::print("difftest {} ({}; {} nodes, seed {}): {} events, {} layer states compared, no "
               "divergence; {:.0f} events/s\n",
               name, fmt::join(run_options.impls, ", "), o.nodes, o.seed, thousands(out.events),
               thousands(out.comparisons), static_cast<double>(out.events) / out.seconds);
  }
  return 0;
}

} // namespace lamina::tools
