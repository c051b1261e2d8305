// `lamina ants bench`: what an ANTS node costs. One node, in this process, takes capsules as
// fast as one core runs it: passive forwarding, and active forwarding with cached trivial Lua
// code, built statically, dynamically and fused; the same two paths on a UDP socket
// (ants_bench_socket.hpp); the node with each class of attack mixed into an honest flow; and,
// on SimNet, the first capsule's wait at each hop for its code against a cached capsule's.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace lamina::tools {

struct AntsBenchOptions {
  std::uint64_t capsules = 200'000; // a round, per row
  std::uint32_t rounds = 5;         // the median is reported
  std::string apps = "stacks/ants/apps";
  std::string json; // also write the table here
  // The hidden mode that the instruction counts run under callgrind: `count` capsules through
  // the row `count_row` ("passive", "reference" or "lua") of the build `count_impl`, and exit.
  std::string count_row;
  std::string count_impl;
  std::uint64_t count = 0;
};

// The Lua code of the application `name`: `folder`/`name`.lua, `folder` looked for in the import
// roots too. Throws std::runtime_error naming the file if it cannot be read.
std::string read_ants_app(const std::string& folder, const std::string& name);

// `args` is the command line after the program's name, printed above the table.
int ants_bench(const AntsBenchOptions& o, std::span<char* const> args);

} // namespace lamina::tools
