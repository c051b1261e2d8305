// `lamina bench`: the implementations of a stack side by side on the common path — time,
// instructions, header bytes and allocations per message — in one table.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lamina::tools {

struct BenchOptions {
  std::string file;
  std::string stack;
  std::vector<std::string> impls; // empty: dynamic, static, fused, hand-fused
  std::string json;               // where to write the figures as JSON, or empty
  bool quick = false;             // short measurements, for the test suite
  // Hidden, for the instruction count under callgrind: only send this many messages of
  // count_size bytes through the one implementation in `impls`, and print nothing.
  std::uint64_t count_messages = 0;
  std::uint32_t count_size = 64;
  // With count_messages: count only the critical path, "down" (node 0's send() until its first
  // transmit) or "up" (node 1's receive() until its delivery).
  std::string count_path;
};

// Declares the subcommand and its options on `app`.
CLI::App* add_bench_command(CLI::App& app, BenchOptions& options);
// Prints the table (and writes the JSON); 0 when every implementation measured delivered
// every message, 1 otherwise, 2 when the run cannot start. `args` is the command line after
// the program's name, printed above the table so that the figures can be reproduced.
int bench_command(const BenchOptions& options, std::span<char* const> args);

} // namespace lamina::tools
