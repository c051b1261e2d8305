// lamina: the command line — run stacks on the simulated network or on UDP, list the layers.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "runtime/fused_stacks.hpp"
#include "runtime/registry.hpp"
#include "runtime/udp.hpp"
#include "runtime/workload.hpp"
#include "spec/stack_string.hpp"
#include "tools/ants_command.hpp"
#include "tools/clocks_command.hpp"
#include "tools/difftest_command.hpp"
#include "tools/lock_command.hpp"
#include "tools/netbench.hpp"
#include "tools/rpc_command.hpp"
#include "tools/spec_commands.hpp"
#include "tools/tool.hpp"
#include "tools/wire_layers.hpp"

extern char** environ;

namespace {

using namespace lamina;

// The stacks `demo`, and `node` and `netbench`, take unless told another (ToolConfig).
std::string default_spec;
std::string default_stack;
std::string default_wire_stack;

// `lamina bench` is the program lamina-bench beside this one (tools/bench_main.cpp says why),
// or for a project's program (lamina_add_tool()) its own, named after it with "-bench":
// its argument vector, run in place of this process (`replace`), or as a child waited for.
// Returns the child's exit status, or 2 with a message if it cannot be run.
int run_bench(std::vector<std::string> args, bool replace) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string path = self.string() + "-bench";
  args.insert(args.begin(), "lamina"); // as the user called it, for its help and messages
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  if (replace) {
    ::execv(path.c_str(), argv.data());
  } else {
    pid_t pid = 0;
    errno = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), environ);
    int status = 0;
    if (errno == 0 && ::waitpid(pid, &status, 0) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
  }
  fmt::print(stderr, "lamina: error: cannot run {}: {} (it is built and installed with lamina)\n",
             path, std::strerror(errno));
  return 2;
}

struct RunOptions {
  std::string file;  // a spec file declaring the stack, or empty
  std::string stack; // a stack name in `file`, or a stack string
  Workload workload;
  double delay_ms = 1;
  double jitter_ms = 3;
};

Duration millis(double ms) { return Duration(static_cast<std::int64_t>(ms * 1e6)); }

// Adds up, over all nodes, every layer counter whose name starts with "dropped_".
std::map<std::string, std::uint64_t>
layer_drops(const std::vector<std::unique_ptr<DynamicStack>>& stacks) {
  std::map<std::string, std::uint64_t> drops;
  for (const auto& s : stacks) {
    for (std::size_t i = 0; i < s->depth(); ++i) {
      for (const Field& f : s->layer(i).fields()) {
        if (!f.name.starts_with("dropped_")) continue;
        std::uint64_t v = 0;
        std::from_chars(f.value.data(), f.value.data() + f.value.size(), v);
        drops[fmt::format("{}.{}", s->layer(i).name(), f.name)] += v;
      }
    }
  }
  return drops;
}

// The stack string of `o.stack`: itself, or the stack of that name declared in `o.file`.
std::optional<std::string> stack_string(const RunOptions& o) {
  if (o.file.empty()) return o.stack;
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const auto program = spec::load(o.file, sources, diags);
  if (!diags.all().empty()) fmt::print(stderr, "{}", diags.format());
  if (!program) return std::nullopt;
  try {
    return spec::stack_string(*program, o.stack);
  } catch (const spec::StackStringError& e) {
    fmt::print(stderr, "lamina: error: {}: {}\n", o.file, e.what());
    return std::nullopt;
  }
}

int run(const RunOptions& o) {
  const auto stack = stack_string(o);
  if (!stack) return 2;
  Workload w = o.workload;
  w.link.delay = millis(o.delay_ms);
  w.link.jitter = millis(o.jitter_ms);

  std::vector<std::unique_ptr<DynamicStack>> stacks;
  try {
    for (std::uint32_t i = 0; i < w.nodes; ++i) stacks.push_back(layer_registry().build(*stack));
  } catch (const StackError& e) {
    fmt::print(stderr, "lamina: error: in stack '{}': {}\n", *stack, e.what());
    return 2;
  }
  std::vector<Endpoint*> endpoints;
  for (auto& s : stacks) endpoints.push_back(s.get());

  fmt::print("stack:    {}\n", stacks.front()->describe());
  fmt::print("network:  {} nodes, loss {:.0f}%, duplication {:.0f}%, delay {} ms + up to {} ms "
             "jitter, seed {}\n",
             w.nodes, w.link.loss * 100, w.link.duplicate * 100, o.delay_ms, o.jitter_ms, w.seed);
  const WorkloadReport r = run_workload(w, endpoints);
  fmt::print("{}\n", r.summary());

  std::uint64_t retransmitted = 0, suppressed = 0;
  bool reliable = false;
  for (auto& s : stacks) {
    if (const Retransmit* rt = s->find<Retransmit>()) {
      reliable = true;
      retransmitted += rt->retransmitted;
      suppressed += rt->duplicates_suppressed;
    }
  }
  if (reliable)
    fmt::print("layers:   {} retransmitted, {} duplicates suppressed\n", retransmitted, suppressed);
  for (const auto& [name, count] : layer_drops(stacks))
    if (count != 0) fmt::print("dropped:  {} {}\n", count, name);
  fmt::print("verdict:  {}\n", r.perfect() ? "every message delivered exactly once, in order"
                                           : "messages were lost, repeated, reordered or corrupt");
  return r.perfect() ? 0 : 1;
}

// `lamina demo`: Lamina's main job on one stack, end to end. The stack from its spec file; what
// lamina-opt fused (the guards, the header bytes layered and compressed); difftest of the spec,
// static, dynamic and fused stacks on one random trace; the bench table; and the dynamic stack
// over a lossy simulated network. 0 when every step succeeds.
int demo_command(const RunOptions& o) {
  const auto stack = stack_string(o);
  if (!stack) return 2;
  const auto heading = [](std::string_view what) { fmt::print("\n== {}\n", what); };
  fmt::print("lamina demo: stack {} of {}\n  {}\n", o.stack, o.file, *stack);

  heading("what lamina-opt fused (at build time)");
  const std::string explanation = lamina::fused_stacks().explanation(*stack);
  fmt::print("{}", explanation.empty() ? "no fused build of this stack: lamina_add_stack() fuses "
                                         "the stacks of the spec files given to it\n"
                                       : explanation);

  heading("difftest: the implementations in lockstep on one random trace");
  tools::DifftestOptions d;
  d.file = o.file;
  d.stack = o.stack;
  d.impls = {"spec", "static", "dynamic"};
  if (!explanation.empty()) d.impls.emplace_back("fused");
  d.events = 50'000;
  d.seed = o.workload.seed;
  d.shrink_seconds = 10;
  const int agreed = tools::difftest_command(d);

  heading("bench: the common path, side by side");
  const int benched = run_bench({"bench", o.file, "--stack", o.stack, "--quick"}, false);

  heading("run: the dynamic stack over a lossy simulated network");
  const int ran = run(o);
  return std::max({agreed, benched, ran});
}

void add_run_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("--nodes", o.workload.nodes, "number of nodes")->check(CLI::Range(2u, 64u));
  cmd.add_option("--messages", o.workload.messages_per_node, "messages each node sends")
      ->check(CLI::Range(0u, 10'000'000u));
  cmd.add_option("--max-size", o.workload.max_size, "largest payload, bytes")
      ->check(CLI::Range(kTagBytes, 1u << 24));
  cmd.add_option("--casts", o.workload.cast_share, "share of messages cast to the group")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--loss", o.workload.link.loss, "probability that a packet is lost")
      ->check(CLI::Range(0.0, 0.9));
  cmd.add_option("--dup", o.workload.link.duplicate, "probability that a packet is duplicated")
      ->check(CLI::Range(0.0, 0.9));
  cmd.add_option("--delay-ms", o.delay_ms, "one-way link delay, ms")->check(CLI::Range(0.0, 1e4));
  cmd.add_option("--jitter-ms", o.jitter_ms, "extra random delay that reorders packets, ms")
      ->check(CLI::Range(0.0, 1e4));
  cmd.add_option("--seed", o.workload.seed, "seed of the run (same seed, same run)");
}

struct NodeOptions {
  PeerId me = 0;
  std::vector<std::string> peers;
  RunOptions stack{default_spec, default_wire_stack, {}}; // --stack: a stack string instead
  std::uint32_t messages = 200;
  std::uint32_t max_size = 4000;
  double drop = 0;
  std::uint64_t seed = 1;
  double limit_s = 60;
  double linger_s = 1;
  bool busy_poll = false;
};

// One node of a group on real UDP sockets: sends `messages` to every other member, checks
// that it gets theirs exactly once, in order, byte for byte, and stays a while to acknowledge
// what the others still resend.
int node(const NodeOptions& o) {
  const auto n = static_cast<std::uint32_t>(o.peers.size());
  if (o.me >= n) {
    fmt::print(stderr, "lamina: error: --me {} but --peers lists only {} members\n", o.me, n);
    return 2;
  }
  const auto stack_text = stack_string(o.stack);
  if (!stack_text) return 2;
  std::unique_ptr<DynamicStack> stack;
  std::unique_ptr<UdpNode> udp;
  try {
    stack = layer_registry().build(*stack_text);
    UdpNode::Options udp_options;
    udp_options.busy_poll = o.busy_poll;
    // A loopback never loses a datagram: --drop makes the run exercise retransmission.
    udp_options.drop_share = o.drop;
    udp_options.drop_seed = o.seed * 7919 + o.me;
    udp = std::make_unique<UdpNode>(o.me, o.peers, udp_options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  udp->attach(*stack);

  // Payload: sender, number, length, then bytes that are a function of those.
  auto payload = [&](PeerId from, std::uint32_t index) {
    const std::uint32_t len = 12 + (index * 2654435761u + from) % (o.max_size - 11);
    Msg m = Msg::with_size(len);
    const std::uint32_t tag[3] = {from, index, len};
    std::byte* bytes = m.writable_data();
    std::memcpy(bytes, tag, sizeof tag);
    for (std::uint32_t i = sizeof tag; i < len; ++i) bytes[i] = std::byte(from + index * 3 + i);
    return m;
  };
  std::vector<std::uint32_t> expected(n, 0);
  std::uint64_t wrong = 0;
  udp->on_deliver([&](Event& ev) {
    std::uint32_t tag[3] = {};
    if (ev.msg.size() < sizeof tag) return void(++wrong);
    std::memcpy(tag, ev.msg.data(), sizeof tag);
    if (tag[0] != ev.peer || tag[1] != expected[ev.peer] || !(ev.msg == payload(tag[0], tag[1])))
      return void(++wrong);
    ++expected[ev.peer];
  });

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto received_all = [&] {
    for (PeerId p = 0; p < n; ++p)
      if (p != o.me && expected[p] < o.messages) return false;
    return true;
  };
  const tools::WireLayers layers{stack->find<Retransmit>(), stack->find<Arq>(),
                                 stack->find<Window>()};
  // Each message goes once the stack's flow control has room for it, the others' meanwhile
  // received; a stack without flow control takes them all at once. What the stack transmits
  // is queued and goes in batches, at each poll.
  bool gave_up = false;
  for (std::uint32_t i = 0; i < o.messages && !gave_up; ++i) {
    for (PeerId p = 0; p < n && !gave_up; ++p) {
      if (p == o.me) continue;
      while (layers.would_block(p) && !gave_up) {
        udp->poll(std::chrono::milliseconds(1));
        gave_up = elapsed() >= o.limit_s;
      }
      if (!gave_up) udp->send_queued(p, payload(o.me, i));
    }
    if (i % 32 == 31) udp->poll(Duration(0));
  }
  while (!(received_all() && layers.settled()) && elapsed() < o.limit_s)
    udp->poll(std::chrono::milliseconds(5));
  const bool complete = received_all() && wrong == 0;
  udp->run_for(Duration(static_cast<std::int64_t>(o.linger_s * 1e9)));

  std::uint64_t got = 0;
  for (PeerId p = 0; p < n; ++p) got += p == o.me ? 0 : expected[p];
  const UdpNode::Counters c = udp->counters();
  fmt::print("node {}: {} of {} messages received in order, {} wrong; {} datagrams sent in {} "
             "sendmmsg, {} received in {} recvmmsg, {} dropped on purpose{}; {:.2f} s\n",
             o.me, got, std::uint64_t{o.messages} * (n - 1), wrong, c.sent, c.send_calls,
             c.datagrams_received + c.dropped, c.receive_calls, c.dropped,
             layers.reliable()
                 ? fmt::format(", {} retransmitted ({} timeouts, {} of them undone, {} probes)",
                               layers.retransmitted(), layers.timeouts(), layers.undone(),
                               layers.probes())
                 : "",
             elapsed());
  return complete ? 0 : 1;
}

} // namespace

int lamina::tools::lamina_main(int argc, char** argv, const ToolConfig& config) try {
  use_import_roots(config);
  default_spec = tools::spec_path(config.demo_spec);
  default_stack = config.demo_stack;
  default_wire_stack = config.wire_stack;
  CLI::App app{"lamina: protocol stacks from small specified layers"};
  app.require_subcommand(1);

  RunOptions demo;
  demo.file = default_spec;
  demo.stack = default_stack;
  demo.workload.nodes = 5;
  demo.workload.messages_per_node = 200;
  demo.workload.cast_share = 0.2;
  demo.workload.link.loss = 0.2;
  demo.workload.link.duplicate = 0.1;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Lamina's main job on one stack, end to end: the stack from its spec, what "
              "lamina-opt fused, difftest of spec, static, dynamic and fused, the bench table, "
              "and a run over a simulated network that loses 20% of packets, duplicates and "
              "reorders them");
  demo_cmd->add_option("file", demo.file, "a spec file declaring the stack (.ioa)")
      ->check(CLI::ExistingFile)
      ->capture_default_str();
  demo_cmd->add_option("--stack", demo.stack, "the name of a stack declared there")
      ->capture_default_str();
  add_run_options(*demo_cmd, demo);

  RunOptions run_opts = demo;
  run_opts.file.clear();
  auto* run_cmd = app.add_subcommand(
      "run", "run a stack of C++ layers (dynamic composition) on the simulated network and "
             "report what was delivered, lost, retransmitted and suppressed");
  run_cmd->add_option("file", run_opts.file, "a spec file declaring the stack (.ioa)")
      ->check(CLI::ExistingFile);
  run_cmd
      ->add_option("--stack", run_opts.stack,
                   "with FILE: the name of a stack declared there; without: a stack string, "
                   "e.g. 'Top:Frag(mtu=1400):Seqno:Retransmit:Checksum:Bottom'")
      ->required();
  add_run_options(*run_cmd, run_opts);

  std::vector<std::string> check_files;
  auto* check_cmd = app.add_subcommand(
      "check", "parse and check spec files: print nothing and exit 0 when all is well, print "
               "the diagnostics and exit 1 otherwise");
  check_cmd->add_option("files", check_files, "spec files (.ioa), or folders of them")
      ->required()
      ->check(CLI::ExistingPath);

  tools::SimOptions sim_opts;
  auto* sim_cmd = app.add_subcommand(
      "sim", "run a spec: an automaton by random steps among its enabled actions (or along a "
             "trace), or a stack of spec layers on the simulated network; print the actions and "
             "the final state, and exit 1 on an invariant violation or run-time error");
  sim_cmd->add_option("file", sim_opts.file, "the spec file (.ioa)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* sim_automaton = sim_cmd->add_option("--automaton", sim_opts.automaton, "automaton to run");
  auto* sim_stack = sim_cmd->add_option("--stack", sim_opts.stack, "stack to run");
  sim_automaton->excludes(sim_stack);
  sim_cmd->add_option("--steps", sim_opts.steps,
                      "automaton: random steps to take; stack: messages each node sends");
  sim_cmd->add_option("--seed", sim_opts.seed, "seed of the random choices");
  sim_cmd->add_option("--trace", sim_opts.trace, "take the actions in this file, one a line")
      ->excludes(sim_stack)
      ->check(CLI::ExistingFile);
  sim_cmd->add_option("--nodes", sim_opts.nodes, "stack: members of the group")
      ->check(CLI::Range(2u, 16u));
  sim_cmd->add_flag("--quiet", sim_opts.quiet, "print only the summary and the final state");

  NodeOptions node_opts;
  auto* node_cmd = app.add_subcommand(
      "node", "run one member of a group over real UDP sockets: send messages to every other "
              "member and check that theirs arrive exactly once, in order (start one process "
              "per member, each with its own --me)");
  node_cmd->add_option("--me", node_opts.me, "this member's number: its index in --peers")
      ->required();
  node_cmd->add_option("--peers", node_opts.peers, "every member's address, host:port, in order")
      ->required()
      ->delimiter(',');
  node_cmd
      ->add_option("--stack", node_opts.stack.stack,
                   "a stack string (default: FlowFifo of stacks/fifo/fifo.ioa)")
      ->each([&](const std::string&) { node_opts.stack.file.clear(); });
  node_cmd->add_option("--messages", node_opts.messages, "messages to send to each other member")
      ->check(CLI::Range(0u, 10'000'000u));
  node_cmd->add_option("--max-size", node_opts.max_size, "largest payload, bytes")
      ->check(CLI::Range(12u, 1u << 24));
  node_cmd->add_option("--drop", node_opts.drop, "share of arriving datagrams to drop on purpose")
      ->check(CLI::Range(0.0, 0.9));
  node_cmd->add_option("--seed", node_opts.seed, "seed of the deliberate drops");
  node_cmd->add_option("--limit-s", node_opts.limit_s, "give up after this many seconds");
  node_cmd->add_option("--linger-s", node_opts.linger_s,
                       "keep acknowledging this long after finishing");
  node_cmd->add_flag("--busy-poll", node_opts.busy_poll,
                     "wait by spinning on the socket instead of sleeping (lower latency, a core "
                     "kept busy)");

  tools::DifftestOptions difftest_opts;
  auto* difftest_cmd = tools::add_difftest_command(app, difftest_opts);

  // Everything after `bench` goes to lamina-bench, --help included.
  auto* bench_cmd = app.add_subcommand(
      "bench", "compare the implementations of a stack on the common path in one table (lamina "
               "bench --help says more)");
  bench_cmd->prefix_command();
  bench_cmd->set_help_flag();

  tools::NetbenchOptions netbench_opts;
  auto* netbench_cmd = tools::add_netbench_command(app, netbench_opts);

  auto* layers_cmd =
      app.add_subcommand("layers", "list the layers a stack may use, with parameters");

  tools::RpcOptions rpc_opts;
  auto* rpc_cmd = tools::add_rpc_command(app, rpc_opts);

  tools::LockOptions lock_opts;
  auto* lock_cmd = tools::add_lock_command(app, lock_opts);

  tools::AntsOptions ants_opts;
  auto* ants_cmd = tools::add_ants_command(app, ants_opts);

  tools::ClocksOptions clocks_opts;
  auto* clocks_cmd = tools::add_clocks_command(app, clocks_opts);

  CLI11_PARSE(app, argc, argv);

  if (*demo_cmd) return demo_command(demo);
  if (*run_cmd) return run(run_opts);
  if (*check_cmd) return tools::check_command(check_files);
  if (*sim_cmd) {
    if (sim_opts.automaton.empty() && sim_opts.stack.empty()) {
      fmt::print(stderr, "lamina: error: sim needs --automaton NAME or --stack NAME\n");
      return 2;
    }
    return tools::sim_command(sim_opts);
  }
  if (*node_cmd) return node(node_opts);
  if (*difftest_cmd) return tools::difftest_command(difftest_opts);
  if (*bench_cmd) {
    std::vector<std::string> args{"bench"};
    for (std::string& a : bench_cmd->remaining()) args.push_back(std::move(a));
    return run_bench(std::move(args), true);
  }
  if (*netbench_cmd) {
    // The Lamina rows' stack, as `lamina node` takes it; the children get it as a string.
    if (netbench_opts.stack.empty()) {
      const auto text = stack_string(NodeOptions{}.stack);
      if (!text) return 2;
      netbench_opts.stack = *text;
    }
    return tools::netbench_command(netbench_opts, {argv + 1, static_cast<std::size_t>(argc - 1)});
  }
  if (*rpc_cmd)
    return tools::rpc_command(*rpc_cmd, rpc_opts, {argv + 1, static_cast<std::size_t>(argc - 1)});
  if (*lock_cmd)
    return tools::lock_command(*lock_cmd, lock_opts,
                               {argv + 1, static_cast<std::size_t>(argc - 1)});
  if (*clocks_cmd) return tools::clocks_command(clocks_opts);
  if (*ants_cmd)
    return tools::ants_command(
        *ants_cmd, ants_opts, std::span<char* const>(argv + 1, static_cast<std::size_t>(argc - 1)));
  if (*layers_cmd) {
    for (const auto& [name, params] : layer_registry().layers())
      fmt::print("{:<13}{}\n", name, params.empty() ? "(no parameters)" : params);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "lamina: error: {}\n", e.what());
  return 2;
}
