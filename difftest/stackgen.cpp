// lamina-stackgen: writes the C++ file that compiles the static composition of the stacks that
// spec files declare and registers each with difftest's static_stacks() as the program starts.
// lamina_add_stack() in cmake/LaminaStacks.cmake runs it at build time.
//
//   lamina-stackgen --source-dir DIR -o OUT.cpp SPEC.ioa... [--stack NAME]...
//
// A spec layer names its C++ layer by convention: layer `LamportClock` is the class
// lamina::LamportClock, declared in components/lamport_clock.hpp (the name in snake_case, under
// DIR), and registered in components/standard_layers.cpp, whose factory reads the parameters
// of the stack string when the stack is built. A stack with a layer that has no such header has
// no static build, and the generator says so at the layer in the stack declaration.
//
// A static stack's type depends only on its layer sequence, so each distinct sequence is
// registered once, whatever the stacks' parameters. The output is sorted, so the same specs
// give the same bytes, and the file is rewritten only when those change: the build system then
// recompiles it only when a stack was added or changed.
#include <CLI/CLI.hpp>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "spec/program.hpp"

namespace {

namespace fs = std::filesystem;
using namespace lamina;

struct Options {
  std::string source_dir;
  std::string output;
  std::vector<std::string> specs;
  std::vector<std::string> stacks; // empty: every stack the specs declare
};

// What the generated file holds.
struct Registrations {
  std::vector<std::string> specs; // as the comment names them, relative to the source dir
  std::set<std::string> headers;  // "components/frag.hpp"
  // By layer sequence, "Top:Frag:Bottom": the layers, and the stacks that have that sequence.
  std::map<std::string, std::vector<std::string>> layers;
  std::map<std::string, std::set<std::string>> stacks;
};

// `path` relative to the source dir, for the comment; as given if it lies elsewhere.
std::string shown_path(const std::string& path, const std::string& source_dir) {
  std::error_code file_error, root_error;
  const fs::path file = fs::weakly_canonical(path, file_error);
  const fs::path root = fs::weakly_canonical(source_dir, root_error);
  const fs::path relative = file.lexically_relative(root);
  if (file_error || root_error || relative.empty() || *relative.begin() == "..") return path;
  return relative.generic_string();
}

// Adds the stacks declared in `path` (those in `wanted`, when it is not empty) to `out`, and
// marks the wanted ones found. Prints the diagnostics and returns false on any error.
bool collect(const std::string& path, const Options& o, const std::set<std::string>& wanted,
             std::set<std::string>& found, Registrations& out) {
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const std::optional<spec::Program> program = spec::load(path, sources, diags);
  if (!program) {
    fmt::print(stderr, "{}", diags.format());
    return false;
  }
  out.specs.push_back(shown_path(path, o.source_dir));

  std::size_t taken = 0;
  for (const spec::Decl& decl : program->files.front().decls) {
    const auto* stack = std::get_if<spec::Stack>(&decl);
    if (stack == nullptr || (!wanted.empty() && !wanted.contains(stack->name))) continue;
    found.insert(stack->name);
    ++taken;
    // The layer names are those of the stack string (spec/stack_string.hpp), which copies them
    // verbatim; read here, they need no parameter values, and they have source locations.
    std::vector<std::string> layers;
    bool complete = true;
    for (const spec::LayerRef& ref : stack->layers) {
      const std::string header = spec::layer_header(ref.layer);
      if (!fs::is_regular_file(fs::path(o.source_dir) / header)) {
        diags.error(ref.loc, fmt::format("layer '{}' has no C++ header {}", ref.layer, header));
        diags.note(ref.loc, fmt::format("a static stack takes layer {0} as the class lamina::{0} "
                                        "from {1}; write it, or leave stack {2} out of "
                                        "lamina_add_stack() (STACK names the stacks to take)",
                                        ref.layer, header, stack->name));
        complete = false;
        continue;
      }
      out.headers.insert(header);
      layers.push_back(ref.layer);
    }
    if (!complete) continue;
    const std::string key = fmt::format("{}", fmt::join(layers, ":"));
    out.layers[key] = layers;
    out.stacks[key].insert(stack->name);
  }
  if (diags.has_errors()) {
    fmt::print(stderr, "{}", diags.format());
    return false;
  }
  if (taken == 0 && wanted.empty()) {
    fmt::print(stderr,
               "lamina-stackgen: error: {} declares no stack: give lamina_add_stack() the specs "
               "that declare the stacks to compile\n",
               path);
    return false;
  }
  return true;
}

std::string render(const Registrations& r) {
  std::string out = fmt::format("// Generated by lamina-stackgen from {}; do not edit.\n"
                                "// Registers the static composition of each stack declared "
                                "there with difftest's\n"
                                "// static_stacks() as the program starts (see "
                                "cmake/LaminaStacks.cmake).\n",
                                fmt::join(r.specs, ", "));
  for (const std::string& header : r.headers) out += fmt::format("#include \"{}\"\n", header);
  out += "#include \"difftest/static_stacks.hpp\"\n"
         "\n"
         "namespace {\n"
         "\n"
         "[[maybe_unused]] const bool registered = [] {\n"
         "  auto& stacks = lamina::difftest::static_stacks();\n";
  for (const auto& [key, layers] : r.layers) {
    std::vector<std::string> types;
    for (const std::string& layer : layers) types.push_back("lamina::" + layer);
    out += fmt::format("  stacks.add<{}>(); // {}\n", fmt::join(types, ", "),
                       fmt::join(r.stacks.at(key), ", "));
  }
  out += "  return true;\n"
         "}();\n"
         "\n"
         "} // namespace\n";
  return out;
}

int generate(const Options& o) {
  const std::set<std::string> wanted(o.stacks.begin(), o.stacks.end());
  std::set<std::string> found;
  Registrations registrations;
  bool ok = true;
  for (const std::string& spec : o.specs) ok = collect(spec, o, wanted, found, registrations) && ok;
  if (!ok) return 1;
  for (const std::string& name : wanted) {
    if (found.contains(name)) continue;
    fmt::print(stderr, "lamina-stackgen: error: no stack named '{}' is declared in {}\n", name,
               fmt::join(o.specs, ", "));
    ok = false;
  }
  if (!ok) return 1;
  std::string error;
  if (spec::write_if_changed(o.output, render(registrations), error)) return 0;
  fmt::print(stderr, "lamina-stackgen: error: {}\n", error);
  return 1;
}

} // namespace

int main(int argc, char** argv) try {
  CLI::App app{"lamina-stackgen: writes the C++ file that compiles and registers the static "
               "composition of the stacks declared in spec files, for difftest"};
  Options o;
  app.add_option("--source-dir", o.source_dir,
                 "the source tree, where components/<layer_name>.hpp are found")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", o.output, "the C++ file to write (left alone if unchanged)")
      ->required();
  app.add_option("specs", o.specs, "spec files (.ioa) declaring the stacks")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--stack", o.stacks,
                 "take only the stack of this name (repeatable); default: every stack declared "
                 "in the spec files themselves, not in the files they import")
      ->allow_extra_args(false);
  CLI11_PARSE(app, argc, argv);
  return generate(o);
} catch (const std::exception& e) {
  fmt::print(stderr, "lamina-stackgen: error: {}\n", e.what());
  return 1;
}
