#include "optimizer/integer.hpp"

#include <fmt/format.h>

#include "spec/value.hpp"

namespace lamina::opt {

namespace {
using Bits = unsigned __int128;
using Rank = IntType::Rank;

Wide power_of_two(unsigned n) { return static_cast<Wide>(static_cast<Bits>(1) << n); }

// Whether `v` is a value of `t`.
bool in(Wide v, IntType t) { return t.min() <= v && v <= t.max(); }

std::string shown(std::string_view op, Wide a, Wide b) {
  return fmt::format("{} {} {}", decimal(a), op, decimal(b));
}
} // namespace

unsigned IntType::bits() const {
  switch (rank) {
  case Rank::none:
    return 0;
  case Rank::boolean:
    return 1;
  case Rank::character:
    return 8;
  case Rank::short_:
    return 16;
  case Rank::int_:
    return 32;
  case Rank::long_:
  case Rank::long_long:
    return 64;
  }
  return 0;
}

Wide IntType::min() const { return is_signed ? -power_of_two(bits() - 1) : 0; }
Wide IntType::max() const {
  return is_signed ? power_of_two(bits() - 1) - 1 : power_of_two(bits()) - 1;
}

std::string IntType::name() const {
  std::string base;
  switch (rank) {
  case Rank::none:
    return "(not an integer type)";
  case Rank::boolean:
    return "bool";
  case Rank::character:
    return is_signed ? "signed char" : "unsigned char";
  case Rank::short_:
    base = "short";
    break;
  case Rank::int_:
    base = "int";
    break;
  case Rank::long_:
    base = "long";
    break;
  case Rank::long_long:
    base = "long long";
    break;
  }
  return is_signed ? base : "unsigned " + base;
}

Wide convert(Wide v, IntType to) {
  if (to.rank == Rank::boolean) return v != 0 ? 1 : 0;
  const Bits mask = (static_cast<Bits>(1) << to.bits()) - 1;
  const Wide m = static_cast<Wide>(static_cast<Bits>(v) & mask);
  return to.is_signed && m > to.max() ? m - power_of_two(to.bits()) : m;
}

bool holds(IntType to, IntType from) {
  return to.known() && from.known() && to.min() <= from.min() && from.max() <= to.max();
}

IntType promoted(IntType t) {
  // bool, char and short promote to int, which holds all their values on LP64.
  if (t.known() && t.rank < Rank::int_) return IntType::of(Rank::int_, true);
  return t;
}

IntType common_type(IntType a, IntType b) {
  a = promoted(a);
  b = promoted(b);
  if (!a.known() || !b.known()) return {};
  if (a == b) return a;
  if (a.is_signed == b.is_signed) return a.rank >= b.rank ? a : b;
  const IntType u = a.is_signed ? b : a;
  const IntType s = a.is_signed ? a : b;
  if (u.rank >= s.rank) return u;
  if (s.bits() > u.bits()) return s;
  return IntType::of(s.rank, false);
}

Folded fold_binary(std::string_view op, IntType type, Wide a, Wide b) {
  if (!type.known()) return {std::nullopt, "not of an integer type"};
  const auto arithmetic = [&](Wide exact) -> Folded {
    if (!type.is_signed) return {convert(exact, type), ""};
    if (!in(exact, type))
      return {std::nullopt, fmt::format("signed overflow in {}: {}", type.name(), shown(op, a, b))};
    return {exact, ""};
  };
  if (op == "+") return arithmetic(a + b);
  if (op == "-") return arithmetic(a - b);
  if (op == "*") {
    // Unsigned operands of 64 bits multiply past 2^127: take the product modulo 2^128, which
    // the reduction to the type's width does not see.
    if (!type.is_signed)
      return {convert(static_cast<Wide>(static_cast<Bits>(a) * static_cast<Bits>(b)), type), ""};
    return arithmetic(a * b);
  }
  if (op == "/" || op == "%") {
    if (b == 0) return {std::nullopt, fmt::format("division by zero: {}", shown(op, a, b))};
    if (type.is_signed && a == type.min() && b == -1)
      return {std::nullopt, fmt::format("signed overflow in {}: {}", type.name(), shown(op, a, b))};
    return {op == "/" ? a / b : a % b, ""};
  }
  if (op == "<<" || op == ">>") {
    if (b < 0 || b >= static_cast<Wide>(type.bits()))
      return {std::nullopt, fmt::format("a shift by {}, outside 0 to {} for {}", decimal(b),
                                        type.bits() - 1, type.name())};
    const auto n = static_cast<unsigned>(b);
    // C++20: a << n is the value congruent to a * 2^n modulo 2^width; a >> n is a / 2^n
    // rounded down.
    if (op == "<<") return {convert(static_cast<Wide>(static_cast<Bits>(a) << n), type), ""};
    return {a >> n, ""};
  }
  if (op == "&") return {a & b, ""};
  if (op == "|") return {a | b, ""};
  if (op == "^") return {a ^ b, ""};
  if (op == "==") return {a == b, ""};
  if (op == "!=") return {a != b, ""};
  if (op == "<") return {a < b, ""};
  if (op == "<=") return {a <= b, ""};
  if (op == ">") return {a > b, ""};
  if (op == ">=") return {a >= b, ""};
  if (op == "&&") return {a != 0 && b != 0, ""};
  if (op == "||") return {a != 0 || b != 0, ""};
  return {std::nullopt, fmt::format("the operator {}", op)};
}

Folded fold_unary(std::string_view op, IntType type, Wide a) {
  if (!type.known()) return {std::nullopt, "not of an integer type"};
  if (op == "!") return {a == 0, ""};
  if (op == "+") return {a, ""};
  if (op == "~") return {type.is_signed ? -a - 1 : type.max() - a, ""};
  if (op == "-") {
    if (!type.is_signed) return {convert(-a, type), ""};
    if (!in(-a, type))
      return {std::nullopt, fmt::format("signed overflow in {}: -{}", type.name(), decimal(a))};
    return {-a, ""};
  }
  return {std::nullopt, fmt::format("the operator {}", op)};
}

std::string literal(Wide v, IntType t) {
  switch (t.rank) {
  case Rank::boolean:
    return v != 0 ? "true" : "false";
  case Rank::character:
  case Rank::short_:
    return fmt::format("static_cast<{}>({})", t.name(), decimal(v));
  case Rank::none:
  case Rank::int_:
    break;
  case Rank::long_:
  case Rank::long_long: {
    const char* suffix = t.rank == Rank::long_ ? "L" : "LL";
    if (t.is_signed && v == t.min()) return fmt::format("(-9223372036854775807{} - 1)", suffix);
    return fmt::format("{}{}{}", decimal(v), t.is_signed ? "" : "U", suffix);
  }
  }
  if (t.known() && !t.is_signed) return decimal(v) + "u";
  if (t.known() && v == t.min()) return "(-2147483647 - 1)";
  return decimal(v);
}

std::string decimal(Wide v) { return spec::int_to_string(v); }

std::optional<Wide> parse_decimal(std::string_view s) {
  const bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 20) return std::nullopt; // 2^64 has 20 digits
  Wide v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

} // namespace lamina::opt
