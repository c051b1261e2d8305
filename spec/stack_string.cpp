#include "spec/stack_string.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <variant>

namespace lamina::spec {
namespace {

// Evaluates a layer argument: integer, time and Boolean (1, 0) literals, the stack's parameters,
// and
// + - * div of those.
class ConstantEvaluator {
public:
  ConstantEvaluator(const Stack& stack,
                    const std::map<std::string, std::int64_t, std::less<>>& overrides)
      : stack_(stack), overrides_(overrides) {}

  std::int64_t eval(const Expr* e, int depth = 0) {
    if (e == nullptr || depth > 32) fail(e, "is not a constant");
    if (const auto* lit = std::get_if<IntLit>(&e->node))
      return static_cast<std::int64_t>(lit->value);
    if (const auto* lit = std::get_if<BoolLit>(&e->node)) return lit->value ? 1 : 0;
    if (const auto* name = std::get_if<Name>(&e->node)) return param(name->ident, e, depth);
    if (const auto* u = std::get_if<Unary>(&e->node); u && u->op == UnaryOp::Neg)
      return -eval(u->operand.get(), depth + 1);
    if (const auto* b = std::get_if<Binary>(&e->node)) {
      const std::int64_t l = eval(b->lhs.get(), depth + 1), r = eval(b->rhs.get(), depth + 1);
      switch (b->op) {
      case BinaryOp::Add:
        return l + r;
      case BinaryOp::Sub:
        return l - r;
      case BinaryOp::Mul:
        return l * r;
      case BinaryOp::Div:
        if (r == 0) fail(e, "divides by zero");
        return l / r;
      default:
        break;
      }
    }
    fail(e, "is not a constant expression of the stack's parameters");
  }

private:
  std::int64_t param(const std::string& ident, const Expr* e, int depth) {
    if (auto it = overrides_.find(ident); it != overrides_.end()) return it->second;
    for (const Param& p : stack_.params)
      if (p.name == ident) {
        if (!p.default_value)
          fail(e, fmt::format("uses parameter '{}', which has no value", ident));
        return eval(p.default_value.get(), depth + 1);
      }
    fail(e, fmt::format("names '{}', which is not a parameter of stack {}", ident, stack_.name));
  }
  [[noreturn]] void fail(const Expr* e, const std::string& what) const {
    throw StackStringError(fmt::format("stack {}: an argument at line {} {}", stack_.name,
                                       e ? e->loc.line : stack_.loc.line, what));
  }

  const Stack& stack_;
  const std::map<std::string, std::int64_t, std::less<>>& overrides_;
};

} // namespace

std::string stack_string(const Program& program, std::string_view name,
                         const std::map<std::string, std::int64_t, std::less<>>& overrides) {
  const Stack* stack = program.stack(name);
  if (stack == nullptr) {
    std::vector<std::string> stacks;
    for (const auto& declared : program.declared_names())
      if (program.stack(declared) != nullptr) stacks.push_back(declared);
    throw StackStringError(
        fmt::format("no stack named '{}' (stacks declared: {})", name,
                    stacks.empty() ? "none" : fmt::format("{}", fmt::join(stacks, ", "))));
  }
  for (const auto& [key, value] : overrides) {
    bool known = false;
    for (const Param& p : stack->params) known = known || p.name == key;
    if (!known)
      throw StackStringError(fmt::format("stack {} has no parameter '{}'", stack->name, key));
  }
  ConstantEvaluator eval(*stack, overrides);
  std::string out;
  for (const LayerRef& ref : stack->layers) {
    if (!out.empty()) out += ':';
    out += ref.layer;
    const Layer* layer = program.layer(ref.layer);
    for (std::size_t i = 0; i < ref.args.size(); ++i) {
      const auto& [key, expr] = ref.args[i];
      std::string_view type;
      if (layer != nullptr)
        for (const Param& p : layer->params)
          if (p.name == key) type = p.type.name;
      const std::int64_t v = eval.eval(expr.get());
      out += fmt::format("{}{}={}", i == 0 ? "(" : ",", key,
                         type == "Bool"   ? (v != 0 ? "true" : "false")
                         : type == "Time" ? fmt::format("{}ns", v)
                                          : std::to_string(v));
    }
    if (!ref.args.empty()) out += ')';
  }
  return out;
}

std::string load_stack_string(const std::string& file, std::string_view name,
                              const std::map<std::string, std::int64_t, std::less<>>& overrides) {
  Sources sources;
  Diagnostics diags(sources);
  const auto program = load(file, sources, diags);
  if (!program) throw StackStringError(diags.format());
  try {
    return stack_string(*program, name, overrides);
  } catch (const StackStringError& e) {
    throw StackStringError(fmt::format("{}: {}", file, e.what()));
  }
}

} // namespace lamina::spec
