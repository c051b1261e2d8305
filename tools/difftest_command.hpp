// `lamina difftest`: differential testing of the implementations of a stack (difftest/).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "difftest/network.hpp"

namespace lamina::tools {

struct DifftestOptions {
  std::string file;
  std::string stack;
  std::vector<std::string> impls;  // empty: spec,static,dynamic; with --mutants: static
  std::vector<std::string> params; // "mtu=512", "timeout=5ms"
  std::uint64_t events = 100'000;
  std::uint64_t seed = 1;
  std::uint32_t nodes = 3;
  difftest::NetworkOptions network;
  double delay_ms = 1;
  double jitter_ms = 2;
  std::string replay; // a trace file to run instead of a random trace
  std::string save;   // where to write the trace of a divergence
  bool no_shrink = false;
  double shrink_seconds = 60;
  bool mutants = false;
  bool fused_mutants = false;
  bool list_mutants = false;
};

// Declares the subcommand and its options on `app`.
CLI::App* add_difftest_command(CLI::App& app, DifftestOptions& options);
// 0 when the implementations agree (or every mutant is caught), 1 on a divergence (or a
// surviving mutant), 2 when the run cannot start.
int difftest_command(DifftestOptions options);

} // namespace lamina::tools
