// A layer whose parameters differ from its spec's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class ParamMismatch {
public:
  static constexpr std::string_view name = "ParamMismatch";
  using Header = NoHeader;

  std::uint32_t window = 1024;         // default: the spec gives 65536
  std::uint32_t limit = 10;            // type: the spec says u16
  Duration timeout = std::chrono::milliseconds(10); // default: the spec gives 20ms
  std::uint8_t passed_as_param = 0;    // not in the spec
  bool strict = true;
  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::ParamMismatch, window, limit, timeout, passed_as_param, strict, passed);
