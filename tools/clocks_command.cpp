#include "tools/clocks_command.hpp"

#include <array>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <span>

#include "services/clocks/physical_clocks.hpp"
#include "services/common/spacetime_svg.hpp"

namespace lamina::tools {
namespace {

// The grid that --grid runs over, for each of κ, μ and ε not given. ε is fixed and μ ranges
// from well under Lamport's bound to well over it, with values on either side of it for each κ:
// 1.0 is under ε/(1 − κ) for every κ > 0, and 1.05 under it only for κ = 0.1.
constexpr std::array kGridKappa{0.0, 0.001, 0.01, 0.1};
constexpr std::array kGridMu{0.25, 0.5, 0.75, 0.9, 1.0, 1.05, 1.2, 2.0};
constexpr std::array kGridEpsilon{1.0};

// A CLI11 check that a number satisfies `ok`, with an error that says what the option is.
CLI::Validator number_check(const std::string& description, const std::function<bool(double)>& ok) {
  return {[description, ok](std::string& text) -> std::string {
            double v = 0;
            std::size_t used = 0;
            try {
              v = std::stod(text, &used);
            } catch (const std::exception&) {
              used = 0;
            }
            if (used != text.size() || used == 0) return fmt::format("'{}' is not a number", text);
            if (!ok(v)) return fmt::format("{} is not {}", text, description);
            return {};
          },
          description};
}

struct Row {
  clocks::Params params;
  clocks::Verdict verdict;
  std::uint64_t corrections = 0;
  [[nodiscard]] double bound() const { return clocks::bound(params.kappa, params.epsilon); }
  [[nodiscard]] bool beyond_bound() const { return params.mu >= bound(); }
  // Lamport's condition says these rows have no anomaly.
  [[nodiscard]] bool covered() const { return beyond_bound() && verdict.pc1() && verdict.pc2(); }
};

Row run_one(const clocks::Params& p, clocks::Run* keep = nullptr) {
  clocks::Run run = clocks::simulate(p);
  Row row{p, clocks::check(run, p.kappa, p.epsilon), run.corrections.size()};
  if (keep != nullptr) *keep = std::move(run);
  return row;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    else
      out += c;
  }
  return out + "\"";
}

std::string json_row(const Row& r) {
  const clocks::Params& p = r.params;
  const clocks::Verdict& v = r.verdict;
  std::string violations;
  for (const clocks::Violation& x : v.violations)
    violations +=
        fmt::format("{}{{\"rule\": \"{}\", \"node\": {}, \"real\": {}, \"what\": {}}}",
                    violations.empty() ? "" : ", ", x.rule, x.node, x.real, json_string(x.what));
  return fmt::format(
      "{{\"kappa\": {}, \"mu\": {}, \"epsilon\": {}, \"bound\": {}, \"mu_at_least_bound\": {}, "
      "\"nodes\": {}, \"messages\": {}, \"seed\": {}, \"ir2\": {}, \"anomalies\": {}, "
      "\"corrections\": {}, \"pc1\": {}, \"pc1_violations\": {}, \"pc2\": {}, "
      "\"pc2_violations\": {}, \"worst_skew\": {}, \"worst_skew_at\": {}, \"least_margin\": {}, "
      "\"interval\": {}, \"violations\": [{}]}}",
      p.kappa, p.mu, p.epsilon, r.bound(), r.beyond_bound(), p.nodes, p.messages, p.seed, p.ir2,
      v.anomalies, r.corrections, v.pc1(), v.pc1_violations, v.pc2(), v.pc2_violations,
      v.worst_skew, v.worst_skew_at,
      std::isfinite(v.least_margin) ? fmt::format("{}", v.least_margin) : "null", p.interval,
      violations);
}

void print_one(const Row& r) {
  const clocks::Params& p = r.params;
  const clocks::Verdict& v = r.verdict;
  fmt::print("lamina clocks: {} nodes, κ = {}, μ = {} ms, ε = {} ms, {}; {} messages of μ + up "
             "to {} ms, one sent by each node every {:.4g} ms on average; seed {}\n",
             p.nodes, p.kappa, p.mu, p.epsilon, p.ir2 ? "IR2' on" : "free-running clocks",
             p.messages, p.jitter, p.interval, p.seed);
  fmt::print("bound:       ε/(1 − κ) = {:.6g} ms, so {}\n", r.bound(),
             r.beyond_bound() ? "μ ≥ ε/(1 − κ): no anomaly can occur while PC1 and PC2 hold"
                              : "ε/(1 − κ) > μ: anomalies can occur");
  fmt::print(
      "anomalies:   {} of {} messages arrived with the receiver's clock at or before "
      "their timestamps{}\n",
      v.anomalies, r.params.messages,
      std::isfinite(v.least_margin)
          ? fmt::format("; the closest receipt read {:.6g} ms after its timestamp", v.least_margin)
          : "");
  if (p.ir2) fmt::print("corrections: {} made by IR2'\n", r.corrections);
  fmt::print("PC1:         {}\n",
             v.pc1() ? fmt::format("held: every clock ran at a rate in [{}, {}] between "
                                   "corrections, and corrections only moved clocks forward",
                                   1 - p.kappa, 1 + p.kappa)
                     : fmt::format("FAILED {} times", v.pc1_violations));
  fmt::print("PC2:         {}: worst skew {:.6g} ms (node {} ahead of node {} at {:.6g} ms real "
             "time){}\n",
             v.pc2() ? "held" : "FAILED", v.worst_skew, v.worst_ahead, v.worst_behind,
             v.worst_skew_at,
             v.pc2() ? fmt::format(", under ε = {} ms", p.epsilon)
                     : fmt::format(", ε = {} reached or passed at {} samples", p.epsilon,
                                   v.pc2_violations));
  for (const clocks::Violation& x : v.violations)
    fmt::print("  {} at {:.6g} ms: {}\n", x.rule, x.real, x.what);
  if (r.covered() && v.anomalies > 0)
    fmt::print("CONTRADICTION: anomalies with μ ≥ ε/(1 − κ) while PC1 and PC2 held\n");
}

void print_table(const std::vector<Row>& rows) {
  const clocks::Params& p = rows.front().params;
  fmt::print("lamina clocks: {} nodes, {} messages of mu + up to {} ms each, {}, seed {}\n",
             p.nodes, p.messages, p.jitter, p.ir2 ? "IR2' on" : "free-running clocks", p.seed);
  fmt::print("anomaly: a message that arrives with its receiver's clock at or before its "
             "timestamp; margin: the least of (receiver's clock at receipt - timestamp); "
             "interval: mean ms between one node's sends\n\n");
  fmt::print("{:>6} {:>5} {:>5} {:>13} {:>9} {:>9} {:>9} {:>8} {:>11} {:>10} {:>4} {:>4}\n",
             "kappa", "mu", "eps", "eps/(1-kappa)", "mu>=bound", "anomalies", "margin", "interval",
             "corrections", "worst skew", "PC1", "PC2");
  for (const Row& r : rows)
    fmt::print("{:>6} {:>5} {:>5} {:>13.6g} {:>9} {:>9} {:>9.4f} {:>8.4g} {:>11} {:>10.4f} {:>4} "
               "{:>4}\n",
               r.params.kappa, r.params.mu, r.params.epsilon, r.bound(),
               r.beyond_bound() ? "yes" : "no", r.verdict.anomalies, r.verdict.least_margin,
               r.params.interval, r.corrections, r.verdict.worst_skew,
               r.verdict.pc1() ? "ok" : "FAIL", r.verdict.pc2() ? "ok" : "FAIL");

  // The rows summed up the way Lamport's condition reads.
  const auto tally = [&](bool beyond) {
    std::size_t n = 0, anomalous = 0, held = 0, anomalous_held = 0;
    for (const Row& r : rows) {
      if (r.beyond_bound() != beyond) continue;
      ++n;
      const bool both = r.verdict.pc1() && r.verdict.pc2();
      held += both ? 1 : 0;
      anomalous += r.verdict.anomalies > 0 ? 1 : 0;
      anomalous_held += both && r.verdict.anomalies > 0 ? 1 : 0;
    }
    return fmt::format("{} rows, {} with anomalies. PC1 and PC2 held in {}, {} of them with "
                       "anomalies",
                       n, anomalous, held, anomalous_held);
  };
  fmt::print("\nmu >= eps/(1-kappa): {}\n", tally(true));
  fmt::print("eps/(1-kappa) > mu:  {}\n", tally(false));
}

} // namespace

CLI::App* add_clocks_command(CLI::App& app, ClocksOptions& o) {
  auto* cmd = app.add_subcommand(
      "clocks", "Lamport's physical clocks, simulated: do receipts arrive at or before their "
                "timestamps (anomalies), and do PC1 and PC2 hold? One run, or with --grid or "
                "lists of values a table showing anomalies only where eps/(1-kappa) > mu");
  cmd->add_option("--kappa", o.kappa,
                  "PC1's bound on drift: clocks run at rates in [1-kappa, 1+kappa]; in [0, 1); "
                  "a comma-separated list for a table (default 0.01)")
      ->delimiter(',')
      ->check(number_check("in [0, 1)", [](double v) { return v >= 0 && v < 1; }));
  cmd->add_option("--mu", o.mu,
                  "the least delay of a message, ms; > 0; a list for a table (default 0.5)")
      ->delimiter(',')
      ->check(number_check("> 0", [](double v) { return v > 0 && std::isfinite(v); }));
  cmd->add_option("--epsilon", o.epsilon,
                  "PC2's bound on skew, ms: clocks start less than it apart; > 0; a list for a "
                  "table (default 1)")
      ->delimiter(',')
      ->check(number_check("> 0", [](double v) { return v > 0 && std::isfinite(v); }));
  cmd->add_option("--nodes", o.nodes, "number of clocks")
      ->check(CLI::Range(std::size_t{2}, std::size_t{64}))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the run (same seed, same run)")->capture_default_str();
  cmd->add_option("--messages", o.messages, "messages sent in all")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--jitter", o.jitter, "a message takes mu plus up to this much, ms")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option(
         "--interval", o.interval,
         "mean time between one node's sends, ms (default: (eps - 2 kappa (mu + jitter)) / "
         "(20 kappa), which keeps IR2'-corrected clocks within about 0.8 eps)")
      ->check(number_check("> 0", [](double v) { return v > 0 && std::isfinite(v); }));
  cmd->add_option("--segment", o.segment,
                  "every this many ms each clock gets a new rate (0: one rate per run)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  cmd->add_flag("--free-running", o.free_running,
                "no IR2': clocks are never corrected, and drift apart");
  cmd->add_flag("--grid", o.grid,
                "a table over a grid of kappa, mu and epsilon (those not given take the grid's "
                "values)");
  cmd->add_option("--svg", o.svg,
                  "draw part of the run, from a few messages before the first anomaly, as a "
                  "space-time diagram in FILE");
  cmd->add_option("--svg-messages", o.svg_messages, "messages the diagram shows")
      ->check(CLI::Range(std::size_t{1}, std::size_t{200}))
      ->capture_default_str();
  cmd->add_flag("--json", o.json, "print the results as JSON");
  return cmd;
}

int clocks_command(const ClocksOptions& o) {
  const auto values = [&](const std::vector<double>& given, std::span<const double> grid,
                          double one) {
    if (!given.empty()) return given;
    return o.grid ? std::vector<double>(grid.begin(), grid.end()) : std::vector<double>{one};
  };
  const std::vector<double> kappas = values(o.kappa, kGridKappa, 0.01);
  const std::vector<double> mus = values(o.mu, kGridMu, 0.5);
  const std::vector<double> epsilons = values(o.epsilon, kGridEpsilon, 1);
  const bool table = o.grid || kappas.size() * mus.size() * epsilons.size() > 1;
  if (table && !o.svg.empty()) {
    fmt::print(stderr, "lamina: error: --svg draws one run: give one value each of --kappa, "
                       "--mu and --epsilon, without --grid\n");
    return 2;
  }

  clocks::Params base;
  base.nodes = o.nodes;
  base.seed = o.seed;
  base.messages = o.messages;
  base.jitter = o.jitter;
  base.interval = o.interval;
  base.segment = o.segment;
  base.ir2 = !o.free_running;

  std::vector<Row> rows;
  clocks::Run run;
  for (const double kappa : kappas)
    for (const double epsilon : epsilons)
      for (const double mu : mus) {
        clocks::Params p = base;
        p.kappa = kappa;
        p.mu = mu;
        p.epsilon = epsilon;
        p.interval =
            o.interval > 0 ? o.interval : clocks::sync_interval(kappa, epsilon, mu, o.jitter);
        rows.push_back(run_one(p, table ? nullptr : &run));
      }

  if (o.json) {
    if (table) {
      fmt::print("{{\"rows\": [\n");
      for (std::size_t i = 0; i < rows.size(); ++i)
        fmt::print("  {}{}\n", json_row(rows[i]), i + 1 < rows.size() ? "," : "");
      fmt::print("]}}\n");
    } else {
      fmt::print("{}\n", json_row(rows.front()));
    }
  } else if (table) {
    print_table(rows);
  } else {
    print_one(rows.front());
  }

  if (!o.svg.empty()) {
    const std::string svg = viz::to_svg(clocks::diagram(run, o.svg_messages));
    std::ofstream file(o.svg, std::ios::binary);
    file << svg;
    file.close();
    if (!file) {
      fmt::print(stderr, "lamina: error: cannot write {}\n", o.svg);
      return 2;
    }
    std::size_t anomalies = 0;
    const std::size_t first = clocks::diagram_start(run, o.svg_messages);
    const std::size_t shown = std::min(o.svg_messages, run.messages.size() - first);
    for (std::size_t k = first; k < first + shown; ++k)
      anomalies += run.messages[k].anomaly ? 1 : 0;
    if (shown == 0)
      fmt::print(o.json ? stderr : stdout, "diagram:     {}: no message to draw\n", o.svg);
    else
      fmt::print(o.json ? stderr : stdout,
                 "diagram:     {}: messages {} to {} in the order received (of {}), {} of them "
                 "anomalies (in red)\n",
                 o.svg, first, first + shown - 1, run.messages.size(), anomalies);
  }

  for (const Row& r : rows)
    if (r.covered() && r.verdict.anomalies > 0) return 1;
  return 0;
}

} // namespace lamina::tools
