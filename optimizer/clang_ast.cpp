#include "optimizer/clang_ast.hpp"

#include <clang/Tooling/Tooling.h>
#include <filesystem>
#include <fmt/format.h>

#ifndef LAMINA_CLANG_RESOURCE_DIR
#error "the build defines LAMINA_CLANG_RESOURCE_DIR: Clang's resource directory (stddef.h, ...)"
#endif

namespace lamina::opt {

namespace fs = std::filesystem;

std::string shown_path(const std::string& path) {
  std::error_code ec;
  const fs::path rel = fs::relative(path, fs::current_path(ec), ec);
  if (!ec && !rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
  return path;
}

std::string Source::at(clang::SourceLocation l) const {
  const clang::PresumedLoc p = sm_.getPresumedLoc(l);
  if (p.isInvalid()) return "<unknown>";
  return fmt::format("{}:{}:{}", shown_path(p.getFilename()), p.getLine(), p.getColumn());
}

std::vector<const clang::NamedDecl*> namespace_lookup(clang::ASTContext& ctx,
                                                      std::initializer_list<llvm::StringRef> path,
                                                      llvm::StringRef name) {
  std::vector<const clang::DeclContext*> scopes = {ctx.getTranslationUnitDecl()};
  for (const llvm::StringRef ns : path) {
    std::vector<const clang::DeclContext*> inner;
    for (const clang::DeclContext* scope : scopes)
      for (const clang::NamedDecl* d : scope->lookup(&ctx.Idents.get(ns)))
        if (const auto* n = llvm::dyn_cast<clang::NamespaceDecl>(d)) inner.push_back(n);
    scopes = std::move(inner);
  }
  std::vector<const clang::NamedDecl*> out;
  for (const clang::DeclContext* scope : scopes)
    for (const clang::NamedDecl* d : scope->lookup(&ctx.Idents.get(name))) out.push_back(d);
  return out;
}

const clang::CXXRecordDecl* lamina_class(clang::ASTContext& ctx, llvm::StringRef name) {
  for (const clang::NamedDecl* d : namespace_lookup(ctx, {"lamina"}, name))
    if (const auto* c = llvm::dyn_cast<clang::CXXRecordDecl>(d))
      if (const clang::CXXRecordDecl* def = c->getDefinition()) return def;
  return nullptr;
}

std::unique_ptr<clang::ASTUnit> parse_layers(const std::string& code,
                                             const FrontendOptions& options) {
  std::vector<std::string> args = {"-std=c++20", "-fsyntax-only", "-Wno-everything",
                                   "-resource-dir=" LAMINA_CLANG_RESOURCE_DIR};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  args.push_back("-I" + options.source_dir);
  return clang::tooling::buildASTFromCodeWithArgs(code, args, "lamina-opt-layers.cpp",
                                                  "lamina-opt");
}

std::string find_source_dir(const std::string& from) {
  std::error_code ec;
  for (fs::path p = fs::absolute(from, ec).parent_path(); !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / "runtime" / "layer.hpp", ec)) return p.string();
    if (p == p.parent_path()) break;
  }
  return {};
}

} // namespace lamina::opt
