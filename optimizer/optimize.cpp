#include "optimizer/optimize.hpp"

#include <chrono>
#include <clang/Format/Format.h>
#include <clang/Tooling/CompilationDatabase.h>
#include <clang/Tooling/Core/Replacement.h>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <set>

#include "optimizer/clang_ast.hpp"
#include "optimizer/passes.hpp"
#include "runtime/registry.hpp"
#include "spec/program.hpp"
#include "spec/stack_string.hpp"

namespace lamina::opt {

namespace {

namespace fs = std::filesystem;

// The include and define flags of the first command in BUILD_DIR/compile_commands.json.
std::vector<std::string> flags_from(const std::string& build_dir, std::string& error) {
  std::string message;
  auto db = clang::tooling::CompilationDatabase::loadFromDirectory(build_dir, message);
  if (!db) {
    error = fmt::format("lamina-opt: error: -p {}: {}", build_dir, message);
    return {};
  }
  std::vector<std::string> out;
  for (const auto& cmd : db->getAllCompileCommands()) {
    const auto& a = cmd.CommandLine;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string& x = a[i];
      if ((x == "-I" || x == "-isystem" || x == "-D") && i + 1 < a.size()) {
        std::string value = a[i + 1];
        if (x != "-D" && fs::path(value).is_relative())
          value = (fs::path(cmd.Directory) / value).string();
        out.push_back(x);
        out.push_back(value);
        ++i;
      } else if (x.rfind("-I", 0) == 0 || x.rfind("-D", 0) == 0 || x.rfind("-std=", 0) == 0) {
        out.push_back(x);
      }
    }
    break;
  }
  return out;
}

// Formats generated code with the repository's .clang-format (or LLVM's style).
std::string formatted(const std::string& code, const std::string& source_dir) {
  auto style =
      clang::format::getStyle("file", (fs::path(source_dir) / "generated.hpp").string(), "LLVM");
  if (!style) {
    llvm::consumeError(style.takeError());
    return code;
  }
  const clang::tooling::Range all(0, static_cast<unsigned>(code.size()));
  const auto replacements = clang::format::reformat(*style, code, {all}, "generated.hpp");
  auto result = clang::tooling::applyAllReplacements(code, replacements);
  if (!result) {
    llvm::consumeError(result.takeError());
    return code;
  }
  return *result;
}

// The include roots of the layers' headers: the layer directories, then the source tree.
std::vector<std::string> include_roots(const Options& o) {
  std::vector<std::string> roots = o.layer_dirs;
  roots.push_back(o.source_dir);
  return roots;
}

// The C++ header of spec layer `layer` (beside its spec), as included; nullopt if it has none.
std::optional<std::string> cpp_header(const spec::Layer& layer, const spec::Sources& sources,
                                      const Options& o) {
  const std::string header = spec::layer_header(sources.path(layer.loc.file));
  std::error_code ec;
  if (!fs::is_regular_file(header, ec)) return std::nullopt;
  return spec::include_name(header, include_roots(o));
}

// Every layer the program declares that has a C++ header: read with the stack's own layers
// (Options::every_layer), so that one parse serves every stack of the spec (the build fuses them
// in one run).
std::vector<LayerSource> program_layers(const spec::Program& program, const spec::Sources& sources,
                                        const Options& o, const std::string& where) {
  std::vector<LayerSource> out;
  for (const auto& file : program.files)
    for (const auto& d : file.decls)
      if (const auto* layer = std::get_if<spec::Layer>(&d))
        if (auto header = cpp_header(*layer, sources, o))
          out.push_back({layer->name, *header, where});
  return out;
}

// The layers read last, by the flags they were read with: lamina-opt --registry fuses several
// stacks in one process.
FrontendResult read_cached(const std::vector<LayerSource>& wanted,
                           const std::vector<LayerSource>& also, const FrontendOptions& fo) {
  static std::string cached_key;
  static std::set<std::string> cached_names;
  static FrontendResult cached;
  std::string key = fo.source_dir;
  for (const auto& a : fo.extra_args) key += "\n" + a;
  const bool hit =
      key == cached_key && std::all_of(wanted.begin(), wanted.end(), [&](const LayerSource& l) {
        return cached_names.count(l.name) != 0;
      });
  if (hit) return cached;
  std::vector<LayerSource> all = wanted;
  for (const LayerSource& l : also)
    if (std::none_of(all.begin(), all.end(),
                     [&](const LayerSource& x) { return x.name == l.name; }))
      all.push_back(l);
  FrontendResult r = read_layers(all, fo);
  if (!r.ok()) return read_layers(wanted, fo); // a layer the stack does not use may not read
  cached_key = key;
  cached_names.clear();
  for (const auto& l : r.layers) cached_names.insert(l.name);
  cached = r;
  return r;
}

struct Loaded {
  std::optional<spec::Program> program;
  StackInput input;
  FrontendResult layers;
};

// The header of each layer of the stack; what is missing is said in `missing`.
std::vector<LayerSource> layer_sources(const std::vector<LayerSpec>& specs,
                                       const spec::Program& program, const spec::Sources& sources,
                                       const Options& resolved, const std::string& stack_where,
                                       std::string& missing) {
  std::vector<LayerSource> sources_list;
  for (const LayerSpec& s : specs) {
    const spec::Layer* decl = program.layer(s.name);
    const std::optional<std::string> header =
        decl == nullptr ? std::nullopt : cpp_header(*decl, sources, resolved);
    if (!header) {
      missing += fmt::format(
          "{}: error: lamina-opt: layer {} has no C++ header {} (class lamina::{})\n", stack_where,
          s.name,
          decl == nullptr ? s.name
                          : spec::include_name(spec::layer_header(sources.path(decl->loc.file)),
                                               include_roots(resolved)),
          s.name);
      continue;
    }
    sources_list.push_back({s.name, *header, stack_where});
  }
  return sources_list;
}

// The parameters of layer `m`, as the stack `s` gives them, as constants: those of integer or
// Boolean type (or the member's default), and durations the stack gives. Not those the layer's
// own code writes, nor those a node sets at run time (LayerModel::per_node).
std::map<std::string, NodeRef> constant_params(const LayerSpec& s, const LayerModel& m,
                                               const spec::Layer* decl) {
  std::map<std::string, NodeRef> params;
  const std::set<std::string> written = written_members(m);
  std::vector<std::string> names;
  if (decl != nullptr)
    for (const auto& p : decl->params) names.push_back(p.name);
  for (const std::string& name : names) {
    if (m.members.count(name) == 0 || written.count(name) != 0 || m.per_node.count(name) != 0)
      continue;
    std::optional<std::string> given;
    for (const auto& a : s.args)
      if (a.key == name) given = a.value;
    const auto integral = m.integral_members.find(name);
    if (integral == m.integral_members.end()) {
      // A duration: a constant only when the stack gives it.
      if (!given) continue;
      const auto ns = parse_nanoseconds(*given, true);
      if (!ns) continue;
      params[name] = constant(fmt::format("std::chrono::nanoseconds{{{}}}", *ns), std::nullopt);
      continue;
    }
    // An integer or a Boolean: as the stack gives it, or the member's default.
    const auto d = m.defaults.find(name);
    const std::string text = given ? *given : d != m.defaults.end() ? d->second : "";
    // The member's type gives the constant its own, as the member's initialisation would.
    const IntType type = integral->second;
    const std::optional<Wide> v = text == "true"    ? std::optional<Wide>(1)
                                  : text == "false" ? std::optional<Wide>(0)
                                                    : parse_decimal(text);
    if (v && type.known()) params[name] = integer(convert(*v, type), type);
  }
  return params;
}

// Reads the spec file into l.program and finds the stack: its stack string in r, where it is
// declared in `where`. The program; null, with r.errors saying why, if it cannot.
const spec::Program* read_stack(const Options& o, spec::Sources& sources, Loaded& l, Result& r,
                                std::string& where) {
  spec::Diagnostics diags(sources);
  l.program = spec::load(o.spec, sources, diags);
  if (!l.program || diags.has_errors()) {
    r.errors = diags.format();
    return nullptr;
  }
  const spec::Stack* stack = l.program->stack(o.stack);
  if (stack == nullptr) {
    std::string names;
    for (const auto& f : l.program->files)
      for (const auto& d : f.decls)
        if (const auto* s = std::get_if<spec::Stack>(&d))
          names += (names.empty() ? "" : ", ") + s->name;
    r.errors = fmt::format("{}: error: lamina-opt: no stack `{}` in this file (stacks: {})\n",
                           o.spec, o.stack, names.empty() ? "none" : names);
    return nullptr;
  }
  where =
      fmt::format("{}:{}:{}", sources.path(stack->loc.file), stack->loc.line, stack->loc.column);
  try {
    r.stack_string = spec::stack_string(*l.program, o.stack);
  } catch (const std::exception& e) {
    r.errors = fmt::format("{}: error: {}\n", where, e.what());
    return nullptr;
  }
  return &*l.program;
}

// The stack to generate: its layers, each with its parameters as constants.
void stack_input(const Options& o, const std::vector<LayerSpec>& specs,
                 const std::string& stack_string, const spec::Program& program, Loaded& l) {
  l.input.spec_file = o.spec;
  l.input.stack = o.stack;
  l.input.stack_string = stack_string;
  l.input.class_name = o.class_name.empty() ? o.stack : o.class_name;
  l.input.name_space = o.name_space;
  l.input.delay = o.delay;
  l.input.varints = o.varints;
  std::map<std::string, int> uses;
  for (const LayerSpec& s : specs) ++uses[s.name];
  std::map<std::string, int> seen;
  for (const LayerSpec& s : specs) {
    const LayerModel* m = nullptr;
    for (const auto& lm : l.layers.layers)
      if (lm.name == s.name) m = &lm;
    StackLayer sl;
    sl.model = m;
    sl.var = spec::snake_case(s.name);
    if (uses[s.name] > 1) sl.var += "_" + std::to_string(++seen[s.name]);
    sl.params = constant_params(s, *m, program.layer(s.name));
    l.input.layers.push_back(std::move(sl));
  }
}

bool load(const Options& o, Loaded& l, Result& r, Options& resolved) {
  spec::Sources sources;
  std::string stack_where;
  const spec::Program* program = read_stack(o, sources, l, r, stack_where);
  if (program == nullptr) return false;
  resolved = o;
  if (resolved.source_dir.empty()) resolved.source_dir = find_source_dir(o.spec);
  if (resolved.source_dir.empty()) {
    r.errors =
        fmt::format("{}: error: lamina-opt: cannot find the layers' sources (runtime/layer.hpp) "
                    "in a directory above the spec; give --source-dir\n",
                    o.spec);
    return false;
  }
  FrontendOptions fo;
  fo.source_dir = resolved.source_dir;
  if (!o.build_dir.empty()) {
    std::string error;
    fo.extra_args = flags_from(o.build_dir, error);
    if (!error.empty()) {
      r.errors = error + "\n";
      return false;
    }
  }
  std::vector<LayerSpec> specs;
  try {
    specs = parse_stack_string(r.stack_string);
  } catch (const std::exception& e) {
    r.errors = fmt::format("{}: error: {}\n", stack_where, e.what());
    return false;
  }
  std::string missing;
  for (const std::string& dir : o.layer_dirs)
    fo.extra_args.push_back("-I" + fs::absolute(dir).string());
  const std::vector<LayerSource> sources_list =
      layer_sources(specs, *program, sources, resolved, stack_where, missing);
  if (!missing.empty()) {
    r.errors = missing;
    return false;
  }
  l.layers = read_cached(sources_list,
                         o.every_layer ? program_layers(*program, sources, resolved, stack_where)
                                       : std::vector<LayerSource>{},
                         fo);
  for (const auto& d : l.layers.diagnostics) r.errors += d.str() + "\n";
  if (!l.layers.ok()) return false;
  stack_input(o, specs, r.stack_string, *program, l);
  return true;
}

} // namespace

Result optimize(const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  Result r;
  Loaded l;
  Options resolved;
  if (!load(options, l, r, resolved)) return r;
  r.generated = generate(l.input);
  for (const auto& d : r.generated.diagnostics) r.errors += d.str() + "\n";
  r.generated.code = formatted(r.generated.code, resolved.source_dir);
  r.generated.explain.code_bytes = r.generated.code.size();
  r.generated.explain.code_lines =
      static_cast<std::size_t>(std::count(r.generated.code.begin(), r.generated.code.end(), '\n'));
  r.ok = true;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

Result print_pass(const Options& options, const std::string& pass, const std::string& layer,
                  const std::string& direction, std::string& out) {
  Result r;
  Loaded l;
  Options resolved;
  if (!load(options, l, r, resolved)) return r;
  out = print_after(l.input, pass, layer, direction);
  if (out.empty()) {
    r.errors += fmt::format("lamina-opt: error: stack {} has no layer {}\n", options.stack, layer);
    return r;
  }
  r.ok = true;
  return r;
}

std::vector<std::string> stacks_of(const std::string& spec, std::string& errors) {
  spec::Sources sources;
  spec::Diagnostics diags(sources);
  const auto program = spec::load(spec, sources, diags);
  if (!program || diags.has_errors()) {
    errors = diags.format();
    return {};
  }
  std::vector<std::string> names;
  if (program->files.empty()) return names;
  for (const auto& d : program->files.front().decls)
    if (const auto* s = std::get_if<spec::Stack>(&d)) names.push_back(s->name);
  return names;
}

namespace {

// "4", or "1 to 5" for a size that varies.
std::string byte_range(std::uint32_t fewest, std::uint32_t most) {
  return fewest == most ? std::to_string(most) : fmt::format("{} to {}", fewest, most);
}

} // namespace

std::string explain(const Result& r, const Options& o) {
  const Explanation& e = r.generated.explain;
  std::string s = fmt::format("lamina-opt: stack {} of {}\n  stack string: {}\n", o.stack, o.spec,
                              r.stack_string);
  if (!e.params.empty()) {
    s += "  parameters as constants:";
    for (const auto& p : e.params) s += " " + p;
    s += "\n";
  }
  for (const auto& n : e.not_folded) s += "  not folded, undefined in C++: " + n + "\n";
  if (e.first > 0) {
    std::string above;
    for (std::size_t l = 0; l < e.first; ++l) above += (l ? ":" : "") + e.layers[l].name;
    s += fmt::format("\nabove the bypass: {} (the layered code; what {} passes down enters the "
                     "bypass of the layers below it)\n",
                     above, e.layers[e.first - 1].name);
    for (const auto& w : e.above) s += "  not collapsed: " + w + "\n";
  }
  auto direction = [&](const char* name, const Explanation::Direction& d) {
    s += fmt::format("\n{}: {}\n", name,
                     d.collapsed ? "collapsed" : "not collapsed (the layered code runs)");
    if (!d.bypass.empty()) {
      s += "  layers on the bypass:";
      for (const std::size_t l : d.bypass) s += " " + e.layers[l].name;
      s += "\n";
    }
    for (const auto& w : d.why_not) s += "  not collapsed: " + w + "\n";
    if (!d.guard.empty()) s += "  guard: " + d.guard + "\n";
    for (const auto& x : d.layered_exits) s += "  to the layered code: " + x + "\n";
    for (const auto& x : d.delayed)
      s += fmt::format("  delayed past the {}: {}: {}\n", &d == &e.down ? "transmit" : "delivery",
                       e.layers[x.layer].name, x.text);
    if (d.ends_at)
      s += "  the message ends at " + e.layers[*d.ends_at].name +
           ": its common path passes it on no further\n";
  };
  direction("down (send)", e.down);
  direction("up (receive)", e.up);
  s += fmt::format("\nheader on the common path{}: {} bytes layered, {} bytes {}\n",
                   e.first > 0 ? fmt::format(" below {}", e.layers[e.first - 1].name) : "",
                   e.layered_header_bytes,
                   byte_range(e.compressed_header_min_bytes, e.compressed_header_bytes),
                   e.compressed ? "compressed" : "(not compressed)");
  if (e.layered_wire)
    s += "  packets keep the layered format (no layer but the bottom one has a header, a constant "
         "one): the receive bypass takes them as they come\n";
  if (e.compressed) {
    s += "  compressed: marker (1 byte)";
    for (const auto& f : e.packed_fields)
      s += fmt::format(", {}.{} ({} bytes{}{})", e.layers[f.layer].name, f.name,
                       byte_range(f.min_size, f.size), f.coding.empty() ? "" : ": ", f.coding);
    s += "\n  constant on the bypass, not sent:";
    for (const auto& f : e.constant_fields)
      s += fmt::format(" {}.{} = {};", e.layers[f.layer].name, f.name, f.value);
    s += "\n";
  }
  s += fmt::format("generated code: {} lines, {} bytes; {:.2f} s\n", e.code_lines, e.code_bytes,
                   r.seconds);
  return s;
}

} // namespace lamina::opt
