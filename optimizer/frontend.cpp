#include "optimizer/frontend.hpp"

#include <algorithm>
#include <cctype>
#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/QualTypeNames.h>
#include <clang/AST/RecordLayout.h>
#include <clang/AST/StmtCXX.h>
#include <clang/Frontend/ASTUnit.h>
#include <fmt/format.h>

#include "optimizer/clang_ast.hpp"

namespace lamina::opt {

std::string Diagnostic::str() const {
  static constexpr const char* names[] = {"error", "warning", "note"};
  return fmt::format("{}: {}: {}", where, names[static_cast<int>(level)], message);
}

bool FrontendResult::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(),
                      [](const Diagnostic& d) { return d.level == Diagnostic::Level::error; });
}

namespace {

using namespace clang;

// The class a type names, through references and qualifiers.
const CXXRecordDecl* record_of(QualType t) { return t.getNonReferenceType()->getAsCXXRecordDecl(); }

// The runtime's classes that lowering recognises, found once per translation unit by lookup in
// namespace lamina and compared by declaration, never by name: a class of the same name
// elsewhere is not one of them.
class Runtime {
public:
  explicit Runtime(ASTContext& ctx)
      : event_(lamina_class(ctx, "Event")), ports_(lamina_class(ctx, "PortsArchetype")),
        split_bytes_(lamina_class(ctx, "SplitBytes")), msg_(lamina_class(ctx, "Msg")),
        no_header_(lamina_class(ctx, "NoHeader")) {
    for (const NamedDecl* d : namespace_lookup(ctx, {"lamina"}, "PeerTable"))
      if (const auto* t = dyn_cast<ClassTemplateDecl>(d)) peer_table_ = t->getCanonicalDecl();
    for (const char* name : {"set", "map", "multiset", "multimap", "unordered_set", "unordered_map",
                             "unordered_multiset", "unordered_multimap"})
      for (const NamedDecl* d : namespace_lookup(ctx, {"std"}, name))
        if (const auto* t = dyn_cast<ClassTemplateDecl>(d))
          associative_.push_back(t->getCanonicalDecl());
  }

  [[nodiscard]] bool event(QualType t) const { return same(record_of(t), event_); }
  [[nodiscard]] bool ports(QualType t) const { return same(record_of(t), ports_); }
  [[nodiscard]] bool msg(QualType t) const { return same(record_of(t), msg_); }
  [[nodiscard]] bool no_header(const CXXRecordDecl* r) const { return same(r, no_header_); }
  [[nodiscard]] bool peer_table(QualType t) const {
    return peer_table_ != nullptr && template_of(t) == peer_table_;
  }
  // Whether `t` is a standard associative container (std::set, std::map, their multi and
  // unordered kinds, and so lamina's RecyclingSet and RecyclingMap).
  [[nodiscard]] bool associative(QualType t) const {
    const ClassTemplateDecl* of = template_of(t);
    return of != nullptr &&
           std::find(associative_.begin(), associative_.end(), of) != associative_.end();
  }
  // Whether the free function `f` of one parameter has an overload that takes the same bytes in
  // two pieces (runtime/split_bytes.hpp).
  [[nodiscard]] bool split_overload(const FunctionDecl* f) const {
    if (f == nullptr || f->getNumParams() != 1) return false;
    for (const NamedDecl* d : f->getDeclContext()->getRedeclContext()->lookup(f->getDeclName()))
      if (const auto* g = dyn_cast<FunctionDecl>(d->getUnderlyingDecl());
          g != nullptr && g->getNumParams() == 1 &&
          same(record_of(g->getParamDecl(0)->getType()), split_bytes_))
        return true;
    return false;
  }

private:
  // The class template that `t` is a specialisation of, if it is one.
  static const ClassTemplateDecl* template_of(QualType t) {
    const auto* s = dyn_cast_or_null<ClassTemplateSpecializationDecl>(record_of(t));
    return s != nullptr ? s->getSpecializedTemplate()->getCanonicalDecl() : nullptr;
  }
  static bool same(const CXXRecordDecl* a, const CXXRecordDecl* b) {
    return a != nullptr && b != nullptr && a->getCanonicalDecl() == b->getCanonicalDecl();
  }

  const CXXRecordDecl* event_;
  const CXXRecordDecl* ports_;
  const CXXRecordDecl* split_bytes_;
  const CXXRecordDecl* msg_;
  const CXXRecordDecl* no_header_;
  const ClassTemplateDecl* peer_table_ = nullptr;
  std::vector<const ClassTemplateDecl*> associative_;
};

// The integer type of `t` as the folder models it (an enumeration: its underlying type).
IntType int_type(QualType t) {
  t = t.getNonReferenceType().getCanonicalType();
  if (const auto* e = t->getAs<EnumType>()) {
    if (e->getDecl()->getIntegerType().isNull()) return {};
    t = e->getDecl()->getIntegerType().getCanonicalType();
  }
  const auto* b = t->getAs<BuiltinType>();
  if (b == nullptr) return {};
  using R = IntType::Rank;
  switch (b->getKind()) {
  case BuiltinType::Bool:
    return IntType::of(R::boolean, false);
  case BuiltinType::Char_S:
  case BuiltinType::SChar:
    return IntType::of(R::character, true);
  case BuiltinType::Char_U:
  case BuiltinType::UChar:
    return IntType::of(R::character, false);
  case BuiltinType::Short:
  case BuiltinType::UShort:
    return IntType::of(R::short_, b->getKind() == BuiltinType::Short);
  case BuiltinType::Int:
  case BuiltinType::UInt:
    return IntType::of(R::int_, b->getKind() == BuiltinType::Int);
  case BuiltinType::Long:
  case BuiltinType::ULong:
    return IntType::of(R::long_, b->getKind() == BuiltinType::Long);
  case BuiltinType::LongLong:
  case BuiltinType::ULongLong:
    return IntType::of(R::long_long, b->getKind() == BuiltinType::LongLong);
  default:
    return {};
  }
}

// A value the compiler computed, if it has at most 64 bits.
std::optional<Wide> wide(const llvm::APSInt& v) {
  if (v.getBitWidth() > 64) return std::nullopt;
  return v.isSigned() ? static_cast<Wide>(v.getSExtValue()) : static_cast<Wide>(v.getZExtValue());
}

// Lowers one function's body (a handler, a helper or a CCP) of a layer to the IR.
class Lowerer {
public:
  Lowerer(ASTContext& ctx, const Source& src, const Runtime& runtime, const CXXRecordDecl* layer,
          const FunctionDecl* fn)
      : ctx_(ctx), src_(src), runtime_(runtime), layer_(layer) {
    for (const ParmVarDecl* p : fn->parameters()) {
      if (runtime_.event(p->getType())) events_.insert(p);
      if (runtime_.ports(p->getType())) ports_.insert(p);
    }
  }

  std::set<const CXXMethodDecl*> helpers_called;

  NodeRef stmt(const Stmt* s) {
    if (s == nullptr) return nullptr;
    if (const auto* c = dyn_cast<CompoundStmt>(s)) {
      std::vector<NodeRef> kids;
      for (const Stmt* k : c->body()) {
        // A switch's labels stand in its body's list, each before the statement it labels.
        while (isa<SwitchCase>(k)) {
          kids.push_back(label(cast<SwitchCase>(k)));
          k = cast<SwitchCase>(k)->getSubStmt();
        }
        if (!isa<NullStmt>(k)) kids.push_back(stmt(k));
      }
      return block(std::move(kids));
    }
    if (isa<BreakStmt, ContinueStmt>(s)) {
      auto n = text(isa<BreakStmt>(s) ? "break;" : "continue;", {}, true);
      n->name = isa<BreakStmt>(s) ? "break" : "continue";
      return n;
    }
    if (const auto* i = dyn_cast<IfStmt>(s); i && !i->getInit() && !i->getConditionVariable() &&
                                             !i->isConstexpr() && !i->isConsteval()) {
      auto n = Node::make(Kind::If);
      n->kids = {expr(i->getCond()), stmt(i->getThen()), stmt(i->getElse())};
      n->where = src_.where(i->getBeginLoc());
      return n;
    }
    if (const auto* r = dyn_cast<ReturnStmt>(s)) {
      auto n = Node::make(Kind::Return);
      n->kids = {r->getRetValue() ? expr(r->getRetValue()) : nullptr};
      return n;
    }
    // A structured binding's names are BindingDecls, which the lowering does not know as
    // locals: refused, not printed without them.
    if (const auto* d = dyn_cast<DeclStmt>(s);
        d && llvm::any_of(d->decls(), [](const Decl* x) { return isa<DecompositionDecl>(x); }))
      return problem(s, "it declares a structured binding");
    if (const auto* d = dyn_cast<DeclStmt>(s); d && d->isSingleDecl()) {
      if (const auto* v = dyn_cast<VarDecl>(d->getSingleDecl()))
        if (std::string why = unprintable(v); !why.empty()) return problem(s, std::move(why));
      if (NodeRef n = local_declaration(d)) return n;
    }
    if (const auto* e = dyn_cast<Expr>(s)) return expression_statement(e);
    if (isa<GotoStmt, IndirectGotoStmt, LabelStmt>(s)) return problem(s, "it uses goto");
    if (isa<AsmStmt>(s)) return problem(s, "it uses inline assembly");
    if (isa<CXXTryStmt>(s)) return problem(s, "it catches an exception");
    if (const auto* d = dyn_cast<DeclStmt>(s)) {
      for (const Decl* x : d->decls()) {
        if (const auto* t = dyn_cast<TypedefNameDecl>(x);
            t && type_names_the_layer(t->getTypeSourceInfo()))
          return problem(s, fmt::format("it declares the type `{}` with decltype or with a member "
                                        "of the layer, which lamina-opt prints as written",
                                        t->getNameAsString()));
        if (const auto* t = dyn_cast<TagDecl>(x); t && t->isThisDeclarationADefinition())
          return problem(s, fmt::format("it defines the type `{}` in a handler; define it in the "
                                        "layer's class",
                                        t->getNameAsString()));
      }
      for (const Decl* x : d->decls())
        if (const auto* v = dyn_cast<VarDecl>(x);
            v && v->isStaticLocal() && !v->isConstexpr() && !v->getType().isConstQualified())
          return problem(
              s, fmt::format("it keeps state in the static local `{}`", v->getNameAsString()));
    }
    // Loops, switches and the rest: as written, with their insides lowered.
    return generic(s, true);
  }

  // Why the declaration of `v` cannot be printed as local_declaration prints one (its type as
  // written, then its name, then `= init` or the braced init); empty if it can.
  [[nodiscard]] std::string unprintable(const VarDecl* v) const {
    const std::string name = v->getNameAsString();
    if (declarator_after_name(v))
      return fmt::format("it declares `{}` with a declarator that lamina-opt does not print (an "
                         "array, or a pointer to a function)",
                         name);
    if (type_names_the_layer(v))
      return fmt::format("it declares `{}` with a type written with decltype or with a member of "
                         "the layer, which lamina-opt prints as written",
                         name);
    if (const std::string t = private_type(v->getType()); !t.empty())
      return fmt::format(
          "it declares `{}` of the layer's type `{}`, which is not public: the fused "
          "stack cannot name it; make it public",
          name, t);
    if (initialised_in_parentheses(v))
      return fmt::format("it declares `{}` initialised in parentheses, which lamina-opt does not "
                         "print; write `= value` or `{{value}}`",
                         name);
    return {};
  }

  // The name of `type` (a reference's or a pointer's too) if it is a type of the layer's own that
  // is not public; empty if it is not.
  [[nodiscard]] std::string private_type(QualType type) const {
    type = type.getNonReferenceType();
    while (type->isPointerType()) type = type->getPointeeType();
    const TagDecl* t = type->getAsTagDecl();
    if (t == nullptr || t->getAccess() == AS_public || t->getAccess() == AS_none) return {};
    const auto* owner = dyn_cast<CXXRecordDecl>(t->getDeclContext());
    if (owner == nullptr || owner->getCanonicalDecl() != layer_->getCanonicalDecl()) return {};
    return t->getNameAsString();
  }

  // Whether `v`'s type is written partly after its name (`int a[2]`, `void (*f)(int)`): a
  // declaration that local_declaration's type-then-name form cannot print.
  [[nodiscard]] bool declarator_after_name(const VarDecl* v) const {
    const TypeSourceInfo* t = v->getTypeSourceInfo();
    return t != nullptr && src_.begin(SourceRange(t->getTypeLoc().getEndLoc())) >
                               src_.begin(SourceRange(v->getLocation()));
  }

  // Whether `v` is written `T v(args)`. Read from the source: in a template's instantiation, which
  // is what the front end lowers, clang records some of those as list-initialised.
  [[nodiscard]] bool initialised_in_parentheses(const VarDecl* v) const {
    if (!v->hasInit() || v->getInitStyle() == VarDecl::CInit) return false;
    const SourceRange name(v->getLocation());
    const llvm::StringRef after = src_.buffer(name).substr(src_.end(name)).ltrim();
    return after.starts_with("(");
  }

  // Whether `v`'s written type holds an expression that would name nothing where the declaration
  // is printed as written: a decltype (`decltype(sent)`), or a template argument naming a member
  // of the layer (`std::array<T, kSize>`).
  [[nodiscard]] static bool type_names_the_layer(const VarDecl* v) {
    return type_names_the_layer(v->getTypeSourceInfo());
  }
  static bool type_names_the_layer(const TypeSourceInfo* t) {
    return t != nullptr && type_names_the_layer(t->getTypeLoc());
  }
  static bool type_names_the_layer(TypeLoc type) {
    for (TypeLoc l = type; !l.isNull(); l = l.getNextTypeLoc()) {
      if (l.getAs<DecltypeTypeLoc>() || l.getAs<TypeOfExprTypeLoc>()) return true;
      if (const auto s = l.getAs<TemplateSpecializationTypeLoc>())
        for (unsigned i = 0; i < s.getNumArgs(); ++i) {
          const TemplateArgumentLoc& a = s.getArgLoc(i);
          if (a.getArgument().getKind() == TemplateArgument::Expression &&
              names_a_member(a.getSourceExpression()))
            return true;
          // A type argument, which may hold one: std::array<std::array<T, kSize>, 2>.
          if (a.getArgument().getKind() == TemplateArgument::Type &&
              type_names_the_layer(a.getTypeSourceInfo()))
            return true;
        }
    }
    return false;
  }
  // Whether `e` names a data member, or a static member without its class.
  static bool names_a_member(const Stmt* e) {
    if (e == nullptr) return false;
    if (isa<MemberExpr>(e)) return true;
    if (const auto* d = dyn_cast<DeclRefExpr>(e))
      if (const auto* v = dyn_cast<VarDecl>(d->getDecl());
          v && v->isStaticDataMember() && !d->hasQualifier())
        return true;
    return llvm::any_of(e->children(), [](const Stmt* k) { return names_a_member(k); });
  }

  // The declaration of one local variable (one that unprintable() passed); null for a static
  // local that is not a constant (it is state), and for one made by its default constructor
  // (`Msg m;`), which is printed as written.
  NodeRef local_declaration(const DeclStmt* d) {
    const auto* v = dyn_cast<VarDecl>(d->getSingleDecl());
    if (v == nullptr ||
        (v->isStaticLocal() && !v->isConstexpr() && !v->getType().isConstQualified()) ||
        v->getInitStyle() == VarDecl::CallInit)
      return nullptr;
    auto n = Node::make(Kind::Decl);
    const unsigned b = src_.begin(d->getSourceRange());
    const unsigned e = src_.begin(SourceRange(v->getLocation()));
    n->text = llvm::StringRef(src_.buffer(d->getSourceRange()).substr(b, e - b)).trim().str();
    n->name = v->getNameAsString();
    n->is_reference = v->getType()->isReferenceType();
    n->type = int_type(v->getType());
    n->init_braced = v->getInitStyle() == VarDecl::ListInit;
    n->kids = {v->getInit() ? expr(v->getInit()) : nullptr};
    n->where = src_.where(v->getLocation());
    return n;
  }

  NodeRef expression_statement(const Expr* e) {
    // `(void)ev.msg.drop_front(4)`: the message operation, whose value is ignored. Recognised
    // before anything is lowered, so that any other cast's operand is lowered once, below.
    if (const auto* cast = dyn_cast<ExplicitCastExpr>(e->IgnoreImplicit());
        cast && cast->getTypeAsWritten()->isVoidType())
      if (const auto* call = dyn_cast<CXXMemberCallExpr>(cast->getSubExpr()->IgnoreParenImpCasts());
          call && call->getMethodDecl() != nullptr && !src_.in_macro(call->getSourceRange()))
        if (NodeRef inner = message_call(call, call->getImplicitObjectArgument()->IgnoreImplicit(),
                                         call->getMethodDecl()->getNameAsString());
            inner && (inner->kind == Kind::DropHeader || inner->kind == Kind::Pop)) {
          inner->type = int_type(call->getType());
          auto n = Node::make(Kind::ExprStmt);
          n->kids = {inner};
          return n;
        }
    if (auto push = message_push(e)) return push;
    auto n = Node::make(Kind::ExprStmt);
    n->kids = {expr(e)};
    return n;
  }

  // An expression, with the integer type of its value (before the conversions that C++ applies
  // implicitly where it is used) where the node does not say otherwise.
  NodeRef expr(const Expr* e0) {
    NodeRef n = lower(e0);
    if (!n->type.known() && n->kind != Kind::Binary && n->kind != Kind::Unary)
      n->type = int_type(e0->IgnoreImplicit()->getType());
    return n;
  }

  NodeRef lower(const Expr* e0) {
    const Expr* e = e0->IgnoreImplicit();
    if (const auto* p = dyn_cast<ParenExpr>(e)) return expr(p->getSubExpr());
    // A macro's call stands only for a constant (`offsetof(T, f)`): what else one hides,
    // lamina-opt cannot see into. Code around such a call is lowered as written.
    if (src_.wholly_in_macro(e->getSourceRange())) {
      if (NodeRef n = known_value(e)) return n;
      NodeRef n = problem(e, "it uses a macro that is not a constant");
      n->where = src_.where_expanded(e->getBeginLoc()); // the macro's call, not its definition
      return n;
    }
    if (NodeRef n = known_value(e)) return n;
    if (const auto* r = dyn_cast<CXXRewrittenBinaryOperator>(e)) {
      // `a != b` that C++20 rewrote to `!(a == b)`: as written.
      const auto d = r->getDecomposedForm();
      NodeRef n = text(fmt::format("$0 {} $1", BinaryOperator::getOpcodeStr(d.Opcode).str()),
                       {expr(d.LHS), expr(d.RHS)}, true);
      n->loose = binds_loosely(r);
      return n;
    }
    if (NodeRef n = reference(e)) return n;
    if (isa<CXXThisExpr>(e)) return problem(e, "it uses `this` other than to reach its members");
    if (isa<CXXThrowExpr>(e)) return problem(e, "it throws an exception");
    if (const auto* c = dyn_cast<CXXMemberCallExpr>(e)) return member_call(c);
    if (const auto* op = dyn_cast<CXXOperatorCallExpr>(e)) return operator_call(op);
    if (const auto* c = dyn_cast<CallExpr>(e)) {
      if (const auto* m = dyn_cast_or_null<CXXMethodDecl>(c->getDirectCallee());
          m && m->isStatic() && m->getParent() == layer_)
        return helper_call(m, c->arguments(), e);
      NodeRef n = generic(e, free_call_is_pure(c));
      n->split_bytes = runtime_.split_overload(c->getDirectCallee());
      return n;
    }
    if (const auto* b = dyn_cast<BinaryOperator>(e)) return binary(b);
    if (const auto* u = dyn_cast<UnaryOperator>(e)) return unary(u);
    if (const auto* c = dyn_cast<ExplicitCastExpr>(e);
        c && int_type(c->getType()).known() &&
        int_type(c->getSubExprAsWritten()->getType()).known()) {
      // An integer converted to an integer type: its one child is the converted value.
      NodeRef n = generic(e, true);
      if (n->kids.size() == 1 && n->problem.empty()) {
        n->kind = Kind::Convert;
        n->type = int_type(c->getType());
        n->pure = n->kids[0]->pure;
        n->where = src_.where(c->getBeginLoc());
      }
      return n;
    }
    if (const auto* l = dyn_cast<LambdaExpr>(e)) {
      if (l->capture_size() != 0)
        return problem(e, "it passes a lambda that captures (its body is not inlined)");
      return text(src_.text(e->getSourceRange()), {}, true);
    }
    return generic(e, true);
  }

private:
  // A value the compiler knows: an integer, an enumerator, sizeof, a static constant. Null if
  // it is not one.
  NodeRef known_value(const Expr* e) {
    if (e->isValueDependent() || e->getType()->isRecordType() || e->HasSideEffects(ctx_) ||
        !e->getType()->isIntegralOrEnumerationType() || isa<CXXNullPtrLiteralExpr>(e))
      return nullptr;
    Expr::EvalResult r;
    // Not where C++ leaves it undefined: Clang's value would be one the program need not have.
    const auto v =
        e->EvaluateAsInt(r, ctx_) && !r.HasUndefinedBehavior ? wide(r.Val.getInt()) : std::nullopt;
    if (!v) return nullptr;
    const IntType type = int_type(e->getType());
    if (isa<IntegerLiteral, CXXBoolLiteralExpr>(e))
      return constant(src_.text(e->getSourceRange()), v, type);
    if (const auto* d = dyn_cast<DeclRefExpr>(e)) {
      if (const auto* var = dyn_cast<VarDecl>(d->getDecl()); var && var->isStaticDataMember())
        return constant(var->getQualifiedNameAsString(), v, type);
      if (const auto* ec = dyn_cast<EnumConstantDecl>(d->getDecl()))
        return constant(ec->getQualifiedNameAsString(), v, type);
      if (isa<VarDecl>(d->getDecl())) return constant(src_.text(e->getSourceRange()), v, type);
    }
    if (isa<UnaryExprOrTypeTraitExpr, OffsetOfExpr>(e)) return integer(*v, type);
    return nullptr;
  }

  // The layer's member, the event's message, a local or a global; null if `e` is none of them.
  NodeRef reference(const Expr* e) {
    if (const auto* m = dyn_cast<MemberExpr>(e)) {
      const Expr* base = m->getBase()->IgnoreImplicit();
      if (isa<CXXThisExpr>(base) && isa<FieldDecl>(m->getMemberDecl())) {
        auto n = Node::make(Kind::Member);
        n->name = m->getMemberDecl()->getNameAsString();
        return n;
      }
      if (has_name(m->getMemberDecl(), "msg") && is_event_ref(base)) {
        auto n = Node::make(Kind::MsgRef);
        n->event = event_name(base);
        return n;
      }
      // A data member of a local object (a header, the event), reached with `.`: `h.id`,
      // `(h).id`.
      if (const auto* d = dyn_cast<DeclRefExpr>(m->getBase()->IgnoreParenImpCasts());
          d != nullptr && !m->isArrow() && isa<FieldDecl>(m->getMemberDecl()))
        if (const auto* v = dyn_cast<VarDecl>(d->getDecl());
            v != nullptr && v->isLocalVarDeclOrParm() && !v->isStaticLocal())
          return field(local(v->getNameAsString()), m->getMemberDecl()->getNameAsString());
      return nullptr;
    }
    if (const auto* d = dyn_cast<DeclRefExpr>(e)) {
      // `io` itself: the bypass has no Ports object (helper_call takes `io` as an argument).
      if (is_ports_ref(d))
        return problem(e, fmt::format("it uses `{}` other than to call it or pass it to a helper",
                                      d->getDecl()->getNameAsString()));
      if (const auto* v = dyn_cast<VarDecl>(d->getDecl())) {
        if (v->isLocalVarDeclOrParm() && !v->isStaticLocal()) return local(v->getNameAsString());
        if (v->hasGlobalStorage() && !v->getType().isConstQualified() && !v->isConstexpr())
          return problem(e, fmt::format("it uses the global mutable variable `{}`",
                                        v->getQualifiedNameAsString()));
      }
      return text(src_.text(e->getSourceRange()), {}, true);
    }
    return nullptr;
  }

  NodeRef operator_call(const CXXOperatorCallExpr* op) {
    if (op->getOperator() == OO_Subscript && op->getNumArgs() == 2) {
      const Expr* table = op->getArg(0)->IgnoreImplicit();
      if (runtime_.peer_table(table->getType())) {
        auto n = Node::make(Kind::Entry);
        n->text = "[]";
        n->kids = {expr(table), expr(op->getArg(1))};
        return n;
      }
    }
    return generic(op, !op->isAssignmentOp() && op->getOperator() != OO_PlusPlus &&
                           op->getOperator() != OO_MinusMinus);
  }

  NodeRef binary(const BinaryOperator* b) {
    if (b->isAssignmentOp() || b->isCommaOp()) {
      auto n = generic(b, false);
      n->writes.insert(root(b->getLHS()));
      return n;
    }
    auto n = Node::make(Kind::Binary);
    n->text = b->getOpcodeStr().str();
    n->kids = {expr(b->getLHS()), expr(b->getRHS())};
    n->pure = n->kids[0]->pure && n->kids[1]->pure;
    // The operands' type after the usual arithmetic conversions: the result's, or for a
    // comparison the converted left operand's.
    n->type = b->isLogicalOp()      ? IntType::of(IntType::Rank::boolean, false)
              : b->isComparisonOp() ? int_type(b->getLHS()->getType())
                                    : int_type(b->getType());
    n->where = src_.where(b->getOperatorLoc());
    return n;
  }

  NodeRef unary(const UnaryOperator* u) {
    if (u->getOpcode() == UO_LNot || u->getOpcode() == UO_Minus || u->getOpcode() == UO_Not) {
      auto n = Node::make(Kind::Unary);
      n->text = UnaryOperator::getOpcodeStr(u->getOpcode()).str();
      n->kids = {expr(u->getSubExpr())};
      n->pure = n->kids[0]->pure;
      n->type = int_type(u->getType());
      n->where = src_.where(u->getOperatorLoc());
      return n;
    }
    if (u->isIncrementDecrementOp()) {
      auto n = generic(u, false);
      n->writes.insert(root(u->getSubExpr()));
      return n;
    }
    return generic(u, true);
  }

  NodeRef problem(const Stmt* s, std::string why) {
    auto n =
        text(src_.in_macro(s->getSourceRange()) ? "/* a macro */" : src_.text(s->getSourceRange()),
             {}, false);
    n->problem = std::move(why);
    n->where = src_.where(s->getBeginLoc());
    n->writes.insert("*");
    return n;
  }

  [[nodiscard]] bool is_event_ref(const Expr* e) const {
    const auto* d = dyn_cast<DeclRefExpr>(e->IgnoreImplicit());
    return d != nullptr && events_.count(dyn_cast<ParmVarDecl>(d->getDecl())) != 0;
  }
  [[nodiscard]] static std::string event_name(const Expr* e) {
    return cast<DeclRefExpr>(e->IgnoreImplicit())->getDecl()->getNameAsString();
  }
  [[nodiscard]] bool is_ports_ref(const Expr* e) const {
    const auto* d = dyn_cast<DeclRefExpr>(e->IgnoreImplicit());
    return d != nullptr && ports_.count(dyn_cast<ParmVarDecl>(d->getDecl())) != 0;
  }

  // The member or local an lvalue names: `next_out[ev.peer]` -> "next_out". Of the handler's
  // event, the field: `ev.lamport` -> "ev.lamport", so that writing one field of the event is
  // not taken for writing the others.
  std::string root(const Expr* e) {
    e = e->IgnoreImplicit();
    if (const auto* p = dyn_cast<ParenExpr>(e)) return root(p->getSubExpr());
    if (const auto* m = dyn_cast<MemberExpr>(e)) {
      if (isa<CXXThisExpr>(m->getBase()->IgnoreImplicit()))
        return m->getMemberDecl()->getNameAsString();
      if (!m->isArrow() && isa<FieldDecl>(m->getMemberDecl()) && is_event_ref(m->getBase()))
        return event_name(m->getBase()) + "." + m->getMemberDecl()->getNameAsString();
      return root(m->getBase());
    }
    if (const auto* d = dyn_cast<DeclRefExpr>(e)) return d->getDecl()->getNameAsString();
    if (const auto* op = dyn_cast<CXXOperatorCallExpr>(e)) return root(op->getArg(0));
    if (const auto* a = dyn_cast<ArraySubscriptExpr>(e)) return root(a->getBase());
    if (const auto* u = dyn_cast<UnaryOperator>(e)) return root(u->getSubExpr());
    if (const auto* c = dyn_cast<CXXMemberCallExpr>(e)) return root(c->getImplicitObjectArgument());
    return "*";
  }

  // A free function is pure if it cannot change what its arguments refer to.
  static bool free_call_is_pure(const CallExpr* c) {
    const FunctionDecl* f = c->getDirectCallee();
    if (f == nullptr) return false;
    for (const ParmVarDecl* p : f->parameters()) {
      const QualType t = p->getType();
      if ((t->isReferenceType() || t->isPointerType()) && !t->getPointeeType().isConstQualified())
        return false;
    }
    return true;
  }

  // `ev.msg.push(Header{a, b, c})`: a Push with one kid per header field.
  NodeRef message_push(const Expr* e) {
    const auto* c = dyn_cast<CXXMemberCallExpr>(e->IgnoreImplicit());
    if (c == nullptr || !has_name(c->getMethodDecl(), "push") || c->getNumArgs() != 1)
      return nullptr;
    const auto* obj = dyn_cast<MemberExpr>(c->getImplicitObjectArgument()->IgnoreImplicit());
    if (obj == nullptr || !has_name(obj->getMemberDecl(), "msg") || !is_event_ref(obj->getBase()))
      return nullptr;
    const Expr* arg = c->getArg(0)->IgnoreImplicit();
    if (const auto* f = dyn_cast<CXXFunctionalCastExpr>(arg))
      arg = f->getSubExpr()->IgnoreImplicit();
    const auto* init = dyn_cast<InitListExpr>(arg);
    const CXXRecordDecl* type = record_of(c->getArg(0)->getType());
    if (init == nullptr || type == nullptr || type->getParent() != layer_)
      return problem(e, "it pushes a header that is not written `Header{...}`");
    auto n = Node::make(Kind::Push);
    n->text = type->getNameAsString();
    n->event = event_name(obj->getBase());
    if (init->isSemanticForm() && init->getSyntacticForm() != nullptr)
      init = init->getSyntacticForm();
    std::size_t field_count = 0;
    for (const FieldDecl* f : type->fields()) {
      (void)f;
      ++field_count;
    }
    for (std::size_t i = 0; i < field_count; ++i) {
      if (i < init->getNumInits()) {
        const Expr* x = init->getInit(i);
        if (const auto* list = dyn_cast<InitListExpr>(x->IgnoreImplicit());
            list && list->getNumInits() == 0)
          n->kids.push_back(constant("{}", 0));
        else
          n->kids.push_back(expr(x));
      } else {
        n->kids.push_back(constant("{}", 0));
      }
    }
    n->pure = false;
    n->writes.insert(n->event);
    n->where = src_.where(e->getBeginLoc());
    return n;
  }

  NodeRef member_call(const CXXMemberCallExpr* c) {
    const CXXMethodDecl* m = c->getMethodDecl();
    if (m == nullptr) return problem(c, "it calls through a pointer to a member function");
    const Expr* obj = c->getImplicitObjectArgument()->IgnoreImplicit();
    const std::string name = m->getNameAsString();
    if (is_ports_ref(obj)) return ports_call(c, name);
    if (NodeRef n = message_call(c, obj, name)) return n;
    // A helper or a CCP of the layer itself.
    if (isa<CXXThisExpr>(obj) && m->getParent() == layer_) return helper_call(m, c->arguments(), c);
    // The message's bytes from an offset on: subspan(k), its count left to its default.
    if (name == "subspan" && c->getNumArgs() >= 1 &&
        std::all_of(c->arg_begin() + 1, c->arg_end(),
                    [](const Expr* a) { return isa<CXXDefaultArgExpr>(a); }))
      if (NodeRef bytes = expr(obj);
          bytes->kind == Kind::MsgBytes || bytes->kind == Kind::Subspan) {
        auto n = Node::make(Kind::Subspan);
        n->kids = {bytes, expr(c->getArg(0))};
        return n;
      }
    // A PeerTable's entry, read without adding it.
    if (name == "get" && c->getNumArgs() == 1 && runtime_.peer_table(obj->getType())) {
      auto n = Node::make(Kind::Entry);
      n->text = "get";
      n->kids = {expr(obj), expr(c->getArg(0))};
      return n;
    }
    if (m->isVirtual() && !m->hasAttr<FinalAttr>() && !m->getParent()->hasAttr<FinalAttr>())
      return problem(
          c, fmt::format("it calls the virtual function `{}`", m->getQualifiedNameAsString()));
    auto n = generic(c, m->isConst());
    // c.contains(k) of a standard container: what the folder knows of c may decide it.
    n->membership = name == "contains" && m->isConst() && c->getNumArgs() == 1 &&
                    n->kids.size() == 2 && runtime_.associative(obj->getType());
    if (!m->isConst()) n->writes.insert(root(obj));
    // Arguments passed by non-const reference may be changed too.
    for (unsigned i = 0; i < c->getNumArgs() && i < m->getNumParams(); ++i) {
      const QualType t = m->getParamDecl(i)->getType();
      // A temporary bound to it (an rvalue reference) is nobody else's.
      if (t->isReferenceType() && !t->getPointeeType().isConstQualified() &&
          !c->getArg(i)->IgnoreImplicit()->isPRValue()) {
        n->pure = false;
        n->writes.insert(root(c->getArg(i)));
      }
    }
    return n;
  }

  // io.down(x), io.up(x), io.now(), ...
  NodeRef ports_call(const CXXMemberCallExpr* c, const std::string& name) {
    if (name == "down" || name == "up") {
      auto n = Node::make(Kind::Neighbour);
      n->text = name;
      n->kids = {expr(c->getArg(0))};
      n->pure = false;
      n->writes.insert(name == "up"                      ? "*"
                       : n->kids[0]->kind == Kind::Local ? n->kids[0]->name
                                                         : "*");
      n->where = src_.where(c->getBeginLoc());
      return n;
    }
    auto n = Node::make(Kind::Ports);
    n->text = name;
    for (const Expr* a : c->arguments()) n->kids.push_back(expr(a));
    n->pure = name != "set_timer";
    return n;
  }

  // Whether `t` is the layer's own `Header` (or an alias of it).
  [[nodiscard]] bool own_header(QualType t) const {
    for (const Decl* d : layer_->decls())
      if (const auto* h = dyn_cast<TypeDecl>(d); h && h->getName() == "Header")
        return ctx_.hasSameUnqualifiedType(ctx_.getTypeDeclType(h), t);
    return false;
  }

  // ev.msg.pop(h), .peek(h), .drop_front(n), .size(), .bytes(); null if `c` is none of them.
  NodeRef message_call(const CXXMemberCallExpr* c, const Expr* obj, const std::string& name) {
    const auto* me = dyn_cast<MemberExpr>(obj);
    if (me == nullptr || !has_name(me->getMemberDecl(), "msg") || !is_event_ref(me->getBase()))
      return nullptr;
    const std::string ev = event_name(me->getBase());
    if ((name == "pop" || name == "peek") && c->getNumArgs() == 1) {
      if (const auto* h = dyn_cast<DeclRefExpr>(c->getArg(0)->IgnoreImplicit());
          h && record_of(h->getType()) && record_of(h->getType())->getParent() == layer_) {
        auto n = Node::make(Kind::Pop);
        n->peek = name == "peek";
        n->name = h->getDecl()->getNameAsString();
        n->own_header = own_header(h->getType());
        n->event = ev;
        n->pure = false;
        n->writes = {n->name, ev};
        return n;
      }
    }
    if (name == "drop_front" && c->getNumArgs() == 1) {
      Expr::EvalResult r;
      if (c->getArg(0)->EvaluateAsInt(r, ctx_) && wide(r.Val.getInt())) {
        auto n = Node::make(Kind::DropHeader);
        n->value = wide(r.Val.getInt());
        n->text = src_.text(c->getArg(0)->getSourceRange());
        n->event = ev;
        n->pure = false;
        n->writes = {ev};
        return n;
      }
    }
    if ((name == "size" || name == "bytes") && c->getNumArgs() == 0) {
      auto n = Node::make(name == "size" ? Kind::MsgSize : Kind::MsgBytes);
      n->event = ev;
      return n;
    }
    if (name == "writable_data" && c->getNumArgs() == 0) {
      auto n = Node::make(Kind::MsgData);
      n->event = ev;
      n->pure = false;
      n->writes = {ev};
      n->where = src_.where(c->getBeginLoc());
      return n;
    }
    return nullptr;
  }

  template <class Args>
  NodeRef helper_call(const CXXMethodDecl* m, Args args, const Expr* e) {
    auto n = Node::make(Kind::Call);
    n->name = m->getNameAsString();
    for (const Expr* a : args) {
      n->kids.push_back(
          is_ports_ref(a)
              ? local(cast<DeclRefExpr>(a->IgnoreImplicit())->getDecl()->getNameAsString())
              : expr(a));
      const std::size_t i = n->unconverted.size();
      n->unconverted.push_back(
          i < m->getNumParams() &&
          ctx_.hasSameUnqualifiedType(a->IgnoreImplicit()->getType().getNonReferenceType(),
                                      m->getParamDecl(i)->getType().getNonReferenceType()));
    }
    n->pure = m->isConst() || m->isStatic(); // a static one reaches no member
    if (!n->pure) n->writes.insert("*");
    n->where = src_.where(e->getBeginLoc());
    helpers_called.insert(m);
    return n;
  }

  // `case V:` (its value in `value`, if the compiler knows it) or `default:`, named "label".
  NodeRef label(const SwitchCase* c) {
    const SourceRange range(c->getBeginLoc(), c->getColonLoc());
    auto n = text(src_.text(range), {}, true);
    n->name = "label";
    n->where = src_.where(c->getBeginLoc());
    if (const auto* k = dyn_cast<CaseStmt>(c); k && k->getRHS() == nullptr) {
      Expr::EvalResult r;
      if (k->getLHS()->EvaluateAsInt(r, ctx_)) n->value = wide(r.Val.getInt());
    }
    if (isa<DefaultStmt>(c)) n->text = "default:";
    return n;
  }

  // The children of `s` that are statements in their own right (a body, a branch), which are
  // lowered as statements even when they are expressions.
  static std::set<const Stmt*> statement_children(const Stmt* s) {
    if (const auto* i = dyn_cast<IfStmt>(s)) return {i->getThen(), i->getElse()};
    if (const auto* f = dyn_cast<ForStmt>(s)) return {f->getBody()};
    if (const auto* w = dyn_cast<WhileStmt>(s)) return {w->getBody()};
    if (const auto* d = dyn_cast<DoStmt>(s)) return {d->getBody()};
    if (const auto* r = dyn_cast<CXXForRangeStmt>(s)) return {r->getBody()};
    if (const auto* w = dyn_cast<SwitchStmt>(s)) return {w->getBody()};
    return {};
  }

  // The children of `s` as written: a range `for` is `for (decl : $0) $1`, its implicit
  // variables (the range, its begin and end) left out.
  static std::vector<const Stmt*> written_children(const Stmt* s) {
    if (const auto* r = dyn_cast<CXXForRangeStmt>(s)) return {r->getRangeInit(), r->getBody()};
    return {s->child_begin(), s->child_end()};
  }

  // Whether `s`, printed as written, binds less tightly than an operator's operand.
  static bool binds_loosely(const Stmt* s) {
    if (const auto* op = dyn_cast<CXXOperatorCallExpr>(s)) return op->isInfixBinaryOp();
    return isa<ConditionalOperator, BinaryOperator, CXXRewrittenBinaryOperator>(s);
  }

  // The children of `s` whose text lies within [b, e), by where they start, as generic() puts
  // holes for them; those that are statements of `s` go into `statement_kids` too.
  std::vector<std::pair<unsigned, const Stmt*>>
  text_children(const Stmt* s, unsigned b, unsigned e, std::set<const Stmt*>& statement_kids) {
    std::vector<std::pair<unsigned, const Stmt*>> children;
    const std::set<const Stmt*> statements = statement_children(s);
    for (const Stmt* k : written_children(s)) {
      if (k == nullptr) continue;
      const Stmt* kid = k;
      if (const auto* x = dyn_cast<Expr>(k)) kid = x->IgnoreImplicit();
      if (statements.contains(k)) statement_kids.insert(kid);
      if (isa<CXXDefaultArgExpr, CXXDefaultInitExpr>(kid)) continue;
      const SourceRange kr = kid->getSourceRange();
      if (kr.isInvalid()) continue;
      const unsigned kb = src_.begin(kr);
      const unsigned ke = src_.end(kr);
      if (kb < b || ke > e || ke <= kb) continue;
      // The callee of an operator call is the operator token itself: keep it as text.
      if (const auto* op = dyn_cast<CXXOperatorCallExpr>(s); op && k == op->getCallee()) continue;
      // A member call's callee `obj.f`: the object is the child, so that the text reads
      // `$0.f($1)`.
      if (const auto* mc = dyn_cast<CXXMemberCallExpr>(s); mc && k == mc->getCallee())
        if (const auto* me = dyn_cast<MemberExpr>(kid); me && !me->isImplicitAccess())
          kid = me->getBase()->IgnoreImplicit();
      children.emplace_back(kb, kid);
    }
    std::sort(children.begin(), children.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    return children;
  }

  // As written, with holes for the children (in source order).
  NodeRef generic(const Stmt* s, bool pure) {
    const SourceRange range = s->getSourceRange();
    if (range.isInvalid() || src_.wholly_in_macro(range)) {
      auto n = text("/* ? */", {}, false);
      n->problem = "it uses a macro or a construct without source text";
      n->where = src_.where(s->getBeginLoc());
      return n;
    }
    unsigned b = src_.begin(range);
    const unsigned e = src_.end(range);
    const llvm::StringRef buf = src_.buffer(range);
    // A variable's braced initialiser (`Time at{}`) starts at the variable's name: keep the
    // braces only.
    if (const auto* c = dyn_cast<CXXConstructExpr>(s);
        c && !isa<CXXTemporaryObjectExpr>(c) && c->isListInitialization())
      if (const std::size_t brace = buf.find('{', b); brace < e) b = static_cast<unsigned>(brace);
    std::set<const Stmt*> statement_kids; // as they are after IgnoreImplicit
    const auto children = text_children(s, b, e, statement_kids);
    std::string t;
    std::vector<NodeRef> kids;
    unsigned at = b;
    for (const auto& [kb, kid] : children) {
      if (kb < at) { // overlapping: keep the earlier one's text, unless a macro's call holds both
        if (src_.in_macro(kid->getSourceRange()))
          return problem(s, "it uses a macro that stands for more than one operand");
        continue;
      }
      t += buf.substr(at, kb - at).str();
      t += "$" + std::to_string(kids.size());
      const bool statement = statement_kids.contains(kid);
      NodeRef lowered = isa<Expr>(kid) && !statement ? expr(cast<Expr>(kid)) : stmt(kid);
      if (!lowered->pure) pure = false;
      kids.push_back(lowered);
      at = src_.end(kid->getSourceRange());
      // An expression statement's `;` is printed with it.
      if (statement && isa<Expr>(kid)) {
        unsigned semi = at;
        while (semi < e && std::isspace(static_cast<unsigned char>(buf[semi])) != 0) ++semi;
        if (semi < e && buf[semi] == ';') at = semi + 1;
      }
    }
    t += buf.substr(at, e - at).str();
    // The `;` that ends a do-while statement lies outside its source range.
    if (isa<DoStmt>(s)) t += ";";
    auto n = text(t, std::move(kids), pure);
    if (const auto* x = dyn_cast<Expr>(s))
      n->message_value = x->isPRValue() && runtime_.msg(x->getType());
    for (const auto& k : n->kids) {
      n->writes.insert(k->writes.begin(), k->writes.end());
      if (!k->problem.empty() && n->problem.empty()) {
        n->problem = k->problem;
        n->where = k->where;
      }
    }
    if (n->where.empty()) n->where = src_.where(s->getBeginLoc());
    if (isa<CallExpr>(s)) n->name = "call";
    n->loose = binds_loosely(s);
    if (isa<SwitchStmt>(s)) n->name = "switch";
    if (isa<ForStmt, WhileStmt, DoStmt, CXXForRangeStmt>(s)) n->name = "loop";
    // A while loop tests its condition, its first child, before the body first runs.
    if (const auto* w = dyn_cast<WhileStmt>(s))
      n->tests_first = w->getConditionVariable() == nullptr && !n->kids.empty();
    return n;
  }

  ASTContext& ctx_;
  const Source& src_;
  const Runtime& runtime_;
  const CXXRecordDecl* layer_;
  std::set<const ParmVarDecl*> events_;
  std::set<const ParmVarDecl*> ports_;
};

// The instantiation of member function template `name` of `layer` with PortsArchetype, or the
// plain member function of that name.
const FunctionDecl* function_named(const CXXRecordDecl* layer, llvm::StringRef name) {
  for (const Decl* d : layer->decls()) {
    if (const auto* t = dyn_cast<FunctionTemplateDecl>(d); t && has_name(t, name))
      for (const FunctionDecl* s : t->specializations())
        if (s->hasBody()) return s;
    if (const auto* m = dyn_cast<CXXMethodDecl>(d); m && has_name(m, name) && m->hasBody())
      return m;
  }
  return nullptr;
}

std::string type_name(QualType t, const ASTContext& ctx) {
  PrintingPolicy p(ctx.getLangOpts());
  p.SuppressTagKeyword = true;
  return TypeName::getFullyQualifiedName(t, ctx, p);
}

class LayerReader {
public:
  LayerReader(ASTContext& ctx, std::vector<Diagnostic>& diags)
      : ctx_(ctx), src_(ctx), runtime_(ctx), diags_(diags) {}

  std::optional<LayerModel> read(const LayerSource& source) {
    const CXXRecordDecl* layer = lamina_class(ctx_, source.name);
    if (layer == nullptr) {
      error(source.spec_where,
            fmt::format("lamina-opt: no class lamina::{} in {}", source.name, source.header));
      return std::nullopt;
    }
    LayerModel m;
    m.name = source.name;
    m.qualified = "lamina::" + source.name;
    m.file = source.header;
    m.where = src_.where(layer->getLocation());

    read_members(layer, m);
    if (!read_header(layer, m)) return std::nullopt;

    // CCPs and handlers.
    bool ok = ccp(layer, "ccp_down", m.ccp_down, m);
    ok = ccp(layer, "ccp_up", m.ccp_up, m) && ok;
    ok = handler(layer, "down", m.down, m) && ok;
    ok = handler(layer, "up", m.up, m) && ok;
    if (!ok) return std::nullopt;
    return m;
  }

private:
  // The layer's members, their types and initial values, and its public nested types.
  void read_members(const CXXRecordDecl* layer, LayerModel& m) {
    for (const Decl* d : layer->decls()) {
      if (const auto* f = dyn_cast<FieldDecl>(d)) {
        m.members[f->getNameAsString()] = type_name(f->getType(), ctx_);
        for (const auto* a : f->specific_attrs<AnnotateAttr>())
          if (a->getAnnotation() == "lamina::per_node") m.per_node.insert(f->getNameAsString());
        if (f->getType()->isIntegralOrEnumerationType())
          m.integral_members[f->getNameAsString()] = int_type(f->getType());
        if (const Expr* init = f->getInClassInitializer()) {
          Expr::EvalResult r;
          if (f->getType()->isIntegralOrEnumerationType() && init->EvaluateAsInt(r, ctx_))
            if (const auto v = wide(r.Val.getInt())) m.defaults[f->getNameAsString()] = decimal(*v);
        }
      }
      if (const auto* t = dyn_cast<TypeDecl>(d)) {
        const auto* r = dyn_cast<CXXRecordDecl>(d);
        if ((r == nullptr || !r->isInjectedClassName()) && d->getAccess() == AS_public &&
            !t->getName().empty())
          m.nested_types.push_back(t->getNameAsString());
      }
    }
    std::sort(m.nested_types.begin(), m.nested_types.end());
    m.nested_types.erase(std::unique(m.nested_types.begin(), m.nested_types.end()),
                         m.nested_types.end());
  }

  // The layer's `Header`: its size and fields. False, with the error said, if it has none
  // that lamina-opt can lay out.
  bool read_header(const CXXRecordDecl* layer, LayerModel& m) {
    const TypeDecl* header = nullptr;
    for (const Decl* d : layer->decls())
      if (const auto* t = dyn_cast<TypeDecl>(d); t && t->getName() == "Header") header = t;
    if (header == nullptr) {
      error(m.where, fmt::format("lamina-opt: layer {} has no member type `Header`", m.name));
      return false;
    }
    const QualType ht = ctx_.getTypeDeclType(header);
    const CXXRecordDecl* hr = ht->getAsCXXRecordDecl();
    if (hr == nullptr || !hr->isStandardLayout() || !ht.isTriviallyCopyableType(ctx_)) {
      error(
          src_.where(header->getLocation()),
          fmt::format("lamina-opt: {}::Header must be a trivially copyable standard-layout struct",
                      m.name));
      return false;
    }
    if (!runtime_.no_header(hr)) {
      const ASTRecordLayout& layout = ctx_.getASTRecordLayout(hr);
      m.header_size = static_cast<std::uint32_t>(layout.getSize().getQuantity());
      unsigned i = 0;
      for (const FieldDecl* f : hr->fields()) {
        HeaderField hf;
        hf.name = f->getNameAsString();
        hf.type = type_name(f->getType(), ctx_);
        hf.offset = static_cast<std::uint32_t>(layout.getFieldOffset(i++) / 8);
        hf.size = static_cast<std::uint32_t>(ctx_.getTypeSizeInChars(f->getType()).getQuantity());
        const QualType t = f->getType().getCanonicalType();
        hf.unsigned_integer = t->isUnsignedIntegerType() && !t->isBooleanType() &&
                              !t->isEnumeralType() && hf.size >= 2;
        for (const auto* a : f->specific_attrs<AnnotateAttr>()) {
          hf.bits = hf.bits || a->getAnnotation() == "lamina::bits";
          hf.opaque = hf.opaque || a->getAnnotation() == "lamina::opaque";
        }
        m.header_fields.push_back(hf);
      }
    }
    return true;
  }

  void error(std::string where, std::string message) {
    diags_.push_back({Diagnostic::Level::error, std::move(where), std::move(message)});
  }

  bool ccp(const CXXRecordDecl* layer, llvm::StringRef name, Ccp& out, LayerModel& m) {
    const FunctionDecl* f = function_named(layer, name);
    if (f == nullptr) {
      error(m.where, fmt::format("lamina-opt: layer {} has no {}", m.name, name.str()));
      return false;
    }
    out.where = src_.where(f->getLocation());
    for (const ParmVarDecl* p : f->parameters()) {
      if (runtime_.event(p->getType()))
        out.event = p->getNameAsString();
      else if (!runtime_.ports(p->getType())) // the node's Ports, read through io.me() and the like
        out.header = p->getNameAsString();
    }
    // Exactly `return e;`.
    const auto* body = dyn_cast<CompoundStmt>(f->getBody());
    const auto* ret = body && body->size() == 1 ? dyn_cast<ReturnStmt>(body->body_back()) : nullptr;
    if (ret == nullptr || ret->getRetValue() == nullptr) {
      error(out.where, fmt::format("lamina-opt cannot use {}::{}: a CCP must be one `return "
                                   "expression;`",
                                   m.name, name.str()));
      return false;
    }
    Lowerer lower(ctx_, src_, runtime_, layer, f);
    out.expr = lower.expr(ret->getRetValue());
    helpers(layer, lower.helpers_called, m); // a CCP's helpers are inlined into the guard
    if (!out.expr->problem.empty() || !out.expr->pure) {
      error(out.where, fmt::format("lamina-opt cannot use {}::{}: {}", m.name, name.str(),
                                   out.expr->problem.empty() ? "a CCP must not change anything"
                                                             : out.expr->problem));
      return false;
    }
    return true;
  }

  bool handler(const CXXRecordDecl* layer, llvm::StringRef name, Handler& out, LayerModel& m) {
    const FunctionDecl* f = function_named(layer, name);
    if (f == nullptr) {
      error(m.where, fmt::format("lamina-opt: layer {} has no handler {}", m.name, name.str()));
      return false;
    }
    out.where = src_.where(f->getLocation());
    for (const ParmVarDecl* p : f->parameters())
      if (runtime_.event(p->getType())) out.event = p->getNameAsString();
    Lowerer lower(ctx_, src_, runtime_, layer, f);
    out.body = lower.stmt(f->getBody());
    helpers(layer, lower.helpers_called, m);
    return true;
  }

  // Lowers the helpers a function calls, and those they call.
  void helpers(const CXXRecordDecl* layer, const std::set<const CXXMethodDecl*>& called,
               LayerModel& m) {
    for (const CXXMethodDecl* h : called) {
      const std::string name = h->getNameAsString();
      if (m.helpers.count(name) != 0 || name == "ccp_down" || name == "ccp_up") continue;
      const FunctionDecl* def = h->getDefinition();
      if (def == nullptr || !def->hasBody()) continue;
      Helper helper;
      helper.name = name;
      helper.result = def->getReturnType().getAsString(PrintingPolicy(ctx_.getLangOpts()));
      helper.result_type = int_type(def->getReturnType());
      for (const ParmVarDecl* p : def->parameters()) {
        Helper::Param param;
        param.name = p->getNameAsString();
        param.ports = runtime_.ports(p->getType());
        param.int_type = int_type(p->getType().getNonReferenceType());
        const unsigned b = src_.begin(p->getSourceRange());
        const unsigned e = src_.begin(SourceRange(p->getLocation()));
        param.type =
            llvm::StringRef(src_.buffer(p->getSourceRange()).substr(b, e - b)).trim().str();
        helper.params.push_back(param);
      }
      m.helpers[name] = helper; // a placeholder first: recursion stops here
      Lowerer lower(ctx_, src_, runtime_, layer, def);
      m.helpers[name].body = lower.stmt(def->getBody());
      helpers(layer, lower.helpers_called, m);
    }
  }

  ASTContext& ctx_;
  Source src_;
  Runtime runtime_;
  std::vector<Diagnostic>& diags_;
};

} // namespace

FrontendResult read_layers(const std::vector<LayerSource>& layers, const FrontendOptions& options) {
  FrontendResult result;
  std::string code = "#include \"runtime/layer.hpp\"\n";
  for (const LayerSource& l : layers) code += fmt::format("#include \"{}\"\n", l.header);
  // Every handler instantiated with PortsArchetype, so that its AST is fully resolved.
  code += "template <class L>\n"
          "void lamina_opt_instantiate(L& l, lamina::Event& ev, lamina::PortsArchetype& io) {\n"
          "  l.down(ev, io);\n  l.up(ev, io);\n"
          "  if constexpr (lamina::has_timer<L>) l.timer(ev, io);\n"
          "  const typename L::Header h{};\n"
          "  (void)lamina::ccp_down_at(l, ev, io);\n"
          "  (void)lamina::ccp_up_at(l, ev, h, io);\n}\n";
  std::set<std::string> instantiated;
  for (const LayerSource& l : layers)
    if (instantiated.insert(l.name).second)
      code += fmt::format("template void lamina_opt_instantiate(lamina::{0}&, lamina::Event&, "
                          "lamina::PortsArchetype&);\n",
                          l.name);
  std::unique_ptr<clang::ASTUnit> ast = parse_layers(code, options);
  if (!ast || ast->getDiagnostics().hasErrorOccurred()) {
    result.diagnostics.push_back(
        {Diagnostic::Level::error, layers.empty() ? "lamina-opt" : layers.front().spec_where,
         "lamina-opt: the layers' headers do not compile (see the compiler's errors above)"});
    return result;
  }
  LayerReader reader(ast->getASTContext(), result.diagnostics);
  std::set<std::string> seen;
  for (const LayerSource& l : layers) {
    if (!seen.insert(l.name).second) continue;
    if (auto m = reader.read(l)) result.layers.push_back(std::move(*m));
  }
  return result;
}

NodeRef lower_expression(clang::ASTContext& ctx, const clang::CXXRecordDecl* layer,
                         const clang::FunctionDecl* fn, const clang::Expr* e) {
  const Source src(ctx);
  const Runtime runtime(ctx);
  Lowerer lower(ctx, src, runtime, layer, fn);
  return lower.expr(e);
}

} // namespace lamina::opt
