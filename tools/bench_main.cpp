// lamina-bench: `lamina bench`, in a program of its own, because it counts every heap allocation
// by replacing the global operator new (bench_command.cpp), which no other subcommand should
// pay for. `lamina bench ARGS` runs `lamina-bench bench ARGS` from beside itself. A project's
// `lamina` program (lamina_add_tool(), cmake/LaminaStacks.cmake) has its own, compiled from this
// file with its settings and linked with its stacks.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "tools/bench_command.hpp"
#include "tools/tool.hpp"

#ifndef LAMINA_IMPORT_ROOT
#error "lamina_add_tool() defines LAMINA_IMPORT_ROOT"
#endif

int main(int argc, char** argv) try {
  CLI::App app{"lamina-bench: the implementations of a stack side by side (run as lamina bench)"};
  app.require_subcommand(1);
  lamina::tools::use_import_roots({{LAMINA_IMPORT_ROOT}, {}, {}, {}});
  lamina::tools::BenchOptions options;
  lamina::tools::add_bench_command(app, options);
  CLI11_PARSE(app, argc, argv);
  return lamina::tools::bench_command(options, {argv + 1, static_cast<std::size_t>(argc - 1)});
} catch (const std::exception& e) {
  fmt::print(stderr, "lamina: error: {}\n", e.what());
  return 2;
}
