#include "optimizer/ir.hpp"

#include <fmt/format.h>
#include <set>

namespace lamina::opt {

NodeRef Node::deep_copy() const {
  auto n = std::make_shared<Node>(*this);
  for (auto& k : n->kids)
    if (k) k = k->deep_copy();
  return n;
}

NodeRef block(std::vector<NodeRef> stmts) {
  auto n = Node::make(Kind::Block);
  n->kids = std::move(stmts);
  return n;
}

NodeRef constant(std::string t, std::optional<Wide> value, IntType type) {
  auto n = Node::make(Kind::Constant);
  n->text = std::move(t);
  n->value = value;
  n->type = type;
  return n;
}

NodeRef integer(Wide v, IntType t) { return constant(literal(v, t), v, t); }

NodeRef boolean(bool b) { return integer(b ? 1 : 0, IntType::of(IntType::Rank::boolean, false)); }

NodeRef text(std::string t, std::vector<NodeRef> kids, bool pure) {
  auto n = Node::make(Kind::Text);
  n->text = std::move(t);
  n->kids = std::move(kids);
  n->pure = pure;
  return n;
}

NodeRef field(NodeRef object, std::string name) {
  auto n = Node::make(Kind::Field);
  n->name = std::move(name);
  n->kids = {std::move(object)};
  return n;
}

NodeRef local(std::string name) {
  auto n = Node::make(Kind::Local);
  n->name = std::move(name);
  return n;
}

NodeRef transform(const NodeRef& n, const std::function<NodeRef(NodeRef)>& f) {
  if (!n) return n;
  NodeRef c = n->copy();
  for (auto& k : c->kids) k = transform(k, f);
  return f(c);
}

bool contains(const NodeRef& n, Kind k) {
  if (!n) return false;
  if (n->kind == k) return true;
  for (const auto& c : n->kids)
    if (contains(c, k)) return true;
  return false;
}

bool has_return(const NodeRef& n) {
  if (!n || n->kind == Kind::Inlined) return false;
  if (n->kind == Kind::Return) return true;
  for (const auto& k : n->kids)
    if (has_return(k)) return true;
  return false;
}

bool ends_in_return(const NodeRef& n) {
  if (!n) return false;
  if (n->kind == Kind::Return) return true;
  if (n->kind == Kind::Block) return !n->kids.empty() && ends_in_return(n->kids.back());
  if (n->kind == Kind::If)
    return n->kids[2] && ends_in_return(n->kids[1]) && ends_in_return(n->kids[2]);
  return false;
}

namespace {

// Fills the holes $0..$9.. of `t` with `parts`.
std::string fill(const std::string& t, const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '$' && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      std::size_t j = i + 1;
      std::size_t index = 0;
      while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j])))
        index = index * 10 + static_cast<std::size_t>(t[j++] - '0');
      out += index < parts.size() ? parts[index] : "$?";
      i = j - 1;
    } else {
      out += t[i];
    }
  }
  return out;
}

bool needs_parens(const NodeRef& n) {
  return n->kind == Kind::Binary || (n->kind == Kind::Text && n->loose);
}

std::string operand(const NodeRef& n, const PrintContext& ctx) {
  const std::string s = print_expr(n, ctx);
  return needs_parens(n) ? "(" + s + ")" : s;
}

std::string pad(const PrintContext& ctx, int indent) {
  std::string s;
  for (int i = 0; i < indent; ++i) s += ctx.indent_unit;
  return s;
}

} // namespace

std::string print_expr(const NodeRef& n, const PrintContext& ctx) {
  switch (n->kind) {
  case Kind::Constant:
    return n->text;
  case Kind::Member:
    return ctx.self.empty() ? n->name : ctx.self + "." + n->name;
  case Kind::Entry:
    return n->text == "[]"
               ? fmt::format("{}[{}]", print_expr(n->kids[0], ctx), print_expr(n->kids[1], ctx))
               : fmt::format("{}.get({})", print_expr(n->kids[0], ctx),
                             print_expr(n->kids[1], ctx));
  case Kind::Local:
    return n->name;
  case Kind::Field:
    return print_expr(n->kids[0], ctx) + "." + n->name;
  case Kind::Unary:
    return n->text + operand(n->kids[0], ctx);
  case Kind::Binary:
    return fmt::format("{} {} {}", operand(n->kids[0], ctx), n->text, operand(n->kids[1], ctx));
  case Kind::MsgSize:
    return n->event + ".msg.size()";
  case Kind::MsgBytes:
    return n->event + ".msg.bytes()";
  case Kind::MsgData:
    return n->event + ".msg.writable_data()";
  case Kind::MsgRef:
    return n->event + ".msg";
  case Kind::Subspan:
    return fmt::format("{}.subspan({})", print_expr(n->kids[0], ctx), print_expr(n->kids[1], ctx));
  case Kind::Pop:
    return fmt::format("{}.msg.{}({})", n->event, n->peek ? "peek" : "pop", n->name);
  case Kind::DropHeader:
    return fmt::format("{}.msg.drop_front({})", n->event, n->text);
  case Kind::Neighbour:
    return fmt::format("io.{}({})", n->text, print_expr(n->kids[0], ctx));
  case Kind::Ports: {
    std::string args;
    for (const auto& k : n->kids) args += (args.empty() ? "" : ", ") + print_expr(k, ctx);
    return fmt::format("io.{}({})", n->text, args);
  }
  case Kind::Call: {
    std::string args;
    for (const auto& k : n->kids) args += (args.empty() ? "" : ", ") + print_expr(k, ctx);
    return fmt::format("{}({})", n->name, args);
  }
  case Kind::Inlined: {
    // A helper's body as an expression: an immediately invoked lambda, inlined (clang leaves
    // some out of line in a long function otherwise); `return` in the body returns from the
    // helper, as it did.
    std::string body = print_stmt(n->kids[0], ctx, 0);
    return fmt::format("[&]() {} -> {} {}()", kInlineLambda, n->text, body);
  }
  case Kind::Convert:
  case Kind::Text: {
    std::vector<std::string> parts;
    for (const auto& k : n->kids) parts.push_back(k ? print_expr(k, ctx) : std::string{});
    return fill(n->text, parts);
  }
  default:
    return print_stmt(n, ctx, 0);
  }
}

std::string print_stmt(const NodeRef& n, const PrintContext& ctx, int indent) {
  const std::string p = pad(ctx, indent);
  switch (n->kind) {
  case Kind::Block: {
    std::string s = "{\n";
    for (const auto& k : n->kids) s += print_stmt(k, ctx, indent + 1);
    return s + p + "}\n";
  }
  case Kind::If: {
    std::string s = fmt::format("{}if ({}) ", p, print_expr(n->kids[0], ctx));
    auto body = [&](const NodeRef& b) {
      if (b->kind == Kind::Block) return print_stmt(b, ctx, indent);
      return "{\n" + print_stmt(b, ctx, indent + 1) + p + "}\n";
    };
    s += body(n->kids[1]);
    if (n->kids[2]) {
      s.pop_back();
      s += " else ";
      if (n->kids[2]->kind == Kind::If) {
        std::string inner = print_stmt(n->kids[2], ctx, indent);
        s += inner.substr(p.size());
      } else {
        s += body(n->kids[2]);
      }
    }
    return s;
  }
  case Kind::Return:
    return n->kids.empty() || !n->kids[0]
               ? p + "return;\n"
               : fmt::format("{}return {};\n", p, print_expr(n->kids[0], ctx));
  case Kind::ExprStmt:
    if (n->kids[0]->kind == Kind::DropHeader || n->kids[0]->kind == Kind::Pop)
      return fmt::format("{}(void){};\n", p, print_expr(n->kids[0], ctx));
    if (n->kids[0]->kind == Kind::Inlined) {
      // A helper's body in statement position: a plain block, unless it returns early.
      const NodeRef& body = n->kids[0]->kids[0];
      if (!contains(body, Kind::Return)) return p + print_stmt(body, ctx, indent);
    }
    return fmt::format("{}{};\n", p, print_expr(n->kids[0], ctx));
  case Kind::Decl: {
    std::string s = p + n->text + " " + n->name;
    if (n->kids.empty() || !n->kids[0]) return s + ";\n";
    if (n->init_braced) return s + print_expr(n->kids[0], ctx) + ";\n";
    return s + " = " + print_expr(n->kids[0], ctx) + ";\n";
  }
  case Kind::Push: {
    std::string fields;
    for (const auto& k : n->kids) fields += (fields.empty() ? "" : ", ") + print_expr(k, ctx);
    return fmt::format("{}{}.msg.push({}{{{}}});\n", p, n->event, n->text, fields);
  }
  case Kind::Text: {
    // A statement printed as written: re-indent its lines.
    std::string body = print_expr(n, ctx);
    return p + body + "\n";
  }
  default:
    return fmt::format("{}{};\n", p, print_expr(n, ctx));
  }
}

namespace {
bool gives_bool(const NodeRef& n) {
  static const std::set<std::string> ops = {"==", "!=", "<", "<=", ">", ">=", "&&", "||"};
  return (n->kind == Kind::Binary && ops.count(n->text) != 0) ||
         (n->kind == Kind::Unary && n->text == "!");
}
} // namespace

IntType value_type(const NodeRef& n) {
  return gives_bool(n) ? IntType::of(IntType::Rank::boolean, false) : n->type;
}

std::string operator_key(const NodeRef& n) {
  if (!n->type.known() || n->text == "&&" || n->text == "||" || n->text == "!") return n->text;
  return n->text + ":" + n->type.name();
}

std::string key(const NodeRef& n) {
  switch (n->kind) {
  case Kind::Constant:
    if (const auto& v = n->value) return decimal(*v);
    return n->text;
  case Kind::Member:
    return "self." + n->name;
  case Kind::Entry:
    // t[k] and t.get(k) read the same entry.
    return fmt::format("{}[{}]", key(n->kids[0]), key(n->kids[1]));
  case Kind::Field:
    return key(n->kids[0]) + "." + n->name;
  case Kind::Local:
    return n->name;
  case Kind::Unary:
    return fmt::format("({}{})", operator_key(n), key(n->kids[0]));
  case Kind::Binary:
    return fmt::format("({} {} {})", key(n->kids[0]), operator_key(n), key(n->kids[1]));
  case Kind::MsgSize:
    return fmt::format("msg.size@{}", decimal(n->value.value_or(0)));
  case Kind::MsgBytes:
    return fmt::format("msg.bytes@{}", decimal(n->value.value_or(0)));
  case Kind::Convert:
    return fmt::format("({}){}", n->type.name(), key(n->kids[0]));
  case Kind::Subspan:
    return fmt::format("{}.subspan({})", key(n->kids[0]), key(n->kids[1]));
  case Kind::Text: {
    std::vector<std::string> parts;
    for (const auto& k : n->kids) parts.push_back(k ? key(k) : std::string{});
    return fill(n->text, parts);
  }
  default:
    return fmt::format("<{}:{}>", static_cast<int>(n->kind), n->name);
  }
}

} // namespace lamina::opt
