// libFuzzer target: any bytes as a trace file are read, or refused with a TraceError, never a
// crash or another exception; a trace that reads writes a file that reads back the same trace.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "difftest/trace.hpp"

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lamina::difftest;
  Trace trace;
  try {
    trace = read_trace(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.trace");
  } catch (const TraceError&) {
    return 0;
  }
  const std::string written = write_trace(trace);
  try {
    if (read_trace(written, "written.trace") == trace) return 0;
    std::fputs("the trace read back differs from the trace written:\n", stderr);
  } catch (const TraceError& e) {
    std::fprintf(stderr, "the written trace does not read back: %s\n", e.what());
  }
  std::fputs(written.c_str(), stderr);
  std::abort();
}
