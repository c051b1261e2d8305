#include "optimizer/passes.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <functional>

namespace lamina::opt {

namespace {

NodeRef simplify_node(const NodeRef& e);

// Whether C++ text `t` names the variable `name`: as a whole word, not after `.`, `->` or `::`
// (a member's or a namespace's name).
bool in_text(const std::string& t, const std::string& name) {
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t at = t.find(name); at != std::string::npos; at = t.find(name, at + 1)) {
    const std::string_view before = std::string_view(t).substr(0, at);
    if ((before.empty() || !word(before.back())) && !before.ends_with('.') &&
        !before.ends_with("->") && !before.ends_with("::") &&
        (at + name.size() == t.size() || !word(t[at + name.size()])))
      return true;
  }
  return false;
}

void collect_writes(const NodeRef& n, std::set<std::string>& out) {
  if (!n) return;
  out.insert(n->writes.begin(), n->writes.end());
  for (const auto& k : n->kids) collect_writes(k, out);
}

// Names a node reads: members ("self.x"), locals, "msg@".
void collect_roots(const NodeRef& n, std::set<std::string>& out) {
  if (!n) return;
  switch (n->kind) {
  case Kind::Member:
  case Kind::Local:
    out.insert(n->name);
    break;
  case Kind::MsgSize:
  case Kind::MsgBytes:
  case Kind::MsgData:
  case Kind::MsgRef:
    out.insert(n->event);
    break;
  default:
    break;
  }
  for (const auto& k : n->kids) collect_roots(k, out);
}

bool is_comparison(const std::string& op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}
std::string negated(const std::string& op) {
  if (op == "==") return "!=";
  if (op == "!=") return "==";
  if (op == "<") return ">=";
  if (op == ">=") return "<";
  if (op == ">") return "<=";
  return ">";
}

std::optional<Wide> as_number(const std::string& s) { return parse_decimal(s); }

bool gives_bool(const std::string& op) { return is_comparison(op) || op == "&&" || op == "||"; }

// The operator of `n` (Binary or Unary) on operand values `a` and `b`, each a value of its
// operand's own type, as C++ computes it: the operands converted to the operation's type, then
// the operation. Without a type (a comparison the optimiser made, or of values it does not
// model) only comparisons and && || !, on the values as they are.
Folded fold_operator(const NodeRef& n, Wide a, Wide b) {
  const std::string& op = n->text;
  const IntType t = n->type;
  if (!t.known()) {
    if (n->kind == Kind::Unary) return op == "!" ? Folded{a == 0, ""} : Folded{};
    if (!gives_bool(op)) return {};
    return fold_binary(op, IntType::of(IntType::Rank::long_long, true), a, b);
  }
  if (n->kind == Kind::Unary) return fold_unary(op, t, convert(a, t));
  // A shift's right operand is promoted on its own: its value is what counts.
  return fold_binary(op, t, convert(a, t), op == "<<" || op == ">>" ? b : convert(b, t));
}

// Whether evaluating `n` runs an operation whose operands `value` knows and whose result C++
// leaves undefined; such code is never dropped as if it were harmless. && and || evaluate their
// right operand only when the left one does not decide them.
bool undefined(const NodeRef& n, const std::function<std::optional<Wide>(const NodeRef&)>& value) {
  if (!n) return false;
  if (n->kind == Kind::Binary && (n->text == "&&" || n->text == "||")) {
    if (undefined(n->kids[0], value)) return true;
    const auto a = value(n->kids[0]);
    return !(a && (*a != 0) == (n->text == "||")) && undefined(n->kids[1], value);
  }
  if (std::any_of(n->kids.begin(), n->kids.end(),
                  [&](const NodeRef& k) { return undefined(k, value); }))
    return true;
  if (n->kind != Kind::Binary && n->kind != Kind::Unary) return false;
  const auto a = value(n->kids[0]);
  const auto b = n->kind == Kind::Binary ? value(n->kids[1]) : std::optional<Wide>(0);
  return a && b && !fold_operator(n, *a, *b).value;
}

// What is known at a point of the code: equalities (a union-find over canonical keys, with a
// constant as the representative of its class) and the truth of other atoms. Every fact
// remembers the names it depends on and is dropped when one of them is written.
class Facts {
public:
  // `not_folded` collects why operations were left alone; Facts made for one body share it.
  explicit Facts(
      std::shared_ptr<std::set<std::string>> not_folded = std::make_shared<std::set<std::string>>())
      : not_folded_(std::move(not_folded)) {}

  void add(const NodeRef& e, bool truth) {
    // Each conjunct a fact of its own, so that a write drops only those that read what it wrote.
    if (e->kind == Kind::Binary && e->text == (truth ? "&&" : "||")) {
      add(e->kids[0], truth);
      add(e->kids[1], truth);
      return;
    }
    if (e->kind == Kind::Unary && e->text == "!") {
      add(e->kids[0], !truth);
      return;
    }
    std::set<std::string> deps;
    collect_roots(e, deps);
    facts_.push_back({e, truth, deps});
    const std::size_t unions = unions_;
    apply(e, truth);
    // Two classes became one: atoms known before are keyed by a representative that may no
    // longer be its class's.
    if (unions_ != unions && facts_.size() > 1) rebuild();
  }

  // `name` is a reference to what `init` names: writing it writes that. A table's entry is the
  // table's: writing it writes no variable its key was read from.
  void alias(const std::string& name, const NodeRef& init) {
    std::set<std::string> roots;
    collect_roots(init->kind == Kind::Entry ? init->kids[0] : init, roots);
    aliases_[name] = roots;
  }

  // A new variable `name`: what was known of an earlier one of that name no longer applies.
  void forget(const std::string& name) {
    aliases_.erase(name);
    const auto before = facts_.size();
    std::erase_if(facts_, [&](const Fact& f) { return f.deps.count(name) != 0; });
    if (facts_.size() != before) rebuild();
  }

  // A variable `name` of the handler's own: `value` if it holds an integer (not a reference),
  // which nothing outside the handler can reach. A name ever declared otherwise is never taken
  // for such a variable (facts are kept by name, across scopes).
  void declared(const std::string& name, bool value) {
    if (!value) not_values_.insert(name);
    if (value && not_values_.count(name) == 0)
      values_.insert(name);
    else
      values_.erase(name);
  }

  // The application has had the stack (io.up): it may have sent, and so changed any state of
  // the layers and the event. What is known of the handler's integer variables alone holds.
  void forget_state() {
    const auto before = facts_.size();
    std::erase_if(facts_, [&](const Fact& f) {
      return !std::includes(values_.begin(), values_.end(), f.deps.begin(), f.deps.end());
    });
    if (facts_.size() != before) rebuild();
  }

  void invalidate(std::set<std::string> writes) {
    if (writes.empty()) return;
    // A part written is its whole written: facts keep the event's name for its message
    // (`ev.msg.truncate(n)` writes "ev.msg"; a fact on ev.msg.size() depends on "ev").
    for (const std::string& w : std::set<std::string>(writes))
      if (const auto dot = w.find('.'); dot != std::string::npos) writes.insert(w.substr(0, dot));
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [name, roots] : aliases_)
        if (writes.count(name) != 0)
          for (const auto& r : roots) grew = writes.insert(r).second || grew;
    }
    const bool all = writes.count("*") != 0;
    auto before = facts_.size();
    std::erase_if(facts_, [&](const Fact& f) {
      if (all) return !f.deps.empty();
      return std::any_of(f.deps.begin(), f.deps.end(),
                         [&](const std::string& d) { return writes.count(d) != 0; });
    });
    if (facts_.size() != before) rebuild();
  }

  // The canonical key of a pure expression under the equalities.
  std::string canon(const NodeRef& n) {
    switch (n->kind) {
    case Kind::Constant:
      if (const auto v = n->value) return decimal(*v);
      return find(n->text);
    case Kind::Binary: {
      const std::string a = canon(n->kids[0]);
      const std::string b = canon(n->kids[1]);
      if (auto x = as_number(a), y = as_number(b); x && y)
        if (auto r = folded(n, *x, *y)) return decimal(*r);
      if (a == b && pure(n) && !undefined(n)) {
        if (n->text == "-") return "0";
        if (n->text == "==" || n->text == "<=" || n->text == ">=") return "1";
        if (n->text == "!=" || n->text == "<" || n->text == ">") return "0";
      }
      return find(fmt::format("({} {} {})", a, operator_key(n), b));
    }
    case Kind::Unary: {
      const std::string a = canon(n->kids[0]);
      if (auto x = as_number(a))
        if (auto r = folded(n, *x, 0)) return decimal(*r);
      return find(fmt::format("({}{})", operator_key(n), a));
    }
    case Kind::Convert: {
      std::string a = canon(n->kids[0]);
      if (auto x = as_number(a)) return decimal(convert(*x, n->type));
      if (holds(n->type, value_type(n->kids[0]))) return a; // it changes no value
      return find(fmt::format("(({}){})", n->type.name(), a));
    }
    case Kind::Entry:
      return find(fmt::format("{}[{}]", canon(n->kids[0]), canon(n->kids[1])));
    case Kind::Field:
      return find(canon(n->kids[0]) + "." + n->name);
    case Kind::Text: {
      if (!n->pure) return fmt::format("<impure {}>", static_cast<const void*>(n.get()));
      std::string t;
      for (std::size_t i = 0; i < n->text.size(); ++i) {
        if (n->text[i] == '$' && i + 1 < n->text.size() &&
            std::isdigit(static_cast<unsigned char>(n->text[i + 1]))) {
          std::size_t j = i + 1;
          std::size_t index = 0;
          while (j < n->text.size() && std::isdigit(static_cast<unsigned char>(n->text[j])))
            index = index * 10 + static_cast<std::size_t>(n->text[j++] - '0');
          t += index < n->kids.size() && n->kids[index] ? canon(n->kids[index]) : "?";
          i = j - 1;
        } else {
          t += n->text[i];
        }
      }
      return find(t);
    }
    case Kind::Subspan: {
      // bytes().subspan(k): the bytes k further on.
      const std::string b = canon(n->kids[0]);
      const std::string k = canon(n->kids[1]);
      const auto at = n->kids[0]->kind == Kind::MsgBytes ? n->kids[0]->value : std::nullopt;
      if (auto offset = as_number(k); at && offset)
        return find(fmt::format("msg.bytes@{}", decimal(*at + *offset)));
      return find(fmt::format("{}.subspan({})", b, k));
    }
    case Kind::MsgSize:
    case Kind::MsgBytes:
      if (!n->value)
        return fmt::format("<msg at an unknown position {}>", static_cast<const void*>(n.get()));
      return find(key(n));
    default:
      if (!pure(n)) return fmt::format("<impure {}>", static_cast<const void*>(n.get()));
      return find(key(n));
    }
  }

  std::optional<bool> decide(const NodeRef& n) {
    if (n->kind == Kind::Binary && (n->text == "&&" || n->text == "||")) {
      const auto a = decide(n->kids[0]);
      const bool is_and = n->text == "&&";
      if (a && *a != is_and) return !is_and;
      const auto b = decide(n->kids[1]);
      if (b && *b != is_and && (a || (pure(n->kids[0]) && !undefined(n->kids[0])))) return !is_and;
      if (a && b) return is_and;
      return std::nullopt;
    }
    if (n->kind == Kind::Unary && n->text == "!") {
      auto a = decide(n->kids[0]);
      if (a) return !*a;
      return std::nullopt;
    }
    const std::string k = canon(n);
    if (auto x = as_number(k)) return *x != 0;
    if (auto it = atoms_.find(k); it != atoms_.end()) return it->second;
    if (n->kind == Kind::Binary && is_comparison(n->text)) {
      const std::string neg = find(atom(n, negated(n->text)));
      if (auto it = atoms_.find(neg); it != atoms_.end()) return !it->second;
      // Compared as unsigned, nothing is below 0: `x < 0` is false, `0 <= x` true (where
      // evaluating x is defined).
      if (n->type.known() && !n->type.is_signed && pure(n) && !undefined(n)) {
        if (canon(n->kids[1]) == "0" && (n->text == "<" || n->text == ">=")) return n->text == ">=";
        if (canon(n->kids[0]) == "0" && (n->text == ">" || n->text == "<=")) return n->text == "<=";
      }
    }
    return std::nullopt;
  }

  // Whether evaluating `n` runs an operation that C++ leaves undefined, on what is known here.
  bool undefined(const NodeRef& n) {
    return opt::undefined(n, [&](const NodeRef& x) { return as_number(canon(x)); });
  }

  // The same sink of reasons, with nothing known.
  [[nodiscard]] Facts nothing_known() const { return Facts(not_folded_); }

  static bool pure(const NodeRef& n) {
    if (!n) return true;
    if (!n->pure) return false;
    if (n->kind == Kind::Pop || n->kind == Kind::DropHeader || n->kind == Kind::Neighbour ||
        n->kind == Kind::Inlined || n->kind == Kind::Call)
      return false;
    return std::all_of(n->kids.begin(), n->kids.end(), [](const NodeRef& k) { return pure(k); });
  }

private:
  struct Fact {
    NodeRef e;
    bool truth;
    std::set<std::string> deps;
  };

  // One fact (add() has split conjunctions and negations): an equality, or an atom's truth.
  void apply(const NodeRef& e, bool truth) {
    if (e->kind == Kind::Binary && is_comparison(e->text)) {
      const std::string op = truth ? e->text : negated(e->text);
      // Equal after conversion is equal as values only if the conversion changed neither.
      if (op == "==" && (!e->type.known() || (holds(e->type, value_type(e->kids[0])) &&
                                              holds(e->type, value_type(e->kids[1])))))
        unite(canon(e->kids[0]), canon(e->kids[1]));
      atoms_[find(atom(e, op))] = true;
      atoms_[find(atom(e, negated(op)))] = false;
      // Unsigned, `a < b` leaves b no room to be 0 (`b > a` likewise): cwnd after in_flight < cwnd.
      if (e->type.known() && !e->type.is_signed && (op == "<" || op == ">")) {
        auto zero = Node::make(Kind::Binary);
        zero->text = "==";
        zero->type = e->type;
        zero->kids = {e->kids[op == "<" ? 1 : 0], integer(0, e->type)};
        atoms_[find(atom(zero, "=="))] = false;
        atoms_[find(atom(zero, "!="))] = true;
      }
      return;
    }
    if (pure(e)) atoms_[canon(e)] = truth;
  }

  // The key of the comparison `e` with the operator `op` in its place.
  std::string atom(const NodeRef& e, const std::string& op) {
    auto c = e->copy();
    c->text = op;
    return fmt::format("({} {} {})", canon(e->kids[0]), operator_key(c), canon(e->kids[1]));
  }

  // The value of `n`'s operator on `a` and `b`; when C++ leaves it undefined, nothing, and the
  // reason is remembered for --explain.
  std::optional<Wide> folded(const NodeRef& n, Wide a, Wide b) {
    Folded f = fold_operator(n, a, b);
    if (!f.value && !f.not_folded.empty())
      not_folded_->insert(fmt::format("`{}`{}: {}", print_expr(n, {}),
                                      n->where.empty() ? "" : " at " + n->where, f.not_folded));
    return f.value;
  }

  std::string find(const std::string& k) {
    auto it = parent_.find(k);
    if (it == parent_.end() || it->second == k) return k;
    const std::string root = find(it->second);
    parent_[k] = root;
    return root;
  }
  void unite(const std::string& a, const std::string& b) {
    const std::string ra = find(a);
    const std::string rb = find(b);
    if (ra == rb) return;
    ++unions_;
    // A constant is the representative of its class.
    if (as_number(ra))
      parent_[rb] = ra;
    else
      parent_[ra] = rb;
  }
  // Every fact applied again: first for the equalities, then for the atoms, keyed by the
  // representatives of the classes as all the equalities leave them.
  void rebuild() {
    parent_.clear();
    atoms_.clear();
    for (const Fact& f : facts_) apply(f.e, f.truth);
    atoms_.clear();
    for (const Fact& f : facts_) apply(f.e, f.truth);
  }

  std::vector<Fact> facts_;
  std::map<std::string, std::set<std::string>> aliases_;
  std::set<std::string> values_;     // the handler's integer variables (declared())
  std::set<std::string> not_values_; // names declared as anything else
  std::size_t unions_ = 0;           // how many times two classes became one
  std::map<std::string, std::string> parent_;
  std::map<std::string, bool> atoms_;
  // Shared by the copies a branch makes: what one learns is reported once for the whole body.
  std::shared_ptr<std::set<std::string>> not_folded_;
};

class Folder {
public:
  explicit Folder(const FoldContext& ctx) : ctx_(ctx) {}

  NodeRef run(const NodeRef& body) {
    auto not_folded = std::make_shared<std::set<std::string>>();
    Facts facts(not_folded);
    if (ctx_.assume) {
      NodeRef a = ctx_.assume->deep_copy();
      set_positions(a, 0); // the CCP sees the message as the layer receives it
      // Simplified first: a parameter made a constant may leave a conjunction (`false || x`).
      facts.add(simplify(a), true);
    }
    for (const auto& [field, value] : ctx_.header_values)
      facts.add(equal(field_of("$hdr", field), value), true);
    std::int64_t pos = 0;
    bool pos_known = true;
    NodeRef out = stmt(body, facts, pos, pos_known);
    if (ctx_.not_folded != nullptr) ctx_.not_folded->insert(not_folded->begin(), not_folded->end());
    return prune_unused(out);
  }

private:
  static NodeRef field_of(const std::string& var, const std::string& name) {
    return field(local(var), name);
  }
  static NodeRef equal(NodeRef a, NodeRef b) {
    auto n = Node::make(Kind::Binary);
    n->text = "==";
    n->kids = {std::move(a), std::move(b)};
    return n;
  }

  // After `pop(h)` or `peek(h)` succeeded: h is the header the CCP speaks of.
  void header_popped(const std::string& var, Facts& facts) {
    for (const auto& [field, value] : ctx_.header_values)
      facts.add(equal(field_of(var, field), value), true);
    for (const std::string& f : ctx_.header_fields)
      facts.add(equal(field_of(var, f), field_of("$hdr", f)), true);
  }

  // Expression: annotate positions, fold what is decided, simplify.
  NodeRef expr(const NodeRef& e, Facts& facts, std::int64_t pos, bool pos_known) {
    if (!e) return e;
    NodeRef c = e->copy();
    if (c->kind == Kind::MsgSize || c->kind == Kind::MsgBytes || c->kind == Kind::MsgData ||
        c->kind == Kind::MsgRef) {
      if (pos_known) c->value = pos;
      return c;
    }
    if (c->kind == Kind::Inlined) {
      // A helper called for its value: fold its body with what is known here.
      Facts inner = facts;
      std::int64_t p = pos;
      bool known = pos_known;
      c->kids[0] = stmt(c->kids[0], inner, p, known);
      return c;
    }
    for (auto& k : c->kids) k = expr(k, facts, pos, pos_known);
    // An empty container holds nothing (and the test, pure, is not needed for what it does).
    if (c->membership && Facts::pure(c) &&
        facts.decide(text("$0.empty()", {c->kids[0]}, true)) == true)
      return boolean(false);
    if (c->kind == Kind::Binary || c->kind == Kind::Unary || c->kind == Kind::Convert) {
      if (c->text == "&&" || c->text == "||" || c->text == "!" || is_comparison(c->text)) {
        if (auto d = facts.decide(c); d && Facts::pure(c)) return boolean(*d);
      }
      c = simplify(c);
      // A value computed in a type the folder models: the constant, with that type.
      if (Facts::pure(c) && value_type(c).known() &&
          (c->kind != Kind::Binary || !gives_bool(c->text)))
        if (auto v = as_number(facts.canon(c))) return integer(*v, value_type(c));
    }
    return c;
  }

  // What the declaration `d` with its initialiser tells: the variable's value is the
  // initialiser's converted to its type, which is the initialiser itself when no value changes.
  static void initialised(const NodeRef& d, Facts& facts) {
    const NodeRef& init = d->kids[0];
    const IntType from = value_type(init);
    if (d->type.known() && !holds(d->type, from)) {
      if (auto v = as_number(facts.canon(init)))
        facts.add(equal(local(d->name), integer(convert(*v, d->type), d->type)), true);
    } else if (d->type.known() || !from.known()) {
      facts.add(equal(local(d->name), init), true);
      // Its value, if known, also stands alone: it outlives what the initialiser read.
      if (auto v = as_number(facts.canon(init)); v && d->type.known())
        facts.add(equal(local(d->name), integer(convert(*v, d->type), d->type)), true);
    }
  }

  static bool is_pop_cond(const NodeRef& cond, bool& negated_out) {
    if (cond->kind == Kind::Pop) {
      negated_out = false;
      return true;
    }
    if (cond->kind == Kind::Unary && cond->text == "!" && cond->kids[0]->kind == Kind::Pop) {
      negated_out = true;
      return true;
    }
    return false;
  }

  // The value every `return` of an inlined helper's body gives, if they all give one constant.
  static std::optional<Wide> constant_result(const NodeRef& n) {
    std::optional<Wide> result;
    bool ok = true;
    std::function<void(const NodeRef&)> walk = [&](const NodeRef& x) {
      if (!x || !ok) return;
      if (x->kind == Kind::Return) {
        if (x->kids.empty() || !x->kids[0] || x->kids[0]->kind != Kind::Constant ||
            !x->kids[0]->value) {
          ok = false;
          return;
        }
        if (result && *result != *x->kids[0]->value) ok = false;
        result = x->kids[0]->value;
        return;
      }
      if (x->kind == Kind::Inlined) return; // its returns are its own
      for (const auto& k : x->kids) walk(k);
    };
    walk(n);
    return ok ? result : std::nullopt;
  }

  // A helper's body used as a statement: its returns give nothing.
  static NodeRef as_statement(const NodeRef& inlined) {
    NodeRef c = inlined->copy();
    c->text = "void";
    c->kids[0] = transform(c->kids[0], [](NodeRef x) {
      if (x->kind == Kind::Return) x->kids = {nullptr};
      return x;
    });
    auto s = Node::make(Kind::ExprStmt);
    s->kids = {c};
    return s;
  }

  NodeRef stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    if (!s) return s;
    switch (s->kind) {
    case Kind::Block:
      return block_stmt(s, facts, pos, pos_known);
    case Kind::If:
      return if_stmt(s, facts, pos, pos_known);
    case Kind::Decl:
      return decl_stmt(s, facts, pos, pos_known);
    case Kind::ExprStmt:
      return expr_stmt(s, facts, pos, pos_known);
    case Kind::Push:
      return push_stmt(s, facts, pos, pos_known);
    case Kind::Return:
      return return_stmt(s, facts, pos, pos_known);
    default:
      return other_stmt(s, facts, pos, pos_known);
    }
  }

  // A block: its statements in order, none after a return, a break or a continue until the
  // next label.
  NodeRef block_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    std::vector<NodeRef> out;
    bool dead = false; // after a return, a break or a continue: until the next label
    for (const auto& k : s->kids) {
      if (is_named(k, "label")) {
        // A switch jumps here with nothing known (its body is folded knowing nothing).
        out.push_back(k);
        facts = facts.nothing_known();
        pos_known = false;
        dead = false;
        continue;
      }
      if (dead) continue;
      NodeRef f = stmt(k, facts, pos, pos_known);
      if (!f) continue;
      if (f->kind == Kind::Block && !has_decl(f)) {
        for (auto& x : f->kids) out.push_back(x);
      } else {
        out.push_back(f);
      }
      dead = ends_in_return(f) || is_named(f, "break") || is_named(f, "continue");
    }
    return block(std::move(out));
  }

  // An `if`: decided by what is known, or both branches folded.
  NodeRef if_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    if (NodeRef n = if_of_constant_helper(s, facts, pos, pos_known)) return n;
    if (NodeRef n = if_of_pop(s, facts, pos, pos_known)) return n;
    NodeRef cond = s->kids[0];
    cond = expr(cond, facts, pos, pos_known);
    if (auto d = facts.decide(cond); d && Facts::pure(cond)) {
      const NodeRef& taken = *d ? s->kids[1] : s->kids[2];
      return taken ? stmt(taken, facts, pos, pos_known) : nullptr;
    }
    Facts yes = facts;
    yes.add(cond, true);
    Facts no = facts;
    no.add(cond, false);
    std::int64_t p1 = pos;
    std::int64_t p2 = pos;
    bool k1 = pos_known;
    bool k2 = pos_known;
    auto c = s->copy();
    NodeRef then_b = stmt(s->kids[1], yes, p1, k1);
    NodeRef else_b = s->kids[2] ? stmt(s->kids[2], no, p2, k2) : nullptr;
    c->kids = {cond, then_b ? then_b : block({}), else_b};
    if (ends_in_return(then_b)) {
      facts = no;
      pos = p2;
      pos_known = k2;
    } else if (else_b && ends_in_return(else_b)) {
      facts = yes;
      pos = p1;
      pos_known = k1;
    } else {
      forget_writes(facts, s);
      if (p1 != p2 || k1 != k2) pos_known = false;
    }
    return c;
  }

  // `if (!helper(...))` where the helper returns one constant: run it, then decide. Null if
  // the condition is no such call.
  NodeRef if_of_constant_helper(const NodeRef& s, Facts& facts, std::int64_t& pos,
                                bool& pos_known) {
    const NodeRef& cond = s->kids[0];
    bool neg = false;
    NodeRef inner = cond;
    if (inner->kind == Kind::Unary && inner->text == "!") {
      neg = true;
      inner = inner->kids[0];
    }
    if (inner->kind == Kind::Inlined) {
      NodeRef folded = expr(inner, facts, pos, pos_known);
      if (auto r = constant_result(folded->kids[0])) {
        std::vector<NodeRef> out;
        NodeRef call = stmt(as_statement(folded), facts, pos, pos_known);
        out.push_back(call);
        auto rest = s->copy();
        rest->kids[0] = boolean(neg ? *r == 0 : *r != 0);
        NodeRef f = stmt(rest, facts, pos, pos_known);
        if (f) out.push_back(f);
        return block(std::move(out));
      }
    }
    return nullptr;
  }

  // `if (!ev.msg.pop(h))`: on a fused path the pop stays, where the collapse gives the header
  // its values; otherwise only the branch where it succeeded knows the header. Null if the
  // condition is no pop.
  NodeRef if_of_pop(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    const NodeRef& cond = s->kids[0];
    bool pop_negated = false;
    if (is_pop_cond(cond, pop_negated)) {
      NodeRef pop = (pop_negated ? cond->kids[0] : cond)->copy();
      if (pos_known) pop->position = pos;
      const bool at_entry = pop->own_header && !pop->peek && pop->position == 0;
      apply_message_op(pop, pos, pos_known);
      if (ctx_.pops_succeed || (ctx_.app_header_pops && at_entry)) {
        // The pop stays, as a statement: the collapse gives the header its values there.
        header_popped(pop->name, facts);
        auto at = Node::make(Kind::ExprStmt);
        at->kids = {pop};
        NodeRef rest = stmt(pop_negated ? s->kids[2] : s->kids[1], facts, pos, pos_known);
        return rest ? block({at, rest}) : block({at});
      }
      // Only the branch where it succeeded knows the header.
      Facts yes = facts;
      header_popped(pop->name, yes);
      Facts no = facts;
      std::int64_t p1 = pos;
      std::int64_t p2 = pos;
      bool k1 = pos_known;
      bool k2 = pos_known;
      auto c = s->copy();
      NodeRef then_b = stmt(s->kids[1], pop_negated ? no : yes, p1, k1);
      NodeRef else_b = stmt(s->kids[2], pop_negated ? yes : no, p2, k2);
      c->kids = {cond, then_b, else_b};
      // Continue with what the branch that does not return knows.
      if (ends_in_return(then_b)) {
        facts = pop_negated ? yes : no;
        pos = p2;
        pos_known = k2;
      } else if (else_b && ends_in_return(else_b)) {
        facts = pop_negated ? no : yes;
        pos = p1;
        pos_known = k1;
      } else {
        forget_writes(facts, s);
      }
      return c;
    }
    return nullptr;
  }

  // A declaration: what its initialiser makes known.
  NodeRef decl_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    auto c = s->copy();
    if (c->kids[0]) c->kids[0] = expr(c->kids[0], facts, pos, pos_known);
    facts.forget(c->name);
    facts.declared(c->name, !c->is_reference && c->type.known());
    if (c->kids[0]) {
      std::set<std::string> w;
      collect_writes(c->kids[0], w);
      facts.invalidate(w);
      if (c->is_reference) facts.alias(c->name, c->kids[0]);
      if (Facts::pure(c->kids[0]) && !c->init_braced) initialised(c, facts);
    }
    return c;
  }

  // An expression statement; a helper inlined in place, what is known flowing through it.
  NodeRef expr_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    auto c = s->copy();
    if (c->kids[0]->kind == Kind::Inlined) {
      // Inline in place: what is known flows through the helper's body.
      auto in = c->kids[0]->copy();
      in->kids[0] = stmt(in->kids[0], facts, pos, pos_known);
      c->kids[0] = in;
      if (!has_return(in->kids[0])) {
        auto body = in->kids[0]->copy();
        body->name = in->name; // the helper it came from, for --explain
        return body;
      }
      std::set<std::string> w;
      collect_writes(in->kids[0], w);
      facts.invalidate(w);
      return c;
    }
    if ((c->kids[0]->kind == Kind::Pop || c->kids[0]->kind == Kind::DropHeader) && pos_known) {
      c->kids[0] = c->kids[0]->copy();
      c->kids[0]->position = pos;
    }
    apply_message_op(c->kids[0], pos, pos_known);
    c->kids[0] = expr(c->kids[0], facts, pos, pos_known);
    if (c->kids[0]->kind == Kind::Neighbour && c->kids[0]->text == "up") {
      facts.forget_state();
      return c;
    }
    std::set<std::string> w;
    collect_writes(c->kids[0], w);
    facts.invalidate(w);
    return c;
  }

  // A push of the layer's header: the message's position moves.
  NodeRef push_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    auto c = s->copy();
    for (auto& k : c->kids) k = expr(k, facts, pos, pos_known);
    std::set<std::string> w;
    for (const auto& k : c->kids) collect_writes(k, w);
    facts.invalidate(w);
    pos -= ctx_.header_size;
    return c;
  }

  // A return.
  NodeRef return_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    if (!s->kids.empty() && s->kids[0] && s->kids[0]->kind == Kind::Inlined &&
        s->kids[0]->text == "void") {
      // `return helper(...);` of a void helper: the call in place, then `return;`.
      auto call = Node::make(Kind::ExprStmt);
      call->kids = {s->kids[0]};
      auto ret = Node::make(Kind::Return);
      ret->kids = {nullptr};
      return block_stmt(block({call, ret}), facts, pos, pos_known);
    }
    auto c = s->copy();
    if (!c->kids.empty() && c->kids[0]) c->kids[0] = expr(c->kids[0], facts, pos, pos_known);
    return c;
  }

  // Loops and other statements as written: positions inside them are unknown.
  NodeRef other_stmt(const NodeRef& s, Facts& facts, std::int64_t& pos, bool& pos_known) {
    if (NodeRef chosen = switch_case(s, facts)) return stmt(chosen, facts, pos, pos_known);
    // A while loop whose condition is false on entry runs nothing: not even its condition,
    // which folded to a constant.
    if (s->tests_first) {
      Facts entry = facts;
      const NodeRef cond = expr(s->kids[0], entry, pos, pos_known);
      if (cond->kind == Kind::Constant && cond->value == 0) return block({});
    }
    // Loops and other statements as written: positions inside them are unknown.
    auto c = s->copy();
    bool k = false;
    std::int64_t p = pos;
    for (auto& kid : c->kids) {
      if (!kid) continue;
      Facts none = facts.nothing_known(); // a loop body may run many times
      kid = kid->kind == Kind::Block || kid->kind == Kind::If || kid->kind == Kind::ExprStmt ||
                    kid->kind == Kind::Decl || kid->kind == Kind::Return
                ? stmt(kid, none, p, k)
                : kid;
    }
    std::set<std::string> w;
    collect_writes(c, w);
    facts.invalidate(w);
    if (contains(c, Kind::Pop) || contains(c, Kind::DropHeader) || contains(c, Kind::Push))
      pos_known = false;
    return c;
  }

  static bool is_named(const NodeRef& n, std::string_view name) {
    return n && n->kind == Kind::Text && n->name == name;
  }

  // A switch whose value is known: the statements that run, from the label that matches (or
  // `default:`) to the first return or break, as a block; an empty block if no label matches.
  // Null if the value or a label's is not known, or if a `break` lies where the block would
  // not end at it.
  static NodeRef switch_case(const NodeRef& s, Facts& facts) {
    if (!is_named(s, "switch") || s->kids.size() != 2 || s->kids[1]->kind != Kind::Block ||
        !Facts::pure(s->kids[0]))
      return nullptr;
    const auto value = as_number(facts.canon(s->kids[0]));
    if (!value) return nullptr;
    const std::vector<NodeRef>& body = s->kids[1]->kids;
    std::optional<std::size_t> from;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (!is_named(body[i], "label")) continue;
      if (body[i]->text == "default:") {
        if (!from) from = i;
      } else if (const auto& v = body[i]->value; !v) {
        return nullptr;
      } else if (*v == *value) {
        from = i;
        break;
      }
    }
    std::vector<NodeRef> run;
    for (std::size_t i = from.value_or(body.size()); i < body.size(); ++i) {
      if (is_named(body[i], "label")) continue;
      if (is_named(body[i], "break")) break;
      if (breaks_out(body[i])) return nullptr;
      run.push_back(body[i]);
      if (ends_in_return(body[i])) break;
    }
    return block(std::move(run));
  }

  // Whether `n` holds a `break` that leaves the switch around it (one not inside a loop or a
  // switch of its own; these are kept as written, as Text nodes with statement kids).
  static bool breaks_out(const NodeRef& n) {
    if (!n) return false;
    if (is_named(n, "break")) return true;
    if (is_named(n, "loop") || is_named(n, "switch")) return false;
    return std::any_of(n->kids.begin(), n->kids.end(), breaks_out);
  }

  // The message operations of an expression statement move the position.
  void apply_message_op(const NodeRef& e, std::int64_t& pos, bool& pos_known) {
    if (!e) return;
    if (e->kind == Kind::Pop && !e->peek) pos += ctx_.header_size;
    if (e->kind == Kind::DropHeader) pos += static_cast<std::int64_t>(e->value.value_or(0));
    if (e->kind == Kind::Text || e->kind == Kind::Unary)
      for (const auto& k : e->kids) apply_message_op(k, pos, pos_known);
    (void)pos_known;
  }

  // After an if whose branches both fall through: forget what either may have changed.
  static void forget_writes(Facts& facts, const NodeRef& s) {
    std::set<std::string> w;
    collect_writes(s, w);
    facts.invalidate(w);
  }

  static bool has_decl(const NodeRef& b) {
    return std::any_of(b->kids.begin(), b->kids.end(),
                       [](const NodeRef& k) { return k && k->kind == Kind::Decl; });
  }

  // Removes locals whose initialiser is pure and whose name nothing after them mentions.
  static NodeRef prune_unused(const NodeRef& n) {
    if (!n) return n;
    NodeRef c = n->copy();
    for (auto& k : c->kids) k = prune_unused(k);
    if (c->kind != Kind::Block) return c;
    std::vector<NodeRef> out;
    for (std::size_t i = 0; i < c->kids.size(); ++i) {
      const NodeRef& k = c->kids[i];
      if (k && k->kind == Kind::Decl && (!k->kids[0] || Facts::pure(k->kids[0])) &&
          !k->init_braced) {
        bool used = false;
        for (std::size_t j = i + 1; j < c->kids.size() && !used; ++j)
          used = mentions(c->kids[j], k->name);
        if (!used) continue;
      }
      if (k && k->kind == Kind::Decl && k->init_braced && k->kids[0] &&
          k->kids[0]->kind == Kind::Text && k->kids[0]->text == "{}") {
        bool used = false;
        for (std::size_t j = i + 1; j < c->kids.size() && !used; ++j)
          used = mentions(c->kids[j], k->name);
        if (!used) continue;
      }
      out.push_back(k);
    }
    c->kids = std::move(out);
    return c;
  }

  static bool mentions(const NodeRef& n, const std::string& name) {
    if (!n) return false;
    if (n->kind == Kind::Block) {
      // Up to a declaration of another variable of that name, which hides it.
      for (const auto& k : n->kids) {
        if (k && k->kind == Kind::Decl && k->name == name) return mentions(k->kids[0], name);
        if (mentions(k, name)) return true;
      }
      return false;
    }
    if (n->kind == Kind::Local && n->name == name) return true;
    if ((n->kind == Kind::Pop) && n->name == name) return true;
    if (n->kind == Kind::Text && n->kids.empty() && n->text.find(name) != std::string::npos)
      return true; // verbatim text (a lambda): be safe
    if (n->kind == Kind::Constant && in_text(n->text, name)) return true; // a constant local
    for (const auto& k : n->kids)
      if (mentions(k, name)) return true;
    return false;
  }

  const FoldContext& ctx_;
};

} // namespace

NodeRef rename_local(const NodeRef& n, const std::string& from, const NodeRef& to) {
  return transform(n, [&](NodeRef x) -> NodeRef {
    if (x->kind == Kind::Local && x->name == from) return to->deep_copy();
    if ((x->kind == Kind::MsgSize || x->kind == Kind::MsgBytes || x->kind == Kind::MsgData ||
         x->kind == Kind::MsgRef || x->kind == Kind::Push || x->kind == Kind::DropHeader ||
         (x->kind == Kind::Pop)) &&
        x->event == from && to->kind == Kind::Local)
      x->event = to->name;
    if (x->writes.count(from) != 0 && to->kind == Kind::Local) {
      x->writes.erase(from);
      x->writes.insert(to->name);
    }
    return x;
  });
}

NodeRef bind_ccp(const Ccp& ccp, const std::string& event) {
  NodeRef e = ccp.expr->deep_copy();
  if (!ccp.header.empty()) e = rename_local(e, ccp.header, local("$hdr"));
  if (ccp.event != event) e = rename_local(e, ccp.event, local(event));
  return e;
}

namespace {

bool names_an_event(Kind k) {
  return k == Kind::MsgSize || k == Kind::MsgBytes || k == Kind::MsgData || k == Kind::MsgRef ||
         k == Kind::Push || k == Kind::DropHeader || k == Kind::Pop;
}

// Whether `name` is spelled in n as a variable: a local, a declaration, an event, or a word of
// C++ text (text=true: only there, where renaming cannot reach).
bool spelled(const NodeRef& n, const std::string& name, bool text = false) {
  if (!n) return false;
  if (!text && (((n->kind == Kind::Local || n->kind == Kind::Decl || n->kind == Kind::Pop) &&
                 n->name == name) ||
                (names_an_event(n->kind) && n->event == name) || n->writes.count(name) != 0))
    return true;
  if ((n->kind == Kind::Text || n->kind == Kind::Constant) && in_text(n->text, name)) return true;
  return std::any_of(n->kids.begin(), n->kids.end(),
                     [&](const NodeRef& k) { return spelled(k, name, text); });
}

bool declares(const NodeRef& n, const std::string& name) {
  if (!n) return false;
  if ((n->kind == Kind::Decl || n->kind == Kind::Pop) && n->name == name) return true;
  return std::any_of(n->kids.begin(), n->kids.end(),
                     [&](const NodeRef& k) { return declares(k, name); });
}

// Every variable `from` in n, its declarations included, named `to`, a name n does not spell.
NodeRef rename_variable(const NodeRef& n, const std::string& from, const std::string& to) {
  return transform(rename_local(n, from, local(to)), [&](NodeRef x) -> NodeRef {
    if ((x->kind == Kind::Decl || x->kind == Kind::Pop) && x->name == from) x->name = to;
    return x;
  });
}

// Whether `arg`, as a helper's argument, may stand wherever the helper reads its parameter:
// it changes nothing, costs nothing to read again, and reads nothing the helper could change.
bool plain_argument(const NodeRef& arg) {
  switch (arg->kind) {
  case Kind::Constant:
  case Kind::Local:
  case Kind::Member:
    return true;
  case Kind::Field:
    return plain_argument(arg->kids[0]);
  default:
    return false;
  }
}

// A helper that is one `return E;` of an integer (a predicate: `room(peer)`), each argument of
// its call a plain value of its parameter's integer type, or an object its parameter takes as
// it is (a header) from a plain name or a call that changes nothing, read again wherever E reads
// the parameter (E must change nothing then): E with the arguments for the parameters, so that
// the folder sees the expression itself. Null if the call is not such.
NodeRef inline_expression(const Helper& h, const NodeRef& call) {
  const NodeRef& b = h.body;
  if (b->kind != Kind::Block || b->kids.size() != 1 || b->kids[0]->kind != Kind::Return ||
      !b->kids[0]->kids[0] || !h.result_type.known())
    return nullptr;
  const NodeRef& e = b->kids[0]->kids[0];
  if (value_type(e) != h.result_type) return nullptr;
  std::map<std::string, NodeRef> bound; // parameter: its argument, all at once
  for (std::size_t i = 0; i < h.params.size(); ++i) {
    const Helper::Param& p = h.params[i];
    if (p.ports) continue;
    const NodeRef& arg = call->kids[i];
    const bool integer = p.int_type.known() && plain_argument(arg) && value_type(arg) == p.int_type;
    const bool object = !p.int_type.known() && i < call->unconverted.size() &&
                        call->unconverted[i] &&
                        (plain_argument(arg) || (arg->kind == Kind::Text && arg->name == "call")) &&
                        Facts::pure(arg) && Facts::pure(e);
    if ((!integer && !object) || spelled(e, p.name, true)) return nullptr;
    bound[p.name] = arg;
  }
  return transform(e, [&](NodeRef x) -> NodeRef {
    if (x->kind != Kind::Local) return x;
    const auto a = bound.find(x->name);
    return a == bound.end() ? x : a->second->deep_copy();
  });
}

// The call of helper `h` with `args`, its body `b` (already inlined) in its place: an Inlined
// node, the parameters bound to the arguments. Null where a name in C++ text stops it.
NodeRef inline_body(const Helper& h, const std::vector<NodeRef>& args, NodeRef b) {
  const auto in_args = [&](const std::string& name) {
    return std::any_of(args.begin(), args.end(),
                       [&](const NodeRef& a) { return spelled(a, name); });
  };
  // Hygiene. The arguments are evaluated where the call is and the parameters are declared
  // before the body, so a parameter named like a name in an argument would capture it
  // (`n = n + 1`; `a` for `b` and `b` for `a` would both become one). Such a parameter is
  // renamed first, to a name spelled nowhere in the body or the arguments.
  const auto a_parameter = [&](const std::string& name) {
    return std::any_of(h.params.begin(), h.params.end(),
                       [&](const Helper::Param& q) { return q.name == name; });
  };
  // A parameter whose argument is the caller's variable of the same name needs no renaming when
  // it is bound by substitution (a reference, or never written): it is that variable, and
  // another argument that names it names the same one. A copy that the body writes is
  // declared, under a fresh name.
  const auto itself = [&](std::size_t i) {
    const Helper::Param& p = h.params[i];
    if (args[i]->kind != Kind::Local || args[i]->name != p.name || declares(b, p.name))
      return false;
    std::set<std::string> written;
    collect_writes(b, written);
    return p.type.find('&') != std::string::npos || written.count(p.name) == 0;
  };
  std::vector<std::string> names;
  for (std::size_t i = 0; i < h.params.size(); ++i) {
    const Helper::Param& p = h.params[i];
    std::string name = p.name;
    if (!p.ports && !itself(i) && in_args(name)) {
      if (spelled(b, name, true)) return nullptr; // in C++ text: left a call
      for (int k = 1; spelled(b, name) || in_args(name) || a_parameter(name); ++k)
        name = fmt::format("{}_{}", p.name, k);
      b = rename_variable(b, p.name, name);
    }
    names.push_back(name);
  }
  std::vector<NodeRef> stmts;
  for (std::size_t i = 0; i < h.params.size(); ++i) {
    const Helper::Param& p = h.params[i];
    if (p.ports) continue;
    const NodeRef& arg = args[i];
    // An argument that is a plain name is substituted, unless the body declares that name
    // too; others are bound to the parameter.
    std::set<std::string> written;
    collect_writes(b, written);
    const bool by_reference = p.type.find('&') != std::string::npos;
    if (arg->kind == Kind::Local && (by_reference || written.count(names[i]) == 0) &&
        !declares(b, arg->name)) {
      if (names[i] == arg->name) continue;            // the body's name is the argument's already
      if (spelled(b, names[i], true)) return nullptr; // in C++ text: left a call
      b = rename_local(b, names[i], arg);
      continue;
    }
    auto d = Node::make(Kind::Decl);
    d->text = by_reference ? "auto&&" : p.type;
    d->name = names[i];
    d->is_reference = by_reference;
    d->type = p.int_type;
    d->kids = {arg};
    stmts.push_back(d);
  }
  for (auto& k : b->kids) stmts.push_back(k);
  auto n = Node::make(Kind::Inlined);
  n->text = h.result;
  n->name = h.name;
  n->kids = {block(std::move(stmts))};
  n->pure = false;
  n->writes.insert("*");
  return n;
}

} // namespace

void declared_in(const NodeRef& n, std::set<std::string>& out) {
  if (!n) return;
  if (n->kind == Kind::Decl) out.insert(n->name);
  for (const auto& k : n->kids) declared_in(k, out);
}

NodeRef rename_reserved_locals(const NodeRef& body,
                               const std::function<bool(const std::string&)>& reserved) {
  std::set<std::string> declared;
  declared_in(body, declared);
  NodeRef out = body;
  for (const std::string& name : declared) {
    if (!reserved(name)) continue;
    std::string base = name;
    while (!base.empty() && base.back() == '_') base.pop_back();
    std::string fresh;
    for (int k = 1; fresh.empty() || reserved(fresh) || spelled(out, fresh); ++k)
      fresh = fmt::format("{}_{}", base, k);
    out = rename_variable(out, name, fresh);
  }
  return out;
}

// The first node under `n` that is outside the dialect; null if there is none.
static const Node* first_problem(const NodeRef& n) {
  if (!n) return nullptr;
  if (!n->problem.empty()) return n.get();
  for (const NodeRef& k : n->kids)
    if (const Node* p = first_problem(k)) return p;
  return nullptr;
}

NodeRef inline_helpers(const NodeRef& body, const LayerModel& layer, int depth) {
  return transform(body, [&](NodeRef x) -> NodeRef {
    if (x->kind != Kind::Call) return x;
    const Ccp* ccp = x->name == "ccp_down" ? &layer.ccp_down
                     : x->name == "ccp_up" ? &layer.ccp_up
                                           : nullptr;
    if (ccp != nullptr) {
      NodeRef e = ccp->expr->deep_copy();
      if (!x->kids.empty()) e = rename_local(e, ccp->event, x->kids[0]);
      if (x->kids.size() > 1 && !ccp->header.empty()) e = rename_local(e, ccp->header, x->kids[1]);
      return e;
    }
    auto it = layer.helpers.find(x->name);
    if (it == layer.helpers.end() || !it->second.body || depth <= 0) return x;
    const Helper& h = it->second;
    if (h.params.size() != x->kids.size()) return x;
    Helper inner = h;
    inner.body = inline_helpers(h.body, layer, depth - 1);
    // The helper's own calls first, so that an expression of its parameters is seen through
    // them too; unless one stays a body of its own, where substituting the arguments for the
    // parameters could reach that body's names.
    if (!contains(inner.body, Kind::Inlined))
      if (NodeRef e = inline_expression(inner, x)) return e;
    if (NodeRef e = inline_expression(h, x)) return inline_helpers(e, layer, depth - 1);
    if (NodeRef n = inline_body(h, x->kids, inner.body)) return n;
    // The call stays. A construct outside the dialect in the body (a lambda that captures,
    // which is kept as written) says why better than the call does, and where.
    const Node* p = first_problem(inner.body);
    if (p == nullptr) return x;
    NodeRef c = x->copy();
    c->problem = p->problem;
    c->where = p->where;
    return c;
  });
}

NodeRef substitute_params(const NodeRef& body, const std::map<std::string, NodeRef>& params) {
  return transform(body, [&](NodeRef x) -> NodeRef {
    if (x->kind == Kind::Member)
      if (auto it = params.find(x->name); it != params.end()) return it->second->deep_copy();
    return x;
  });
}

std::set<std::string> written_members(const LayerModel& layer) {
  std::set<std::string> w;
  collect_writes(layer.down.body, w);
  collect_writes(layer.up.body, w);
  for (const auto& [name, h] : layer.helpers) collect_writes(h.body, w);
  return w;
}

NodeRef fold(const NodeRef& body, const FoldContext& ctx) {
  Folder f(ctx);
  return f.run(body);
}

std::optional<bool> decide_under(const NodeRef& e, const NodeRef& assume) {
  Facts facts;
  if (assume) facts.add(assume, true);
  return facts.decide(e);
}

NodeRef simplify(const NodeRef& e) {
  return transform(e, [](const NodeRef& x) { return simplify_node(x); });
}

namespace {
// The value of a constant integer node.
std::optional<Wide> value_of(const NodeRef& n) {
  if (n && n->kind == Kind::Constant) return n->value;
  return std::nullopt;
}

// `x + k` with a constant k: k.
std::optional<Wide> added_constant(const NodeRef& n) {
  if (n->kind == Kind::Binary && n->text == "+") return value_of(n->kids[1]);
  return std::nullopt;
}

NodeRef simplify_node(const NodeRef& e) {
  if (!e || e->kind != Kind::Binary) return e;
  const NodeRef& a = e->kids[0];
  const NodeRef& b = e->kids[1];
  const std::optional<Wide> va = value_of(a);
  const std::optional<Wide> vb = value_of(b);
  if (va && vb) {
    const Folded r = fold_operator(e, *va, *vb);
    if (r.value && gives_bool(e->text)) return boolean(*r.value != 0);
    if (r.value && e->type.known()) return integer(*r.value, e->type);
  }
  if (e->text == "&&" || e->text == "||") {
    // true && x is x only if x is a bool; x && false is false only if x may go unevaluated.
    const bool is_and = e->text == "&&";
    const auto is_bool = [](const NodeRef& x) {
      return value_type(x).rank == IntType::Rank::boolean;
    };
    if (va && ((*va != 0) != is_and || is_bool(b)))
      return (*va != 0) == is_and ? b : boolean(!is_and);
    if (vb && Facts::pure(a) && !undefined(a, value_of) && ((*vb != 0) != is_and || is_bool(a)))
      return (*vb != 0) == is_and ? a : boolean(!is_and);
  }
  const std::optional<Wide> k = added_constant(a);
  // (x + k) <= b -> x <= b - k, for a message's size, which does not wrap.
  if (k && vb && is_comparison(e->text) && e->text != "==" && e->text != "!=" && *vb >= *k &&
      a->kids[0]->kind == Kind::MsgSize) {
    auto n = e->copy();
    n->kids = {a->kids[0], integer(*vb - *k, value_type(b))};
    return n;
  }
  // (x + k) + b -> x + (k + b), both sums in one type: if k + b is defined, the value is the
  // same. Where x + k is known to overflow, the sum is left: C++ leaves it undefined, and the
  // rewrite would give it a value.
  if (k && vb && e->text == "+" && e->type.known() && a->type == e->type &&
      !undefined(a, value_of)) {
    const Folded sum = fold_binary("+", e->type, convert(*k, e->type), convert(*vb, e->type));
    if (!sum.value) return e;
    auto n = a->copy();
    n->kids = {a->kids[0], integer(*sum.value, e->type)};
    return n;
  }
  return e;
}
} // namespace

void set_positions(const NodeRef& n, std::int64_t offset) {
  if (!n) return;
  if (n->kind == Kind::MsgSize || n->kind == Kind::MsgBytes || n->kind == Kind::MsgData)
    n->value = offset;
  for (const auto& k : n->kids) set_positions(k, offset);
}

} // namespace lamina::opt
