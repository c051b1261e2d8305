// lamina-mutate: writes the mutants of the layers (difftest/mutants.hpp) at build time.
//
// A mutant is one file, difftest/mutants/<name>.mutant, that changes a few lines of a layer, in
// the format of spec/mutant_file.hpp. Its head has `layer <Class>`, the layer as
// BOOST_HANA_ADAPT_STRUCT(lamina::<Class>, ...) names it, and `file <path>`, its header, relative
// to the source directory:
//
//   # Seqno numbers the first message to each peer 1 instead of 0.
//   layer Seqno
//   file components/seqno.hpp
//   from
//       ev.msg.push(Header{next_out[ev.peer]++});
//   to
//       ev.msg.push(Header{++next_out[ev.peer]});
//
// What is written, into --output-dir (each file only when its text changed, so that a mutant
// left alone is not compiled again):
//   mutants/<name>.hpp  the layer's header with the changes made, its `namespace lamina {` turned
//                       into `namespace lamina::mutants::<name> {` and its
//                       BOOST_HANA_ADAPT_STRUCT(lamina::<Class>, ...) into
//                       BOOST_HANA_ADAPT_STRUCT(lamina::mutants::<name>::<Class>, ...). The
//                       #includes stay outside the namespace. The structs nested in the layer that
//                       Hana adapts (Frag::Partial, Retransmit::Unacked) are not copied: the mutant
//                       names the correct layer's, so that its fields have the same types as the
//                       correct layer's and difftest compares the two with ==; so are the enums
//                       nested in it (Rpc::Kind, LamportMutex::Phase).
//   mutants_<k>.cpp     for k below --shards: add_mutants_<k>(), which makes some of the
//                       mutants, so that the build compiles them side by side (shard()); each
//                       file is given a new time stamp when a header it includes was written.
//   mutants.cpp         mutants() and find_mutant(): every Mutant, sorted by name.
//
// The rewriting is textual: lamina-mutate finds lines and the braces of nested structs, and
// parses no C++. Every error (a malformed .mutant file, or a `from` text that the layer's source
// no longer has) is printed as `file:line:column: error: message`, and then the exit status is 1
// and nothing is written.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "spec/mutant_file.hpp"
#include "spec/source.hpp"

namespace fs = std::filesystem;
namespace spec = lamina::spec;

namespace {

// An edit of a layer's header, and what it is, for error messages.
struct Edit : spec::TextEdit {
  std::string what;
};

// Positions of every occurrence of `needle` in `hay`, overlapping ones included.
std::vector<std::size_t> occurrences(std::string_view hay, std::string_view needle) {
  std::vector<std::size_t> out;
  for (std::size_t pos = hay.find(needle); pos != std::string_view::npos;
       pos = hay.find(needle, pos + 1))
    out.push_back(pos);
  return out;
}

std::size_t line_end(std::string_view text, std::size_t pos) {
  const std::size_t nl = text.find('\n', pos);
  return nl == std::string_view::npos ? text.size() : nl + 1;
}

std::string_view trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

// The positions of the lines of `source` whose text, trimmed, is `line`.
std::vector<std::size_t> lines_equal_to(std::string_view source, std::string_view line) {
  std::vector<std::size_t> out;
  for (std::size_t pos = 0; pos < source.size(); pos = line_end(source, pos)) {
    const std::size_t end = source.find('\n', pos);
    if (trim(source.substr(pos, end == std::string_view::npos ? end : end - pos)) == line)
      out.push_back(pos);
  }
  return out;
}

// The end of the brace-enclosed body that opens at source[open] == '{': the position after its
// closing '}'. Skips // comments and character and string literals, enough for a struct's
// members; npos if the braces do not balance.
std::size_t matching_brace(std::string_view source, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
      i = line_end(source, i) - 1;
    } else if (c == '"' || c == '\'') {
      for (++i; i < source.size() && source[i] != c; ++i)
        if (source[i] == '\\') ++i;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// A BOOST_HANA_ADAPT_STRUCT(lamina::<qualified>, ...) statement of a layer's header.
struct Adaptation {
  std::size_t pos = 0;             // of "BOOST_HANA_ADAPT_STRUCT("
  std::size_t name_pos = 0;        // of "lamina::"
  std::size_t end = 0;             // after its ';' and line break
  std::vector<std::string> scopes; // {"Frag", "Partial"} for lamina::Frag::Partial
};

std::vector<Adaptation> adaptations(std::string_view source) {
  constexpr std::string_view kMacro = "BOOST_HANA_ADAPT_STRUCT(lamina::";
  std::vector<Adaptation> out;
  for (std::size_t pos : occurrences(source, kMacro)) {
    Adaptation a;
    a.pos = pos;
    a.name_pos = pos + std::string_view("BOOST_HANA_ADAPT_STRUCT(").size();
    std::size_t i = pos + kMacro.size();
    std::string name;
    while (i < source.size() && (std::isalnum(static_cast<unsigned char>(source[i])) != 0 ||
                                 source[i] == '_' || source[i] == ':'))
      name += source[i++];
    for (std::size_t from = 0; from <= name.size();) {
      const std::size_t sep = name.find("::", from);
      a.scopes.push_back(name.substr(from, sep == std::string::npos ? sep : sep - from));
      if (sep == std::string::npos) break;
      from = sep + 2;
    }
    const std::size_t semicolon = source.find(';', i);
    a.end = line_end(source, semicolon == std::string_view::npos ? source.size() : semicolon);
    out.push_back(std::move(a));
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  return fmt::format("{}", fmt::join(scopes, "::"));
}

// The header of mutant `m`: the layer's header (`header` in `sources`) with the changes made and
// the layer moved into namespace lamina::mutants::<name>; nullopt after an error.
std::optional<std::string> mutate_header(const spec::MutantFile& m, spec::FileId header,
                                         const spec::Sources& sources,
                                         spec::Diagnostics& diagnostics) {
  const std::size_t errors_before = diagnostics.error_count();
  const std::string_view source = sources.text(header);
  const std::string& layer = m["layer"].text;
  const std::string& file = m["file"].text;
  // The place of source[pos] (the header's top, for what is about the whole header).
  const auto at = [&](std::size_t pos) {
    const auto line =
        std::count(source.begin(), source.begin() + std::min(pos, source.size()), '\n');
    return spec::SourceLoc{header, static_cast<std::uint32_t>(line) + 1, 1};
  };
  const std::string ns = "lamina::mutants::" + m.name;
  std::vector<Edit> edits;
  if (auto changes = spec::locate_changes(m, source, file, diagnostics))
    for (spec::TextEdit& c : *changes) {
      std::string what = fmt::format("the change at line {}", c.change->at.line);
      edits.push_back({std::move(c), std::move(what)});
    }

  // The layer's namespace becomes the mutant's; the #includes before it stay outside.
  const auto namespace_line = [&](std::string_view line, std::string replacement) {
    const std::vector<std::size_t> found = lines_equal_to(source, line);
    if (found.size() != 1) {
      diagnostics.error(at(found.size() > 1 ? found[1] : 0),
                        fmt::format("lamina-mutate needs exactly one line '{}' to rewrite for "
                                    "mutant {} (found {})",
                                    line, m.name, found.size()));
      return;
    }
    edits.push_back(
        {{found[0], line_end(source, found[0]) - found[0], std::move(replacement) + '\n'},
         fmt::format("the line '{}', which lamina-mutate rewrites", line)});
  };
  namespace_line("namespace lamina {", "namespace " + ns + " {");
  namespace_line("} // namespace lamina", "} // namespace " + ns);

  bool layer_found = false;
  bool shares_structs = false;
  for (const Adaptation& a : adaptations(source)) {
    const std::string qualified = join_scopes(a.scopes);
    if (a.scopes.size() == 1) {
      // The layer itself (or another top-level struct of its header): adapted in its new home.
      layer_found = layer_found || a.scopes[0] == layer;
      edits.push_back(
          {{a.name_pos, std::string_view("lamina::").size(), ns + "::"},
           fmt::format("BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...), which lamina-mutate rewrites",
                       qualified)});
      continue;
    }
    // A nested struct: the mutant names the correct layer's, which is adapted already.
    const std::string& nested = a.scopes.back();
    std::vector<std::size_t> found = lines_equal_to(source, "struct " + nested + " {");
    for (std::size_t pos : lines_equal_to(source, "class " + nested + " {")) found.push_back(pos);
    const std::size_t open =
        found.size() == 1 ? source.find('{', found[0]) : std::string_view::npos;
    const std::size_t close = open == std::string_view::npos ? open : matching_brace(source, open);
    if (close == std::string_view::npos || close >= source.size() || source[close] != ';') {
      diagnostics.error(
          at(a.pos), fmt::format("lamina-mutate needs the nested struct {} as one 'struct {} "
                                 "{{' line and a body closed by '}};', to share it with mutant {}",
                                 qualified, nested, m.name));
      continue;
    }
    const std::string_view indent =
        source.substr(found[0], source.find_first_not_of(" \t", found[0]) - found[0]);
    edits.push_back({{found[0], line_end(source, close) - found[0],
                      fmt::format("{}using {} = ::lamina::{}; // the correct layer's\n", indent,
                                  nested, qualified)},
                     fmt::format("struct {}, which mutants share with the correct layer "
                                 "(mutate the layer's code instead)",
                                 qualified)});
    edits.push_back({{a.pos, a.end - a.pos, ""},
                     fmt::format("BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...), which lamina-mutate "
                                 "leaves to the correct layer",
                                 qualified)});
    shares_structs = true;
  }
  // The enums nested in the layer (indented: the class's, not the namespace's) are shared the
  // same way, so that a state field of an enum type has the correct layer's type.
  for (std::size_t pos = 0; pos < source.size(); pos = line_end(source, pos)) {
    const std::size_t text = source.find_first_not_of(" \t", pos);
    constexpr std::string_view kEnum = "enum class ";
    if (text == pos || text == std::string_view::npos || source.substr(text, kEnum.size()) != kEnum)
      continue;
    const std::size_t name = text + kEnum.size();
    const std::size_t name_end = source.find_first_of(" :{", name);
    const std::size_t open = source.find('{', name);
    const std::size_t close = open == std::string_view::npos ? open : matching_brace(source, open);
    if (close == std::string_view::npos || close >= source.size() || source[close] != ';') {
      diagnostics.error(at(text), fmt::format("lamina-mutate needs a nested enum's body closed by "
                                              "'}};', to share it with mutant {}",
                                              m.name));
      continue;
    }
    const std::string_view enum_name = source.substr(name, name_end - name);
    edits.push_back({{pos, line_end(source, close) - pos,
                      fmt::format("{}using {} = ::lamina::{}::{}; // the correct layer's\n",
                                  source.substr(pos, text - pos), enum_name, layer, enum_name)},
                     fmt::format("enum {}::{}, which mutants share with the correct layer "
                                 "(mutate the layer's code instead)",
                                 layer, enum_name)});
    shares_structs = true;
  }
  if (!layer_found)
    diagnostics.error(m["layer"].at,
                      fmt::format("{} has no layer {}: no BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...)",
                                  file, layer, layer));
  if (shares_structs) {
    // The nested structs come from the correct layer's header.
    const std::vector<std::size_t> found = lines_equal_to(source, "namespace lamina {");
    if (found.size() == 1)
      edits.push_back({{found[0], 0,
                        fmt::format("#include \"{}\" // the correct layer, for its nested "
                                    "structs and enums\n\n",
                                    file)},
                       "the #include of the correct layer"});
  }
  if (diagnostics.error_count() != errors_before) return std::nullopt;

  // Insertions (length 0) go before a replacement at the same place.
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return a.pos != b.pos ? a.pos < b.pos : a.length < b.length;
  });
  const Edit* reach = edits.empty() ? nullptr : &edits[0]; // the edit that ends farthest on
  for (std::size_t i = 1; i < edits.size(); ++i) {
    const Edit& a = *reach;
    const Edit& b = edits[i];
    if (b.pos + b.length > a.pos + a.length) reach = &b;
    if (a.pos + a.length <= b.pos) continue;
    if (a.change == nullptr && b.change == nullptr) {
      diagnostics.error(at(b.pos), fmt::format("lamina-mutate cannot rewrite it: {} overlaps {}",
                                               a.what, b.what));
      continue;
    }
    const Edit& change = a.change != nullptr ? a : b;
    const Edit& other = a.change != nullptr ? b : a;
    diagnostics.error(change.change->at,
                      fmt::format("the text after 'from' overlaps {}", other.what));
  }
  if (diagnostics.error_count() != errors_before) return std::nullopt;

  return fmt::format("// Generated by lamina-mutate from {} and {}: do not edit.\n"
                     "// Mutant {} of {}: {}\n",
                     file, sources.path(m.file), m.name, layer, m.description) +
         spec::apply_edits(source, {edits.begin(), edits.end()});
}

// The mutants in `shards` groups that take about as long to compile, so that the build makes
// them side by side. A mutant's cost is taken to be the length of its header (`headers`, by
// name): it compiles a copy of its layer, and Arq's is nine times Seqno's. The dearest first,
// each into the group that costs least so far. Each group sorted by name.
std::vector<std::vector<const spec::MutantFile*>>
shard(const std::vector<spec::MutantFile>& all, const std::map<std::string, std::string>& headers,
      std::size_t shards) {
  std::vector<const spec::MutantFile*> order;
  for (const spec::MutantFile& m : all) order.push_back(&m);
  const auto cost = [&](const spec::MutantFile* m) { return headers.at(m->name).size(); };
  std::stable_sort(order.begin(), order.end(),
                   [&](const auto* a, const auto* b) { return cost(a) > cost(b); });
  std::vector<std::vector<const spec::MutantFile*>> out(shards);
  std::vector<std::size_t> total(shards, 0);
  for (const spec::MutantFile* m : order) {
    const auto k =
        static_cast<std::size_t>(std::min_element(total.begin(), total.end()) - total.begin());
    out[k].push_back(m);
    total[k] += cost(m);
  }
  for (auto& group : out)
    std::sort(group.begin(), group.end(), [](const spec::MutantFile* a, const spec::MutantFile* b) {
      return a->name < b->name;
    });
  return out;
}

// mutants_<k>.cpp: add_mutants_<k>(), which makes the mutants of group k.
std::string shard_cpp(std::size_t k, const std::vector<const spec::MutantFile*>& group) {
  std::set<std::string> layer_files;
  for (const spec::MutantFile* m : group) layer_files.insert((*m)["file"].text);
  std::string out = "// Generated by lamina-mutate from difftest/mutants/*.mutant: do not edit.\n"
                    "#include <vector>\n\n#include \"difftest/mutant_of.hpp\"\n";
  for (const std::string& f : layer_files) out += fmt::format("#include \"{}\"\n", f);
  for (const spec::MutantFile* m : group)
    out += fmt::format("#include \"mutants/{}.hpp\"\n", m->name);
  out += fmt::format("\nnamespace lamina::difftest {{\n\nvoid add_mutants_{}(std::vector<Mutant>& "
                     "out) {{\n",
                     k);
  for (const spec::MutantFile* m : group)
    out += fmt::format("  out.push_back(mutant_of<::lamina::mutants::{}::{}, ::lamina::{}>(\n"
                       "      {:?},\n"
                       "      {:?}));\n",
                       m->name, (*m)["layer"].text, (*m)["layer"].text, m->name, m->description);
  if (group.empty()) out += "  (void)out;\n";
  return out + "}\n\n} // namespace lamina::difftest\n";
}

// mutants.cpp: mutants() and find_mutant(), over the `shards` groups.
std::string mutants_cpp(std::size_t shards) {
  std::string out = R"(// Generated by lamina-mutate from difftest/mutants/*.mutant: do not edit.
#include <algorithm>
#include <string_view>
#include <vector>

#include "difftest/mutants.hpp"

namespace lamina::difftest {

)";
  for (std::size_t k = 0; k < shards; ++k)
    out += fmt::format("void add_mutants_{}(std::vector<Mutant>& out);\n", k);
  out += R"(
const std::vector<Mutant>& mutants() {
  static const std::vector<Mutant> all = [] {
    std::vector<Mutant> out;
)";
  for (std::size_t k = 0; k < shards; ++k) out += fmt::format("    add_mutants_{}(out);\n", k);
  out += R"(    std::sort(out.begin(), out.end(),
              [](const Mutant& a, const Mutant& b) { return a.name < b.name; });
    return out;
  }();
  return all;
}

const Mutant* find_mutant(std::string_view name) {
  const auto& all = mutants();
  auto it = std::lower_bound(all.begin(), all.end(), name,
                             [](const Mutant& m, std::string_view n) { return m.name < n; });
  return it != all.end() && it->name == name ? &*it : nullptr;
}

} // namespace lamina::difftest
)";
  return out;
}

// Reads the .mutant `files` and writes their headers, mutants.cpp and the `shards` files
// mutants_<k>.cpp into `output_dir`; the exit status.
int write_mutants(const std::string& source_dir, const std::string& output_dir,
                  const std::vector<std::string>& files, std::size_t shards) {
  static constexpr std::array<spec::MutantKey, 2> kKeys = {
      {{"layer", "Seqno", true}, {"file", "components/seqno.hpp"}}};
  spec::Sources sources;
  spec::Diagnostics diagnostics(sources);
  const fs::path source_root = fs::weakly_canonical(source_dir);
  // A path in messages: relative to the source directory when inside it.
  const auto shown = [&](const fs::path& path) {
    const fs::path relative = path.lexically_proximate(source_root);
    return relative.empty() || *relative.begin() == ".." ? path.string() : relative.string();
  };
  std::vector<spec::MutantFile> all;
  std::map<std::string, std::string> headers; // by mutant name
  for (const std::string& f : files) {
    spec::FileId id = 0;
    std::string error;
    const fs::path path = fs::weakly_canonical(f);
    if (!sources.load(path.string(), id, error, shown(path))) {
      diagnostics.error({}, error);
      continue;
    }
    std::optional<spec::MutantFile> m = spec::parse_mutant(sources, id, kKeys, diagnostics);
    if (!m) continue;
    spec::FileId header = 0;
    if (!sources.load((source_root / (*m)["file"].text).string(), header, error,
                      (*m)["file"].text)) {
      diagnostics.error((*m)["file"].at, error);
      continue;
    }
    std::optional<std::string> text = mutate_header(*m, header, sources, diagnostics);
    if (!text) continue;
    if (!headers.emplace(m->name, std::move(*text)).second) {
      diagnostics.error({id, 1, 1}, fmt::format("a second mutant called {}", m->name));
      continue;
    }
    all.push_back(std::move(*m));
  }
  if (diagnostics.has_errors()) {
    fmt::print(stderr, "{}", diagnostics.format());
    fmt::print(stderr, "lamina-mutate: {} error{} in the mutants of the layers; nothing written\n",
               diagnostics.error_count(), diagnostics.error_count() == 1 ? "" : "s");
    return 1;
  }

  std::sort(all.begin(), all.end(),
            [](const spec::MutantFile& a, const spec::MutantFile& b) { return a.name < b.name; });
  const fs::path out_dir(output_dir);
  std::error_code ec;
  fs::create_directories(out_dir / "mutants", ec);
  std::string why = fmt::format("cannot make {}: {}", (out_dir / "mutants").string(), ec.message());
  bool written = !ec;
  std::set<std::string> changed; // the mutants whose headers were written
  for (const auto& [name, text] : headers) {
    bool wrote = false;
    written = written && lamina::spec::write_if_changed(
                             (out_dir / "mutants" / (name + ".hpp")).string(), text, why, &wrote);
    if (wrote) changed.insert(name);
  }
  const auto groups = shard(all, headers, shards);
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const bool any =
        std::any_of(groups[k].begin(), groups[k].end(),
                    [&](const spec::MutantFile* m) { return changed.contains(m->name); });
    written =
        written && lamina::spec::write_index((out_dir / fmt::format("mutants_{}.cpp", k)).string(),
                                             shard_cpp(k, groups[k]), any, why);
  }
  written = written && lamina::spec::write_if_changed((out_dir / "mutants.cpp").string(),
                                                      mutants_cpp(shards), why);
  if (!written) {
    fmt::print(stderr, "lamina-mutate: {}\n", why);
    return 1;
  }
  // The headers of mutants whose .mutant file is gone, and the sources of groups beyond --shards.
  for (const auto& entry : fs::directory_iterator(out_dir / "mutants", ec))
    if (entry.path().extension() == ".hpp" && !headers.contains(entry.path().stem().string()))
      fs::remove(entry.path(), ec);
  for (std::size_t k = shards; fs::exists(out_dir / fmt::format("mutants_{}.cpp", k), ec); ++k)
    fs::remove(out_dir / fmt::format("mutants_{}.cpp", k), ec);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"Writes the mutants of the layers from difftest/mutants/*.mutant files: "
                 "mutants/<name>.hpp for each, mutants.cpp and mutants_<k>.cpp."};
    std::string source_dir;
    std::string output_dir;
    std::vector<std::string> files;
    app.add_option("--source-dir", source_dir, "the source directory, that 'file' paths start from")
        ->required()
        ->check(CLI::ExistingDirectory);
    std::size_t shards = 1;
    app.add_option("--output-dir", output_dir,
                   "where to write mutants.cpp, mutants_<k>.cpp and mutants/")
        ->required();
    app.add_option("--shards", shards,
                   "how many files mutants_<k>.cpp make the mutants, to be compiled side by side")
        ->check(CLI::Range(1, 64));
    app.add_option("mutants", files, "the .mutant files");
    CLI11_PARSE(app, argc, argv);
    return write_mutants(source_dir, output_dir, files, shards);
  } catch (const std::exception& e) {
    std::fputs(("lamina-mutate: " + std::string(e.what()) + "\n").c_str(), stderr);
    return 1;
  }
}
