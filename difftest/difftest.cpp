#include "difftest/difftest.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <map>
#include <stdexcept>

#include "difftest/mutants.hpp"
#include "runtime/fused_stacks.hpp"
#include "runtime/registry.hpp"
#include "spec/stack_string.hpp"

namespace lamina::difftest {

LoadedStack::LoadedStack(const std::string& spec_file, const std::string& stack,
                         std::vector<std::pair<std::string, std::int64_t>> params)
    : file_(spec_file), params_(std::move(params)) {
  spec::Diagnostics diags(sources_);
  program_ = spec::load(spec_file, sources_, diags);
  if (!program_) throw std::runtime_error(diags.format());
  std::map<std::string, std::int64_t, std::less<>> overrides(params_.begin(), params_.end());
  decl_.program = &*program_;
  decl_.stack = stack;
  try {
    decl_.stack_string = spec::stack_string(*program_, stack, overrides);
  } catch (const spec::StackStringError& e) {
    throw std::runtime_error(fmt::format("{}: {}", spec_file, e.what()));
  }
  packets_ = std::make_unique<PacketDecoder>(decl_);
  for (const auto& [name, value] : params_)
    decl_.args.emplace_back(name, spec::Value::integer(value));
}

std::vector<std::string> declared_stacks(const std::string& spec_file) {
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const auto program = spec::load(spec_file, sources, diags);
  if (!program) throw std::runtime_error(diags.format());
  std::vector<std::string> names;
  for (const auto& decl : program->files.front().decls)
    if (const auto* s = std::get_if<spec::Stack>(&decl)) names.push_back(s->name);
  return names;
}

bool LoadedStack::has_integrity() const {
  const spec::Program& program = *decl_.program; // program_, loaded by the constructor
  for (const spec::LayerRef& ref : program.stack(decl_.stack)->layers)
    if (const spec::Layer* l = program.layer(ref.layer))
      if (std::find(l->provides.begin(), l->provides.end(), "integrity") != l->provides.end())
        return true;
  return false;
}

std::optional<std::uint32_t> LoadedStack::mtu() const {
  for (const LayerSpec& l : parse_stack_string(decl_.stack_string))
    for (const auto& a : l.args)
      if (a.key == "mtu") {
        std::uint32_t v = 0;
        auto [p, ec] = std::from_chars(a.value.data(), a.value.data() + a.value.size(), v);
        if (ec == std::errc{} && v > 1) return v;
      }
  return std::nullopt;
}

namespace {

std::unique_ptr<Lockstep> start(const LoadedStack& stack, const std::vector<std::string>& impls,
                                std::uint32_t nodes) {
  std::vector<std::unique_ptr<Implementation>> made;
  for (const auto& name : impls) made.push_back(make_implementation(name, stack.decl(), nodes));
  return std::make_unique<Lockstep>(std::move(made), &stack.packets(),
                                    application_for(stack.decl().stack_string));
}

// Runs `events` on fresh implementations; the first divergence, if any.
std::optional<Divergence> run_events(const LoadedStack& stack,
                                     const std::vector<std::string>& impls, std::uint32_t nodes,
                                     const std::vector<TraceEvent>& events) {
  auto run = start(stack, impls, nodes);
  run->expect_arrivals_of(events);
  for (std::size_t i = 0; i < events.size(); ++i)
    if (auto d = run->step(events[i], i)) return d;
  return std::nullopt;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Cuts `out.trace` down to what still shows a divergence, and records the divergence as the
// cut trace shows it. If the cut trace, run again, shows none — an implementation that does not
// do the same on the same events (one that reads bytes it never wrote) — the whole trace and
// the divergence as found are kept, and out.shrink.reproduced says so: a divergence found is
// never dropped.
void shrink_outcome(const LoadedStack& stack, Outcome& out,
                    std::chrono::steady_clock::duration budget) {
  const Trace& t = out.trace;
  auto fails = [&](const std::vector<TraceEvent>& events) {
    return run_events(stack, t.impls, t.nodes, events).has_value();
  };
  std::vector<TraceEvent> cut = shrink(t.events, fails, budget, out.shrink);
  if (auto again = run_events(stack, t.impls, t.nodes, cut)) {
    out.trace.events = std::move(cut);
    out.divergence = std::move(again);
    return;
  }
  out.shrink.minimal = false;
  out.shrink.reproduced = false;
}

Trace empty_trace(const LoadedStack& stack, const std::vector<std::string>& impls,
                  std::uint32_t nodes, std::uint64_t seed) {
  Trace t;
  t.spec_file = stack.spec_file();
  t.stack = stack.decl().stack;
  t.params = stack.params();
  t.impls = impls;
  t.nodes = nodes;
  t.seed = seed;
  return t;
}

} // namespace

namespace {

// Draws and runs up to `limit` events of the random trace of `o`; stops at a divergence.
// Keeps the events in `out.trace` only if `keep`: a long run does not hold its trace, and a
// failing one is drawn again up to the divergence (the same seed, the same trace).
void drive(const LoadedStack& stack, const Options& o, std::uint64_t limit, bool keep,
           Outcome& out) {
  NetworkOptions net = o.network;
  if (auto mtu = stack.mtu()) net.mtu = *mtu;
  if (!net.corrupt) net.corrupt = stack.has_integrity() ? 0.01 : 0.0;
  auto lockstep = start(stack, o.impls, o.nodes);
  TraceGenerator gen(o.seed, o.nodes, net);
  const auto began = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < limit; ++i) {
    const TraceEvent e = gen.next();
    if (keep) out.trace.events.push_back(e);
    out.divergence = lockstep->step(e, i);
    out.events = i + 1;
    if (out.divergence) break;
    gen.observe(*lockstep);
    if (o.progress && (i & 0xFFFF) == 0xFFFF) o.progress({i + 1, limit, seconds_since(began)});
  }
  out.seconds = seconds_since(began);
  out.comparisons = lockstep->comparisons();
}

} // namespace

Outcome run(const LoadedStack& stack, const Options& o) {
  Outcome out;
  out.trace = empty_trace(stack, o.impls, o.nodes, o.seed);
  drive(stack, o, o.events, false, out);
  if (!out.divergence) return out;
  Outcome again;
  again.trace = out.trace;
  Options quiet = o;
  quiet.progress = nullptr;
  drive(stack, quiet, out.events, true, again);
  out.trace = std::move(again.trace);
  out.original_length = out.trace.events.size();
  if (o.shrink) shrink_outcome(stack, out, o.shrink_budget);
  return out;
}

Outcome replay(const LoadedStack& stack, const Trace& trace, bool shrink,
               std::chrono::steady_clock::duration shrink_budget) {
  Outcome out;
  out.trace = trace;
  auto lockstep = start(stack, trace.impls, trace.nodes);
  lockstep->expect_arrivals_of(trace.events);
  const auto began = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    out.events = i + 1;
    out.divergence = lockstep->step(trace.events[i], i);
    if (out.divergence) break;
  }
  out.seconds = seconds_since(began);
  out.comparisons = lockstep->comparisons();
  if (!out.divergence) return out;
  out.trace.events.resize(out.events);
  out.original_length = out.events;
  if (shrink) shrink_outcome(stack, out, shrink_budget);
  return out;
}

namespace {

// Runs implementation `mutant` against options.impls.front() on `stack`, into `r`.
void try_mutant(const LoadedStack& stack, const Options& o, const std::string& mutant,
                MutantResult& r) {
  Options mo = o;
  mo.impls = {o.impls.front(), mutant};
  mo.progress = nullptr;
  const Outcome out = run(stack, mo);
  r.applicable = true;
  r.stack = stack.decl().stack;
  r.caught = out.divergence.has_value();
  r.events_to_catch = out.events;
  r.minimal_length = out.trace.events.size();
  r.minimal = out.shrink.minimal;
  r.reproduced = out.shrink.reproduced;
  r.divergence = out.divergence;
}

} // namespace

std::vector<MutantResult> run_mutants(const std::vector<const LoadedStack*>& stacks,
                                      const Options& o,
                                      const std::function<void(const MutantResult&)>& each) {
  std::vector<MutantResult> results;
  for (const Mutant& m : mutants()) {
    MutantResult r;
    r.name = m.name;
    r.layer = m.layer;
    r.description = m.description;
    for (const LoadedStack* stack : stacks) {
      const std::vector<LayerSpec> layers = parse_stack_string(stack->decl().stack_string);
      if (std::none_of(layers.begin(), layers.end(),
                       [&](const LayerSpec& l) { return l.name == m.layer; }))
        continue;
      try_mutant(*stack, o, "mutant:" + m.name, r);
      if (r.caught) break;
    }
    if (each) each(r);
    results.push_back(std::move(r));
  }
  return results;
}

std::vector<MutantResult> run_fused_mutants(const std::vector<const LoadedStack*>& stacks,
                                            const Options& o,
                                            const std::function<void(const MutantResult&)>& each) {
  std::vector<MutantResult> results;
  for (const std::string& kind : fused_stacks().kinds("fused-mutant:")) {
    MutantResult r;
    r.name = kind.substr(std::string_view("fused-mutant:").size());
    r.layer = "generated";
    r.description = fused_stacks().description(kind);
    const std::vector<std::string> strings = fused_stacks().stack_strings(kind);
    for (const LoadedStack* stack : stacks) {
      if (std::find(strings.begin(), strings.end(), stack->decl().stack_string) == strings.end())
        continue;
      try_mutant(*stack, o, kind, r);
      break;
    }
    if (each) each(r);
    results.push_back(std::move(r));
  }
  return results;
}

} // namespace lamina::difftest
