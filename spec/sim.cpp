#include "spec/sim.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <unordered_map>

#include "runtime/crc32c.hpp"
#include "runtime/hex.hpp"
#include "runtime/sha256.hpp"
#include "spec/oracle.hpp"

namespace lamina::spec {
namespace {

// ------------------------------------------------------------------------------- support

// A run-time error of the spec being run. Thrown from where it happens through the interpreter
// (and, in a stack, through the neighbours' transitions) to the front door, which turns it into
// a Failure; nothing else in the simulator throws on a spec's behalf.
struct EvalError {
  SourceLoc loc;
  std::string message;
};

[[noreturn]] void fail(SourceLoc loc, std::string message) {
  throw EvalError{loc, std::move(message)};
}

// Where a layer's outputs go: a recorder (LayerSim) or the neighbour (StackSim).
class Sink {
public:
  virtual void emit(const Stmt& at, Port port, EventKind event, PeerId peer, Value msg,
                    std::uint64_t lamport, std::int64_t now) = 0;
  virtual void set_timer(std::int64_t delay, std::int64_t now) = 0;

protected:
  Sink() = default;
  Sink(const Sink&) = default;
  Sink& operator=(const Sink&) = default;
  ~Sink() = default;
};

// Header layouts and default values by type, worked out once per simulator.
class Caches {
public:
  const HeaderLayout& layout(const Type& t, SourceLoc loc) {
    auto it = layouts_.find(&t);
    if (it != layouts_.end()) return it->second;
    HeaderLayout l;
    std::string error;
    if (!header_layout(t, l, error)) fail(loc, error);
    return layouts_.emplace(&t, std::move(l)).first->second;
  }

  const Value& default_of(const Type& t) {
    static const Value zero = Value::integer(0);
    static const Value no = Value::boolean(false);
    static const Value first = Value::enumerator(0);
    switch (t.kind) {
    case TypeKind::Int:
    case TypeKind::Nat:
    case TypeKind::Fixed:
      return zero;
    case TypeKind::Bool:
      return no;
    case TypeKind::Enum:
      return first;
    default:
      break;
    }
    auto it = defaults_.find(&t);
    if (it != defaults_.end()) return it->second;
    return defaults_.emplace(&t, default_value(t)).first->second;
  }

private:
  std::unordered_map<const Type*, HeaderLayout> layouts_;
  std::unordered_map<const Type*, Value> defaults_;
};

// What `me`, `group_size` and `peers` are in a layer.
struct LayerEnv {
  Value me;
  Value group_size;
  Value peers;
};

// An instance of an automaton: its variables (parameters, then state variables) and, for a
// composite, its components.
struct Instance {
  const Automaton* def = nullptr;
  std::string path; // "A", "Outer.A"; empty for the automaton simulated
  std::vector<Value> vars;
  std::vector<std::unique_ptr<Instance>> children;
  std::vector<Invariant*> invariants;
};

// Everything an expression or statement can see while it runs.
struct Frame {
  Value* vars = nullptr;
  Value* params = nullptr;
  Value* locals = nullptr;
  const LayerEnv* layer = nullptr;
  std::int64_t now = 0;
  Value lamport;
  Sink* sink = nullptr;
  const std::vector<std::unique_ptr<Instance>>* components = nullptr;
  Caches* caches = nullptr;
};

// The position of alternative T in a variant type, for switching on Expr::node and Stmt::node.
template <class T, class... Ts>
constexpr std::size_t index_in(const std::variant<Ts...>* /*unused*/) {
  constexpr std::array<bool, sizeof...(Ts)> same = {std::is_same_v<T, Ts>...};
  for (std::size_t i = 0; i < same.size(); ++i)
    if (same[i]) return i;
  return same.size();
}
template <class T>
constexpr std::size_t kExpr = index_in<T>(static_cast<decltype(Expr::node)*>(nullptr));
template <class T>
constexpr std::size_t kStmt = index_in<T>(static_cast<decltype(Stmt::node)*>(nullptr));

std::string describe_type(const TypeRef& t) { return t ? type_name(t) : std::string("Int"); }

bool is_arith(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
  case BinaryOp::Sub:
  case BinaryOp::Mul:
  case BinaryOp::AddWrap:
  case BinaryOp::SubWrap:
  case BinaryOp::MulWrap:
  case BinaryOp::Div:
  case BinaryOp::Mod:
    return true;
  default:
    return false;
  }
}

// The event names of the language: "down.send", "up.deliver".
std::string event_name(Port port, EventKind event) {
  const char* e = event == EventKind::Send ? "send" : event == EventKind::Cast ? "cast" : "deliver";
  return fmt::format("{}.{}", port == Port::Down ? "down" : "up", e);
}

// ---------------------------------------------------------------------------- evaluation

Value eval(const Expr& e, Frame& f);
const Value& eval_ref(const Expr& e, Frame& f, Value& tmp);
void exec(const Stmts& body, Frame& f);

bool eval_bool(const Expr& e, Frame& f) {
  Value tmp;
  const Value& v = eval_ref(e, f, tmp);
  if (v.kind() != Value::Kind::Bool) fail(e.loc, "expected a Bool value here");
  return v.as_bool();
}

Int128 eval_int(const Expr& e, Frame& f) {
  Value tmp;
  const Value& v = eval_ref(e, f, tmp);
  if (v.kind() != Value::Kind::Int) fail(e.loc, "expected an integer value here");
  return v.as_int();
}

const Value& eval_msg(const Expr& e, Frame& f, Value& tmp) {
  const Value& v = eval_ref(e, f, tmp);
  if (v.kind() != Value::Kind::Msg) fail(e.loc, "expected a message here");
  return v;
}

// Checks that `v`, about to be stored where a value of type `target` belongs, fits it. `source`
// (the expression that computed `v`, if any) makes the message name the operation that
// overflowed: "overflow: 4294967295 + 1 leaves u32".
void check_store(const Value& v, const TypeRef& target, const Expr* source, SourceLoc loc,
                 Frame& f) {
  if (!target) return;
  if (is_integer(*target)) {
    if (v.kind() != Value::Kind::Int) return;
    const IntRange r = int_range(*target);
    if (v.as_int() >= r.lo && v.as_int() <= r.hi) return;
    if (source != nullptr) {
      if (const auto* b = std::get_if<Binary>(&source->node); b != nullptr && is_arith(b->op)) {
        static constexpr std::array<const char*, 20> kSymbols = {
            "", "", "",  "",  "",   "",   "",  "",   "",    "",
            "", "", "+", "-", "+%", "-%", "*", "*%", "div", "mod"};
        const Value l = eval(*b->lhs, f);
        const Value r2 = eval(*b->rhs, f);
        fail(source->loc, fmt::format("overflow: {} {} {} leaves {}", int_to_string(l.as_int()),
                                      kSymbols[static_cast<std::size_t>(b->op)],
                                      int_to_string(r2.as_int()), describe_type(target)));
      }
      loc = source->loc;
    }
    fail(loc, fmt::format("out of range: {} leaves {}", int_to_string(v.as_int()),
                          describe_type(target)));
  }
  if (source == nullptr || !source->type || same_type(source->type, target)) return;
  std::string error;
  if (!fits_type(v, *target, error))
    fail(source->loc,
         fmt::format("out of range: {} in a value stored as {}", error, describe_type(target)));
}

// The variable a Component-kind name's field access reads, in an invariant of a composite.
const Value& component_var(const Name& n, const FieldAccess& fa, const Expr& e, Frame& f) {
  if (f.components == nullptr || n.slot >= f.components->size())
    fail(e.loc, fmt::format("component '{}' is not available here", n.ident));
  const Instance& c = *(*f.components)[n.slot];
  if (fa.index >= c.vars.size())
    fail(e.loc, fmt::format("component '{}' has no variable '{}'", n.ident, fa.field));
  return c.vars[fa.index];
}

const Value& index_into(const Value& c, const Value& k, const Expr& e, Frame& f) {
  switch (c.kind()) {
  case Value::Kind::Seq: {
    const Int128 i = k.as_int();
    if (k.kind() != Value::Kind::Int || i < 0 || i >= static_cast<Int128>(c.items().size()))
      fail(e.loc, fmt::format("index {} out of range of a sequence of length {}", to_string(k),
                              c.items().size()));
    return c.items()[static_cast<std::size_t>(i)];
  }
  case Value::Kind::Map: {
    if (const Value* v = c.map_find(k)) return *v;
    if (!e.type) fail(e.loc, "map element of unknown type");
    return f.caches->default_of(*e.type);
  }
  default:
    fail(e.loc, "only sequences and maps can be indexed");
  }
}

// A reference to the value of `e`: into the state for a variable (or a part of one), else to
// `tmp`, which receives the value.
const Value& eval_ref(const Expr& e, Frame& f, Value& tmp) {
  switch (e.node.index()) {
  case kExpr<Name>: {
    const Name& n = std::get<Name>(e.node);
    switch (n.kind) {
    case NameKind::State:
      return f.vars[n.slot];
    case NameKind::Param:
      return f.params[n.slot];
    case NameKind::Local:
      return f.locals[n.slot];
    case NameKind::Builtin:
      if (n.slot == 4) return f.lamport;
      if (n.slot == 2 && f.layer != nullptr) return f.layer->peers;
      break;
    default:
      break;
    }
    break;
  }
  case kExpr<FieldAccess>: {
    const FieldAccess& fa = std::get<FieldAccess>(e.node);
    if (const auto* n = std::get_if<Name>(&fa.record->node); n && n->kind == NameKind::Component)
      return component_var(*n, fa, e, f);
    const Value& r = eval_ref(*fa.record, f, tmp);
    if (r.kind() != Value::Kind::Record || fa.index >= r.items().size())
      fail(e.loc, fmt::format("no field '{}' here", fa.field));
    return r.items()[fa.index];
  }
  case kExpr<IndexAccess>: {
    const IndexAccess& ia = std::get<IndexAccess>(e.node);
    Value ktmp;
    const Value& c = eval_ref(*ia.collection, f, tmp);
    const Value& k = eval_ref(*ia.index, f, ktmp);
    return index_into(c, k, e, f);
  }
  default:
    break;
  }
  tmp = eval(e, f);
  return tmp;
}

Value copy_of_ref(const Expr& e, Frame& f) {
  Value tmp;
  const Value& v = eval_ref(e, f, tmp);
  if (&v == &tmp) return tmp;
  return v;
}

const Type& header_type(const Expr& arg, const char* fn) {
  if (!arg.type || arg.type->kind != TypeKind::Record)
    fail(arg.loc, fmt::format("{}: the second argument must be a header", fn));
  return *arg.type;
}

bool contains(const Value& coll, const Value& x, const Expr& e) {
  switch (coll.kind()) {
  case Value::Kind::Set:
    return coll.set_contains(x);
  case Value::Kind::Seq:
    return std::find(coll.items().begin(), coll.items().end(), x) != coll.items().end();
  case Value::Kind::Map:
    return coll.map_find(x) != nullptr;
  default:
    fail(e.loc, "∈ needs a set, sequence or map on its right");
  }
}

// sha256(m): the 32 bytes of the SHA-256 digest of m's bytes.
Value sha256(std::span<const std::byte> bytes) {
  const Sha256 d = lamina::sha256(bytes);
  return Value::msg(std::as_bytes(std::span(d)));
}

const char* kind_text(Value::Kind k) {
  switch (k) {
  case Value::Kind::Bool:
    return "a Bool";
  case Value::Kind::Int:
    return "an integer";
  case Value::Kind::Enum:
    return "an enumerator";
  case Value::Kind::Record:
    return "a record";
  case Value::Kind::Seq:
    return "a sequence";
  case Value::Kind::Set:
    return "a set";
  case Value::Kind::Map:
    return "a map";
  case Value::Kind::Msg:
    return "a message";
  }
  return "?";
}

// Whether `v`, a value the host program made (an oracle's result), is a value of type `t` as
// the simulator keeps them: of the type's kind, records with one value per field, integers in
// range, enumerators among the type's, sets and map keys in ascending order without repeats,
// maps without entries at the default value. False and the reason if not; `at` says where in
// the value the fault is ("[2].to").
bool conforms(const Value& v, const TypeRef& t, const std::string& at, std::string& error) {
  if (!t || t->kind == TypeKind::Error) return true;
  const auto wrong = [&](std::string what) {
    error = at.empty() ? std::move(what) : fmt::format("{}: {}", at, what);
    return false;
  };
  Value::Kind want = Value::Kind::Int;
  switch (t->kind) {
  case TypeKind::Bool:
    want = Value::Kind::Bool;
    break;
  case TypeKind::Enum:
    want = Value::Kind::Enum;
    break;
  case TypeKind::Record:
    want = Value::Kind::Record;
    break;
  case TypeKind::Seq:
    want = Value::Kind::Seq;
    break;
  case TypeKind::Set:
    want = Value::Kind::Set;
    break;
  case TypeKind::Map:
    want = Value::Kind::Map;
    break;
  case TypeKind::Msg:
    want = Value::Kind::Msg;
    break;
  default:
    break;
  }
  if (v.kind() != want)
    return wrong(fmt::format("{} where {} belongs", kind_text(v.kind()), type_name(t)));
  switch (t->kind) {
  case TypeKind::Int:
  case TypeKind::Nat:
  case TypeKind::Fixed: {
    const IntRange r = int_range(*t);
    if (v.as_int() < r.lo || v.as_int() > r.hi)
      return wrong(fmt::format("{} leaves {}", int_to_string(v.as_int()), type_name(t)));
    return true;
  }
  case TypeKind::Enum:
    if (v.as_enum() >= t->enumerators.size())
      return wrong(fmt::format("enumerator #{} of {}, which has {}", v.as_enum(), type_name(t),
                               t->enumerators.size()));
    return true;
  case TypeKind::Record:
    if (v.items().size() != t->fields.size())
      return wrong(fmt::format("a record of {} fields where {} has {}", v.items().size(),
                               type_name(t), t->fields.size()));
    for (std::size_t i = 0; i < t->fields.size(); ++i)
      if (!conforms(v.items()[i], t->fields[i].second, at + "." + t->fields[i].first, error))
        return false;
    return true;
  case TypeKind::Seq:
  case TypeKind::Set:
    for (std::size_t i = 0; i < v.items().size(); ++i) {
      if (!conforms(v.items()[i], t->elem, fmt::format("{}[{}]", at, i), error)) return false;
      if (t->kind == TypeKind::Set && i > 0 && !(v.items()[i - 1] < v.items()[i]))
        return wrong("a set whose elements are not in ascending order without repeats "
                     "(build it with Value::set)");
    }
    return true;
  case TypeKind::Map: {
    const Value dflt = t->value ? default_value(*t->value) : Value();
    for (std::size_t i = 0; i < v.map_size(); ++i) {
      const std::string key = fmt::format("{}[{}]", at, to_string(v.map_key(i), *t->elem));
      if (!conforms(v.map_key(i), t->elem, key, error) ||
          !conforms(v.map_value(i), t->value, key, error))
        return false;
      if (i > 0 && !(v.map_key(i - 1) < v.map_key(i)))
        return wrong("a map whose keys are not in ascending order without repeats (build it "
                     "with Value::map_set)");
      if (v.map_value(i) == dflt)
        return wrong(fmt::format("a map that stores the default value at {} (build it with "
                                 "Value::map_set)",
                                 key));
    }
    return true;
  }
  default:
    return true;
  }
}

// A call of an oracle: its arguments, checked against the declared types as parameters are,
// go to the host's implementation, whose result must be of the declared result type.
Value call_oracle(const Call& c, const Expr& e, Frame& f) {
  const OracleDecl& o = *c.oracle;
  const OracleFn* fn = find_oracle(o.name);
  if (fn == nullptr)
    fail(e.loc, fmt::format("oracle {} (declared at {}) has no implementation in this program",
                            o.name, o.declared_at));
  if (c.args.size() != o.params.size())
    fail(e.loc, fmt::format("oracle {} takes {} arguments", o.name, o.params.size()));
  std::vector<Value> args;
  args.reserve(c.args.size());
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    Value a = eval(*c.args[i], f);
    check_store(a, o.params[i].second.resolved, c.args[i].get(), c.args[i]->loc, f);
    args.push_back(std::move(a));
  }
  Value result;
  try {
    result = (*fn)(std::span<const Value>(args));
  } catch (const std::exception& x) {
    fail(e.loc, fmt::format("oracle {} failed: {}", o.name, x.what()));
  }
  std::string error;
  if (!conforms(result, o.result.resolved, "", error))
    fail(e.loc, fmt::format("oracle {} returned a value that is not a {}: {}", o.name,
                            describe_type(o.result.resolved), error));
  return result;
}

Value eval_call(const Call& c, const Expr& e, Frame& f) {
  if (c.oracle != nullptr) return call_oracle(c, e, f);
  const std::string& fn = c.callee;
  const auto arity = [&](std::size_t n) {
    if (c.args.size() != n)
      fail(e.loc, fmt::format("{} takes {} argument{}", fn, n, n == 1 ? "" : "s"));
  };
  Value t0;
  Value t1;
  switch (fn.empty() ? '\0' : fn[0]) {
  case 'c':
    if (fn == "crc32c") {
      arity(1);
      return Value::integer(lamina::crc32c(eval_msg(*c.args[0], f, t0).bytes()));
    }
    if (fn == "concat") {
      arity(2);
      const Value& a = eval_msg(*c.args[0], f, t0);
      const Value& b = eval_msg(*c.args[1], f, t1);
      std::vector<std::byte> out;
      out.reserve(a.bytes().size() + b.bytes().size());
      out.insert(out.end(), a.bytes().begin(), a.bytes().end());
      out.insert(out.end(), b.bytes().begin(), b.bytes().end());
      return Value::msg(std::move(out));
    }
    break;
  case 'e':
    if (fn == "empty") {
      arity(1);
      const Value& x = eval_ref(*c.args[0], f, t0);
      switch (x.kind()) {
      case Value::Kind::Seq:
      case Value::Kind::Set:
        return Value::boolean(x.items().empty());
      case Value::Kind::Map:
        return Value::boolean(x.map_size() == 0);
      case Value::Kind::Msg:
        return Value::boolean(x.bytes().empty());
      default:
        fail(e.loc, "empty() needs a sequence, set, map or message");
      }
    }
    break;
  case 'f':
    if (fn == "fits") {
      arity(2);
      const HeaderLayout& l = f.caches->layout(header_type(*c.args[1], "fits"), e.loc);
      return Value::boolean(eval_msg(*c.args[0], f, t0).bytes().size() >= l.size);
    }
    break;
  case 'h':
    if (fn == "head") {
      arity(1);
      const Value& s = eval_ref(*c.args[0], f, t0);
      if (s.kind() != Value::Kind::Seq) fail(e.loc, "head() needs a sequence");
      if (s.items().empty()) fail(e.loc, "head of an empty sequence");
      return s.items().front();
    }
    if (fn == "has") {
      arity(2);
      const Value& m = eval_ref(*c.args[0], f, t0);
      const Value& k = eval_ref(*c.args[1], f, t1);
      return Value::boolean(contains(m, k, e));
    }
    break;
  case 'i':
    if (fn == "insert") {
      arity(2);
      Value s = eval(*c.args[0], f);
      if (s.kind() != Value::Kind::Set) fail(e.loc, "insert() needs a set");
      Value x = eval(*c.args[1], f);
      if (c.args[0]->type) check_store(x, c.args[0]->type->elem, c.args[1].get(), e.loc, f);
      s.set_insert(std::move(x));
      return s;
    }
    break;
  case 'k':
    if (fn == "keys") {
      arity(1);
      const Value& m = eval_ref(*c.args[0], f, t0);
      if (m.kind() == Value::Kind::Set) return Value::seq(m.items());
      if (m.kind() != Value::Kind::Map) fail(e.loc, "keys() needs a map");
      std::vector<Value> ks;
      ks.reserve(m.map_size());
      for (std::size_t i = 0; i < m.map_size(); ++i) ks.push_back(m.map_key(i));
      return Value::seq(std::move(ks));
    }
    break;
  case 'l':
    if (fn == "len") {
      arity(1);
      const Value& s = eval_ref(*c.args[0], f, t0);
      switch (s.kind()) {
      case Value::Kind::Seq:
      case Value::Kind::Set:
        return Value::integer(static_cast<Int128>(s.items().size()));
      case Value::Kind::Map:
        return Value::integer(static_cast<Int128>(s.map_size()));
      case Value::Kind::Msg:
        return Value::integer(static_cast<Int128>(s.bytes().size()));
      default:
        fail(e.loc, "len() needs a sequence");
      }
    }
    break;
  case 'm':
    if (fn == "min" || fn == "max") {
      arity(2);
      const Value& a = eval_ref(*c.args[0], f, t0);
      const Value& b = eval_ref(*c.args[1], f, t1);
      const bool a_first = fn == "min" ? !(b < a) : !(a < b);
      return a_first ? a : b;
    }
    break;
  case 'p':
    if (fn == "push") {
      arity(2);
      const HeaderLayout& l = f.caches->layout(header_type(*c.args[1], "push"), e.loc);
      const Value& h = eval_ref(*c.args[1], f, t1);
      const Value& m = eval_msg(*c.args[0], f, t0);
      std::vector<std::byte> out(l.size + m.bytes().size());
      encode_header(h, l, std::span<std::byte>(out.data(), l.size));
      if (!m.bytes().empty()) std::memcpy(out.data() + l.size, m.bytes().data(), m.bytes().size());
      return Value::msg(std::move(out));
    }
    if (fn == "pop") {
      arity(2);
      const Type& ht = header_type(*c.args[1], "pop");
      const HeaderLayout& l = f.caches->layout(ht, e.loc);
      const Value& m = eval_msg(*c.args[0], f, t0);
      if (m.bytes().size() < l.size)
        fail(e.loc, fmt::format("pop: the message has {} bytes, fewer than the {} of header {}",
                                m.bytes().size(), l.size, ht.name));
      return Value::msg(m.bytes().subspan(l.size));
    }
    break;
  case 'r':
    if (fn == "range") {
      arity(1);
      const Int128 n = eval_int(*c.args[0], f);
      if (n > (1 << 24))
        fail(e.loc, fmt::format("range({}) is too long for the simulator", int_to_string(n)));
      std::vector<Value> out;
      for (Int128 i = 0; i < n; ++i) out.push_back(Value::integer(i));
      return Value::seq(std::move(out));
    }
    if (fn == "remove") {
      arity(2);
      Value m = eval(*c.args[0], f);
      const Value& k = eval_ref(*c.args[1], f, t1);
      if (m.kind() == Value::Kind::Map)
        m.map_erase(k);
      else if (m.kind() == Value::Kind::Set)
        m.set_erase(k);
      else
        fail(e.loc, "remove() needs a map or a set");
      return m;
    }
    break;
  case 's':
    if (fn == "sha256") {
      arity(1);
      return sha256(eval_msg(*c.args[0], f, t0).bytes());
    }
    if (fn == "size") {
      arity(1);
      return Value::integer(static_cast<Int128>(eval_msg(*c.args[0], f, t0).bytes().size()));
    }
    if (fn == "slice") {
      arity(3);
      const Value& m = eval_msg(*c.args[0], f, t0);
      const Int128 from = eval_int(*c.args[1], f);
      const Int128 count = eval_int(*c.args[2], f);
      const auto size = static_cast<Int128>(m.bytes().size());
      if (from < 0 || count < 0 || from > size || count > size - from)
        fail(e.loc, fmt::format("slice({}, {}) of a {}-byte message", int_to_string(from),
                                int_to_string(count), m.bytes().size()));
      return Value::msg(
          m.bytes().subspan(static_cast<std::size_t>(from), static_cast<std::size_t>(count)));
    }
    break;
  case 't':
    if (fn == "tail") {
      arity(1);
      Value s = eval(*c.args[0], f);
      if (s.kind() != Value::Kind::Seq) fail(e.loc, "tail() needs a sequence");
      if (s.items().empty()) fail(e.loc, "tail of an empty sequence");
      s.items().erase(s.items().begin());
      return s;
    }
    if (fn == "top") {
      arity(2);
      const Type& ht = header_type(*c.args[1], "top");
      const HeaderLayout& l = f.caches->layout(ht, e.loc);
      const Value& m = eval_msg(*c.args[0], f, t0);
      if (m.bytes().size() < l.size)
        fail(e.loc, fmt::format("top: the message has {} bytes, fewer than the {} of header {}",
                                m.bytes().size(), l.size, ht.name));
      return decode_header(m.bytes(), l);
    }
    break;
  default:
    break;
  }
  fail(e.loc, fmt::format("unknown built-in function '{}'", fn));
}

Value eval_binary(const Binary& b, const Expr& e, Frame& f) {
  switch (b.op) {
  case BinaryOp::And:
    return Value::boolean(eval_bool(*b.lhs, f) && eval_bool(*b.rhs, f));
  case BinaryOp::Or:
    return Value::boolean(eval_bool(*b.lhs, f) || eval_bool(*b.rhs, f));
  case BinaryOp::Implies:
    return Value::boolean(!eval_bool(*b.lhs, f) || eval_bool(*b.rhs, f));
  case BinaryOp::Eq:
  case BinaryOp::Ne: {
    Value t0;
    Value t1;
    const bool eq = eval_ref(*b.lhs, f, t0) == eval_ref(*b.rhs, f, t1);
    return Value::boolean(b.op == BinaryOp::Eq ? eq : !eq);
  }
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge: {
    Value t0;
    Value t1;
    const auto c = eval_ref(*b.lhs, f, t0) <=> eval_ref(*b.rhs, f, t1);
    switch (b.op) {
    case BinaryOp::Lt:
      return Value::boolean(c < 0);
    case BinaryOp::Le:
      return Value::boolean(c <= 0);
    case BinaryOp::Gt:
      return Value::boolean(c > 0);
    default:
      return Value::boolean(c >= 0);
    }
  }
  case BinaryOp::In:
  case BinaryOp::NotIn: {
    Value t0;
    Value t1;
    const Value& x = eval_ref(*b.lhs, f, t0);
    const bool in = contains(eval_ref(*b.rhs, f, t1), x, e);
    return Value::boolean(b.op == BinaryOp::In ? in : !in);
  }
  case BinaryOp::Append: {
    Value s = eval(*b.lhs, f);
    if (s.kind() != Value::Kind::Seq) fail(e.loc, "⊢ needs a sequence on its left");
    Value x = eval(*b.rhs, f);
    if (e.type) check_store(x, e.type->elem, b.rhs.get(), b.rhs->loc, f);
    s.items().push_back(std::move(x));
    return s;
  }
  default: {
    const Int128 l = eval_int(*b.lhs, f);
    const Int128 r = eval_int(*b.rhs, f);
    // Exact arithmetic (README, "Types"); the wrapping forms wrap in their fixed-width type.
    const Type* wrap = nullptr;
    if (b.op == BinaryOp::AddWrap || b.op == BinaryOp::SubWrap || b.op == BinaryOp::MulWrap) {
      for (const Expr* x : std::array<const Expr*, 3>{&e, b.lhs.get(), b.rhs.get()})
        if (x->type && x->type->kind == TypeKind::Fixed) {
          wrap = x->type.get();
          break;
        }
    }
    Int128 out = 0;
    std::string error;
    if (!arith(b.op, l, r, wrap, out, error)) fail(e.loc, std::move(error));
    return Value::integer(out);
  }
  }
}

Value eval_name(const Name& n, const Expr& e, Frame& f) {
  switch (n.kind) {
  case NameKind::State:
  case NameKind::Param:
  case NameKind::Local:
    return copy_of_ref(e, f);
  case NameKind::Enumerator:
    return Value::enumerator(n.slot);
  case NameKind::Builtin:
    if (n.slot == 3) return Value::integer(f.now);
    if (n.slot == 4) return f.lamport;
    if (f.layer == nullptr) fail(e.loc, fmt::format("'{}' is defined only in a layer", n.ident));
    return n.slot == 0 ? f.layer->me : n.slot == 1 ? f.layer->group_size : f.layer->peers;
  case NameKind::Component:
    fail(e.loc, fmt::format("component '{}' has no value; name one of its variables, as in {}.x",
                            n.ident, n.ident));
  default:
    fail(e.loc, fmt::format("'{}' was not resolved by the checker", n.ident));
  }
}

Value eval(const Expr& e, Frame& f) {
  switch (e.node.index()) {
  case kExpr<IntLit>: {
    const auto v = std::get<IntLit>(e.node).value;
    if (v > (~static_cast<unsigned __int128>(0) >> 1))
      fail(e.loc, "integer literal too large for the simulator's 128-bit integers");
    return Value::integer(static_cast<Int128>(v));
  }
  case kExpr<BoolLit>:
    return Value::boolean(std::get<BoolLit>(e.node).value);
  case kExpr<CollectionLit>: {
    const CollectionLit& c = std::get<CollectionLit>(e.node);
    const TypeKind k = e.type ? e.type->kind : TypeKind::Seq;
    if (k == TypeKind::Map || k == TypeKind::Msg) {
      if (!c.elems.empty()) fail(e.loc, "only {} can be written for an empty map or message");
      return k == TypeKind::Map ? Value::empty_map() : Value::msg(std::vector<std::byte>{});
    }
    std::vector<Value> elems;
    elems.reserve(c.elems.size());
    for (const ExprPtr& x : c.elems) {
      elems.push_back(eval(*x, f));
      if (e.type) check_store(elems.back(), e.type->elem, x.get(), x->loc, f);
    }
    return k == TypeKind::Set ? Value::set(std::move(elems)) : Value::seq(std::move(elems));
  }
  case kExpr<Name>:
    return eval_name(std::get<Name>(e.node), e, f);
  case kExpr<Unary>: {
    const Unary& u = std::get<Unary>(e.node);
    if (u.op == UnaryOp::Not) return Value::boolean(!eval_bool(*u.operand, f));
    Int128 out = 0;
    std::string error;
    if (!negate(eval_int(*u.operand, f), nullptr, out, error)) fail(e.loc, std::move(error));
    return Value::integer(out);
  }
  case kExpr<Binary>:
    return eval_binary(std::get<Binary>(e.node), e, f);
  case kExpr<Call>:
    return eval_call(std::get<Call>(e.node), e, f);
  case kExpr<FieldAccess>:
  case kExpr<IndexAccess>:
    return copy_of_ref(e, f);
  case kExpr<RecordLit>: {
    const RecordLit& r = std::get<RecordLit>(e.node);
    if (!e.type || e.type->kind != TypeKind::Record) fail(e.loc, "record of unknown type");
    const Type& t = *e.type;
    std::vector<Value> fields;
    fields.reserve(t.fields.size());
    for (const auto& [name, type] : t.fields) fields.push_back(f.caches->default_of(*type));
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      const auto& [name, value] = r.fields[i];
      std::size_t at = i;
      if (at >= t.fields.size() || t.fields[at].first != name) {
        at = 0;
        while (at < t.fields.size() && t.fields[at].first != name) ++at;
        if (at == t.fields.size())
          fail(value->loc, fmt::format("{} has no field '{}'", t.name, name));
      }
      fields[at] = eval(*value, f);
      check_store(fields[at], t.fields[at].second, value.get(), value->loc, f);
    }
    return Value::record(std::move(fields));
  }
  default:
    fail(e.loc, "expression the simulator does not know");
  }
}

// ---------------------------------------------------------------------------- statements

// One step of the path from a variable to the part of it that an assignment changes.
struct PathStep {
  bool field = false;
  std::uint32_t index = 0; // field
  Value key;               // sequence index or map key
  const Type* element = nullptr;
  SourceLoc loc;
};

void put(Value& cur, std::vector<PathStep>& path, std::size_t i, Value&& v, Frame& f) {
  if (i == path.size()) {
    cur = std::move(v);
    return;
  }
  PathStep& step = path[i];
  if (step.field) {
    if (cur.kind() != Value::Kind::Record || step.index >= cur.items().size())
      fail(step.loc, "assignment to a field of something that is not a record");
    put(cur.items()[step.index], path, i + 1, std::move(v), f);
    return;
  }
  if (cur.kind() == Value::Kind::Seq) {
    const Int128 at = step.key.as_int();
    if (at < 0 || at >= static_cast<Int128>(cur.items().size()))
      fail(step.loc, fmt::format("index {} out of range of a sequence of length {}",
                                 to_string(step.key), cur.items().size()));
    put(cur.items()[static_cast<std::size_t>(at)], path, i + 1, std::move(v), f);
    return;
  }
  if (cur.kind() != Value::Kind::Map || step.element == nullptr)
    fail(step.loc, "only sequences and maps can be indexed");
  const Value& dflt = f.caches->default_of(*step.element);
  Value& slot = cur.map_slot(step.key, dflt);
  try {
    put(slot, path, i + 1, std::move(v), f);
  } catch (...) {
    cur.map_settle(step.key, dflt); // keep the map canonical on the way out
    throw;
  }
  cur.map_settle(step.key, dflt);
}

// target := v, with the indices along the way evaluated before anything changes.
void store(const Expr& target, Value v, Frame& f) {
  std::vector<PathStep> path;
  const Expr* cur = &target;
  for (;;) {
    if (const auto* fa = std::get_if<FieldAccess>(&cur->node)) {
      path.push_back({true, fa->index, {}, nullptr, cur->loc});
      cur = fa->record.get();
    } else if (const auto* ia = std::get_if<IndexAccess>(&cur->node)) {
      Value key = eval(*ia->index, f);
      const TypeRef& ct = ia->collection->type;
      if (ct && ct->kind == TypeKind::Map) check_store(key, ct->elem, ia->index.get(), cur->loc, f);
      path.push_back({false, 0, std::move(key), cur->type.get(), cur->loc});
      cur = ia->collection.get();
    } else {
      break;
    }
  }
  std::reverse(path.begin(), path.end());
  const auto* n = std::get_if<Name>(&cur->node);
  if (n == nullptr) fail(cur->loc, "cannot assign to this expression");
  Value* root = nullptr;
  switch (n->kind) {
  case NameKind::State:
    root = &f.vars[n->slot];
    break;
  case NameKind::Param:
    root = &f.params[n->slot];
    break;
  case NameKind::Local:
    root = &f.locals[n->slot];
    break;
  case NameKind::Builtin:
    if (n->slot == 4) root = &f.lamport;
    break;
  default:
    break;
  }
  if (root == nullptr) fail(cur->loc, fmt::format("cannot assign to '{}'", n->ident));
  put(*root, path, 0, std::move(v), f);
}

void exec_stmt(const Stmt& s, Frame& f) {
  switch (s.node.index()) {
  case kStmt<Assign>: {
    const Assign& a = std::get<Assign>(s.node);
    Value v = eval(*a.value, f);
    check_store(v, a.target->type, a.value.get(), s.loc, f);
    store(*a.target, std::move(v), f);
    return;
  }
  case kStmt<If>: {
    const If& i = std::get<If>(s.node);
    for (const auto& [cond, body] : i.branches)
      if (eval_bool(*cond, f)) {
        exec(body, f);
        return;
      }
    exec(i.otherwise, f);
    return;
  }
  case kStmt<Let>: {
    const Let& l = std::get<Let>(s.node);
    f.locals[l.slot] = eval(*l.value, f);
    return;
  }
  case kStmt<For>: { // over a snapshot of the range, which the body may change
    const For& fo = std::get<For>(s.node);
    const Value range = eval(*fo.range, f);
    if (range.kind() == Value::Kind::Map) {
      for (std::size_t i = 0; i < range.map_size(); ++i) {
        f.locals[fo.slot] = range.map_key(i);
        exec(fo.body, f);
      }
      return;
    }
    if (range.kind() != Value::Kind::Seq && range.kind() != Value::Kind::Set)
      fail(fo.range->loc, "for needs a sequence, set or map to go through");
    for (const Value& x : range.items()) {
      f.locals[fo.slot] = x;
      exec(fo.body, f);
    }
    return;
  }
  case kStmt<Emit>: {
    const Emit& em = std::get<Emit>(s.node);
    if (f.sink == nullptr) fail(s.loc, "emit is for layers");
    std::size_t next = 0;
    PeerId peer = kAllPeers;
    if (em.event != EventKind::Cast) {
      if (em.args.size() != 2) fail(s.loc, "emit send/deliver takes a peer and a message");
      const Int128 p = eval_int(*em.args[0], f);
      if (p < 0 || p > 0xFFFFFFFF)
        fail(em.args[0]->loc, fmt::format("out of range: peer {} leaves Peer", int_to_string(p)));
      peer = static_cast<PeerId>(p);
      next = 1;
    } else if (em.args.size() != 1) {
      fail(s.loc, "emit cast takes a message");
    }
    Value m = eval(*em.args[next], f);
    if (m.kind() != Value::Kind::Msg) fail(em.args[next]->loc, "expected a message here");
    Int128 lamport = f.lamport.as_int();
    if (em.lamport) {
      lamport = eval_int(*em.lamport, f);
      if (lamport < 0 || lamport > static_cast<Int128>(UINT64_MAX))
        fail(em.lamport->loc,
             fmt::format("out of range: lamport {} leaves u64", int_to_string(lamport)));
    }
    f.sink->emit(s, em.port, em.event, peer, std::move(m), static_cast<std::uint64_t>(lamport),
                 f.now);
    return;
  }
  case kStmt<SetTimer>: {
    const SetTimer& st = std::get<SetTimer>(s.node);
    if (f.sink == nullptr) fail(s.loc, "set_timer is for layers");
    const Int128 d = eval_int(*st.delay, f);
    if (d < 0 || d > INT64_MAX - f.now)
      fail(st.delay->loc, fmt::format("set_timer({}): a delay must be from 0 to the end of Time",
                                      int_to_string(d)));
    f.sink->set_timer(static_cast<std::int64_t>(d), f.now);
    return;
  }
  default: // Skip
    return;
  }
}

void exec(const Stmts& body, Frame& f) {
  for (const auto& s : body) exec_stmt(*s, f);
}

// Runs the effect of `t` with `params`, its own let/for slots, and the rest of `base`.
void run_effect(const Transition& t, Value* params, const Frame& base) {
  std::array<Value, 8> small;
  std::vector<Value> big;
  Frame f = base;
  f.params = params;
  if (t.locals <= small.size()) {
    f.locals = small.data();
  } else {
    big.resize(t.locals);
    f.locals = big.data();
  }
  exec(t.eff, f);
}

// The first conjunct of `e` (split at top-level ∧) that is false, or nullptr if `e` holds.
const Expr* false_conjunct(const Expr& e, Frame& f) {
  if (const auto* b = std::get_if<Binary>(&e.node); b && b->op == BinaryOp::And) {
    if (const Expr* l = false_conjunct(*b->lhs, f)) return l;
    return false_conjunct(*b->rhs, f);
  }
  return eval_bool(e, f) ? nullptr : &e;
}

// Evaluates parameter or argument `expr` in `f` for a variable of type `type`; SimError if it
// fails or does not fit.
Value eval_setup(const Expr& expr, const TypeRef& type, Frame& f) {
  try {
    Value v = eval(expr, f);
    check_store(v, type, &expr, expr.loc, f);
    return v;
  } catch (const EvalError& e) {
    throw SimError(e.loc, e.message);
  }
}

// Sets the parameters of an automaton, layer or stack (`owner`, declared at `where`) in `f.vars`:
// the values given, each checked against its parameter's type, and the declared defaults for
// the rest, in order (a default may read the parameters before it). SimError if a parameter
// has neither.
void set_params(const std::vector<Param>& params, const std::vector<std::optional<Value>>& given,
                std::string_view owner, SourceLoc where, Frame& f) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    const std::optional<Value> none;
    const std::optional<Value>& value = i < given.size() ? given[i] : none;
    if (value) {
      std::string error;
      if (p.type.resolved && !fits_type(*value, *p.type.resolved, error))
        throw SimError(p.loc, fmt::format("parameter '{}' of {}: {}", p.name, owner, error));
      f.vars[i] = *value;
    } else if (p.default_value) {
      f.vars[i] = eval_setup(*p.default_value, p.type.resolved, f);
    } else {
      throw SimError(where, fmt::format("{} needs a value for its parameter '{}'", owner, p.name));
    }
  }
}

Failure make_failure(Failure::Kind kind, SourceLoc loc, std::string message) {
  Failure fl;
  fl.kind = kind;
  fl.loc = loc;
  fl.message = std::move(message);
  return fl;
}

// The uniform integer in [0, n), n > 0, from one draw (Lemire's multiply-shift; the standard
// distributions differ between library implementations, and runs must repeat everywhere).
std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

// Keeps the latest events a layer or stack handled, for failure reports.
class RecentEvents {
public:
  static constexpr std::size_t kKept = 32;
  void add(std::string_view what, PeerId peer, std::span<const std::byte> msg,
           std::uint64_t lamport, std::int64_t now) {
    Entry& e = ring_[count_ % kKept];
    e.what = what;
    e.peer = peer;
    e.size = msg.size();
    e.shown = std::min<std::size_t>(msg.size(), e.head.size());
    std::copy_n(msg.begin(), e.shown, e.head.begin());
    e.lamport = lamport;
    e.now = now;
    ++count_;
  }
  void fill(Failure& fl) const {
    const std::size_t kept = std::min(count_, kKept);
    fl.trace_omitted = count_ - kept;
    for (std::size_t i = count_ - kept; i < count_; ++i) fl.trace.push_back(text(ring_[i % kKept]));
  }

private:
  struct Entry {
    std::string_view what; // a literal
    PeerId peer = 0;
    std::array<std::byte, 16> head{};
    std::size_t shown = 0;
    std::size_t size = 0;
    std::uint64_t lamport = 0;
    std::int64_t now = 0;
  };
  static std::string text(const Entry& e) {
    if (e.what == "timer" || e.what == "expire") return fmt::format("{} at {}ns", e.what, e.now);
    std::string m = fmt::format("msg[{}", e.size);
    if (e.size != 0) m += ':';
    append_hex(m, std::span(e.head).first(e.shown), e.shown);
    if (e.size > e.shown) m += " ...";
    m += ']';
    const std::string peer = e.peer == kAllPeers ? "" : fmt::format("{}, ", e.peer);
    return fmt::format("{}({}{}) lamport {} at {}ns", e.what, peer, m, e.lamport, e.now);
  }
  std::array<Entry, kKept> ring_{};
  std::size_t count_ = 0;
};

} // namespace

// ------------------------------------------------------------------------------- reports

std::string Failure::format(const Sources& sources) const {
  std::string out;
  if (loc.line != 0) {
    Diagnostics d(sources);
    d.error(loc, message);
    out = d.format();
  } else {
    out = fmt::format("error: {}\n", message);
  }
  if (!trace.empty()) {
    const std::size_t total = trace_omitted + trace.size();
    out += fmt::format("  after {} step{}:\n", total, total == 1 ? "" : "s");
    if (trace_omitted != 0) out += fmt::format("    ... ({} earlier)\n", trace_omitted);
    for (std::size_t i = 0; i < trace.size(); ++i)
      out += fmt::format("    {}. {}\n", trace_omitted + i + 1, trace[i]);
  }
  if (!state.empty()) {
    out += "  state:\n";
    for (const std::string& s : state) out += "    " + s + "\n";
  }
  return out;
}

std::string NamedValue::to_string() const {
  return name + " = " + (type ? spec::to_string(value, *type) : spec::to_string(value));
}

std::string Action::to_string() const {
  const char* k = kind == ActionKind::Input    ? "input"
                  : kind == ActionKind::Output ? "output"
                                               : "internal";
  std::string out = fmt::format("{} {}{}{}", k, component, component.empty() ? "" : ".", name);
  if (params.empty()) return out;
  out += '(';
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += ", ";
    out += i < types.size() && types[i] ? spec::to_string(params[i], *types[i])
                                        : spec::to_string(params[i]);
  }
  return out + ')';
}

std::string LayerOutput::to_string() const {
  if (kind == Kind::Timer) return fmt::format("set_timer({}ns)", delay.count());
  const std::string p = event == EventKind::Cast ? "" : fmt::format("{}, ", peer);
  return fmt::format("{}({}{}) lamport {}", event_name(port, event), p, msg_text(msg, 32), lamport);
}

// ------------------------------------------------------------------------------ automata

class AutomatonSim::Impl {
public:
  Impl(const Program& program, std::string_view name, std::vector<Value> params)
      : program_(program) {
    const Automaton* a = program.automaton(name);
    if (a == nullptr)
      throw SimError({}, fmt::format("no automaton named '{}' in the program", name));
    root_ = instantiate(*a, "", std::move(params), a->loc);
    collect(*root_);
    index_inputs();
    try {
      check_invariants();
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
    }
  }

  std::vector<Action> enabled() {
    std::vector<Action> out;
    if (failure_) return out;
    try {
      for (std::uint32_t li = 0; li < leaves_.size(); ++li) {
        const Instance& leaf = *leaves_[li];
        const auto& ts = leaf.def->transitions;
        for (std::uint32_t ti = 0; ti < ts.size(); ++ti)
          if (ts[ti].kind != ActionKind::Input) enabled_with(li, ti, out);
      }
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
      out.clear();
    }
    return out;
  }

  bool take(const Action& a) {
    if (failure_ || a.leaf >= leaves_.size()) return false;
    Instance& leaf = *leaves_[a.leaf];
    if (a.transition >= leaf.def->transitions.size()) return false;
    const Transition& t = leaf.def->transitions[a.transition];
    if (t.kind == ActionKind::Input || a.params.size() != t.params.size() || a.name != t.name)
      return false;
    std::vector<Value> params = a.params;
    try {
      for (std::size_t i = 0; i < params.size(); ++i) {
        const ParamBinding& b = t.bindings[i];
        if (b.source == ParamBinding::Source::Const && !(params[i] == leaf.vars[b.state_slot]))
          return false;
      }
      Frame f = frame_of(leaf);
      f.params = params.data();
      if (t.pre && !eval_bool(*t.pre, f)) return false;
      trace_.push_back(a);
      trace_.back().kind = t.kind;
      trace_.back().component = leaf.path;
      trace_.back().types = t.param_types;
      run_effect(t, params.data(), f);
      // The inputs of the other components that are this same action.
      for (std::uint32_t lj = 0; lj < leaves_.size(); ++lj) {
        if (lj == a.leaf) continue;
        if (const Transition* in = input_of(*leaves_[lj], t.name, a.params))
          run_input(*leaves_[lj], *in, a.params);
      }
      check_invariants();
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
    }
    return !failure_;
  }

  bool apply_input(std::string_view name, const std::vector<Value>& params) {
    if (failure_) return false;
    // An output of a component with these values is the automaton's own action.
    for (const Instance* leaf : leaves_)
      for (const Transition& t : leaf->def->transitions)
        if (t.kind == ActionKind::Output && t.name == name && consts_match(*leaf, t, params))
          return false;
    std::vector<std::pair<Instance*, const Transition*>> takers;
    for (Instance* leaf : leaves_)
      if (const Transition* in = input_of(*leaf, name, params)) {
        std::string error;
        for (std::size_t i = 0; i < params.size(); ++i)
          if (in->param_types[i] && !fits_type(params[i], *in->param_types[i], error)) return false;
        takers.emplace_back(leaf, in);
      }
    if (takers.empty()) return false;
    Action a;
    a.kind = ActionKind::Input;
    a.name = std::string(name);
    a.params = params;
    a.types = takers.front().second->param_types;
    trace_.push_back(std::move(a));
    try {
      for (auto& [leaf, in] : takers) run_input(*leaf, *in, params);
      check_invariants();
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
    }
    return !failure_;
  }

  std::vector<Action> environment_inputs() const {
    std::vector<Action> out;
    for (const auto& [li, ti] : open_inputs_) {
      const Instance& leaf = *leaves_[li];
      const Transition& t = leaf.def->transitions[ti];
      Action a;
      a.kind = ActionKind::Input;
      a.name = t.name;
      a.types = t.param_types;
      a.leaf = li;
      a.transition = ti;
      for (std::size_t i = 0; i < t.params.size(); ++i) {
        const ParamBinding& b = t.bindings[i];
        if (b.source == ParamBinding::Source::Const)
          a.params.push_back(leaf.vars[b.state_slot]);
        else
          a.params.push_back(t.param_types[i] ? default_value(*t.param_types[i]) : Value{});
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  std::optional<Action> random_step(std::mt19937_64& rng) {
    std::vector<Action> en = enabled();
    if (failure_) return std::nullopt;
    const bool env = !open_inputs_.empty();
    if (en.empty() && !env) return std::nullopt;
    const bool use_env =
        env &&
        (en.empty() || uniform(rng, std::max<std::uint32_t>(1, options_.environment_one_in)) == 0);
    if (!use_env) {
      Action a = std::move(en[uniform(rng, en.size())]);
      take(a);
      return a;
    }
    std::vector<Action> inputs = environment_inputs();
    Action a = std::move(inputs[uniform(rng, inputs.size())]);
    const Transition& t = leaves_[a.leaf]->def->transitions[a.transition];
    for (std::size_t i = 0; i < a.params.size(); ++i)
      if (t.bindings[i].source != ParamBinding::Source::Const && t.param_types[i])
        a.params[i] = random_value(*t.param_types[i], rng);
    if (!apply_input(a.name, a.params) && !failure_) return std::nullopt;
    return trace_.back();
  }

  std::size_t run_random(std::uint64_t seed, std::size_t max_steps) {
    std::mt19937_64 rng(seed);
    std::size_t steps = 0;
    while (steps < max_steps && !failure_) {
      if (!random_step(rng)) break;
      ++steps;
    }
    return steps;
  }

  void set_random_options(const RandomOptions& o) { options_ = o; }
  const std::vector<Action>& trace() const { return trace_; }
  const std::optional<Failure>& failure() const { return failure_; }

  std::vector<NamedValue> state() const {
    std::vector<NamedValue> out;
    add_state(*root_, out);
    return out;
  }

private:
  std::unique_ptr<Instance> instantiate(const Automaton& a, std::string path,
                                        std::vector<Value> args, SourceLoc where) {
    auto inst = std::make_unique<Instance>();
    inst->def = &a;
    inst->path = std::move(path);
    if (args.size() > a.params.size())
      throw SimError(where, fmt::format("{} takes {} parameter{}, not {}", a.name, a.params.size(),
                                        a.params.size() == 1 ? "" : "s", args.size()));
    inst->vars.resize(a.params.size() + a.states.size());
    Frame f;
    f.vars = inst->vars.data();
    f.caches = &caches_;
    set_params(a.params, std::vector<std::optional<Value>>(args.begin(), args.end()), a.name, where,
               f);
    if (a.composite) {
      for (const Component& c : a.components) {
        const Automaton* ca = program_.automaton(c.automaton);
        if (ca == nullptr)
          throw SimError(c.loc, fmt::format("no automaton named '{}'", c.automaton));
        std::vector<Value> cargs;
        for (std::size_t i = 0; i < c.args.size(); ++i)
          cargs.push_back(eval_setup(
              *c.args[i], i < ca->params.size() ? ca->params[i].type.resolved : TypeRef{}, f));
        inst->children.push_back(instantiate(
            *ca, inst->path.empty() ? c.name : inst->path + "." + c.name, std::move(cargs), c.loc));
      }
    } else {
      for (std::size_t j = 0; j < a.states.size(); ++j)
        inst->vars[a.params.size() + j] =
            eval_setup(*a.states[j].init, a.states[j].type.resolved, f);
    }
    inst->invariants = program_.invariants_of(a.name);
    return inst;
  }

  void collect(Instance& inst) {
    if (!inst.invariants.empty()) checked_.push_back(&inst);
    if (!inst.def->composite) {
      leaves_.push_back(&inst);
      return;
    }
    for (auto& c : inst.children) collect(*c);
  }

  // Which inputs are the environment's: those no output of another component could drive.
  void index_inputs() {
    for (std::uint32_t li = 0; li < leaves_.size(); ++li) {
      const auto& ts = leaves_[li]->def->transitions;
      for (std::uint32_t ti = 0; ti < ts.size(); ++ti)
        if (ts[ti].kind == ActionKind::Input && !driven(li, ts[ti]))
          open_inputs_.emplace_back(li, ti);
    }
  }

  bool driven(std::uint32_t li, const Transition& in) const {
    const Instance& a = *leaves_[li];
    for (std::uint32_t lj = 0; lj < leaves_.size(); ++lj) {
      if (lj == li) continue;
      const Instance& b = *leaves_[lj];
      for (const Transition& out : b.def->transitions) {
        if (out.kind != ActionKind::Output || out.name != in.name ||
            out.params.size() != in.params.size())
          continue;
        bool compatible = true;
        for (std::size_t i = 0; i < in.params.size() && compatible; ++i) {
          const ParamBinding& x = in.bindings[i];
          const ParamBinding& y = out.bindings[i];
          if (x.source == ParamBinding::Source::Const && y.source == ParamBinding::Source::Const)
            compatible = a.vars[x.state_slot] == b.vars[y.state_slot];
        }
        if (compatible) return true;
      }
    }
    return false;
  }

  Frame frame_of(Instance& inst) {
    Frame f;
    f.vars = inst.vars.data();
    f.components = &inst.children;
    f.caches = &caches_;
    return f;
  }

  static bool consts_match(const Instance& leaf, const Transition& t,
                           const std::vector<Value>& params) {
    if (t.params.size() != params.size()) return false;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const ParamBinding& b = t.bindings[i];
      if (b.source == ParamBinding::Source::Const && !(params[i] == leaf.vars[b.state_slot]))
        return false;
    }
    return true;
  }

  static const Transition* input_of(const Instance& leaf, std::string_view name,
                                    const std::vector<Value>& params) {
    for (const Transition& t : leaf.def->transitions)
      if (t.kind == ActionKind::Input && t.name == name && consts_match(leaf, t, params)) return &t;
    return nullptr;
  }

  void run_input(Instance& leaf, const Transition& in, std::vector<Value> params) {
    Frame f = frame_of(leaf);
    for (std::size_t i = 0; i < params.size(); ++i)
      check_store(params[i], in.param_types[i], nullptr,
                  i < in.param_locs.size() ? in.param_locs[i] : in.loc, f);
    run_effect(in, params.data(), f);
  }

  // Adds the action of transition `ti` of leaf `li` to `out` if it is enabled, with the
  // parameters its precondition binds.
  void enabled_with(std::uint32_t li, std::uint32_t ti, std::vector<Action>& out) {
    Instance& leaf = *leaves_[li];
    const Transition& t = leaf.def->transitions[ti];
    std::vector<Value> params(t.params.size());
    Frame f = frame_of(leaf);
    f.params = params.data();
    for (std::size_t i = 0; i < params.size(); ++i)
      if (t.param_types[i]) params[i] = caches_.default_of(*t.param_types[i]);
    std::optional<EvalError> unbound; // a binding that could not be evaluated
    for (std::size_t i = 0; i < params.size() && !unbound; ++i) {
      const ParamBinding& b = t.bindings[i];
      const TypeRef& type = t.param_types[i];
      if (b.source == ParamBinding::Source::Const) {
        params[i] = leaf.vars[b.state_slot];
      } else if (b.source == ParamBinding::Source::Equality && b.expr != nullptr) {
        try {
          params[i] = eval(*b.expr, f);
          check_store(params[i], type, b.expr, b.expr->loc, f);
        } catch (EvalError& e) {
          unbound = std::move(e);
        }
      }
    }
    // With a binding that failed (`x = head(buf)` with buf empty), the action is enabled only
    // if the precondition holds regardless, and then the binding's error stands.
    const bool holds = !t.pre || eval_bool(*t.pre, f);
    if (!holds) return;
    if (unbound) throw *unbound;
    Action a;
    a.kind = t.kind;
    a.component = leaf.path;
    a.name = t.name;
    a.params = std::move(params);
    a.types = t.param_types;
    a.leaf = li;
    a.transition = ti;
    out.push_back(std::move(a));
  }

  void check_invariants() {
    for (Instance* inst : checked_) {
      Frame f = frame_of(*inst);
      for (const Invariant* inv : inst->invariants) {
        if (const Expr* bad = false_conjunct(*inv->predicate, f)) {
          const std::string when = trace_.empty() ? std::string("in the initial state")
                                                  : fmt::format("after step {} ({})", trace_.size(),
                                                                trace_.back().to_string());
          const std::string owner =
              inst->path.empty() ? inv->of : fmt::format("{} (component {})", inv->of, inst->path);
          record(make_failure(Failure::Kind::InvariantViolated, bad->loc,
                              fmt::format("invariant of {} violated {}", owner, when)));
          return;
        }
      }
    }
  }

  void record(Failure fl) {
    constexpr std::size_t kShown = 200;
    const std::size_t first = trace_.size() > kShown ? trace_.size() - kShown : 0;
    fl.trace_omitted = first;
    for (std::size_t i = first; i < trace_.size(); ++i) fl.trace.push_back(trace_[i].to_string());
    for (const NamedValue& v : state()) fl.state.push_back(v.to_string());
    failure_ = std::move(fl);
  }

  static void add_state(const Instance& inst, std::vector<NamedValue>& out) {
    const Automaton& a = *inst.def;
    const std::string prefix = inst.path.empty() ? "" : inst.path + ".";
    for (std::size_t i = 0; i < a.params.size(); ++i)
      out.push_back({prefix + a.params[i].name, inst.vars[i], a.params[i].type.resolved});
    for (std::size_t j = 0; j < a.states.size(); ++j)
      out.push_back(
          {prefix + a.states[j].name, inst.vars[a.params.size() + j], a.states[j].type.resolved});
    for (const auto& c : inst.children) add_state(*c, out);
  }

  Value random_value(const Type& t, std::mt19937_64& rng) {
    const auto len = [&] { return uniform(rng, options_.max_len + 1ull); };
    switch (t.kind) {
    case TypeKind::Bool:
      return Value::boolean((rng() & 1) != 0);
    case TypeKind::Int:
    case TypeKind::Nat:
    case TypeKind::Fixed: {
      const IntRange r = int_range(t);
      Int128 lo = std::max<Int128>(options_.int_lo, r.lo);
      Int128 hi = std::min<Int128>(options_.int_hi, r.hi);
      if (lo > hi) lo = hi = std::clamp<Int128>(0, r.lo, r.hi);
      return Value::integer(
          lo + static_cast<Int128>(uniform(rng, static_cast<std::uint64_t>(hi - lo) + 1)));
    }
    case TypeKind::Enum:
      return Value::enumerator(
          static_cast<std::uint32_t>(uniform(rng, std::max<std::size_t>(1, t.enumerators.size()))));
    case TypeKind::Record: {
      std::vector<Value> fields;
      for (const auto& [name, ft] : t.fields) fields.push_back(random_value(*ft, rng));
      return Value::record(std::move(fields));
    }
    case TypeKind::Seq:
    case TypeKind::Set: {
      std::vector<Value> elems;
      for (auto n = len(); n > 0; --n) elems.push_back(random_value(*t.elem, rng));
      return t.kind == TypeKind::Seq ? Value::seq(std::move(elems)) : Value::set(std::move(elems));
    }
    case TypeKind::Map: {
      Value m = Value::empty_map();
      const Value& dflt = caches_.default_of(*t.value);
      for (auto n = len(); n > 0; --n)
        m.map_set(random_value(*t.elem, rng), random_value(*t.value, rng), dflt);
      return m;
    }
    case TypeKind::Msg: {
      std::vector<std::byte> bytes(len());
      for (std::byte& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
      return Value::msg(std::move(bytes));
    }
    default:
      return Value{};
    }
  }

  const Program& program_;
  Caches caches_;
  std::unique_ptr<Instance> root_;
  std::vector<Instance*> leaves_;  // primitive components, in declaration order
  std::vector<Instance*> checked_; // instances with invariants
  std::vector<std::pair<std::uint32_t, std::uint32_t>> open_inputs_; // (leaf, transition)
  std::vector<Action> trace_;
  std::optional<Failure> failure_;
  RandomOptions options_;
};

AutomatonSim::AutomatonSim(const Program& program, std::string_view name, std::vector<Value> params)
    : impl_(std::make_unique<Impl>(program, name, std::move(params))) {}
AutomatonSim::AutomatonSim(AutomatonSim&&) noexcept = default;
AutomatonSim& AutomatonSim::operator=(AutomatonSim&&) noexcept = default;
AutomatonSim::~AutomatonSim() = default;
std::vector<Action> AutomatonSim::enabled() { return impl_->enabled(); }
bool AutomatonSim::take(const Action& action) { return impl_->take(action); }
bool AutomatonSim::apply_input(std::string_view name, const std::vector<Value>& params) {
  return impl_->apply_input(name, params);
}
std::vector<Action> AutomatonSim::environment_inputs() const { return impl_->environment_inputs(); }
std::optional<Action> AutomatonSim::random_step(std::mt19937_64& rng) {
  return impl_->random_step(rng);
}
std::size_t AutomatonSim::run_random(std::uint64_t seed, std::size_t max_steps) {
  return impl_->run_random(seed, max_steps);
}
void AutomatonSim::set_random_options(const RandomOptions& options) {
  impl_->set_random_options(options);
}
const std::vector<Action>& AutomatonSim::trace() const { return impl_->trace(); }
std::vector<NamedValue> AutomatonSim::state() const { return impl_->state(); }
const std::optional<Failure>& AutomatonSim::failure() const { return impl_->failure(); }

// -------------------------------------------------------------------------------- layers

namespace {

// The inputs of a layer.
enum class LayerInput : std::uint8_t { DownSend, DownCast, UpDeliver, Timer };

constexpr std::string_view input_name(LayerInput in) {
  switch (in) {
  case LayerInput::DownSend:
    return "down.send";
  case LayerInput::DownCast:
    return "down.cast";
  case LayerInput::UpDeliver:
    return "up.deliver";
  default:
    return "timer";
  }
}

// Layer parameter values by position; nullopt: the declared default.
using ParamValues = std::vector<std::optional<Value>>;

// Finds the positions of named arguments among a layer's (or stack's) parameters.
ParamValues by_position(const std::vector<Param>& params, const LayerArgs& args,
                        std::string_view owner) {
  ParamValues out(params.size());
  for (const auto& [name, value] : args) {
    std::size_t i = 0;
    while (i < params.size() && params[i].name != name) ++i;
    if (i == params.size()) {
      std::string known;
      for (const Param& p : params) known += (known.empty() ? "" : ", ") + p.name;
      throw SimError({}, fmt::format("{} has no parameter '{}'{}", owner, name,
                                     known.empty() ? "" : "; its parameters are " + known));
    }
    out[i] = value;
  }
  return out;
}

// One instance of a layer: its variables and how it handles each input.
class LayerInstance {
public:
  LayerInstance(const Program& program, const Layer& def, const ParamValues& args, PeerId me,
                std::uint32_t group_size, Caches& caches)
      : def_(&def), caches_(&caches) {
    env_.me = Value::integer(me);
    env_.group_size = Value::integer(group_size);
    std::vector<Value> peers;
    for (std::uint32_t p = 0; p < group_size; ++p) peers.push_back(Value::integer(p));
    env_.peers = Value::seq(std::move(peers));

    vars_.resize(def.params.size() + def.states.size());
    Frame f = frame(nullptr, 0, 0);
    set_params(def.params, args, def.name, def.loc, f);
    for (std::size_t j = 0; j < def.states.size(); ++j)
      vars_[def.params.size() + j] =
          eval_setup(*def.states[j].init, def.states[j].type.resolved, f);

    for (const Transition& t : def.transitions) {
      if (!t.port) {
        handlers_[static_cast<std::size_t>(LayerInput::Timer)] = &t;
      } else if (t.event) {
        const auto in = input_of(*t.port, *t.event);
        if (in) handlers_[static_cast<std::size_t>(*in)] = &t;
      }
    }
    for (const Ccp& c : def.ccps)
      if (const auto in = input_of(c.port, c.event)) ccps_[static_cast<std::size_t>(*in)] = &c;
    invariants_ = program.invariants_of(def.name);
  }

  static std::optional<LayerInput> input_of(Port port, EventKind event) {
    if (port == Port::Down && event == EventKind::Send) return LayerInput::DownSend;
    if (port == Port::Down && event == EventKind::Cast) return LayerInput::DownCast;
    if (port == Port::Up && event == EventKind::Deliver) return LayerInput::UpDeliver;
    return std::nullopt;
  }

  // Handles one input; `origin` is where it came from, for the error if the layer has no
  // transition for it. Throws EvalError.
  void handle(LayerInput in, PeerId peer, Value msg, std::uint64_t lamport, std::int64_t now,
              Sink& sink, SourceLoc origin) {
    const Transition* t = handlers_[static_cast<std::size_t>(in)];
    if (t == nullptr) {
      if (in == LayerInput::Timer) return;
      fail(origin, fmt::format("layer {} has no transition for {}", def_->name, input_name(in)));
    }
    std::array<Value, 2> params;
    fill_params(*t, in, peer, std::move(msg), params);
    Frame f = frame(&sink, now, lamport);
    run_effect(*t, params.data(), f);
  }

  CcpResult ccp(LayerInput in, PeerId peer, std::span<const std::byte> msg) const {
    CcpResult r;
    const Ccp* c = ccps_[static_cast<std::size_t>(in)];
    if (c == nullptr) return r;
    r.declared = true;
    std::array<Value, 2> params;
    const Transition* t = handlers_[static_cast<std::size_t>(in)];
    if (t != nullptr) {
      fill_params(*t, in, peer, Value::msg(msg), params);
    } else if (in == LayerInput::DownCast) {
      params[0] = Value::msg(msg);
    } else {
      params[0] = Value::integer(peer);
      params[1] = Value::msg(msg);
    }
    // A CCP only reads; the frame's variables are writable only because frames are.
    auto* self = const_cast<LayerInstance*>(this);
    Frame f = self->frame(nullptr, 0, 0);
    f.params = params.data();
    try {
      r.holds = eval_bool(*c->predicate, f);
    } catch (const EvalError& e) {
      r.failure = make_failure(Failure::Kind::RuntimeError, e.loc, e.message);
    }
    return r;
  }

  // Throws EvalError for a run-time error; returns the false conjunct of a violated invariant.
  const Expr* violated_invariant() {
    if (invariants_.empty()) return nullptr;
    Frame f = frame(nullptr, 0, 0);
    for (const Invariant* inv : invariants_)
      if (const Expr* bad = false_conjunct(*inv->predicate, f)) return bad;
    return nullptr;
  }

  std::vector<NamedValue> state() const {
    std::vector<NamedValue> out;
    for (const VariableView& v : variables()) out.push_back({std::string(v.name), v.value, v.type});
    return out;
  }
  std::vector<VariableView> variables() const {
    std::vector<VariableView> out;
    out.reserve(vars_.size());
    for (std::size_t i = 0; i < def_->params.size(); ++i)
      out.push_back({def_->params[i].name, vars_[i], def_->params[i].type.resolved});
    for (std::size_t j = 0; j < def_->states.size(); ++j)
      out.push_back(
          {def_->states[j].name, vars_[def_->params.size() + j], def_->states[j].type.resolved});
    return out;
  }

  [[nodiscard]] const Layer& def() const { return *def_; }

private:
  static void fill_params(const Transition& t, LayerInput in, PeerId peer, Value msg,
                          std::array<Value, 2>& params) {
    if (in == LayerInput::Timer) return;
    if (t.params.size() >= 2) {
      params[0] = Value::integer(peer);
      params[1] = std::move(msg);
    } else {
      params[0] = std::move(msg);
    }
  }

  Frame frame(Sink* sink, std::int64_t now, std::uint64_t lamport) {
    Frame f;
    f.vars = vars_.data();
    f.layer = &env_;
    f.now = now;
    f.lamport = Value::integer(lamport);
    f.sink = sink;
    f.caches = caches_;
    return f;
  }

  const Layer* def_;
  Caches* caches_;
  LayerEnv env_;
  std::vector<Value> vars_;
  std::array<const Transition*, 4> handlers_{};
  std::array<const Ccp*, 3> ccps_{};
  std::vector<Invariant*> invariants_;
};

Failure invariant_failure(const Layer& layer, const Expr& bad) {
  return make_failure(Failure::Kind::InvariantViolated, bad.loc,
                      fmt::format("invariant of {} violated", layer.name));
}

} // namespace

class LayerSim::Impl final : private Sink {
public:
  Impl(const Program& program, std::string_view name, const LayerArgs& args, PeerId me,
       std::uint32_t group_size)
      : layer_(make(program, name, args, me, group_size, caches_)) {}

  std::vector<LayerOutput> input(LayerInput in, PeerId peer, std::span<const std::byte> msg,
                                 std::uint64_t lamport, Time now) {
    std::vector<LayerOutput> outs;
    if (failure_) return outs;
    recent_.add(input_name(in), peer, msg, lamport, now.count());
    out_ = &outs;
    try {
      layer_.handle(in, peer, Value::msg(msg), lamport, now.count(), *this, layer_.def().loc);
      if (const Expr* bad = layer_.violated_invariant())
        record(invariant_failure(layer_.def(), *bad));
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
    }
    out_ = nullptr;
    return outs;
  }

  CcpResult ccp(Port port, EventKind event, PeerId peer, std::span<const std::byte> msg) const {
    const auto in = LayerInstance::input_of(port, event);
    if (!in) return {};
    return layer_.ccp(*in, event == EventKind::Cast ? kAllPeers : peer, msg);
  }

  std::vector<NamedValue> state() const { return layer_.state(); }
  const std::optional<Failure>& failure() const { return failure_; }
  const std::string& name() const { return layer_.def().name; }

private:
  static LayerInstance make(const Program& program, std::string_view name, const LayerArgs& args,
                            PeerId me, std::uint32_t group_size, Caches& caches) {
    const Layer* l = program.layer(name);
    if (l == nullptr) throw SimError({}, fmt::format("no layer named '{}' in the program", name));
    return {program, *l, by_position(l->params, args, "layer " + l->name), me, group_size, caches};
  }

  void emit(const Stmt& /*at*/, Port port, EventKind event, PeerId peer, Value msg,
            std::uint64_t lamport, std::int64_t /*now*/) override {
    LayerOutput o;
    o.port = port;
    o.event = event;
    o.peer = peer;
    o.msg = std::move(msg.byte_vector());
    o.lamport = lamport;
    out_->push_back(std::move(o));
  }

  void set_timer(std::int64_t delay, std::int64_t /*now*/) override {
    LayerOutput o;
    o.kind = LayerOutput::Kind::Timer;
    o.delay = Duration(delay);
    out_->push_back(std::move(o));
  }

  void record(Failure fl) {
    recent_.fill(fl);
    for (const NamedValue& v : layer_.state()) fl.state.push_back(v.to_string());
    failure_ = std::move(fl);
  }

  Caches caches_;
  LayerInstance layer_;
  std::vector<LayerOutput>* out_ = nullptr;
  RecentEvents recent_;
  std::optional<Failure> failure_;
};

LayerSim::LayerSim(const Program& program, std::string_view name, const LayerArgs& args, PeerId me,
                   std::uint32_t group_size)
    : impl_(std::make_unique<Impl>(program, name, args, me, group_size)) {}
LayerSim::LayerSim(LayerSim&&) noexcept = default;
LayerSim& LayerSim::operator=(LayerSim&&) noexcept = default;
LayerSim::~LayerSim() = default;

std::vector<LayerOutput> LayerSim::down_send(PeerId to, std::span<const std::byte> msg,
                                             std::uint64_t lamport, Time now) {
  return impl_->input(LayerInput::DownSend, to, msg, lamport, now);
}
std::vector<LayerOutput> LayerSim::down_cast(std::span<const std::byte> msg, std::uint64_t lamport,
                                             Time now) {
  return impl_->input(LayerInput::DownCast, kAllPeers, msg, lamport, now);
}
std::vector<LayerOutput> LayerSim::up_deliver(PeerId from, std::span<const std::byte> msg,
                                              std::uint64_t lamport, Time now) {
  return impl_->input(LayerInput::UpDeliver, from, msg, lamport, now);
}
std::vector<LayerOutput> LayerSim::timer(Time now) {
  return impl_->input(LayerInput::Timer, 0, {}, 0, now);
}
CcpResult LayerSim::ccp(Port port, EventKind event, PeerId peer,
                        std::span<const std::byte> msg) const {
  return impl_->ccp(port, event, peer, msg);
}
std::vector<NamedValue> LayerSim::state() const { return impl_->state(); }
const std::optional<Failure>& LayerSim::failure() const { return impl_->failure(); }
const std::string& LayerSim::name() const { return impl_->name(); }

// -------------------------------------------------------------------------------- stacks

class StackSim::Impl {
public:
  Impl(const Program& program, std::string_view name, const LayerArgs& args) : program_(program) {
    const Stack* s = program.stack(name);
    if (s == nullptr) throw SimError({}, fmt::format("no stack named '{}' in the program", name));
    const ParamValues given = by_position(s->params, args, "stack " + s->name);
    std::vector<Value> vars(s->params.size());
    Frame f;
    f.vars = vars.data();
    f.caches = &caches_;
    set_params(s->params, given, "stack " + s->name, s->loc, f);
    for (const LayerRef& ref : s->layers) {
      const Layer* l = program.layer(ref.layer);
      if (l == nullptr) throw SimError(ref.loc, fmt::format("no layer named '{}'", ref.layer));
      ParamValues values(l->params.size());
      for (const auto& [pname, expr] : ref.args) {
        std::size_t i = 0;
        while (i < l->params.size() && l->params[i].name != pname) ++i;
        if (i == l->params.size())
          throw SimError(expr->loc, fmt::format("layer {} has no parameter '{}'", l->name, pname));
        values[i] = eval_setup(*expr, l->params[i].type.resolved, f);
      }
      specs_.emplace_back(l, std::move(values));
      names_.push_back(l->name);
    }
  }

  // A layer whose initial state fails to evaluate stops the stack before it starts.
  void attach(Host& host) {
    host_ = &host;
    layers_.clear();
    levels_.clear();
    try {
      for (std::uint32_t i = 0; i < specs_.size(); ++i) {
        layers_.emplace_back(program_, *specs_[i].first, specs_[i].second, host.me(),
                             host.group_size(), caches_);
        levels_.emplace_back(*this, i);
      }
    } catch (const SimError& e) {
      layers_.clear();
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.what()));
    }
  }

  void input(std::uint32_t at, LayerInput in, PeerId peer, Msg payload) {
    if (failure_ || host_ == nullptr || layers_.empty()) return;
    const std::int64_t now = host_->now().count();
    recent_.add(in == LayerInput::UpDeliver ? "receive"
                : in == LayerInput::Timer   ? "expire"
                                            : "send",
                peer, payload.bytes(), 0, now);
    try {
      if (in == LayerInput::Timer && at >= layers_.size()) return;
      layers_[at].handle(in, peer, Value::msg(payload.bytes()), 0, now, levels_[at],
                         layers_[at].def().loc);
      for (LayerInstance& l : layers_)
        if (const Expr* bad = l.violated_invariant()) {
          record(invariant_failure(l.def(), *bad));
          return;
        }
    } catch (const EvalError& e) {
      record(make_failure(Failure::Kind::RuntimeError, e.loc, e.message));
    }
  }

  [[nodiscard]] std::size_t depth() const { return specs_.size(); }
  [[nodiscard]] const std::string& layer_name(std::size_t i) const { return names_.at(i); }
  [[nodiscard]] std::vector<NamedValue> state(std::size_t i) const {
    return i < layers_.size() ? layers_[i].state() : std::vector<NamedValue>{};
  }
  [[nodiscard]] std::vector<VariableView> variables(std::size_t i) const {
    return i < layers_.size() ? layers_[i].variables() : std::vector<VariableView>{};
  }
  [[nodiscard]] const std::optional<Failure>& failure() const { return failure_; }

private:
  // The outputs of layer `index`, handed on at once: to the neighbour, or to the host.
  class Level final : public Sink {
  public:
    Level(Impl& s, std::uint32_t index) : s_(&s), index_(index) {}
    void emit(const Stmt& at, Port port, EventKind event, PeerId peer, Value msg,
              std::uint64_t lamport, std::int64_t now) override {
      s_->leave(index_, at, port, event, peer, std::move(msg), lamport, now);
    }
    void set_timer(std::int64_t delay, std::int64_t now) override {
      s_->host_->set_timer(Time(now + delay), index_);
    }

  private:
    Impl* s_;
    std::uint32_t index_;
  };

  void leave(std::uint32_t i, const Stmt& at, Port port, EventKind event, PeerId peer, Value msg,
             std::uint64_t lamport, std::int64_t now) {
    if (port == Port::Down) {
      if (event == EventKind::Deliver) fail(at.loc, "a layer emits deliver only up");
      if (i + 1 == layers_.size()) {
        host_->transmit(event == EventKind::Cast ? kAllPeers : peer, Msg::copy_of(msg.bytes()));
        return;
      }
      layers_[i + 1].handle(event == EventKind::Cast ? LayerInput::DownCast : LayerInput::DownSend,
                            peer, std::move(msg), lamport, now, levels_[i + 1], at.loc);
      return;
    }
    if (event != EventKind::Deliver) fail(at.loc, "a layer emits only deliver up");
    if (i == 0) {
      Event ev = Event::deliver(peer, Msg::copy_of(msg.bytes()));
      ev.time = Time(now);
      ev.lamport = lamport;
      host_->deliver(ev);
      return;
    }
    layers_[i - 1].handle(LayerInput::UpDeliver, peer, std::move(msg), lamport, now, levels_[i - 1],
                          at.loc);
  }

  void record(Failure fl) {
    recent_.fill(fl);
    for (std::size_t i = 0; i < layers_.size(); ++i)
      for (const NamedValue& v : layers_[i].state())
        fl.state.push_back(fmt::format("{}.{}", names_[i], v.to_string()));
    failure_ = std::move(fl);
  }

  const Program& program_;
  Caches caches_;
  std::vector<std::pair<const Layer*, ParamValues>> specs_; // top first
  std::vector<std::string> names_;
  std::vector<LayerInstance> layers_;
  std::vector<Level> levels_;
  Host* host_ = nullptr;
  RecentEvents recent_;
  std::optional<Failure> failure_;
};

StackSim::StackSim(const Program& program, std::string_view name, const LayerArgs& args)
    : impl_(std::make_unique<Impl>(program, name, args)) {}
StackSim::~StackSim() = default;
void StackSim::attach(Host& host) { impl_->attach(host); }
void StackSim::send(PeerId to, Msg payload) {
  impl_->input(0, to == kAllPeers ? LayerInput::DownCast : LayerInput::DownSend, to,
               std::move(payload));
}
void StackSim::receive(PeerId from, Msg packet) {
  impl_->input(static_cast<std::uint32_t>(impl_->depth() - 1), LayerInput::UpDeliver, from,
               std::move(packet));
}
void StackSim::expire(std::uint32_t timer) { impl_->input(timer, LayerInput::Timer, 0, Msg{}); }
std::size_t StackSim::depth() const { return impl_->depth(); }
const std::string& StackSim::layer_name(std::size_t layer) const {
  return impl_->layer_name(layer);
}
std::vector<NamedValue> StackSim::state(std::size_t layer) const { return impl_->state(layer); }
std::vector<VariableView> StackSim::variables(std::size_t layer) const {
  return impl_->variables(layer);
}
const std::optional<Failure>& StackSim::failure() const { return impl_->failure(); }

} // namespace lamina::spec
