// C++'s integer arithmetic, exactly, for the folder: the types of the values a layer computes
// with, the conversions between them, and each operator as the language defines it on them —
// unsigned arithmetic wraps, signed overflow, a shift by the width or more and a division by
// zero are undefined, and what is undefined is never folded (fold_* say why instead).
//
// Values are mathematical integers held in 128 bits: every value of every integer type up to
// 64 bits fits. A value "of type T" is one in T's range. The platform is LP64, as Lamina's
// builds are: int 32 bits, long and long long 64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lamina::opt {

using Wide = __int128;

struct IntType {
  // The standard integer types, by conversion rank; `none`: not an integer type (a pointer, a
  // floating-point or class type) or one the folder does not model (char8_t, __int128, ...).
  enum class Rank : std::uint8_t { none, boolean, character, short_, int_, long_, long_long };
  Rank rank = Rank::none;
  bool is_signed = false;

  [[nodiscard]] bool known() const { return rank != Rank::none; }
  [[nodiscard]] unsigned bits() const;
  [[nodiscard]] Wide min() const;
  [[nodiscard]] Wide max() const;
  // The type's name in C++: "unsigned int", "long", "bool", "signed char".
  [[nodiscard]] std::string name() const;
  friend bool operator==(const IntType&, const IntType&) = default;

  static IntType of(Rank rank, bool is_signed) {
    return {rank, rank != Rank::boolean && is_signed};
  }
};

// The value `v` converted to `to` ([conv.integral]: modulo 2^bits, since C++20 also into a
// signed type; to bool: v != 0).
Wide convert(Wide v, IntType to);
// Whether every value of `from` is a value of `to`: converting never changes it.
bool holds(IntType to, IntType from);

// Integral promotion ([conv.prom]) and the usual arithmetic conversions ([expr.arith.conv]) on
// integer types.
IntType promoted(IntType t);
IntType common_type(IntType a, IntType b);

// The result of folding: the value, or why the operation is left as it is.
struct Folded {
  std::optional<Wide> value;
  std::string not_folded; // "signed overflow in int", "division by zero", ...
};

// `a op b` for a binary operator of C++ (+ - * / % << >> & | ^ == != < <= > >= && ||): `type`
// is the type the operands are converted to (for a shift: the promoted left operand's; for
// && and ||: bool), and `a` and `b` are already values of it (a shift's right operand: its
// value). The result is a value of `type`, or of bool for comparisons and && ||.
Folded fold_binary(std::string_view op, IntType type, Wide a, Wide b);
// `op a` for - ~ !: `type` is the promoted operand's type (bool for !); `a` a value of it.
Folded fold_unary(std::string_view op, IntType type, Wide a);

// C++ text of the value `v` of type `t`, with that type: 7, 7u, 7L, 7UL, true,
// static_cast<unsigned short>(7), (-2147483647 - 1).
std::string literal(Wide v, IntType t);

// Decimal text of `v`, and back (nullopt unless the whole text is a decimal integer in range).
std::string decimal(Wide v);
std::optional<Wide> parse_decimal(std::string_view s);

} // namespace lamina::opt
