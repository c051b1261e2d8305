// libFuzzer target: any text as a stack string is built or refused with a StackError, never
// a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)lamina::layer_registry().build(
        std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const lamina::StackError&) {
  }
  return 0;
}
