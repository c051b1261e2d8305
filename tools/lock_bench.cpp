// `lamina lock node` runs one member; `lamina lock bench` runs groups of them as child
// processes (this program again) and the raw UDP ping-pong of `lamina rpc bench` as the floor,
// then prints one table and the targets.
#include "tools/lock_bench.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <sched.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "services/lock/udp_member.hpp"
#include "spec/stack_string.hpp"
#include "tools/child_process.hpp"
#include "tools/lock_bench_etcd.hpp"
#include "tools/tool.hpp"

namespace lamina::tools {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Duration seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
double us(Duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Set by the signals the bench sends a node: go (SIGUSR1) and stop lingering (SIGTERM, SIGINT).
std::atomic<bool> go_signal{false};
std::atomic<bool> stop_signal{false};
static_assert(std::atomic<bool>::is_always_lock_free); // so that a handler may store to them

extern "C" void on_go(int /*signal*/) { go_signal.store(true); }
extern "C" void on_stop(int /*signal*/) { stop_signal.store(true); }

void handle(int signal, void (*handler)(int)) {
  struct sigaction a{};
  a.sa_handler = handler;
  sigemptyset(&a.sa_mask);
  ::sigaction(signal, &a, nullptr);
}

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    throw std::runtime_error(fmt::format("cannot pin to CPU {}", cpu));
}

// The value at share `p` of sorted `v`; NaN if empty.
double percentile(const std::vector<double>& v, double p) {
  if (v.empty()) return NAN;
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// ---------------------------------------------------------------------------------------------
// lamina lock node

int run_node(const LockNodeOptions& o) {
  handle(SIGTERM, on_stop);
  handle(SIGINT, on_stop);
  handle(SIGUSR1, on_go);
  pin_to(o.cpu);
  const auto algorithm = lock::algorithm_named(o.algorithm);
  if (!algorithm) throw std::invalid_argument("unknown algorithm " + o.algorithm);
  lock::UdpMemberOptions m;
  m.stack_string = spec::load_stack_string(spec_path(o.file), lock::stack_name(*algorithm));
  m.implementation = o.impl;
  m.me = o.me;
  m.peers = o.peers;
  m.spin = o.wait == "spin";
  lock::UdpMember member(m);
  const auto n = static_cast<std::uint32_t>(o.peers.size());
  fmt::print("member {} of {} at {} ({}, {}, {}): {} {}, each held {} us, within {} ms\n", o.me, n,
             o.peers[o.me], lock::stack_name(*algorithm), o.impl, o.wait, o.entries,
             o.try_only ? "tries (try_acquire)" : "acquires", o.hold_us, o.patience_ms);
  std::fflush(stdout);
  const auto limit = seconds(o.limit_s);
  if (o.wait_go) {
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
    if (!member.run_until([] { return go_signal.load() || stop_signal.load(); }, limit))
      throw std::runtime_error("no go signal within the time limit");
  }

  // The entries, bounded in count and in time.
  const auto patience = seconds(o.patience_ms / 1000);
  const auto hold = seconds(o.hold_us / 1e6);
  lock::FencedRegister counter; // this member's own grants: their tokens must grow
  std::vector<double> waits_us, cycles_us;
  std::uint64_t failures = 0;
  std::uint64_t taken = 0;                // tries refused: the lock was taken
  std::map<PeerId, std::uint64_t> silent; // peers named by failed acquires, how often
  const auto start = Clock::now();
  const auto until = start + limit;
  std::uint32_t asked = 0;
  for (; asked < o.entries && Clock::now() < until && !stop_signal.load(); ++asked) {
    std::optional<lock::Outcome> outcome;
    const auto t0 = Clock::now();
    // The outcome is only noted here: the lock is given back from this loop, not from inside
    // the delivery that granted it.
    auto note = [&](const lock::Outcome& out) { outcome = out; };
    if (o.try_only)
      member.lock().try_acquire(member.now() + patience, note);
    else
      member.lock().acquire(member.now() + patience, note);
    member.flush();
    member.run_until([&] { return outcome.has_value(); }, until - Clock::now());
    if (!outcome) break; // the time limit
    const auto granted = Clock::now();
    if (outcome->status == lock::Status::taken) {
      ++taken;
      if (!o.quiet)
        fmt::print("try {}: taken after {:.1f} us; the request in its way ({}, {})\n", asked + 1,
                   us(granted - t0), outcome->ahead.stamp, outcome->ahead.node);
      continue;
    }
    if (outcome->status != lock::Status::granted) {
      ++failures;
      for (const PeerId p : outcome->silent) ++silent[p];
      if (!o.quiet) {
        std::string names;
        for (const PeerId p : outcome->silent) names += fmt::format(" {}", p);
        fmt::print("acquire {}: {} after {:.1f} us; silent peers:{}\n", asked + 1,
                   to_string(outcome->status), us(granted - t0), names.empty() ? " none" : names);
      }
      continue;
    }
    const bool written = counter.write(outcome->token, asked + 1);
    member.run_until([&] { return Clock::now() >= granted + hold; }, hold);
    member.lock().release();
    member.flush();
    const auto released = Clock::now();
    waits_us.push_back(us(granted - t0));
    cycles_us.push_back(us(released - t0));
    if (!o.quiet) {
      fmt::print("grant {}: token ({}, {}), acquire->grant {:.1f} us, acquire->release {:.1f} "
                 "us{}\n",
                 asked + 1, outcome->token.stamp, outcome->token.node, us(granted - t0),
                 us(released - t0), written ? "" : ", its token REFUSED by the fenced counter");
    }
  }
  const double entries_s = std::chrono::duration<double>(Clock::now() - start).count();
  const std::uint64_t grants = waits_us.size();
  std::sort(waits_us.begin(), waits_us.end());
  std::sort(cycles_us.begin(), cycles_us.end());
  std::string silent_text;
  for (const auto& [p, times] : silent) silent_text += fmt::format(" {} ({}x)", p, times);
  fmt::print("tally: member {}: {} grants of {} {}, {} failed{}{}; acquire->grant p50 {:.1f} "
             "us, p99 {:.1f} us; acquire->release p50 {:.1f} us, p99 {:.1f} us; {:.0f} grants/s; "
             "lock messages sent so far {}, datagrams {}\n",
             o.me, grants, asked, o.try_only ? "tries" : "acquires", failures,
             o.try_only ? fmt::format(", {} taken", taken) : "",
             silent_text.empty() ? "" : fmt::format(" (silent peers:{})", silent_text),
             percentile(waits_us, 0.5), percentile(waits_us, 0.99), percentile(cycles_us, 0.5),
             percentile(cycles_us, 0.99), static_cast<double>(grants) / entries_s,
             member.lock_messages(), member.udp().counters().sent);
  fmt::print("fenced counter (this member's own check that its grants' tokens grow): {} written, "
             "{} refused\n",
             counter.written(), counter.refused());
  std::fflush(stdout);

  // The others may still need this member's answers: it serves them until told to stop or
  // until the linger time has passed (it cannot see from the lock that the others are done).
  member.run_until([] { return stop_signal.load(); }, std::min(seconds(o.linger_s), limit));
  ResultLine r;
  r["me"] = std::to_string(o.me);
  r["asked"] = std::to_string(asked);
  r["grants"] = std::to_string(grants);
  r["failed"] = std::to_string(failures);
  r["taken"] = std::to_string(taken);
  r["wait_p50_us"] = fmt::format("{:.2f}", percentile(waits_us, 0.5));
  r["wait_p99_us"] = fmt::format("{:.2f}", percentile(waits_us, 0.99));
  r["cycle_p50_us"] = fmt::format("{:.2f}", percentile(cycles_us, 0.5));
  r["cycle_p99_us"] = fmt::format("{:.2f}", percentile(cycles_us, 0.99));
  r["entries_s"] = fmt::format("{:.6f}", entries_s);
  r["sent"] = std::to_string(member.lock_messages());
  r["datagrams"] = std::to_string(member.udp().counters().sent);
  r["refused"] = std::to_string(counter.refused());
  fmt::print("after lingering: lock messages sent {}, datagrams sent {}\n", r["sent"],
             r["datagrams"]);
  print_result(r);
  return failures == 0 && counter.refused() == 0 && asked == o.entries ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// lamina lock bench: the rows.

struct Row {
  std::string kind;      // "udp", "uncontended", "contended", "etcd-uncontended", "etcd-contended"
  std::string name;      // what the table shows
  std::string algorithm; // lamport, ricart-agrawala; empty for the others
  std::uint32_t n = 0;   // members (etcd: clients)
  std::string impl;      // static, fused
  std::string wait;      // spin, block
  std::vector<double> p50s, p99s, rates, per_entry; // each round's
  double p50 = NAN, p99 = NAN, rate = NAN, messages = NAN;
  std::string status; // empty while every round went well
};

Row make_row(std::string kind, std::string name, std::string algorithm, std::uint32_t n,
             std::string impl, std::string wait) {
  Row r;
  r.kind = std::move(kind);
  r.name = std::move(name);
  r.algorithm = std::move(algorithm);
  r.n = n;
  r.impl = std::move(impl);
  r.wait = std::move(wait);
  return r;
}

// Adds `note` to the row's status, once however many rounds note it.
void add_note(Row& row, const std::string& note) {
  if (row.status.find(note) != std::string::npos) return;
  row.status += (row.status.empty() ? "" : "; ") + note;
}

std::vector<std::uint16_t> free_udp_ports(std::uint32_t n) {
  std::vector<std::uint16_t> ports;
  while (ports.size() < n) {
    const std::uint16_t p = free_port(SOCK_DGRAM);
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  return ports;
}

// The machine's CPUs, as the children are pinned to them.
std::uint32_t cpus() { return std::max(1U, std::thread::hardware_concurrency()); }

int cpu_of(std::uint32_t i) { return static_cast<int>(i % cpus()); }

// Says why a child failed, from its result line or its exit.
std::string why_child(const Child& c, const std::string& who) {
  const ResultLine r = result_of(c);
  if (r.contains("error")) {
    std::string why = r.at("error");
    std::replace(why.begin(), why.end(), '_', ' ');
    return fmt::format("{}: {}", who, why);
  }
  if (c.killed) return who + " killed at the time limit";
  return who + " printed no result";
}

// One round of a row of lock members: n children, member 0 alone contending or all of them.
void run_lock_row(const LockBenchOptions& o, Row& row) {
  const std::vector<std::uint16_t> ports = free_udp_ports(row.n);
  std::string peers;
  for (const std::uint16_t p : ports)
    peers += fmt::format("{}127.0.0.1:{}", peers.empty() ? "" : ",", p);
  const bool all = row.kind == "contended";
  std::vector<Child> children;
  auto kill_all = [&] {
    for (Child& c : children) kill_child(c);
  };
  for (std::uint32_t i = 0; i < row.n; ++i) {
    children.push_back(spawn({"lamina",
                              "lock",
                              "node",
                              "--file",
                              o.file,
                              "--me",
                              std::to_string(i),
                              "--peers",
                              peers,
                              "--algorithm",
                              row.algorithm,
                              "--impl",
                              row.impl,
                              "--wait",
                              row.wait,
                              "--entries",
                              std::to_string(all || i == 0 ? o.entries : 0),
                              "--hold-us",
                              "0",
                              "--patience-ms",
                              "1000",
                              "--linger-s",
                              fmt::format("{}", o.limit_s),
                              "--limit-s",
                              fmt::format("{}", o.limit_s),
                              "--quiet",
                              "--cpu",
                              std::to_string(cpu_of(i)),
                              "--wait-go"}));
  }
  for (std::uint32_t i = 0; i < row.n; ++i) {
    if (!wait_for_line(children[i], "ready", Clock::now() + 10s)) {
      kill_all();
      add_note(row, "failed: " + why_child(children[i], fmt::format("member {}", i)));
      return;
    }
  }
  for (const Child& c : children) ::kill(c.pid, SIGUSR1);
  // Every member that contends prints its tally when its entries are done; then all are told
  // to stop lingering, and print their counters.
  const auto kill_at = Clock::now() + seconds(o.limit_s + 5);
  auto tallied = [&] {
    for (std::uint32_t i = 0; i < row.n; ++i) {
      Child& c = children[i];
      if (!c.done) drain(c);
      if (c.text.find("\ntally: ") == std::string::npos) return false;
    }
    return true;
  };
  bool exited_early = false;
  while (!tallied() && Clock::now() < kill_at) {
    for (Child& c : children) {
      reap(c, false);
      exited_early = exited_early || c.done;
    }
    if (exited_early) break;
    std::this_thread::sleep_for(1ms);
  }
  for (Child& c : children)
    if (!c.done) ::kill(c.pid, SIGTERM);
  const auto stop_by = std::min(kill_at, Clock::now() + 5s);
  while (Clock::now() < stop_by &&
         !std::all_of(children.begin(), children.end(), [](const Child& c) { return c.done; })) {
    for (Child& c : children) reap(c, false);
    std::this_thread::sleep_for(1ms);
  }
  kill_all();

  std::uint64_t sent = 0, grants = 0, failed = 0, asked = 0;
  std::vector<double> p50s, p99s;
  double longest = 0;
  for (std::uint32_t i = 0; i < row.n; ++i) {
    const ResultLine r = result_of(children[i]);
    if (r.empty() || r.contains("error")) {
      add_note(row, "failed: " + why_child(children[i], fmt::format("member {}", i)));
      return;
    }
    sent += static_cast<std::uint64_t>(field(r, "sent"));
    grants += static_cast<std::uint64_t>(field(r, "grants"));
    failed += static_cast<std::uint64_t>(field(r, "failed"));
    asked += static_cast<std::uint64_t>(field(r, "asked"));
    if (all || i == 0) {
      p50s.push_back(field(r, all ? "wait_p50_us" : "cycle_p50_us"));
      p99s.push_back(field(r, all ? "wait_p99_us" : "cycle_p99_us"));
      longest = std::max(longest, field(r, "entries_s"));
    }
  }
  const std::uint64_t wanted = (all ? row.n : 1) * std::uint64_t{o.entries};
  if (failed > 0) add_note(row, "acquires failed at their deadline");
  if (asked < wanted)
    add_note(row, fmt::format("the time limit ended a round before all {} acquires", wanted));
  if (grants == 0) {
    add_note(row, "failed: no grant");
    return;
  }
  std::sort(p50s.begin(), p50s.end());
  // Over the members: the median of their p50s, the largest of their p99s.
  row.p50s.push_back(p50s[p50s.size() / 2]);
  row.p99s.push_back(*std::max_element(p99s.begin(), p99s.end()));
  row.rates.push_back(static_cast<double>(grants) / longest);
  row.per_entry.push_back(static_cast<double>(sent) / static_cast<double>(grants));
}

// One round of the raw UDP ping-pong row: the server and client children of `lamina rpc bench`.
void run_udp_row(const LockBenchOptions& o, Row& row) {
  const std::vector<std::uint16_t> ports = free_udp_ports(2);
  const auto args = [&](const char* role, std::uint16_t port, std::uint16_t peer, int cpu) {
    std::vector<std::string> a{"lamina",
                               "rpc",
                               "bench",
                               "--role",
                               role,
                               "--transport",
                               "udp",
                               "--size",
                               "32",
                               "--port",
                               std::to_string(port),
                               "--peer-port",
                               std::to_string(peer),
                               "--cpu",
                               std::to_string(cpu),
                               "--calls",
                               std::to_string(o.entries),
                               "--outstanding",
                               "1",
                               "--limit-s",
                               fmt::format("{}", o.limit_s)};
    if (row.wait == "spin") a.emplace_back("--spin");
    return a;
  };
  Child server = spawn(args("server", ports[0], ports[1], cpu_of(0)));
  if (!wait_for_line(server, "ready", Clock::now() + 10s)) {
    kill_child(server);
    add_note(row, "failed: " + why_child(server, "the server"));
    return;
  }
  Child client = spawn(args("client", ports[1], ports[0], cpu_of(1)));
  // The server echoes until it is killed: the round ends with the client.
  const auto kill_at = Clock::now() + seconds(o.limit_s + 5);
  while (!client.done && Clock::now() < kill_at) {
    reap(client, false);
    if (!client.done) drain(client);
    std::this_thread::sleep_for(1ms);
  }
  kill_child(client);
  kill_child(server);
  const ResultLine r = result_of(client);
  if (r.empty() || r.contains("error")) {
    add_note(row, "failed: " + why_child(client, "the client"));
    return;
  }
  if (field(r, "failed") > 0) add_note(row, fmt::format("{} datagrams lost", field(r, "failed")));
  row.p50s.push_back(field(r, "p50_us"));
  row.p99s.push_back(field(r, "p99_us"));
  row.rates.push_back(field(r, "rate_1"));
}

// An etcd client child: lock and unlock `etcd_entries` times, after a warm-up and the go.
int run_etcd_client(const LockBenchOptions& o) {
  handle(SIGUSR1, on_go);
  handle(SIGTERM, on_stop);
  const auto limit = seconds(o.limit_s);
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(limit);
  EtcdLockClient client(o.endpoint, 600);
  for (int i = 0; i < 20; ++i) client.unlock(client.lock(o.lock_name, timeout), timeout);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  const auto until = Clock::now() + limit;
  while (!go_signal.load() && !stop_signal.load() && Clock::now() < until)
    std::this_thread::sleep_for(100us);
  std::vector<double> waits_us, cycles_us;
  const auto start = Clock::now();
  for (std::uint32_t i = 0; i < o.etcd_entries && Clock::now() < until && !stop_signal.load();
       ++i) {
    const auto t0 = Clock::now();
    const std::string key = client.lock(o.lock_name, timeout);
    const auto granted = Clock::now();
    client.unlock(key, timeout);
    const auto released = Clock::now();
    waits_us.push_back(us(granted - t0));
    cycles_us.push_back(us(released - t0));
  }
  const double entries_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(waits_us.begin(), waits_us.end());
  std::sort(cycles_us.begin(), cycles_us.end());
  ResultLine r;
  r["grants"] = std::to_string(waits_us.size());
  r["wait_p50_us"] = fmt::format("{:.2f}", percentile(waits_us, 0.5));
  r["wait_p99_us"] = fmt::format("{:.2f}", percentile(waits_us, 0.99));
  r["cycle_p50_us"] = fmt::format("{:.2f}", percentile(cycles_us, 0.5));
  r["cycle_p99_us"] = fmt::format("{:.2f}", percentile(cycles_us, 0.99));
  r["entries_s"] = fmt::format("{:.6f}", entries_s);
  print_result(r);
  return 0;
}

// One round of an etcd row: `row.n` clients, client i at member i mod 3, all on one lock.
void run_etcd_row(const LockBenchOptions& o, const EtcdCluster& cluster, Row& row) {
  std::vector<Child> children;
  const auto& endpoints = cluster.endpoints();
  for (std::uint32_t i = 0; i < row.n; ++i) {
    children.push_back(
        spawn({"lamina", "lock", "bench", "--role", "etcd-client", "--endpoint",
               endpoints[i % endpoints.size()], "--etcd-entries", std::to_string(o.etcd_entries),
               "--limit-s", fmt::format("{}", o.limit_s), "--cpu", std::to_string(cpu_of(i))}));
  }
  const auto kill_all = [&] {
    for (Child& c : children) kill_child(c);
  };
  for (std::uint32_t i = 0; i < row.n; ++i) {
    if (!wait_for_line(children[i], "ready", Clock::now() + 20s)) {
      kill_all();
      add_note(row, "failed: " + why_child(children[i], fmt::format("client {}", i)));
      return;
    }
  }
  for (const Child& c : children) ::kill(c.pid, SIGUSR1);
  const auto kill_at = Clock::now() + seconds(o.limit_s + 5);
  while (Clock::now() < kill_at &&
         !std::all_of(children.begin(), children.end(), [](const Child& c) { return c.done; })) {
    for (Child& c : children) {
      reap(c, false);
      if (!c.done) drain(c);
    }
    std::this_thread::sleep_for(1ms);
  }
  kill_all();
  std::vector<double> p50s, p99s;
  double grants = 0, longest = 0;
  const bool all = row.n > 1;
  for (std::uint32_t i = 0; i < row.n; ++i) {
    const ResultLine r = result_of(children[i]);
    if (r.empty() || r.contains("error")) {
      add_note(row, "failed: " + why_child(children[i], fmt::format("client {}", i)));
      return;
    }
    grants += field(r, "grants");
    longest = std::max(longest, field(r, "entries_s"));
    p50s.push_back(field(r, all ? "wait_p50_us" : "cycle_p50_us"));
    p99s.push_back(field(r, all ? "wait_p99_us" : "cycle_p99_us"));
  }
  if (grants < static_cast<double>(row.n) * o.etcd_entries)
    add_note(row, fmt::format("the time limit ended a round before all {} locks",
                              row.n * o.etcd_entries));
  std::sort(p50s.begin(), p50s.end());
  row.p50s.push_back(p50s[p50s.size() / 2]);
  row.p99s.push_back(*std::max_element(p99s.begin(), p99s.end()));
  row.rates.push_back(grants / longest);
}

// The lock layer's messages per entry of `algorithm` ("lamport", "ricart-agrawala") for n.
double exact_per_entry(const std::string& algorithm, std::uint32_t n) {
  return static_cast<double>(lock::messages_per_entry(
      algorithm == "lamport" ? lock::Algorithm::lamport : lock::Algorithm::ricart_agrawala, n));
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string cell(double v, const char* spec) {
  return std::isnan(v) ? "-" : fmt::format(fmt::runtime(spec), v);
}

struct Target {
  std::string what;
  double value = NAN;
  std::string bound; // "= 6", "<= 2 x 21.0 us"
  bool met = false;
  std::string why; // when missed or not evaluated
};

int run_bench(const LockBenchOptions& o, std::span<char* const> args) {
  if (!o.json.empty() && !write_file(o.json, "")) return 2;
  const std::string file = spec_path(o.file);
  std::map<std::string, std::string> stacks;
  try {
    for (const auto a : {lock::Algorithm::lamport, lock::Algorithm::ricart_agrawala})
      stacks[std::string(lock::to_string(a))] = spec::load_stack_string(file, lock::stack_name(a));
  } catch (const spec::StackStringError& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  std::string command = "lamina";
  for (const char* a : args) command += fmt::format(" {}", a);
  fmt::print("{}\nmachine: {}\nstacks:  LamportLock = {}\n         RicartAgrawalaLock = {}\n",
             command, machine(), stacks["lamport"], stacks["ricart-agrawala"]);
  fmt::print(
      "each row: processes on 127.0.0.1, member i pinned to CPU i mod {} (the ping-pong: server "
      "CPU 0, client CPU 1); lock rows: {} acquires per contending member, held 0 us, one at a "
      "time; uncontended: member 0 alone asks, p50/p99 of acquire->release (the release sent), "
      "grants/s of member 0; contended: every member asks, p50/p99 of acquire->grant (the median "
      "of the members' p50s, the largest of their p99s), grants/s of the group; messages: the "
      "lock layers' `sent` counters summed over the members / grants; ping-pong: 32-byte "
      "datagrams echoed, {} one at a time (lamina rpc bench's raw UDP); etcd: 3 members "
      "(unpinned) on loopback, client i at member i mod 3 and on CPU i mod {}, a lease, then "
      "Lock and Unlock {} times, over gRPC; each figure the median of {} rounds, the rows taking "
      "turns\n\n",
      cpus(), o.entries, o.entries, cpus(), o.etcd_entries, o.rounds);
  std::fflush(stdout);

  const auto wanted = [&](const char* r) {
    return o.rows.empty() || std::find(o.rows.begin(), o.rows.end(), r) != o.rows.end();
  };
  std::vector<Row> rows;
  for (const std::string& wait : o.waits)
    if (wanted("udp")) rows.push_back(make_row("udp", "raw UDP ping-pong", "", 2, "", wait));
  for (const char* kind : {"uncontended", "contended"}) {
    if (!wanted(kind)) continue;
    for (const std::uint32_t n : o.nodes)
      for (const char* algorithm : {"lamport", "ricart-agrawala"})
        for (const std::string& impl : o.impls)
          for (const std::string& wait : o.waits)
            rows.push_back(make_row(
                kind,
                fmt::format("{} {}",
                            algorithm == std::string("lamport") ? "Lamport" : "Ricart-Agrawala",
                            impl == "static" ? "layered" : impl),
                algorithm, n, impl, wait));
  }
  std::unique_ptr<EtcdCluster> etcd;
  if (wanted("etcd")) {
    for (const std::uint32_t clients : {1U, 3U})
      rows.push_back(make_row(clients == 1 ? "etcd-uncontended" : "etcd-contended",
                              "etcd 3-member lock (gRPC)", "", clients, "", "block"));
  }
  for (std::uint32_t round = 1; round <= o.rounds; ++round) {
    for (Row& row : rows) {
      if (row.status.starts_with("failed")) continue;
      try {
        if (row.kind == "udp") {
          run_udp_row(o, row);
        } else if (row.kind.starts_with("etcd")) {
          if (!etcd) etcd = std::make_unique<EtcdCluster>(o.etcd, o.limit_s);
          run_etcd_row(o, *etcd, row);
        } else {
          run_lock_row(o, row);
          if (row.wait == "spin" && row.n > cpus())
            add_note(row, fmt::format("{} spinning processes on {} CPUs", row.n, cpus()));
        }
      } catch (const std::exception& e) {
        add_note(row, fmt::format("failed: {}", e.what()));
      }
      fmt::print(stderr, "lock bench: round {}: {} {} n={} {}: {}\n", round, row.name, row.kind,
                 row.n, row.wait, row.status.empty() ? "ok" : row.status);
    }
  }
  etcd.reset(); // stopped, its data removed
  for (Row& row : rows) {
    row.p50 = median(row.p50s);
    row.p99 = median(row.p99s);
    row.rate = median(row.rates);
    row.messages = median(row.per_entry);
    if (row.status.empty()) row.status = "ok";
  }

  const char* line = "{:<28} {:<12} {:>2} {:<5} {:>9} {:>9} {:>9} {:>13}  {}\n";
  fmt::print(fmt::runtime(line), "row", "contending", "n", "wait", "p50 us", "p99 us", "grants/s",
             "msgs/entry", "status");
  for (const Row& r : rows) {
    std::string contending = r.kind == "udp"                ? "-"
                             : r.kind == "etcd-uncontended" ? "1 client"
                             : r.kind == "etcd-contended"   ? fmt::format("{} clients", r.n)
                             : r.kind == "uncontended"      ? "one"
                                                            : "all";
    std::string messages = "-";
    if (!r.algorithm.empty() && !std::isnan(r.messages)) {
      const auto exact = exact_per_entry(r.algorithm, r.n);
      messages = fmt::format("{:.3f} ({:g})", r.messages, exact);
    }
    fmt::print(fmt::runtime(line), r.name, contending, r.kind.starts_with("etcd") ? 3 : r.n, r.wait,
               cell(r.p50, "{:.1f}"), cell(r.p99, "{:.1f}"), cell(r.rate, "{:.0f}"), messages,
               r.status);
  }
  if (wanted("etcd"))
    fmt::print("\netcd keeps the lock through failures: a minority of its members may be down "
               "and locks are still granted (and a holder's lease expires if it dies); "
               "Lamport's and Ricart and Agrawala's algorithms need every member to answer, and "
               "one member down stops every acquire (which then fails at its deadline, naming "
               "the silent member).\n");

  // The targets.
  std::vector<Target> targets;
  const auto find = [&](const std::string& kind, const std::string& wait) -> const Row* {
    for (const Row& r : rows)
      if (r.kind == kind && (wait.empty() || r.wait == wait) && !std::isnan(r.p50)) return &r;
    return nullptr;
  };
  for (const std::uint32_t n : o.nodes)
    for (const char* algorithm : {"lamport", "ricart-agrawala"}) {
      const auto exact = exact_per_entry(algorithm, n);
      Target t{fmt::format("messages/entry, {} n={}, every row", algorithm, n), NAN,
               fmt::format("= {:g}", exact), true, ""};
      std::size_t seen = 0;
      for (const Row& r : rows) {
        if (r.algorithm != algorithm || r.n != n || std::isnan(r.messages)) continue;
        ++seen;
        if (std::isnan(t.value) || std::abs(r.messages - exact) > std::abs(t.value - exact))
          t.value = r.messages; // the one farthest from exact
        t.met = t.met && r.messages == exact;
      }
      if (seen == 0) continue;
      if (!t.met) t.why = "a lock layer sent other than the algorithm's count";
      targets.push_back(t);
    }
  const Row* etcd_one = find("etcd-uncontended", "");
  for (const Row& r : rows) {
    if (r.kind != "uncontended" || std::isnan(r.p50)) continue;
    const std::string who = fmt::format("{} n={} {}", r.name, r.n, r.wait);
    if (const Row* udp = find("udp", r.wait)) {
      Target t{"uncontended p50, " + who + " / ping-pong p50", r.p50 / udp->p50,
               fmt::format("<= 2 (ping-pong {} p50 {:.1f} us)", r.wait, udp->p50),
               r.p50 <= 2 * udp->p50, ""};
      if (!t.met && r.n > std::thread::hardware_concurrency() && r.wait == "spin")
        t.why = "more spinning processes than CPUs: a member waits for another's time slice";
      targets.push_back(t);
    }
    if (etcd_one != nullptr) {
      Target t{"uncontended grants/s, " + who + " / etcd's", r.rate / etcd_one->rate,
               fmt::format(">= 10 (etcd {:.0f}/s)", etcd_one->rate), r.rate >= 10 * etcd_one->rate,
               ""};
      targets.push_back(t);
    }
  }
  fmt::print("\n{:<64} {:>8}  {}\n", "target", "value", "");
  for (const Target& t : targets)
    fmt::print("{:<64} {:>8}  {} {}{}\n", t.what, cell(t.value, "{:.2f}"), t.met ? "met" : "MISSED",
               t.bound, t.why.empty() ? "" : ": " + t.why);

  if (!o.json.empty()) {
    std::string out = fmt::format("{{\n  \"command\": {},\n  \"machine\": {},\n  \"rows\": [\n",
                                  json_string(command), json_string(machine()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      out += fmt::format(
          "    {{\"row\": {}, \"kind\": {}, \"algorithm\": {}, \"n\": {}, \"impl\": {}, "
          "\"wait\": {}, \"p50_us\": {}, \"p99_us\": {}, \"grants_per_s\": {}, "
          "\"messages_per_entry\": {}, \"status\": {}}}{}\n",
          json_string(r.name), json_string(r.kind), json_string(r.algorithm), r.n,
          json_string(r.impl), json_string(r.wait), json_number(r.p50), json_number(r.p99),
          json_number(r.rate), json_number(r.messages), json_string(r.status),
          i + 1 < rows.size() ? "," : "");
    }
    out += "  ],\n  \"targets\": [\n";
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[i];
      out += fmt::format("    {{\"what\": {}, \"value\": {}, \"bound\": {}, \"met\": {}, "
                         "\"why\": {}}}{}\n",
                         json_string(t.what), json_number(t.value), json_string(t.bound),
                         t.met ? "true" : "false", json_string(t.why),
                         i + 1 < targets.size() ? "," : "");
    }
    out += "  ]\n}\n";
    if (!write_file(o.json, out)) return 2;
  }
  return 0;
}

// A child's failure, as a result line the parent reads (values without spaces).
int child_failed(const std::exception& e) {
  std::string why = e.what();
  std::replace(why.begin(), why.end(), ' ', '_');
  print_result({{"error", why}});
  return 3;
}

} // namespace

void add_lock_udp_commands(CLI::App& lock, LockUdpOptions& o) {
  auto* node = lock.add_subcommand(
      "node", "one member of a lock group over UDP: acquires the lock --entries times, prints "
              "each grant's latency and a tally, then keeps answering the others for --linger-s "
              "(or until SIGTERM); start one process per member. Each member checks its own "
              "grants' fencing tokens with a local fenced counter (no store is shared)");
  LockNodeOptions& n = o.node;
  node->add_option("--file", n.file, "the spec file declaring LamportLock and RicartAgrawalaLock")
      ->capture_default_str();
  node->add_option("--me", n.me, "this member's index in --peers")->required();
  node->add_option("--peers", n.peers, "every member's host:port, in member order")
      ->delimiter(',')
      ->required();
  node->add_option("--algorithm", n.algorithm, "lamport or ricart-agrawala")
      ->check(CLI::IsMember({"lamport", "ricart-agrawala"}))
      ->capture_default_str();
  node->add_option("--impl", n.impl, "the stack's build: dynamic, static or fused")
      ->check(CLI::IsMember({"dynamic", "static", "fused"}))
      ->capture_default_str();
  node->add_option("--wait", n.wait, "block (sleep in the kernel) or spin (busy-poll the socket)")
      ->check(CLI::IsMember({"block", "spin"}))
      ->capture_default_str();
  node->add_option("--entries", n.entries, "acquires (0: only answer the others)")
      ->check(CLI::Range(0U, 10'000'000U))
      ->capture_default_str();
  node->add_option("--hold-us", n.hold_us, "how long each grant is held")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
  node->add_option("--patience-ms", n.patience_ms,
                   "an acquire not granted this long after its asking fails, naming the silent "
                   "peers")
      ->check(CLI::Range(0.001, 3.6e6))
      ->capture_default_str();
  node->add_option("--linger-s", n.linger_s,
                   "after the entries, keep answering the others this long (SIGTERM ends it "
                   "sooner): a member cannot tell from the lock when the others are done")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  node->add_option("--limit-s", n.limit_s, "time the entries may take at most")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  node->add_flag("--quiet", n.quiet, "no line per grant");
  node->add_flag("--try", n.try_only,
                 "try_acquire instead of acquire: a try that finds the lock held, or a request "
                 "before it, is refused as taken at once (counted, not a failure)");
  node->add_option("--cpu", n.cpu, "pin the process to this CPU")->capture_default_str();
  node->add_flag("--wait-go", n.wait_go)->group("");

  auto* bench = lock.add_subcommand(
      "bench", "lock latency, grants/s and messages per entry: Lamport's and Ricart and "
               "Agrawala's algorithms (layered and fused, spinning and blocking, one member "
               "contending and all), a raw UDP ping-pong as the floor and a 3-member etcd "
               "cluster's lock API; processes on loopback");
  LockBenchOptions& b = o.bench;
  bench->add_option("--file", b.file, "the spec file declaring LamportLock and RicartAgrawalaLock")
      ->capture_default_str();
  bench->add_option("--rows", b.rows, "of udp, uncontended, contended, etcd (default: all)")
      ->check(CLI::IsMember({"udp", "uncontended", "contended", "etcd"}))
      ->delimiter(',');
  bench->add_option("--nodes", b.nodes, "group sizes")
      ->check(CLI::Range(2U, 32U))
      ->delimiter(',')
      ->capture_default_str();
  bench->add_option("--impl", b.impls, "the stacks' builds")
      ->check(CLI::IsMember({"dynamic", "static", "fused"}))
      ->delimiter(',')
      ->capture_default_str();
  bench->add_option("--wait", b.waits, "spin, block")
      ->check(CLI::IsMember({"block", "spin"}))
      ->delimiter(',')
      ->capture_default_str();
  bench->add_option("--entries", b.entries, "acquires per contending member (and ping-pongs)")
      ->check(CLI::Range(1U, 10'000'000U))
      ->capture_default_str();
  bench->add_option("--etcd-entries", b.etcd_entries, "lock+unlock per etcd client")
      ->check(CLI::Range(1U, 10'000'000U))
      ->capture_default_str();
  bench
      ->add_option("--rounds", b.rounds,
                   "run every row this many times, taking turns, and report the medians")
      ->check(CLI::Range(1U, 101U))
      ->capture_default_str();
  bench->add_option("--limit-s", b.limit_s, "time a row may take at most")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  bench->add_option("--json", b.json, "also write the figures to this file");
  bench->add_option("--etcd", b.etcd, "the etcd server program")->capture_default_str();
  bench->add_option("--role", b.role)->group("")->check(CLI::IsMember({"etcd-client"}));
  bench->add_option("--endpoint", b.endpoint)->group("");
  bench->add_option("--lock-name", b.lock_name)->group("");
  bench->add_option("--cpu", b.cpu)->group("");
}

int lock_udp_command(const CLI::App& lock, const LockUdpOptions& o, std::span<char* const> args) {
  if (lock.got_subcommand("node")) {
    try {
      return run_node(o.node);
    } catch (const std::exception& e) {
      fmt::print(stderr, "lamina: error: {}\n", e.what());
      if (o.node.wait_go) child_failed(e);
      return 2;
    }
  }
  if (lock.got_subcommand("bench")) {
    if (o.bench.role == "etcd-client") {
      try {
        pin_to(o.bench.cpu);
        return run_etcd_client(o.bench);
      } catch (const std::exception& e) {
        return child_failed(e);
      }
    }
    return run_bench(o.bench, args);
  }
  return -1;
}

} // namespace lamina::tools
