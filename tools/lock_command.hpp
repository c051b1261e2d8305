// `lamina lock`: the ordered lock service (stacks/lock/lock.ioa, services/lock/) from the
// command line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tools/lock_bench.hpp"

namespace lamina::tools {

// What demo and check share: the algorithms, the stacks' file and build, and the network.
struct LockRunOptions {
  std::string file = "stacks/lock/lock.ioa"; // looked for in the import roots too
  std::string algorithm = "both";            // lamport, ricart-agrawala or both
  std::string impl = "dynamic";              // make_implementation's kind
  std::uint32_t entries = 3;                 // acquires per member
  double loss = 0.1;
  double duplicate = 0.05;
  double delay_ms = 0.2;  // one way, at least
  double jitter_ms = 0.3; // more, drawn uniformly: reorders packets
};

struct LockDemoOptions {
  LockRunOptions run;
  std::uint32_t nodes = 5;
  std::uint64_t seed = 1;
  std::string svg; // draw each run here (with the algorithm's name added when there are two)
};

struct LockCheckOptions {
  LockRunOptions run;
  std::vector<std::uint32_t> nodes{2, 3, 5, 8};
  std::uint64_t seeds = 100;
  std::uint64_t first_seed = 1;
  double patience_s = 10; // an acquire's deadline, from its asking
  double tries = 0;       // the share of asks made with try_acquire
  unsigned jobs = 2;
};

struct LockOptions {
  LockDemoOptions demo;
  LockCheckOptions check;
  LockUdpOptions udp; // node and bench
};

CLI::App* add_lock_command(CLI::App& app, LockOptions& o);
// `args` is the command line after the program's name, which bench prints above its table.
int lock_command(const CLI::App& lock, const LockOptions& o, std::span<char* const> args);

} // namespace lamina::tools
