#include "tools/rpc_command.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "services/rpc/kv.hpp"
#include "services/rpc/sim_group.hpp"
#include "services/rpc/udp_member.hpp"
#include "spec/stack_string.hpp"
#include "tools/tool.hpp"

namespace lamina::tools {
namespace {

using namespace std::chrono_literals;

// Clients call a key-value server on a simulated network that loses and duplicates packets,
// and the tally shows that every call ended once and ran at most once.
int demo(const RpcDemoOptions& o) {
  const std::string file = spec_path(o.file);
  std::string stack;
  try {
    stack = spec::load_stack_string(file, o.stack);
  } catch (const spec::StackStringError& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return 2;
  }
  const LinkConfig link{.delay = 1ms, .jitter = 1ms, .loss = o.loss, .duplicate = o.duplicate};
  rpc::SimGroup group(o.seed, o.clients + 1, stack, link);
  rpc::kv::Store store(group.node(0));

  // Every client's calls, 1 ms apart on average: puts of keys of their own (so that a put run
  // twice would find its key written), gets of them, echoes, and deletes.
  const Time deadline_after = 2s;
  std::map<rpc::Status, std::uint64_t> results;
  std::uint64_t made = 0;
  const std::string echo(64, 'e');
  for (PeerId c = 1; c <= o.clients; ++c)
    for (std::uint32_t i = 0; i < o.calls; ++i) {
      const Time at = Time(std::chrono::microseconds((i * 1000) + (c * 137) % 1000));
      group.net().at(at, [&, c, i] {
        rpc::Node& node = group.node(c);
        const Time deadline = group.net().now() + deadline_after;
        auto tally = [&](auto r) { ++results[r.status]; };
        const std::string key = fmt::format("client {} key {}", c, i / 4);
        ++made;
        switch (i % 4) {
        case 0:
          node.call<rpc::kv::Put>(0, {key, "value"}, deadline, tally);
          break;
        case 1:
          node.call<rpc::kv::Get>(0, {key}, deadline, tally);
          break;
        case 2:
          node.call<rpc::kv::Echo>(0, {std::as_bytes(std::span(echo))}, deadline, tally);
          break;
        default:
          node.call<rpc::kv::Delete>(0, {key}, deadline, tally);
          break;
        }
      });
    }
  group.net().run_until(Time(std::chrono::milliseconds(o.calls + 10)) + deadline_after);

  std::uint64_t ended = 0;
  for (const auto& [status, n] : results) ended += n;
  const Rpc& server = *group.stack(0).find<Rpc>();
  std::uint64_t resent = 0;
  for (PeerId c = 1; c <= o.clients; ++c) resent += group.stack(c).find<Rpc>()->resent;
  std::uint64_t runs = 0;
  std::string by_method;
  for (const auto& [method, n] : store.runs()) {
    runs += n;
    by_method += fmt::format("{}{} {}", by_method.empty() ? "" : ", ", method, n);
  }
  std::string by_status;
  for (const auto& [status, n] : results)
    by_status += fmt::format("{}{} {}", by_status.empty() ? "" : ", ", rpc::to_string(status), n);

  fmt::print("lamina rpc demo: {} of {} ({}) on SimNet, seed {}\n", o.stack, file, stack, o.seed);
  fmt::print("  1 server, {} clients, {} calls each, 1 ms apart (put, get, echo, delete), "
             "deadline 2 s; links lose {:.0f}% and duplicate {:.0f}% of packets, 1-2 ms\n",
             o.clients, o.calls, o.loss * 100, o.duplicate * 100);
  fmt::print("network: {}\n", group.net().counters().summary());
  fmt::print("calls: {} made, {} ended: {}\n", made, ended, by_status);
  fmt::print("server: handlers ran {} times ({}); {} calls resent by the clients, {} answered "
             "again from the kept answers, {} dropped as running or finished\n",
             runs, by_method, resent, server.replayed, server.dropped_old);
  const bool once = store.overwrites() == 0;
  fmt::print("at most once: every put writes a key of its own, so a put run twice would find its "
             "key written: {} did{}\n",
             store.overwrites(), once ? " — no call ran twice" : " — A CALL RAN TWICE");
  return ended == made && once ? 0 : 1;
}

// The member that serve or call runs, or nullptr after saying why.
std::unique_ptr<rpc::UdpMember> make_member(const RpcUdpOptions& o) {
  try {
    rpc::UdpMemberOptions m;
    m.stack_string = spec::load_stack_string(spec_path(o.file), o.stack);
    m.implementation = o.impl;
    m.me = o.me;
    m.peers = o.peers;
    m.incarnation = o.incarnation;
    m.spin = o.wait == "spin";
    return std::make_unique<rpc::UdpMember>(m);
  } catch (const std::exception& e) {
    fmt::print(stderr, "lamina: error: {}\n", e.what());
    return nullptr;
  }
}

volatile std::sig_atomic_t stop_serving = 0;
extern "C" void on_stop_signal(int /*signal*/) { stop_serving = 1; }

// The key-value store and echo over UDP, until interrupted or for a while.
int serve(const RpcServeOptions& o) {
  const auto member = make_member(o.udp);
  if (!member) return 2;
  const rpc::kv::Store store(member->node());
  fmt::print("lamina rpc serve: {} ({}), member {} of {} at {}, incarnation {}, waiting by {}; "
             "methods echo, get, put, delete\n",
             o.udp.stack, o.udp.impl, o.udp.me, o.udp.peers.size(), o.udp.peers[o.udp.me],
             member->rpc().incarnation, o.udp.wait == "spin" ? "spinning" : "blocking");
  std::fflush(stdout);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(o.for_s));
  while (stop_serving == 0 && (o.for_s == 0 || std::chrono::steady_clock::now() < until))
    member->poll(100ms);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  std::string runs;
  for (const auto& [method, n] : store.runs())
    runs += fmt::format("{}{} {}", runs.empty() ? "" : ", ", method, n);
  const Rpc& rpc = member->rpc();
  fmt::print("served: handlers ran {} times{}; {} calls answered again from the kept answers, {} "
             "dropped as running or finished, {} refused (busy or stale), {} too late to run; {} "
             "keys held\n",
             member->node().stats().served, runs.empty() ? "" : " (" + runs + ")", rpc.replayed,
             rpc.dropped_old, rpc.refused, rpc.dropped_late, store.data().size());
  return 0;
}

// A call of `M`; `describe` says what an ok response holds.
template <rpc::Method M, class Describe>
void start_call(rpc::UdpMember& member, const RpcCallOptions& o, const typename M::Request& request,
                Describe describe, bool& done, bool& ok, std::string& text) {
  const Time deadline =
      member.udp().now() + std::chrono::duration_cast<Duration>(
                               std::chrono::duration<double, std::milli>(o.deadline_ms));
  member.node().call<M>(o.server, request, deadline,
                        [&, describe](rpc::Result<typename M::Response> r) {
                          done = true;
                          ok = r.status == rpc::Status::ok;
                          text = ok ? describe(*r.value)
                                    : fmt::format("{}{}", rpc::to_string(r.status),
                                                  r.error.empty() ? "" : ": " + r.error);
                        });
}

// One call from the command line (or --count of them, one after the other), its result and
// its latency.
int call(const RpcCallOptions& o) {
  const std::map<std::string, std::size_t> arity{
      {"echo", 1}, {"get", 1}, {"put", 2}, {"delete", 1}};
  if (o.args.size() != arity.at(o.method)) {
    fmt::print(stderr, "lamina: error: {} takes {} argument{}, not {}\n", o.method,
               arity.at(o.method), arity.at(o.method) == 1 ? "" : "s", o.args.size());
    return 2;
  }
  if (o.server == o.udp.me || o.server >= o.udp.peers.size()) {
    fmt::print(stderr, "lamina: error: --server {}: not another member of the {} in --peers\n",
               o.server, o.udp.peers.size());
    return 2;
  }
  const auto member = make_member(o.udp);
  if (!member) return 2;
  std::vector<double> latencies_us;
  std::uint32_t failed = 0;
  for (std::uint32_t i = 0; i < o.count; ++i) {
    bool done = false, ok = false;
    std::string text;
    const auto t0 = std::chrono::steady_clock::now();
    const std::string& a = o.args[0];
    if (o.method == "echo") {
      start_call<rpc::kv::Echo>(
          *member, o, {std::as_bytes(std::span(a))},
          [](const rpc::kv::Echo::Response& r) {
            return fmt::format(
                "\"{}\"",
                std::string_view(reinterpret_cast<const char*>(r.data.data()), r.data.size()));
          },
          done, ok, text);
    } else if (o.method == "get") {
      start_call<rpc::kv::Get>(
          *member, o, {a},
          [](const rpc::kv::Get::Response& r) {
            return r.found ? fmt::format("\"{}\"", r.value) : std::string("not found");
          },
          done, ok, text);
    } else if (o.method == "put") {
      start_call<rpc::kv::Put>(
          *member, o, {a, o.args[1]},
          [](const rpc::kv::Put::Response& r) {
            return std::string(r.replaced ? "replaced a value" : "a new key");
          },
          done, ok, text);
    } else {
      start_call<rpc::kv::Delete>(
          *member, o, {a},
          [](const rpc::kv::Delete::Response& r) {
            return std::string(r.found ? "deleted" : "not found");
          },
          done, ok, text);
    }
    // The layer ends every call by its deadline; the margin only guards against a stall.
    member->run_until([&] { return done; },
                      std::chrono::duration_cast<Duration>(
                          std::chrono::duration<double, std::milli>(o.deadline_ms + 1000)));
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (!done) text = "no result (the stack did not end the call)";
    if (!ok) ++failed;
    latencies_us.push_back(us);
    if (i == 0 || !ok)
      fmt::print("{} {}: {} ({:.1f} us{})\n", o.method, fmt::join(o.args, " "), text, us,
                 i == 0 && member->rpc().resent > 0
                     ? ", with the first call's round trip to learn the server's incarnation"
                     : "");
  }
  if (o.count > 1) {
    std::sort(latencies_us.begin() + 1, latencies_us.end());
    const auto at = [&](double p) {
      return latencies_us[1 + std::min(latencies_us.size() - 2,
                                       static_cast<std::size_t>(
                                           p * static_cast<double>(latencies_us.size() - 1)))];
    };
    fmt::print("{} calls, {} failed; after the first: p50 {:.1f} us, p99 {:.1f} us\n", o.count,
               failed, at(0.5), at(0.99));
  }
  return failed == 0 ? 0 : 1;
}

} // namespace

CLI::App* add_rpc_command(CLI::App& app, RpcOptions& o) {
  auto* rpc = app.add_subcommand("rpc", "the RPC service (stacks/rpc/rpc.ioa): calls that run at "
                                        "most once, within a deadline");
  rpc->require_subcommand(1);
  auto* demo = rpc->add_subcommand(
      "demo", "clients call a key-value server on a simulated network that loses and duplicates "
              "packets; the tally shows every call ended once and ran at most once (exit 1 if "
              "not)");
  demo->add_option("file", o.demo.file, "a spec file declaring the stack")->capture_default_str();
  demo->add_option("--stack", o.demo.stack, "a stack declared there, with Rpc under Top")
      ->capture_default_str();
  demo->add_option("--seed", o.demo.seed, "the simulated network's seed")->capture_default_str();
  demo->add_option("--clients", o.demo.clients)->check(CLI::Range(1u, 64u))->capture_default_str();
  demo->add_option("--calls", o.demo.calls, "calls per client")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  demo->add_option("--loss", o.demo.loss, "share of packets lost")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  demo->add_option("--duplicate", o.demo.duplicate, "share of packets that arrive twice")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();

  const auto add_udp = [](CLI::App* cmd, RpcUdpOptions& u) {
    cmd->add_option("--peers", u.peers, "every member's address, host:port, in member order")
        ->required()
        ->delimiter(',');
    cmd->add_option("--me", u.me, "this member's number: its index in --peers")
        ->capture_default_str();
    cmd->add_option("--file", u.file, "a spec file declaring the stack")->capture_default_str();
    cmd->add_option("--stack", u.stack, "a stack declared there, with Rpc under Top")
        ->capture_default_str();
    cmd->add_option("--impl", u.impl, "the stack's build: dynamic, static or fused")
        ->check(CLI::IsMember({"dynamic", "static", "fused"}))
        ->capture_default_str();
    cmd->add_option("--incarnation", u.incarnation,
                    "this run's incarnation, greater than the member's last (default: from the "
                    "clock, in tenths of a second since 2026)")
        ->check(CLI::Range(1u, 0xFFFFFFFFu));
    cmd->add_option("--wait", u.wait,
                    "block: sleep in the kernel until a datagram comes; spin: busy-poll the "
                    "socket (lower latency, a core busy)")
        ->check(CLI::IsMember({"block", "spin"}))
        ->capture_default_str();
  };
  auto* serve = rpc->add_subcommand(
      "serve", "serve an echo method and a key-value store (get, put, delete) over UDP, to the "
               "other members of --peers, until interrupted");
  add_udp(serve, o.serve.udp);
  serve->add_option("--for-s", o.serve.for_s, "stop after this many seconds (0: when interrupted)")
      ->check(CLI::Range(0.0, 1e7));
  auto* call = rpc->add_subcommand(
      "call", "one call over UDP to a member running `lamina rpc serve`: echo TEXT, get KEY, put "
              "KEY VALUE or delete KEY; prints the result and the latency (exit 1 if not ok)");
  add_udp(call, o.call.udp);
  call->add_option("method", o.call.method, "echo, get, put or delete")
      ->required()
      ->check(CLI::IsMember({"echo", "get", "put", "delete"}));
  call->add_option("args", o.call.args, "the method's arguments");
  call->add_option("--server", o.call.server, "the member that serves")->capture_default_str();
  call->add_option("--deadline-ms", o.call.deadline_ms, "the call's deadline")
      ->check(CLI::Range(0.001, 1e7))
      ->capture_default_str();
  call->add_option("--count", o.call.count, "make the call this many times, one after the other")
      ->check(CLI::Range(1u, 10'000'000u))
      ->capture_default_str();
  add_rpc_bench_command(*rpc, o.bench);
  return rpc;
}

int rpc_command(const CLI::App& rpc, const RpcOptions& o, std::span<char* const> args) {
  if (rpc.got_subcommand("demo")) return demo(o.demo);
  if (rpc.got_subcommand("serve")) return serve(o.serve);
  if (rpc.got_subcommand("call")) return call(o.call);
  if (rpc.got_subcommand("bench")) return rpc_bench_command(o.bench, args);
  return 2;
}

} // namespace lamina::tools
