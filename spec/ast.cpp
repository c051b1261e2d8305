// Type identity and type names for the syntax tree (spec/ast.hpp).
#include "spec/ast.hpp"

#include <fmt/format.h>

namespace lamina::spec {

// The Error type (and, defensively, a missing type) is the same as every type: the expression
// that has it was already reported, and saying again that it does not fit where it is used
// would only bury the first message under its consequences.
bool same_type(const TypeRef& a, const TypeRef& b) {
  if (!a || !b || a->kind == TypeKind::Error || b->kind == TypeKind::Error) return true;
  if (a == b) return true;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
  case TypeKind::Error:
  case TypeKind::Bool:
  case TypeKind::Int:
  case TypeKind::Nat:
  case TypeKind::Msg:
    return true;
  case TypeKind::Fixed:
    return a->bits == b->bits && a->is_signed == b->is_signed;
  case TypeKind::Enum:
  case TypeKind::Record:
    return false; // one declaration, one type: a == b was checked above
  case TypeKind::Seq:
  case TypeKind::Set:
    return same_type(a->elem, b->elem);
  case TypeKind::Map:
    return same_type(a->elem, b->elem) && same_type(a->value, b->value);
  }
  return false;
}

// A fixed-width type prints as its declared name when it has one ("Peer", "Time"), so that
// messages speak the spec's words; else as u8 .. i64.
std::string type_name(const TypeRef& t) {
  if (!t) return "<error>";
  switch (t->kind) {
  case TypeKind::Error:
    return "<error>";
  case TypeKind::Bool:
    return "Bool";
  case TypeKind::Int:
    return "Int";
  case TypeKind::Nat:
    return "Nat";
  case TypeKind::Msg:
    return "Msg";
  case TypeKind::Fixed:
    if (!t->name.empty()) return t->name;
    return fmt::format("{}{}", t->is_signed ? 'i' : 'u', t->bits);
  case TypeKind::Enum:
  case TypeKind::Record:
    return t->name;
  case TypeKind::Seq:
    return fmt::format("Seq[{}]", type_name(t->elem));
  case TypeKind::Set:
    return fmt::format("Set[{}]", type_name(t->elem));
  case TypeKind::Map:
    return fmt::format("Map[{}, {}]", type_name(t->elem), type_name(t->value));
  }
  return "<error>";
}

const char* symbol(BinaryOp op) {
  switch (op) {
  case BinaryOp::Implies:
    return "⇒";
  case BinaryOp::Or:
    return "∨";
  case BinaryOp::And:
    return "∧";
  case BinaryOp::Eq:
    return "=";
  case BinaryOp::Ne:
    return "≠";
  case BinaryOp::Lt:
    return "<";
  case BinaryOp::Le:
    return "≤";
  case BinaryOp::Gt:
    return ">";
  case BinaryOp::Ge:
    return "≥";
  case BinaryOp::In:
    return "∈";
  case BinaryOp::NotIn:
    return "∉";
  case BinaryOp::Append:
    return "⊢";
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::AddWrap:
    return "+%";
  case BinaryOp::SubWrap:
    return "-%";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::MulWrap:
    return "*%";
  case BinaryOp::Div:
    return "div";
  case BinaryOp::Mod:
    return "mod";
  }
  return "?";
}

} // namespace lamina::spec
