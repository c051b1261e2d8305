// A spec program: a file and every file it imports, parsed, indexed by name and checked. This
// is what the simulator and the `lamina` command run.
//
//   Sources sources;
//   Diagnostics diags(sources);
//   std::optional<Program> program = load("stacks/rpc.ioa", sources, diags);
//   if (!program) fmt::print(stderr, "{}", diags.format());
//   const Stack* rpc = program->stack("Rpc");
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/ast.hpp"
#include "spec/source.hpp"

namespace lamina::spec {

struct Program {
  // Every file, each once, the one loaded first; then its imports, depth first.
  std::vector<SpecFile> files;

  // Declarations by name. Automata, layers, stacks, types, oracles and top-level headers (those
  // owned by no layer) share one namespace. The pointers
  // point into `files`: moving a Program keeps them valid, adding to `files` does not.
  [[nodiscard]] Automaton* automaton(std::string_view name) const { return find(automata_, name); }
  [[nodiscard]] Layer* layer(std::string_view name) const { return find(layers_, name); }
  [[nodiscard]] Stack* stack(std::string_view name) const { return find(stacks_, name); }
  [[nodiscard]] TypeDecl* type(std::string_view name) const { return find(types_, name); }
  [[nodiscard]] OracleDecl* oracle(std::string_view name) const { return find(oracles_, name); }
  // A header declared at the top level of a file, not in a layer.
  [[nodiscard]] Header* header(std::string_view name) const { return find(headers_, name); }
  // The invariants of an automaton or layer, in the order declared. After loading, every
  // Invariant::of names its owner, also where the source left it implicit.
  [[nodiscard]] std::vector<Invariant*> invariants_of(std::string_view name) const;

  // Every declared automaton, layer, stack, type, oracle and top-level header name (for "did you
  // mean" notes).
  [[nodiscard]] std::vector<std::string> declared_names() const;

  // Builds the tables above from `files`, reporting names declared twice (with a note at the
  // first) and invariants whose owner is unknown or missing. load() calls it.
  void index(Diagnostics& diags);

private:
  template <class T>
  using Table = std::map<std::string, T*, std::less<>>;
  template <class T>
  static T* find(const Table<T>& table, std::string_view name) {
    auto it = table.find(name);
    return it == table.end() ? nullptr : it->second;
  }

  Table<Automaton> automata_;
  Table<Layer> layers_;
  Table<Stack> stacks_;
  Table<TypeDecl> types_;
  Table<OracleDecl> oracles_;
  Table<Header> headers_;
  std::map<std::string, std::vector<Invariant*>, std::less<>> invariants_;
};

// The folders where an import that is not found beside the importing file is looked for, in
// order: the tools put there the include root of Lamina (the source tree, or the installed
// include/lamina), so that `import "components"` finds the standard layers from any project.
std::vector<std::string>& import_path();

// Reads `path` and, transitively, the files it imports (`import "x.ioa"` is relative to the
// importing file's directory, or else to a folder of import_path(), and `import "dir"` imports
// every .ioa file in that folder; each file is read once, so import cycles are harmless), parses
// them, indexes them and checks the whole program. Returns nullopt if any error was reported;
// warnings alone do not fail. `path` may be a folder: every .ioa file in it.
std::optional<Program> load(const std::string& path, Sources& sources, Diagnostics& diags);
// The same, for a root file given as text (tests); its imports are read from disk relative to
// the directory of `path`.
std::optional<Program> load_text(std::string path, std::string text, Sources& sources,
                                 Diagnostics& diags);

} // namespace lamina::spec
