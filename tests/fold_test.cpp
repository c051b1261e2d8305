// lamina-opt's constant folding against Clang's own constant evaluation.
//
// A random expression over operands of random integer types is written twice in one translation
// unit: in a member function, over data members (the optimiser lowers it, gives the members
// constant values as it gives a stack's parameters, and folds), and as the initialiser of a
// variable, over the same values written as literals of those types, which Clang evaluates
// (Expr::EvaluateAsRValue, the reference). Where Clang finds a value, the folder must find the
// same; where C++ leaves the result undefined, the folder must leave the expression alone.
#include <clang/AST/ASTContext.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/Expr.h>
#include <clang/AST/StmtCXX.h>
#include <clang/Frontend/ASTUnit.h>
#include <clang/Tooling/Tooling.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "optimizer/clang_ast.hpp"
#include "optimizer/integer.hpp"
#include "optimizer/ir.hpp"
#include "optimizer/passes.hpp"

namespace lamina::opt {
namespace {

using Rank = IntType::Rank;

const std::vector<IntType>& all_types() {
  static const std::vector<IntType> types = {
      IntType::of(Rank::boolean, false),   IntType::of(Rank::character, true),
      IntType::of(Rank::character, false), IntType::of(Rank::short_, true),
      IntType::of(Rank::short_, false),    IntType::of(Rank::int_, true),
      IntType::of(Rank::int_, false),      IntType::of(Rank::long_, true),
      IntType::of(Rank::long_, false),     IntType::of(Rank::long_long, true),
      IntType::of(Rank::long_long, false)};
  return types;
}

// An expression tree: a leaf is operand `leaf` (of `operands`); otherwise an operator on kids.
struct Tree {
  std::string op; // "" (a leaf), a binary or unary operator, or "cast"
  IntType to;     // cast: the type converted to
  std::size_t leaf = 0;
  std::vector<Tree> kids;
};

struct Operand {
  IntType type;
  Wide value = 0;
};

struct Case {
  std::vector<Operand> operands;
  Tree tree;
};

// Values near the edges of a type, where arithmetic wraps or overflows, and any value.
rc::Gen<Wide> value_of_type(IntType t) {
  const Wide lo = t.min();
  const Wide hi = t.max();
  const auto clamp = [lo, hi](Wide v) { return v < lo ? lo : v > hi ? hi : v; };
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::element<int>(0, 1, 2, -1, -2, 31, 32, 63, 64),
                   [=](int v) { return clamp(v); }),
      rc::gen::map(rc::gen::element<int>(0, 1, 2), [=](int k) { return clamp(lo + k); }),
      rc::gen::map(rc::gen::element<int>(0, 1, 2), [=](int k) { return clamp(hi - k); }),
      rc::gen::map(rc::gen::arbitrary<std::uint64_t>(),
                   [=](std::uint64_t bits) { return convert(static_cast<Wide>(bits), t); }));
}

rc::Gen<Tree> tree(std::size_t operands, int depth) {
  auto leaf = rc::gen::map(rc::gen::inRange<std::size_t>(0, operands), [](std::size_t i) {
    Tree t;
    t.leaf = i;
    return t;
  });
  if (depth == 0) return leaf;
  const auto binary = rc::gen::apply(
      [](std::string op, Tree a, Tree b) {
        Tree t;
        t.op = std::move(op);
        t.kids = {std::move(a), std::move(b)};
        return t;
      },
      rc::gen::element<std::string>("+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^",
                                    "==", "!=", "<", "<=", ">", ">=", "&&", "||"),
      tree(operands, depth - 1), tree(operands, depth - 1));
  const auto unary = rc::gen::apply(
      [](std::string op, Tree a) {
        Tree t;
        t.op = std::move(op);
        t.kids = {std::move(a)};
        return t;
      },
      rc::gen::element<std::string>("-", "~", "!"), tree(operands, depth - 1));
  const auto cast = rc::gen::apply(
      [](IntType to, Tree a) {
        Tree t;
        t.op = "cast";
        t.to = to;
        t.kids = {std::move(a)};
        return t;
      },
      rc::gen::elementOf(all_types()), tree(operands, depth - 1));
  return rc::gen::weightedOneOf<Tree>({{2, leaf}, {4, binary}, {1, unary}, {1, cast}});
}

rc::Gen<Case> random_case() {
  return rc::gen::mapcat(rc::gen::inRange<std::size_t>(1, 5), [](std::size_t n) {
    const auto operand = rc::gen::mapcat(rc::gen::elementOf(all_types()), [](IntType t) {
      return rc::gen::map(value_of_type(t), [t](Wide v) { return Operand{t, v}; });
    });
    return rc::gen::apply(
        [](std::vector<Operand> ops, Tree t) { return Case{std::move(ops), std::move(t)}; },
        rc::gen::container<std::vector<Operand>>(n, operand), tree(n, 3));
  });
}

// The expression as C++, each leaf written by `leaf`.
std::string written(const Tree& t, const std::function<std::string(std::size_t)>& leaf) {
  if (t.op.empty()) return leaf(t.leaf);
  if (t.op == "cast")
    return fmt::format("static_cast<{}>({})", t.to.name(), written(t.kids[0], leaf));
  if (t.kids.size() == 1) return fmt::format("({}{})", t.op, written(t.kids[0], leaf));
  return fmt::format("({} {} {})", written(t.kids[0], leaf), t.op, written(t.kids[1], leaf));
}

struct Outcome {
  std::optional<Wide> reference; // Clang's value; none where it finds the result undefined
  std::optional<Wide> folded;    // the folder's value; none where it left the expression
  std::string code;
};

Outcome run(const Case& c) {
  Outcome out;
  std::string members;
  for (std::size_t i = 0; i < c.operands.size(); ++i)
    members += fmt::format("  {} m{};\n", c.operands[i].type.name(), i);
  const std::string over_members =
      written(c.tree, [](std::size_t i) { return fmt::format("m{}", i); });
  const std::string over_values = written(c.tree, [&](std::size_t i) {
    return fmt::format("static_cast<{}>({})", c.operands[i].type.name(),
                       literal(c.operands[i].value, c.operands[i].type));
  });
  out.code =
      fmt::format("struct S {{\n{}  auto f() const {{ return {}; }}\n}};\nauto reference = {};\n",
                  members, over_members, over_values);
  const std::unique_ptr<clang::ASTUnit> ast =
      clang::tooling::buildASTFromCodeWithArgs(out.code, {"-std=c++20", "-w"}, "fold_case.cpp");
  if (!ast || ast->getDiagnostics().hasErrorOccurred()) {
    ADD_FAILURE() << "does not compile:\n" << out.code;
    return out;
  }
  clang::ASTContext& ctx = ast->getASTContext();
  const clang::CXXRecordDecl* record = nullptr;
  const clang::VarDecl* reference = nullptr;
  for (const clang::Decl* d : ctx.getTranslationUnitDecl()->decls()) {
    if (const auto* r = llvm::dyn_cast<clang::CXXRecordDecl>(d); r && r->getName() == "S")
      record = r;
    if (const auto* v = llvm::dyn_cast<clang::VarDecl>(d); v && v->getName() == "reference")
      reference = v;
  }
  const clang::CXXMethodDecl* f = nullptr;
  for (const clang::CXXMethodDecl* m : record->methods())
    if (m->getDeclName().isIdentifier() && m->getName() == "f") f = m;
  const auto* ret =
      llvm::cast<clang::ReturnStmt>(*llvm::cast<clang::CompoundStmt>(f->getBody())->body_begin());

  // Clang folds more than C++ defines (`1 % 0 || true` is true to it, having skipped the
  // division it could not evaluate); it then says why in a note. A value with no note is C++'s.
  clang::Expr::EvalResult r;
  llvm::SmallVector<clang::PartialDiagnosticAt, 4> notes;
  r.Diag = &notes;
  if (reference->getInit()->EvaluateAsRValue(r, ctx) && !r.HasUndefinedBehavior && notes.empty() &&
      r.Val.isInt()) {
    const llvm::APSInt& v = r.Val.getInt();
    out.reference =
        v.isSigned() ? static_cast<Wide>(v.getSExtValue()) : static_cast<Wide>(v.getZExtValue());
  }

  std::map<std::string, NodeRef> values;
  for (std::size_t i = 0; i < c.operands.size(); ++i)
    values[fmt::format("m{}", i)] = integer(c.operands[i].value, c.operands[i].type);
  auto body = Node::make(Kind::Return);
  body->kids = {substitute_params(lower_expression(ctx, record, f, ret->getRetValue()), values)};
  const NodeRef result = fold(block({body}), FoldContext{})->kids.at(0)->kids.at(0);
  if (result->kind == Kind::Constant) out.folded = result->value;
  return out;
}

// A value, or "left as written".
std::string shown(const std::optional<Wide>& v) { return v ? decimal(*v) : "left as written"; }

RC_GTEST_PROP(Fold, AgreesWithClangsConstantEvaluation, ()) {
  const Case c = *random_case();
  const Outcome o = run(c);
  RC_LOG() << o.code;
  RC_ASSERT(shown(o.folded) == shown(o.reference));
  RC_TAG(o.reference ? "defined" : "undefined");
}

// The cases the issue names, one by one.
Outcome one(const std::vector<Operand>& operands, const Tree& t) { return run(Case{operands, t}); }

Tree leaf(std::size_t i) {
  Tree t;
  t.leaf = i;
  return t;
}
Tree op(std::string o, Tree a, Tree b) {
  Tree t;
  t.op = std::move(o);
  t.kids = {std::move(a), std::move(b)};
  return t;
}

TEST(Fold, UnsignedArithmeticWraps) {
  // A u32 window of 2^31 doubled is 0, not 2^32.
  const Outcome o =
      one({{IntType::of(Rank::int_, false), Wide(1) << 31}, {IntType::of(Rank::int_, false), 2}},
          op("*", leaf(0), leaf(1)));
  EXPECT_EQ(shown(o.folded), "0") << o.code;
}

TEST(Fold, SignedOperandsConvertToUnsigned) {
  // -1 < 2^31u compares 4294967295u with 2147483648u.
  const Outcome o =
      one({{IntType::of(Rank::int_, true), -1}, {IntType::of(Rank::int_, false), Wide(1) << 31}},
          op("<", leaf(0), leaf(1)));
  EXPECT_EQ(shown(o.folded), "0") << o.code;
}

TEST(Fold, NarrowOperandsArePromoted) {
  // 200 + 100 in unsigned char operands is 300 in int, not 44.
  const Outcome o =
      one({{IntType::of(Rank::character, false), 200}, {IntType::of(Rank::character, false), 100}},
          op("+", leaf(0), leaf(1)));
  EXPECT_EQ(shown(o.folded), "300") << o.code;
}

TEST(Fold, LeavesWhatIsUndefined) {
  const IntType i32 = IntType::of(Rank::int_, true);
  EXPECT_FALSE(one({{i32, 65536}, {i32, 65536}}, op("*", leaf(0), leaf(1))).folded);
  EXPECT_FALSE(one({{i32, 1}, {i32, 32}}, op("<<", leaf(0), leaf(1))).folded);
  EXPECT_FALSE(one({{i32, 1}, {i32, -1}}, op(">>", leaf(0), leaf(1))).folded);
  EXPECT_FALSE(one({{i32, 7}, {i32, 0}}, op("/", leaf(0), leaf(1))).folded);
  EXPECT_FALSE(one({{i32, i32.min()}, {i32, -1}}, op("%", leaf(0), leaf(1))).folded);
  // ... even where the undefined part would not matter to the value: it is still evaluated.
  EXPECT_FALSE(one({{i32, 65536}, {i32, 0}}, op("&&", op("*", leaf(0), leaf(0)), leaf(1))).folded);
  // ... but not where it is never evaluated.
  EXPECT_TRUE(one({{i32, 65536}, {i32, 0}}, op("&&", leaf(1), op("*", leaf(0), leaf(0)))).folded);
  // ... nor made defined by reassociating: (max + max) + -max overflows in its first sum.
  EXPECT_FALSE(
      one({{i32, i32.max()}, {i32, -i32.max()}}, op("+", op("+", leaf(0), leaf(0)), leaf(1)))
          .folded);
}

} // namespace
} // namespace lamina::opt
