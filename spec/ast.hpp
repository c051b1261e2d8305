// The syntax tree of the spec language (spec/README.md), shared by the parser, which builds
// it, the checker, which resolves its names and types in place, and the simulator, which runs
// it. Nodes own their children; every node knows where in the source it came from.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "spec/source.hpp"

namespace lamina::spec {

// ---------------------------------------------------------------------------------- types

struct Type;
using TypeRef = std::shared_ptr<const Type>;

enum class TypeKind : std::uint8_t {
  Error, // the type of an expression that failed to check; silences follow-on errors
  Bool,
  Int, // Int and Nat: mathematical integers (Nat: never negative)
  Nat,
  Fixed, // u8 .. u64, i8 .. i64 (and Peer = u32, Time = i64)
  Enum,
  Record, // records and headers
  Seq,
  Set,
  Map,
  Msg,
};

struct Type {
  TypeKind kind = TypeKind::Error;
  std::string name;                                    // Enum, Record: the declared name
  std::uint8_t bits = 0;                               // Fixed
  bool is_signed = false;                              // Fixed
  bool is_header = false;                              // Record declared with `header`
  std::vector<std::string> enumerators;                // Enum
  std::vector<std::pair<std::string, TypeRef>> fields; // Record, in declaration order
  TypeRef elem;                                        // Seq, Set; Map: the key
  TypeRef value;                                       // Map
};

// Types that are the same: structural for built-ins, Seq, Set, Map; by declaration (pointer)
// for Enum and Record.
bool same_type(const TypeRef& a, const TypeRef& b);
std::string type_name(const TypeRef& t);

// Type as written in the source, resolved by the checker into `resolved`.
struct TypeExpr {
  SourceLoc loc;
  std::string name;           // "u32", "Seq", "Map", a declared name, ...
  std::vector<TypeExpr> args; // Seq[T]: one; Map[K, V]: two
  TypeRef resolved;           // set by the checker
};

// ---------------------------------------------------------------------------- expressions

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class UnaryOp : std::uint8_t { Not, Neg };
enum class BinaryOp : std::uint8_t {
  Implies,
  Or,
  And,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  In,
  NotIn,
  Append, // ⊢
  Add,
  Sub,
  AddWrap,
  SubWrap,
  Mul,
  MulWrap,
  Div,
  Mod,
};

// The operator as the language writes it (Unicode where it has a Unicode spelling): "∧", "+%".
const char* symbol(BinaryOp op);

// What a name refers to, found by the checker.
enum class NameKind : std::uint8_t {
  Unresolved,
  State,      // a state variable (or a layer or automaton parameter)
  Param,      // an action parameter of the transition
  Local,      // a `let` or `for` variable
  Enumerator, // a value of an enumeration (slot: its index)
  Builtin,    // slot: 0 me, 1 group_size, 2 peers, 3 now, 4 lamport
  Component,  // in an invariant of a composite automaton: a component (slot: its index)
};

struct IntLit {
  unsigned __int128 value = 0;
  bool is_time = false; // a time literal (20ms, 5s, 100us, 7ns): `value` is in nanoseconds
};
struct BoolLit {
  bool value = false;
};
struct CollectionLit {
  std::vector<ExprPtr> elems;
}; // `{}` or `{a, b}`: Seq, Set or Map
struct Name {
  std::string ident;
  NameKind kind = NameKind::Unresolved;
  // Set by the checker. State: index into the instance's variables, which are its parameters
  // in order, then its state variables in order. Param: index into the transition's
  // parameters. Local: index among the transition's let/for variables.
  std::uint32_t slot = 0;
};
struct Unary {
  UnaryOp op;
  ExprPtr operand;
};
struct Binary {
  BinaryOp op;
  ExprPtr lhs, rhs;
};
struct OracleDecl;
struct Call {
  std::string callee;
  std::vector<ExprPtr> args;
  const OracleDecl* oracle = nullptr; // set by the checker when the callee is an oracle
}; // built-in functions and oracles
// record.field, or Component.variable in an invariant of a composite automaton; `index` is the
// field's position (or the component's variable slot), set by the checker.
struct FieldAccess {
  ExprPtr record;
  std::string field;
  std::uint32_t index = 0;
};
struct IndexAccess {
  ExprPtr collection;
  ExprPtr index;
}; // seq[i], map[k]
struct RecordLit { // H{seq = x}
  std::string type_name;
  std::vector<std::pair<std::string, ExprPtr>> fields;
};

struct Expr {
  SourceLoc loc;
  std::variant<IntLit, BoolLit, CollectionLit, Name, Unary, Binary, Call, FieldAccess, IndexAccess,
               RecordLit>
      node;
  TypeRef type; // set by the checker
};

// ----------------------------------------------------------------------------- statements

struct Stmt;
using Stmts = std::vector<std::unique_ptr<Stmt>>;

enum class Port : std::uint8_t { Down, Up };
enum class EventKind : std::uint8_t { Send, Cast, Deliver };

struct Assign {
  ExprPtr target;
  ExprPtr value;
}; // target: Name, FieldAccess or IndexAccess
struct If {
  std::vector<std::pair<ExprPtr, Stmts>> branches; // if / elseif, in order
  Stmts otherwise;                                 // else (may be empty)
};
struct Let {
  std::string name;
  ExprPtr value;
  std::uint32_t slot = 0;
};
struct For {
  std::string var;
  ExprPtr range;
  Stmts body;
  std::uint32_t slot = 0;
};
struct Emit {
  Port port;
  EventKind event;
  std::vector<ExprPtr> args; // send/deliver: (peer, msg); cast: (msg)
  ExprPtr lamport;           // optional `lamport = e`
};
struct SetTimer {
  ExprPtr delay;
};
struct Skip {};

struct Stmt {
  SourceLoc loc;
  std::variant<Assign, If, Let, For, Emit, SetTimer, Skip> node;
};

// --------------------------------------------------------------------------- declarations

enum class ActionKind : std::uint8_t { Input, Output, Internal };

struct Param { // of an automaton, layer or stack
  SourceLoc loc;
  std::string name;
  TypeExpr type;
  ExprPtr min, max;      // optional `in [min, max]`: the values a stack may give it
  ExprPtr default_value; // optional `:= e`
  std::string help;      // optional "text": what it means, for `lamina layers`
};

struct Formal { // of an action in a signature
  SourceLoc loc;
  std::string name;
  bool is_const = false; // `const x`: equal to the automaton parameter x
  TypeExpr type;         // when not const
};

struct ActionSig {
  SourceLoc loc;
  ActionKind kind;
  std::string name;
  std::vector<Formal> formals;
};

struct StateVar {
  SourceLoc loc;
  std::string name;
  TypeExpr type;
  ExprPtr init;
};

// How an action parameter of a transition gets its value, decided by the checker.
struct ParamBinding {
  enum class Source : std::uint8_t {
    Environment, // an input: the caller (or the simulator's environment) chooses it
    Const,       // `const x` in the signature: the automaton parameter x (state slot)
    Equality,    // an output or internal: the conjunct `x = e` of the precondition
  } source = Source::Environment;
  std::uint32_t state_slot = 0; // Const
  const Expr* expr = nullptr;   // Equality: `e`, evaluated before the rest of the precondition
};

struct Transition {
  SourceLoc loc;
  ActionKind kind;
  std::string name;                // automaton: the action; layer: "timer" or the event
  std::optional<Port> port;        // layer transitions other than timer
  std::optional<EventKind> event;  // layer transitions other than timer
  std::vector<std::string> params; // names bound to the action's parameters, in order
  std::vector<SourceLoc> param_locs;
  ExprPtr pre; // optional
  Stmts eff;
  // Set by the checker: the type and binding of each parameter, and the number of let/for slots.
  std::vector<TypeRef> param_types;
  std::vector<ParamBinding> bindings;
  std::uint32_t locals = 0;
};

struct Component {
  SourceLoc loc;
  std::string name;      // instance name, e.g. A
  std::string automaton; // e.g. Counter
  std::vector<ExprPtr> args;
};

struct Automaton {
  SourceLoc loc;
  std::string name;
  std::vector<Param> params;
  std::vector<ActionSig> signature; // primitive automata
  std::vector<StateVar> states;
  std::vector<Transition> transitions;
  std::vector<Component> components; // composite automata (then the three above are empty)
  bool composite = false;
};

struct Header {
  SourceLoc loc;
  std::string name;
  std::vector<std::pair<std::string, TypeExpr>> fields;
  TypeRef resolved; // a Record type with is_header, set by the checker
};

struct Ccp {
  SourceLoc loc;
  Port port;
  EventKind event;
  ExprPtr predicate;
};

struct Layer {
  SourceLoc loc;
  std::string name;
  std::vector<Param> params;
  std::string place; // `at top` or `at bottom`: where it must stand in a stack; "" anywhere
  SourceLoc place_loc;
  std::vector<std::string> provides; // guarantee names: fifo, reliable, integrity, lamport
  std::vector<std::string> needs;
  std::vector<Header> headers;
  std::vector<StateVar> states;
  std::vector<Transition> transitions;
  std::vector<Ccp> ccps;
};

struct LayerRef {
  SourceLoc loc;
  std::string layer;
  std::vector<std::pair<std::string, ExprPtr>> args;
  std::vector<SourceLoc> arg_locs;
};

struct Stack {
  SourceLoc loc;
  std::string name;
  std::vector<Param> params;
  std::vector<LayerRef> layers; // top first
};

struct TypeDecl {
  SourceLoc loc;
  std::string name;
  enum class Form : std::uint8_t { Enumeration, Record, Alias } form;
  std::vector<std::string> enumerators;
  std::vector<SourceLoc> enumerator_locs;
  std::vector<std::pair<std::string, TypeExpr>> fields;
  TypeExpr alias;
  TypeRef resolved; // set by the checker
};

struct Invariant {
  SourceLoc loc;
  std::string of; // empty: of the automaton or layer declared just before
  ExprPtr predicate;
};

struct Import {
  SourceLoc loc;
  std::string path; // as written, relative to the importing file
};

// `oracle F(x: T, ...): R`: a function the host program supplies (spec/oracle.hpp).
struct OracleDecl {
  SourceLoc loc;
  std::string name;
  std::vector<std::pair<std::string, TypeExpr>> params; // in order
  TypeExpr result;
  std::string declared_at; // "file:line", for the simulator's run-time errors
};

// A declaration at the top level of a file. A Header here is owned by no layer: every layer and
// automaton of the program may use it, and it is no part of any layer's headers (stack
// composition, header sizes and the C++ conformance check see only Layer::headers).
using Decl = std::variant<Import, TypeDecl, Automaton, Layer, Stack, Invariant, OracleDecl, Header>;

// One parsed file.
struct SpecFile {
  FileId file = 0;
  std::vector<Decl> decls;
};

} // namespace lamina::spec
