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
