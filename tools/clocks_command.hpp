// `lamina clocks`: Lamport's physical clocks (services/clocks/physical_clocks.hpp) from the
// command line: one simulated run, or a table over a grid of κ, μ and ε, showing that receipts
// arrive at or before their timestamps only where ε/(1 − κ) > μ.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lamina::tools {

struct ClocksOptions {
  // Empty when not given: one value by default, or with --grid the grid's values.
  std::vector<double> kappa;
  std::vector<double> mu;
  std::vector<double> epsilon;
  std::size_t nodes = 4;
  std::uint64_t seed = 1;
  std::uint64_t messages = 2000;
  double jitter = 0.1;       // ms
  double interval = 0;       // ms; 0: clocks::sync_interval(κ, ε, μ, jitter)
  double segment = 0;        // ms; 0: one rate per clock
  bool free_running = false; // no IR2'
  bool grid = false;
  std::string svg;               // a file to draw the run in, or empty
  std::size_t svg_messages = 12; // messages drawn
  bool json = false;
};

// Adds `clocks` to `app`; returns it.
CLI::App* add_clocks_command(CLI::App& app, ClocksOptions& o);
// Runs it; its exit status: 0, or 1 if a run contradicts Lamport's condition (an anomaly where
// μ ≥ ε/(1 − κ), PC1 and PC2 held: the simulation or its checker would be wrong), 2 for a
// usage error or a file that cannot be written.
int clocks_command(const ClocksOptions& o);

} // namespace lamina::tools
