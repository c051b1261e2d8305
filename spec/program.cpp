// Loading a spec program: following imports, indexing declarations by name, then checking.
#include "spec/program.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <system_error>
#include <utility>

#include "spec/checker.hpp"
#include "spec/parser.hpp"

namespace lamina::spec {

namespace {

// One spelling per file, so that a file imported by two paths ("a/../b.ioa", "b.ioa") or in a
// cycle is read once. The file may not exist (load_text's root): then the path as normalised.
std::string file_key(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  if (ec) return std::filesystem::path(path).lexically_normal().string();
  return canonical.string();
}

// Where `import "name"` in a file of the folder `dir` points: beside the file if that exists,
// or else in the first folder of import_path() that holds it, or else beside the file (and
// reading it then says it is missing).
std::filesystem::path resolve(const std::filesystem::path& dir, const std::string& name) {
  const std::filesystem::path beside = (dir / name).lexically_normal();
  std::error_code ec;
  if (std::filesystem::exists(beside, ec) || std::filesystem::path(name).is_absolute())
    return beside;
  for (const std::string& root : import_path()) {
    const std::filesystem::path there = (std::filesystem::path(root) / name).lexically_normal();
    if (std::filesystem::exists(there, ec)) return there;
  }
  return beside;
}

// Parses one file, then the files it imports, depth first, each once.
class Loader {
public:
  Loader(Sources& sources, Diagnostics& diags) : sources_(sources), diags_(diags) {}

  void follow(FileId id) {
    seen_.insert(file_key(sources_.path(id)));
    SpecFile file = parse(sources_, id, diags_);
    std::vector<Import> imports;
    for (const Decl& decl : file.decls) {
      if (const auto* import = std::get_if<Import>(&decl)) imports.push_back(*import);
    }
    program_.files.push_back(std::move(file));

    const std::filesystem::path dir = std::filesystem::path(sources_.path(id)).parent_path();
    for (const Import& import : imports) {
      if (import.path.empty()) continue; // the parser has said what is wrong
      const std::filesystem::path path = resolve(dir, import.path);
      std::error_code ec;
      if (!std::filesystem::is_directory(path, ec)) {
        read(path.string(), import);
        continue;
      }
      // A folder: every spec in it, in name order (a folder of layers, each its two files).
      std::vector<std::string> specs;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec))
        if (entry.path().extension() == ".ioa") specs.push_back(entry.path().string());
      std::sort(specs.begin(), specs.end());
      if (specs.empty())
        diags_.error(import.loc,
                     fmt::format("the imported folder '{}' holds no .ioa file", path.string()));
      for (const std::string& spec : specs) read(spec, import);
    }
  }

  void read(const std::string& path, const Import& import) {
    if (seen_.contains(file_key(path))) return;
    FileId imported = 0;
    std::string error;
    if (!sources_.load(path, imported, error)) {
      diags_.error(import.loc, fmt::format("cannot read imported file '{}': {}", path, error));
      return;
    }
    follow(imported);
  }

  // Indexes and checks what was read. A file with syntax errors lacks the declarations that
  // had them (spec/parser.hpp), and so does a program with a missing import: checking it would
  // bury the real errors under unknown names.
  std::optional<Program> finish(std::size_t errors_before) {
    const bool complete = diags_.error_count() == errors_before;
    program_.index(diags_);
    if (complete) check(program_, diags_);
    if (diags_.error_count() > errors_before) return std::nullopt;
    return std::move(program_);
  }

private:
  Sources& sources_;
  Diagnostics& diags_;
  Program program_;
  std::set<std::string> seen_;
};

} // namespace

std::vector<std::string>& import_path() {
  static std::vector<std::string> folders;
  return folders;
}

std::vector<Invariant*> Program::invariants_of(std::string_view name) const {
  auto it = invariants_.find(name);
  return it == invariants_.end() ? std::vector<Invariant*>{} : it->second;
}

std::vector<std::string> Program::declared_names() const {
  std::vector<std::string> names;
  for (const auto& [name, decl] : automata_) names.push_back(name);
  for (const auto& [name, decl] : layers_) names.push_back(name);
  for (const auto& [name, decl] : stacks_) names.push_back(name);
  for (const auto& [name, decl] : types_) names.push_back(name);
  for (const auto& [name, decl] : oracles_) names.push_back(name);
  for (const auto& [name, decl] : headers_) names.push_back(name);
  return names;
}

void Program::index(Diagnostics& diags) {
  automata_.clear();
  layers_.clear();
  stacks_.clear();
  types_.clear();
  oracles_.clear();
  headers_.clear();
  invariants_.clear();

  // Automata, layers, stacks, types, oracles and top-level headers share one namespace: a
  // component, a stack's layer or a type expression names one of them, and the message for a
  // wrong kind is clearer than a silent pick.
  std::map<std::string, SourceLoc, std::less<>> first;
  auto declare = [&](auto& table, auto& decl) {
    if (decl.name.empty()) return; // the parser has reported it
    auto [it, fresh] = first.emplace(decl.name, decl.loc);
    if (!fresh) {
      diags.error(decl.loc, fmt::format("'{}' is declared twice", decl.name));
      diags.note(it->second, fmt::format("'{}' is first declared here", decl.name));
      return;
    }
    table.emplace(decl.name, &decl);
  };
  for (SpecFile& file : files) {
    for (Decl& decl : file.decls) {
      if (auto* d = std::get_if<Automaton>(&decl)) declare(automata_, *d);
      if (auto* d = std::get_if<Layer>(&decl)) declare(layers_, *d);
      if (auto* d = std::get_if<Stack>(&decl)) declare(stacks_, *d);
      if (auto* d = std::get_if<TypeDecl>(&decl)) declare(types_, *d);
      if (auto* d = std::get_if<OracleDecl>(&decl)) declare(oracles_, *d);
      if (auto* d = std::get_if<Header>(&decl)) declare(headers_, *d);
    }
  }

  // An invariant without `of` belongs to the automaton or layer declared last before it in the
  // same file (stacks and types in between do not count).
  for (SpecFile& file : files) {
    std::string last;
    for (Decl& decl : file.decls) {
      if (const auto* d = std::get_if<Automaton>(&decl)) last = d->name;
      if (const auto* d = std::get_if<Layer>(&decl)) last = d->name;
      auto* invariant = std::get_if<Invariant>(&decl);
      if (invariant == nullptr) continue;
      if (invariant->of.empty()) {
        if (last.empty()) {
          diags.error(invariant->loc, "this invariant follows no automaton or layer: write "
                                      "'invariant of Name:' to say whose it is");
          continue;
        }
        invariant->of = last;
      } else if (automaton(invariant->of) == nullptr && layer(invariant->of) == nullptr) {
        if (stack(invariant->of) != nullptr || type(invariant->of) != nullptr ||
            oracle(invariant->of) != nullptr || header(invariant->of) != nullptr) {
          diags.error(invariant->loc,
                      fmt::format("'{}' is not an automaton or layer; invariants belong to those",
                                  invariant->of));
          continue;
        }
        diags.error(invariant->loc,
                    fmt::format("invariant of unknown automaton or layer '{}'", invariant->of));
        std::vector<std::string> owners;
        for (const auto& [name, d] : automata_) owners.push_back(name);
        for (const auto& [name, d] : layers_) owners.push_back(name);
        if (auto close = closest_name(invariant->of, owners)) {
          diags.note(invariant->loc, fmt::format("did you mean '{}'?", *close));
        }
        continue;
      }
      invariants_[invariant->of].push_back(invariant);
    }
  }
}

std::optional<Program> load(const std::string& path, Sources& sources, Diagnostics& diags) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) // a folder of specs: as if imported
    return load_text((std::filesystem::path(path) / "(folder)").string(), "import \".\"\n", sources,
                     diags);
  const std::size_t errors_before = diags.error_count();
  FileId root = 0;
  std::string error;
  if (!sources.load(path, root, error)) {
    diags.error(SourceLoc{}, fmt::format("cannot read '{}': {}", path, error));
    return std::nullopt;
  }
  Loader loader(sources, diags);
  loader.follow(root);
  return loader.finish(errors_before);
}

std::optional<Program> load_text(std::string path, std::string text, Sources& sources,
                                 Diagnostics& diags) {
  const std::size_t errors_before = diags.error_count();
  const FileId root = sources.add(std::move(path), std::move(text));
  Loader loader(sources, diags);
  loader.follow(root);
  return loader.finish(errors_before);
}

} // namespace lamina::spec
