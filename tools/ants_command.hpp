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

struct AntsNodeOptions {
  std::string topology; // the topology file (services/ants/network.hpp's text form)
  std::uint32_t me = 0;
  std::vector<std::string> peers;  // every node's host:port, in node order
  std::uint16_t port_base = 47000; // without --peers: node i at 127.0.0.1:port_base + i
  std::vector<std::string> apps;   // programs this node holds, by name
  std::vector<std::string> sends;  // APP:DST:HEADER:PAYLOAD
  std::uint32_t repeat = 1;        // each send, this many times
  double interval_ms = 10;         // between the sends
  double start_ms = 300;           // before the first send: the other nodes start meanwhile
  std::uint32_t expect = 0;        // end once this many capsules are delivered here (0: run on)
  double for_s = 10;               // end after this long at most
  std::string key;                 // 64 hex digits: the seal key of node.seal / node.open
  std::string folder = "stacks/ants/apps";
};

struct AntsOptions {
  AntsDemoOptions demo;
  AntsBenchOptions bench;
  AntsNodeOptions node;
};

CLI::App* add_ants_command(CLI::App& app, AntsOptions& o);
// `args` is the command line after the program's name, which bench prints above its table.
int ants_command(const CLI::App& ants, const AntsOptions& o, std::span<char* const> args);

} // namespace lamina::tools
