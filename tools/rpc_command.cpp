#include "tools/rpc_command.hpp"

#include <chrono>
#include <fmt/format.h>
#include <vector>

#include "services/rpc/kv.hpp"
#include "services/rpc/sim_group.hpp"
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
  return rpc;
}

int rpc_command(const CLI::App& rpc, const RpcOptions& o) {
  if (rpc.got_subcommand("demo")) return demo(o.demo);
  return 2;
}

} // namespace lamina::tools
