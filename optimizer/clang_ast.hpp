// What the parts of lamina-opt that read C++ through Clang share: the translation unit of the
// layers' headers, built with the same flags everywhere, and source locations written as the
// author sees them. The front end (frontend.cpp) and the layer check (check_layers.cpp) use it.
#pragma once

#include <clang/AST/ASTContext.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/ASTUnit.h>
#include <clang/Lex/Lexer.h>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/frontend.hpp"

namespace lamina::opt {

// Whether `d` (which may be null) is called `name`. getName() is for plain identifiers only (it
// asserts so): operators, constructors and conversions have names of other kinds.
inline bool has_name(const clang::NamedDecl* d, llvm::StringRef name) {
  return d != nullptr && d->getDeclName().isIdentifier() && d->getName() == name;
}

// What the namespace `path` (outermost first: {"boost", "hana"}) declares as `name`, in every
// block of it. A lookup, where an AST matcher would walk the whole translation unit (the
// standard library and Boost.Hana included: about 0.25 s a layer here).
std::vector<const clang::NamedDecl*> namespace_lookup(clang::ASTContext& ctx,
                                                      std::initializer_list<llvm::StringRef> path,
                                                      llvm::StringRef name);

// The definition of the class `lamina::<name>`, or null.
const clang::CXXRecordDecl* lamina_class(clang::ASTContext& ctx, llvm::StringRef name);

// A path as diagnostics show it: relative to the working directory when it lies below it.
std::string shown_path(const std::string& path);

// Source text and locations, as the author wrote them.
class Source {
public:
  explicit Source(const clang::ASTContext& ctx)
      : sm_(ctx.getSourceManager()), lo_(ctx.getLangOpts()) {}

  [[nodiscard]] bool in_macro(clang::SourceRange r) const {
    return r.getBegin().isMacroID() || r.getEnd().isMacroID();
  }
  // Whether all of `r` comes from macros' expansions (`offsetof(T, f)`), none of it written in
  // the file itself.
  [[nodiscard]] bool wholly_in_macro(clang::SourceRange r) const {
    return r.getBegin().isMacroID() && r.getEnd().isMacroID();
  }
  // Offsets in the file as written: a location in a macro's expansion counts as the macro's
  // call, so that `x + offsetof(T, f)` spans the call's text.
  [[nodiscard]] unsigned begin(clang::SourceRange r) const {
    return sm_.getFileOffset(sm_.getExpansionLoc(r.getBegin()));
  }
  [[nodiscard]] unsigned end(clang::SourceRange r) const {
    const clang::CharSourceRange e = sm_.getExpansionRange(r.getEnd());
    if (!e.isTokenRange()) return sm_.getFileOffset(e.getEnd());
    return sm_.getFileOffset(clang::Lexer::getLocForEndOfToken(e.getEnd(), 0, sm_, lo_));
  }
  [[nodiscard]] llvm::StringRef buffer(clang::SourceRange r) const {
    return sm_.getBufferData(sm_.getFileID(sm_.getExpansionLoc(r.getBegin())));
  }
  [[nodiscard]] std::string text(clang::SourceRange r) const {
    return buffer(r).substr(begin(r), end(r) - begin(r)).str();
  }
  // `file:line:col` of where the characters of `l` are written (inside a macro's argument: in
  // the argument, not in the macro's definition).
  [[nodiscard]] std::string where(clang::SourceLocation l) const {
    return at(sm_.getSpellingLoc(l));
  }
  // `file:line:col` of the macro call that `l` comes from, or of `l` itself outside macros.
  [[nodiscard]] std::string where_expanded(clang::SourceLocation l) const {
    return at(sm_.getExpansionLoc(l));
  }

private:
  [[nodiscard]] std::string at(clang::SourceLocation l) const;

  const clang::SourceManager& sm_;
  const clang::LangOptions& lo_;
};

// Parses `code`, a translation unit that includes layer headers, with the flags every reader of
// the layers uses: C++20, no warnings, Clang's resource directory, `options.extra_args`, and
// `options.source_dir` as an include root. The compiler's errors go to stderr; null, or an
// ASTUnit whose diagnostics have errors, when the code does not compile.
std::unique_ptr<clang::ASTUnit> parse_layers(const std::string& code,
                                             const FrontendOptions& options);

// The expression `e`, in the member function `fn` of the class `layer`, lowered to the IR as
// read_layers lowers a handler's code: for tests that give the lowering code of their own.
NodeRef lower_expression(clang::ASTContext& ctx, const clang::CXXRecordDecl* layer,
                         const clang::FunctionDecl* fn, const clang::Expr* e);

// The directory above the file `from` that holds runtime/layer.hpp; empty if none does.
std::string find_source_dir(const std::string& from);

} // namespace lamina::opt
