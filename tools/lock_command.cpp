#include "tools/lock_command.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "services/lock/checker.hpp"
#include "services/lock/sim_group.hpp"
#include "spec/stack_string.hpp"
#include "tools/lock_diagram.hpp"
#include "tools/tool.hpp"

namespace lamina::tools {
namespace {

using namespace std::chrono_literals;

double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::vector<lock::Algorithm> algorithms(const std::string& name) {
  if (name == "both") return {lock::Algorithm::lamport, lock::Algorithm::ricart_agrawala};
  return {*lock::algorithm_named(name)};
}

LinkConfig link_of(const LockRunOptions& o) {
  LinkConfig link;
  link.delay =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.delay_ms));
  link.jitter =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(o.jitter_ms));
  link.loss = o.loss;
  link.duplicate = o.duplicate;
  return link;
}

// The stack of each algorithm, from the spec file.
std::map<lock::Algorithm, std::string> stacks_of(const LockRunOptions& o) {
  const std::string file = spec_path(o.file);
  std::map<lock::Algorithm, std::string> out;
  for (const lock::Algorithm a : algorithms(o.algorithm))
    out[a] = spec::load_stack_string(file, lock::stack_name(a));
  return out;
}

std::string network_of(const LockRunOptions& o) {
  return fmt::format("SimNet links of {} ms + up to {} ms, {:.0f}% lost, {:.0f}% duplicated",
                     o.delay_ms, o.jitter_ms, o.loss * 100, o.duplicate * 100);
}

void print_verdict(const lock::Verdict& v) {
  if (v.ok()) {
    fmt::print("checker: no violation — no two holders at once, grants in the order of the "
               "requests, every acquire granted (longest wait {:.3f} ms), messages exact\n",
               ms(v.longest_wait));
    return;
  }
  fmt::print("checker: {} violation(s)\n", v.violations.size());
  for (const std::string& s : v.violations) fmt::print("  {}\n", s);
}

// After the run: member 0 takes the lock, member 1 tries while it holds it and is refused as
// `taken` (how soon, naming the request in its way, and what the try cost in lock messages),
// and tries again, granted, once member 0 has given the lock back.
void show_a_refused_try(lock::LockGroup& group) {
  if (group.size() < 2) return;
  SimNet& net = group.net();
  const Time limit = net.now() + 600s;
  std::optional<lock::Outcome> held, tried, again;
  group.lock(0).acquire(limit, [&](const lock::Outcome& out) { held = out; });
  while (!held && net.now() < limit && net.step()) {
  }
  if (!held || held->status != lock::Status::granted) return;
  net.run_until_idle(limit); // what the grant still owed has arrived
  const std::uint64_t before = group.lock_messages();
  const Time asked = net.now();
  group.lock(1).try_acquire(limit, [&](const lock::Outcome& out) { tried = out; });
  while (!tried && net.now() < limit && net.step()) {
  }
  if (!tried) return;
  const Time answered = net.now();
  net.run_until_idle(limit); // every peer's answer to the try
  fmt::print("try_acquire by node 1 while node 0 holds the lock (token ({}, {})): {} after {:.3f} "
             "ms, the request in its way ({}, {}); the try cost {} lock messages\n",
             held->token.stamp, held->token.node, to_string(tried->status), ms(answered - asked),
             tried->ahead.stamp, tried->ahead.node, group.lock_messages() - before);
  group.lock(0).release();
  net.run_until_idle(limit);
  const Time asked_again = net.now();
  group.lock(1).try_acquire(limit, [&](const lock::Outcome& out) { again = out; });
  while (!again && net.now() < limit && net.step()) {
  }
  if (!again) return;
  fmt::print("try_acquire by node 1 once node 0 gave it back: {} after {:.3f} ms, token ({}, {})\n",
             to_string(again->status), ms(net.now() - asked_again), again->token.stamp,
             again->token.node);
  group.lock(1).release();
  net.run_until_idle(limit);
}

// Each member asks for the lock `entries` times around a fenced counter on a store node; one
// holder's write is held up on its way to the store until after later holders wrote, and the
// register refuses it. Then a try is refused.
int demo(const LockDemoOptions& o) {
  const auto stacks = stacks_of(o.run);
  bool all_ok = true;
  for (const auto& [algorithm, stack] : stacks) {
    const LinkConfig link = link_of(o.run);
    lock::LockGroup group(algorithm, stack, o.nodes, o.seed, link, o.run.impl);
    std::optional<LockDiagram> diagram;
    if (!o.svg.empty())
      diagram.emplace(group, spec_path(o.run.file), std::string(lock::stack_name(algorithm)));
    fmt::print("{} ({}, {}), {} members, {} acquires each; {}\n",
               algorithm == lock::Algorithm::lamport ? "Lamport's algorithm"
                                                     : "Ricart and Agrawala's algorithm",
               lock::stack_name(algorithm), o.run.impl, o.nodes, o.run.entries, network_of(o.run));
    // The store: a fenced register, reached over a link of `store_delay`; the second grant's
    // write is held up `pause` on the way, as a holder paused between its grant and its write
    // would be.
    lock::FencedRegister store;
    const Duration store_delay = 500us;
    const Duration pause = 30ms;
    std::uint64_t grant_number = 0;
    struct Row {
      std::string write; // what became of the grant's write
    };
    std::vector<Row> rows;
    group.on_grant([&](const lock::Entry& e) {
      if (diagram) diagram->granted(e);
      const std::int64_t value = static_cast<std::int64_t>(++grant_number);
      const bool paused = grant_number == 2;
      const std::size_t row = rows.size();
      rows.push_back({});
      group.net().at(group.net().now() + store_delay + (paused ? pause : 0ms),
                     [&, row, token = e.token, value, paused] {
                       const bool taken = store.write(token, value);
                       rows[row].write = fmt::format(
                           "{} {} at {:.3f} ms{}", taken ? "wrote" : "REFUSED: wrote", value,
                           ms(group.net().now()),
                           taken ? ""
                                 : fmt::format(" (token older than ({}, {}))", store.newest().stamp,
                                               store.newest().node));
                       if (paused) rows[row].write += fmt::format(", held up {} ms", ms(pause));
                     });
    });
    lock::Workload w;
    w.entries = o.run.entries;
    const lock::Run run = group.run(w, Time(600s));
    fmt::print("  grant at ms  node  token (stamp, node)  waited ms  held ms  its write to the "
               "fenced counter\n");
    std::size_t row = 0; // rows are the run's grants, in the same order
    for (const lock::Entry& e : run.entries) {
      if (e.status != lock::Status::granted) {
        fmt::print("  {:>11.3f}  {:>4}  {}\n", ms(e.granted), e.node, to_string(e.status));
        continue;
      }
      fmt::print("  {:>11.3f}  {:>4}  {:<19}  {:>9.3f}  {:>7.3f}  {}\n", ms(e.granted), e.node,
                 fmt::format("({}, {})", e.token.stamp, e.token.node), ms(e.granted - e.asked),
                 ms(e.released - e.granted), rows[row++].write);
    }
    const std::uint64_t per = lock::messages_per_entry(algorithm, o.nodes);
    const lock::Verdict v = lock::check(run);
    fmt::print("messages of the lock layer: {} for {} entries, {:.3f} an entry ({}(n-1) = {}); "
               "packets on the wire, every layer's, retransmissions included: {}\n",
               run.messages, v.grants, v.messages_per_entry,
               algorithm == lock::Algorithm::lamport ? 3 : 2, per, run.packets);
    fmt::print("fenced counter: {} written, {} refused, value {}\n", store.written(),
               store.refused(), store.value());
    print_verdict(v);
    if (diagram) {
      std::filesystem::path path(o.svg);
      if (stacks.size() > 1)
        path.replace_filename(fmt::format("{}.{}{}", path.stem().string(), to_string(algorithm),
                                          path.extension().string()));
      std::ofstream(path) << viz::to_svg(diagram->diagram(
          run, fmt::format("{}, {} members, SimNet: the lock's messages, critical sections "
                           "shaded with their fencing tokens, the queue at each grant",
                           lock::stack_name(algorithm), o.nodes)));
      fmt::print("drawn in {}\n", path.string());
    }
    show_a_refused_try(group);
    fmt::print("\n");
    all_ok = all_ok && v.ok();
  }
  return all_ok ? 0 : 1;
}

// Many seeds of many groups, every run checked.
int check_many(const LockCheckOptions& o) {
  const auto stacks = stacks_of(o.run);
  const LinkConfig link = link_of(o.run);
  lock::Workload w;
  w.entries = o.run.entries;
  w.patience = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.patience_s));
  w.tries = o.tries;
  fmt::print("lamina lock check: {} seeds from {} for each algorithm and group size, {} acquires "
             "per member{}, each to be granted within {} s; {}; {} build, {} jobs\n",
             o.seeds, o.first_seed, o.run.entries,
             o.tries > 0 ? fmt::format(" ({:.0f}% of them tries)", o.tries * 100) : "",
             o.patience_s, network_of(o.run), o.run.impl, o.jobs);
  fmt::print("(unsafe: two holders at once; disordered: a grant out of the requests' order; not "
             "live: an acquire not granted in time; messages per entry marked ! where a run with "
             "every acquire granted sent other than 3(n-1) or 2(n-1){})\n",
             o.tries > 0 ? " for each grant and each try taken after its request went out; "
                           "taken: tries refused, unfounded: of them, naming no request of the run"
                         : "");
  fmt::print("{:<16} {:>3} {:>7} {:>9} {:>7} {:>10} {:>9} {:>15} {:>16}{}\n", "algorithm", "n",
             "runs", "grants", "unsafe", "disordered", "not live", "messages/entry",
             "longest wait ms",
             o.tries > 0 ? fmt::format(" {:>9} {:>9}", "taken", "unfounded") : "");
  bool all_ok = true;
  for (const auto& [algorithm, stack] : stacks)
    for (const std::uint32_t n : o.nodes) {
      std::atomic<std::uint64_t> next{0};
      std::mutex m;
      std::uint64_t grants = 0, messages = 0, taken = 0;
      lock::Verdict sum; // the violations of every run, counted by kind
      std::vector<std::string> first_violations;
      auto work = [&] {
        for (std::uint64_t i = next++; i < o.seeds; i = next++) {
          const std::uint64_t seed = o.first_seed + i;
          lock::LockGroup group(algorithm, stack, n, seed, link, o.run.impl);
          const lock::Run run = group.run(w, Time(3600s));
          const lock::Verdict v = lock::check(run, {.healthy = true, .bound = w.patience});
          const std::lock_guard hold(m);
          grants += v.grants;
          taken += v.taken;
          messages += run.messages;
          sum.longest_wait = std::max(sum.longest_wait, v.longest_wait);
          sum.unsafe += v.unsafe;
          sum.disordered += v.disordered;
          sum.late += v.late;
          sum.miscounted += v.miscounted;
          sum.unfounded += v.unfounded;
          for (const std::string& s : v.violations)
            if (first_violations.size() < 5)
              first_violations.push_back(fmt::format("seed {}: {}", seed, s));
        }
      };
      std::vector<std::thread> threads;
      for (unsigned j = 1; j < o.jobs; ++j) threads.emplace_back(work);
      work();
      for (std::thread& t : threads) t.join();
      fmt::print("{:<16} {:>3} {:>7} {:>9} {:>7} {:>10} {:>9} {:>14.3f}{} {:>16.3f}{}\n",
                 to_string(algorithm), n, o.seeds, grants, sum.unsafe, sum.disordered, sum.late,
                 grants == 0 ? 0.0 : static_cast<double>(messages) / static_cast<double>(grants),
                 sum.miscounted == 0 ? " " : "!", ms(sum.longest_wait),
                 o.tries > 0 ? fmt::format(" {:>9} {:>9}", taken, sum.unfounded) : "");
      for (const std::string& s : first_violations) fmt::print("  {}\n", s);
      all_ok =
          all_ok && sum.unsafe + sum.disordered + sum.late + sum.miscounted + sum.unfounded == 0;
    }
  return all_ok ? 0 : 1;
}

void add_run_options(CLI::App* cmd, LockRunOptions& r) {
  cmd->add_option("--file", r.file, "the spec file declaring LamportLock and RicartAgrawalaLock")
      ->capture_default_str();
  cmd->add_option("--algorithm", r.algorithm, "lamport, ricart-agrawala or both")
      ->check(CLI::IsMember({"lamport", "ricart-agrawala", "both"}))
      ->capture_default_str();
  cmd->add_option("--impl", r.impl, "the stacks' build: dynamic, static or fused")
      ->check(CLI::IsMember({"dynamic", "static", "fused"}))
      ->capture_default_str();
  cmd->add_option("--entries", r.entries, "acquires per member")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  cmd->add_option("--loss", r.loss, "share of packets lost")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--duplicate", r.duplicate, "share of packets that arrive twice")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--delay-ms", r.delay_ms, "one-way delay of a link, at least")
      ->check(CLI::Range(0.0, 10'000.0))
      ->capture_default_str();
  cmd->add_option("--jitter-ms", r.jitter_ms, "extra delay drawn uniformly (reorders packets)")
      ->check(CLI::Range(0.0, 10'000.0))
      ->capture_default_str();
}

} // namespace

CLI::App* add_lock_command(CLI::App& app, LockOptions& o) {
  auto* lock = app.add_subcommand(
      "lock", "the ordered lock service (stacks/lock/lock.ioa): one lock for the group, by "
              "Lamport's algorithm or Ricart and Agrawala's, with fencing tokens");
  lock->require_subcommand(1);
  auto* demo = lock->add_subcommand(
      "demo", "members contend for the lock around a fenced counter on a simulated network; "
              "prints the grants, the messages and the checker's verdict (exit 1 on a violation)");
  add_run_options(demo, o.demo.run);
  demo->add_option("--nodes", o.demo.nodes, "members of the group")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  demo->add_option("--seed", o.demo.seed, "the simulated network's seed")->capture_default_str();
  demo->add_option("--svg", o.demo.svg,
                   "draw each run as a space-time diagram in this SVG file (with the algorithm's "
                   "name before the extension when both run)");

  auto* check = lock->add_subcommand(
      "check", "run many seeds of groups of several sizes and check every run: safety, order, "
               "liveness and messages per entry (exit 1 on a violation)");
  add_run_options(check, o.check.run);
  check->add_option("--nodes", o.check.nodes, "group sizes")
      ->delimiter(',')
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  check->add_option("--seeds", o.check.seeds, "seeds per algorithm and group size")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  check->add_option("--first-seed", o.check.first_seed)->capture_default_str();
  check
      ->add_option("--patience-s", o.check.patience_s,
                   "an acquire not granted this long after its asking fails, and is reported")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  check
      ->add_option("--tries", o.check.tries,
                   "the share of asks made with try_acquire (a try refused as taken is no "
                   "failure; the checker checks that it names a request in its way)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  check->add_option("--jobs", o.check.jobs, "threads")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  add_lock_udp_commands(*lock, o.udp);
  return lock;
}

int lock_command(const CLI::App& lock, const LockOptions& o, std::span<char* const> args) {
  if (const int code = lock_udp_command(lock, o.udp, args); code >= 0) return code;
  try {
    if (*lock.get_subcommand("demo")) return demo(o.demo);
    return check_many(o.check);
  } catch (const std::exception& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
}

} // namespace lamina::tools
