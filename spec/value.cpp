#include "spec/value.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "runtime/hex.hpp"

namespace lamina::spec {
namespace {

constexpr Int128 kInt128Max = static_cast<Int128>(~static_cast<unsigned __int128>(0) >> 1);
constexpr Int128 kInt128Min = -kInt128Max - 1;

// The name of an integer type in messages: "u32", "i8", "Nat", "Int".
std::string int_type_name(const Type* t) {
  if (t == nullptr) return "Int";
  switch (t->kind) {
  case TypeKind::Fixed:
    return fmt::format("{}{}", t->is_signed ? 'i' : 'u', t->bits);
  case TypeKind::Nat:
    return "Nat";
  default:
    return "Int";
  }
}

// `u` reduced modulo 2^bits into the range of a Fixed type.
Int128 wrap_to(unsigned __int128 u, const Type& t) {
  const unsigned __int128 mask = (static_cast<unsigned __int128>(1) << t.bits) - 1;
  u &= mask;
  if (t.is_signed && (u >> (t.bits - 1)) != 0)
    return static_cast<Int128>(u) - static_cast<Int128>(mask) - 1;
  return static_cast<Int128>(u);
}

bool in_range(Int128 v, const Type* t) {
  if (t == nullptr) return true;
  const IntRange r = int_range(*t);
  return v >= r.lo && v <= r.hi;
}

} // namespace

// ------------------------------------------------------------------------------ Value

Value Value::record(std::vector<Value> fields) {
  Value v;
  v.kind_ = Kind::Record;
  v.items_ = std::move(fields);
  return v;
}

Value Value::seq(std::vector<Value> elems) {
  Value v;
  v.kind_ = Kind::Seq;
  v.items_ = std::move(elems);
  return v;
}

Value Value::set(std::vector<Value> elems) {
  std::sort(elems.begin(), elems.end());
  elems.erase(std::unique(elems.begin(), elems.end()), elems.end());
  Value v;
  v.kind_ = Kind::Set;
  v.items_ = std::move(elems);
  return v;
}

Value Value::empty_map() {
  Value v;
  v.kind_ = Kind::Map;
  return v;
}

Value Value::msg(std::vector<std::byte> bytes) {
  Value v;
  v.kind_ = Kind::Msg;
  v.bytes_ = std::move(bytes);
  return v;
}

Value Value::msg(std::span<const std::byte> bytes) {
  return msg(std::vector<std::byte>(bytes.begin(), bytes.end()));
}

std::size_t Value::map_lower_bound(const Value& key) const {
  std::size_t lo = 0;
  std::size_t hi = map_size();
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (map_key(mid) < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const Value* Value::map_find(const Value& key) const {
  const std::size_t i = map_lower_bound(key);
  if (i < map_size() && map_key(i) == key) return &items_[2 * i + 1];
  return nullptr;
}

void Value::map_set(const Value& key, Value value, const Value& dflt) {
  const std::size_t i = map_lower_bound(key);
  const bool found = i < map_size() && map_key(i) == key;
  if (value == dflt) {
    if (found)
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(2 * i),
                   items_.begin() + static_cast<std::ptrdiff_t>(2 * i + 2));
    return;
  }
  if (found) {
    items_[2 * i + 1] = std::move(value);
    return;
  }
  const auto at = items_.begin() + static_cast<std::ptrdiff_t>(2 * i);
  const auto k = items_.insert(at, key);
  items_.insert(k + 1, std::move(value));
}

Value& Value::map_slot(const Value& key, const Value& dflt) {
  const std::size_t i = map_lower_bound(key);
  if (i < map_size() && map_key(i) == key) return items_[2 * i + 1];
  const auto at = items_.begin() + static_cast<std::ptrdiff_t>(2 * i);
  const auto k = items_.insert(at, key);
  return *items_.insert(k + 1, dflt);
}

void Value::map_settle(const Value& key, const Value& dflt) {
  const std::size_t i = map_lower_bound(key);
  if (i < map_size() && map_key(i) == key && map_value(i) == dflt)
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(2 * i),
                 items_.begin() + static_cast<std::ptrdiff_t>(2 * i + 2));
}

void Value::map_erase(const Value& key) {
  const std::size_t i = map_lower_bound(key);
  if (i < map_size() && map_key(i) == key)
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(2 * i),
                 items_.begin() + static_cast<std::ptrdiff_t>(2 * i + 2));
}

bool Value::set_contains(const Value& x) const {
  return std::binary_search(items_.begin(), items_.end(), x);
}

void Value::set_insert(Value x) {
  const auto at = std::lower_bound(items_.begin(), items_.end(), x);
  if (at != items_.end() && *at == x) return;
  items_.insert(at, std::move(x));
}

void Value::set_erase(const Value& x) {
  const auto at = std::lower_bound(items_.begin(), items_.end(), x);
  if (at != items_.end() && *at == x) items_.erase(at);
}

bool operator==(const Value& a, const Value& b) {
  return a.kind_ == b.kind_ && a.int_ == b.int_ && a.items_ == b.items_ && a.bytes_ == b.bytes_;
}

std::strong_ordering operator<=>(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return a.kind_ <=> b.kind_;
  switch (a.kind_) {
  case Value::Kind::Bool:
  case Value::Kind::Int:
  case Value::Kind::Enum:
    return a.int_ <=> b.int_;
  case Value::Kind::Msg: {
    const std::size_t n = std::min(a.bytes_.size(), b.bytes_.size());
    const int c = n == 0 ? 0 : std::memcmp(a.bytes_.data(), b.bytes_.data(), n);
    if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.bytes_.size() <=> b.bytes_.size();
  }
  default:
    return std::lexicographical_compare_three_way(a.items_.begin(), a.items_.end(),
                                                  b.items_.begin(), b.items_.end());
  }
}

// ---------------------------------------------------------------------------- by type

Value default_value(const Type& t) {
  switch (t.kind) {
  case TypeKind::Bool:
    return Value::boolean(false);
  case TypeKind::Enum:
    return Value::enumerator(0);
  case TypeKind::Record: {
    std::vector<Value> fields;
    fields.reserve(t.fields.size());
    for (const auto& [name, type] : t.fields) fields.push_back(default_value(*type));
    return Value::record(std::move(fields));
  }
  case TypeKind::Seq:
    return Value::seq({});
  case TypeKind::Set:
    return Value::set({});
  case TypeKind::Map:
    return Value::empty_map();
  case TypeKind::Msg:
    return Value::msg(std::vector<std::byte>{});
  default:
    return Value::integer(0);
  }
}

IntRange int_range(const Type& t) {
  switch (t.kind) {
  case TypeKind::Fixed:
    if (t.is_signed) {
      const Int128 half = static_cast<Int128>(1) << (t.bits - 1);
      return {-half, half - 1};
    }
    return {0, (static_cast<Int128>(1) << t.bits) - 1};
  case TypeKind::Nat:
    return {0, kInt128Max};
  default:
    return {kInt128Min, kInt128Max};
  }
}

bool arith(BinaryOp op, Int128 a, Int128 b, const Type* t, Int128& out, std::string& error) {
  const bool fixed = t != nullptr && t->kind == TypeKind::Fixed;
  const auto ua = static_cast<unsigned __int128>(a);
  const auto ub = static_cast<unsigned __int128>(b);
  bool overflow = false;
  switch (op) {
  case BinaryOp::AddWrap:
    if (fixed) {
      out = wrap_to(ua + ub, *t);
      return true;
    }
    [[fallthrough]];
  case BinaryOp::Add:
    overflow = __builtin_add_overflow(a, b, &out);
    break;
  case BinaryOp::SubWrap:
    if (fixed) {
      out = wrap_to(ua - ub, *t);
      return true;
    }
    [[fallthrough]];
  case BinaryOp::Sub:
    overflow = __builtin_sub_overflow(a, b, &out);
    break;
  case BinaryOp::MulWrap:
    if (fixed) {
      out = wrap_to(ua * ub, *t);
      return true;
    }
    [[fallthrough]];
  case BinaryOp::Mul:
    overflow = __builtin_mul_overflow(a, b, &out);
    break;
  case BinaryOp::Div:
  case BinaryOp::Mod:
    if (b == 0) {
      error = fmt::format("division by zero: {} {} 0", int_to_string(a), symbol(op));
      return false;
    }
    if (a == kInt128Min && b == -1) {
      overflow = true;
      break;
    }
    out = op == BinaryOp::Div ? a / b : a % b;
    break;
  default:
    error = "not an integer operator";
    return false;
  }
  if (overflow || !in_range(out, t)) {
    error = fmt::format("overflow: {} {} {} leaves {}", int_to_string(a), symbol(op),
                        int_to_string(b), int_type_name(t));
    return false;
  }
  return true;
}

bool negate(Int128 a, const Type* t, Int128& out, std::string& error) {
  if (a == kInt128Min || !in_range(-a, t)) {
    error = fmt::format("overflow: -{} leaves {}", int_to_string(a), int_type_name(t));
    return false;
  }
  out = -a;
  return true;
}

bool fits_type(const Value& v, const Type& t, std::string& error) {
  switch (t.kind) {
  case TypeKind::Int:
  case TypeKind::Nat:
  case TypeKind::Fixed:
    if (v.kind() == Value::Kind::Int && !in_range(v.as_int(), &t)) {
      error = fmt::format("{} leaves {}", int_to_string(v.as_int()), int_type_name(&t));
      return false;
    }
    return true;
  case TypeKind::Record:
    for (std::size_t i = 0; i < t.fields.size() && i < v.items().size(); ++i)
      if (!fits_type(v.items()[i], *t.fields[i].second, error)) return false;
    return true;
  case TypeKind::Seq:
  case TypeKind::Set:
    if (t.elem && (is_integer(*t.elem) || t.elem->kind == TypeKind::Record))
      for (const Value& e : v.items())
        if (!fits_type(e, *t.elem, error)) return false;
    return true;
  case TypeKind::Map:
    for (std::size_t i = 0; i < v.map_size(); ++i)
      if ((t.elem && !fits_type(v.map_key(i), *t.elem, error)) ||
          (t.value && !fits_type(v.map_value(i), *t.value, error)))
        return false;
    return true;
  default:
    return true;
  }
}

std::string int_to_string(Int128 i) {
  if (i == 0) return "0";
  const bool negative = i < 0;
  // Work in the negative range so that the smallest value needs no special case.
  Int128 n = negative ? i : -i;
  std::string digits;
  while (n != 0) {
    digits += static_cast<char>('0' - static_cast<int>(n % 10));
    n /= 10;
  }
  if (negative) digits += '-';
  std::reverse(digits.begin(), digits.end());
  return digits;
}

namespace {

std::string print(const Value& v, const Type* t) {
  switch (v.kind()) {
  case Value::Kind::Bool:
    return v.as_bool() ? "true" : "false";
  case Value::Kind::Int:
    return int_to_string(v.as_int());
  case Value::Kind::Enum:
    if (t != nullptr && t->kind == TypeKind::Enum) {
      if (v.as_enum() < t->enumerators.size()) return t->enumerators[v.as_enum()];
      return fmt::format("{}#{}", t->name, v.as_enum());
    }
    return fmt::format("#{}", v.as_enum());
  case Value::Kind::Record: {
    const bool named = t != nullptr && t->kind == TypeKind::Record;
    std::string out = "{";
    for (std::size_t i = 0; i < v.items().size(); ++i) {
      if (i > 0) out += ", ";
      const Type* ft = nullptr;
      if (named && i < t->fields.size()) {
        out += t->fields[i].first + ": ";
        ft = t->fields[i].second.get();
      }
      out += print(v.items()[i], ft);
    }
    return out + "}";
  }
  case Value::Kind::Seq:
  case Value::Kind::Set: {
    const Type* et = t != nullptr ? t->elem.get() : nullptr;
    std::string out = v.kind() == Value::Kind::Seq ? "[" : "{";
    for (std::size_t i = 0; i < v.items().size(); ++i) {
      if (i > 0) out += ", ";
      out += print(v.items()[i], et);
    }
    return out + (v.kind() == Value::Kind::Seq ? "]" : "}");
  }
  case Value::Kind::Map: {
    const Type* kt = t != nullptr ? t->elem.get() : nullptr;
    const Type* vt = t != nullptr ? t->value.get() : nullptr;
    std::string out = "{";
    for (std::size_t i = 0; i < v.map_size(); ++i) {
      if (i > 0) out += ", ";
      out += print(v.map_key(i), kt) + ": " + print(v.map_value(i), vt);
    }
    return out + "}";
  }
  case Value::Kind::Msg: {
    return msg_text(v.bytes(), 32);
  }
  }
  return "?";
}

} // namespace

std::string to_string(const Value& v, const Type& t) { return print(v, &t); }
std::string to_string(const Value& v) { return print(v, nullptr); }

// ------------------------------------------------------------------------------ headers

namespace {

bool layout_record(const Type& t, std::vector<HeaderLayout::Field>& fields, std::uint32_t& size,
                   std::uint32_t& align, std::string& error) {
  size = 0;
  align = 1;
  for (const auto& [name, ft] : t.fields) {
    HeaderLayout::Field f;
    f.type = ft.get();
    std::uint32_t field_align = 1;
    switch (ft->kind) {
    case TypeKind::Fixed:
      f.size = field_align = ft->bits / 8u;
      break;
    case TypeKind::Bool:
      f.size = 1;
      break;
    case TypeKind::Enum:
      if (ft->enumerators.size() > 256) {
        error = fmt::format("header field '{}': enumeration {} has more than 256 values and does "
                            "not fit the one byte an enumeration takes on the wire",
                            name, ft->name);
        return false;
      }
      f.size = 1;
      break;
    case TypeKind::Record:
      if (!layout_record(*ft, f.nested, f.size, field_align, error)) return false;
      break;
    default:
      error = fmt::format("header field '{}' of type {} has no fixed size on the wire; use u8 .. "
                          "u64, i8 .. i64, Bool, an enumeration or a record of those",
                          name,
                          ft->kind == TypeKind::Nat ? "Nat"
                          : ft->name.empty()        ? "a collection or Msg"
                                                    : ft->name);
      return false;
    }
    size = (size + field_align - 1) / field_align * field_align;
    f.offset = size;
    size += f.size;
    align = std::max(align, field_align);
    fields.push_back(std::move(f));
  }
  size = (size + align - 1) / align * align;
  return true;
}

void encode_fields(const Value& v, const std::vector<HeaderLayout::Field>& fields, std::byte* out) {
  for (std::size_t i = 0; i < fields.size() && i < v.items().size(); ++i) {
    const HeaderLayout::Field& f = fields[i];
    const Value& fv = v.items()[i];
    if (!f.nested.empty() || f.type->kind == TypeKind::Record) {
      encode_fields(fv, f.nested, out + f.offset);
      continue;
    }
    auto u = static_cast<unsigned __int128>(fv.as_int());
    for (std::uint32_t b = 0; b < f.size; ++b) {
      out[f.offset + b] = static_cast<std::byte>(static_cast<std::uint8_t>(u));
      u >>= 8;
    }
  }
}

Value decode_fields(const std::byte* in, const std::vector<HeaderLayout::Field>& fields) {
  std::vector<Value> values;
  values.reserve(fields.size());
  for (const HeaderLayout::Field& f : fields) {
    switch (f.type->kind) {
    case TypeKind::Record:
      values.push_back(decode_fields(in + f.offset, f.nested));
      break;
    case TypeKind::Bool:
      values.push_back(Value::boolean(in[f.offset] != std::byte{0}));
      break;
    case TypeKind::Enum:
      values.push_back(Value::enumerator(static_cast<std::uint8_t>(in[f.offset])));
      break;
    default: {
      unsigned __int128 u = 0;
      for (std::uint32_t b = f.size; b-- > 0;)
        u = (u << 8) | static_cast<std::uint8_t>(in[f.offset + b]);
      values.push_back(Value::integer(wrap_to(u, *f.type)));
    }
    }
  }
  return Value::record(std::move(values));
}

} // namespace

bool header_layout(const Type& t, HeaderLayout& out, std::string& error) {
  out = HeaderLayout{};
  if (t.kind != TypeKind::Record) {
    error = "not a record or header type";
    return false;
  }
  return layout_record(t, out.fields, out.size, out.align, error);
}

void encode_header(const Value& v, const HeaderLayout& layout, std::span<std::byte> out) {
  std::memset(out.data(), 0, layout.size);
  encode_fields(v, layout.fields, out.data());
}

Value decode_header(std::span<const std::byte> in, const HeaderLayout& layout) {
  return decode_fields(in.data(), layout.fields);
}

} // namespace lamina::spec
