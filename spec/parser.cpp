// The parser of the spec language (spec/parser.hpp): hand-written recursive descent, one
// function per rule of the grammar in spec/README.md, in the grammar's order. Hand-written
// because the language is ours and small, and because error recovery and messages that say
// what would be right are easier to get right by hand than from a generator.
//
// Error recovery: a syntax error is reported once and thrown as SyntaxError; it is caught at
// the innermost synchronisation point (statement list, transition list, section, declaration)
// that its level allows, which skips to a token where parsing can resume.
#include "spec/parser.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <initializer_list>
#include <optional>
#include <unordered_map>

#include "spec/lexer.hpp"

namespace lamina::spec {
namespace {

using K = TokenKind;

// How far the recovery from a syntax error reaches, from the innermost place that can resume
// parsing to the outermost.
enum class Level : std::uint8_t { None, Stmt, Transition, Section, Decl };

// The synchronisation level of a token: where recovery at that level stops.
Level level_of(K k) {
  switch (k) {
  case K::End:
  case K::Import:
  case K::Type:
  case K::Automaton:
  case K::Layer:
  case K::Stack:
  case K::Invariant:
  case K::Oracle:
    return Level::Decl;
  case K::Signature:
  case K::States:
  case K::Transitions:
  case K::Components:
  case K::Header:
  case K::Ccp:
    return Level::Section;
  case K::Input:
  case K::Output:
  case K::Internal:
    return Level::Transition;
  case K::Semicolon:
  case K::Fi:
  case K::Od:
  case K::Else:
  case K::Elseif:
    return Level::Stmt;
  default:
    return Level::None;
  }
}

// Thrown after a syntax error has been reported; caught by the innermost synchronisation point
// at `level` or above.
struct SyntaxError {
  Level level = Level::Stmt;
};

bool is_action_kind(K k) { return k == K::Input || k == K::Output || k == K::Internal; }

ActionKind action_kind(K k) {
  if (k == K::Output) return ActionKind::Output;
  if (k == K::Internal) return ActionKind::Internal;
  return ActionKind::Input;
}

bool starts_statement(K k) {
  return k == K::Ident || k == K::If || k == K::Let || k == K::For || k == K::Emit ||
         k == K::SetTimer || k == K::Skip;
}

// A keyword or a word operator (`in`, `div`) where a name was expected.
bool is_reserved_word(const Token& t) {
  return t.kind != K::Ident && !t.text.empty() &&
         ((t.text[0] >= 'a' && t.text[0] <= 'z') || (t.text[0] >= 'A' && t.text[0] <= 'Z'));
}

std::optional<BinaryOp> comparison(K k) {
  switch (k) {
  case K::Eq:
    return BinaryOp::Eq;
  case K::Ne:
    return BinaryOp::Ne;
  case K::Lt:
    return BinaryOp::Lt;
  case K::Le:
    return BinaryOp::Le;
  case K::Gt:
    return BinaryOp::Gt;
  case K::Ge:
    return BinaryOp::Ge;
  case K::In:
    return BinaryOp::In;
  case K::NotIn:
    return BinaryOp::NotIn;
  default:
    return std::nullopt;
  }
}

std::optional<BinaryOp> sum_op(K k) {
  switch (k) {
  case K::Plus:
    return BinaryOp::Add;
  case K::Minus:
    return BinaryOp::Sub;
  case K::PlusWrap:
    return BinaryOp::AddWrap;
  case K::MinusWrap:
    return BinaryOp::SubWrap;
  default:
    return std::nullopt;
  }
}

std::optional<BinaryOp> product_op(K k) {
  switch (k) {
  case K::Star:
    return BinaryOp::Mul;
  case K::StarWrap:
    return BinaryOp::MulWrap;
  case K::Div:
    return BinaryOp::Div;
  case K::Mod:
    return BinaryOp::Mod;
  default:
    return std::nullopt;
  }
}

// "expected X context, found Y", without a double space when there is no context.
std::string expected(std::string_view what, std::string_view context, std::string_view found) {
  if (context.empty()) return fmt::format("expected {}, found {}", what, found);
  return fmt::format("expected {} {}, found {}", what, context, found);
}

class Parser {
public:
  Parser(const Sources& sources, FileId file, Diagnostics& diags)
      : sources_(sources), diags_(diags), file_(file), toks_(lex(sources, file, diags)) {}

  SpecFile run() {
    SpecFile out;
    out.file = file_;
    while (!at(K::End) && !diags_.stopped()) {
      std::size_t start = pos_;
      decl_failed_ = false;
      try {
        Decl decl = parse_decl();
        if (!decl_failed_) out.decls.push_back(std::move(decl));
      } catch (const SyntaxError&) {
        if (pos_ == start) advance();
        skip_to(Level::Decl);
      }
      heights_.clear();
    }
    return out;
  }

private:
  // ------------------------------------------------------------------------------ tokens

  [[nodiscard]] const Token& cur() const { return toks_[pos_]; }
  [[nodiscard]] const Token& peek(std::size_t ahead) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  [[nodiscard]] bool at(K k) const { return cur().kind == k; }
  [[nodiscard]] bool at_word(std::string_view word) const {
    return at(K::Ident) && cur().text == word;
  }
  const Token& advance() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool accept(K k) {
    if (!at(k)) return false;
    advance();
    return true;
  }

  // Just after the previous token: where a missing ';' or ',' belongs.
  [[nodiscard]] SourceLoc after_previous() const {
    if (pos_ == 0) return cur().loc;
    const Token& t = toks_[pos_ - 1];
    return {t.loc.file, t.loc.line, t.loc.column + static_cast<std::uint32_t>(t.text.size())};
  }

  // The source text of tokens [from, to), for messages.
  [[nodiscard]] std::string source_text(std::size_t from, std::size_t to) const {
    if (to <= from) return {};
    const char* begin = toks_[from].text.data();
    const char* end = toks_[to - 1].text.data() + toks_[to - 1].text.size();
    std::string_view text(begin, static_cast<std::size_t>(end - begin));
    if (text.size() > 40) return fmt::format("{}...", text.substr(0, 40));
    return std::string(text);
  }

  // ------------------------------------------------------------------------------ errors

  // Reports a syntax error unless one was already reported at this token (the same mistake
  // seen again by an enclosing rule). Returns whether it was reported.
  bool report(SourceLoc loc, std::string message) {
    decl_failed_ = true;
    if (last_error_pos_ == pos_) return false;
    last_error_pos_ = pos_;
    diags_.error(loc, std::move(message));
    return true;
  }

  [[noreturn]] void fail(std::string message, Level level = Level::Stmt) {
    report(cur().loc, std::move(message));
    throw SyntaxError{level};
  }

  // The token of kind `k`, or an error "expected k <context>, found ...". The context is
  // formatted only when it is needed.
  template <class... Args>
  const Token& expect(K k, fmt::format_string<Args...> context, Args&&... args) {
    if (at(k)) return advance();
    missing(k, fmt::format(context, std::forward<Args>(args)...));
  }

  [[noreturn]] void missing(K k, std::string_view context) {
    bool reported = report(cur().loc, expected(spelling(k), context, describe(cur())));
    if (reported && k == K::Assign && at(K::Eq)) {
      diags_.note(cur().loc, "'=' compares; ':=' assigns");
    }
    throw SyntaxError{};
  }

  // A name, or an error "expected <what> <context>, found ...".
  template <class... Args>
  const Token& expect_name(std::string_view what, fmt::format_string<Args...> context,
                           Args&&... args) {
    if (at(K::Ident)) return advance();
    std::string found = describe(cur());
    if (is_reserved_word(cur())) found += " (a reserved word)";
    fail(expected(what, fmt::format(context, std::forward<Args>(args)...), found));
  }

  // The token that closes what `open` opened, with a note pointing at `open` if it is missing.
  const Token& expect_closing(K k, const Token& open, std::string_view context,
                              std::string_view note) {
    if (at(k)) return advance();
    if (report(cur().loc, expected(spelling(k), context, describe(cur())))) {
      diags_.note(open.loc, std::string(note));
    }
    throw SyntaxError{};
  }

  // The end of a comma-separated list in brackets opened by `open`.
  const Token& expect_list_end(K k, const Token& open) {
    if (at(k)) return advance();
    if (report(cur().loc,
               fmt::format("expected ',' or {}, found {}", spelling(k), describe(cur())))) {
      diags_.note(open.loc, fmt::format("to match this '{}'", open.text));
    }
    throw SyntaxError{};
  }

  // Skips to the next token at `level` or above. At statement level, whole if…fi and do…od
  // blocks are skipped as one, so that recovery resumes after the statement that failed.
  void skip_to(Level level) {
    int nest = 0;
    for (;;) {
      K k = cur().kind;
      Level l = level_of(k);
      if (l >= level && (nest == 0 || l > Level::Stmt)) return;
      if (k == K::If || k == K::Do) {
        ++nest;
      } else if ((k == K::Fi || k == K::Od) && nest > 0) {
        --nest;
      }
      advance();
    }
  }

  // Skips, block-wise like skip_to(Stmt), to `target` or `end` at this nesting level; stops
  // early at a transition or anything above. Returns the kind it stopped at.
  K skip_within_statement(K target, K end) {
    int nest = 0;
    for (;;) {
      K k = cur().kind;
      if (nest == 0 && (k == target || k == end)) return k;
      if (level_of(k) >= Level::Transition) return k;
      if (k == K::If || k == K::Do) {
        ++nest;
      } else if ((k == K::Fi || k == K::Od) && nest > 0) {
        --nest;
      }
      advance();
    }
  }

  // At a synchronisation point of level `here`: passes on an error meant for an outer one,
  // else skips to where this one can resume.
  void resync(const SyntaxError& e, Level here) {
    if (e.level > here) throw e;
    skip_to(here);
  }

  // Counts one level of nesting (a nested expression, statement or type) for as long as it
  // lives; more than max_nesting levels abandon the declaration.
  class Nest {
  public:
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.depth_ > max_nesting) {
        --p_.depth_;
        p_.fail(fmt::format("nested too deeply (more than {} levels)", max_nesting), Level::Decl);
      }
    }
    ~Nest() { --p_.depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

  private:
    Parser& p_;
  };

  // ------------------------------------------------------------------------ declarations

  Decl parse_decl() {
    switch (cur().kind) {
    case K::Import:
      return parse_import();
    case K::Type:
      return parse_type_decl();
    case K::Automaton:
      return parse_automaton();
    case K::Layer:
      return parse_layer();
    case K::Stack:
      return parse_stack();
    case K::Invariant:
      return parse_invariant();
    case K::Oracle:
      return parse_oracle();
    case K::Header:
      return parse_header(); // owned by no layer
    default:
      fail(expected("a declaration (type, header, oracle, automaton, layer, stack, invariant or "
                    "import)",
                    "", describe(cur())),
           Level::Decl);
    }
  }

  Import parse_import() {
    advance();
    const Token& path = expect(K::String, "after 'import' (the file to import)");
    return Import{path.loc, path.string};
  }

  TypeDecl parse_type_decl() {
    advance();
    TypeDecl d;
    const Token& name = expect_name("the type's name", "after 'type'");
    d.loc = name.loc;
    d.name = std::string(name.text);
    expect(K::Eq, "after 'type {}'", d.name);
    if (accept(K::Enumeration)) {
      d.form = TypeDecl::Form::Enumeration;
      expect(K::Of, "after 'enumeration'");
      do {
        const Token& e = expect_name("an enumerator", "after '{}'",
                                     d.enumerators.empty() ? "enumeration of" : ",");
        d.enumerators.emplace_back(e.text);
        d.enumerator_locs.push_back(e.loc);
      } while (accept(K::Comma));
    } else if (accept(K::Record)) {
      d.form = TypeDecl::Form::Record;
      const Token& open = expect(K::LBracket, "after 'record' (a record's fields are in '[ ]')");
      d.fields = parse_fields(open, K::RBracket);
    } else {
      d.form = TypeDecl::Form::Alias;
      d.alias = parse_type();
    }
    return d;
  }

  // `field { "," field } closer`, after `open`.
  std::vector<std::pair<std::string, TypeExpr>> parse_fields(const Token& open, K closer) {
    std::vector<std::pair<std::string, TypeExpr>> fields;
    do {
      const Token& name =
          expect_name("a field name", "after '{}'", fields.empty() ? open.text : ",");
      expect(K::Colon, "after the field name '{}' (a field is 'name: type')", name.text);
      fields.emplace_back(std::string(name.text), parse_type());
    } while (accept(K::Comma));
    expect_list_end(closer, open);
    return fields;
  }

  TypeExpr parse_type() {
    Nest nest(*this);
    if (!at(K::Ident)) {
      std::string found = describe(cur());
      if (is_reserved_word(cur())) found += " (a reserved word)";
      fail(expected("a type (Bool, Int, Nat, u32, Seq[T], Map[K, V], a declared type, ...)", "",
                    found));
    }
    const Token& name = advance();
    TypeExpr t{name.loc, std::string(name.text), {}, nullptr};
    std::size_t arity = (t.name == "Seq" || t.name == "Set") ? 1 : t.name == "Map" ? 2 : 0;
    if (arity > 0) {
      const Token& open =
          expect(K::LBracket, "after '{0}' (the {1}: {0}[{2}])", t.name,
                 arity == 1 ? "element type" : "key and value types", arity == 1 ? "T" : "K, V");
      t.args.push_back(parse_type());
      if (arity == 2) {
        expect(K::Comma, "after the key type of 'Map' (Map[K, V])");
        t.args.push_back(parse_type());
      } else if (at(K::Comma)) {
        fail(fmt::format("'{}' takes one type argument", t.name));
      }
      expect_closing(K::RBracket, open, "", "to match this '['");
    } else if (at(K::LBracket)) {
      fail(fmt::format("'{}' takes no type arguments (only Seq, Set and Map do)", t.name));
    }
    return t;
  }

  // `"(" param { "," param } ")"`, at the '('.
  std::vector<Param> parse_params() {
    const Token& open = advance();
    std::vector<Param> params;
    do {
      Param p;
      const Token& name = expect_name("a parameter name", "after '{}'", params.empty() ? "(" : ",");
      p.loc = name.loc;
      p.name = std::string(name.text);
      expect(K::Colon, "after the parameter name '{}' (a parameter is 'name: type')", p.name);
      p.type = parse_type();
      if (accept(K::In)) {
        const Token& bracket =
            expect(K::LBracket, "after 'in' (the values '{}' may take: in [min, max])", p.name);
        p.min = parse_expr();
        expect(K::Comma, "between the least and the greatest value of '{}'", p.name);
        p.max = parse_expr();
        expect_closing(K::RBracket, bracket, "", "to match this '['");
      }
      if (accept(K::Assign)) p.default_value = parse_expr();
      if (at(K::String)) p.help = advance().string;
      params.push_back(std::move(p));
    } while (accept(K::Comma));
    expect_list_end(K::RParen, open);
    return params;
  }

  Automaton parse_automaton() {
    advance();
    Automaton a;
    const Token& name = expect_name("the automaton's name", "after 'automaton'");
    a.loc = name.loc;
    a.name = std::string(name.text);
    if (at(K::LParen)) a.params = parse_params();
    if (at(K::Components)) {
      a.composite = true;
      parse_components(a);
    } else if (at(K::Signature)) {
      parse_primitive(a);
    } else {
      fail(expected("'signature' or 'components'",
                    a.params.empty() ? fmt::format("after 'automaton {}'", a.name)
                                     : "after the automaton's parameters",
                    describe(cur())));
    }
    return a;
  }

  void parse_primitive(Automaton& a) {
    advance();
    for (;;) {
      if (is_action_kind(cur().kind)) {
        try {
          const Token& kind = advance();
          do {
            a.signature.push_back(parse_action_sig(kind));
          } while (accept(K::Comma));
        } catch (const SyntaxError& e) {
          resync(e, Level::Transition);
        }
        continue;
      }
      if (level_of(cur().kind) >= Level::Section) break;
      report(cur().loc, expected("'input', 'output' or 'internal' (an action of the signature) "
                                 "or 'states'",
                                 "", describe(cur())));
      advance();
      skip_to(Level::Transition);
    }
    expect(K::States, "after the signature of '{}'", a.name);
    parse_states(a.states);
    expect(K::Transitions, "after the states of '{}'", a.name);
    for (;;) {
      if (is_action_kind(cur().kind)) {
        try {
          a.transitions.push_back(parse_transition());
        } catch (const SyntaxError& e) {
          resync(e, Level::Transition);
        }
        continue;
      }
      if (level_of(cur().kind) >= Level::Section) break;
      report(cur().loc, expected("a transition ('input', 'output' or 'internal') or the next "
                                 "declaration",
                                 "", describe(cur())));
      advance();
      skip_to(Level::Transition);
    }
  }

  ActionSig parse_action_sig(const Token& kind) {
    ActionSig s;
    s.kind = action_kind(kind.kind);
    const Token& name = expect_name("the action's name", "after '{}'", kind.text);
    s.loc = name.loc;
    s.name = std::string(name.text);
    if (at(K::LParen)) {
      const Token& open = advance();
      do {
        Formal f;
        if (accept(K::Const)) {
          const Token& n = expect_name("the name of an automaton parameter", "after 'const'");
          f.loc = n.loc;
          f.name = std::string(n.text);
          f.is_const = true;
        } else {
          const Token& n = expect_name("a parameter ('name: type' or 'const name')", "after '{}'",
                                       s.formals.empty() ? "(" : ",");
          f.loc = n.loc;
          f.name = std::string(n.text);
          expect(K::Colon,
                 "after the parameter name '{}' (a parameter is 'name: "
                 "type' or 'const name')",
                 f.name);
          f.type = parse_type();
        }
        s.formals.push_back(std::move(f));
      } while (accept(K::Comma));
      expect_list_end(K::RParen, open);
    }
    return s;
  }

  // `[ state { "," state } ]`, after "states". An error skips the rest of the section.
  void parse_states(std::vector<StateVar>& states) {
    if (!at(K::Ident)) return;
    try {
      for (;;) {
        states.push_back(parse_state());
        if (accept(K::Comma)) continue;
        if (at(K::Ident) && peek(1).kind == K::Colon) {
          // A forgotten ',' before the next state variable: say so and go on.
          report(after_previous(), fmt::format("expected ',' before the state variable '{}' "
                                               "(state variables are separated by ',')",
                                               cur().text));
          continue;
        }
        return;
      }
    } catch (const SyntaxError& e) {
      resync(e, Level::Section);
    }
  }

  StateVar parse_state() {
    StateVar v;
    const Token& name = expect_name("the name of a state variable", "");
    v.loc = name.loc;
    v.name = std::string(name.text);
    expect(K::Colon,
           "after the state variable '{}' (a state variable is 'name: type "
           ":= initial value')",
           v.name);
    v.type = parse_type();
    expect(K::Assign,
           "after the type of state variable '{}' (every state variable "
           "has an initial value)",
           v.name);
    v.init = parse_expr();
    return v;
  }

  // A transition of a classic automaton: `kind IDENT [ "(" IDENT { "," IDENT } ")" ]
  // [ "pre" expr ] [ "eff" stmts ]`.
  Transition parse_transition() {
    const Token& kind = advance();
    Transition t;
    t.kind = action_kind(kind.kind);
    const Token& name = expect_name("the action's name", "after '{}'", kind.text);
    t.loc = name.loc;
    t.name = std::string(name.text);
    if (at(K::LParen)) parse_transition_params(t);
    bool has_pre = false;
    if (accept(K::Pre)) {
      has_pre = true;
      try {
        t.pre = parse_expr();
      } catch (const SyntaxError& e) {
        if (e.level > Level::Stmt) throw;
        while (!at(K::Eff) && level_of(cur().kind) < Level::Transition) advance();
        if (!at(K::Eff)) throw SyntaxError{Level::Transition};
      }
    }
    bool has_eff = false;
    if (accept(K::Eff)) {
      has_eff = true;
      t.eff = parse_stmts();
    }
    if (level_of(cur().kind) < Level::Transition) {
      fail(expected(has_eff   ? "';' or the next transition"
                    : has_pre ? "'eff' or the next transition"
                              : "'pre', 'eff' or the next transition",
                    fmt::format("in transition '{}'", t.name), describe(cur())));
    }
    return t;
  }

  // `"(" IDENT { "," IDENT } ")"`: the names a transition gives its action's parameters.
  void parse_transition_params(Transition& t) {
    const Token& open = advance();
    do {
      const Token& p = expect_name("a parameter name", "after '{}'", t.params.empty() ? "(" : ",");
      t.params.emplace_back(p.text);
      t.param_locs.push_back(p.loc);
    } while (accept(K::Comma));
    expect_list_end(K::RParen, open);
  }

  void parse_components(Automaton& a) {
    advance();
    for (;;) {
      try {
        a.components.push_back(parse_component());
      } catch (const SyntaxError& e) {
        resync(e, Level::Stmt);
      }
      if (accept(K::Semicolon)) continue;
      if (at(K::Ident) && peek(1).kind == K::Colon) {
        report(after_previous(), fmt::format("expected ';' before the component '{}' (components "
                                             "are separated by ';')",
                                             cur().text));
        continue;
      }
      if (at(K::Comma)) {
        report(cur().loc, "components are separated by ';', not ','");
        advance();
        continue;
      }
      return;
    }
  }

  Component parse_component() {
    Component c;
    const Token& name = expect_name("a component ('name: Automaton(arguments)')", "");
    c.loc = name.loc;
    c.name = std::string(name.text);
    expect(K::Colon,
           "after the component name '{}' (a component is 'name: "
           "Automaton(arguments)')",
           c.name);
    c.automaton = std::string(expect_name("the name of an automaton", "after '{}:'", c.name).text);
    if (at(K::LParen)) {
      const Token& open = advance();
      do {
        c.args.push_back(parse_expr());
      } while (accept(K::Comma));
      expect_list_end(K::RParen, open);
    }
    return c;
  }

  Invariant parse_invariant() {
    const Token& keyword = advance();
    Invariant inv;
    inv.loc = keyword.loc;
    if (accept(K::Of)) {
      inv.of = std::string(
          expect_name("the name of an automaton or layer", "after 'invariant of'").text);
    }
    expect(K::Colon, "after 'invariant{}{}'", inv.of.empty() ? "" : " of ", inv.of);
    inv.predicate = parse_expr();
    return inv;
  }

  // --------------------------------------------------------------- Lamina's extensions

  // `"oracle" IDENT "(" [ IDENT ":" type { "," IDENT ":" type } ] ")" ":" type`.
  OracleDecl parse_oracle() {
    advance();
    OracleDecl o;
    const Token& name = expect_name("the oracle's name", "after 'oracle'");
    o.loc = name.loc;
    o.name = std::string(name.text);
    o.declared_at = fmt::format("{}:{}", sources_.path(file_), name.loc.line);
    const Token& open = expect(K::LParen, "after 'oracle {}' (its parameters, in '( )')", o.name);
    if (!accept(K::RParen)) {
      do {
        const Token& p =
            expect_name("a parameter name", "after '{}'", o.params.empty() ? "(" : ",");
        expect(K::Colon, "after the parameter name '{}' (a parameter is 'name: type')", p.text);
        o.params.emplace_back(std::string(p.text), parse_type());
      } while (accept(K::Comma));
      expect_list_end(K::RParen, open);
    }
    expect(K::Colon, "after the parameters of oracle '{}' (then its result type)", o.name);
    o.result = parse_type();
    return o;
  }

  Layer parse_layer() {
    advance();
    Layer l;
    const Token& name = expect_name("the layer's name", "after 'layer'");
    l.loc = name.loc;
    l.name = std::string(name.text);
    if (at(K::LParen)) l.params = parse_params();
    if (at(K::Ident) && cur().text == "at") {
      advance();
      if (at(K::Ident) && cur().text != "top" && cur().text != "bottom")
        fail(fmt::format("a layer stands 'at top' or 'at bottom', not 'at {}'", cur().text));
      const Token& place =
          expect_name("'top' or 'bottom' (where the layer must stand)", "after 'at'");
      l.place = std::string(place.text);
      l.place_loc = place.loc;
    }
    if (accept(K::Provides)) l.provides = parse_guarantees("provides");
    if (accept(K::Needs)) l.needs = parse_guarantees("needs");
    while (at(K::Header)) {
      try {
        l.headers.push_back(parse_header());
      } catch (const SyntaxError& e) {
        resync(e, Level::Section);
      }
    }
    if (at(K::Signature)) {
      fail("a layer has no signature: its inputs are the events its transitions take, its "
           "outputs the events its effects emit",
           Level::Decl);
    }
    expect(K::States,
           "in layer '{}' (after its name, parameters, guarantees and "
           "headers)",
           l.name);
    parse_states(l.states);
    expect(K::Transitions, "after the states of '{}'", l.name);
    for (;;) {
      if (is_action_kind(cur().kind)) {
        try {
          l.transitions.push_back(parse_layer_transition());
        } catch (const SyntaxError& e) {
          resync(e, Level::Transition);
        }
        continue;
      }
      if (level_of(cur().kind) >= Level::Section) break;
      report(cur().loc, expected("a transition ('input down.send(p, m)', 'input timer', ...), "
                                 "'ccp' or the next declaration",
                                 "", describe(cur())));
      advance();
      skip_to(Level::Transition);
    }
    for (;;) {
      if (at(K::Ccp)) {
        try {
          l.ccps.push_back(parse_ccp());
        } catch (const SyntaxError& e) {
          resync(e, Level::Section);
        }
        continue;
      }
      if (level_of(cur().kind) == Level::Decl || at(K::Header)) break; // a top-level header
      if (is_action_kind(cur().kind)) {
        report(cur().loc, "a layer's transitions come before its 'ccp' declarations");
      } else {
        report(cur().loc, expected("'ccp' or the next declaration", "", describe(cur())));
      }
      advance();
      skip_to(Level::Section);
    }
    return l;
  }

  std::vector<std::string> parse_guarantees(std::string_view keyword) {
    std::vector<std::string> names;
    do {
      names.emplace_back(expect_name("a guarantee (fifo, reliable, integrity, lamport)",
                                     "after '{}'", names.empty() ? keyword : ",")
                             .text);
    } while (accept(K::Comma));
    return names;
  }

  Header parse_header() {
    advance();
    Header h;
    const Token& name = expect_name("the header's name", "after 'header'");
    h.loc = name.loc;
    h.name = std::string(name.text);
    const Token& open =
        expect(K::LBrace, "after 'header {}' (a header's fields are in '{{ }}')", h.name);
    h.fields = parse_fields(open, K::RBrace);
    return h;
  }

  Port parse_port(std::string_view context) {
    if (at_word("down")) {
      advance();
      return Port::Down;
    }
    if (at_word("up")) {
      advance();
      return Port::Up;
    }
    fail(expected("'down' or 'up'", context, describe(cur())));
  }

  EventKind parse_event(std::string_view port) {
    static constexpr std::pair<std::string_view, EventKind> events[] = {
        {"send", EventKind::Send}, {"cast", EventKind::Cast}, {"deliver", EventKind::Deliver}};
    for (const auto& [word, kind] : events) {
      if (at_word(word)) {
        advance();
        return kind;
      }
    }
    fail(
        expected("'send', 'cast' or 'deliver'", fmt::format("after '{}.'", port), describe(cur())));
  }

  // `"input" port "." event "(" IDENT { "," IDENT } ")" "eff" stmts | "input" "timer" "eff"
  // stmts`.
  Transition parse_layer_transition() {
    const Token& kind = advance();
    if (kind.kind != K::Input) {
      report(kind.loc, fmt::format("a layer's transitions are all inputs, not '{}': its outputs "
                                   "are the events its effects emit",
                                   kind.text));
      throw SyntaxError{Level::Transition};
    }
    Transition t;
    t.kind = ActionKind::Input;
    std::size_t head = pos_;
    if (at_word("timer")) {
      t.loc = cur().loc;
      t.name = "timer";
      advance();
    } else {
      const Token& port = cur();
      t.loc = port.loc;
      t.port = parse_port("after 'input' (as in 'input down.send(p, m)' or 'input timer')");
      expect(K::Dot, "after '{}'", port.text);
      const Token& event = cur();
      t.event = parse_event(port.text);
      t.name = std::string(event.text);
      if (!at(K::LParen)) {
        fail(expected("'('",
                      fmt::format("after 'input {}.{}' (the names of the event's fields, "
                                  "as in '{}.{}(p, m)')",
                                  port.text, event.text, port.text, event.text),
                      describe(cur())));
      }
      parse_transition_params(t);
    }
    std::string written = source_text(head, pos_);
    if (at(K::Pre)) {
      fail("a layer's transition has no 'pre': its inputs are always enabled (a 'ccp' states "
           "the common case)");
    }
    expect(K::Eff, "after 'input {}'", written);
    t.eff = parse_stmts();
    if (level_of(cur().kind) < Level::Transition) {
      fail(expected("';' or the next transition", fmt::format("in transition 'input {}'", written),
                    describe(cur())));
    }
    return t;
  }

  Ccp parse_ccp() {
    advance();
    Ccp c;
    const Token& port = cur();
    c.loc = port.loc;
    c.port = parse_port("after 'ccp'");
    expect(K::Dot, "after 'ccp {}'", port.text);
    const Token& event = cur();
    c.event = parse_event(port.text);
    expect(K::Colon, "after 'ccp {}.{}'", port.text, event.text);
    c.predicate = parse_expr();
    return c;
  }

  Stack parse_stack() {
    advance();
    Stack s;
    const Token& name = expect_name("the stack's name", "after 'stack'");
    s.loc = name.loc;
    s.name = std::string(name.text);
    if (at(K::LParen)) s.params = parse_params();
    expect(K::Eq, "after {}{}{} (a stack is 'stack Name = Top : ... : Bottom')",
           s.params.empty() ? "'stack " : "the stack's parameters", s.params.empty() ? s.name : "",
           s.params.empty() ? "'" : "");
    do {
      s.layers.push_back(parse_layer_ref());
    } while (accept(K::Colon));
    return s;
  }

  LayerRef parse_layer_ref() {
    LayerRef r;
    const Token& name = expect_name("the name of a layer", "");
    r.loc = name.loc;
    r.layer = std::string(name.text);
    if (at(K::LParen)) {
      const Token& open = advance();
      do {
        if (!(at(K::Ident) && peek(1).kind == K::Eq)) {
          fail(expected("a named argument 'parameter = value' (layer arguments are named, as "
                        "in 'Frag(mtu = 1400)')",
                        "", describe(cur())));
        }
        const Token& param = advance();
        advance();
        r.args.emplace_back(std::string(param.text), parse_expr());
        r.arg_locs.push_back(param.loc);
      } while (accept(K::Comma));
      expect_list_end(K::RParen, open);
    }
    return r;
  }

  // -------------------------------------------------------------------------- statements

  // `stmt { ";" stmt }`. An error in one statement skips to the next ';' (or to the fi, od,
  // else or elseif that ends the list) and goes on; one that reaches the next transition or
  // declaration is passed up to the transition list.
  Stmts parse_stmts() {
    Stmts out;
    for (;;) {
      try {
        out.push_back(parse_stmt());
      } catch (const SyntaxError& e) {
        resync(e, Level::Stmt);
        if (level_of(cur().kind) > Level::Stmt) throw SyntaxError{Level::Transition};
      }
      if (accept(K::Semicolon)) continue;
      if (starts_statement(cur().kind)) {
        // A forgotten ';': say so and read on as if it were there.
        report(after_previous(), fmt::format("expected ';' before {} (statements are separated "
                                             "by ';')",
                                             describe(cur())));
        continue;
      }
      return out;
    }
  }

  std::unique_ptr<Stmt> parse_stmt() {
    Nest nest(*this);
    auto stmt = std::make_unique<Stmt>();
    stmt->loc = cur().loc;
    switch (cur().kind) {
    case K::Ident:
      stmt->node = parse_assign();
      break;
    case K::If:
      stmt->node = parse_if();
      break;
    case K::Let:
      stmt->node = parse_let();
      break;
    case K::For:
      stmt->node = parse_for();
      break;
    case K::Emit:
      stmt->node = parse_emit();
      break;
    case K::SetTimer: {
      advance();
      const Token& open = expect(K::LParen, "after 'set_timer'");
      SetTimer s{parse_expr()};
      expect_closing(K::RParen, open, "", "to match this '('");
      stmt->node = std::move(s);
      break;
    }
    case K::Skip:
      advance();
      stmt->node = Skip{};
      break;
    default:
      not_a_statement();
    }
    return stmt;
  }

  [[noreturn]] void not_a_statement() {
    bool ends_list = level_of(cur().kind) >= Level::Stmt && !at(K::Semicolon);
    if (ends_list && pos_ > 0 && toks_[pos_ - 1].kind == K::Semicolon) {
      if (report(cur().loc, expected("a statement after ';'", "", describe(cur())))) {
        diags_.note(toks_[pos_ - 1].loc, "';' separates statements, so none follows the last; "
                                         "remove this one");
      }
      throw SyntaxError{};
    }
    if (ends_list && level_of(cur().kind) == Level::Stmt) {
      fail(expected("a statement", "", describe(cur())) +
           " (a branch or loop that does nothing is written 'skip')");
    }
    fail(expected("a statement", "", describe(cur())));
  }

  Assign parse_assign() {
    std::size_t first = pos_;
    ExprPtr target = parse_lvalue();
    if (!at(K::Assign)) {
      std::string written = source_text(first, pos_);
      if (at(K::LParen) && std::holds_alternative<Name>(target->node)) {
        fail(fmt::format("'{}(...)' is a call, not a statement; assign its result with ':='",
                         written));
      }
      expect(K::Assign, "to assign to '{}'", written);
    }
    advance();
    return Assign{std::move(target), parse_expr()};
  }

  If parse_if() {
    const Token& keyword = advance();
    If node;
    if (!parse_branch(node)) return node;
    while (accept(K::Elseif)) {
      if (!parse_branch(node)) return node;
    }
    if (accept(K::Else)) node.otherwise = parse_stmts();
    expect_closing(K::Fi, keyword, "to end the 'if' statement", "the 'if' statement begins here");
    return node;
  }

  // `expr "then" stmts`, added to `node`. After an error in the condition, resumes at its
  // 'then'; if there is none, skips the rest of the if statement with its 'fi' and returns
  // false.
  bool parse_branch(If& node) {
    ExprPtr condition;
    try {
      condition = parse_expr();
      expect(K::Then, "after the condition");
    } catch (const SyntaxError& e) {
      if (e.level > Level::Stmt) throw;
      K stop = skip_within_statement(K::Then, K::Fi);
      if (stop == K::Fi) {
        advance();
        return false;
      }
      if (stop != K::Then) throw SyntaxError{Level::Transition};
      advance();
    }
    node.branches.emplace_back(std::move(condition), parse_stmts());
    return true;
  }

  Let parse_let() {
    advance();
    Let l;
    l.name = std::string(expect_name("the name of the 'let' variable", "after 'let'").text);
    expect(K::Assign, "after 'let {}'", l.name);
    l.value = parse_expr();
    return l;
  }

  For parse_for() {
    const Token& keyword = advance();
    For f;
    try {
      f.var = std::string(expect_name("the loop variable", "after 'for'").text);
      expect(K::In, "after 'for {}'", f.var);
      f.range = parse_expr();
      expect(K::Do, "after the range of the 'for' loop");
    } catch (const SyntaxError& e) {
      if (e.level > Level::Stmt) throw;
      K stop = skip_within_statement(K::Do, K::Od);
      if (stop == K::Od) {
        advance();
        return f;
      }
      if (stop != K::Do) throw SyntaxError{Level::Transition};
      advance();
    }
    f.body = parse_stmts();
    expect_closing(K::Od, keyword, "to end the 'for' loop", "the 'for' loop begins here");
    return f;
  }

  // `"emit" port "." event "(" [ expr { "," expr } ] [ "," "lamport" "=" expr ] ")"`.
  Emit parse_emit() {
    advance();
    Emit e;
    const Token& port = cur();
    e.port = parse_port("after 'emit'");
    expect(K::Dot, "after 'emit {}'", port.text);
    const Token& event = cur();
    e.event = parse_event(port.text);
    const Token& open = expect(K::LParen, "after 'emit {}.{}'", port.text, event.text);
    if (!at(K::RParen)) {
      do {
        if (at_word("lamport") && peek(1).kind == K::Eq) {
          advance();
          advance();
          e.lamport = parse_expr();
          if (at(K::Comma)) fail("'lamport = ...' must be the last argument of 'emit'");
          break;
        }
        e.args.push_back(parse_expr());
      } while (accept(K::Comma));
    }
    expect_list_end(K::RParen, open);
    return e;
  }

  // ------------------------------------------------------------------------- expressions

  // The height of an expression tree, so that trees deeper than max_nesting are refused
  // (the checker and simulator walk them recursively).
  [[nodiscard]] unsigned height(const ExprPtr& e) const {
    if (!e) return 0;
    auto it = heights_.find(e.get());
    return it == heights_.end() ? 1 : it->second;
  }

  template <class Node>
  ExprPtr make(SourceLoc loc, Node node, unsigned child_height) {
    unsigned h = child_height + 1;
    if (h > max_nesting) {
      report(loc, fmt::format("expression nested too deeply (more than {} levels); split it "
                              "with 'let'",
                              max_nesting));
      throw SyntaxError{Level::Decl};
    }
    auto e = std::make_unique<Expr>();
    e->loc = loc;
    e->node = std::move(node);
    heights_[e.get()] = h;
    return e;
  }

  ExprPtr binary(BinaryOp op, ExprPtr lhs, ExprPtr rhs, SourceLoc loc) {
    unsigned h = std::max(height(lhs), height(rhs));
    return make(loc, Binary{op, std::move(lhs), std::move(rhs)}, h);
  }

  ExprPtr unary(UnaryOp op, ExprPtr operand, SourceLoc loc) {
    unsigned h = height(operand);
    return make(loc, Unary{op, std::move(operand)}, h);
  }

  ExprPtr parse_expr() {
    Nest nest(*this);
    return parse_implies();
  }

  // `or [ "⇒" implies ]`: right-associative, built without recursion.
  ExprPtr parse_implies() {
    std::vector<ExprPtr> operands;
    std::vector<SourceLoc> arrows;
    operands.push_back(parse_or());
    while (at(K::Implies)) {
      arrows.push_back(advance().loc);
      operands.push_back(parse_or());
    }
    ExprPtr e = std::move(operands.back());
    for (std::size_t i = arrows.size(); i-- > 0;) {
      e = binary(BinaryOp::Implies, std::move(operands[i]), std::move(e), arrows[i]);
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at(K::Or)) {
      SourceLoc loc = advance().loc;
      e = binary(BinaryOp::Or, std::move(e), parse_and(), loc);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at(K::And)) {
      SourceLoc loc = advance().loc;
      e = binary(BinaryOp::And, std::move(e), parse_not(), loc);
    }
    return e;
  }

  ExprPtr parse_not() {
    std::vector<SourceLoc> nots;
    while (at(K::Not)) nots.push_back(advance().loc);
    ExprPtr e = parse_compare();
    for (std::size_t i = nots.size(); i-- > 0;) e = unary(UnaryOp::Not, std::move(e), nots[i]);
    return e;
  }

  // `append [ op append ]`: comparisons do not chain.
  ExprPtr parse_compare() {
    ExprPtr lhs = parse_append();
    std::optional<BinaryOp> op = comparison(cur().kind);
    if (!op) return lhs;
    const Token& first = advance();
    ExprPtr rhs = parse_append();
    if (comparison(cur().kind)) {
      const Token& second = cur();
      if (report(second.loc, fmt::format("'{}' cannot follow a comparison: comparisons do not "
                                         "chain",
                                         second.text))) {
        diags_.note(second.loc, fmt::format("to compare both, write 'a {} b ∧ b {} c'", first.text,
                                            second.text));
      }
      throw SyntaxError{};
    }
    return binary(*op, std::move(lhs), std::move(rhs), first.loc);
  }

  ExprPtr parse_append() {
    ExprPtr e = parse_sum();
    while (at(K::Append)) {
      SourceLoc loc = advance().loc;
      e = binary(BinaryOp::Append, std::move(e), parse_sum(), loc);
    }
    return e;
  }

  ExprPtr parse_sum() {
    ExprPtr e = parse_product();
    while (std::optional<BinaryOp> op = sum_op(cur().kind)) {
      SourceLoc loc = advance().loc;
      e = binary(*op, std::move(e), parse_product(), loc);
    }
    return e;
  }

  ExprPtr parse_product() {
    ExprPtr e = parse_unary();
    while (std::optional<BinaryOp> op = product_op(cur().kind)) {
      SourceLoc loc = advance().loc;
      e = binary(*op, std::move(e), parse_unary(), loc);
    }
    return e;
  }

  ExprPtr parse_unary() {
    std::vector<SourceLoc> minuses;
    while (at(K::Minus)) minuses.push_back(advance().loc);
    ExprPtr e = parse_postfix(parse_primary());
    for (std::size_t i = minuses.size(); i-- > 0;) {
      e = unary(UnaryOp::Neg, std::move(e), minuses[i]);
    }
    return e;
  }

  // `{ "." IDENT | "[" expr "]" }` after `e`.
  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      if (accept(K::Dot)) {
        const Token& field = expect_name("a field name", "after '.'");
        unsigned h = height(e);
        e = make(field.loc, FieldAccess{std::move(e), std::string(field.text), 0}, h);
      } else if (at(K::LBracket)) {
        const Token& open = advance();
        ExprPtr index = parse_expr();
        expect_closing(K::RBracket, open, "", "to match this '['");
        unsigned h = std::max(height(e), height(index));
        e = make(open.loc, IndexAccess{std::move(e), std::move(index)}, h);
      } else {
        return e;
      }
    }
  }

  // `IDENT { "." IDENT | "[" expr "]" }`: what an assignment assigns to.
  ExprPtr parse_lvalue() {
    const Token& name = advance();
    return parse_postfix(make(name.loc, Name{std::string(name.text)}, 0));
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    switch (t.kind) {
    case K::Int:
    case K::Time:
      advance();
      return make(t.loc, IntLit{t.value, t.kind == K::Time}, 0);
    case K::True:
    case K::False:
      advance();
      return make(t.loc, BoolLit{t.kind == K::True}, 0);
    case K::LBrace: {
      advance();
      CollectionLit c;
      unsigned h = 0;
      if (!at(K::RBrace)) {
        do {
          c.elems.push_back(parse_expr());
          h = std::max(h, height(c.elems.back()));
        } while (accept(K::Comma));
      }
      expect_list_end(K::RBrace, t);
      return make(t.loc, std::move(c), h);
    }
    case K::Ident:
      if (peek(1).kind == K::LBrace) return parse_record_literal();
      if (peek(1).kind == K::LParen) return parse_call();
      advance();
      return make(t.loc, Name{std::string(t.text)}, 0);
    case K::LParen: {
      advance();
      ExprPtr e = parse_expr();
      expect_closing(K::RParen, t, "", "to match this '('");
      return e;
    }
    case K::Not:
      fail("expected an operand, found '¬': '¬' binds more loosely than comparisons and "
           "arithmetic, so here it needs parentheses: '(¬ ...)'");
    default:
      fail(expected("an expression", "", describe(cur())));
    }
  }

  // `IDENT "{" [ IDENT "=" expr { "," IDENT "=" expr } ] "}"`.
  ExprPtr parse_record_literal() {
    const Token& name = advance();
    const Token& open = advance();
    RecordLit r;
    r.type_name = std::string(name.text);
    unsigned h = 0;
    if (!at(K::RBrace)) {
      do {
        const Token& field =
            expect_name("a field name", "after '{}{}'", r.fields.empty() ? name.text : ",",
                        r.fields.empty() ? "{" : "");
        expect(K::Eq, "after the field name '{}' (fields are given as 'name = value')", field.text);
        r.fields.emplace_back(std::string(field.text), parse_expr());
        h = std::max(h, height(r.fields.back().second));
      } while (accept(K::Comma));
    }
    expect_list_end(K::RBrace, open);
    return make(name.loc, std::move(r), h);
  }

  // `IDENT "(" [ expr { "," expr } ] ")"`.
  ExprPtr parse_call() {
    const Token& name = advance();
    const Token& open = advance();
    Call c;
    c.callee = std::string(name.text);
    unsigned h = 0;
    if (!at(K::RParen)) {
      do {
        c.args.push_back(parse_expr());
        h = std::max(h, height(c.args.back()));
      } while (accept(K::Comma));
    }
    expect_list_end(K::RParen, open);
    return make(name.loc, std::move(c), h);
  }

  const Sources& sources_;
  Diagnostics& diags_;
  FileId file_;
  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  unsigned depth_ = 0;
  std::size_t last_error_pos_ = static_cast<std::size_t>(-1);
  bool decl_failed_ = false;
  std::unordered_map<const Expr*, unsigned> heights_;
};

} // namespace

SpecFile parse(const Sources& sources, FileId file, Diagnostics& diags) {
  return Parser(sources, file, diags).run();
}

} // namespace lamina::spec
