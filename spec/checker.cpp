// The checker (checker.hpp says what it writes into the tree). It runs in passes over the
// whole program, so that a declaration may use one declared after it or in another file:
//
//   1. type declarations (and their enumerators), top-level headers, oracles
//   2. the outsides of automata and layers: headers, parameters, state variables, signatures
//   3. their insides: initial values, defaults, transitions, ccps
//   4. compositions: composite automata and stacks
//   5. invariants
//
// Every check tolerates the partial trees the parser leaves after a syntax error: a null
// expression or an empty name has already been reported and is skipped silently, and an
// expression that failed to check has the Error type, which silences errors that follow from it.
#include "spec/checker.hpp"

#include <algorithm>
#include <cstdint>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "runtime/composition.hpp"

namespace lamina::spec {

namespace {

using u128 = unsigned __int128;
using i128 = __int128;

// ------------------------------------------------------------------------------- types

TypeRef make_type(TypeKind kind, std::string name = {}) {
  auto t = std::make_shared<Type>();
  t->kind = kind;
  t->name = std::move(name);
  return t;
}

TypeRef make_fixed(std::uint8_t bits, bool is_signed, std::string name) {
  auto t = std::make_shared<Type>();
  t->kind = TypeKind::Fixed;
  t->bits = bits;
  t->is_signed = is_signed;
  t->name = std::move(name);
  return t;
}

TypeRef container(TypeKind kind, TypeRef elem, TypeRef value = nullptr) {
  auto t = std::make_shared<Type>();
  t->kind = kind;
  t->elem = std::move(elem);
  t->value = std::move(value);
  return t;
}

struct BuiltinTypes {
  TypeRef error = make_type(TypeKind::Error);
  TypeRef boolean = make_type(TypeKind::Bool, "Bool");
  TypeRef integer = make_type(TypeKind::Int, "Int");
  TypeRef natural = make_type(TypeKind::Nat, "Nat");
  TypeRef msg = make_type(TypeKind::Msg, "Msg");
  TypeRef peer = make_fixed(32, false, "Peer");
  TypeRef time = make_fixed(64, true, "Time");
  TypeRef u32 = make_fixed(32, false, "u32");
  TypeRef u64 = make_fixed(64, false, "u64");
  TypeRef peers = container(TypeKind::Seq, peer);
  // The types written by name in the source.
  std::map<std::string, TypeRef, std::less<>> by_name = {
      {"Bool", boolean},
      {"Nat", natural},
      {"Int", integer},
      {"Msg", msg},
      {"Peer", peer},
      {"Time", time},
      {"u8", make_fixed(8, false, "u8")},
      {"u16", make_fixed(16, false, "u16")},
      {"u32", u32},
      {"u64", u64},
      {"i8", make_fixed(8, true, "i8")},
      {"i16", make_fixed(16, true, "i16")},
      {"i32", make_fixed(32, true, "i32")},
      {"i64", make_fixed(64, true, "i64")},
  };
};

const BuiltinTypes& builtin() {
  static const BuiltinTypes types;
  return types;
}

bool is_error(const TypeRef& t) { return !t || t->kind == TypeKind::Error; }
bool is_kind(const TypeRef& t, TypeKind kind) { return t && t->kind == kind; }
bool is_math(const TypeRef& t) { return is_kind(t, TypeKind::Int) || is_kind(t, TypeKind::Nat); }
bool is_fixed(const TypeRef& t) { return is_kind(t, TypeKind::Fixed); }
bool is_integer(const TypeRef& t) { return is_math(t) || is_fixed(t); }
bool is_header(const TypeRef& t) { return is_kind(t, TypeKind::Record) && t->is_header; }

std::string show(const TypeRef& t) { return t ? type_name(t) : "?"; }

// Whether a value of type `from` may be stored where `to` is declared (assignment, initial
// value, argument, element). Integers are exact values whatever their types; a fixed width is
// enforced where a value is stored, by the simulator at run time (spec/README.md, "Types").
bool flows_into(const TypeRef& from, const TypeRef& to) {
  if (is_error(from) || is_error(to) || same_type(from, to)) return true;
  return is_integer(from) && is_integer(to);
}

// Whether two values may be compared with `=` or `<`: the same type, or any two integers
// (compared by exact value).
bool comparable(const TypeRef& a, const TypeRef& b) {
  if (is_error(a) || is_error(b) || same_type(a, b)) return true;
  return is_integer(a) && is_integer(b);
}

std::string to_string(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v != 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

// The largest magnitude a literal may have as type `t` (negated: as `-lit`).
u128 literal_limit(const Type& t, bool negated) {
  constexpr u128 kInt128Max = ~u128{0} >> 1;
  switch (t.kind) {
  case TypeKind::Nat:
    return negated ? 0 : kInt128Max;
  case TypeKind::Fixed:
    if (t.is_signed) return (u128{1} << (t.bits - 1)) - (negated ? 0 : 1);
    return negated ? 0 : (u128{1} << t.bits) - 1;
  default:
    return negated ? kInt128Max + 1 : kInt128Max;
  }
}

// ------------------------------------------------------------------------- small helpers

const char* kind_word(ActionKind kind) {
  switch (kind) {
  case ActionKind::Input:
    return "input";
  case ActionKind::Output:
    return "output";
  case ActionKind::Internal:
    return "internal";
  }
  return "?";
}

std::string event_text(Port port, EventKind event) {
  const char* p = port == Port::Down ? "down" : "up";
  const char* e = event == EventKind::Send ? "send" : event == EventKind::Cast ? "cast" : "deliver";
  return fmt::format("{}.{}", p, e);
}

// The events a layer takes and emits: down.send(p, m), down.cast(m), up.deliver(p, m).
bool is_layer_event(Port port, EventKind event) {
  return port == Port::Down ? event != EventKind::Deliver : event == EventKind::Deliver;
}

bool is_bool_literal(const Expr* e, bool value) {
  const auto* lit = e ? std::get_if<BoolLit>(&e->node) : nullptr;
  return lit != nullptr && lit->value == value;
}

const Name* as_name(const Expr* e) { return e ? std::get_if<Name>(&e->node) : nullptr; }

// A literal whose type comes from its context: checked after the other operand.
bool takes_context(const Expr* e) {
  if (e == nullptr) return false;
  if (std::holds_alternative<IntLit>(e->node) || std::holds_alternative<CollectionLit>(e->node)) {
    return true;
  }
  const auto* u = std::get_if<Unary>(&e->node);
  return u != nullptr && u->op == UnaryOp::Neg && u->operand &&
         std::holds_alternative<IntLit>(u->operand->node);
}

// `a.b[i]` as written, for messages about assignment targets.
std::string lvalue_text(const Expr* e) {
  if (e == nullptr) return "?";
  if (const auto* n = std::get_if<Name>(&e->node)) return n->ident;
  if (const auto* f = std::get_if<FieldAccess>(&e->node)) {
    return lvalue_text(f->record.get()) + "." + f->field;
  }
  if (const auto* i = std::get_if<IndexAccess>(&e->node)) {
    return lvalue_text(i->collection.get()) + "[...]";
  }
  return "?";
}

// The conjuncts at the top of a precondition: `a ∧ (b ∧ c)` gives a, b, c.
void conjuncts(const Expr* e, std::vector<const Expr*>& out) {
  if (e == nullptr) return;
  if (const auto* b = std::get_if<Binary>(&e->node); b && b->op == BinaryOp::And) {
    conjuncts(b->lhs.get(), out);
    conjuncts(b->rhs.get(), out);
    return;
  }
  out.push_back(e);
}

// The action parameters (Param slots) an expression reads.
void params_read(const Expr* e, std::set<std::uint32_t>& out) {
  if (e == nullptr) return;
  std::visit(
      [&](const auto& n) {
        using N = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<N, Name>) {
          if (n.kind == NameKind::Param) out.insert(n.slot);
        } else if constexpr (std::is_same_v<N, CollectionLit>) {
          for (const auto& x : n.elems) params_read(x.get(), out);
        } else if constexpr (std::is_same_v<N, Unary>) {
          params_read(n.operand.get(), out);
        } else if constexpr (std::is_same_v<N, Binary>) {
          params_read(n.lhs.get(), out);
          params_read(n.rhs.get(), out);
        } else if constexpr (std::is_same_v<N, Call>) {
          for (const auto& x : n.args) params_read(x.get(), out);
        } else if constexpr (std::is_same_v<N, FieldAccess>) {
          params_read(n.record.get(), out);
        } else if constexpr (std::is_same_v<N, IndexAccess>) {
          params_read(n.collection.get(), out);
          params_read(n.index.get(), out);
        } else if constexpr (std::is_same_v<N, RecordLit>) {
          for (const auto& [field, x] : n.fields) params_read(x.get(), out);
        }
      },
      e->node);
}

std::string const_text(std::optional<i128> v) {
  if (!v) return "_";
  if (*v < 0) return "-" + to_string(static_cast<u128>(-*v));
  return to_string(static_cast<u128>(*v));
}

// Every emit statement in `stmts`, nested ones included, in source order.
void collect_emits(const Stmts& stmts, std::vector<const Stmt*>& out) {
  for (const auto& s : stmts) {
    if (!s) continue;
    if (std::holds_alternative<Emit>(s->node)) out.push_back(s.get());
    if (const auto* i = std::get_if<If>(&s->node)) {
      for (const auto& [cond, body] : i->branches) collect_emits(body, out);
      collect_emits(i->otherwise, out);
    }
    if (const auto* f = std::get_if<For>(&s->node)) collect_emits(f->body, out);
  }
}

const Transition* layer_input(const Layer& layer, Port port, EventKind event) {
  for (const Transition& t : layer.transitions) {
    if (t.port == port && t.event == event) return &t;
  }
  return nullptr;
}

constexpr std::string_view kGuarantees[] = {"fifo", "reliable", "integrity", "lamport"};

// The built-in functions and the number of arguments each takes.
const std::map<std::string, std::size_t, std::less<>>& builtin_functions() {
  static const std::map<std::string, std::size_t, std::less<>> arity = {
      {"head", 1},   {"tail", 1},   {"len", 1},  {"size", 1},  {"push", 2},
      {"pop", 2},    {"top", 2},    {"fits", 2}, {"slice", 3}, {"concat", 2},
      {"crc32c", 1}, {"sha256", 1}, {"keys", 1}, {"has", 2},   {"remove", 2},
      {"insert", 2}, {"min", 2},    {"max", 2},  {"empty", 1}, {"range", 1},
  };
  return arity;
}

// The built-in names of a layer, in slot order.
constexpr std::string_view kBuiltins[] = {"me", "group_size", "peers", "now", "lamport"};
constexpr std::uint32_t kNow = 3;
constexpr std::uint32_t kLamport = 4;

// ---------------------------------------------------------------------------- scopes

struct Var {
  std::string name;
  TypeRef type;
  SourceLoc loc;
};

using Headers = std::map<std::string, TypeRef, std::less<>>;

// The names an automaton, layer, composite or stack declares for its insides.
struct Unit {
  std::string name;
  const char* what = "automaton";
  std::vector<Var> vars; // parameters, then state variables (the State slots)
  std::size_t params = 0;
  Headers headers; // layers
  bool layer = false;
};

struct Local {
  std::string name;
  TypeRef type;
  std::uint32_t slot = 0;
  bool assignable = true; // `let`; a `for` variable is not
};

// What names mean where an expression or statement is being checked.
struct Scope {
  const Unit* unit = nullptr;
  std::size_t visible = std::numeric_limits<std::size_t>::max(); // initial values: earlier vars
  std::vector<Var> action; // the parameters of the transition (or of the ccp's event)
  std::string action_name; // for messages
  std::vector<Local> locals;
  std::uint32_t next_local = 0;
  bool event = false;                   // now and lamport have values (layer transitions and ccps)
  bool effect = false;                  // statements may assign
  const Automaton* composite = nullptr; // invariants of a composite: its components
};

// ------------------------------------------------------------------------------ checker

class Checker {
public:
  Checker(Program& program, Diagnostics& diags) : program_(program), diags_(diags) {}

  void run() {
    for_each<TypeDecl>([&](TypeDecl& d) { resolve_decl(d); });
    for_each<Header>([&](Header& h) { top_level(h); });
    for_each<OracleDecl>([&](OracleDecl& o) { declare(o); });
    for_each<Automaton>([&](Automaton& a) { declare(a); });
    for_each<Layer>([&](Layer& l) { declare(l); });
    for_each<Automaton>([&](Automaton& a) {
      if (!a.composite) body(a);
    });
    for_each<Layer>([&](Layer& l) { body(l); });
    for_each<Automaton>([&](Automaton& a) {
      if (a.composite) composite(a);
    });
    for_each<Stack>([&](Stack& s) { stack(s); });
    for_each<Invariant>([&](Invariant& i) { invariant(i); });
  }

private:
  template <class T, class F>
  void for_each(F&& f) {
    for (SpecFile& file : program_.files) {
      for (Decl& decl : file.decls) {
        if (auto* d = std::get_if<T>(&decl)) f(*d);
      }
    }
  }

  void error(SourceLoc loc, std::string message) { diags_.error(loc, std::move(message)); }
  void note(SourceLoc loc, std::string message) { diags_.note(loc, std::move(message)); }
  void warning(SourceLoc loc, std::string message) { diags_.warning(loc, std::move(message)); }
  void suggest(SourceLoc loc, std::string_view name, const std::vector<std::string>& candidates) {
    if (auto close = closest_name(name, candidates)) {
      note(loc, fmt::format("did you mean '{}'?", *close));
    }
  }
  static TypeRef err() { return builtin().error; }

  // --------------------------------------------------------------------- pass 1: types

  TypeRef resolve_decl(TypeDecl& d) {
    if (d.resolved) return d.resolved;
    if (resolving_.contains(&d)) {
      error(d.loc, fmt::format("type '{}' is defined in terms of itself", d.name));
      d.resolved = err();
      return d.resolved;
    }
    resolving_.insert(&d);
    TypeRef t;
    switch (d.form) {
    case TypeDecl::Form::Enumeration:
      t = enumeration(d);
      break;
    case TypeDecl::Form::Record:
      t = record(d.name, d.fields, nullptr, false);
      break;
    case TypeDecl::Form::Alias:
      t = resolve(d.alias, nullptr);
      break;
    }
    resolving_.erase(&d);
    if (!d.resolved) d.resolved = t ? t : err();
    return d.resolved;
  }

  TypeRef enumeration(TypeDecl& d) {
    auto t = std::make_shared<Type>();
    t->kind = TypeKind::Enum;
    t->name = d.name;
    t->enumerators = d.enumerators;
    TypeRef ref = t;
    for (std::size_t i = 0; i < d.enumerators.size(); ++i) {
      const std::string& name = d.enumerators[i];
      SourceLoc loc = i < d.enumerator_locs.size() ? d.enumerator_locs[i] : d.loc;
      if (name.empty()) continue;
      auto [it, fresh] =
          enumerators_.emplace(name, Enumerator{ref, static_cast<std::uint32_t>(i), loc});
      if (!fresh) {
        // Enumerators are found by name alone, so one name means one value everywhere.
        error(loc, fmt::format("enumerator '{}' is already declared in '{}'", name,
                               it->second.type->name));
        note(it->second.loc, fmt::format("'{}' is declared here", name));
      }
    }
    return ref;
  }

  TypeRef record(const std::string& name, std::vector<std::pair<std::string, TypeExpr>>& fields,
                 const Headers* headers, bool header) {
    auto t = std::make_shared<Type>();
    t->kind = TypeKind::Record;
    t->name = name;
    t->is_header = header;
    std::map<std::string, SourceLoc, std::less<>> seen;
    for (auto& [field, type] : fields) {
      // A header's fields are integers on the wire, never headers: they are resolved without the
      // layer's headers, and a header named there (or at the top level) gets the message below.
      const bool names_header =
          header && ((headers && headers->contains(type.name)) || program_.header(type.name));
      TypeRef ft =
          names_header ? (type.resolved = err()) : resolve(type, header ? nullptr : headers);
      if (!field.empty() && !seen.emplace(field, type.loc).second) {
        error(type.loc, fmt::format("'{}' has two fields named '{}'", name, field));
      }
      if (header && (names_header || (!is_error(ft) && !header_field_ok(ft)))) {
        error(type.loc, fmt::format("header field '{}' has type {}; header fields are fixed-width "
                                    "integers (u8 .. u64, i8 .. i64, Peer, Time) or enumerations",
                                    field, names_header ? type.name : show(ft)));
      }
      t->fields.emplace_back(field, names_header ? err() : ft);
    }
    return t;
  }

  static bool header_field_ok(const TypeRef& t) {
    // An enumeration goes on the wire as a u8.
    if (is_kind(t, TypeKind::Enum)) return t->enumerators.size() <= 256;
    return is_fixed(t);
  }

  // A header declared at the top level of a file (owned by no layer), resolved on first use:
  // a type declaration may name one. Null if there is none of that name.
  TypeRef top_header(std::string_view name) {
    Header* h = program_.header(name);
    if (h == nullptr) return nullptr;
    if (h->resolved) return h->resolved;
    if (!resolving_headers_.insert(h).second) return err(); // reported by record()
    TypeRef t = record(h->name, h->fields, nullptr, true);
    resolving_headers_.erase(h);
    if (!h->resolved) h->resolved = t;
    return h->resolved;
  }

  // Whether `name` is a type the language builds in (a header or oracle may not take it).
  static bool is_builtin_type(std::string_view name) {
    return builtin().by_name.contains(name) || name == "Seq" || name == "Set" || name == "Map";
  }

  void top_level(Header& h) {
    if (is_builtin_type(h.name)) {
      error(h.loc, fmt::format("'{}' is a built-in type; a header needs another name", h.name));
    }
    // A second header of one name has been reported by Program::index; it is checked alone.
    if (program_.header(h.name) == &h) {
      top_header(h.name);
    } else {
      h.resolved = record(h.name, h.fields, nullptr, true);
    }
  }

  // Resolves a type as written; `headers`: those of the layer it is written in.
  TypeRef resolve(TypeExpr& te, const Headers* headers) {
    te.resolved = resolve_inner(te, headers);
    return te.resolved;
  }

  TypeRef resolve_inner(TypeExpr& te, const Headers* headers) {
    if (te.name.empty()) return err();
    auto arity = [&](std::size_t n, const char* form) {
      if (te.args.size() == n) return true;
      error(te.loc, fmt::format("'{}' takes {} type{}: {}", te.name, n, n == 1 ? "" : "s", form));
      for (TypeExpr& a : te.args) resolve(a, headers);
      return false;
    };
    if (te.name == "Seq" || te.name == "Set") {
      if (!arity(1, te.name == "Seq" ? "Seq[T]" : "Set[T]")) return err();
      TypeRef elem = resolve(te.args[0], headers);
      if (is_error(elem)) return err();
      return container(te.name == "Seq" ? TypeKind::Seq : TypeKind::Set, elem);
    }
    if (te.name == "Map") {
      if (!arity(2, "Map[K, V]")) return err();
      TypeRef key = resolve(te.args[0], headers);
      TypeRef value = resolve(te.args[1], headers);
      if (is_error(key) || is_error(value)) return err();
      return container(TypeKind::Map, key, value);
    }
    TypeRef found;
    if (auto it = builtin().by_name.find(te.name); it != builtin().by_name.end()) {
      found = it->second;
    } else if (auto h = headers ? headers->find(te.name) : Headers::const_iterator{};
               headers && h != headers->end()) {
      found = h->second;
    } else if (TypeRef top = top_header(te.name)) {
      found = top;
    } else if (TypeDecl* d = program_.type(te.name)) {
      found = resolve_decl(*d);
    }
    if (found) {
      if (!te.args.empty()) {
        error(te.loc, fmt::format("'{}' takes no type arguments", te.name));
        for (TypeExpr& a : te.args) resolve(a, headers);
      }
      return found;
    }
    for (TypeExpr& a : te.args) resolve(a, headers);
    if (program_.automaton(te.name) || program_.layer(te.name) || program_.stack(te.name) ||
        program_.oracle(te.name)) {
      error(te.loc, fmt::format("'{}' is not a type", te.name));
      return err();
    }
    error(te.loc, fmt::format("unknown type '{}'", te.name));
    std::vector<std::string> names = {"Seq", "Set", "Map"};
    for (const auto& [name, t] : builtin().by_name) names.push_back(name);
    if (headers) {
      for (const auto& [name, t] : *headers) names.push_back(name);
    }
    for_each<TypeDecl>([&](TypeDecl& d) { names.push_back(d.name); });
    for_each<Header>([&](Header& h) { names.push_back(h.name); });
    suggest(te.loc, te.name, names);
    return err();
  }

  // ------------------------------------------------ pass 2: outsides of automata and layers

  void declare_params(Unit& unit, std::vector<Param>& params) {
    for (Param& p : params) add_var(unit, p.name, resolve(p.type, &unit.headers), p.loc);
    unit.params = unit.vars.size();
  }

  void add_var(Unit& unit, const std::string& name, TypeRef type, SourceLoc loc) {
    if (!name.empty()) {
      for (const Var& v : unit.vars) {
        if (v.name != name) continue;
        error(loc, fmt::format("'{}' is declared twice in {}", name, unit.name));
        note(v.loc, fmt::format("'{}' is first declared here", name));
        break;
      }
      if (unit.layer &&
          std::find(std::begin(kBuiltins), std::end(kBuiltins), name) != std::end(kBuiltins)) {
        error(loc, fmt::format("'{}' is a built-in name in a layer; choose another name", name));
      }
    }
    unit.vars.push_back(Var{name, std::move(type), loc});
  }

  // The headers declared at the top level, which every layer and automaton may use.
  void add_top_headers(Unit& unit) {
    for_each<Header>([&](Header& h) {
      if (!h.name.empty() && h.resolved) unit.headers.emplace(h.name, h.resolved);
    });
  }

  void declare(OracleDecl& o) {
    if (builtin_functions().contains(o.name)) {
      error(o.loc,
            fmt::format("'{}' is a built-in function; an oracle needs another name", o.name));
    } else if (is_builtin_type(o.name)) {
      error(o.loc, fmt::format("'{}' is a built-in type; an oracle needs another name", o.name));
    }
    std::map<std::string, SourceLoc, std::less<>> seen;
    for (auto& [name, type] : o.params) {
      if (!name.empty() && !seen.emplace(name, type.loc).second) {
        error(type.loc, fmt::format("'{}' names two parameters of oracle {}", name, o.name));
      }
      resolve(type, nullptr);
    }
    resolve(o.result, nullptr);
  }

  void declare(Automaton& a) {
    Unit& unit = units_[&a];
    unit.name = a.name;
    unit.what = a.composite ? "composite automaton" : "automaton";
    add_top_headers(unit);
    declare_params(unit, a.params);
    if (a.composite) return;
    for (StateVar& s : a.states) add_var(unit, s.name, resolve(s.type, nullptr), s.loc);

    std::map<std::string, SourceLoc, std::less<>> actions;
    for (ActionSig& sig : a.signature) {
      if (!sig.name.empty()) {
        auto [it, fresh] = actions.emplace(sig.name, sig.loc);
        if (!fresh) {
          error(sig.loc, fmt::format("action '{}' is declared twice in the signature of {}",
                                     sig.name, a.name));
          note(it->second, fmt::format("'{}' is first declared here", sig.name));
        }
      }
      std::set<std::string, std::less<>> formals;
      for (Formal& f : sig.formals) {
        if (!f.name.empty() && !formals.insert(f.name).second) {
          error(f.loc, fmt::format("'{}' names two parameters of '{}'", f.name, sig.name));
        }
        if (!f.is_const) {
          resolve(f.type, nullptr);
          continue;
        }
        // `const x`: the action's parameter in this position is the automaton parameter x.
        std::optional<std::size_t> p = param_index(a.params, f.name);
        if (!p) {
          error(f.loc, fmt::format("'const {}' must name a parameter of {}", f.name, a.name));
          suggest(f.loc, f.name, param_names(a.params));
          f.type.resolved = err();
        } else {
          f.type.resolved = unit.vars[*p].type;
        }
      }
    }
  }

  void declare(Layer& l) {
    Unit& unit = units_[&l];
    unit.name = l.name;
    unit.what = "layer";
    unit.layer = true;
    for (Header& h : l.headers) {
      if (h.name.empty()) continue;
      if (unit.headers.contains(h.name)) {
        error(h.loc, fmt::format("header '{}' is declared twice in {}", h.name, l.name));
      }
      if (const Header* top = program_.header(h.name)) {
        error(h.loc,
              fmt::format("header '{}' of {} has the name of a top-level header", h.name, l.name));
        note(top->loc, fmt::format("the top-level header '{}' is declared here", h.name));
      } else if (program_.type(h.name) || is_builtin_type(h.name)) {
        error(h.loc, fmt::format("header '{}' of {} has the name of a type", h.name, l.name));
      }
      // Every name first, so that a field naming a header is recognised as one.
      unit.headers.emplace(h.name, err());
    }
    for (Header& h : l.headers) {
      h.resolved = record(h.name, h.fields, &unit.headers, true);
      if (!h.name.empty()) unit.headers[h.name] = h.resolved;
    }
    add_top_headers(unit); // a layer's own header of the same name has been reported
    declare_params(unit, l.params);
    for (StateVar& s : l.states) add_var(unit, s.name, resolve(s.type, &unit.headers), s.loc);

    auto check_guarantees = [&](const std::vector<std::string>& names, const char* clause) {
      for (const std::string& g : names) {
        if (g.empty() ||
            std::find(std::begin(kGuarantees), std::end(kGuarantees), g) != std::end(kGuarantees)) {
          continue;
        }
        error(l.loc, fmt::format("unknown guarantee '{}' in '{}' of {}: the guarantees are "
                                 "fifo, reliable and integrity",
                                 g, clause, l.name));
        suggest(l.loc, g, {"fifo", "reliable", "integrity", "lamport"});
      }
    };
    check_guarantees(l.provides, "provides");
    check_guarantees(l.needs, "needs");
  }

  static std::optional<std::size_t> param_index(const std::vector<Param>& params,
                                                std::string_view name) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (params[i].name == name) return i;
    }
    return std::nullopt;
  }

  // Whether `v` lies in the bounds of `p` (true where they are not constants: reported apart).
  static bool within(const Param& p, i128 v) {
    const std::optional<i128> lo = eval_const(p.min.get());
    const std::optional<i128> hi = eval_const(p.max.get());
    return (!lo || v >= *lo) && (!hi || v <= *hi);
  }

  static std::vector<std::string> param_names(const std::vector<Param>& params) {
    std::vector<std::string> names;
    for (const Param& p : params) names.push_back(p.name);
    return names;
  }

  // --------------------------------------------------- pass 3: insides of automata and layers

  // Default values of parameters are constants: literals, enumerators and operators on them.
  void defaults(Unit& unit, std::vector<Param>& params) {
    Unit none;
    none.name = unit.name;
    Scope scope;
    scope.unit = &none;
    for (std::size_t i = 0; i < params.size(); ++i) {
      Param& p = params[i];
      with_scope(scope, [&] {
        if (p.default_value)
          value_into(p.default_value.get(), unit.vars[i].type,
                     fmt::format("the default of '{}'", p.name));
        if (p.min) {
          value_into(p.min.get(), unit.vars[i].type,
                     fmt::format("the least value of '{}'", p.name));
          value_into(p.max.get(), unit.vars[i].type,
                     fmt::format("the greatest value of '{}'", p.name));
        }
      });
      if (p.min) bounds(p);
    }
  }

  // `name: T in [min, max] := default`: constant bounds, in order, around the default.
  void bounds(const Param& p) {
    const std::optional<i128> lo = eval_const(p.min.get());
    const std::optional<i128> hi = eval_const(p.max.get());
    if (!lo) error(p.min->loc, fmt::format("the least value of '{}' must be a constant", p.name));
    if (!hi)
      error(p.max->loc, fmt::format("the greatest value of '{}' must be a constant", p.name));
    if (!lo || !hi) return;
    if (*lo > *hi) {
      error(p.min->loc, fmt::format("the values of '{}' are empty: its least value {} is above "
                                    "its greatest {}",
                                    p.name, const_text(lo), const_text(hi)));
      return;
    }
    if (const std::optional<i128> d = eval_const(p.default_value.get());
        d && (*d < *lo || *d > *hi))
      error(p.default_value->loc,
            fmt::format("the default of '{}', {}, is outside its values [{}, {}]", p.name,
                        const_text(d), const_text(lo), const_text(hi)));
  }

  void initial_values(Unit& unit, std::vector<StateVar>& states) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (!states[i].init) continue;
      Scope scope;
      scope.unit = &unit;
      scope.visible = unit.params + i; // the parameters and the variables before this one
      with_scope(scope, [&] {
        value_into(states[i].init.get(), unit.vars[unit.params + i].type,
                   fmt::format("the initial value of '{}'", states[i].name));
      });
    }
  }

  void body(Automaton& a) {
    Unit& unit = units_[&a];
    defaults(unit, a.params);
    initial_values(unit, a.states);

    // Each action has at most one transition. IOA allows several (their preconditions split
    // the cases); Lamina keeps an action's behaviour in one place, and the simulator binds an
    // action to one transition.
    std::map<std::string, const Transition*, std::less<>> seen;
    for (Transition& t : a.transitions) {
      if (t.port || t.event) {
        error(t.loc, "up/down events are the inputs of layers; an automaton's transitions name "
                     "actions of its signature");
      }
      if (!t.name.empty()) {
        auto [it, fresh] = seen.emplace(t.name, &t);
        if (!fresh) {
          error(t.loc, fmt::format("'{}' has a second transition; each action has at most one "
                                   "(merge them, splitting the cases with 'if')",
                                   t.name));
          note(it->second->loc, "the first transition is here");
        }
      }
      transition(a, unit, t);
    }
    for (const ActionSig& sig : a.signature) {
      if (sig.kind == ActionKind::Input || sig.name.empty() || seen.contains(sig.name)) continue;
      warning(sig.loc, fmt::format("{} '{}' has no transition: the simulator never takes it",
                                   kind_word(sig.kind), sig.name));
    }
  }

  const ActionSig* find_action(const Automaton& a, std::string_view name) {
    for (const ActionSig& sig : a.signature) {
      if (sig.name == name) return &sig;
    }
    return nullptr;
  }

  void transition(Automaton& a, Unit& unit, Transition& t) {
    const ActionSig* sig = t.name.empty() ? nullptr : find_action(a, t.name);
    if (!t.name.empty() && sig == nullptr) {
      error(t.loc, fmt::format("'{}' is not an action of the signature of {}", t.name, a.name));
      std::vector<std::string> names;
      for (const ActionSig& s : a.signature) names.push_back(s.name);
      suggest(t.loc, t.name, names);
    }
    if (sig && sig->kind != t.kind) {
      // input, output and internal all take "an".
      error(t.loc, fmt::format("'{}' is an {} in the signature of {}, not an {}", t.name,
                               kind_word(sig->kind), a.name, kind_word(t.kind)));
      note(sig->loc, fmt::format("'{}' is declared here", t.name));
    }
    if (sig && sig->formals.size() != t.params.size()) {
      error(t.loc, fmt::format("'{}' has {} parameter{} in the signature, but its transition "
                               "names {}",
                               t.name, sig->formals.size(), sig->formals.size() == 1 ? "" : "s",
                               t.params.size()));
      note(sig->loc, fmt::format("'{}' is declared here", t.name));
    }

    t.param_types.assign(t.params.size(), err());
    t.bindings.assign(t.params.size(), ParamBinding{});
    for (std::size_t i = 0; i < t.params.size(); ++i) {
      SourceLoc loc = i < t.param_locs.size() ? t.param_locs[i] : t.loc;
      for (std::size_t j = 0; j < i; ++j) {
        if (!t.params[i].empty() && t.params[j] == t.params[i]) {
          error(loc, fmt::format("'{}' names two parameters of '{}'", t.params[i], t.name));
          break;
        }
      }
      if (!sig || i >= sig->formals.size()) continue;
      const Formal& f = sig->formals[i];
      t.param_types[i] = f.type.resolved ? f.type.resolved : err();
      if (f.is_const) {
        if (t.params[i] != f.name && !t.params[i].empty()) {
          error(loc, fmt::format("the signature has 'const {}' here: the transition must name "
                                 "it '{}'",
                                 f.name, f.name));
        }
        if (auto p = param_index(a.params, f.name)) {
          t.bindings[i].source = ParamBinding::Source::Const;
          t.bindings[i].state_slot = static_cast<std::uint32_t>(*p);
        }
      }
    }

    Scope scope;
    scope.unit = &unit;
    scope.action_name = t.name;
    for (std::size_t i = 0; i < t.params.size(); ++i) {
      scope.action.push_back(
          Var{t.params[i], t.param_types[i], i < t.param_locs.size() ? t.param_locs[i] : t.loc});
    }
    with_scope(scope, [&] {
      precondition(t);
      bind(t);
      scope.effect = true;
      stmts(t.eff);
    });
    t.locals = scope.next_local;
  }

  void precondition(Transition& t) {
    if (!t.pre) return;
    condition(t.pre.get(), "the precondition");
    if (t.kind == ActionKind::Input) {
      error(t.pre->loc, fmt::format("input '{}' has a 'pre': inputs are always enabled", t.name));
    } else if (is_bool_literal(t.pre.get(), false)) {
      warning(t.pre->loc, fmt::format("the precondition of '{}' is 'false': the action is never "
                                      "enabled",
                                      t.name));
    }
  }

  // Decides how each parameter of a transition gets its value (ParamBinding).
  void bind(Transition& t) {
    std::vector<const Expr*> parts;
    conjuncts(t.pre.get(), parts);
    for (std::size_t i = 0; i < t.params.size(); ++i) {
      ParamBinding& b = t.bindings[i];
      if (b.source == ParamBinding::Source::Const || t.kind == ActionKind::Input) continue;
      if (t.params[i].empty()) continue;
      const Expr* later = nullptr; // an `x = e` whose e reads a parameter bound after x
      for (const Expr* part : parts) {
        const auto* eq = std::get_if<Binary>(&part->node);
        if (eq == nullptr || eq->op != BinaryOp::Eq) continue;
        for (const auto& [side, other] :
             {std::pair{eq->lhs.get(), eq->rhs.get()}, std::pair{eq->rhs.get(), eq->lhs.get()}}) {
          const Name* n = as_name(side);
          if (!n || n->kind != NameKind::Param || n->slot != i || !other) continue;
          std::set<std::uint32_t> reads;
          params_read(other, reads);
          bool ready = std::all_of(reads.begin(), reads.end(), [&](std::uint32_t j) {
            return j < t.bindings.size() && j != i &&
                   (t.bindings[j].source == ParamBinding::Source::Const ||
                    (j < i && t.bindings[j].source == ParamBinding::Source::Equality));
          });
          if (!ready) {
            if (!later) later = part;
            continue;
          }
          if (b.source != ParamBinding::Source::Equality) {
            b.source = ParamBinding::Source::Equality;
            b.expr = other;
          }
        }
        if (b.source == ParamBinding::Source::Equality) break;
      }
      if (b.source == ParamBinding::Source::Equality) continue;
      SourceLoc loc = i < t.param_locs.size() ? t.param_locs[i] : t.loc;
      error(loc, fmt::format("parameter '{}' of {} '{}' is not bound: add a conjunct '{} = ...' "
                             "to the precondition",
                             t.params[i], kind_word(t.kind), t.name, t.params[i]));
      if (later) {
        note(later->loc, "this conjunct reads a parameter that is itself bound by the "
                         "precondition, after this one: parameters are bound in order");
      }
    }
  }

  void body(Layer& l) {
    Unit& unit = units_[&l];
    defaults(unit, l.params);
    initial_values(unit, l.states);

    std::map<std::string, const Transition*, std::less<>> seen;
    for (Transition& t : l.transitions) {
      const bool timer = !t.port && !t.event;
      const std::string what = t.port && t.event ? event_text(*t.port, *t.event) : "timer";
      if (t.kind != ActionKind::Input) {
        error(t.loc, "a layer's transitions are inputs: 'input down.send(p, m)', 'input "
                     "down.cast(m)', 'input up.deliver(p, m)' or 'input timer'");
      }
      std::vector<TypeRef> types;
      bool known = true; // an event a layer takes
      if (timer) {
        if (t.name != "timer" && !t.name.empty()) {
          error(t.loc,
                fmt::format("a layer takes events from up or down, or 'timer', not '{}'", t.name));
        }
      } else if (!t.port || !t.event || !is_layer_event(*t.port, *t.event)) {
        known = false;
        error(t.loc, fmt::format("a layer takes down.send, down.cast, up.deliver or timer as "
                                 "input, not {}",
                                 what));
      } else if (*t.event == EventKind::Cast) {
        types = {builtin().msg};
      } else {
        types = {builtin().peer, builtin().msg};
      }
      if (known && t.params.size() != types.size()) {
        error(t.loc, fmt::format("'input {}' has {}, not {} parameter{}", what,
                                 types.empty()       ? "no parameters"
                                 : types.size() == 1 ? "one parameter (the message)"
                                                     : "two parameters (the peer and the message)",
                                 t.params.size(), t.params.size() == 1 ? "" : "s"));
      }
      auto [it, fresh] = seen.emplace(what, &t);
      if (!fresh) {
        error(t.loc, fmt::format("{} has a second transition in {}; each event has at most one",
                                 what, l.name));
        note(it->second->loc, "the first transition is here");
      }
      if (t.pre) {
        error(t.pre->loc, "a layer's inputs are always enabled: they have no 'pre'");
      }

      t.param_types.assign(t.params.size(), err());
      t.bindings.assign(t.params.size(), ParamBinding{}); // all Environment
      Scope scope;
      scope.unit = &unit;
      scope.action_name = what;
      scope.event = true;
      for (std::size_t i = 0; i < t.params.size(); ++i) {
        if (i < types.size()) t.param_types[i] = types[i];
        scope.action.push_back(
            Var{t.params[i], t.param_types[i], i < t.param_locs.size() ? t.param_locs[i] : t.loc});
      }
      with_scope(scope, [&] {
        if (t.pre) condition(t.pre.get(), "the precondition");
        scope.effect = true;
        stmts(t.eff);
      });
      t.locals = scope.next_local;
    }

    std::set<std::string> ccps;
    for (Ccp& c : l.ccps) ccp(l, unit, c, ccps);
  }

  void ccp(Layer& l, Unit& unit, Ccp& c, std::set<std::string>& seen) {
    const std::string what = event_text(c.port, c.event);
    const Transition* t = nullptr;
    if (!is_layer_event(c.port, c.event)) {
      error(c.loc, fmt::format("a ccp is for down.send, down.cast or up.deliver, not {}", what));
    } else if (t = layer_input(l, c.port, c.event); t == nullptr) {
      error(c.loc, fmt::format("ccp for {}, but {} has no 'input {}'", what, l.name, what));
    }
    if (!seen.insert(what).second) {
      error(c.loc, fmt::format("{} has a second ccp for {}", l.name, what));
    }
    Scope scope;
    scope.unit = &unit;
    scope.action_name = what;
    scope.event = true;
    if (t) {
      for (std::size_t i = 0; i < t->params.size(); ++i) {
        scope.action.push_back(Var{t->params[i], t->param_types[i], t->loc});
      }
    }
    with_scope(scope, [&] { condition(c.predicate.get(), "a ccp"); });
  }

  // ---------------------------------------------------------------------------- statements

  void stmts(Stmts& list) {
    const std::size_t visible = scope_->locals.size();
    for (auto& s : list) {
      if (s) stmt(*s);
    }
    scope_->locals.resize(visible); // a let is visible to the end of its block
  }

  void stmt(Stmt& s) {
    std::visit([&](auto& n) { stmt(s, n); }, s.node);
  }

  void stmt(Stmt& /*s*/, Assign& a) {
    TypeRef target = expr(a.target.get(), nullptr);
    assignable(a.target.get());
    if (!a.value) return;
    TypeRef value = expr(a.value.get(), target);
    if (!flows_into(value, target)) {
      error(a.value->loc, fmt::format("cannot assign {} to '{}', which is {}", show(value),
                                      lvalue_text(a.target.get()), show(target)));
    }
  }

  // Whether an assignment's target is a state variable, a let or lamport, or a part of one.
  void assignable(const Expr* target) {
    const Expr* root = target;
    while (root) {
      if (const auto* f = std::get_if<FieldAccess>(&root->node)) {
        root = f->record.get();
      } else if (const auto* i = std::get_if<IndexAccess>(&root->node)) {
        root = i->collection.get();
      } else {
        break;
      }
    }
    if (!root) return;
    const Name* n = as_name(root);
    if (!n) {
      error(root->loc, "the left side of ':=' must be a variable, or a field or element of one");
      return;
    }
    switch (n->kind) {
    case NameKind::Unresolved:
      return; // reported
    case NameKind::State:
      if (n->slot < scope_->unit->params) {
        error(root->loc, fmt::format("cannot assign to '{}': it is a parameter of {}, not a "
                                     "state variable",
                                     n->ident, scope_->unit->name));
      }
      return;
    case NameKind::Param:
      error(root->loc, fmt::format("cannot assign to '{}': the parameters of '{}' are read-only",
                                   n->ident, scope_->action_name));
      return;
    case NameKind::Local:
      for (const Local& l : scope_->locals) {
        if (l.slot == n->slot && !l.assignable) {
          error(root->loc, fmt::format("cannot assign to the loop variable '{}'", n->ident));
        }
      }
      return;
    case NameKind::Builtin:
      if (n->slot != kLamport) {
        error(root->loc, fmt::format("cannot assign to the built-in '{}': of the built-ins, only "
                                     "'lamport' is assignable",
                                     n->ident));
      }
      return;
    case NameKind::Enumerator:
      error(root->loc, fmt::format("cannot assign to the enumerator '{}'", n->ident));
      return;
    case NameKind::Component:
      return; // reported
    }
  }

  void stmt(Stmt& /*s*/, If& i) {
    std::optional<SourceLoc> always; // an earlier condition that is the literal `true`
    bool warned = false;
    for (std::size_t b = 0; b < i.branches.size(); ++b) {
      auto& [cond, body] = i.branches[b];
      condition(cond.get(), b == 0 ? "the condition of 'if'" : "the condition of 'elseif'");
      if (cond && always && !warned) {
        warning(cond->loc, "this branch is never taken: an earlier condition is 'true'");
        warned = true;
      } else if (is_bool_literal(cond.get(), false)) {
        warning(cond->loc, "this branch is never taken: its condition is 'false'");
      }
      if (is_bool_literal(cond.get(), true) && !always) always = cond->loc;
      stmts(body);
    }
    if (always && !warned && !i.otherwise.empty() && i.otherwise.front()) {
      warning(i.otherwise.front()->loc,
              "the 'else' branch is never taken: an earlier condition is 'true'");
    }
    stmts(i.otherwise);
  }

  void stmt(Stmt& s, Let& l) {
    TypeRef t = expr(l.value.get(), nullptr);
    if (!l.name.empty() && lookup_variable(l.name)) {
      error(s.loc, fmt::format("'let {}' hides another '{}'; choose another name", l.name, l.name));
    }
    l.slot = scope_->next_local++;
    scope_->locals.push_back(Local{l.name, t, l.slot, true});
  }

  void stmt(Stmt& s, For& f) {
    TypeRef range = expr(f.range.get(), nullptr);
    TypeRef elem = err();
    if (is_kind(range, TypeKind::Seq) || is_kind(range, TypeKind::Set) ||
        is_kind(range, TypeKind::Map)) {
      elem = range->elem; // of a map: its keys
    } else if (!is_error(range)) {
      error(f.range->loc,
            fmt::format("'for' runs over a sequence, set or map (its keys), not {}", show(range)));
    }
    if (!f.var.empty() && lookup_variable(f.var)) {
      error(s.loc, fmt::format("'for {}' hides another '{}'; choose another name", f.var, f.var));
    }
    f.slot = scope_->next_local++;
    scope_->locals.push_back(Local{f.var, elem, f.slot, false});
    stmts(f.body);
    scope_->locals.pop_back();
  }

  void stmt(Stmt& s, Emit& e) {
    const std::string what = event_text(e.port, e.event);
    if (!scope_->unit->layer) {
      error(s.loc, "'emit' is for layers; an automaton's outputs are its output actions");
    } else if (!is_layer_event(e.port, e.event)) {
      error(s.loc, fmt::format("a layer emits down.send, down.cast or up.deliver, not {}", what));
    }
    std::vector<TypeRef> types = {builtin().peer, builtin().msg};
    if (e.event == EventKind::Cast) types = {builtin().msg};
    if (e.args.size() != types.size() && is_layer_event(e.port, e.event)) {
      error(s.loc, fmt::format("'emit {}' takes {}, not {} argument{}", what,
                               types.size() == 1 ? "(message)" : "(peer, message)", e.args.size(),
                               e.args.size() == 1 ? "" : "s"));
    }
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      TypeRef want = i < types.size() ? types[i] : nullptr;
      TypeRef got = expr(e.args[i].get(), want);
      if (want && e.args[i] && !flows_into(got, want)) {
        error(e.args[i]->loc,
              fmt::format("the {} of 'emit {}' must be {}, not {}",
                          want == builtin().msg ? "message" : "peer", what, show(want), show(got)));
      }
    }
    if (e.lamport) value_into(e.lamport.get(), builtin().u64, "the lamport time of an emit");
  }

  void stmt(Stmt& s, SetTimer& t) {
    if (!scope_->unit->layer) error(s.loc, "'set_timer' is for layers");
    value_into(t.delay.get(), builtin().time, "the delay of 'set_timer'");
  }

  void stmt(Stmt& /*s*/, Skip& /*skip*/) {}

  // Checks an expression that must be Bool.
  void condition(Expr* e, const char* what) {
    TypeRef t = expr(e, builtin().boolean);
    if (e && !is_error(t) && !is_kind(t, TypeKind::Bool)) {
      error(e->loc, fmt::format("{} must be Bool, not {}", what, show(t)));
    }
  }

  // Checks an expression whose value goes where `want` is declared.
  void value_into(Expr* e, const TypeRef& want, const std::string& what) {
    TypeRef t = expr(e, want);
    if (e && !flows_into(t, want)) {
      error(e->loc, fmt::format("{} must be {}, not {}", what, show(want), show(t)));
    }
  }

  // --------------------------------------------------------------------------- expressions

  TypeRef expr(Expr* e, const TypeRef& hint) {
    if (e == nullptr) return err();
    TypeRef t = std::visit([&](auto& n) { return node(*e, n, hint); }, e->node);
    e->type = t ? t : err();
    return e->type;
  }

  // A literal without a context is Int; one that does not fit its type is an error.
  TypeRef literal(SourceLoc loc, u128 value, bool negated, const TypeRef& hint) {
    TypeRef t = is_integer(hint) ? hint : builtin().integer;
    if (value > literal_limit(*t, negated)) {
      error(loc, fmt::format("{}{} does not fit {} ({})", negated ? "-" : "", to_string(value),
                             show(t), range_text(*t)));
    }
    return t;
  }

  static std::string range_text(const Type& t) {
    if (t.kind == TypeKind::Fixed) {
      if (!t.is_signed) return fmt::format("0 .. {}", to_string(literal_limit(t, false)));
      return fmt::format("-{} .. {}", to_string(literal_limit(t, true)),
                         to_string(literal_limit(t, false)));
    }
    if (t.kind == TypeKind::Nat) return "never negative";
    return "128 bits";
  }

  TypeRef node(Expr& e, IntLit& n, const TypeRef& hint) {
    // A time literal (20ms) is a Time whatever its context.
    return literal(e.loc, n.value, false, n.is_time ? builtin().time : hint);
  }

  TypeRef node(Expr& /*e*/, BoolLit& /*n*/, const TypeRef& /*hint*/) { return builtin().boolean; }

  TypeRef node(Expr& e, CollectionLit& n, const TypeRef& hint) {
    if (is_kind(hint, TypeKind::Seq) || is_kind(hint, TypeKind::Set)) {
      for (auto& x : n.elems) {
        TypeRef t = expr(x.get(), hint->elem);
        if (x && !flows_into(t, hint->elem)) {
          error(x->loc, fmt::format("an element of {} must be {}, not {}", show(hint),
                                    show(hint->elem), show(t)));
        }
      }
      return hint;
    }
    if (is_kind(hint, TypeKind::Map) || is_kind(hint, TypeKind::Msg)) {
      if (!n.elems.empty()) {
        error(e.loc, is_kind(hint, TypeKind::Map)
                         ? "a map is written '{}' (empty) or built with m[k] := v"
                         : "a message is written '{}' (empty) or built with push and concat");
      }
      for (auto& x : n.elems) expr(x.get(), nullptr);
      return hint;
    }
    if (n.elems.empty()) {
      if (hint && !is_error(hint)) {
        error(e.loc, fmt::format("'{{}}' is an empty sequence, set, map or message, but {} is "
                                 "expected here",
                                 show(hint)));
      } else if (!hint) {
        error(e.loc, "cannot tell whether '{}' is a sequence, set or map here");
      }
      return err();
    }
    // Without a context, `{a, b}` is a sequence of the first element's type.
    TypeRef elem = expr(n.elems.front().get(), nullptr);
    for (std::size_t i = 1; i < n.elems.size(); ++i) {
      TypeRef t = expr(n.elems[i].get(), elem);
      if (n.elems[i] && !flows_into(t, elem)) {
        error(n.elems[i]->loc,
              fmt::format("the elements of '{{...}}' must all be {}, not {}", show(elem), show(t)));
      }
    }
    if (is_error(elem)) return err();
    return container(TypeKind::Seq, elem);
  }

  // A variable in scope: a local, an action parameter or a visible state variable.
  std::optional<std::pair<NameKind, std::uint32_t>> lookup_variable(std::string_view name) {
    for (auto it = scope_->locals.rbegin(); it != scope_->locals.rend(); ++it) {
      if (it->name == name) return std::pair{NameKind::Local, it->slot};
    }
    for (std::size_t i = 0; i < scope_->action.size(); ++i) {
      if (scope_->action[i].name == name) {
        return std::pair{NameKind::Param, static_cast<std::uint32_t>(i)};
      }
    }
    const auto& vars = scope_->unit->vars;
    for (std::size_t i = 0; i < vars.size() && i < scope_->visible; ++i) {
      if (vars[i].name == name) return std::pair{NameKind::State, static_cast<std::uint32_t>(i)};
    }
    return std::nullopt;
  }

  std::optional<std::size_t> component_index(std::string_view name) const {
    if (!scope_->composite) return std::nullopt;
    const auto& components = scope_->composite->components;
    for (std::size_t i = 0; i < components.size(); ++i) {
      if (components[i].name == name) return i;
    }
    return std::nullopt;
  }

  TypeRef node(Expr& e, Name& n, const TypeRef& /*hint*/) {
    if (n.ident.empty()) return err();
    // Variables come first: a variable named like an enumerator hides the enumerator.
    if (auto v = lookup_variable(n.ident)) {
      n.kind = v->first;
      n.slot = v->second;
      switch (n.kind) {
      case NameKind::Local:
        for (const Local& l : scope_->locals) {
          if (l.slot == n.slot) return l.type;
        }
        return err();
      case NameKind::Param:
        return scope_->action[n.slot].type;
      default:
        return scope_->unit->vars[n.slot].type;
      }
    }
    if (auto c = component_index(n.ident)) {
      n.kind = NameKind::Component;
      n.slot = static_cast<std::uint32_t>(*c);
      error(e.loc, fmt::format("'{}' is a component of {}: name one of its variables, as in "
                               "'{}.x'",
                               n.ident, scope_->composite->name, n.ident));
      return err();
    }
    if (scope_->unit->layer) {
      for (std::uint32_t slot = 0; slot < std::size(kBuiltins); ++slot) {
        if (kBuiltins[slot] != n.ident) continue;
        n.kind = NameKind::Builtin;
        n.slot = slot;
        if (slot >= kNow && !scope_->event) {
          error(e.loc, fmt::format("'{}' belongs to the event being handled; there is none here",
                                   n.ident));
          return err();
        }
        switch (slot) {
        case 0:
          return builtin().peer;
        case 1:
          return builtin().u32;
        case 2:
          return builtin().peers;
        case kNow:
          return builtin().time;
        default:
          return builtin().u64;
        }
      }
    }
    if (auto it = enumerators_.find(n.ident); it != enumerators_.end()) {
      n.kind = NameKind::Enumerator;
      n.slot = it->second.index;
      return it->second.type;
    }
    if (program_.type(n.ident) || scope_->unit->headers.contains(n.ident) ||
        program_.header(n.ident)) {
      error(e.loc, fmt::format("'{}' is a type, not a value", n.ident));
      return err();
    }
    error(e.loc, fmt::format("unknown name '{}'", n.ident));
    suggest(e.loc, n.ident, visible_names());
    return err();
  }

  std::vector<std::string> visible_names() const {
    std::vector<std::string> names;
    for (const Local& l : scope_->locals) names.push_back(l.name);
    for (const Var& v : scope_->action) names.push_back(v.name);
    const auto& vars = scope_->unit->vars;
    for (std::size_t i = 0; i < vars.size() && i < scope_->visible; ++i) {
      names.push_back(vars[i].name);
    }
    if (scope_->unit->layer) {
      for (std::size_t i = 0; i < (scope_->event ? std::size(kBuiltins) : kNow); ++i) {
        names.emplace_back(kBuiltins[i]);
      }
    }
    if (scope_->composite) {
      for (const Component& c : scope_->composite->components) names.push_back(c.name);
    }
    for (const auto& [name, en] : enumerators_) names.push_back(name);
    return names;
  }

  TypeRef node(Expr& e, Unary& u, const TypeRef& hint) {
    if (u.op == UnaryOp::Not) {
      TypeRef t = expr(u.operand.get(), builtin().boolean);
      if (u.operand && !is_error(t) && !is_kind(t, TypeKind::Bool)) {
        error(u.operand->loc, fmt::format("'¬' needs a Bool operand, not {}", show(t)));
      }
      return builtin().boolean;
    }
    if (u.operand && std::holds_alternative<IntLit>(u.operand->node)) {
      // `-lit` is one literal: -128 fits i8 although 128 does not.
      const IntLit& lit = std::get<IntLit>(u.operand->node);
      const u128 value = lit.value;
      TypeRef t = literal(e.loc, value, true, lit.is_time ? builtin().time : hint);
      u.operand->type = value <= literal_limit(*t, false) ? t : builtin().integer;
      return t;
    }
    TypeRef t = expr(u.operand.get(), nullptr);
    if (is_error(t)) return err();
    if (!is_integer(t)) {
      error(u.operand->loc, fmt::format("'-' needs an integer operand, not {}", show(t)));
      return err();
    }
    return builtin().integer; // exact, like the other arithmetic
  }

  // Checks two operands; a literal operand takes its type from the other operand, through
  // `lhs_hint` or `rhs_hint` (the other's type -> the literal's).
  using Hint = std::function<TypeRef(const TypeRef&)>;
  std::pair<TypeRef, TypeRef> operands(Expr* lhs, Expr* rhs, const TypeRef& hint,
                                       const Hint& rhs_hint, const Hint& lhs_hint) {
    if (takes_context(lhs) && !takes_context(rhs)) {
      TypeRef r = expr(rhs, nullptr);
      TypeRef l = expr(lhs, is_error(r) ? hint : lhs_hint(r));
      return {l, r};
    }
    TypeRef l = expr(lhs, hint);
    TypeRef r = expr(rhs, is_error(l) ? nullptr : rhs_hint(l));
    return {l, r};
  }
  std::pair<TypeRef, TypeRef> operands(Binary& b, const TypeRef& hint, const Hint& rhs_hint,
                                       const Hint& lhs_hint) {
    return operands(b.lhs.get(), b.rhs.get(), hint, rhs_hint, lhs_hint);
  }

  TypeRef node(Expr& e, Binary& b, const TypeRef& hint) {
    auto same = [](const TypeRef& t) { return t; };
    // Against an integer, a literal is an exact Int: `x + 300` and `x < 300` are fine for a u8
    // x. Against anything else it takes the other side's type (`s = {}`).
    auto exact = [](const TypeRef& t) { return is_integer(t) ? nullptr : t; };
    auto elem_of = [](const TypeRef& t) -> TypeRef {
      return is_kind(t, TypeKind::Seq) ? t->elem : nullptr;
    };
    auto set_of = [](const TypeRef& t) { return container(TypeKind::Set, t); };
    auto key_of = [](const TypeRef& t) -> TypeRef {
      if (is_kind(t, TypeKind::Seq) || is_kind(t, TypeKind::Set) || is_kind(t, TypeKind::Map)) {
        return t->elem;
      }
      return nullptr;
    };
    const char* op = symbol(b.op);
    switch (b.op) {
    case BinaryOp::Implies:
    case BinaryOp::Or:
    case BinaryOp::And: {
      for (Expr* side : {b.lhs.get(), b.rhs.get()}) {
        TypeRef t = expr(side, builtin().boolean);
        if (side && !is_error(t) && !is_kind(t, TypeKind::Bool)) {
          error(side->loc, fmt::format("'{}' needs Bool operands; this one is {}", op, show(t)));
        }
      }
      return builtin().boolean;
    }
    case BinaryOp::Eq:
    case BinaryOp::Ne: {
      auto [l, r] = operands(b, nullptr, exact, exact);
      if (!comparable(l, r)) {
        error(e.loc, fmt::format("'{}' compares {} with {}", op, show(l), show(r)));
      }
      return builtin().boolean;
    }
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge: {
      auto [l, r] = operands(b, nullptr, exact, exact);
      integer_operands(b.lhs.get(), b.rhs.get(), l, r, op);
      return builtin().boolean;
    }
    case BinaryOp::In:
    case BinaryOp::NotIn: {
      auto [l, r] = operands(b, nullptr, set_of, key_of);
      if (is_error(r) || is_error(l)) return builtin().boolean;
      TypeRef key = key_of(r);
      if (!key) {
        error(b.rhs->loc,
              fmt::format("'{}' needs a set, sequence or map on its right, not {}", op, show(r)));
      } else if (!comparable(l, key)) {
        error(e.loc, fmt::format("'{}' looks for {} in {}", op, show(l), show(r)));
      }
      return builtin().boolean;
    }
    case BinaryOp::Append: {
      auto [l, r] =
          operands(b, hint, elem_of, [](const TypeRef& t) { return container(TypeKind::Seq, t); });
      if (is_error(l)) return err();
      if (!is_kind(l, TypeKind::Seq)) {
        error(b.lhs->loc, fmt::format("'⊢' appends to a sequence; the left side is {}", show(l)));
        return err();
      }
      if (!flows_into(r, l->elem)) {
        error(b.rhs->loc, fmt::format("cannot append {} to {}", show(r), show(l)));
      }
      return l;
    }
    default:
      break;
    }
    const bool wraps =
        b.op == BinaryOp::AddWrap || b.op == BinaryOp::SubWrap || b.op == BinaryOp::MulWrap;
    if (!wraps) {
      // Exact arithmetic: any two integers, an Int result.
      auto [l, r] = operands(b, nullptr, exact, exact);
      if (!integer_operands(b.lhs.get(), b.rhs.get(), l, r, op)) return err();
      return builtin().integer;
    }
    // Wrap-around: two operands of one fixed width; a literal takes the other's width.
    auto [l, r] = operands(b, is_fixed(hint) ? hint : nullptr, same, same);
    if (!integer_operands(b.lhs.get(), b.rhs.get(), l, r, op)) return err();
    if (!is_fixed(l) || !is_fixed(r) || !same_type(l, r)) {
      error(e.loc, fmt::format("'{}' wraps around modulo 2^bits: it needs two operands of one "
                               "fixed-width type, not {} and {}",
                               op, show(l), show(r)));
      return err();
    }
    return l;
  }

  // Reports a non-integer operand of an arithmetic or ordering operator.
  bool integer_operands(const Expr* lhs, const Expr* rhs, const TypeRef& l, const TypeRef& r,
                        const char* op) {
    if (is_error(l) || is_error(r)) return false;
    bool ok = true;
    for (const auto& [side, t] : {std::pair{lhs, l}, std::pair{rhs, r}}) {
      if (is_integer(t)) continue;
      error(side->loc, fmt::format("'{}' needs integer operands; this one is {}", op, show(t)));
      ok = false;
    }
    return ok;
  }

  TypeRef node(Expr& e, FieldAccess& f, const TypeRef& /*hint*/) {
    if (const Name* n = as_name(f.record.get());
        n && !n->ident.empty() && !lookup_variable(n->ident)) {
      if (auto c = component_index(n->ident)) return component_variable(e, f, *c);
    }
    TypeRef t = expr(f.record.get(), nullptr);
    if (is_error(t) || f.field.empty()) return err();
    if (!is_kind(t, TypeKind::Record)) {
      error(e.loc, fmt::format("{} has no fields ('.{}')", show(t), f.field));
      return err();
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < t->fields.size(); ++i) {
      if (t->fields[i].first == f.field) {
        f.index = static_cast<std::uint32_t>(i);
        return t->fields[i].second;
      }
      names.push_back(t->fields[i].first);
    }
    error(e.loc, fmt::format("{} has no field '{}'", show(t), f.field));
    suggest(e.loc, f.field, names);
    return err();
  }

  // `A.x` in an invariant of a composite: the variable x of component A.
  TypeRef component_variable(Expr& e, FieldAccess& f, std::size_t index) {
    auto& name = std::get<Name>(f.record->node);
    name.kind = NameKind::Component;
    name.slot = static_cast<std::uint32_t>(index);
    f.record->type = err(); // a component has no value of its own
    const Component& c = scope_->composite->components[index];
    const Automaton* a = program_.automaton(c.automaton);
    if (a == nullptr || f.field.empty()) return err(); // reported with the component
    if (a->composite) {
      error(e.loc, fmt::format("'{}' is a composite automaton: an invariant reads the variables "
                               "of primitive components only",
                               c.name));
      return err();
    }
    const Unit& unit = units_[a];
    std::vector<std::string> names;
    for (std::size_t i = 0; i < unit.vars.size(); ++i) {
      if (unit.vars[i].name == f.field) {
        f.index = static_cast<std::uint32_t>(i);
        return unit.vars[i].type;
      }
      names.push_back(unit.vars[i].name);
    }
    error(e.loc, fmt::format("{} (a {}) has no variable '{}'", c.name, a->name, f.field));
    suggest(e.loc, f.field, names);
    return err();
  }

  TypeRef node(Expr& e, IndexAccess& i, const TypeRef& /*hint*/) {
    TypeRef t = expr(i.collection.get(), nullptr);
    if (is_kind(t, TypeKind::Seq)) {
      TypeRef index = expr(i.index.get(), builtin().natural);
      if (i.index && !is_error(index) && !is_integer(index)) {
        error(i.index->loc,
              fmt::format("a sequence is indexed by an integer, not {}", show(index)));
      }
      return t->elem;
    }
    if (is_kind(t, TypeKind::Map)) {
      TypeRef key = expr(i.index.get(), t->elem);
      if (i.index && !flows_into(key, t->elem)) {
        error(i.index->loc,
              fmt::format("the keys of {} are {}, not {}", show(t), show(t->elem), show(key)));
      }
      return t->value;
    }
    expr(i.index.get(), nullptr);
    if (!is_error(t)) {
      error(e.loc, fmt::format("{} cannot be indexed: only sequences and maps can", show(t)));
    }
    return err();
  }

  TypeRef node(Expr& e, RecordLit& r, const TypeRef& /*hint*/) {
    TypeRef t;
    if (auto h = scope_->unit->headers.find(r.type_name); h != scope_->unit->headers.end()) {
      t = h->second;
    } else if (TypeRef top = top_header(r.type_name)) {
      t = top;
    } else if (TypeDecl* d = program_.type(r.type_name)) {
      t = resolve_decl(*d);
    }
    if (!t || !is_kind(t, TypeKind::Record)) {
      if (!r.type_name.empty() && !t) {
        error(e.loc, fmt::format("unknown record or header '{}'", r.type_name));
        std::vector<std::string> names;
        for (const auto& [name, h] : scope_->unit->headers) names.push_back(name);
        for_each<TypeDecl>([&](TypeDecl& d) {
          if (d.form == TypeDecl::Form::Record) names.push_back(d.name);
        });
        suggest(e.loc, r.type_name, names);
      } else if (t && !is_error(t)) {
        error(e.loc, fmt::format("'{}' is not a record or header", r.type_name));
      }
      for (auto& [field, x] : r.fields) expr(x.get(), nullptr);
      return err();
    }
    std::vector<int> given(t->fields.size(), -1); // field -> position in r.fields
    bool clean = true;
    for (std::size_t k = 0; k < r.fields.size(); ++k) {
      auto& [field, x] = r.fields[k];
      SourceLoc loc = x ? x->loc : e.loc;
      std::optional<std::size_t> at;
      for (std::size_t i = 0; i < t->fields.size(); ++i) {
        if (t->fields[i].first == field) at = i;
      }
      if (!at) {
        expr(x.get(), nullptr);
        clean = false;
        if (field.empty()) continue;
        error(loc, fmt::format("{} has no field '{}'", r.type_name, field));
        std::vector<std::string> names;
        for (const auto& [name, ft] : t->fields) names.push_back(name);
        suggest(loc, field, names);
        continue;
      }
      if (given[*at] >= 0) {
        error(loc, fmt::format("field '{}' is given twice", field));
        clean = false;
      }
      given[*at] = static_cast<int>(k);
      const TypeRef& want = t->fields[*at].second;
      TypeRef got = expr(x.get(), want);
      if (x && !flows_into(got, want)) {
        error(x->loc, fmt::format("field '{}' of {} is {}, not {}", field, r.type_name, show(want),
                                  show(got)));
      }
    }
    for (std::size_t i = 0; i < t->fields.size(); ++i) {
      if (given[i] >= 0) continue;
      error(e.loc, fmt::format("{}{{...}} leaves out the field '{}': give every field", r.type_name,
                               t->fields[i].first));
      clean = false;
    }
    if (clean) {
      // Declaration order, so that the simulator builds the record field by field.
      std::vector<std::pair<std::string, ExprPtr>> ordered;
      for (int k : given) ordered.push_back(std::move(r.fields[static_cast<std::size_t>(k)]));
      r.fields = std::move(ordered);
    }
    return t;
  }

  // ----------------------------------------------------------------------------- built-ins

  TypeRef node(Expr& e, Call& c, const TypeRef& hint) {
    const auto& arity = builtin_functions();
    auto it = arity.find(c.callee);
    if (it == arity.end()) {
      if (OracleDecl* o = program_.oracle(c.callee)) return oracle_call(e, c, *o);
      if (!c.callee.empty()) {
        error(e.loc, fmt::format("unknown function '{}'", c.callee));
        std::vector<std::string> names;
        for (const auto& [name, n] : arity) names.push_back(name);
        for_each<OracleDecl>([&](OracleDecl& o) { names.push_back(o.name); });
        suggest(e.loc, c.callee, names);
      }
      for (auto& a : c.args) expr(a.get(), nullptr);
      return err();
    }
    if (c.args.size() != it->second) {
      error(e.loc, fmt::format("'{}' takes {} argument{}, not {}", c.callee, it->second,
                               it->second == 1 ? "" : "s", c.args.size()));
      for (auto& a : c.args) {
        if (a && !header_argument(c.callee)) expr(a.get(), nullptr);
      }
      return err();
    }
    for (const auto& a : c.args) {
      if (!a) return err(); // the parser has reported it
    }
    const std::string& f = c.callee;
    Expr& a0 = *c.args[0];
    if (f == "head" || f == "tail" || f == "len") {
      TypeRef s = expr(&a0, f == "tail" ? hint : nullptr);
      if (!want_kind(a0, s, f, {TypeKind::Seq}, "a sequence")) return err();
      if (f == "head") return s->elem;
      return f == "tail" ? s : builtin().natural;
    }
    if (f == "size" || f == "crc32c") {
      if (!want_msg(a0, f)) return err();
      return f == "size" ? builtin().natural : builtin().u32;
    }
    if (f == "sha256") {
      if (!want_msg(a0, f)) return err();
      return builtin().msg; // the 32-byte digest
    }
    if (f == "push") {
      bool ok = want_msg(a0, f);
      TypeRef h = expr(c.args[1].get(), nullptr);
      if (!is_error(h) && !is_header(h)) {
        error(c.args[1]->loc,
              fmt::format("'push' puts a header on a message; {} is not a header", show(h)));
        ok = false;
      }
      return ok && !is_error(h) ? builtin().msg : err();
    }
    if (header_argument(f)) {
      bool ok = want_msg(a0, f);
      TypeRef h = header_name(*c.args[1], f);
      if (!ok || is_error(h)) return err();
      if (f == "top") return h;
      return f == "pop" ? builtin().msg : builtin().boolean;
    }
    if (f == "slice") {
      bool ok = want_msg(a0, f);
      for (std::size_t i = 1; i < 3; ++i) {
        TypeRef t = expr(c.args[i].get(), builtin().natural);
        if (!is_error(t) && !is_integer(t)) {
          error(c.args[i]->loc, fmt::format("the {} of 'slice' is an integer, not {}",
                                            i == 1 ? "start" : "length", show(t)));
          ok = false;
        }
      }
      return ok ? builtin().msg : err();
    }
    if (f == "concat") {
      bool ok = want_msg(a0, f);
      ok = want_msg(*c.args[1], f) && ok;
      return ok ? builtin().msg : err();
    }
    if (f == "keys") {
      TypeRef m = expr(&a0, nullptr);
      if (!want_kind(a0, m, f, {TypeKind::Map}, "a map")) return err();
      return container(TypeKind::Seq, m->elem);
    }
    if (f == "has" || f == "remove" || f == "insert") {
      static const std::map<std::string, std::pair<std::vector<TypeKind>, const char*>, std::less<>>
          takes = {{"has", {{TypeKind::Map}, "a map"}},
                   {"remove", {{TypeKind::Map, TypeKind::Set}, "a map or set"}},
                   {"insert", {{TypeKind::Set}, "a set"}}};
      const auto& [kinds, what] = takes.at(f);
      TypeRef m = expr(&a0, f == "has" ? nullptr : hint);
      if (!want_kind(a0, m, f, kinds, what)) {
        expr(c.args[1].get(), nullptr);
        return err();
      }
      TypeRef k = expr(c.args[1].get(), m->elem);
      if (!flows_into(k, m->elem)) {
        error(c.args[1]->loc,
              fmt::format("'{}' on {} takes {}, not {}", f, show(m), show(m->elem), show(k)));
      }
      return f == "has" ? builtin().boolean : m;
    }
    if (f == "min" || f == "max") {
      auto exact = [](const TypeRef& t) { return is_integer(t) ? nullptr : t; };
      auto [l, r] = operands(&a0, c.args[1].get(), nullptr, exact, exact);
      if (!integer_operands(&a0, c.args[1].get(), l, r, f.c_str())) return err();
      // One of the two: of their type when they have the same, else an exact Int.
      return same_type(l, r) ? l : builtin().integer;
    }
    if (f == "range") {
      TypeRef n = expr(&a0, builtin().natural);
      if (!is_error(n) && !is_integer(n)) {
        error(a0.loc, fmt::format("'range' needs an integer, not {}", show(n)));
        return err();
      }
      return container(TypeKind::Seq, builtin().natural); // 0 .. n - 1
    }
    // empty
    TypeRef t = expr(&a0, nullptr);
    if (!want_kind(a0, t, f, {TypeKind::Seq, TypeKind::Set, TypeKind::Map, TypeKind::Msg},
                   "a sequence, set, map or message")) {
      return err();
    }
    return builtin().boolean;
  }

  // A call of an oracle, typed against its declaration like a built-in's.
  TypeRef oracle_call(Expr& e, Call& c, const OracleDecl& o) {
    if (c.args.size() != o.params.size()) {
      error(e.loc, fmt::format("oracle '{}' takes {} argument{}, not {}", o.name, o.params.size(),
                               o.params.size() == 1 ? "" : "s", c.args.size()));
      note(o.loc, fmt::format("'{}' is declared here", o.name));
      for (auto& a : c.args) expr(a.get(), nullptr);
      return err();
    }
    bool ok = true;
    for (std::size_t i = 0; i < c.args.size(); ++i) {
      Expr* a = c.args[i].get();
      if (a == nullptr) return err(); // the parser has reported it
      const auto& [name, type] = o.params[i];
      const TypeRef& want = type.resolved;
      TypeRef got = expr(a, want);
      if (!flows_into(got, want)) {
        error(a->loc, fmt::format("argument {} of oracle '{}' ({}) is {}, not {}", i + 1, o.name,
                                  name, show(want), show(got)));
        ok = false;
      }
    }
    c.oracle = &o;
    if (!ok || is_error(o.result.resolved)) return err();
    return o.result.resolved;
  }

  static bool header_argument(std::string_view f) {
    return f == "top" || f == "pop" || f == "fits";
  }

  bool want_kind(const Expr& arg, const TypeRef& t, const std::string& f,
                 const std::vector<TypeKind>& kinds, const char* what) {
    if (is_error(t)) return false;
    if (std::find(kinds.begin(), kinds.end(), t->kind) != kinds.end()) return true;
    error(arg.loc, fmt::format("'{}' needs {}, not {}", f, what, show(t)));
    return false;
  }

  bool want_msg(Expr& arg, const std::string& f) {
    TypeRef t = expr(&arg, builtin().msg); // `{}`: the empty message
    return want_kind(arg, t, f, {TypeKind::Msg}, "a message (Msg)");
  }

  // The H of top(m, H), pop(m, H), fits(m, H): a header of the layer.
  TypeRef header_name(Expr& arg, const std::string& f) {
    const Name* n = as_name(&arg);
    if (!n) {
      expr(&arg, nullptr);
      error(arg.loc, fmt::format("the second argument of '{}' is the name of a header", f));
      return err();
    }
    if (n->ident.empty()) return arg.type = err();
    const Headers& headers = scope_->unit->headers;
    if (auto h = headers.find(n->ident); h != headers.end()) return arg.type = h->second;
    if (TypeRef top = top_header(n->ident)) return arg.type = top;
    if (!scope_->unit->layer) {
      error(arg.loc,
            fmt::format("'{}' reads a header, and '{}' is no top-level header", f, n->ident));
      return arg.type = err();
    }
    error(arg.loc, fmt::format("{} has no header '{}'", scope_->unit->name, n->ident));
    std::vector<std::string> names;
    for (const auto& [name, t] : headers) names.push_back(name);
    suggest(arg.loc, n->ident, names);
    return arg.type = err();
  }

  // ------------------------------------------------------- pass 4: composite automata, stacks

  // Whether automaton `a` contains `target`, through components, visiting each once.
  bool contains(const Automaton& a, const Automaton* target, std::set<const Automaton*>& seen) {
    if (!a.composite || !seen.insert(&a).second) return false;
    for (const Component& c : a.components) {
      const Automaton* inner = program_.automaton(c.automaton);
      if (inner == target || (inner && contains(*inner, target, seen))) return true;
    }
    return false;
  }

  void composite(Automaton& a) {
    Unit& unit = units_[&a];
    defaults(unit, a.params);
    std::map<std::string, SourceLoc, std::less<>> names;
    std::vector<std::vector<std::optional<i128>>> values(a.components.size());
    for (std::size_t k = 0; k < a.components.size(); ++k) {
      Component& c = a.components[k];
      if (!c.name.empty()) {
        auto [it, fresh] = names.emplace(c.name, c.loc);
        if (!fresh) {
          error(c.loc, fmt::format("{} has two components named '{}'", a.name, c.name));
          note(it->second, fmt::format("the first '{}' is here", c.name));
        }
      }
      const Automaton* inner = c.automaton.empty() ? nullptr : program_.automaton(c.automaton);
      Scope scope;
      scope.unit = &unit;
      if (inner == nullptr) {
        with_scope(scope, [&] {
          for (auto& arg : c.args) expr(arg.get(), nullptr);
        });
        if (c.automaton.empty()) continue;
        if (program_.layer(c.automaton)) {
          error(c.loc, fmt::format("'{}' is a layer: the components of an automaton are "
                                   "automata (layers go in a stack)",
                                   c.automaton));
          continue;
        }
        error(c.loc, fmt::format("unknown automaton '{}'", c.automaton));
        std::vector<std::string> automata;
        for_each<Automaton>([&](Automaton& x) { automata.push_back(x.name); });
        suggest(c.loc, c.automaton, automata);
        continue;
      }
      std::set<const Automaton*> seen;
      if (inner == &a || contains(*inner, &a, seen)) {
        error(c.loc, fmt::format("{} contains itself through its component '{}'", a.name, c.name));
        continue;
      }
      const Unit& inner_unit = units_[inner];
      std::size_t required = 0;
      for (const Param& p : inner->params) required += p.default_value ? 0 : 1;
      if (c.args.size() < required || c.args.size() > inner->params.size()) {
        error(c.loc, fmt::format("{} takes {} argument{}, not {}", inner->name,
                                 required == inner->params.size()
                                     ? std::to_string(required)
                                     : fmt::format("{} to {}", required, inner->params.size()),
                                 inner->params.size() == 1 ? "" : "s", c.args.size()));
      }
      with_scope(scope, [&] {
        for (std::size_t i = 0; i < c.args.size(); ++i) {
          if (i >= inner->params.size()) {
            expr(c.args[i].get(), nullptr);
            continue;
          }
          value_into(
              c.args[i].get(), inner_unit.vars[i].type,
              fmt::format("argument {} of {} ('{}')", i + 1, inner->name, inner->params[i].name));
        }
      });
      // The values of the component's parameters, where they are constants.
      for (std::size_t i = 0; i < inner->params.size(); ++i) {
        const Expr* arg =
            i < c.args.size() ? c.args[i].get() : inner->params[i].default_value.get();
        values[k].push_back(eval_const(arg));
      }
    }
    shared_actions(a, values);
  }

  // Whether action `x` of component i and action `y` of component j (same name and arity) may
  // be one action: their const arguments are not known to differ.
  static bool may_meet(const Automaton& ai, const ActionSig& x,
                       const std::vector<std::optional<i128>>& vi, const Automaton& aj,
                       const ActionSig& y, const std::vector<std::optional<i128>>& vj) {
    for (std::size_t p = 0; p < x.formals.size(); ++p) {
      if (!x.formals[p].is_const || !y.formals[p].is_const) continue;
      auto pi = param_index(ai.params, x.formals[p].name);
      auto pj = param_index(aj.params, y.formals[p].name);
      if (!pi || !pj || *pi >= vi.size() || *pj >= vj.size()) continue;
      const std::optional<i128>& a = vi[*pi];
      const std::optional<i128>& b = vj[*pj];
      if (a && b && *a != *b) return false;
    }
    return true;
  }

  static std::string const_args(const Automaton& a, const ActionSig& x,
                                const std::vector<std::optional<i128>>& v) {
    std::vector<std::string> parts;
    for (const Formal& f : x.formals) {
      auto p = f.is_const ? param_index(a.params, f.name) : std::nullopt;
      parts.push_back(p && *p < v.size() ? const_text(v[*p]) : "_");
    }
    return parts.empty() ? "" : fmt::format("({})", fmt::join(parts, ", "));
  }

  // No action is the output of two components; an output and the inputs it meets agree on the
  // types of their parameters.
  void shared_actions(const Automaton& a, const std::vector<std::vector<std::optional<i128>>>& v) {
    auto primitive = [&](std::size_t k) -> const Automaton* {
      const Automaton* x = program_.automaton(a.components[k].automaton);
      return x && !x->composite && v[k].size() == x->params.size() ? x : nullptr;
    };
    for (std::size_t i = 0; i < a.components.size(); ++i) {
      const Automaton* ai = primitive(i);
      if (!ai) continue;
      for (const ActionSig& x : ai->signature) {
        if (x.kind != ActionKind::Output || x.name.empty()) continue;
        for (std::size_t j = 0; j < a.components.size(); ++j) {
          const Automaton* aj = primitive(j);
          if (j == i || !aj) continue;
          for (const ActionSig& y : aj->signature) {
            if (y.name != x.name || y.formals.size() != x.formals.size() ||
                y.kind == ActionKind::Internal || !may_meet(*ai, x, v[i], *aj, y, v[j])) {
              continue;
            }
            if (y.kind == ActionKind::Output && j > i) {
              error(a.components[j].loc,
                    fmt::format("{} and {} both have the output '{}{}': an action is the output "
                                "of at most one component",
                                a.components[i].name, a.components[j].name, x.name,
                                const_args(*ai, x, v[i])));
              note(a.components[i].loc, fmt::format("{} is here", a.components[i].name));
            }
            if (y.kind == ActionKind::Input) matching_types(a, i, x, j, y);
          }
        }
      }
    }
  }

  void matching_types(const Automaton& a, std::size_t i, const ActionSig& x, std::size_t j,
                      const ActionSig& y) {
    for (std::size_t p = 0; p < x.formals.size(); ++p) {
      const TypeRef& tx = x.formals[p].type.resolved;
      const TypeRef& ty = y.formals[p].type.resolved;
      if (comparable(tx, ty)) continue;
      error(a.components[j].loc,
            fmt::format("{}'s output '{}' carries {} as parameter {}, but {}'s input '{}' takes {}",
                        a.components[i].name, x.name, show(tx), p + 1, a.components[j].name, y.name,
                        show(ty)));
      return;
    }
  }

  void stack(Stack& s) {
    Unit& unit = units_[&s];
    unit.name = s.name;
    unit.what = "stack";
    declare_params(unit, s.params);
    defaults(unit, s.params);

    std::vector<const Layer*> layers;
    for (LayerRef& ref : s.layers) {
      const Layer* l = ref.layer.empty() ? nullptr : program_.layer(ref.layer);
      layers.push_back(l);
      if (l == nullptr && !ref.layer.empty()) {
        if (program_.automaton(ref.layer)) {
          error(ref.loc, fmt::format("'{}' is an automaton: a stack is made of layers", ref.layer));
        } else {
          error(ref.loc, fmt::format("unknown layer '{}'", ref.layer));
          std::vector<std::string> names;
          for_each<Layer>([&](Layer& x) { names.push_back(x.name); });
          suggest(ref.loc, ref.layer, names);
        }
      }
      layer_arguments(unit, ref, l);
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (layers[i]) neighbours(s, layers, i);
    }
    fit(s, layers);
  }

  // The composition rule of runtime/composition.hpp, which the C++ stacks obey too.
  void fit(const Stack& s, const std::vector<const Layer*>& layers) {
    std::vector<LayerFit> fits;
    for (const Layer* l : layers) {
      if (l == nullptr) return; // reported
      LayerFit f;
      f.name = l->name;
      f.place = l->place == "top"      ? Place::top
                : l->place == "bottom" ? Place::bottom
                                       : Place::anywhere;
      for (const std::string& g : l->provides)
        if (auto known = guarantee_named(g)) f.provides = f.provides | *known;
      for (const std::string& g : l->needs)
        if (auto known = guarantee_named(g)) f.needs = f.needs | *known;
      fits.push_back(f);
    }
    if (const Misfit m = misfit(fits))
      error(s.layers[m.at].loc, describe(m, fits, fmt::format("stack {}", s.name)));
  }

  void layer_arguments(Unit& unit, LayerRef& ref, const Layer* l) {
    Scope scope;
    scope.unit = &unit;
    std::set<std::string, std::less<>> given;
    with_scope(scope, [&] {
      for (std::size_t k = 0; k < ref.args.size(); ++k) {
        auto& [name, value] = ref.args[k];
        SourceLoc loc = k < ref.arg_locs.size() ? ref.arg_locs[k] : ref.loc;
        auto p = l ? param_index(l->params, name) : std::nullopt;
        if (!l || name.empty()) {
          expr(value.get(), nullptr);
          continue;
        }
        if (!p) {
          expr(value.get(), nullptr);
          error(loc, fmt::format("{} has no parameter '{}'", l->name, name));
          suggest(loc, name, param_names(l->params));
          continue;
        }
        if (!given.insert(name).second) {
          error(loc, fmt::format("'{}' is given twice", name));
        }
        value_into(value.get(), units_[l].vars[*p].type,
                   fmt::format("the parameter '{}' of {}", name, l->name));
        const Param& param = l->params[*p];
        const std::optional<i128> v = eval_const(value.get());
        if (param.min && v && !within(param, *v))
          error(loc,
                fmt::format("{} = {} is outside the values of {}'s parameter '{}': [{}, {}]", name,
                            const_text(v), l->name, name, const_text(eval_const(param.min.get())),
                            const_text(eval_const(param.max.get()))));
      }
    });
    if (!l) return;
    for (const Param& p : l->params) {
      if (p.default_value || p.name.empty() || given.contains(p.name)) continue;
      error(ref.loc, fmt::format("the parameter '{}' of {} has no default: give it here, as in "
                                 "{}({} = ...)",
                                 p.name, l->name, l->name, p.name));
    }
  }

  // Every event a layer emits is taken by the neighbour it goes to.
  void neighbours(const Stack& s, const std::vector<const Layer*>& layers, std::size_t i) {
    const Layer& l = *layers[i];
    const LayerRef& ref = s.layers[i];
    std::vector<const Stmt*> emits;
    for (const Transition& t : l.transitions) collect_emits(t.eff, emits);
    std::set<std::string> reported;
    for (const Stmt* st : emits) {
      const Emit& e = std::get<Emit>(st->node);
      if (!is_layer_event(e.port, e.event)) continue;
      const bool down = e.port == Port::Down;
      // The top layer's up-emits go to the application, the bottom's down-emits to the network.
      if (down ? i + 1 >= layers.size() : i == 0) continue;
      const Layer* next = layers[down ? i + 1 : i - 1];
      const std::string what = event_text(e.port, e.event);
      if (!next || layer_input(*next, e.port, e.event) || !reported.insert(what).second) continue;
      error(ref.loc, fmt::format("{} emits {}, but {} {} it has no 'input {}'", l.name, what,
                                 next->name, down ? "below" : "above", what));
      note(st->loc, fmt::format("{} emits {} here", l.name, what));
    }
  }

  // ----------------------------------------------------------------------- pass 5: invariants

  void invariant(Invariant& inv) {
    if (inv.of.empty()) return; // reported by Program::index
    Scope scope;
    if (Automaton* a = program_.automaton(inv.of)) {
      scope.unit = &units_[a];
      if (a->composite) scope.composite = a;
    } else if (Layer* l = program_.layer(inv.of)) {
      scope.unit = &units_[l];
    } else {
      return; // reported by Program::index
    }
    with_scope(scope, [&] { condition(inv.predicate.get(), "an invariant"); });
  }

  // -------------------------------------------------------------------------------- state

  template <class F>
  void with_scope(Scope& scope, F&& f) {
    Scope* outer = scope_;
    scope_ = &scope;
    f();
    scope_ = outer;
  }

  struct Enumerator {
    TypeRef type;
    std::uint32_t index = 0;
    SourceLoc loc;
  };

  Program& program_;
  Diagnostics& diags_;
  std::set<const TypeDecl*> resolving_;
  std::set<const Header*> resolving_headers_;
  std::map<std::string, Enumerator, std::less<>> enumerators_;
  std::map<const void*, Unit> units_; // by Automaton*, Layer* or Stack*
  Scope* scope_ = nullptr;
};

} // namespace

// The value of a constant integer, Bool (0, 1) or enumerator (its index) expression, for
// comparing the const arguments of components; nullopt when it is not a constant. Called on
// checked expressions, so enumerator Names are resolved.
std::optional<Int128> eval_const(const Expr* e) {
  if (e == nullptr) return std::nullopt;
  if (const auto* lit = std::get_if<IntLit>(&e->node)) {
    if (lit->value > (~u128{0} >> 1)) return std::nullopt;
    return static_cast<i128>(lit->value);
  }
  if (const auto* lit = std::get_if<BoolLit>(&e->node)) return lit->value ? 1 : 0;
  if (const auto* n = std::get_if<Name>(&e->node)) {
    if (n->kind == NameKind::Enumerator) return n->slot;
    return std::nullopt;
  }
  if (const auto* u = std::get_if<Unary>(&e->node)) {
    auto v = eval_const(u->operand.get());
    if (!v) return std::nullopt;
    return u->op == UnaryOp::Neg ? -*v : static_cast<i128>(*v == 0);
  }
  const auto* b = std::get_if<Binary>(&e->node);
  if (b == nullptr) return std::nullopt;
  auto l = eval_const(b->lhs.get());
  auto r = eval_const(b->rhs.get());
  if (!l || !r) return std::nullopt;
  i128 out = 0;
  switch (b->op) {
  case BinaryOp::Add:
    if (__builtin_add_overflow(*l, *r, &out)) return std::nullopt;
    return out;
  case BinaryOp::Sub:
    if (__builtin_sub_overflow(*l, *r, &out)) return std::nullopt;
    return out;
  case BinaryOp::Mul:
    if (__builtin_mul_overflow(*l, *r, &out)) return std::nullopt;
    return out;
  case BinaryOp::Div:
    if (*r == 0) return std::nullopt;
    return *l / *r;
  case BinaryOp::Mod:
    if (*r == 0) return std::nullopt;
    return *l % *r;
  case BinaryOp::And:
    return (*l != 0 && *r != 0) ? 1 : 0;
  case BinaryOp::Or:
    return (*l != 0 || *r != 0) ? 1 : 0;
  case BinaryOp::Eq:
    return *l == *r ? 1 : 0;
  case BinaryOp::Ne:
    return *l != *r ? 1 : 0;
  case BinaryOp::Lt:
    return *l < *r ? 1 : 0;
  case BinaryOp::Le:
    return *l <= *r ? 1 : 0;
  case BinaryOp::Gt:
    return *l > *r ? 1 : 0;
  case BinaryOp::Ge:
    return *l >= *r ? 1 : 0;
  default:
    return std::nullopt;
  }
}

std::string time_text(Int128 ns) {
  static constexpr std::pair<Int128, const char*> units[] = {
      {1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  for (const auto& [scale, unit] : units)
    if (ns != 0 && ns % scale == 0) return int_to_string(ns / scale) + unit;
  return int_to_string(ns) + "ns";
}

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates) {
  // Levenshtein distance; a likely typo is at most a third of the name away (one edit for short
  // names).
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  const std::size_t limit = std::max<std::size_t>(1, name.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    if (c.empty() || c == name) continue;
    std::size_t d = distance(name, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

void check(Program& program, Diagnostics& diags) { Checker(program, diags).run(); }

} // namespace lamina::spec
