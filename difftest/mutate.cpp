// lamina-mutate: writes the mutants of the layers (difftest/mutants.hpp) at build time.
//
// A mutant is one file, difftest/mutants/<name>.mutant, that changes a few lines of a layer:
//
//   # Seqno numbers the first message to each peer 1 instead of 0.
//   layer Seqno
//   file components/seqno.hpp
//   from
//       ev.msg.push(Header{next_out[ev.peer]++});
//   to
//       ev.msg.push(Header{++next_out[ev.peer]});
//
// - <name>, the file's stem, is a C++ identifier in lower case: a-z, 0-9 and '_'.
// - The head: '#' comments, the first of which is the description (one sentence: what is
//   wrong with the mutant); `layer <Class>`, the layer as BOOST_HANA_ADAPT_STRUCT(lamina::<Class>,
//   ...) names it; `file <path>`, its header, relative to the source directory. Blank lines in the
//   head are ignored.
// - Then one or more changes: a line `from`, the lines to replace, verbatim with their
//   indentation; a line `to`, the lines to put instead (none, to delete them). A block ends at
//   the next line that is `from` or `to` alone, or at the end of the file; blank lines at its
//   end are dropped. Each `from` text must occur exactly once in the layer's header, and the
//   changes of one mutant must not overlap.
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
//                       correct layer's and difftest compares the two with ==.
//   mutants.cpp         mutants() and find_mutant(), one Mutant per file, sorted by name.
//
// The rewriting is textual: lamina-mutate finds lines and the braces of nested structs, and
// parses no C++. Every error (a malformed .mutant file, or a `from` text that the layer's source
// no longer has) is printed as `file:line: message`, and then the exit status is 1 and nothing
// is written.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "spec/source.hpp"

namespace fs = std::filesystem;

namespace {

// Errors, as `file:line: message` (or `file: message`), in the order found.
class Errors {
public:
  void add(std::string_view file, std::size_t line, std::string_view message) {
    if (line == 0)
      list_.push_back(fmt::format("{}: {}", file, message));
    else
      list_.push_back(fmt::format("{}:{}: {}", file, line, message));
  }
  [[nodiscard]] bool empty() const { return list_.empty(); }
  [[nodiscard]] const std::vector<std::string>& list() const { return list_; }

private:
  std::vector<std::string> list_;
};

// One change of a mutant: the `from` text (whole lines, each ending in '\n') and its `to`.
struct Change {
  std::size_t line = 0; // of the `from` keyword in the .mutant file
  std::string from;
  std::string to;
};

struct MutantFile {
  std::string shown; // the path in messages: relative to the source directory when inside it
  std::string name;  // the stem: "seqno_first_is_one"
  std::string description;
  std::string layer; // "Seqno"
  std::string file;  // "components/seqno.hpp"
  std::size_t layer_line = 0;
  std::size_t file_line = 0;
  std::vector<Change> changes;
};

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.emplace_back(line);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

bool is_identifier(std::string_view s, bool lower_case_only) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    const bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    return lower || (!lower_case_only && c >= 'A' && c <= 'Z');
  });
}

// Reads one .mutant file (format: the comment at the top of this file).
std::optional<MutantFile> parse_mutant(const fs::path& path, const fs::path& source_dir,
                                       Errors& errors) {
  MutantFile m;
  const fs::path relative = path.lexically_proximate(source_dir);
  m.shown = relative.empty() || *relative.begin() == ".." ? path.string() : relative.string();
  m.name = path.stem().string();
  const std::size_t errors_before = errors.list().size();
  const auto error = [&](std::size_t line, std::string_view message) {
    errors.add(m.shown, line, message);
  };
  if (path.extension() != ".mutant" || !is_identifier(m.name, true))
    error(0, fmt::format("a mutant's file is called <name>.mutant, <name> in a-z, 0-9 and '_' "
                         "(it names the C++ namespace of the mutant); '{}' is not",
                         path.filename().string()));
  const std::optional<std::string> text = read_file(path);
  if (!text) {
    error(0, "cannot read the file");
    return std::nullopt;
  }

  // Blocks: `from` and `to` texts, as lines, until the next keyword line.
  enum class In : std::uint8_t { head, from, to } in = In::head;
  std::vector<std::string> block;
  const auto end_block = [&] {
    while (!block.empty() && trim(block.back()).empty()) block.pop_back();
    std::string joined;
    for (const std::string& l : block) joined += l + '\n';
    block.clear();
    if (in == In::from)
      m.changes.back().from = std::move(joined);
    else if (in == In::to)
      m.changes.back().to = std::move(joined);
  };
  const std::vector<std::string> lines = split_lines(*text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t n = i + 1;
    const std::string_view line = lines[i];
    const std::string_view word = trim(line);
    if (word == "from") {
      if (in == In::from) error(n, "'from' again before a 'to': each 'from' text needs its 'to'");
      end_block();
      m.changes.push_back({n, {}, {}});
      in = In::from;
      continue;
    }
    if (word == "to") {
      if (in != In::from) {
        error(n, "'to' without a 'from' before it");
        continue;
      }
      end_block();
      if (m.changes.back().from.empty())
        error(m.changes.back().line, "the text after 'from' is empty; give the lines to replace");
      in = In::to;
      continue;
    }
    if (in != In::head) {
      block.emplace_back(line);
      continue;
    }
    if (word.empty()) continue;
    if (word.starts_with('#')) {
      if (m.description.empty()) m.description = trim(word.substr(1));
      continue;
    }
    const std::size_t space = word.find_first_of(" \t");
    const std::string_view key = word.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view{} : trim(word.substr(space));
    if (key == "layer" || key == "file") {
      std::string& field = key == "layer" ? m.layer : m.file;
      std::size_t& field_line = key == "layer" ? m.layer_line : m.file_line;
      if (field_line != 0)
        error(n, fmt::format("a second '{}' line (the first is line {})", key, field_line));
      else if (value.empty())
        error(n, fmt::format("'{}' needs a value: {}", key,
                             key == "layer" ? "layer Seqno" : "file components/seqno.hpp"));
      field = value;
      field_line = n;
      if (key == "layer" && !value.empty() && !is_identifier(value, false))
        error(n, fmt::format("'{}' is not the name of a layer class, such as Seqno", value));
      continue;
    }
    error(n, fmt::format("expected 'layer NAME', 'file PATH', 'from' or a '#' comment, found '{}'",
                         word));
  }
  if (in == In::from) {
    end_block();
    error(m.changes.back().line, "this 'from' has no 'to' after it (an empty 'to' deletes)");
  } else {
    end_block();
  }
  if (m.description.empty())
    error(1, "a mutant opens with a '#' comment that says what is wrong with it");
  if (m.layer_line == 0) error(0, "no 'layer' line: which layer does it mutate? (layer Seqno)");
  if (m.file_line == 0) error(0, "no 'file' line: which header? (file components/seqno.hpp)");
  if (m.changes.empty()) error(0, "no change: give a 'from' block and a 'to' block");
  if (errors.list().size() != errors_before) return std::nullopt;
  return m;
}

// A replacement of source[pos, pos + length) by `text`, and what it is, for error messages.
struct Edit {
  std::size_t pos = 0;
  std::size_t length = 0;
  std::string text;
  std::string what;
  std::size_t change_line = 0; // the `from` line, for an edit that is a change of the mutant
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

// The header of mutant `m`: the layer's `source` with the changes made and the layer moved into
// namespace lamina::mutants::<name>; nullopt after adding to `errors`.
std::optional<std::string> mutate_header(const MutantFile& m, std::string_view source,
                                         Errors& errors) {
  const std::size_t errors_before = errors.list().size();
  const std::string ns = "lamina::mutants::" + m.name;
  std::vector<Edit> edits;

  for (const Change& c : m.changes) {
    const std::vector<std::size_t> found = occurrences(source, c.from);
    if (found.size() == 1)
      edits.push_back(
          {found[0], c.from.size(), c.to, fmt::format("the change at line {}", c.line), c.line});
    else if (found.empty())
      errors.add(m.shown, c.line,
                 fmt::format("the text after 'from' is not in {}; update the mutant", m.file));
    else
      errors.add(m.shown, c.line,
                 fmt::format("the text after 'from' occurs {} times in {}; update the mutant "
                             "(it must name one place)",
                             found.size(), m.file));
  }

  // The layer's namespace becomes the mutant's; the #includes before it stay outside.
  const auto namespace_line = [&](std::string_view line, std::string replacement) {
    const std::vector<std::size_t> at = lines_equal_to(source, line);
    if (at.size() != 1) {
      errors.add(m.file, 0,
                 fmt::format("lamina-mutate needs exactly one line '{}' to rewrite for mutant {} "
                             "(found {})",
                             line, m.name, at.size()));
      return;
    }
    edits.push_back({at[0], line_end(source, at[0]) - at[0], std::move(replacement) + '\n',
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
      layer_found = layer_found || a.scopes[0] == m.layer;
      edits.push_back(
          {a.name_pos, std::string_view("lamina::").size(), ns + "::",
           fmt::format("BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...), which lamina-mutate rewrites",
                       qualified)});
      continue;
    }
    // A nested struct: the mutant names the correct layer's, which is adapted already.
    const std::string& nested = a.scopes.back();
    std::vector<std::size_t> at = lines_equal_to(source, "struct " + nested + " {");
    for (std::size_t pos : lines_equal_to(source, "class " + nested + " {")) at.push_back(pos);
    const std::size_t open = at.size() == 1 ? source.find('{', at[0]) : std::string_view::npos;
    const std::size_t close = open == std::string_view::npos ? open : matching_brace(source, open);
    if (close == std::string_view::npos || close >= source.size() || source[close] != ';') {
      errors.add(m.file, 0,
                 fmt::format("lamina-mutate needs the nested struct {} as one 'struct {} {{' "
                             "line and a body closed by '}};', to share it with mutant {}",
                             qualified, nested, m.name));
      continue;
    }
    const std::string_view indent =
        source.substr(at[0], source.find_first_not_of(" \t", at[0]) - at[0]);
    edits.push_back({at[0], line_end(source, close) - at[0],
                     fmt::format("{}using {} = ::lamina::{}; // the correct layer's\n", indent,
                                 nested, qualified),
                     fmt::format("struct {}, which mutants share with the correct layer "
                                 "(mutate the layer's code instead)",
                                 qualified)});
    edits.push_back({a.pos, a.end - a.pos, "",
                     fmt::format("BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...), which lamina-mutate "
                                 "leaves to the correct layer",
                                 qualified)});
    shares_structs = true;
  }
  if (!layer_found)
    errors.add(m.shown, m.layer_line,
               fmt::format("{} has no layer {}: no BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...)",
                           m.file, m.layer, m.layer));
  if (shares_structs) {
    // The nested structs come from the correct layer's header.
    const std::vector<std::size_t> at = lines_equal_to(source, "namespace lamina {");
    if (at.size() == 1)
      edits.push_back({at[0], 0,
                       fmt::format("#include \"{}\" // the correct layer, for its nested "
                                   "structs\n\n",
                                   m.file),
                       "the #include of the correct layer"});
  }
  if (errors.list().size() != errors_before) return std::nullopt;

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
    if (a.change_line == 0 && b.change_line == 0) {
      errors.add(m.file, 0,
                 fmt::format("lamina-mutate cannot rewrite it: {} overlaps {}", a.what, b.what));
      continue;
    }
    const Edit& change = a.change_line != 0 ? a : b;
    const Edit& other = a.change_line != 0 ? b : a;
    errors.add(m.shown, change.change_line,
               fmt::format("the text after 'from' overlaps {}", other.what));
  }
  if (errors.list().size() != errors_before) return std::nullopt;

  std::string out = fmt::format("// Generated by lamina-mutate from {} and {}: do not edit.\n"
                                "// Mutant {} of {}: {}\n",
                                m.file, m.shown, m.name, m.layer, m.description);
  std::size_t copied = 0;
  for (const Edit& e : edits) {
    out.append(source.substr(copied, e.pos - copied));
    out += e.text;
    copied = e.pos + e.length;
  }
  out.append(source.substr(copied));
  return out;
}

// mutants.cpp: the list of mutants, sorted by name, and how each is made.
std::string mutants_cpp(const std::vector<MutantFile>& all) {
  std::set<std::string> layer_files;
  for (const MutantFile& m : all) layer_files.insert(m.file);
  std::string out = R"(// Generated by lamina-mutate from difftest/mutants/*.mutant: do not edit.
#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/zip.hpp>
#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/registry.hpp"
#include "difftest/layer_ops.hpp"
#include "difftest/mutants.hpp"
)";
  for (const std::string& f : layer_files) out += fmt::format("#include \"{}\"\n", f);
  for (const MutantFile& m : all) out += fmt::format("#include \"mutants/{}.hpp\"\n", m.name);
  out += R"(
namespace lamina::difftest {
namespace {

// Mutant M of layer L. `make` builds L from the stack string's parameters, as for a correct stack,
// and moves its fields into M, which has the same fields in the same order. Registers the
// operations of M, so that difftest can compare it with L.
template <class M, class L>
Mutant mutant(const char* name, const char* description) {
  register_layer_ops(layer_ops<M, L>());
  return {name, std::string(L::name), description,
          [](LayerArgs& args) -> std::unique_ptr<DynLayer> {
            L correct = layer_registry().make<L>(args);
            M mutated;
            namespace hana = boost::hana;
            hana::for_each(hana::zip(hana::accessors<M>(), hana::accessors<L>()), [&](auto pair) {
              auto to = hana::at_c<0>(pair);
              auto from = hana::at_c<1>(pair);
              static_assert(std::is_same_v<std::decay_t<decltype(hana::first(to))>,
                                           std::decay_t<decltype(hana::first(from))>>,
                            "a mutant has the fields of its layer, in the same order");
              hana::second(to)(mutated) = std::move(hana::second(from)(correct));
            });
            return std::make_unique<DynLayerOf<M>>(std::move(mutated));
          }};
}

} // namespace

const std::vector<Mutant>& mutants() {
  static const std::vector<Mutant> all = {
)";
  for (const MutantFile& m : all)
    out += fmt::format("      mutant<::lamina::mutants::{}::{}, ::lamina::{}>(\n"
                       "          {:?},\n"
                       "          {:?}),\n",
                       m.name, m.layer, m.layer, m.name, m.description);
  out += R"(  };
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

// Writes `text` to `path` unless the file holds it already; false if it cannot be written.
// Reads the .mutant `files` and writes their headers and mutants.cpp into `output_dir`; the exit
// status.
int write_mutants(const std::string& source_dir, const std::string& output_dir,
                  const std::vector<std::string>& files) {
  Errors errors;
  std::vector<MutantFile> all;
  std::map<std::string, std::string> headers; // by mutant name
  for (const std::string& f : files) {
    std::optional<MutantFile> m =
        parse_mutant(fs::weakly_canonical(f), fs::weakly_canonical(source_dir), errors);
    if (!m) continue;
    const std::optional<std::string> source = read_file(fs::path(source_dir) / m->file);
    if (!source) {
      errors.add(m->shown, m->file_line, fmt::format("cannot read {}", m->file));
      continue;
    }
    std::optional<std::string> header = mutate_header(*m, *source, errors);
    if (!header) continue;
    if (!headers.emplace(m->name, std::move(*header)).second) {
      errors.add(m->shown, 0, fmt::format("a second mutant called {}", m->name));
      continue;
    }
    all.push_back(std::move(*m));
  }
  if (!errors.empty()) {
    for (const std::string& e : errors.list()) fmt::print(stderr, "{}\n", e);
    fmt::print(stderr, "lamina-mutate: {} error{} in the mutants of the layers; nothing written\n",
               errors.list().size(), errors.list().size() == 1 ? "" : "s");
    return 1;
  }

  std::sort(all.begin(), all.end(),
            [](const MutantFile& a, const MutantFile& b) { return a.name < b.name; });
  const fs::path out_dir(output_dir);
  std::error_code ec;
  fs::create_directories(out_dir / "mutants", ec);
  std::string why = fmt::format("cannot make {}: {}", (out_dir / "mutants").string(), ec.message());
  bool written = !ec;
  for (const auto& [name, text] : headers)
    written = written && lamina::spec::write_if_changed(
                             (out_dir / "mutants" / (name + ".hpp")).string(), text, why);
  written = written && lamina::spec::write_if_changed((out_dir / "mutants.cpp").string(),
                                                      mutants_cpp(all), why);
  if (!written) {
    fmt::print(stderr, "lamina-mutate: {}\n", why);
    return 1;
  }
  // The headers of mutants whose .mutant file is gone.
  for (const auto& entry : fs::directory_iterator(out_dir / "mutants", ec))
    if (entry.path().extension() == ".hpp" && !headers.contains(entry.path().stem().string()))
      fs::remove(entry.path(), ec);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"Writes the mutants of the layers from difftest/mutants/*.mutant files: "
                 "mutants/<name>.hpp for each, and mutants.cpp."};
    std::string source_dir;
    std::string output_dir;
    std::vector<std::string> files;
    app.add_option("--source-dir", source_dir, "the source directory, that 'file' paths start from")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("--output-dir", output_dir, "where to write mutants.cpp and mutants/")
        ->required();
    app.add_option("mutants", files, "the .mutant files");
    CLI11_PARSE(app, argc, argv);
    return write_mutants(source_dir, output_dir, files);
  } catch (const std::exception& e) {
    std::fputs(("lamina-mutate: " + std::string(e.what()) + "\n").c_str(), stderr);
    return 1;
  }
}
