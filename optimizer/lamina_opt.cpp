// lamina-opt: the source-to-source optimiser. Reads a stack declaration and the C++ sources of
// its layers through Clang's AST and writes a header defining the fused stack (README.md).
//
//   lamina-opt FILE.ioa --stack NAME -o OUT.hpp [--explain] [-p BUILD_DIR]
//   lamina-opt --check-layers [--source-dir DIR] [-I DIR]... [--stamp FILE] SPEC.ioa...
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>

#include "optimizer/check_layers.hpp"
#include "optimizer/optimize.hpp"
#include "optimizer/svg.hpp"
#include "spec/mutant_file.hpp"
#include "spec/program.hpp"
#include "spec/source.hpp"

namespace {

// Writes a generated file unless it holds `text` already; false, with a message, if it cannot.
// `wrote`, if given, is set when the file was written.
bool write_if_changed(const std::string& path, const std::string& text, bool* wrote = nullptr) {
  std::string error;
  if (lamina::spec::write_if_changed(path, text, error, wrote)) return true;
  std::cerr << "lamina-opt: error: " << error << "\n";
  return false;
}

} // namespace

// `text` as a C++ string literal.
std::string cpp_string(std::string_view text) { return fmt::format("{:?}", text); }

// The mutants of generated code (optimizer/mutants/*.mutant, in the format of
// spec/mutant_file.hpp): text changes to the fused stack named by `stack`.
std::vector<lamina::spec::MutantFile> read_mutants(const std::vector<std::string>& files,
                                                   lamina::spec::Sources& sources,
                                                   lamina::spec::Diagnostics& diagnostics) {
  static constexpr std::array<lamina::spec::MutantKey, 1> kKeys = {
      {{"stack", "ReliableFifo", true}}};
  std::vector<lamina::spec::MutantFile> mutants;
  for (const std::string& file : files) {
    lamina::spec::FileId id = 0;
    std::string error;
    if (!sources.load(file, id, error)) {
      diagnostics.error({}, error);
      continue;
    }
    if (auto m = lamina::spec::parse_mutant(sources, id, kKeys, diagnostics))
      mutants.push_back(std::move(*m));
  }
  return mutants;
}

// A spec's name as a C++ identifier, for the namespace of its fused stacks.
std::string namespace_stem(const std::string& spec) {
  std::string stem = std::filesystem::path(spec).stem().string();
  for (char& ch : stem)
    if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
  if (stem.empty() || std::isdigit(static_cast<unsigned char>(stem.front())) != 0)
    stem.insert(0, "_");
  return stem;
}

// What --registry writes: the headers beside `out`, and the .cpp's includes and registrations.
struct Registry {
  std::filesystem::path out;
  std::string includes;
  std::string registrations;
  bool headers_changed = false; // a header beside `out` was written

  [[nodiscard]] std::filesystem::path beside(const std::string& name) const {
    return out.parent_path() / fmt::format("{}_{}.hpp", out.stem().string(), name);
  }

  // The fused stack, registered as "fused" with what --explain says (for `lamina demo`; without
  // the time taken, which would change the generated file on every build).
  bool add(const lamina::opt::Options& o, const lamina::opt::Result& r, const std::string& stem) {
    const std::filesystem::path header = beside(fmt::format("{}_{}", stem, o.stack));
    if (!write_if_changed(header.string(), r.generated.code, &headers_changed)) return false;
    includes += fmt::format("#include \"{}\"\n", header.filename().string());
    std::string explanation = lamina::opt::explain(r, o);
    explanation.erase(std::min(explanation.size(), explanation.rfind("generated code:")));
    registrations += fmt::format("  lamina::register_fused<{}::{}>(\"fused\", {{}}, {});\n",
                                 o.name_space, o.stack, cpp_string(explanation));
    return true;
  }

  // Mutant `m` of the fused stack, registered as "fused-mutant:NAME"; true if its changes apply
  // (otherwise `diagnostics` says why).
  bool add_mutant(const lamina::spec::MutantFile& m, const lamina::opt::Options& o,
                  const lamina::opt::Result& r, lamina::spec::Diagnostics& diagnostics) {
    const auto edits = lamina::spec::locate_changes(
        m, r.generated.code, fmt::format("the fused stack {} that lamina-opt generates", o.stack),
        diagnostics);
    if (!edits) return true; // reported when every stack is fused
    std::string code = lamina::spec::apply_edits(r.generated.code, *edits);
    const std::string space = "lamina::fused_mutants::" + m.name;
    for (std::size_t p = code.find(o.name_space); p != std::string::npos;
         p = code.find(o.name_space, p))
      code.replace(p, o.name_space.size(), space), p += space.size();
    code.insert(code.find('\n') + 1, fmt::format("// Mutant {}: {}\n", m.name, m.description));
    const std::filesystem::path header = beside("mutant_" + m.name);
    if (!write_if_changed(header.string(), code, &headers_changed)) return false;
    includes += fmt::format("#include \"{}\"\n", header.filename().string());
    registrations += fmt::format("  lamina::register_fused<{}::{}>(\"fused-mutant:{}\", {});\n",
                                 space, o.stack, m.name, cpp_string(m.description));
    return true;
  }

  [[nodiscard]] std::string cpp() const {
    return fmt::format("// Generated by lamina-opt: the fused stacks, registered "
                       "as \"fused\" (runtime/fused_stacks.hpp). Do not edit.\n"
                       "#include \"runtime/fused_stacks.hpp\"\n{}\n"
                       "namespace {{\n\n[[maybe_unused]] const bool registered = [] "
                       "{{\n{}  return true;\n}}();\n\n}} // namespace\n",
                       includes, registrations);
  }
};

// --registry: the fused stack of every stack in `specs` (or those named), each in a header
// beside `output`, and `output` a .cpp that registers them all as "fused"
// (runtime/fused_stacks.hpp). Each mutant applies to the header of its stack and is registered as
// "fused-mutant:NAME".
int registry(const std::vector<std::string>& specs, const std::vector<std::string>& only,
             const std::vector<std::string>& mutant_files, const lamina::opt::Options& base,
             const std::string& output) {
  Registry reg{std::filesystem::path(output), {}, {}};
  lamina::spec::Sources sources;
  lamina::spec::Diagnostics diagnostics(sources);
  const std::vector<lamina::spec::MutantFile> mutants =
      read_mutants(mutant_files, sources, diagnostics);
  if (diagnostics.has_errors()) {
    std::cerr << diagnostics.format();
    return 1;
  }
  std::set<std::string> applied;
  for (const std::string& spec : specs) {
    std::string errors;
    const auto stacks = lamina::opt::stacks_of(spec, errors);
    if (!errors.empty()) {
      std::cerr << errors;
      return 1;
    }
    const std::string stem = namespace_stem(spec);
    for (const std::string& stack : stacks) {
      if (!only.empty() && std::find(only.begin(), only.end(), stack) == only.end()) continue;
      lamina::opt::Options o = base;
      o.spec = spec;
      o.stack = stack;
      o.name_space = "lamina::fused::" + stem;
      o.every_layer = true;
      const auto r = lamina::opt::optimize(o);
      if (!r.ok) {
        std::cerr << r.errors;
        return 1;
      }
      if (!reg.add(o, r, stem)) return 1;
      for (const lamina::spec::MutantFile& m : mutants) {
        if (m["stack"].text != stack || applied.count(m.name) != 0) continue;
        applied.insert(m.name);
        if (!reg.add_mutant(m, o, r, diagnostics)) return 1;
      }
    }
  }
  for (const lamina::spec::MutantFile& m : mutants)
    if (applied.count(m.name) == 0)
      diagnostics.error(m["stack"].at,
                        fmt::format("no stack {} among those fused", m["stack"].text));
  if (diagnostics.has_errors()) {
    std::cerr << diagnostics.format();
    return 1;
  }
  std::string error;
  if (lamina::spec::write_index(output, reg.cpp(), reg.headers_changed, error)) return 0;
  std::cerr << "lamina-opt: error: " << error << "\n";
  return 1;
}

// --check-layers: every layer of `specs` against its C++ (check_layers.hpp); on success, the
// stamp (if any) is written anew, so that its time is the time of the check.
int check_layers(const std::vector<std::string>& specs, const std::string& source_dir,
                 const std::vector<std::string>& include_dirs, const std::string& stamp) {
  const auto r = lamina::opt::check_layers({specs, source_dir, include_dirs});
  std::cerr << r.errors;
  if (!r.ok) return 1;
  if (stamp.empty()) return 0;
  std::ofstream out(stamp, std::ios::trunc);
  out << "lamina-opt --check-layers: the layers agree with their specs\n";
  if (!out.flush()) {
    std::cerr << "lamina-opt: error: cannot write " << stamp << "\n";
    return 1;
  }
  return 0;
}

// What the command line asks.
struct CommandLine {
  lamina::opt::Options o;
  std::vector<std::string> specs;
  std::vector<std::string> stacks;
  std::string registry_out;
  std::vector<std::string> mutant_files;
  std::string output;
  std::string svg;
  bool show = false;
  bool no_delay = false;
  bool whole_fields = false;
  std::string pass;
  std::string layer;
  std::string direction = "down";
  bool check = false;
  std::vector<std::string> include_dirs;
  std::string stamp;
};

void declare(CLI::App& app, CommandLine& c) {
  app.add_option("spec", c.specs,
                 "the spec file that declares the stack (with --registry: several)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--stack", c.stacks, "the stack to fuse (with --registry: only these)");
  app.add_option("--registry", c.registry_out,
                 "fuse every stack of the specs: a header each beside OUT.cpp, which registers "
                 "them as the \"fused\" implementation");
  app.add_option("-o,--output", c.output, "the header to write (the fused stack)");
  app.add_flag("--explain", c.show,
               "print what was collapsed and why, the guards, the header bytes");
  app.add_option("--svg", c.svg,
                 "draw the stack, each bypass with its guard terms at their layers, and the "
                 "header layered and compressed, as an SVG file");
  app.add_flag("--no-delay", c.no_delay,
               "leave out the delay pass: work the transmit or delivery does not need stays "
               "before it");
  app.add_flag("--whole-fields", c.whole_fields,
               "send every field of the compressed header whole: counters are not varints (fewer "
               "instructions, more header bytes)");
  app.add_option("-p", c.o.build_dir,
                 "a build directory with compile_commands.json (its include flags)");
  app.add_option("--source-dir", c.o.source_dir,
                 "where components/ and runtime/ are (default: found above the spec)");
  app.add_option("--mutants", c.mutant_files,
                 "with --registry: mutants of the generated code (*.mutant)")
      ->check(CLI::ExistingFile);
  app.add_option("--layers-dir", c.o.layer_dirs,
                 "an include directory of layer headers, which stand beside their specs (several "
                 "allowed)");
  app.add_option("--class", c.o.class_name, "the fused stack's class name (default: the stack's)");
  app.add_option("--print-after", c.pass,
                 "print one layer's handler after a pass instead: lower, inline, params, fold")
      ->check(CLI::IsMember({"lower", "inline", "params", "fold"}));
  app.add_option("--layer", c.layer, "with --print-after: the layer");
  app.add_option("--direction", c.direction, "with --print-after: down or up")
      ->check(CLI::IsMember({"down", "up"}));
  app.add_flag("--check-layers", c.check,
               "check that the C++ layer beside each spec file (foo.hpp beside foo.ioa) agrees "
               "with the layers the file declares; errors only, exit status 1 on any");
  app.add_option("-I", c.include_dirs,
                 "with --check-layers: another include root (several allowed)");
  app.add_option("--stamp", c.stamp,
                 "with --check-layers: a file to write when every layer agrees");
}

// One stack: its fused header and --explain, or one pass's output (--print-after).
int one_stack(CommandLine& c) {
  if (c.specs.size() != 1 || c.stacks.size() != 1) {
    std::cerr << "lamina-opt: error: give one spec file and one --stack (or --registry)\n";
    return 2;
  }
  c.o.spec = c.specs.front();
  c.o.stack = c.stacks.front();
  if (!c.pass.empty()) {
    if (c.layer.empty()) {
      std::cerr << "lamina-opt: error: --print-after needs --layer\n";
      return 2;
    }
    std::string out;
    const auto r = lamina::opt::print_pass(c.o, c.pass, c.layer, c.direction, out);
    std::cerr << r.errors;
    if (!r.ok) return 1;
    std::cout << out;
    return 0;
  }
  if (c.output.empty() && !c.show && c.svg.empty()) {
    std::cerr << "lamina-opt: error: give -o OUT.hpp, --explain or --svg OUT.svg (or several)\n";
    return 2;
  }
  const auto r = lamina::opt::optimize(c.o);
  std::cerr << r.errors;
  if (!r.ok) return 1;
  if (!c.output.empty() && !write_if_changed(c.output, r.generated.code)) return 1;
  if (!c.svg.empty() &&
      !write_if_changed(c.svg,
                        lamina::opt::stack_svg(r.generated.explain,
                                               fmt::format("stack {} of {}", c.o.stack, c.o.spec),
                                               r.stack_string)))
    return 1;
  if (c.show) std::cout << lamina::opt::explain(r, c.o);
  return 0;
}

int main(int argc, char** argv) try {
  CLI::App app{"lamina-opt: fuses the layers of a stack into one bypass per direction, behind one "
               "guard, with one compressed header, falling back to the layered code"};
  CommandLine c;
  declare(app, c);
  CLI11_PARSE(app, argc, argv);
  c.o.delay = !c.no_delay;
  c.o.varints = !c.whole_fields;
  // `import "components"` finds the standard layers under the include root from a spec anywhere.
  if (!c.o.source_dir.empty()) lamina::spec::import_path().push_back(c.o.source_dir);
  if (c.check) return check_layers(c.specs, c.o.source_dir, c.include_dirs, c.stamp);
  if (!c.registry_out.empty())
    return registry(c.specs, c.stacks, c.mutant_files, c.o, c.registry_out);
  return one_stack(c);
} catch (const std::exception& e) {
  std::cerr << "lamina-opt: error: " << e.what() << "\n";
  return 1;
}
