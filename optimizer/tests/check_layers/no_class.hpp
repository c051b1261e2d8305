// Defines lamina::NoClas, not the lamina::NoClass of no_class.ioa.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "runtime/layer.hpp"

namespace lamina {

class NoClas {
public:
  static constexpr std::string_view name = "NoClas";
  using Header = NoHeader;

  std::uint64_t passed = 0;
};

} // namespace lamina

BOOST_HANA_ADAPT_STRUCT(lamina::NoClas, passed);
