// libFuzzer target: any bytes as a spec file go through the parser and the checker (imports
// resolve nowhere), and come out as a checked program or as diagnostics — never a crash, a
// hang or an out-of-bounds read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/program.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lamina::spec::Sources sources;
  lamina::spec::Diagnostics diags(sources);
  auto program = lamina::spec::load_text(
      "/nonexistent/fuzz.ioa", std::string(reinterpret_cast<const char*>(data), size), sources,
      diags);
  (void)program;
  (void)diags.format();
  return 0;
}
