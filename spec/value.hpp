// Value: what a spec's variables hold while the simulator runs it (spec/README.md, "Types").
//
// A Value does not carry its type: the checker has typed every expression, and the operations
// that need a type (range checks, defaults, printing with field names, header layout) take
// it as an argument. Integers of every width are held in 128 bits; the static type decides
// which values are in range. Maps are total and kept canonical: an entry whose value is the
// default of the value type is never stored, so that structural equality is the language's
// equality ("two maps are equal when they agree on every key").
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "spec/ast.hpp"

namespace lamina::spec {

using Int128 = __int128;

class Value {
public:
  enum class Kind : std::uint8_t { Bool, Int, Enum, Record, Seq, Set, Map, Msg };

  Value() = default; // the integer 0

  static Value boolean(bool b) { return scalar(Kind::Bool, b ? 1 : 0); }
  static Value integer(Int128 i) { return scalar(Kind::Int, i); }
  // An enumerator by its index; indices beyond the enumeration are kept (a header decoded from
  // a corrupt packet may carry one), and compare unequal to every enumerator.
  static Value enumerator(std::uint32_t index) { return scalar(Kind::Enum, index); }
  static Value record(std::vector<Value> fields);
  static Value seq(std::vector<Value> elems);
  // Sorts and removes duplicates.
  static Value set(std::vector<Value> elems);
  static Value empty_map();
  static Value msg(std::vector<std::byte> bytes);
  static Value msg(std::span<const std::byte> bytes);

  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] bool as_bool() const { return int_ != 0; }
  [[nodiscard]] Int128 as_int() const { return int_; }
  [[nodiscard]] std::uint32_t as_enum() const { return static_cast<std::uint32_t>(int_); }

  // Record fields, sequence and set elements (sets in ascending order).
  [[nodiscard]] const std::vector<Value>& items() const { return items_; }
  [[nodiscard]] std::vector<Value>& items() { return items_; }

  // Map entries, in ascending order of key, none holding the default value.
  [[nodiscard]] std::size_t map_size() const { return items_.size() / 2; }
  [[nodiscard]] const Value& map_key(std::size_t i) const { return items_[2 * i]; }
  [[nodiscard]] const Value& map_value(std::size_t i) const { return items_[2 * i + 1]; }
  // The stored value of `key`, or nullptr when it reads as the default.
  [[nodiscard]] const Value* map_find(const Value& key) const;
  // Sets key to value; `value == dflt` removes the entry.
  void map_set(const Value& key, Value value, const Value& dflt);
  // The entry of `key`, inserted as `dflt` if absent. The caller must call map_settle(key, dflt)
  // after changing it, to drop it again if it is left at the default.
  Value& map_slot(const Value& key, const Value& dflt);
  void map_settle(const Value& key, const Value& dflt);
  void map_erase(const Value& key);

  // Set operations.
  [[nodiscard]] bool set_contains(const Value& x) const;
  void set_insert(Value x);
  void set_erase(const Value& x);

  // Message bytes.
  [[nodiscard]] std::span<const std::byte> bytes() const { return bytes_; }
  [[nodiscard]] std::vector<std::byte>& byte_vector() { return bytes_; }

  // Structural equality; with canonical maps this is the language's `=`.
  friend bool operator==(const Value& a, const Value& b);
  // A total order on the values of one type: numbers, enumerator index, then element by
  // element. Ordered sets and map keys use it.
  friend std::strong_ordering operator<=>(const Value& a, const Value& b);

private:
  static Value scalar(Kind k, Int128 i) {
    Value v;
    v.kind_ = k;
    v.int_ = i;
    return v;
  }
  // Index of the first entry whose key is not less than `key`.
  [[nodiscard]] std::size_t map_lower_bound(const Value& key) const;

  Int128 int_ = 0;
  std::vector<Value> items_; // Map: key, value, key, value, ...
  std::vector<std::byte> bytes_;
  Kind kind_ = Kind::Int;
};

// ---------------------------------------------------------------------------- by type

// The value a variable of type `t` has before it is assigned: false, 0, the first enumerator,
// a record of defaults, an empty collection or message.
Value default_value(const Type& t);

// The integers a type admits: u8 0..255, Nat 0..2^127-1, Int all of 128 bits, ...
struct IntRange {
  Int128 lo;
  Int128 hi;
};
IntRange int_range(const Type& t);
[[nodiscard]] inline bool is_integer(const Type& t) {
  return t.kind == TypeKind::Int || t.kind == TypeKind::Nat || t.kind == TypeKind::Fixed;
}

// The result of an integer operator in type `t` (nullptr: Int). Checked operators that leave
// the range, and division by zero, give false and the run-time error's message in `error`
// ("overflow: 4294967295 + 1 leaves u32"). Wrapping operators reduce modulo 2^bits. `div`
// truncates toward zero and `mod` takes the sign of the dividend, as in C++.
bool arith(BinaryOp op, Int128 a, Int128 b, const Type* t, Int128& out, std::string& error);
// -a in type `t`.
bool negate(Int128 a, const Type* t, Int128& out, std::string& error);
// Whether `v` (of type `t`) fits it; false and a message if an integer somewhere in it is out
// of range. Used where a value crosses into a declared type: assignments, parameters, fields.
bool fits_type(const Value& v, const Type& t, std::string& error);

std::string int_to_string(Int128 i);

// "{seq: 3}", "[1, 2]", "{0: 5, 2: 7}", "msg[5: 01 02 03 04 05]", "idle". Without a type,
// records print their fields without names and enumerators as "#index".
std::string to_string(const Value& v, const Type& t);
std::string to_string(const Value& v);

// ------------------------------------------------------------------------------ headers

// Where a header's fields lie in its wire form: the C struct of the same fields in order,
// each at its natural alignment, zero padding, the size rounded up to the largest alignment;
// integers little-endian, enumerations and Bool one byte. So `header Data { kind: u8, id: u32 }`
// is `struct { uint8_t kind; /* 3 bytes padding */ uint32_t id; }`, 8 bytes.
struct HeaderLayout {
  struct Field {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
    const Type* type = nullptr; // for a nested record: its own layout is `nested`
    std::vector<Field> nested;
  };
  std::vector<Field> fields;
  std::uint32_t size = 0;
  std::uint32_t align = 1;
};
// False (and the reason) for a type that has no wire form (Nat, Int, collections, Msg).
bool header_layout(const Type& t, HeaderLayout& out, std::string& error);
// Writes the `layout.size` bytes of record `v` into `out`.
void encode_header(const Value& v, const HeaderLayout& layout, std::span<std::byte> out);
// Reads a record from the first `layout.size` bytes of `in` (which must hold them).
Value decode_header(std::span<const std::byte> in, const HeaderLayout& layout);

} // namespace lamina::spec
