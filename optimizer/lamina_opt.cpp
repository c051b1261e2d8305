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
#include "spec/mutant_file.hpp"
#include "spec/program.hpp"
#include "spec/source.hpp"

namespace {

// Writes a generated file unless it holds `text` already; false, with a message, if it cannot.
bool write_if_changed(const std::string& path, const std::string& text) {
  std::string error;
  if (lamina::spec::write_if_changed(path, text, error)) return true;
  std::cerr << "lamina-opt: error: " << error << "\n";
  return false;
}

} // namespace

// `text` as a C++ string literal.
std::string cpp_string(std::string_view text) { return fmt::format("{:?}", text); }

// --registry: the fused stack of every stack in `specs` (or those named), each in a header
// beside `output`, and `output` a .cpp that registers them all as "fused"
// (runtime/fused_stacks.hpp). Each mutant applies to the header of its stack and is registered as
// "fused-mutant:NAME".
int registry(const std::vector<std::string>& specs, const std::vector<std::string>& only,
             const std::vector<std::string>& mutant_files, const lamina::opt::Options& base,
             const std::string& output) {
  namespace fs = std::filesystem;
  std::string includes;
  std::string registrations;
  const fs::path out(output);
  // The mutants of generated code (optimizer/mutants/*.mutant, in the format of
  // spec/mutant_file.hpp): text changes to the fused stack named by `stack`.
  static constexpr std::array<lamina::spec::MutantKey, 1> kKeys = {
      {{"stack", "ReliableFifo", true}}};
  lamina::spec::Sources sources;
  lamina::spec::Diagnostics diagnostics(sources);
  std::vector<lamina::spec::MutantFile> mutants;
  for (const std::string& file : mutant_files) {
    lamina::spec::FileId id = 0;
    std::string error;
    if (!sources.load(file, id, error)) {
      diagnostics.error({}, error);
      continue;
    }
    if (auto m = lamina::spec::parse_mutant(sources, id, kKeys, diagnostics))
      mutants.push_back(std::move(*m));
  }
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
    // The spec's name as a C++ identifier, for the namespace of its fused stacks.
    std::string stem = fs::path(spec).stem().string();
    for (char& ch : stem)
      if (std::isalnum(static_cast<unsigned char>(ch)) == 0) ch = '_';
    if (stem.empty() || std::isdigit(static_cast<unsigned char>(stem.front())) != 0)
      stem.insert(0, "_");
    for (const std::string& stack : stacks) {
      if (!only.empty() && std::find(only.begin(), only.end(), stack) == only.end()) continue;
      lamina::opt::Options o = base;
      o.spec = spec;
      o.stack = stack;
      o.name_space = "lamina::fused::" + stem;
      const auto r = lamina::opt::optimize(o);
      if (!r.ok) {
        std::cerr << r.errors;
        return 1;
      }
      const fs::path header =
          out.parent_path() / fmt::format("{}_{}_{}.hpp", out.stem().string(), stem, stack);
      if (!write_if_changed(header.string(), r.generated.code)) return 1;
      includes += fmt::format("#include \"{}\"\n", header.filename().string());
      // What --explain says, for `lamina demo`; without the time taken, which would change the
      // generated file on every build.
      std::string explanation = lamina::opt::explain(r, o);
      explanation.erase(std::min(explanation.size(), explanation.rfind("generated code:")));
      registrations += fmt::format("  lamina::register_fused<{}::{}>(\"fused\", {{}}, {});\n",
                                   o.name_space, stack, cpp_string(explanation));
      for (const lamina::spec::MutantFile& m : mutants) {
        if (m["stack"].text != stack || applied.count(m.name) != 0) continue;
        const auto edits = lamina::spec::locate_changes(
            m, r.generated.code, fmt::format("the fused stack {} that lamina-opt generates", stack),
            diagnostics);
        applied.insert(m.name);
        if (!edits) continue; // reported when every stack is fused
        std::string code = lamina::spec::apply_edits(r.generated.code, *edits);
        const std::string space = "lamina::fused_mutants::" + m.name;
        for (std::size_t p = code.find(o.name_space); p != std::string::npos;
             p = code.find(o.name_space, p))
          code.replace(p, o.name_space.size(), space), p += space.size();
        code.insert(code.find('\n') + 1, fmt::format("// Mutant {}: {}\n", m.name, m.description));
        const fs::path mheader =
            out.parent_path() / fmt::format("{}_mutant_{}.hpp", out.stem().string(), m.name);
        if (!write_if_changed(mheader.string(), code)) return 1;
        includes += fmt::format("#include \"{}\"\n", mheader.filename().string());
        registrations += fmt::format("  lamina::register_fused<{}::{}>(\"fused-mutant:{}\", {});\n",
                                     space, stack, m.name, cpp_string(m.description));
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
  const std::string cpp = fmt::format("// Generated by lamina-opt: the fused stacks, registered "
                                      "as \"fused\" (runtime/fused_stacks.hpp). Do not edit.\n"
                                      "#include \"runtime/fused_stacks.hpp\"\n{}\n"
                                      "namespace {{\n\n[[maybe_unused]] const bool registered = [] "
                                      "{{\n{}  return true;\n}}();\n\n}} // namespace\n",
                                      includes, registrations);
  if (!write_if_changed(output, cpp)) return 1;
  return 0;
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

int main(int argc, char** argv) try {
  CLI::App app{"lamina-opt: fuses the layers of a stack into one bypass per direction, behind one "
               "guard, with one compressed header, falling back to the layered code"};
  lamina::opt::Options o;
  std::vector<std::string> specs;
  std::vector<std::string> stacks;
  std::string registry_out;
  std::vector<std::string> mutant_files;
  std::string output;
  bool show = false;
  std::string pass;
  std::string layer;
  std::string direction = "down";
  bool check = false;
  std::vector<std::string> include_dirs;
  std::string stamp;
  app.add_option("spec", specs, "the spec file that declares the stack (with --registry: several)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--stack", stacks, "the stack to fuse (with --registry: only these)");
  app.add_option("--registry", registry_out,
                 "fuse every stack of the specs: a header each beside OUT.cpp, which registers "
                 "them as the \"fused\" implementation");
  app.add_option("-o,--output", output, "the header to write (the fused stack)");
  app.add_flag("--explain", show, "print what was collapsed and why, the guards, the header bytes");
  bool no_delay = false;
  app.add_flag("--no-delay", no_delay,
               "leave out the delay pass: work the transmit or delivery does not need stays "
               "before it");
  app.add_option("-p", o.build_dir,
                 "a build directory with compile_commands.json (its include flags)");
  app.add_option("--source-dir", o.source_dir,
                 "where components/ and runtime/ are (default: found above the spec)");
  app.add_option("--mutants", mutant_files,
                 "with --registry: mutants of the generated code (*.mutant)")
      ->check(CLI::ExistingFile);
  app.add_option("--layers-dir", o.layer_dirs,
                 "an include directory of layer headers, which stand beside their specs (several "
                 "allowed)");
  app.add_option("--class", o.class_name, "the fused stack's class name (default: the stack's)");
  app.add_option("--print-after", pass,
                 "print one layer's handler after a pass instead: lower, inline, params, fold")
      ->check(CLI::IsMember({"lower", "inline", "params", "fold"}));
  app.add_option("--layer", layer, "with --print-after: the layer");
  app.add_option("--direction", direction, "with --print-after: down or up")
      ->check(CLI::IsMember({"down", "up"}));
  app.add_flag("--check-layers", check,
               "check that the C++ layer beside each spec file (foo.hpp beside foo.ioa) agrees "
               "with the layers the file declares; errors only, exit status 1 on any");
  app.add_option("-I", include_dirs, "with --check-layers: another include root (several allowed)");
  app.add_option("--stamp", stamp, "with --check-layers: a file to write when every layer agrees");
  CLI11_PARSE(app, argc, argv);
  o.delay = !no_delay;
  // `import "components"` finds the standard layers under the include root from a spec anywhere.
  if (!o.source_dir.empty()) lamina::spec::import_path().push_back(o.source_dir);

  if (check) return check_layers(specs, o.source_dir, include_dirs, stamp);

  if (!registry_out.empty()) return registry(specs, stacks, mutant_files, o, registry_out);
  if (specs.size() != 1 || stacks.size() != 1) {
    std::cerr << "lamina-opt: error: give one spec file and one --stack (or --registry)\n";
    return 2;
  }
  o.spec = specs.front();
  o.stack = stacks.front();

  if (!pass.empty()) {
    if (layer.empty()) {
      std::cerr << "lamina-opt: error: --print-after needs --layer\n";
      return 2;
    }
    std::string out;
    const auto r = lamina::opt::print_pass(o, pass, layer, direction, out);
    std::cerr << r.errors;
    if (!r.ok) return 1;
    std::cout << out;
    return 0;
  }
  if (output.empty() && !show) {
    std::cerr << "lamina-opt: error: give -o OUT.hpp, --explain, or both\n";
    return 2;
  }
  const auto r = lamina::opt::optimize(o);
  std::cerr << r.errors;
  if (!r.ok) return 1;
  if (!output.empty() && !write_if_changed(output, r.generated.code)) return 1;
  if (show) std::cout << lamina::opt::explain(r, o);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "lamina-opt: error: " << e.what() << "\n";
  return 1;
}
