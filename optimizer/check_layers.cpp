#include "optimizer/check_layers.hpp"

#include <algorithm>
#include <clang/AST/ASTContext.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/AST/QualTypeNames.h>
#include <clang/AST/RecordLayout.h>
#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "optimizer/clang_ast.hpp"
#include "spec/checker.hpp"
#include "spec/program.hpp"
#include "spec/value.hpp"

namespace lamina::opt {

namespace {

using namespace clang;
using namespace clang::ast_matchers;
namespace fs = std::filesystem;
using spec::Int128;

// A spec file, loaded with the files it imports.
struct SpecFile {
  std::string path;
  spec::Sources sources;
  std::optional<spec::Program> program;
};

// A layer the spec file itself declares, and the header beside the file that should define it.
struct SpecLayer {
  const spec::Layer* layer = nullptr;
  const SpecFile* file = nullptr;
  std::string header; // absolute
};

std::string spec_where(const SpecFile& f, spec::SourceLoc loc) {
  return fmt::format("{}:{}:{}", shown_path(f.sources.path(loc.file)), loc.line, loc.column);
}

// A value of spec type `t` as the spec would write it: 65536, true, 20ms.
std::string shown_value(Int128 v, const spec::Type& t) {
  if (t.kind == spec::TypeKind::Bool) return v != 0 ? "true" : "false";
  if (t.kind == spec::TypeKind::Fixed && t.name == "Time") return spec::time_text(v);
  return spec::int_to_string(v);
}

// An integer from Clang's constant evaluator, without losing the top bit of a u64.
Int128 to_int128(const llvm::APSInt& i) {
  return i.isSigned() ? Int128{i.getExtValue()} : Int128{i.getZExtValue()};
}

// The integer inside a constant: an integer or enumerator itself, or the one field of a class
// that wraps one (lamina::Guarantees' bits, std::chrono::duration's count).
std::optional<Int128> wrapped_int(const APValue& v) {
  if (v.isInt()) return to_int128(v.getInt());
  if (v.isStruct() && v.getStructNumBases() == 0 && v.getStructNumFields() == 1)
    return wrapped_int(v.getStructField(0));
  return std::nullopt;
}

// The text of a constant string: a std::string_view (a length and a pointer into a string
// literal, in either order) or a pointer to a literal.
std::optional<std::string> string_value(const APValue& v) {
  const APValue* pointer = &v;
  std::optional<std::uint64_t> length;
  if (v.isStruct()) {
    pointer = nullptr;
    for (unsigned i = 0; i < v.getStructNumFields(); ++i) {
      const APValue& f = v.getStructField(i);
      if (f.isInt()) length = f.getInt().getZExtValue();
      if (f.isLValue()) pointer = &f;
    }
  }
  if (pointer == nullptr || !pointer->isLValue()) return std::nullopt;
  const auto* literal =
      dyn_cast_or_null<StringLiteral>(pointer->getLValueBase().dyn_cast<const Expr*>());
  if (literal == nullptr || literal->getCharByteWidth() != 1) return std::nullopt;
  const llvm::StringRef text = literal->getString();
  const auto offset = static_cast<std::size_t>(pointer->getLValueOffset().getQuantity());
  if (offset > text.size()) return std::nullopt;
  return text.substr(offset, length ? *length : llvm::StringRef::npos).str();
}

const VarDecl* static_member(const CXXRecordDecl* c, llvm::StringRef name) {
  for (const Decl* d : c->decls())
    if (const auto* v = dyn_cast<VarDecl>(d); v && v->isStaticDataMember() && has_name(v, name))
      return v;
  return nullptr;
}

const FieldDecl* field_named(const RecordDecl* r, llvm::StringRef name) {
  for (const FieldDecl* f : r->fields())
    if (has_name(f, name)) return f;
  return nullptr;
}

const ClassTemplateSpecializationDecl* specialization(QualType t) {
  return dyn_cast_or_null<ClassTemplateSpecializationDecl>(t->getAsCXXRecordDecl());
}

// Whether `s` is a specialization of std::<name> (also in an inline namespace: std::__1).
bool is_std(const ClassTemplateSpecializationDecl* s, llvm::StringRef name) {
  return s != nullptr && has_name(s, name) && s->isInStdNamespace();
}

bool is_template(const ClassTemplateSpecializationDecl* s, llvm::StringRef qualified) {
  return s != nullptr && s->getSpecializedTemplate()->getQualifiedNameAsString() == qualified;
}

QualType template_arg(const ClassTemplateSpecializationDecl* s, unsigned i) {
  const TemplateArgumentList& args = s->getTemplateArgs();
  if (i >= args.size() || args[i].getKind() != TemplateArgument::Type) return {};
  return args[i].getAsType();
}

// A field that holds no data of the spec's: an array of bytes that makes the C++ struct's
// padding explicit (Retransmit's `std::uint8_t unused[3]`).
bool is_padding(const FieldDecl* f, const ASTContext& ctx) {
  const auto* array = ctx.getAsConstantArrayType(f->getType());
  if (array == nullptr) return false;
  const QualType e = array->getElementType();
  return ctx.getTypeSize(e) == 8 && (e->isIntegerType() || e->isEnumeralType());
}

// What a spec data item is in C++: the type correspondence of check_layers.hpp.
enum class Role : std::uint8_t { param, state, header };

class TypeMatcher {
public:
  explicit TypeMatcher(ASTContext& ctx) : ctx_(ctx) {
    auto one = [&](auto matcher) -> const Decl* {
      auto found = match(matcher.bind("d"), ctx_);
      return found.empty() ? nullptr : found.front().template getNodeAs<Decl>("d");
    };
    if (const auto* t =
            dyn_cast_or_null<TypedefNameDecl>(one(typedefNameDecl(hasName("::lamina::Duration")))))
      duration_ = t->getUnderlyingType();
    if (const auto* t =
            dyn_cast_or_null<TypedefNameDecl>(one(typedefNameDecl(hasName("::lamina::Time")))))
      time_ = t->getUnderlyingType();
    msg_ = dyn_cast_or_null<CXXRecordDecl>(one(cxxRecordDecl(hasName("::lamina::Msg"))));
  }

  // Nothing if C++ type `t` is spec type `s` in `role`; otherwise a detail to add to "expected
  // <expected(s, role)>", often empty.
  [[nodiscard]] std::optional<std::string> mismatch(const spec::Type& s, QualType t,
                                                    Role role) const {
    t = t.getCanonicalType().getUnqualifiedType();
    const auto* sp = specialization(t);
    switch (s.kind) {
    case spec::TypeKind::Bool:
      return differ(t->isBooleanType());
    case spec::TypeKind::Fixed:
      if (s.name == "Time" && role != Role::header)
        return differ(ctx_.hasSameType(t, role == Role::param ? duration_ : time_));
      return differ(is_integer(t, s.bits, s.is_signed, role == Role::header));
    case spec::TypeKind::Msg:
      return differ(msg_ != nullptr && t->getAsCXXRecordDecl() != nullptr &&
                    t->getAsCXXRecordDecl()->getCanonicalDecl() == msg_->getCanonicalDecl());
    case spec::TypeKind::Enum:
      return enumeration(s, t);
    case spec::TypeKind::Record:
      return record(s, t, role);
    case spec::TypeKind::Seq:
      if (!is_sequence(sp)) return "";
      return inner(*s.elem, template_arg(sp, 0), role);
    case spec::TypeKind::Set:
      if (!is_std(sp, "set")) return "";
      return inner(*s.elem, template_arg(sp, 0), role);
    case spec::TypeKind::Map:
      if (s.elem->name == "Peer") {
        if (!is_template(sp, "lamina::PeerTable")) return "";
        return inner(*s.value, template_arg(sp, 0), role);
      }
      if (!is_std(sp, "map")) return "";
      if (auto d = inner(*s.elem, template_arg(sp, 0), role)) return d;
      return inner(*s.value, template_arg(sp, 1), role);
    case spec::TypeKind::Int:
    case spec::TypeKind::Nat:
    case spec::TypeKind::Error:
      break;
    }
    return fmt::format("the check knows no C++ type for {}",
                       spec::type_name(std::make_shared<spec::Type>(s)));
  }

  // The C++ that spec type `s` would be, as a reader would write it.
  [[nodiscard]] std::string expected(const spec::Type& s, Role role) const {
    switch (s.kind) {
    case spec::TypeKind::Bool:
      return "bool";
    case spec::TypeKind::Fixed:
      if (s.name == "Time" && role != Role::header)
        return role == Role::param ? "lamina::Duration" : "lamina::Time";
      return fmt::format("std::{}int{}_t", s.is_signed ? "" : "u", s.bits);
    case spec::TypeKind::Msg:
      return "lamina::Msg";
    case spec::TypeKind::Enum:
      return fmt::format("an enum of {}", fmt::join(s.enumerators, ", "));
    case spec::TypeKind::Record: {
      std::vector<std::string> fields;
      for (const auto& [name, type] : s.fields)
        fields.push_back(fmt::format("{} {}", expected(*type, role), name));
      return fmt::format("a struct {{{}}}", fmt::join(fields, "; "));
    }
    case spec::TypeKind::Seq:
      return fmt::format("std::vector<{}>", expected(*s.elem, role));
    case spec::TypeKind::Set:
      return fmt::format("std::set<{}>", expected(*s.elem, role));
    case spec::TypeKind::Map:
      if (s.elem->name == "Peer")
        return fmt::format("lamina::PeerTable<{}>", expected(*s.value, role));
      return fmt::format("std::map<{}, {}>", expected(*s.elem, role), expected(*s.value, role));
    default:
      return spec::type_name(std::make_shared<spec::Type>(s));
    }
  }

  // The C++ type as a reader wrote it: std::uint32_t, lamina::PeerTable<lamina::Frag::Partial>.
  [[nodiscard]] std::string shown(QualType t) const {
    PrintingPolicy p(ctx_.getLangOpts());
    p.SuppressTagKeyword = true;
    std::string name = TypeName::getFullyQualifiedName(t, ctx_, p);
    if (const auto* e = t->getAs<EnumType>())
      name += " (an enum on " +
              TypeName::getFullyQualifiedName(e->getDecl()->getIntegerType(), ctx_, p) + ")";
    return name;
  }

private:
  static std::optional<std::string> differ(bool same) {
    return same ? std::nullopt : std::optional<std::string>("");
  }

  // A template argument or a field: its own mismatch, said in full since the caller names only
  // the outer type.
  [[nodiscard]] std::optional<std::string> inner(const spec::Type& s, QualType t, Role role) const {
    if (t.isNull()) return "";
    auto d = mismatch(s, t, role);
    if (!d || !d->empty()) return d;
    return fmt::format("{} is not {}", shown(t), expected(s, role));
  }

  [[nodiscard]] bool is_integer(QualType t, unsigned bits, bool is_signed, bool enum_too) const {
    if (const auto* e = t->getAs<EnumType>(); e && enum_too)
      t = e->getDecl()->getIntegerType().getCanonicalType();
    if (!t->isIntegerType() || t->isBooleanType() || t->isEnumeralType()) return false;
    return ctx_.getIntWidth(t) == bits && t->isSignedIntegerType() == is_signed;
  }

  static bool is_sequence(const ClassTemplateSpecializationDecl* s) {
    return is_std(s, "vector") || is_std(s, "deque") || is_std(s, "list") ||
           is_template(s, "boost::container::vector") ||
           is_template(s, "boost::container::small_vector") ||
           is_template(s, "boost::container::static_vector") ||
           is_template(s, "boost::container::devector");
  }

  static std::optional<std::string> enumeration(const spec::Type& s, QualType t) {
    const auto* e = t->getAs<EnumType>();
    if (e == nullptr) return "";
    std::vector<std::string> names;
    for (const EnumConstantDecl* c : e->getDecl()->enumerators())
      names.push_back(c->getNameAsString());
    if (names == s.enumerators) return std::nullopt;
    return fmt::format("its enumerators are {}", fmt::join(names, ", "));
  }

  [[nodiscard]] std::optional<std::string> record(const spec::Type& s, QualType t,
                                                  Role role) const {
    const auto* r = t->getAsCXXRecordDecl();
    if (r == nullptr || r->getDefinition() == nullptr) return "";
    r = r->getDefinition();
    const std::string name = shown(t);
    for (const auto& [field, type] : s.fields) {
      const FieldDecl* f = field_named(r, field);
      if (f == nullptr) return fmt::format("{} has no field '{}'", name, field);
      if (auto d = mismatch(*type, f->getType(), role))
        return fmt::format("{}::{} is {}, not {}{}", name, field, shown(f->getType()),
                           expected(*type, role), d->empty() ? "" : ": " + *d);
    }
    for (const FieldDecl* f : r->fields())
      if (std::none_of(s.fields.begin(), s.fields.end(),
                       [&](const auto& sf) { return has_name(f, sf.first); }))
        return fmt::format("{} has the field '{}', which record {} does not", name,
                           f->getNameAsString(), s.name);
    return std::nullopt;
  }

  ASTContext& ctx_;
  QualType duration_, time_;
  const CXXRecordDecl* msg_ = nullptr;
};

// Checks the layers of one translation unit against their specs.
class LayerChecker {
public:
  LayerChecker(ASTContext& ctx, std::vector<Diagnostic>& out)
      : ctx_(ctx), src_(ctx), types_(ctx), out_(out) {
    guarantee_ = one_enum("::lamina::Guarantee");
    place_ = one_enum("::lamina::Place");
  }

  void check(const SpecLayer& s) {
    const spec::Layer& l = *s.layer;
    spec_ = &s;
    spec_name_ = fs::path(s.file->path).filename().string();
    layer_ = lamina_class(ctx_, l.name);
    if (layer_ == nullptr) {
      error(at(l.loc),
            fmt::format("no class lamina::{} in {}: it is the C++ of layer {} of {}", l.name,
                        fs::path(s.header).filename().string(), l.name, spec_name_),
            shown_path(s.header) + ":1:1",
            fmt::format("{} defines no class lamina::{}", fs::path(s.header).filename().string(),
                        l.name));
      return;
    }
    name(l);
    guarantees(l, "provides", l.provides, "provides");
    guarantees(l, "needs_below", l.needs, "needs");
    place(l);
    for (const spec::Param& p : l.params) param(p);
    header(l);
    for (const spec::StateVar& v : l.states) state(v);
    members(l);
    reflected(l);
  }

private:
  [[nodiscard]] std::string at(spec::SourceLoc loc) const { return spec_where(*spec_->file, loc); }
  [[nodiscard]] std::string at(const Decl* d) const { return src_.where(d->getLocation()); }
  [[nodiscard]] std::string cls() const { return layer_->getNameAsString(); }

  // An error on one side and its note on the other.
  void error(std::string where, std::string message, std::string note_where, std::string note) {
    out_.push_back({Diagnostic::Level::error, std::move(where), std::move(message)});
    out_.push_back({Diagnostic::Level::note, std::move(note_where), std::move(note)});
  }

  const EnumDecl* one_enum(const std::string& qualified) {
    auto found = match(enumDecl(hasName(qualified), isDefinition()).bind("e"), ctx_);
    return found.empty() ? nullptr : found.front().getNodeAs<EnumDecl>("e");
  }

  static std::optional<Int128> enumerator(const EnumDecl* e, llvm::StringRef name) {
    if (e == nullptr) return std::nullopt;
    for (const EnumConstantDecl* c : e->enumerators())
      if (has_name(c, name)) return to_int128(c->getInitVal());
    return std::nullopt;
  }

  // 1. `static constexpr std::string_view name` is the spec's name.
  void name(const spec::Layer& l) {
    const VarDecl* v = static_member(layer_, "name");
    if (v == nullptr) {
      error(at(layer_),
            fmt::format("{} has no `static constexpr std::string_view name = \"{}\";`", cls(),
                        l.name),
            at(l.loc), fmt::format("layer {} is declared here", l.name));
      return;
    }
    const APValue* value = v->evaluateValue();
    const auto text = value ? string_value(*value) : std::nullopt;
    if (!text)
      error(at(v),
            fmt::format("{}::name is not a constant string; it should be \"{}\"", cls(), l.name),
            at(l.loc), fmt::format("layer {} is declared here", l.name));
    else if (*text != l.name)
      error(at(v),
            fmt::format("{}::name is \"{}\", but {} names the layer {}: stacks find it by that "
                        "name",
                        cls(), *text, spec_name_, l.name),
            at(l.loc), fmt::format("layer {} is declared here", l.name));
  }

  [[nodiscard]] std::string guarantee_names(Int128 bits) const {
    std::vector<std::string> names;
    if (guarantee_ != nullptr)
      for (const EnumConstantDecl* c : guarantee_->enumerators()) {
        const Int128 bit = to_int128(c->getInitVal());
        if ((bits & bit) != 0) names.push_back(c->getNameAsString());
        bits &= ~bit;
      }
    if (bits != 0) names.push_back(fmt::format("bits {:#x}", static_cast<std::uint64_t>(bits)));
    return names.empty() ? "nothing" : fmt::format("{}", fmt::join(names, ", "));
  }

  // 2. `provides` or `needs_below` (absent: none) against the spec's `provides` or `needs`.
  void guarantees(const spec::Layer& l, llvm::StringRef member,
                  const std::vector<std::string>& names, const char* clause) {
    Int128 want = 0;
    for (const std::string& g : names) {
      if (const auto bit = enumerator(guarantee_, g)) want |= *bit;
    }
    const VarDecl* v = static_member(layer_, member);
    std::optional<Int128> have = 0;
    if (v != nullptr) {
      const APValue* value = v->evaluateValue();
      have = value ? wrapped_int(*value) : std::nullopt;
      if (!have) {
        error(at(v),
              fmt::format("{}::{} is not a constant lamina::Guarantees", cls(), member.str()),
              at(l.loc), fmt::format("layer {} is declared here", l.name));
        return;
      }
    }
    if (*have == want) return;
    const std::string right = want == 0
                                  ? fmt::format("no `{}` member (or an empty one)", member.str())
                                  : fmt::format("`static constexpr Guarantees {} = {}`",
                                                member.str(), guarantee_list(names));
    error(v != nullptr ? at(v) : at(layer_),
          member == "provides"
              ? fmt::format("{} provides {}, but {} says it provides {}: {}", cls(),
                            guarantee_names(*have), spec_name_, guarantee_names(want), right)
              : fmt::format("{} needs {} below it, but {} says it needs {}: {}", cls(),
                            guarantee_names(*have), spec_name_, guarantee_names(want), right),
          at(l.loc),
          fmt::format("layer {} {}", l.name,
                      want == 0 ? fmt::format("has no `{}`", clause)
                                : fmt::format("{} {}", clause, fmt::join(names, ", "))));
  }

  static std::string guarantee_list(const std::vector<std::string>& names) {
    std::vector<std::string> parts;
    for (const std::string& n : names) parts.push_back("Guarantee::" + n);
    return fmt::format("{}", fmt::join(parts, " | "));
  }

  // 2. `place` (absent: anywhere) against `at top|bottom`.
  void place(const spec::Layer& l) {
    const std::string want_name = l.place.empty() ? "anywhere" : l.place;
    const auto want = enumerator(place_, want_name);
    const VarDecl* v = static_member(layer_, "place");
    std::optional<Int128> have = enumerator(place_, "anywhere");
    if (v != nullptr) {
      const APValue* value = v->evaluateValue();
      have = value ? wrapped_int(*value) : std::nullopt;
    }
    if (!want || !have || *have == *want) return;
    std::string have_name = "?";
    for (const EnumConstantDecl* c : place_->enumerators())
      if (to_int128(c->getInitVal()) == *have) have_name = c->getNameAsString();
    const bool spec_says = !l.place.empty();
    error(v != nullptr ? at(v) : at(layer_),
          fmt::format("{} stands {}, but {} puts it {}: {}", cls(), shown_place(have_name),
                      spec_name_, shown_place(want_name),
                      want_name == "anywhere"
                          ? std::string("no `place` member")
                          : fmt::format("`static constexpr Place place = Place::{};`", want_name)),
          at(spec_says ? l.place_loc : l.loc),
          spec_says ? fmt::format("`at {}` is here", l.place)
                    : fmt::format("layer {} has no `at top` or `at bottom`", l.name));
  }

  static std::string shown_place(const std::string& place) {
    return place == "anywhere" ? "anywhere in a stack" : "at the " + place;
  }

  // A data member for a spec parameter or state variable; reports it missing.
  const FieldDecl* member_for(const std::string& name, spec::SourceLoc loc, const char* what) {
    if (const FieldDecl* f = field_named(layer_, name)) return f;
    const bool is_static = static_member(layer_, name) != nullptr;
    error(at(loc),
          fmt::format("{} '{}' of {} has no data member lamina::{}::{}{}", what, name, spec_name_,
                      cls(), name,
                      is_static ? " (a static member does not count: one per layer)" : ""),
          at(layer_), fmt::format("class lamina::{} is here", cls()));
    return nullptr;
  }

  // What to add to "expected T" in a type's error.
  static std::string detail(const std::string& d, const spec::Type& t, Role role) {
    if (!d.empty()) return " (" + d + ")";
    return role == Role::header && t.kind == spec::TypeKind::Fixed ? ", or an enum on one" : "";
  }

  bool type_of(const FieldDecl* f, const spec::TypeExpr& type, spec::SourceLoc loc, Role role,
               const char* what) {
    if (!type.resolved) return false;
    const auto d = types_.mismatch(*type.resolved, f->getType(), role);
    if (!d) return true;
    error(at(f),
          fmt::format("{}::{}{} is {}, but {} declares it {}: expected {}{}", cls(),
                      role == Role::header ? "Header::" : "", f->getNameAsString(),
                      types_.shown(f->getType()), spec_name_, spec::type_name(type.resolved),
                      types_.expected(*type.resolved, role), detail(*d, *type.resolved, role)),
          at(loc), fmt::format("{} '{}' is declared here", what, f->getNameAsString()));
    return false;
  }

  // 3. A parameter: a public data member of its type whose default is the spec's.
  void param(const spec::Param& p) {
    const FieldDecl* f = member_for(p.name, p.loc, "parameter");
    if (f == nullptr) return;
    if (f->getAccess() != AS_public)
      error(at(f),
            fmt::format("{}::{} is not public, but it is a parameter of {}: a stack sets it", cls(),
                        p.name, spec_name_),
            at(p.loc), fmt::format("parameter '{}' is declared here", p.name));
    if (!type_of(f, p.type, p.loc, Role::param, "parameter")) return;
    const auto want = spec::eval_const(p.default_value.get());
    if (!want) return;
    const spec::Type& t = *p.type.resolved;
    const Expr* init = f->getInClassInitializer();
    std::optional<Int128> have;
    if (init != nullptr) {
      Expr::EvalResult r;
      if (init->EvaluateAsRValue(r, ctx_)) have = wrapped_int(r.Val);
    }
    if (have && *have == *want) return;
    const std::string right = shown_value(*want, t);
    error(at(f),
          init == nullptr ? fmt::format("{}::{} has no default, but {} gives {}", cls(), p.name,
                                        spec_name_, right)
          : !have ? fmt::format("{}::{}'s default is not a constant, but {} gives {}", cls(),
                                p.name, spec_name_, right)
                  : fmt::format("{}::{} defaults to {}, but {} gives {}", cls(), p.name,
                                shown_value(*have, t), spec_name_, right),
          at(p.default_value->loc), fmt::format("the default of '{}' is here", p.name));
  }

  // 4. The spec's header against `Header`.
  void header(const spec::Layer& l) {
    const TypeDecl* decl = nullptr;
    for (const Decl* d : layer_->decls())
      if (const auto* t = dyn_cast<TypeDecl>(d); t && has_name(t, "Header")) decl = t;
    if (decl == nullptr) {
      error(at(layer_),
            fmt::format("{} has no member type Header: {}", cls(),
                        l.headers.empty() ? "`using Header = NoHeader;`"
                                          : "the struct of header " + l.headers.front().name),
            at(l.headers.empty() ? l.loc : l.headers.front().loc),
            l.headers.empty() ? fmt::format("layer {} declares no header", l.name)
                              : fmt::format("header {} is declared here", l.headers.front().name));
      return;
    }
    const QualType type = ctx_.getTypeDeclType(decl);
    const auto* record = type->getAsCXXRecordDecl();
    std::vector<const FieldDecl*> fields;
    if (record != nullptr && record->getDefinition() != nullptr)
      for (const FieldDecl* f : record->getDefinition()->fields()) fields.push_back(f);
    if (l.headers.size() > 1) {
      error(at(l.headers[1].loc),
            fmt::format("layer {} declares {} headers, but a C++ layer has one `Header`: give it "
                        "one header with a kind field, as retransmit.ioa's Data {{ kind: u8, id: "
                        "u32 }}",
                        l.name, l.headers.size()),
            at(decl), fmt::format("{}::Header is here", cls()));
      return;
    }
    if (l.headers.empty()) {
      if (fields.empty()) return;
      error(at(decl),
            fmt::format("{}::Header has fields, but {} declares no header for {}: `using Header = "
                        "NoHeader;`",
                        cls(), spec_name_, l.name),
            at(l.loc), fmt::format("layer {} is declared here", l.name));
      return;
    }
    const spec::Header& h = l.headers.front();
    if (record == nullptr || !h.resolved) return;
    header_fields(h, decl, fields);
  }

  void header_fields(const spec::Header& h, const TypeDecl* decl,
                     std::vector<const FieldDecl*> fields) {
    std::vector<std::string> spec_names;
    for (const auto& [name, type] : h.fields) spec_names.push_back(name);
    const auto in_spec = [&](const FieldDecl* f) {
      return std::find(spec_names.begin(), spec_names.end(), f->getNameAsString()) !=
             spec_names.end();
    };
    std::erase_if(fields, [&](const FieldDecl* f) { return !in_spec(f) && is_padding(f, ctx_); });
    const std::string what = fmt::format("header {} of {}", h.name, spec_name_);
    const std::string list = fmt::format("{}", fmt::join(spec_names, ", "));
    bool ok = true;
    for (const FieldDecl* f : fields)
      if (!in_spec(f)) {
        ok = false;
        error(at(f),
              fmt::format("{}::Header has the field '{}', which {} does not have (its fields: {})",
                          cls(), f->getNameAsString(), what, list),
              at(h.loc), fmt::format("header {} is declared here", h.name));
      }
    std::vector<std::string> cxx_order;
    for (const FieldDecl* f : fields) cxx_order.push_back(f->getNameAsString());
    for (std::size_t i = 0; i < h.fields.size(); ++i) {
      const auto& [name, type] = h.fields[i];
      if (std::find(cxx_order.begin(), cxx_order.end(), name) != cxx_order.end()) continue;
      ok = false;
      error(at(decl),
            fmt::format("{}::Header has no field '{}', field {} of {}: add `{} {};`", cls(), name,
                        i + 1, what,
                        type.resolved ? types_.expected(*type.resolved, Role::header) : "?", name),
            at(type.loc), fmt::format("field '{}' of header {} is here", name, h.name));
    }
    // The fields both have, in the order of each.
    std::vector<std::string> common_spec;
    for (const std::string& n : spec_names)
      if (std::find(cxx_order.begin(), cxx_order.end(), n) != cxx_order.end())
        common_spec.push_back(n);
    std::erase_if(cxx_order, [&](const std::string& n) {
      return std::find(spec_names.begin(), spec_names.end(), n) == spec_names.end();
    });
    for (std::size_t i = 0; i < cxx_order.size(); ++i) {
      if (cxx_order[i] == common_spec[i]) continue;
      ok = false;
      const FieldDecl* f = field_named(decl_record(decl), cxx_order[i]);
      error(at(f),
            fmt::format("{}::Header has '{}' where {} has '{}': the fields go in the order {}, "
                        "as on the wire",
                        cls(), cxx_order[i], what, common_spec[i], list),
            at(h.loc), fmt::format("header {} is declared here", h.name));
      break;
    }
    for (const FieldDecl* f : fields)
      for (const auto& [name, type] : h.fields)
        if (has_name(f, name) && !type_of(f, type, type.loc, Role::header, "header field"))
          ok = false;
    if (ok) layout(h, decl);
  }

  [[nodiscard]] static const RecordDecl* decl_record(const TypeDecl* decl) {
    return decl->getASTContext().getTypeDeclType(decl)->getAsCXXRecordDecl()->getDefinition();
  }

  // The spec lays a header out as a C struct; the C++ struct, padding included, must agree.
  void layout(const spec::Header& h, const TypeDecl* decl) {
    spec::HeaderLayout want;
    std::string why;
    if (!spec::header_layout(*h.resolved, want, why)) return;
    const RecordDecl* record = decl_record(decl);
    const ASTRecordLayout& have = ctx_.getASTRecordLayout(record);
    for (std::size_t i = 0; i < h.fields.size() && i < want.fields.size(); ++i) {
      const FieldDecl* f = field_named(record, h.fields[i].first);
      const auto offset = have.getFieldOffset(f->getFieldIndex()) / 8;
      if (offset == want.fields[i].offset) continue;
      error(at(f),
            fmt::format("{}::Header::{} is at byte {}, but header {} of {} puts it at byte {}: "
                        "the wire layout would differ",
                        cls(), h.fields[i].first, offset, h.name, spec_name_,
                        want.fields[i].offset),
            at(h.fields[i].second.loc),
            fmt::format("field '{}' is declared here", h.fields[i].first));
      return;
    }
    if (static_cast<std::uint64_t>(have.getSize().getQuantity()) != want.size)
      error(at(decl),
            fmt::format("{}::Header is {} bytes, but header {} of {} is {}", cls(),
                        have.getSize().getQuantity(), h.name, spec_name_, want.size),
            at(h.loc), fmt::format("header {} is declared here", h.name));
  }

  // 5. A state variable: a data member of its type.
  void state(const spec::StateVar& v) {
    if (const FieldDecl* f = member_for(v.name, v.loc, "state variable"))
      type_of(f, v.type, v.type.loc, Role::state, "state variable");
  }

  // A lamina::Oracle<T> member is the handle to an oracle's implementation, not state
  // (runtime/layer.hpp): neither in the spec's states nor in BOOST_HANA_ADAPT_STRUCT.
  [[nodiscard]] static bool is_oracle(const FieldDecl* f) {
    return is_template(llvm::dyn_cast_or_null<ClassTemplateSpecializationDecl>(
                           f->getType().getCanonicalType()->getAsCXXRecordDecl()),
                       "lamina::Oracle");
  }

  // 6. Every data member is in the spec.
  void members(const spec::Layer& l) {
    std::set<std::string> names;
    for (const spec::Param& p : l.params) names.insert(p.name);
    for (const spec::StateVar& v : l.states) names.insert(v.name);
    for (const FieldDecl* f : layer_->fields())
      if (names.count(f->getNameAsString()) == 0 && !is_oracle(f))
        error(at(f),
              fmt::format("{}::{} is not in the spec: {} declares no parameter or state variable "
                          "'{}' of layer {}",
                          cls(), f->getNameAsString(), spec_name_, f->getNameAsString(), l.name),
              at(l.loc), fmt::format("layer {} is declared here", l.name));
  }

  // 6. Every data member is in BOOST_HANA_ADAPT_STRUCT(lamina::X, ...): the macro specialises
  // boost::hana::accessors_impl<lamina::X>, whose member pointers name the fields it lists.
  void reflected(const spec::Layer& l) {
    const ClassTemplateSpecializationDecl* spec = nullptr;
    for (const NamedDecl* d : namespace_lookup(ctx_, {"boost", "hana"}, "accessors_impl"))
      if (const auto* t = dyn_cast<ClassTemplateDecl>(d))
        for (const ClassTemplateSpecializationDecl* s : t->specializations())
          if (const TemplateArgument& a = s->getTemplateArgs()[0];
              a.getKind() == TemplateArgument::Type)
            if (const CXXRecordDecl* of = a.getAsType()->getAsCXXRecordDecl();
                of != nullptr && of->getCanonicalDecl() == layer_->getCanonicalDecl())
              spec = s;
    if (spec == nullptr) {
      error(at(layer_),
            fmt::format("lamina::{0} is not adapted: add BOOST_HANA_ADAPT_STRUCT(lamina::{0}, "
                        "...) after the class, listing every data member",
                        l.name),
            at(l.loc), fmt::format("layer {} is declared here", l.name));
      return;
    }
    std::set<const Decl*> listed;
    for (const auto& m :
         match(decl(forEachDescendant(declRefExpr(to(fieldDecl().bind("f"))))), *spec, ctx_))
      listed.insert(m.getNodeAs<FieldDecl>("f")->getCanonicalDecl());
    for (const FieldDecl* f : layer_->fields())
      if (listed.count(f->getCanonicalDecl()) == 0 && !is_oracle(f))
        error(at(f),
              fmt::format("{0}::{1} is not in BOOST_HANA_ADAPT_STRUCT(lamina::{0}, ...): "
                          "conformance and difftest would not see it",
                          cls(), f->getNameAsString()),
              src_.where_expanded(spec->getLocation()),
              fmt::format("BOOST_HANA_ADAPT_STRUCT(lamina::{}, ...) is here", cls()));
  }

  ASTContext& ctx_;
  Source src_;
  TypeMatcher types_;
  std::vector<Diagnostic>& out_;
  const EnumDecl* guarantee_ = nullptr;
  const EnumDecl* place_ = nullptr;
  const SpecLayer* spec_ = nullptr;
  std::string spec_name_;
  const CXXRecordDecl* layer_ = nullptr;
};

} // namespace

CheckLayersResult check_layers(const CheckLayersOptions& options) {
  CheckLayersResult result;
  std::vector<std::unique_ptr<SpecFile>> files;
  std::vector<SpecLayer> layers;
  for (const std::string& path : options.specs) {
    auto& f = *files.emplace_back(std::make_unique<SpecFile>());
    f.path = path;
    spec::Diagnostics diags(f.sources);
    f.program = spec::load(path, f.sources, diags);
    if (!f.program || diags.has_errors()) {
      result.errors += diags.format();
      continue;
    }
    std::error_code ec;
    const std::string header =
        fs::absolute(fs::path(path), ec).replace_extension(".hpp").lexically_normal().string();
    for (const spec::Decl& d : f.program->files.front().decls) {
      const auto* l = std::get_if<spec::Layer>(&d);
      if (l == nullptr) continue;
      if (!fs::exists(header, ec)) {
        result.errors += fmt::format(
            "{}: error: layer {} has no C++ header: expected class lamina::{} in {}, beside {}\n",
            spec_where(f, l->loc), l->name, l->name, shown_path(header),
            fs::path(path).filename().string());
        continue;
      }
      layers.push_back({l, &f, header});
    }
  }
  if (!result.errors.empty() || layers.empty()) {
    result.ok = result.errors.empty();
    return result;
  }

  FrontendOptions fo;
  fo.source_dir =
      options.source_dir.empty() ? find_source_dir(options.specs.front()) : options.source_dir;
  if (fo.source_dir.empty()) {
    result.errors += fmt::format("{}: error: lamina-opt: cannot find runtime/layer.hpp in a "
                                 "directory above the spec; give --source-dir\n",
                                 options.specs.front());
    return result;
  }
  for (const std::string& dir : options.include_dirs)
    fo.extra_args.push_back("-I" + fs::absolute(dir).string());
  std::string code = "#include \"runtime/layer.hpp\"\n";
  std::set<std::string> included;
  for (const SpecLayer& l : layers)
    if (included.insert(l.header).second) code += fmt::format("#include \"{}\"\n", l.header);
  const std::unique_ptr<ASTUnit> ast = parse_layers(code, fo);
  if (!ast || ast->getDiagnostics().hasErrorOccurred()) {
    result.errors += fmt::format(
        "{}: error: lamina-opt: the layers' headers do not compile (see the compiler's errors "
        "above); include root {}\n",
        spec_where(*layers.front().file, layers.front().layer->loc), fo.source_dir);
    return result;
  }
  std::vector<Diagnostic> diagnostics;
  LayerChecker checker(ast->getASTContext(), diagnostics);
  for (const SpecLayer& l : layers) checker.check(l);
  for (const Diagnostic& d : diagnostics) result.errors += d.str() + "\n";
  result.ok = diagnostics.empty();
  return result;
}

} // namespace lamina::opt
