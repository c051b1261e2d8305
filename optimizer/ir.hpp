// The optimiser's intermediate form of a layer's code: a tree of statements and expressions.
//
// The nodes the passes reason about have their own kinds: the layer's state, constants, the
// message's header operations, calls to neighbours, helpers and CCPs, and the control flow that
// folding removes. Every other piece of C++ is a Text node: its source text with holes ($0, $1,
// ...) for its children, so that a pass can rewrite what lies inside (a member reference deep in
// a loop) and print everything else exactly as the layer's author wrote it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "optimizer/integer.hpp"

namespace lamina::opt {

struct Node;
using NodeRef = std::shared_ptr<Node>;

enum class Kind : std::uint8_t {
  // Statements
  Block,    // { kids... }; `name`: the helper whose body it is, inlined, if any
  If,       // if (kids[0]) kids[1] else kids[2] (kids[2] may be null)
  Return,   // return kids[0]; (kids[0] may be null)
  ExprStmt, // kids[0];
  Decl,     // `text` is the type as written, `name`; kids[0] the initialiser (may be null);
            // `init_braced`: written `T x{...}` rather than `T x = ...`
  Push,     // ev.msg.push(Header{kids...}): one kid per header field, in field order
  // Expressions
  Constant,   // a compile-time value: `text` as printed, `value` when it is an integer
  Convert,    // kids[0] converted to the integer type `type`, by a cast written as `text` with a
              // hole $0 ("static_cast<std::uint16_t>($0)")
  Member,     // the layer's data member `name`
  Entry,      // a PeerTable member's entry: kids[0] the table (Member), kids[1] the key;
              // `text` is "[]" (may add the entry) or "get" (reads it)
  Local,      // a local variable or parameter `name` (the handler's event: name "ev")
  Field,      // kids[0].`name`: a data member of a local object (a header: `h.id`; the event:
              // `ev.peer`), kids[0] its Local
  Unary,      // `text` kids[0]: ! - ~
  Binary,     // kids[0] `text` kids[1]: arithmetic, comparison, && ||
  MsgSize,    // ev.msg.size(), `value` bytes past the layer's entry position (see Position);
              // without a `value` in the collapsed code: the size as the bypass holds the message
  MsgBytes,   // ev.msg.bytes(), likewise
  MsgData,    // ev.msg.writable_data(), likewise: the bytes, to write in place (impure: a shared
              // buffer is copied first)
  Subspan,    // kids[0].subspan(kids[1]): a message's bytes (kids[0] a MsgBytes or a Subspan)
              // from an offset on
  MsgRef,     // ev.msg used otherwise (the object of a call that reads or changes it)
  Pop,        // ev.msg.pop(name) or, with `peek`, ev.msg.peek(name): a bool
  DropHeader, // ev.msg.drop_front(value): the layer's own header, after a peek
  Neighbour,  // io.down(kids[0]) or io.up(kids[0]); `text` is "down" or "up"
  Ports,      // io.now(), io.me(), io.group_size(), io.set_timer(kids[0]); `text` the name
  Call,       // a call of the layer's own member function `name` (a helper or a CCP)
  Inlined,    // a helper's body put in place of its call: kids[0] a Block; `text` its result
              // type ("void" for none)
  Text,       // C++ text with holes $0..$n for kids; `pure`: reads only; `name`: "call" (a
              // function call), "loop", "switch" or none
};

struct Node {
  Kind kind = Kind::Text;
  std::string text;
  std::string name;
  std::string event = "ev"; // Msg*, Pop, DropHeader, Push: the event whose message it is
  std::optional<Wide> value;
  // The C++ type of an integer expression's value (not known: not an integer, or not read from
  // the AST). Binary: the type both operands are converted to (a shift: its left operand's
  // promoted type; && ||: bool), the result's too except for comparisons and && || (bool).
  // Unary: the promoted operand's (! : bool). Decl: the declared variable's.
  IntType type;
  std::optional<std::int64_t> position; // Pop, DropHeader: bytes past the layer's entry position
  std::vector<NodeRef> kids;
  bool pure = true;              // evaluating it changes nothing
  bool peek = false;             // Pop: a peek
  bool own_header = false;       // Pop: of the layer's own Header (not another struct of it)
  bool init_braced = false;      // Decl
  bool loose = false;            // Text: binds less tightly than a unary operator (`c ? a : b`,
                                 // `a == b` between objects): an operand, it is printed in ( )
  bool is_reference = false;     // Decl: binds a reference
  bool message_value = false;    // Text: a new lamina::Msg (share()): a view of its own, which
                                 // outlives the message it was made from
  bool membership = false;       // Text "call": kids[0].contains(kids[1]) of a standard
                                 // associative container (std::set, std::map, ...)
  bool tests_first = false;      // Text "loop": a while loop, whose condition (kids[0]) is tested
                                 // before its body first runs
  bool split_bytes = false;      // Text "call" of a free function of one argument that has an
                                 // overload taking lamina::SplitBytes
  std::vector<bool> unconverted; // Call: per argument, whether it has its parameter's type as is
                                 // (a class converted by a constructor has not)
  std::set<std::string> writes;  // members and locals an impure node may write ("*" = any)
  std::string where;             // file:line:col of the construct, for diagnostics
  std::string problem;           // why this construct is outside the dialect ("" if it is not)

  static NodeRef make(Kind k) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    return n;
  }
  [[nodiscard]] NodeRef copy() const { return std::make_shared<Node>(*this); }
  [[nodiscard]] NodeRef deep_copy() const;
};

// Helpers to build nodes.
NodeRef block(std::vector<NodeRef> stmts);
NodeRef constant(std::string text, std::optional<Wide> value, IntType type = {});
// The constant `v` of type `t`, printed with its type (literal()).
NodeRef integer(Wide v, IntType t);
NodeRef boolean(bool b);
NodeRef text(std::string t, std::vector<NodeRef> kids, bool pure);
// `object`.`name`: a data member of a local object.
NodeRef field(NodeRef object, std::string name);
NodeRef local(std::string name);

// Rebuilds `n` bottom-up: `f` sees each node (a copy) after its kids were rebuilt.
NodeRef transform(const NodeRef& n, const std::function<NodeRef(NodeRef)>& f);

// Whether `n` (recursively) contains a node of kind `k`.
bool contains(const NodeRef& n, Kind k);
// Whether `n` returns from the function it is in (a helper inlined as a lambda has its own).
bool has_return(const NodeRef& n);
// Whether `n` is a statement that cannot complete normally (a return, or a block ending in one).
bool ends_in_return(const NodeRef& n);

// How the printer names things outside a layer's own code.
struct PrintContext {
  std::string self; // expression for the layer object: "frag"; empty: members unqualified
  std::string indent_unit = "  ";
};

// What the generated code's lambdas that stand for inlined code carry between `()` and their body:
// clang would leave some of them out of line in a long bypass, each a call and its captures
// read through a pointer.
inline constexpr std::string_view kInlineLambda = "__attribute__((always_inline))";

// C++ text of an expression, or of a statement at `indent` levels.
std::string print_expr(const NodeRef& n, const PrintContext& ctx);
std::string print_stmt(const NodeRef& n, const PrintContext& ctx, int indent);

// A canonical key of a pure expression, for comparing two expressions: equal keys, equal values.
std::string key(const NodeRef& n);
// The type of an expression's value: bool for comparisons, && || and !; otherwise `type`.
IntType value_type(const NodeRef& n);
// A Binary or Unary node's operator in a key: with the type it computes in, by which it wraps
// or compares ("+:unsigned int", "<:long"); as written for && || and !.
std::string operator_key(const NodeRef& binary);

} // namespace lamina::opt
