// `lamina ants`: the ANTS active-network node (stacks/ants/ants.ioa, services/ants/) from the
// command line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tools/ants_bench.hpp"

namespace lamina::tools {

struct AntsDemoOptions {
  std::uint32_t nodes = 15;
  std::uint32_t fanout = 2;
  std::vector<std::uint32_t> passive{2, 4, 6};
  std::uint32_t source = 0;
  std::uint32_t messages = 10; // data capsules the source sends
  std::uint64_t seed = 1;
  double loss = 0;
  double delay_ms = 1;
  std::string apps = "stacks/ants/apps"; // looked for in the import roots too
};

struct AntsOptions {
  AntsDemoOptions demo;
  AntsBenchOptions bench;
};

CLI::App* add_ants_command(CLI::App& app, AntsOptions& o);
// `args` is the command line after the program's name, which bench prints above its table.
int ants_command(const CLI::App& ants, const AntsOptions& o, std::span<char* const> args);

} // namespace lamina::tools
