// `lamina rpc`: the RPC service (stacks/rpc/rpc.ioa, services/rpc/) from the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/event.hpp"
#include "tools/rpc_bench.hpp"

namespace lamina::tools {

struct RpcDemoOptions {
  std::string file = "stacks/rpc/rpc.ioa"; // looked for in the import roots too
  std::string stack = "RpcLan";
  std::uint64_t seed = 1;
  std::uint32_t clients = 3;
  std::uint32_t calls = 200; // per client
  double loss = 0.2;
  double duplicate = 0.2;
};

// What serve and call share: the stack, its build, and the group on UDP.
struct RpcUdpOptions {
  std::string file = "stacks/rpc/rpc.ioa";
  std::string stack = "RpcLan";
  std::string impl = "static";    // make_implementation's kind
  std::vector<std::string> peers; // every member's host:port, in member order
  PeerId me = 0;
  std::uint32_t incarnation = 0; // 0: from the clock (rpc::incarnation_from_clock)
  std::string wait = "block";    // or spin
};

struct RpcServeOptions {
  RpcUdpOptions udp;
  double for_s = 0; // 0: until interrupted
};

struct RpcCallOptions {
  RpcUdpOptions udp;
  PeerId server = 0;
  std::string method;            // echo, get, put, delete
  std::vector<std::string> args; // its arguments
  double deadline_ms = 1000;
  std::uint32_t count = 1; // calls, one after the other
};

struct RpcOptions {
  RpcDemoOptions demo;
  RpcServeOptions serve;
  RpcCallOptions call;
  RpcBenchOptions bench;
};

// Adds `rpc` and its subcommands to `app`; returns the `rpc` command.
CLI::App* add_rpc_command(CLI::App& app, RpcOptions& o);
// Runs the subcommand given; its exit status. `args` is the command line after the program's
// name (the bench prints it).
int rpc_command(const CLI::App& rpc, const RpcOptions& o, std::span<char* const> args);

} // namespace lamina::tools
