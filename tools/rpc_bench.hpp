// `lamina rpc bench`: the RPC service against raw UDP and gRPC. Two processes on loopback per
// row (this program again, with a hidden --role): a server of an echo method and a client that
// measures the round trip (p50, p99) and calls/s with 1 and with N calls outstanding, for each
// argument size. Rows: raw UDP ping-pong (the floor), Lamina's RpcLan and RpcWan each layered
// (static) and fused, each waiting blocked or spinning; the naive-copy ablation; gRPC unary.
// Every figure says how the two processes were pinned.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lamina::tools {

struct RpcBenchOptions {
  std::string file = "stacks/rpc/rpc.ioa"; // where RpcLan and RpcWan are declared
  std::vector<std::string> rows;           // empty: udp, lan, wan, naive, grpc
  std::vector<std::uint32_t> sizes{32, 4096};
  std::vector<std::string> pins{"split", "same"}; // split: a CPU each; same: one CPU for both
  std::uint64_t calls = 10'000;                   // per measurement
  std::uint32_t outstanding = 32;
  std::uint32_t rounds = 3; // every row this many times, taking turns; the medians are reported
  double limit_s = 30;      // per row
  std::string json;         // where to write the figures, or empty
  // Hidden: one side of one row, in a child process.
  std::string role;      // "server" or "client"
  std::string transport; // "udp", "grpc", or "lamina:KIND:STACK STRING"
  std::string copies = "one";
  bool spin = false;
  std::uint32_t size = 32;
  std::uint16_t port = 0;
  std::uint16_t peer_port = 0;
  int cpu = -1; // pin the child to this CPU; -1: do not
};

// Declares `bench` under `rpc`.
CLI::App* add_rpc_bench_command(CLI::App& rpc, RpcBenchOptions& options);
// Runs the table (or, with a role, one side of one row). 0 when the table was made (rows that
// failed say so in it), 2 when it cannot start. `args` is the command line after the program's
// name, printed above the table.
int rpc_bench_command(const RpcBenchOptions& options, std::span<char* const> args);

} // namespace lamina::tools
