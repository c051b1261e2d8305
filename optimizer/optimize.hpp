// lamina-opt's whole job, from a spec file and a stack name to the fused stack's header: the
// driver (lamina_opt.cpp) and the tests call this.
#pragma once

#include <string>
#include <vector>

#include "optimizer/collapse.hpp"
#include "optimizer/frontend.hpp"

namespace lamina::opt {

struct Options {
  std::string spec;       // FILE.ioa
  std::string stack;      // its stack to fuse
  std::string source_dir; // where components/ and runtime/ are; empty: found above the spec
  std::string build_dir;  // -p: a compile_commands.json whose flags the parse uses
  std::vector<std::string> layer_dirs; // include roots of layer headers, before source_dir
  std::string class_name;              // of the fused stack; empty: the stack's name
  std::string name_space = "lamina::fused";
  bool delay = true;   // the delay pass (off: --no-delay, for the ablation)
  bool varints = true; // counters sent as varints (off: --whole-fields)
  // Read every layer the spec declares, not only the stack's, in the one parse: --registry fuses
  // several stacks and parses once for them all.
  bool every_layer = false;
};

struct Result {
  bool ok = false;
  std::string errors;  // formatted diagnostics (errors and warnings), clang-style
  Generated generated; // when ok
  std::string stack_string;
  double seconds = 0; // time taken
};

Result optimize(const Options& options);

// Every step of the pipeline up to `pass`, for one layer and direction (--print-after).
Result print_pass(const Options& options, const std::string& pass, const std::string& layer,
                  const std::string& direction, std::string& out);

// The stacks `spec` declares, in order; on an error, none and a message in `errors`.
std::vector<std::string> stacks_of(const std::string& spec, std::string& errors);

// The explanation, as --explain prints it.
std::string explain(const Result& result, const Options& options);

} // namespace lamina::opt
