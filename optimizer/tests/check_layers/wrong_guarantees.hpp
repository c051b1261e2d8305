// A layer whose provides and needs_below differ from its spec's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class WrongGuarantees {
public:
  static constexpr std::string_view name = "WrongGuarantees";
  static constexpr Guarantees provides = Guarantee::integrity;
  using Header = NoHeader;

  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::WrongGuarantees, passed);
