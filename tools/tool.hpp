// What makes a `lamina` program of a project: which spec folders its spec imports are looked
// for in, and which stacks `demo`, `node` and `netbench` take by default. The repository's `lamina`
// and the program a project makes with lamina_add_tool() (cmake/LaminaStacks.cmake) are the same
// command line (the library lamina_cli) linked with different layers and stacks; their main
// functions, tools/lamina_main.cpp and tools/bench_main.cpp, are compiled for each with the
// settings below as macros.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "spec/program.hpp"

namespace lamina::tools {

struct ToolConfig {
  // Folders in which an import not found beside the importing spec is looked for
  // (spec::import_path()): Lamina's include root, where components/ holds the standard layers.
  std::vector<std::string> import_roots;
  // The spec file of the stack that `demo` takes by default, and that stack's name. A relative
  // path is looked for in the import roots.
  std::string demo_spec;
  std::string demo_stack;
  // The stack of demo_spec that `node` and `netbench` take by default, on a real network.
  std::string wire_stack;
};

// Puts the import roots on spec::import_path(): first the include root of an installed Lamina
// beside this program (<prefix>/bin/../include/lamina), if there is one, then `config`'s.
inline void use_import_roots(const ToolConfig& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path installed = self.parent_path().parent_path() / "include" / "lamina";
  if (!ec && fs::is_directory(installed / "components", ec))
    spec::import_path().push_back(installed.string());
  for (const std::string& root : config.import_roots) spec::import_path().push_back(root);
}

// A spec file as a path that exists, if it does: itself, or under an import root.
inline std::string spec_path(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(file).is_absolute() || fs::exists(file, ec)) return file;
  for (const std::string& root : spec::import_path())
    if (fs::exists(fs::path(root) / file, ec)) return (fs::path(root) / file).string();
  return file;
}

// The `lamina` command line (tools/lamina.cpp): its exit status. `lamina bench` runs the
// program beside this one whose name is this one's and "-bench" (lamina-bench).
int lamina_main(int argc, char** argv, const ToolConfig& config);

} // namespace lamina::tools
