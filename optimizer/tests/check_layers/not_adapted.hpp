// A layer without BOOST_HANA_ADAPT_STRUCT: conformance and difftest could not see its state.
#pragma once

#include <cstdint>

#include "runtime/layer.hpp"

namespace lamina {

class NotAdapted {
public:
  static constexpr std::string_view name = "NotAdapted";
  using Header = NoHeader;

  std::uint64_t passed = 0;
};

} // namespace lamina
