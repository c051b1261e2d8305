// libFuzzer target: any bytes as a spec file are parsed, or refused with diagnostics, never a
// crash, a hang or unbounded recursion; the diagnostics then format without fault.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lamina::spec::Sources sources;
  lamina::spec::Diagnostics diags(sources);
  lamina::spec::FileId file =
      sources.add("fuzz.ioa", std::string(reinterpret_cast<const char*>(data), size));
  lamina::spec::SpecFile spec = lamina::spec::parse(sources, file, diags);
  (void)spec;
  (void)diags.format();
  return 0;
}
