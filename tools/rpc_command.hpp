// `lamina rpc`: the RPC service (stacks/rpc/rpc.ioa, services/rpc/) from the command line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

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

struct RpcOptions {
  RpcDemoOptions demo;
};

// Adds `rpc` and its subcommands to `app`; returns the `rpc` command.
CLI::App* add_rpc_command(CLI::App& app, RpcOptions& o);
// Runs the subcommand given; its exit status.
int rpc_command(const CLI::App& rpc, const RpcOptions& o);

} // namespace lamina::tools
