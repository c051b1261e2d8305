// A layer with a member the spec lacks and one its reflection list lacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class UnlistedMember {
public:
  static constexpr std::string_view name = "UnlistedMember";
  using Header = NoHeader;

  std::uint64_t passed = 0;
  std::uint64_t dropped = 0; // not in the reflection list
  std::uint64_t scratch = 0; // not in the spec
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::UnlistedMember, passed, scratch);
